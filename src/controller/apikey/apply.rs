//! Converging a GrafanaCloudApiKey: refuse foreign Secrets before any grafana.com call, wait
//! for the referenced stack, then hand over to the org or stack key logic. Everything ends
//! in one status write.

use std::time::Duration;

use k8s_openapi::{
    api::core::v1::{Namespace, Secret},
    apimachinery::pkg::apis::meta::v1::OwnerReference,
    jiff::Timestamp,
};
use kube::{
    Api, Resource, ResourceExt,
    api::PostParams,
    runtime::{controller::Action, events::EventType},
};

use super::{
    claim,
    desired::{self, KeyKind},
    org, stack_key,
};
use crate::{
    controller::{
        Context, Error,
        conditions::{self, Readiness, Reason},
        credentials, requeue,
        secret::{self, Existing, KeyRecord, Material, StackFacts, Target},
        status,
    },
    crd::{GrafanaCloudApiKey, GrafanaCloudApiKeyStatus, GrafanaStack},
    grafana::Token,
};

/// How often a key looks at its stack again while the stack is missing or not Ready. The
/// GrafanaStack watch usually triggers the reconcile much sooner.
const STACK_WAIT: Duration = Duration::from_secs(60);

/// The kind, as metrics label it.
pub(super) const KIND: &str = "GrafanaCloudApiKey";

/// What a successful pass decided.
pub(super) struct Outcome {
    pub readiness: Readiness,
    pub action: Action,
    /// The pass settled `status.keyName` from the Secret or the API server (see [`claim`]).
    pub claim_settled: bool,
}

pub async fn apply(obj: &GrafanaCloudApiKey, ctx: &Context) -> Result<Action, Error> {
    let mut next = obj.status.clone().unwrap_or_default();
    let result = converge(obj, ctx, &mut next).await;
    if KeyKind::of(obj) == KeyKind::Org && !result.as_ref().is_ok_and(|o| o.claim_settled) {
        // The pass ended before it settled the claim: keep what the API server holds, not
        // what the watch cache showed. Without it, no status is better than a wrong claim.
        let held = claim::on_server(ctx, obj).await?;
        next.key_name = held.as_ref().map(|c| c.name.clone());
        next.key_claimed_at = held.and_then(|c| c.at).map(|at| at.to_string());
    }
    let readiness = match &result {
        Ok(outcome) => outcome.readiness.clone(),
        Err(err) => Readiness::not_ready(err.reason(), err.condition_message()),
    };
    let expires_at = next
        .expires_at
        .as_deref()
        .and_then(|at| at.parse::<Timestamp>().ok());
    ctx.metrics.set_key_expiry(
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        expires_at.map(|at| at.as_second()),
    );
    status::conclude(ctx, obj, KIND, obj.status.as_ref(), next, &readiness).await?;
    if result.is_ok() {
        ctx.record_success(obj);
    }
    result.map(|outcome| outcome.action)
}

async fn converge(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    status: &mut GrafanaCloudApiKeyStatus,
) -> Result<Outcome, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let kind = KeyKind::of(obj);
    let secret_name = desired::secret_name(obj);
    status.key_type = Some(kind.as_str().to_string());
    status.secret_name = Some(secret_name.clone());

    // A Secret this resource does not control is never touched, and nothing is created
    // whose token could not be stored: check before any grafana.com call.
    let uid = obj.uid().unwrap_or_default();
    let existing = read_secret(ctx, &namespace, &secret_name).await?;
    let owned = match secret::classify(existing, &uid) {
        Existing::Foreign => {
            return Ok(Outcome {
                readiness: Readiness::not_ready(
                    Reason::SecretConflict,
                    format!(
                        "Secret {secret_name} exists and is not owned by this resource; delete \
                         it or set spec.secretName to another name"
                    ),
                ),
                action: Action::await_change(),
                claim_settled: false,
            });
        }
        Existing::Absent => None,
        Existing::Owned(secret) => Some(*secret),
    };

    let stack = match desired::template_stack(obj) {
        Some(name) => match read_stack(ctx, &namespace, name).await? {
            Ok(facts) => Some(facts),
            Err(message) => {
                return Ok(Outcome {
                    readiness: Readiness::not_ready(Reason::StackNotReady, message),
                    action: requeue::after(STACK_WAIT),
                    claim_settled: false,
                });
            }
        },
        None => None,
    };

    let creds = credentials::resolve(ctx, &namespace, obj.spec.credentials.as_ref()).await?;
    let prepared = Prepared {
        name: secret_name,
        namespace,
        owner: obj
            .controller_owner_ref(&())
            .ok_or(Error::MissingNamespace)?,
        owned,
    };
    let outcome = match (kind, stack) {
        (KeyKind::Org, stack) => org::converge(obj, ctx, &creds, stack, &prepared, status).await?,
        (KeyKind::Stack, Some(stack)) => {
            stack_key::converge(obj, ctx, &creds, &stack, &prepared, status).await?
        }
        (KeyKind::Stack, None) => {
            return Err(Error::InvalidSpec {
                reason: "stack key without stackRef".into(),
            });
        }
    };
    if outcome.readiness.ready {
        retire_previous_secret(obj, ctx, &prepared, &uid).await?;
    }
    Ok(outcome)
}

