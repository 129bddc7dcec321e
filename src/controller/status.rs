//! Status writes, shared by both controllers. Status goes through server-side apply, so a
//! field the operator stops setting is removed, and a write only happens when it changed.

use std::fmt::Debug;

use kube::{Resource, ResourceExt, runtime::controller::Action};
use serde::Serialize;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};

use super::{
    Context, Error, cluster,
    conditions::{self, Readiness},
    shell::ManagedKind,
};
use crate::crd::{
    GrafanaCloudAccessPolicyStatus, GrafanaCloudApiKeyStatus, GrafanaStackServiceAccountStatus,
    GrafanaStackStatus, TokenStatus,
};

/// Writes `status` unless it equals `current`.
pub async fn write_if_changed<K, S>(
    ctx: &Context,
    obj: &K,
    current: Option<&S>,
    status: &S,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    ctx.check_fence()?;
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    cluster::apply_status(ctx.cluster.as_ref(), obj, status)
        .await
        .map_err(|source| Error::WriteStatus {
            namespace,
            name: obj.name_any(),
            source: source.into(),
        })
}

/// A status with the Kubernetes condition list and observed generation.
pub trait Conditioned {
    fn conditions(&self) -> &[Condition];
    fn set_conditions(&mut self, conditions: Vec<Condition>);
    fn set_observed_generation(&mut self, generation: Option<i64>);
}

/// Implements [`Conditioned`] for statuses with `conditions` and `observed_generation`.
macro_rules! conditioned {
    ($($status:ty),+ $(,)?) => {$(
        impl Conditioned for $status {
            fn conditions(&self) -> &[Condition] {
                &self.conditions
            }
            fn set_conditions(&mut self, conditions: Vec<Condition>) {
                self.conditions = conditions;
            }
            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.observed_generation = generation;
            }
        }
    )+};
}

conditioned!(
    GrafanaStackStatus,
    GrafanaCloudApiKeyStatus,
    GrafanaCloudAccessPolicyStatus,
    TokenStatus,
    GrafanaStackServiceAccountStatus,
);

/// Ends a reconcile pass the same way for every kind: the Ready metric, a Warning event on a
/// new failure, the Ready condition and observed generation, and one status write if
/// anything changed.
pub async fn conclude<K, S>(
    ctx: &Context,
    obj: &K,
    current: Option<&S>,
    mut next: S,
    readiness: &Readiness,
) -> Result<(), Error>
where
    K: ManagedKind,
    S: Conditioned + Serialize + PartialEq,
{
    ctx.metrics
        .set_ready(K::KIND, &obj.uid().unwrap_or_default(), readiness.ready);
    let previous = current.map(Conditioned::conditions).unwrap_or_default();
    ctx.event_on_new_failure(obj, previous, readiness).await;
    let conditions = conditions::with_ready(
        next.conditions(),
        readiness,
        obj.meta().generation,
        Timestamp::now(),
    );
    next.set_conditions(conditions);
    next.set_observed_generation(obj.meta().generation);
    write_if_changed(ctx, obj, current, &next).await
}

/// Says what a delete waits for while the finalizer stays: a Warning event, and the Ready
/// condition with `reason` and `message` in one status write (skipped when unchanged).
pub async fn report_pending_delete<K, S>(
    ctx: &Context,
    obj: &K,
    current: Option<&S>,
    reason: conditions::Reason,
    message: String,
) -> Result<(), Error>
where
    K: ManagedKind,
    S: Conditioned + Serialize + PartialEq + Clone + Default,
{
    ctx.event(
        obj,
        kube::runtime::events::EventType::Warning,
        reason.as_str(),
        "Delete",
        message.clone(),
    )
    .await;
    let mut next = current.cloned().unwrap_or_default();
    next.set_conditions(conditions::with_ready(
        next.conditions(),
        &Readiness::not_ready(reason, message),
        obj.meta().generation,
        Timestamp::now(),
    ));
    write_if_changed(ctx, obj, current, &next).await
}

/// Holds up the delete of `obj` while resources of kind `D` in its namespace that belong to
/// it (`belongs`) exist: the Deleting condition names them, and the error keeps the
/// finalizer until their deletion wakes `obj` again.
pub async fn wait_for_dependents<K, D, S>(
    ctx: &Context,
    obj: &K,
    current: Option<&S>,
    belongs: impl Fn(&D) -> bool,
) -> Result<(), Error>
where
    K: ManagedKind,
    D: Resource<DynamicType = ()> + serde::de::DeserializeOwned,
    S: Conditioned + Serialize + PartialEq + Clone + Default,
{
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let names: Vec<String> = cluster::list::<D>(ctx.cluster.as_ref(), &namespace)
        .await?
        .into_iter()
        .filter(|d| belongs(d))
        .map(|d| d.name_any())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    let err = Error::DeleteWaits {
        kind: K::KIND,
        name: obj.name_any(),
        waits_for: format!(
            "its {} {} resource(s) go first: {}",
            names.len(),
            D::kind(&()),
            shown.join(", ")
        ),
    };
    let message = err.condition_message();
    report_pending_delete(ctx, obj, current, conditions::Reason::Deleting, message).await?;
    Err(err)
}

/// What a successful pass decided: the Ready condition to show, and when to look again.
pub struct Outcome {
    pub readiness: Readiness,
    pub action: Action,
}

impl Outcome {
    /// Not Ready for `reason`, looking again as `action` says.
    pub fn waiting(reason: conditions::Reason, message: String, action: Action) -> Self {
        Self {
            readiness: Readiness::not_ready(reason, message),
            action,
        }
    }
}

/// Ends an apply pass the same way for every kind: the Ready condition from its outcome or
/// its error, one status write ([`conclude`]), and the failure count reset after a success.
pub async fn finish<K, S>(
    ctx: &Context,
    obj: &K,
    current: Option<&S>,
    next: S,
    result: Result<Outcome, Error>,
) -> Result<Action, Error>
where
    K: ManagedKind,
    S: Conditioned + Serialize + PartialEq,
{
    let readiness = match &result {
        Ok(outcome) => outcome.readiness.clone(),
        Err(err) => Readiness::not_ready(err.reason(), err.condition_message()),
    };
    conclude(ctx, obj, current, next, &readiness).await?;
    if result.is_ok() {
        ctx.record_success(obj);
    }
    result.map(|outcome| outcome.action)
}
