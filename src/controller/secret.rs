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

use std::collections::BTreeMap;

use k8s_openapi::{
    ByteString,
    api::core::v1::Secret,
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
    jiff::Timestamp,
};
use minijinja::{Environment, UndefinedBehavior, Value, syntax::SyntaxConfig};

use crate::{
    crd::{Endpoint, MANAGED_BY_LABEL, MANAGED_BY_VALUE, SecretTemplate, StackEndpoints},
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

/// Annotations that record the key identity; templates may not set them.
const RESERVED_ANNOTATIONS: [&str; 5] = [
    KEY_NAME_ANNOTATION,
    KEY_ID_ANNOTATION,
    CREATED_AT_ANNOTATION,
    EXPIRES_AT_ANNOTATION,
    STACK_ID_ANNOTATION,
];

/// Data keys the operator always writes; templates may not replace them.
pub const TOKEN_KEY: &str = "token";
pub const ORG_SLUG_KEY: &str = "orgSlug";
pub const STACK_SLUG_KEY: &str = "stackSlug";
pub const URL_KEY: &str = "url";
const RESERVED_KEYS: [&str; 4] = [TOKEN_KEY, ORG_SLUG_KEY, STACK_SLUG_KEY, URL_KEY];

/// Upper bound on template work, so a pathological template cannot stall a reconcile.
const TEMPLATE_FUEL: u64 = 100_000;

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
}

/// Everything that goes into the Secret's data.
pub struct Material<'a> {
    pub token: &'a Token,
    pub org_slug: &'a str,
    pub key: &'a KeyRecord,
    /// The stack whose facts the templates see.
    pub stack: Option<&'a StackFacts>,
    /// Whether the key is a stack key, which adds `stackSlug` and `url` to the data.
    pub stack_key: bool,
}

/// A Secret with the target name, seen from this resource.
#[derive(Clone, Debug)]
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

/// Labels, annotations and data rendered from a `secretTemplate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub data: BTreeMap<String, String>,
}

/// A template that cannot be rendered or whose result cannot go into a Secret. The message
/// never contains the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("secretTemplate {field}: {problem}")]
pub struct TemplateError {
    /// Where: `data.<key>`, `labels.<key>` or `annotations.<key>`.
    pub field: String,
    pub problem: String,
}

/// Renders `template` with the variables of `material`. Labels and annotations may not
/// contain the token: they are visible to anyone who can list Secrets' metadata.
pub fn render(
    template: &SecretTemplate,
    material: &Material<'_>,
) -> Result<Rendered, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    // Data often holds whole config files: keep their final newline.
    if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
        env.set_syntax(syntax);
    }
    let vars = variables(material);
    let token = material.token.expose();
    let one = |section: &str, key: &str, source: &str| -> Result<String, TemplateError> {
        let field = format!("{section}.{key}");
        env.render_str(source, vars.clone())
            .map_err(|err| TemplateError {
                problem: describe(&err, token),
                field: field.clone(),
            })
    };
    let mut out = Rendered::default();
    for (key, source) in &template.data {
        check_data_key(key)?;
        out.data.insert(key.clone(), one("data", key, source)?);
    }
    for (section, sources, target) in [
        ("labels", &template.labels, &mut out.labels),
        ("annotations", &template.annotations, &mut out.annotations),
    ] {
        for (key, source) in sources {
            let value = one(section, key, source)?;
            if !token.is_empty() && value.contains(token) {
                return Err(TemplateError {
                    field: format!("{section}.{key}"),
                    problem: "must not contain the token; put it in data instead".into(),
                });
            }
            target.insert(key.clone(), value);
        }
    }
    check_labels(&out.labels)?;
    check_annotations(&out.annotations)?;
    Ok(out)
}