/// After `spec.secretName` changed, deletes the Secret the resource wrote before, if it
/// still controls it: its token was replaced and must not linger.
async fn retire_previous_secret(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    prepared: &Prepared,
    uid: &str,
) -> Result<(), Error> {
    let previous = obj.status.as_ref().and_then(|s| s.secret_name.as_deref());
    let Some(previous) = previous.filter(|p| *p != prepared.name) else {
        return Ok(());
    };
    let existing = read_secret(ctx, &prepared.namespace, previous).await?;
    if !matches!(secret::classify(existing, uid), Existing::Owned(_)) {
        return Ok(());
    }
    ctx.check_fence()?;
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &prepared.namespace);
    match api.delete(previous, &Default::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(source) => {
            return Err(Error::WriteObject {
                kind: "Secret",
                namespace: prepared.namespace.clone(),
                name: previous.to_string(),
                source: source.into(),
            });
        }
    }
    ctx.event(
        obj,
        EventType::Normal,
        "SecretMoved",
        "Delete",
        format!(
            "deleted Secret {previous}: the token now lives in Secret {}",
            prepared.name
        ),
    )
    .await;
    Ok(())
}

/// While the namespace is being deleted no new key is created: its Secret could no longer
/// be written, and a stack key would leak. Best effort: without permission to read the
/// namespace, keys are created as usual.
pub(super) async fn namespace_terminating(ctx: &Context, namespace: &str) -> Option<Outcome> {
    let api: Api<Namespace> = Api::all(ctx.kube.clone());
    let terminating = api
        .get_opt(namespace)
        .await
        .ok()
        .flatten()
        .is_some_and(|ns| ns.metadata.deletion_timestamp.is_some());
    terminating.then(|| Outcome {
        readiness: Readiness::not_ready(
            Reason::Deleting,
            format!("namespace {namespace} is being deleted; no new key is created"),
        ),
        action: Action::await_change(),
        claim_settled: false,
    })
}

/// Reads the GrafanaStack `name`; `Err(message)` says what the key waits for.
async fn read_stack(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Result<StackFacts, String>, Error> {
    let api: Api<GrafanaStack> = Api::namespaced(ctx.kube.clone(), namespace);
    let stack = api
        .get_opt(name)
        .await
        .map_err(|source| Error::ReadObject {
            kind: "GrafanaStack",
            namespace: namespace.into(),
            name: name.into(),
            source: source.into(),
        })?;
    let Some(stack) = stack else {
        return Ok(Err(format!(
            "waiting for GrafanaStack {name}: it does not exist"
        )));
    };
    let ready = stack
        .status
        .as_ref()
        .is_some_and(|s| conditions::is_ready(&s.conditions));
    if !ready {
        return Ok(Err(format!(
            "waiting for GrafanaStack {name} to become Ready"
        )));
    }
    Ok(Ok(desired::stack_facts(&stack)))
}

async fn read_secret(ctx: &Context, namespace: &str, name: &str) -> Result<Option<Secret>, Error> {
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), namespace);
    api.get_opt(name).await.map_err(|source| Error::ReadObject {
        kind: "Secret",
        namespace: namespace.into(),
        name: name.into(),
        source: source.into(),
    })
}

/// Whether a Secret write changed anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SecretWrite {
    Created,
    Updated,
    Unchanged,
}

/// The target Secret and what is known about it before any grafana.com call.
pub(super) struct Prepared {
    pub name: String,
    pub namespace: String,
    pub owner: OwnerReference,
    /// The Secret as read at the start, when this resource controls it.
    pub owned: Option<Secret>,
}

/// A stand-in for a token not created yet, as long as real ones, for checks made before the
/// create call.
struct Placeholder {
    token: Token,
    record: KeyRecord,
}

impl Placeholder {
    fn new(key_name: &str) -> Self {
        Self {
            token: Token::new(format!("placeholder-token-{}", "0".repeat(160))),
            record: KeyRecord {
                name: key_name.to_string(),
                id: "0".into(),
                created_at: Timestamp::UNIX_EPOCH,
                expires_at: None,
                stack_id: None,
            },
        }
    }

    fn material<'a>(
        &'a self,
        org_slug: &'a str,
        stack: Option<&'a StackFacts>,
        stack_key: bool,
    ) -> Material<'a> {
        Material {
            token: &self.token,
            org_slug,
            key: &self.record,
            stack,
            stack_key,
        }
    }
}

