//! The claim on an org key's name (`status.keyName`). A claim is what lets the operator
//! delete a same-named remote key (to replace a key whose token was lost, or when the
//! resource is deleted), so it is only ever read from, and written against, the API server.
//! The watch cache can lag behind the operator's own writes: a claim it still shows may
//! already have been withdrawn, and writing it back would hand the operator somebody
//! else's key.

use k8s_openapi::jiff::Timestamp;

use super::desired::{self, KeyClaim};
use crate::{
    controller::{self, Context, Error, status},
    crd::{GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
};

/// The resource as the API server has it now, or `None` once it is gone.
async fn fresh(
    ctx: &Context,
    obj: &GrafanaCloudApiKey,
) -> Result<Option<GrafanaCloudApiKey>, Error> {
    controller::read_fresh(ctx, obj).await
}

/// The claim the API server's status holds for this resource.
pub async fn on_server(ctx: &Context, obj: &GrafanaCloudApiKey) -> Result<Option<KeyClaim>, Error> {
    Ok(KeyClaim::of(
        fresh(ctx, obj).await?.and_then(|key| key.status).as_ref(),
    ))
}

/// Records the claim on `name`, with the time, right before a create call, so that after a
/// crash between the create and the Secret write the next pass knows the remote key is its
/// own and replaces it, while a same-named key someone else made is never touched (see
/// [`desired::owns_remote`]). The claim is written even when the API server held one
/// already, because its time is what a key created by this call is judged by.
pub async fn record(
    ctx: &Context,
    obj: &GrafanaCloudApiKey,
    status: &mut GrafanaCloudApiKeyStatus,
    name: &str,
) -> Result<Claim, Error> {
    let current = fresh(ctx, obj).await?.and_then(|key| key.status);
    let previous = KeyClaim::of(current.as_ref()).filter(|c| c.name == name);
    let at = desired::whole_seconds(Timestamp::now()).to_string();
    status.key_name = Some(name.to_string());
    status.key_claimed_at = Some(at.clone());
    let mut marked = current.clone().unwrap_or_default();
    marked.key_name = Some(name.to_string());
    marked.key_claimed_at = Some(at);
    marked.key_type = status.key_type.clone();
    marked.secret_name = status.secret_name.clone();
    marked.org_slug = status.org_slug.clone();
    status::write_if_changed(ctx, obj, current.as_ref(), &marked).await?;
    Ok(Claim {
        previous,
        written: Some(marked),
    })
}

/// A claim recorded by [`record`].
pub struct Claim {
    /// The claim on the same name that the API server held before this one, which covers
    /// a key left behind by an earlier pass.
    pub previous: Option<KeyClaim>,
    /// The status the API server holds now.
    written: Option<GrafanaCloudApiKeyStatus>,
}

impl Claim {
    /// Withdraws the claim after the name turned out to be somebody else's. The write goes
    /// to the API server at once: the pass's final status write compares against the watch
    /// cache, which may never have seen the claim and would skip the write.
    pub async fn withdraw(
        self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        status: &mut GrafanaCloudApiKeyStatus,
    ) -> Result<(), Error> {
        status.key_name = None;
        status.key_claimed_at = None;
        let mut withdrawn = self.written.clone().unwrap_or_default();
        withdrawn.key_name = None;
        withdrawn.key_claimed_at = None;
        status::write_if_changed(ctx, obj, self.written.as_ref(), &withdrawn).await
    }
}
