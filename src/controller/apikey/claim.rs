//! The claim on an org key's name, and the finalizer, written together in one metadata
//! patch right before a create call.
//!
//! A claim is what lets the operator delete a same-named remote key (to replace a key whose
//! token was lost, or when the resource is deleted). It lives in the annotation
//! [`CLAIM_ANNOTATION`] with the time it was made, sealed by an HMAC over the resource's uid,
//! the name and the time, keyed with the organisation's grafana.com token. Whoever may edit
//! the resource may edit its annotations, but without that token cannot make a claim the
//! operator accepts; with it, they could delete the key themselves. A claim made under
//! credentials since replaced no longer verifies: a key lost in a crash under the old token
//! then shows as `KeyConflict` rather than being replaced.
//!
//! A claim that decides a delete is read from the API server, never from the watch cache:
//! the cache can lag behind the operator's own writes, and a claim it still shows may
//! already have been withdrawn. A pass reads the resource from the API server at most once,
//! into a [`ServerCopy`] that it hands down, and that follows the pass's own writes. A claim
//! write needs no read first: it is guarded by the resourceVersion of the copy in hand, so
//! when it succeeds that copy was the API server's, and only a 409 costs a fresh read.

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::desired::{self, KeyClaim};
use crate::{
    controller::{Context, Error, cluster},
    crd::{FINALIZER, GrafanaCloudApiKey},
    grafana::Token,
};

/// The annotation that holds the sealed claim.
pub const CLAIM_ANNOTATION: &str = "grafanacloud.operator.dev/key-claim";

/// The annotation's value.
#[derive(Debug, Deserialize, Serialize)]
struct Sealed {
    name: String,
    at: String,
    seal: String,
}

fn key(token: &Token) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, token.expose().as_bytes())
}

fn message(uid: &str, name: &str, at: &str) -> Vec<u8> {
    format!("{uid}\n{name}\n{at}").into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect()
}

/// The annotation value claiming `name` at `at` for the resource with `uid`.
fn seal(token: &Token, uid: &str, name: &str, at: &str) -> String {
    let tag = hmac::sign(&key(token), &message(uid, name, at));
    let sealed = Sealed {
        name: name.to_string(),
        at: at.to_string(),
        seal: hex(tag.as_ref()),
    };
    serde_json::to_string(&sealed).unwrap_or_default()
}

/// The name `obj`'s annotation claims, without checking its seal: enough to know that no
/// claim exists, never enough to act on one.
pub fn claimed_name(obj: &GrafanaCloudApiKey) -> Option<String> {
    let value = obj.annotations().get(CLAIM_ANNOTATION)?;
    serde_json::from_str::<Sealed>(value).ok().map(|s| s.name)
}

/// The claim `obj`'s annotation holds, if its seal verifies under `token`.
pub fn verified(obj: &GrafanaCloudApiKey, token: &Token) -> Option<KeyClaim> {
    let value = obj.annotations().get(CLAIM_ANNOTATION)?;
    let sealed: Sealed = serde_json::from_str(value).ok()?;
    let tag = unhex(&sealed.seal)?;
    let uid = obj.uid()?;
    hmac::verify(&key(token), &message(&uid, &sealed.name, &sealed.at), &tag).ok()?;
    Some(KeyClaim {
        name: sealed.name,
        at: Some(sealed.at.parse().ok()?),
    })
}

/// The resource as the API server holds it, read at most once per pass.
#[derive(Debug, Default)]
pub struct ServerCopy {
    /// `None` until read or written; then the resource as the API server answered the read
    /// or this pass's last write, or `None` once it is gone.
    held: Option<Option<GrafanaCloudApiKey>>,
}

impl ServerCopy {
    /// Nothing read yet.
    pub fn unread() -> Self {
        Self::default()
    }

    async fn held(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
    ) -> Result<Option<&GrafanaCloudApiKey>, Error> {
        if self.held.is_none() {
            self.held = Some(cluster::read_fresh(ctx.cluster.as_ref(), obj).await?);
        }
        Ok(self.held.as_ref().and_then(Option::as_ref))
    }

