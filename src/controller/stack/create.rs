//! Finding a stack before creating it, and creating it: the organisation's shared stack list
//! or a read by slug, then the create, read back after an answer that may hide a success.

use std::time::Duration;

use kube::runtime::events::EventType;

use super::desired::{self, Ownership};
use crate::{
    controller::{Context, Error, credentials::Credentials, snapshot::SnapshotCache},
    crd::GrafanaStack,
    grafana::Stack,
};

/// Looks the slug up in the organisation's stack list, shared by every resource about to
/// create a stack, instead of reading it alone. A stack created since the list was read is
/// not there: its create then fails on the slug, and the next pass reads the slug itself.
pub async fn listed_before_create(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    org: &str,
    resync: Duration,
) -> Result<Option<Stack>, Error> {
    let max_age = resync.min(LIST_BEFORE_CREATE_MAX_AGE);
    listed(
        &ctx.org_stacks_before_create,
        ctx,
        creds,
        org,
        &obj.spec.slug,
        max_age,
    )
    .await
}

/// The live stack `slug` in `org`'s stack list from `cache`, fetched when older than
/// `max_age`.
pub async fn listed(
    cache: &SnapshotCache<Vec<Stack>>,
    ctx: &Context,
    creds: &Credentials,
    org: &str,
    slug: &str,
    max_age: Duration,
) -> Result<Option<Stack>, Error> {
    let stacks = cache
        .get(org, max_age, || ctx.grafana.list_stacks(&creds.token, org))
        .await?;
    Ok(stacks
        .iter()
        .find(|s| s.slug == slug && !s.is_deleted())
        .cloned())
}

/// How old the organisation's stack list may be to stand in for a read before a create.
const LIST_BEFORE_CREATE_MAX_AGE: Duration = Duration::from_secs(30);

/// Reads the stack by slug; a deleted stack counts as absent. grafana.com answers 403 for a
/// slug that another organisation owns: the create then gets the definitive 409 "That url is
/// not available".
pub async fn read_stack(
    ctx: &Context,
    creds: &Credentials,
    slug: &str,
) -> Result<Option<Stack>, Error> {
    match ctx.grafana.get_stack(&creds.token, slug).await {
        Ok(stack) => Ok(stack.filter(|s| !s.is_deleted())),
        Err(err) if err.status() == Some(403) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Creates the stack; on a failure that may hide a committed create, reads it back.
pub async fn create(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    uid: &str,
) -> Result<Stack, Error> {
    let slug = &obj.spec.slug;
    let request = desired::create_request(&obj.spec, uid);
    match ctx.grafana.create_stack(&creds.token, &request).await {
        Ok(stack) => {
            ctx.org_stacks.invalidate(&stack.org_slug);
            ctx.event(
                obj,
                EventType::Normal,
                "Created",
                "Create",
                format!("created stack {slug}"),
            )
            .await;
            Ok(stack)
        }
        Err(err) => {
            if let Some(wait) = err.deleted_recently_wait() {
                return Err(Error::SlugRecentlyDeleted {
                    slug: slug.clone(),
                    wait,
                });
            }
            if err.is_slug_unavailable() {
                return Err(Error::SlugUnavailable {
                    slug: slug.clone(),
                    source: Some(err),
                });
            }
            let maybe_committed = err.status().is_none_or(|code| code >= 500);
            if !maybe_committed {
                return Err(err.into());
            }
            // The create may have gone through: adopt the stack only if it carries our label.
            let readback = ctx.grafana.get_stack(&creds.token, slug).await?;
            match readback.filter(|s| !s.is_deleted()) {
                Some(stack) if desired::ownership(&stack, uid, false) == Ownership::Owned => {
                    ctx.event(
                        obj,
                        EventType::Normal,
                        "Created",
                        "Create",
                        format!(
                            "created stack {slug} (confirmed by reading it back after an error)"
                        ),
                    )
                    .await;
                    Ok(stack)
                }
                _ => Err(err.into()),
            }
        }
    }
}
