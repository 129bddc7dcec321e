//! Converging a GrafanaCloudApiKey: refuse foreign Secrets before any grafana.com call, wait
//! for the referenced stack, then hand over to the org or stack key logic. Everything ends
//! in one status write. The finalizer comes with the first metadata write before a create
//! (see [`claim`](super::claim)), or at the end of a pass that keeps a key without one.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Resource, ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::{
    claim::ServerCopy,
    desired::{self, KeyKind},
    org,
    outcome::Outcome,
    stack_key,
};
use crate::{
    controller::shell::ManagedKind,
    controller::{
        Context, Error, cluster,
        conditions::{Readiness, Reason},
        credentials, refs, requeue,
        secret::{Existing, StackFacts},
        secret_write::{self, Prepared},
        status,
    },
    crd::{GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
};

/// How often a key looks at its stack again while the stack is missing or not Ready. The
/// GrafanaStack watch usually triggers the reconcile much sooner.
const STACK_WAIT: Duration = Duration::from_secs(60);

pub async fn apply(obj: &GrafanaCloudApiKey, ctx: &Context) -> Result<Action, Error> {
    let mut next = obj.status.clone().unwrap_or_default();
    let mut server = ServerCopy::unread();
    let mut result = converge(obj, ctx, &mut next, &mut server).await;
    if result.as_ref().is_ok_and(|o| o.readiness.ready) {
        // A key is kept: a delete must find the finalizer to clean it up.
        if let Err(err) = server.ensure_finalizer(ctx, obj).await {
            result = Err(err);
        }
    }
    let readiness = match &result {
        Ok(outcome) => outcome.readiness.clone(),
        Err(err) => Readiness::not_ready(err.reason(), err.condition_message()),
    };
    ctx.metrics.set_key_times(
        GrafanaCloudApiKey::KIND,
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        next.expires_at.as_deref(),
        next.renew_at.as_deref(),
    );
    status::conclude(ctx, obj, obj.status.as_ref(), next, &readiness).await?;
    if result.is_ok() {
        ctx.record_success(obj);
    }
    result.map(|outcome| outcome.action)
}

async fn converge(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    status: &mut GrafanaCloudApiKeyStatus,
    server: &mut ServerCopy,
) -> Result<Outcome, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let kind = KeyKind::of(obj);
    let secret_name = desired::secret_name(obj);
    status.key_type = Some(kind.as_str().to_string());
    status.secret_name = Some(secret_name.clone());

    // A Secret this resource does not control is never touched, and nothing is created
    // whose token could not be stored: check before any grafana.com call.
    let uid = obj.uid().unwrap_or_default();
    let owned = match secret_write::read_existing(ctx, &namespace, &secret_name, &uid).await? {
        Existing::Foreign => {
            return Ok(Outcome {
                readiness: Readiness::not_ready(
                    Reason::SecretConflict,
                    secret_write::conflict_message(&secret_name),
                ),
                action: Action::await_change(),
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
            .ok_or_else(|| Error::NoOwnerReference {
                kind: GrafanaCloudApiKey::KIND,
                name: obj.name_any(),
            })?,
        owned,
        template: obj.spec.secret_template.clone().unwrap_or_default(),
        refused_before: obj
            .status
            .as_ref()
            .is_some_and(|s| secret_write::refused_before(&s.conditions)),
    };
    let outcome = match (kind, stack) {
        (KeyKind::Org, stack) => {
            org::converge(obj, ctx, &creds, stack, &prepared, status, server).await?
        }
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
    let existing = secret_write::read_existing(ctx, &prepared.namespace, previous, uid).await?;
    if !matches!(existing, Existing::Owned(_)) {
        return Ok(());
    }
    ctx.check_fence()?;
    cluster::delete::<Secret>(ctx.cluster.as_ref(), Some(&prepared.namespace), previous)
        .await
        .map_err(|source| Error::WriteObject {
            kind: "Secret",
            namespace: prepared.namespace.clone(),
            name: previous.to_string(),
            source: source.into(),
        })?;
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

/// Reads the GrafanaStack `name`; `Err(message)` says what the key waits for.
async fn read_stack(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Result<StackFacts, String>, Error> {
    Ok(refs::ready_stack(ctx, namespace, name)
        .await?
        .map(|stack| desired::stack_facts(&stack)))
}