impl Prepared {
    /// Renders the templates with a placeholder token, so that a template error is reported
    /// before a key is created rather than after.
    pub fn check_template(
        &self,
        obj: &GrafanaCloudApiKey,
        org_slug: &str,
        stack: Option<&StackFacts>,
        key_name: &str,
        stack_key: bool,
    ) -> Result<(), secret::TemplateError> {
        let Some(template) = &obj.spec.secret_template else {
            return Ok(());
        };
        let placeholder = Placeholder::new(key_name);
        secret::render(template, &placeholder.material(org_slug, stack, stack_key)).map(|_| ())
    }

    /// Asks the API server, with a server-side dry run, whether it would accept the Secret as
    /// it will be written, with a placeholder token. Called right before a create call: a
    /// Secret that admission, a quota or the size limit refuses costs no key at grafana.com.
    pub async fn dry_run(
        &self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        org_slug: &str,
        stack: Option<&StackFacts>,
        key_name: &str,
        stack_key: bool,
    ) -> Result<(), Error> {
        let placeholder = Placeholder::new(key_name);
        let material = placeholder.material(org_slug, stack, stack_key);
        let (desired, _) = self.desired(obj, &material);
        self.submit(ctx, desired, true).await.map(|_| ())
    }

    /// The Secret to write, and the template error if the templates failed (the default
    /// keys are written all the same).
    fn desired(
        &self,
        obj: &GrafanaCloudApiKey,
        material: &Material<'_>,
    ) -> (Secret, Option<secret::TemplateError>) {
        let template = obj.spec.secret_template.clone().unwrap_or_default();
        let (rendered, template_error) = match secret::render(&template, material) {
            Ok(rendered) => (rendered, None),
            Err(err) => (secret::Rendered::default(), Some(err)),
        };
        let target = Target {
            name: &self.name,
            namespace: &self.namespace,
            owner: self.owner.clone(),
        };
        (secret::build(target, material, &rendered), template_error)
    }

    /// Writes the whole Secret in one request: a create when it does not exist yet (which
    /// fails rather than overwrite a Secret that appeared meanwhile), otherwise a replace
    /// guarded by the resourceVersion read at the start.
    pub async fn write(
        &self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        material: &Material<'_>,
    ) -> Result<SecretWrite, Error> {
        // A template that fails only with the real token still must not lose that token:
        // write the default keys, then report the template error.
        let (desired, template_error) = self.desired(obj, material);
        let written = self.submit(ctx, desired, false).await?;
        match template_error {
            Some(err) => Err(Error::InvalidSpec {
                reason: err.to_string(),
            }),
            None => Ok(written),
        }
    }

    async fn submit(
        &self,
        ctx: &Context,
        mut desired: Secret,
        dry_run: bool,
    ) -> Result<SecretWrite, Error> {
        if !dry_run {
            ctx.check_fence()?;
        }
        let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &self.namespace);
        let params = PostParams {
            dry_run,
            field_manager: Some(status::FIELD_MANAGER.into()),
        };
        let written = match &self.owned {
            Some(current) if secret::up_to_date(current, &desired) => Ok(SecretWrite::Unchanged),
            Some(current) => {
                desired.metadata.resource_version = current.metadata.resource_version.clone();
                api.replace(&self.name, &params, &desired)
                    .await
                    .map(|_| SecretWrite::Updated)
            }
            None => api
                .create(&params, &desired)
                .await
                .map(|_| SecretWrite::Created),
        };
        written.map_err(|source| secret_write_error(&self.namespace, &self.name, &desired, source))
    }
}

/// The longest part of the API server's refusal message kept in status.
const MAX_REFUSAL_CHARS: usize = 512;

/// A failed Secret write. A refusal (admission, quota, size, permissions) is
/// [`Error::SecretRejected`] with the API server's message, cut short and with any value of
/// the Secret (an admission webhook may echo one) taken out; anything else may pass on retry.
fn secret_write_error(namespace: &str, name: &str, desired: &Secret, source: kube::Error) -> Error {
    match source {
        kube::Error::Api(status) if matches!(status.code, 400 | 403 | 413 | 422) => {
            let mut message = status.message;
            let values = desired.data.iter().flat_map(|data| data.values());
            for value in values.filter(|v| v.0.len() >= 8) {
                if let Ok(text) = std::str::from_utf8(&value.0) {
                    message = message.replace(text, "<redacted>");
                }
            }
            Error::SecretRejected {
                namespace: namespace.into(),
                name: name.into(),
                message: message.chars().take(MAX_REFUSAL_CHARS).collect(),
            }
        }
        source => Error::WriteObject {
            kind: "Secret",
            namespace: namespace.into(),
            name: name.into(),
            source: source.into(),
        },
    }
}
