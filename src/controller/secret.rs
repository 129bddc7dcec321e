//! The Secret that carries an API key's token: pure building, ownership checks and template
//! rendering. No I/O here.
//!
//! The Secret is the only copy of a token, so it also records which key the token belongs to
//! (name, id, creation and expiry) in annotations. Token and identity change together in one
//! write, which is what makes crash recovery and rotation decisions reliable even when the
//! status lags behind.
//!
//! Templates use Jinja syntax, rendered by `minijinja` with strict undefined handling, so a
//! typo or a variable that does not exist for this kind of key is an error instead of an
//! empty string. For example, a MetricsPublisher organisation key whose
//! `secretTemplate.stackRef` names a GrafanaStack can carry a complete Prometheus
//! remote-write configuration:
//!
//! ```yaml
//! secretTemplate:
//!   stackRef: team-a
//!   data:
//!     remote-write.yaml: |
//!       remote_write:
//!         - url: {{ stack.endpoints.prometheus.url }}/api/prom/push
//!           basic_auth:
//!             username: "{{ stack.endpoints.prometheus.userId }}"
//!             password: "{{ token }}"
//! ```

mod template;

use std::collections::BTreeMap;

use k8s_openapi::{
    ByteString,
    api::core::v1::Secret,
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
    jiff::Timestamp,
};

pub use template::{Rendered, TemplateError, render};

use crate::{
    crd::{MANAGED_BY_LABEL, MANAGED_BY_VALUE, StackConnections, StackEndpoints},
    grafana::Token,
};

/// Annotation: name of the key at grafana.com whose token the Secret holds.
pub const KEY_NAME_ANNOTATION: &str = "grafanacloud.operator.dev/key-name";
/// Annotation: id of that key.
pub const KEY_ID_ANNOTATION: &str = "grafanacloud.operator.dev/key-id";
/// Annotation: when that key was created (RFC 3339).
pub const CREATED_AT_ANNOTATION: &str = "grafanacloud.operator.dev/key-created-at";
/// Annotation: when that key expires (RFC 3339), for keys with a lifetime.
pub const EXPIRES_AT_ANNOTATION: &str = "grafanacloud.operator.dev/key-expires-at";
/// Annotation: id of the stack a stack key belongs to.
pub const STACK_ID_ANNOTATION: &str = "grafanacloud.operator.dev/stack-id";

/// Data keys the operator always writes; templates may not replace them.
pub const TOKEN_KEY: &str = "token";
pub const ORG_SLUG_KEY: &str = "orgSlug";
pub const STACK_SLUG_KEY: &str = "stackSlug";
pub const URL_KEY: &str = "url";
pub const REGION_KEY: &str = "region";
pub const SERVICE_ACCOUNT_ID_KEY: &str = "serviceAccountId";

/// The data keys an access-policy token's Secret holds for its stack: the stack's own URL,
/// then each service's URL and user id, remote write and OTLP included.
fn endpoint_keys(stack: &StackFacts) -> Vec<(String, String)> {
    let mut keys = vec![(STACK_SLUG_KEY.to_string(), stack.slug.clone())];
    if let Some(url) = &stack.url {
        keys.push((URL_KEY.to_string(), url.clone()));
    }
    let e = &stack.endpoints;
    for (service, endpoint) in [
        ("prometheus", &e.prometheus),
        ("loki", &e.loki),
        ("tempo", &e.tempo),
        ("profiles", &e.profiles),
    ] {
        let Some(endpoint) = endpoint else { continue };
        keys.push((format!("{service}Url"), endpoint.url.clone()));
        if service == "prometheus" {
            let push = format!("{}/api/prom/push", endpoint.url.trim_end_matches('/'));
            keys.push(("prometheusRemoteWriteUrl".to_string(), push));
        }
        if let Some(user) = endpoint.user_id {
            keys.push((format!("{service}UserId"), user.to_string()));
        }
    }
    if let Some(otlp) = &stack.connections.otlp_http_url {
        keys.push(("otlpUrl".to_string(), otlp.clone()));
        if let Some(id) = stack.id {
            keys.push(("otlpUserId".to_string(), id.to_string()));
        }
    }
    keys
}

/// Which key a Secret's token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub name: String,
    pub id: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub stack_id: Option<u64>,
}

/// What a template may know about a stack: the GrafanaStack's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackFacts {
    pub slug: String,
    pub id: Option<u64>,
    pub url: Option<String>,
    pub org_slug: Option<String>,
    pub endpoints: StackEndpoints,
    /// The stack's further endpoints (OTLP, Influx, …), as its status lists them.
    pub connections: StackConnections,
}

/// Everything that goes into the Secret's data.
pub struct Material<'a> {
    pub token: &'a Token,
    pub org_slug: &'a str,
    pub key: &'a KeyRecord,
    /// The stack whose facts the templates see.
    pub stack: Option<&'a StackFacts>,
    /// Which default data keys the Secret holds beside the token.
    pub layout: Layout<'a>,
}

