//! Rendering `secretTemplate` with minijinja (Jinja syntax), with strict undefined handling
//! and a fuel limit, and checking that the result can go into a Secret without exposing the
//! token in metadata.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior, Value, syntax::SyntaxConfig};

use super::{
    CREATED_AT_ANNOTATION, EXPIRES_AT_ANNOTATION, KEY_ID_ANNOTATION, KEY_NAME_ANNOTATION, Layout,
    Material, ORG_SLUG_KEY, REGION_KEY, SERVICE_ACCOUNT_ID_KEY, STACK_ID_ANNOTATION,
    STACK_SLUG_KEY, StackFacts, TOKEN_KEY, URL_KEY,
};
use crate::crd::{Endpoint, MANAGED_BY_LABEL, SecretTemplate};

/// Annotations that record the key identity; templates may not set them.
const RESERVED_ANNOTATIONS: [&str; 5] = [
    KEY_NAME_ANNOTATION,
    KEY_ID_ANNOTATION,
    CREATED_AT_ANNOTATION,
    EXPIRES_AT_ANNOTATION,
    STACK_ID_ANNOTATION,
];

/// Data keys the operator writes itself.
const RESERVED_KEYS: [&str; 6] = [
    TOKEN_KEY,
    ORG_SLUG_KEY,
    STACK_SLUG_KEY,
    URL_KEY,
    REGION_KEY,
    SERVICE_ACCOUNT_ID_KEY,
];

/// Upper bound on template work, so a pathological template cannot stall a reconcile.
const TEMPLATE_FUEL: u64 = 100_000;
/// The largest rendered value: rendering stops as soon as the output grows past it.
pub const MAX_VALUE_BYTES: usize = 256 * 1024;
/// The most that all rendered values, keys, labels and annotations may add up to, well below
/// the API server's 1 MiB limit for a whole Secret.
pub const MAX_RENDERED_BYTES: usize = 512 * 1024;

/// Labels, annotations and data rendered from a `secretTemplate`. `Debug` shows the data
/// keys only, since the values usually contain the token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub data: BTreeMap<String, String>,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("labels", &self.labels)
            .field("annotations", &self.annotations)
            .field("data", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
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
        let error = |err: minijinja::Error| TemplateError {
            problem: describe(&err, token),
            field: format!("{section}.{key}"),
        };
        let mut out = Bounded::default();
        env.template_from_str(source)
            .and_then(|template| template.render_captured_to(vars.clone(), &mut out))
            .map_err(|err| match out.overflowed {
                true => TemplateError {
                    field: format!("{section}.{key}"),
                    problem: format!("renders to more than {} KiB", MAX_VALUE_BYTES / 1024),
                },
                false => error(err),
            })?;
        String::from_utf8(out.bytes).map_err(|_| TemplateError {
            field: format!("{section}.{key}"),
            problem: "does not render to UTF-8 text".into(),
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
    let total: usize = [&out.data, &out.labels, &out.annotations]
        .iter()
        .flat_map(|map| map.iter())
        .map(|(key, value)| key.len().saturating_add(value.len()))
        .fold(0, usize::saturating_add);
    if total > MAX_RENDERED_BYTES {
        return Err(TemplateError {
            field: "data".into(),
            problem: format!(
                "renders to {} KiB in all, more than the {} KiB a Secret may hold beside the token",
                total / 1024,
                MAX_RENDERED_BYTES / 1024
            ),
        });
    }
    Ok(out)
}

/// Collects rendered output up to [`MAX_VALUE_BYTES`], then fails the render.
#[derive(Default)]
struct Bounded {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > MAX_VALUE_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("rendered value too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
    match material.layout {
        Layout::PolicyToken { region } => {
            vars.push(("region", Value::from(region)));
            vars.push(("tokenName", Value::from(material.key.name.as_str())));
        }
        Layout::AccountToken { account_id } => {
            vars.push(("serviceAccountId", Value::from(account_id)));
            vars.push(("tokenName", Value::from(material.key.name.as_str())));
        }
        Layout::OrgKey | Layout::StackKey => {}
    }
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
    .chain(stack.connections.otlp_http_url.as_ref().map(|url| {
        let otlp = Endpoint {
            url: url.clone(),
            user_id: stack.id,
        };
        ("otlp", endpoint_value(&otlp))
    }))
    .collect();
    let c = &stack.connections;
    let connections: Vec<(&str, Value)> = [
        ("otlpHttpUrl", &c.otlp_http_url),
        ("influxUrl", &c.influx_url),
        ("oncallApiUrl", &c.oncall_api_url),
        ("syntheticMonitoringApiUrl", &c.synthetic_monitoring_api_url),
        ("appPlatformUrl", &c.app_platform_url),
    ]
    .into_iter()
    .filter_map(|(name, url)| url.as_deref().map(|u| (name, Value::from(u))))
    .collect();
    let mut fields = vec![
        ("slug", Value::from(stack.slug.as_str())),
        ("endpoints", Value::from_pairs(endpoints)),
        ("connections", Value::from_pairs(connections)),
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