    /// The claim the API server holds for this resource, if it verifies under `token`.
    pub async fn claim(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        token: &Token,
    ) -> Result<Option<KeyClaim>, Error> {
        Ok(self.held(ctx, obj).await?.and_then(|o| verified(o, token)))
    }

    /// Records the claim on `name`, with the time, right before a create call, together
    /// with the finalizer, so that after a crash between the create and the Secret write
    /// the next pass knows the remote key is its own and replaces it, while a same-named key
    /// someone else made is never touched (see [`desired::owns_remote`]). The claim is
    /// written even when the API server held one already, because its time is what a key
    /// created by this call is judged by. Returns the claim on the same name that the API
    /// server held before this one, which covers a key left behind by an earlier pass.
    pub async fn record(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        token: &Token,
        name: &str,
    ) -> Result<Option<KeyClaim>, Error> {
        let at = desired::whole_seconds(Timestamp::now()).to_string();
        let build = |base: &GrafanaCloudApiKey| {
            let claim = seal(token, &base.uid().unwrap_or_default(), name, &at);
            let mut metadata = finalizers_with_ours(base);
            metadata["annotations"] = json!({ CLAIM_ANNOTATION: claim });
            metadata
        };
        let base = self.guarded_patch(ctx, obj, build).await?;
        Ok(verified(&base, token).filter(|c| c.name == name))
    }

    /// Adds the finalizer if the resource lacks it: before a create that makes no claim (a
    /// stack key's name is unique), and when a pass keeps a key whose finalizer was removed.
    pub async fn ensure_finalizer(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
    ) -> Result<(), Error> {
        let has = |o: &GrafanaCloudApiKey| o.finalizers().iter().any(|f| f == FINALIZER);
        if has(self.in_hand(obj)) {
            return Ok(());
        }
        self.guarded_patch(ctx, obj, finalizers_with_ours).await?;
        Ok(())
    }

    /// The freshest copy this pass has: the API server's if read or written, else `obj`.
    fn in_hand<'a>(&'a self, obj: &'a GrafanaCloudApiKey) -> &'a GrafanaCloudApiKey {
        self.held.as_ref().and_then(Option::as_ref).unwrap_or(obj)
    }

    /// Merge-patches the metadata that `build` makes from the copy in hand, guarded by that
    /// copy's resourceVersion; after a 409 reads the resource fresh and tries once more.
    /// Returns the copy the successful patch was built from, which was the API server's.
    async fn guarded_patch(
        &mut self,
        ctx: &Context,
        obj: &GrafanaCloudApiKey,
        build: impl Fn(&GrafanaCloudApiKey) -> Value,
    ) -> Result<GrafanaCloudApiKey, Error> {
        ctx.check_fence()?;
        let base = self.in_hand(obj).clone();
        match self.patch(ctx, &base, build(&base)).await {
            Err(kube::Error::Api(status)) if status.code == 409 && self.held.is_none() => {}
            result => return result.map(|()| base).map_err(|e| write_error(obj, e)),
        }
        // Gone since: the patch is answered 404.
        let fresh = self.held(ctx, obj).await?.cloned().unwrap_or(base);
        self.patch(ctx, &fresh, build(&fresh))
            .await
            .map_err(|e| write_error(obj, e))?;
        Ok(fresh)
    }

    /// Merge-patches the resource's metadata and keeps the API server's answer as the copy.
    /// Its echo starts no pass (see `trigger::reconcile_inputs`).
    async fn patch(
        &mut self,
        ctx: &Context,
        base: &GrafanaCloudApiKey,
        metadata: Value,
    ) -> Result<(), kube::Error> {
        let written = cluster::patch_metadata(ctx.cluster.as_ref(), base, metadata).await?;
        self.held = Some(Some(written));
        Ok(())
    }

