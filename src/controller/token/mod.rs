//! What every token kind shares: tokens in Secrets, issued under names that mark them as the
//! resource's, replaced when lost, rotated with an overlap, and deleted with the resource.
//!
//! A kind says what it is ([`TokenKind`]) and where its tokens live ([`Issuer`]); the rest
//! is written once:
//! - [`desired`]: the pure decisions (names, timing, plan);
//! - `apply`: one pass, from the Secret to the status;
//! - `issue`: creating, storing and switching over;
//! - `cleanup`: deleting the tokens with the resource.

mod apply;
mod cleanup;
pub mod desired;
mod issue;

use std::{future::Future, time::Duration};

use k8s_openapi::jiff::Timestamp;

pub use apply::apply;
pub use cleanup::cleanup;

use super::{
    Context, Error,
    conditions::Reason,
    error::RotationError,
    secret::{KeyRecord, Layout, StackFacts},
    shell::ManagedKind,
};
use crate::{
    crd::{DeletionPolicy, SecretTemplate, TokenRotation, TokenStatus},
    grafana::{self, Token},
};

/// A token just created: its id and the only copy of its secret.
pub struct Created {
    pub id: String,
    pub token: Token,
}

/// Where a resource's tokens live, as one pass found them: the credentials and the calls
/// that make, find and delete tokens there.
pub trait Issuer: Send + Sync {
    /// The organisation slug the Secret and the templates show.
    fn org(&self) -> &str;

    /// The Secret's default data keys.
    fn layout(&self) -> Layout<'_>;

    /// The region recorded in status, for tokens that live in one.
    fn region(&self) -> Option<&str>;

    /// Whether the token of `record` still works (from a shared list where possible).
    fn alive(
        &self,
        ctx: &Context,
        record: &KeyRecord,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// The id of the token named `name`, expired or not, asked of grafana.com now.
    fn find_fresh(
        &self,
        ctx: &Context,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send;

    /// Creates the token `name`, living `lifetime` (until `expires_at`), or forever.
    fn create(
        &self,
        ctx: &Context,
        name: &str,
        lifetime: Option<Duration>,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<Created, grafana::Error>> + Send;

    /// Deletes a token; an absent one counts as deleted.
    fn delete(
        &self,
        ctx: &Context,
        id: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), grafana::Error>> + Send;

    /// Whether a create failed because a token of that name exists.
    fn name_taken(err: &grafana::Error) -> bool;

    /// Drops what is cached about the tokens here, after the operator changed them.
    fn forget_cached(&self, ctx: &Context);
}

/// The issuer and the stack the templates see, or what the token waits for. Made once per
/// pass, so its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Source<I> {
    Ready {
        issuer: I,
        stack: Option<StackFacts>,
    },
    Waiting {
        reason: Reason,
        message: String,
    },
}

/// A kind of resource whose tokens the shared token machinery manages.
pub trait TokenKind: ManagedKind {
    type Issuer: Issuer;

    /// The status, as this copy of the resource has it.
    fn token_status(&self) -> Option<&TokenStatus>;

    /// `spec.name`, the base of the token names.
    fn base(&self) -> Option<&str>;

    /// How long each token lives; `None`: forever.
    fn lifetime(&self) -> Result<Option<Duration>, RotationError>;

    fn rotation(&self) -> Option<&TokenRotation>;

    fn secret_name(&self) -> Option<&str>;

    fn secret_template(&self) -> Option<&SecretTemplate>;

    fn deletion_policy(&self) -> DeletionPolicy;

    /// Where the tokens live and which stack the templates see, once what the token
    /// depends on is Ready.
    fn source(
        &self,
        ctx: &Context,
        namespace: &str,
    ) -> impl Future<Output = Result<Source<Self::Issuer>, Error>> + Send;

    /// Where the tokens live, for deleting them with the resource; `Err(note)` when they
    /// went with what they belonged to, so nothing is left to delete.
    fn cleanup_source(
        &self,
        ctx: &Context,
        namespace: &str,
        status: &TokenStatus,
    ) -> impl Future<Output = Result<Result<Self::Issuer, String>, Error>> + Send;
}
