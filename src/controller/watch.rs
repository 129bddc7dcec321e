//! Maps changes of credentials Secrets back to the resources that use them (SPEC §2).
//!
//! Secrets are watched metadata-only and never cached: each change is matched against the
//! controller's own store of resources, so the operator's memory does not grow with the
//! number of Secrets in the cluster.

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, Resource, ResourceExt,
    core::PartialObjectMeta,
    runtime::{
        reflector::{ObjectRef, Store},
        watcher,
    },
};

use crate::crd::{CredentialsRef, GrafanaCloudApiKey, GrafanaStack};

use super::credentials::DefaultCredentials;

/// A resource that names a credentials Secret.
pub trait UsesCredentials: Resource<DynamicType = ()> + Clone + 'static {
    fn credentials(&self) -> Option<&CredentialsRef>;
}

impl UsesCredentials for GrafanaStack {
    fn credentials(&self) -> Option<&CredentialsRef> {
        self.spec.credentials.as_ref()
    }
}

impl UsesCredentials for GrafanaCloudApiKey {
    fn credentials(&self) -> Option<&CredentialsRef> {
        self.spec.credentials.as_ref()
    }
}

/// The resources in `store` whose token comes from `secret`: those naming it in their own
/// namespace, and, when it is the default credentials Secret, those without credentials.
pub fn credential_users<K: UsesCredentials>(
    store: &Store<K>,
    default: Option<&DefaultCredentials>,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<K>> {
    let (Some(namespace), name) = (secret.namespace(), secret.name_any()) else {
        return Vec::new();
    };
    let is_default = default.is_some_and(|d| d.namespace == namespace && d.name == name);
    store
        .state()
        .iter()
        .filter(|obj| match obj.credentials() {
            Some(creds) => {
                obj.namespace().as_deref() == Some(namespace.as_str()) && creds.secret_name == name
            }
            None => is_default,
        })
        .map(|obj| ObjectRef::from_obj(obj.as_ref()))
        .collect()
}

/// The watch of the default credentials Secret for a controller scoped to a namespace that
/// does not hold it (with `--namespace`, the Secret usually lives in the operator's own
/// namespace): that one Secret, by name.
pub fn default_credentials_outside(
    client: &Client,
    scope: Option<&str>,
    default: Option<&DefaultCredentials>,
) -> Option<(Api<PartialObjectMeta<Secret>>, watcher::Config)> {
    let (scope, default) = (scope?, default?);
    (scope != default.namespace).then(|| {
        (
            Api::namespaced(client.clone(), &default.namespace),
            watcher::Config::default()
                .any_semantic()
                .fields(&format!("metadata.name={}", default.name)),
        )
    })
}