    /// Withdraws the claim after the name turned out to be somebody else's.
    pub async fn withdraw(&mut self, ctx: &Context, obj: &GrafanaCloudApiKey) -> Result<(), Error> {
        ctx.check_fence()?;
        let metadata = json!({ "annotations": { CLAIM_ANNOTATION: null } });
        let base = self.in_hand(obj).clone();
        self.patch(ctx, &base, metadata)
            .await
            .map_err(|e| write_error(obj, e))
    }
}

fn write_error(obj: &GrafanaCloudApiKey, source: kube::Error) -> Error {
    Error::WriteObject {
        kind: "GrafanaCloudApiKey",
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
        source: source.into(),
    }
}

/// The metadata patch that adds the finalizer to `base`'s list, guarded by the
/// resourceVersion `base` was read at.
fn finalizers_with_ours(base: &GrafanaCloudApiKey) -> Value {
    let mut finalizers = base.finalizers().to_vec();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        finalizers.push(FINALIZER.to_string());
    }
    json!({
        "resourceVersion": base.resource_version(),
        "finalizers": finalizers,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key_with(annotation: Option<String>, uid: &str) -> GrafanaCloudApiKey {
        let mut obj: GrafanaCloudApiKey = serde_json::from_value(json!({
            "apiVersion": "grafanacloud.operator.dev/v1alpha1",
            "kind": "GrafanaCloudApiKey",
            "metadata": {"name": "k", "namespace": "ns", "uid": uid},
            "spec": {"role": "Viewer"},
        }))
        .unwrap();
        if let Some(value) = annotation {
            obj.annotations_mut().insert(CLAIM_ANNOTATION.into(), value);
        }
        obj
    }

    #[test]
    fn a_sealed_claim_verifies_under_its_token_and_uid_only() {
        let token = Token::new("glc_secret");
        let value = seal(&token, "uid-1", "metrics", "2026-12-02T00:00:00Z");
        let claim = verified(&key_with(Some(value.clone()), "uid-1"), &token).unwrap();
        assert_eq!(claim.name, "metrics");
        assert_eq!(claim.at, Some("2026-12-02T00:00:00Z".parse().unwrap()));
        assert!(
            verified(&key_with(Some(value.clone()), "uid-2"), &token).is_none(),
            "a claim copied onto another resource must not verify"
        );
        assert!(
            verified(&key_with(Some(value), "uid-1"), &Token::new("glc_other")).is_none(),
            "a claim made under other credentials must not verify"
        );
    }

    #[test]
    fn a_claim_edited_or_made_by_hand_does_not_verify() {
        let token = Token::new("glc_secret");
        let value = seal(&token, "uid-1", "metrics", "2026-12-02T00:00:00Z");
        let edited = value.replace("metrics", "billing");
        let moved = value.replace("00:00:00Z", "00:09:00Z");
        for forged in [
            edited,
            moved,
            r#"{"name":"metrics","at":"2026-12-02T00:00:00Z","seal":"00"}"#.to_string(),
            r#"{"name":"metrics","at":"2026-12-02T00:00:00Z","seal":"zz"}"#.to_string(),
            "metrics".to_string(),
        ] {
            let obj = key_with(Some(forged.clone()), "uid-1");
            assert!(verified(&obj, &token).is_none(), "{forged} must not verify");
        }
        assert_eq!(
            claimed_name(&key_with(
                Some(value.replace("metrics", "billing")),
                "uid-1"
            ))
            .as_deref(),
            Some("billing"),
            "the unverified name only says that a claim exists"
        );
        assert!(claimed_name(&key_with(None, "uid-1")).is_none());
    }

    #[test]
    fn the_seal_carries_no_part_of_the_token() {
        let token = Token::new("glc_secret_value_0123456789");
        let value = seal(&token, "uid-1", "metrics", "2026-12-02T00:00:00Z");
        assert!(!value.contains("glc_secret"));
        assert!(!value.contains("0123456789"));
    }
}
