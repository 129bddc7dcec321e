//! Maps changes of credentials Secrets back to the resources that use them (SPEC §2), and
//! changes of the Secrets a kind writes back to their owners.
//!
//! Secrets are watched metadata-only and never cached: each change is matched against the
//! controller's own store of resources, so the operator's memory does not grow with the
//! number of Secrets in the cluster.

use std::sync::Arc;

use futures::{TryStreamExt, future};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, ResourceExt,
    core::PartialObjectMeta,
    runtime::{
        Controller, WatchStreamExt,
        reflector::{ObjectRef, Store},
        watcher,
    },
};

use super::{
    credentials::DefaultCredentials, credentials_cache::CredentialsCache, echo::OwnWrites,
    kind::ManagedKind,
};
use crate::crd::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// Wakes the owner of a Secret the operator writes (by the managed-by label) when the Secret
/// changes or goes, except for the echo of the operator's own write (see [`OwnWrites`]).
pub fn owned_secrets<K: ManagedKind>(
    controller: Controller<K>,
    client: &Client,
    scope: Option<&str>,
    own_writes: Arc<OwnWrites>,
) -> Controller<K> {
    let api: Api<PartialObjectMeta<Secret>> = super::scoped_api(client, scope);
    let managed = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}");
    let changes = watcher(api, watcher::Config::default().labels(&managed))
        .default_backoff()
        .touched_objects()
        .try_filter(move |secret| future::ready(!own_writes.is_echo(secret)));
    controller.owns_stream(changes)
}

/// The resources in `store` whose token comes from `secret`: those naming it in their own
/// namespace, and, when it is the default credentials Secret, those without credentials.
pub fn credential_users<K: ManagedKind>(
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

/// Adds the credentials watches to `controller`: the Secrets in its scope, and, for a
/// controller scoped to a namespace that does not hold it (with `--namespace`, it usually
/// lives in the operator's own namespace), the default credentials Secret by name.
pub fn watch_credentials<K>(
    controller: Controller<K>,
    client: &Client,
    scope: Option<&str>,
    default: Option<DefaultCredentials>,
    store: Store<K>,
    cache: Arc<CredentialsCache>,
) -> Controller<K>
where
    K: ManagedKind,
{
    cache.watched();
    let outside = default
        .as_ref()
        .zip(scope)
        .filter(|(default, scope)| default.namespace != *scope)
        .map(|(default, _)| {
            (
                Api::namespaced(client.clone(), &default.namespace),
                watcher::Config::default()
                    .any_semantic()
                    .fields(&format!("metadata.name={}", default.name)),
            )
        });
    let users = move |secret: PartialObjectMeta<Secret>| {
        if let Some(namespace) = secret.namespace() {
            cache.saw(
                &namespace,
                &secret.name_any(),
                secret.resource_version().as_deref(),
            );
        }
        credential_users(&store, default.as_ref(), &secret)
    };
    let in_scope: Api<PartialObjectMeta<Secret>> = super::scoped_api(client, scope);
    let controller = controller.watches(
        in_scope,
        watcher::Config::default().any_semantic(),
        users.clone(),
    );
    match outside {
        Some((api, config)) => controller.watches(api, config, users),
        None => controller,
    }
}

/// The resources in `store` in `namespace` for which `uses` holds: what a watch of a
/// referenced object (a stack, a policy, an account) wakes. Nothing without a namespace.
pub fn users_in<K: ManagedKind>(
    store: &Store<K>,
    namespace: Option<&str>,
    uses: impl Fn(&K) -> bool,
) -> Vec<ObjectRef<K>> {
    let Some(namespace) = namespace else {
        return Vec::new();
    };
    store
        .state()
        .iter()
        .filter(|obj| obj.namespace().as_deref() == Some(namespace) && uses(obj))
        .map(|obj| ObjectRef::from_obj(obj.as_ref()))
        .collect()
}
