//! What a kind of resource is to the operator: [`ManagedKind`]. The shell (`shell.rs`) and
//! the shared watches (`watch.rs`) are written once over it.

use std::{fmt::Debug, future::Future};

use kube::{
    Client, Resource,
    core::NamespaceResourceScope,
    runtime::{Controller, controller::Action, reflector::Store},
};
use serde::{Serialize, de::DeserializeOwned};

use super::{Context, Error};
use crate::crd::CredentialsRef;

/// What the shell needs to know about a kind of resource it manages.
pub trait ManagedKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    /// The kind's name, as spans, metrics, log lines and messages show it.
    const KIND: &'static str;

    /// Whether a change of a credentials Secret wakes resources of this kind. Kinds that use
    /// the credentials of the object they belong to (tokens) say no, and save a watch of
    /// every Secret in scope: that object wakes them.
    const WATCHES_CREDENTIALS: bool = true;

    /// Whether the kind writes Secrets it owns (a token), whose changes and deletion by
    /// anyone else wake their owner.
    const OWNS_SECRETS: bool = false;

    /// Whether the kind adds the finalizer itself, in the metadata write it makes right
    /// before it first creates anything remote, and before anything it keeps, rather than
    /// in a pass of its own first. That saves one write per resource; until it is there,
    /// nothing remote exists that a delete would have to clean up.
    const ADDS_OWN_FINALIZER: bool = false;

    /// Annotations the operator writes on the resource itself, which are bookkeeping rather
    /// than anything a pass acts on when they change.
    const OWN_ANNOTATIONS: &'static [&'static str] = &[];

    /// The credentials Secret the resource names, if any (the operator's default otherwise).
    fn credentials(&self) -> Option<&CredentialsRef>;

    /// Converges one resource that is not being deleted.
    fn apply(obj: &Self, ctx: &Context) -> impl Future<Output = Result<Action, Error>> + Send;

    /// Cleans up after one resource that is being deleted; the finalizer goes once it
    /// succeeds.
    fn cleanup(obj: &Self, ctx: &Context) -> impl Future<Output = Result<Action, Error>> + Send;

    /// Adds the kind's own watches (the objects it references) to a controller that already
    /// follows spec changes, credentials Secrets and owned Secrets.
    fn watches(
        controller: Controller<Self>,
        _kube: &Client,
        _scope: Option<&str>,
        _store: &Store<Self>,
    ) -> Controller<Self> {
        controller
    }
}
