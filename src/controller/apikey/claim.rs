//! The claim on an org key's name (`status.keyName`). A claim is what lets the operator
//! delete a same-named remote key (to replace a key whose token was lost, or when the
//! resource is deleted), so it is only ever read from, and written against, the API server.
//! The watch cache can lag behind the operator's own writes: a claim it still shows may
//! already have been withdrawn, and writing it back would hand the operator somebody
//! else's key.
//!
//! A pass reads the status from the API server at most once, into a [`ServerStatus`] that
//! it hands down, and that follows the pass's own claim writes.

use k8s_openapi::jiff::Timestamp;

use super::desired::{self, KeyClaim};
use crate::{
    controller::{Context, Error, cluster, status},
    crd::{GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
};

/// The resource's status as the API server holds it, read at most once per pass.
#[derive(Debug, Default)]
pub struct ServerStatus {
    /// `None` until read; then the status, or `None` for a resource without status (or gone).
    held: Option<Option<GrafanaCloudApiKeyStatus>>,
}

impl ServerStatus {
    /// Nothing read yet.
    pub fn unread() -> Self {
        Self::default()
    }

    async fn held(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
    ) -> Result<Option<&GrafanaCloudApiKeyStatus>, Error> {
        if self.held.is_none() {
            let fresh = cluster::read_fresh(ctx.cluster.as_ref(), obj).await?;
            self.held = Some(fresh.and_then(|key| key.status));
        }
        Ok(self.held.as_ref().and_then(Option::as_ref))
    }

    /// The claim the API server's status holds for this resource.
    pub async fn claim(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
    ) -> Result<Option<KeyClaim>, Error> {
        Ok(KeyClaim::of(self.held(ctx, obj).await?))
    }

    /// Records the claim on `name`, with the time, right before a create call, so that
    /// after a crash between the create and the Secret write the next pass knows the
    /// remote key is its own and replaces it, while a same-named key someone else made is
    /// never touched (see [`desired::owns_remote`]). The claim is written even when the API
    /// server held one already, because its time is what a key created by this call is
    /// judged by. Returns the claim on the same name that the API server held before this
    /// one, which covers a key left behind by an earlier pass.
    pub async fn record(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        status: &mut GrafanaCloudApiKeyStatus,
        name: &str,
    ) -> Result<Option<KeyClaim>, Error> {
        let current = self.held(ctx, obj).await?.cloned();
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
        self.held = Some(Some(marked));
        Ok(previous)
    }

    /// Withdraws the claim after the name turned out to be somebody else's. The write goes
    /// to the API server at once: the pass's final status write compares against the watch
    /// cache, which may never have seen the claim and would skip the write.
    pub async fn withdraw(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        status: &mut GrafanaCloudApiKeyStatus,
    ) -> Result<(), Error> {
        status.key_name = None;
        status.key_claimed_at = None;
        let current = self.held(ctx, obj).await?.cloned();
        let mut withdrawn = current.clone().unwrap_or_default();
        withdrawn.key_name = None;
        withdrawn.key_claimed_at = None;
        status::write_if_changed(ctx, obj, current.as_ref(), &withdrawn).await?;
        self.held = Some(Some(withdrawn));
        Ok(())
    }
}