/// The default data keys of a Secret, by what its token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout<'a> {
    /// An organisation API key: `token` and `orgSlug`.
    OrgKey,
    /// A stack API key: also `stackSlug` and `url`.
    StackKey,
    /// An access-policy token: `token`, `orgSlug` and `region`, and with a stack its `url`,
    /// `stackSlug` and every endpoint's URL and user id.
    PolicyToken { region: &'a str },
    /// A stack service account token: `token`, `orgSlug`, `serviceAccountId`, and the
    /// stack's `url` and `stackSlug`.
    AccountToken { account_id: &'a str },
}

/// A Secret with the target name, seen from this resource. Deliberately not `Debug`: the
/// Secret inside holds a token.
#[derive(Clone)]
pub enum Existing {
    /// No Secret of that name exists.
    Absent,
    /// It exists and is controlled by another object (or none): never touched.
    Foreign,
    /// It exists and this resource controls it.
    Owned(Box<Secret>),
}

/// Classifies `secret` for the resource with uid `uid`: only a Secret whose controller
/// ownerReference points at this uid is ours.
pub fn classify(secret: Option<Secret>, uid: &str) -> Existing {
    match secret {
        None => Existing::Absent,
        Some(secret) if controlled_by(&secret, uid) => Existing::Owned(Box::new(secret)),
        Some(_) => Existing::Foreign,
    }
}

fn controlled_by(secret: &Secret, uid: &str) -> bool {
    !uid.is_empty()
        && secret
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.controller == Some(true) && o.uid == uid)
}

/// The token stored in the Secret, if it holds a usable one.
pub fn stored_token(secret: &Secret) -> Option<Token> {
    let value = secret.data.as_ref()?.get(TOKEN_KEY)?;
    let token = Token::new(String::from_utf8(value.0.clone()).ok()?);
    (!token.is_empty()).then_some(token)
}

/// The key identity recorded on the Secret, if complete.
pub fn stored_record(secret: &Secret) -> Option<KeyRecord> {
    let annotations = secret.metadata.annotations.as_ref()?;
    let get = |key: &str| annotations.get(key).filter(|v| !v.is_empty());
    Some(KeyRecord {
        name: get(KEY_NAME_ANNOTATION)?.clone(),
        id: get(KEY_ID_ANNOTATION)?.clone(),
        created_at: get(CREATED_AT_ANNOTATION)?.parse().ok()?,
        expires_at: get(EXPIRES_AT_ANNOTATION).and_then(|v| v.parse().ok()),
        stack_id: get(STACK_ID_ANNOTATION).and_then(|v| v.parse().ok()),
    })
}

/// Name, namespace and owner of the Secret to write.
pub struct Target<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub owner: OwnerReference,
}

/// The complete Secret: default data keys, then the rendered template keys; the managed-by
/// label, the key identity annotations, then the rendered labels and annotations.
pub fn build(target: Target<'_>, material: &Material<'_>, rendered: &Rendered) -> Secret {
    let mut data = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        data.insert(key.to_string(), ByteString(value.as_bytes().to_vec()));
    };
    put(TOKEN_KEY, material.token.expose());
    put(ORG_SLUG_KEY, material.org_slug);
    match (material.layout, material.stack) {
        (Layout::StackKey, Some(stack)) => {
            put(STACK_SLUG_KEY, &stack.slug);
            put(URL_KEY, stack.url.as_deref().unwrap_or_default());
        }
        (Layout::AccountToken { account_id }, stack) => {
            put(SERVICE_ACCOUNT_ID_KEY, account_id);
            if let Some(stack) = stack {
                put(STACK_SLUG_KEY, &stack.slug);
                put(URL_KEY, stack.url.as_deref().unwrap_or_default());
            }
        }
        (Layout::PolicyToken { region }, stack) => {
            put(REGION_KEY, region);
            if let Some(stack) = stack {
                for (key, value) in endpoint_keys(stack) {
                    put(&key, &value);
                }
            }
        }
        _ => {}
    }
    for (key, value) in &rendered.data {
        put(key, value);
    }

    let mut labels = rendered.labels.clone();
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY_VALUE.into());
    let mut annotations = rendered.annotations.clone();
    let key = material.key;
    annotations.insert(KEY_NAME_ANNOTATION.into(), key.name.clone());
    annotations.insert(KEY_ID_ANNOTATION.into(), key.id.clone());
    annotations.insert(CREATED_AT_ANNOTATION.into(), key.created_at.to_string());
    if let Some(expires_at) = key.expires_at {
        annotations.insert(EXPIRES_AT_ANNOTATION.into(), expires_at.to_string());
    }
    if let Some(stack_id) = key.stack_id {
        annotations.insert(STACK_ID_ANNOTATION.into(), stack_id.to_string());
    }

    Secret {
        metadata: ObjectMeta {
            name: Some(target.name.into()),
            namespace: Some(target.namespace.into()),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![target.owner]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}

/// Whether `current` already has everything `desired` would write (data, labels,
/// annotations, owner), so that no write is needed.
pub fn up_to_date(current: &Secret, desired: &Secret) -> bool {
    current.data == desired.data
        && current.metadata.labels == desired.metadata.labels
        && current.metadata.annotations == desired.metadata.annotations
        && current.metadata.owner_references == desired.metadata.owner_references
        && current.type_ == desired.type_
}

#[cfg(test)]
#[path = "secret_tests.rs"]
mod tests;