/// A minijinja error in words, without template source and with the token removed from
/// whatever detail the engine gives.
fn describe(err: &minijinja::Error, token: &str) -> String {
    let mut text = err.kind().to_string();
    if let Some(detail) = err.detail() {
        let detail = if token.is_empty() {
            detail.to_string()
        } else {
            detail.replace(token, "<redacted>")
        };
        text = format!("{text}: {detail}");
    }
    match err.line() {
        Some(line) => format!("{text} (line {line})"),
        None => text,
    }
}

fn check_data_key(key: &str) -> Result<(), TemplateError> {
    let bad = |problem: &str| TemplateError {
        field: format!("data.{key}"),
        problem: problem.into(),
    };
    if RESERVED_KEYS.contains(&key) {
        return Err(bad("is written by the operator and cannot be templated"));
    }
    let valid = !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(bad(
            "is not a valid Secret key (letters, digits, '-', '_' and '.')",
        ))
    }
}

fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), TemplateError> {
    for (key, value) in labels {
        let bad = |problem: &str| TemplateError {
            field: format!("labels.{key}"),
            problem: problem.into(),
        };
        if key == MANAGED_BY_LABEL {
            return Err(bad("is set by the operator"));
        }
        if !qualified_name(key) {
            return Err(bad("is not a valid label key"));
        }
        if !label_value(value) {
            return Err(bad(
                "renders to an invalid label value (at most 63 letters, digits, '-', '_', '.')",
            ));
        }
    }
    Ok(())
}

fn check_annotations(annotations: &BTreeMap<String, String>) -> Result<(), TemplateError> {
    for key in annotations.keys() {
        let bad = |problem: &str| TemplateError {
            field: format!("annotations.{key}"),
            problem: problem.into(),
        };
        if RESERVED_ANNOTATIONS.contains(&key.as_str()) {
            return Err(bad("is set by the operator"));
        }
        if !qualified_name(key) {
            return Err(bad("is not a valid annotation key"));
        }
    }
    Ok(())
}

/// `[prefix/]name` as Kubernetes label and annotation keys require.
fn qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    prefix_ok && !name.is_empty() && label_value(name)
}

fn label_value(value: &str) -> bool {
    let alnum = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    value.len() <= 63
        && alnum(value.chars().next())
        && alnum(value.chars().last())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The template variables: `token`, `orgSlug`, `keyName` and, with a stack, `stack`.
fn variables(material: &Material<'_>) -> Value {
    let mut vars = vec![
        ("token", Value::from(material.token.expose())),
        ("orgSlug", Value::from(material.org_slug)),
        ("keyName", Value::from(material.key.name.as_str())),
    ];
    if let Some(stack) = material.stack {
        vars.push(("stack", stack_value(stack)));
    }
    Value::from_pairs(vars)
}

fn stack_value(stack: &StackFacts) -> Value {
    let e = &stack.endpoints;
    let endpoints: Vec<(&str, Value)> = [
        ("prometheus", &e.prometheus),
        ("loki", &e.loki),
        ("tempo", &e.tempo),
        ("alertmanager", &e.alertmanager),
        ("graphite", &e.graphite),
        ("profiles", &e.profiles),
    ]
    .into_iter()
    .filter_map(|(name, endpoint)| endpoint.as_ref().map(|ep| (name, endpoint_value(ep))))
    .collect();
    let mut fields = vec![
        ("slug", Value::from(stack.slug.as_str())),
        ("endpoints", Value::from_pairs(endpoints)),
    ];
    if let Some(id) = stack.id {
        fields.push(("id", Value::from(id)));
    }
    if let Some(url) = &stack.url {
        fields.push(("url", Value::from(url.as_str())));
    }
    Value::from_pairs(fields)
}

fn endpoint_value(endpoint: &Endpoint) -> Value {
    let mut fields = vec![("url", Value::from(endpoint.url.as_str()))];
    if let Some(id) = endpoint.user_id {
        fields.push(("userId", Value::from(id)));
    }
    Value::from_pairs(fields)
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
    if material.stack_key
        && let Some(stack) = material.stack
    {
        put(STACK_SLUG_KEY, &stack.slug);
        put(URL_KEY, stack.url.as_deref().unwrap_or_default());
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
