//! The narrow port through which reconciles reach Kubernetes: read an object, create or
//! replace it, delete it, apply its status, publish an event. Nothing else in a reconcile
//! touches the API server, so the same `apply` and `cleanup` run against the real one
//! ([`KubeCluster`]) and against an in-memory fake in tests.
//!
//! The port speaks JSON over an [`ApiResource`], which keeps it object-safe; the typed
//! helpers below ([`get`], [`create`], [`replace`], [`delete`], [`apply_status`]) are what
//! the controllers call.

use std::fmt::Debug;

use futures::{FutureExt, future::BoxFuture};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    core::{ApiResource, DynamicObject},
    runtime::events::{Event, Reporter},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::{Error, events::Publisher};

/// Field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "grafana-cloud-operator";

/// What a port call answers: the API server's reply, or its error.
pub type Reply<'a, T> = BoxFuture<'a, Result<T, kube::Error>>;

/// One object's address: its resource type, namespace (none for cluster-scoped types) and
/// name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// The address of the `K` named `name` in `namespace`.
    pub fn of<K: Resource<DynamicType = ()>>(namespace: Option<&str>, name: &str) -> Self {
        Self {
            group: K::group(&()).into_owned(),
            version: K::version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            plural: K::plural(&()).into_owned(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// `v1`, or `<group>/<version>`.
    fn api_version(&self) -> String {
        match self.group.as_str() {
            "" => self.version.clone(),
            group => format!("{group}/{}", self.version),
        }
    }

    fn api(&self, client: &Client) -> Api<DynamicObject> {
        let resource = ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        };
        match &self.namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        }
    }
}

/// What reconciles need from Kubernetes. Errors are the API server's (`kube::Error::Api`
/// with its status code), so callers treat a fake's answers exactly like the real ones.
pub trait Cluster: Send + Sync {
    /// The object, or `None` when it does not exist.
    fn get<'a>(&'a self, key: &'a ObjectKey) -> Reply<'a, Option<Value>>;
    /// Every object of `key`'s kind in `key`'s namespace (its name is ignored).
    fn list<'a>(&'a self, key: &'a ObjectKey) -> Reply<'a, Vec<Value>>;
    /// Creates `body`; fails with 409 when the name is taken.
    fn create<'a>(&'a self, key: &'a ObjectKey, body: Value, dry_run: bool) -> Reply<'a, Value>;
    /// Replaces the object; fails with 409 when `body`'s resourceVersion is not the current one.
    fn replace<'a>(&'a self, key: &'a ObjectKey, body: Value, dry_run: bool) -> Reply<'a, Value>;
    /// Deletes the object; fails with 404 when it does not exist.
    fn delete<'a>(&'a self, key: &'a ObjectKey) -> Reply<'a, ()>;
    /// Merge-patches the object's `metadata` (a list such as `finalizers` is replaced whole,
    /// a `null` annotation removed); fails with 409 when `metadata` names a resourceVersion
    /// that is not the current one, and 404 when the object does not exist.
    fn patch_metadata<'a>(&'a self, key: &'a ObjectKey, metadata: Value) -> Reply<'a, Value>;
    /// Server-side applies `status` (the whole status this operator owns) to the object.
    fn apply_status<'a>(&'a self, key: &'a ObjectKey, status: Value) -> Reply<'a, ()>;
    /// Publishes an Event about `reference`.
    fn publish<'a>(&'a self, reference: &'a ObjectReference, event: &'a Event) -> Reply<'a, ()>;
}

/// The real API server.
pub struct KubeCluster {
    client: Client,
    events: Publisher,
}

impl KubeCluster {
    pub fn new(client: Client) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        let events = Publisher::new(client.clone(), reporter);
        Self { client, events }
    }
}

fn post_params(dry_run: bool) -> PostParams {
    PostParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
    }
}

fn dynamic(body: Value) -> Result<DynamicObject, kube::Error> {
    serde_json::from_value(body).map_err(kube::Error::SerdeError)
}

fn json<T: Serialize>(value: &T) -> Result<Value, kube::Error> {
    serde_json::to_value(value).map_err(kube::Error::SerdeError)
}

impl Cluster for KubeCluster {
    fn get<'a>(&'a self, key: &'a ObjectKey) -> Reply<'a, Option<Value>> {
        async move {
            let found = key.api(&self.client).get_opt(&key.name).await?;
            found.as_ref().map(json).transpose()
        }
        .boxed()
    }

    fn list<'a>(&'a self, key: &'a ObjectKey) -> Reply<'a, Vec<Value>> {
        async move {
            let list = key.api(&self.client).list(&ListParams::default()).await?;
            list.items.iter().map(json).collect()
        }
        .boxed()
    }

    fn create<'a>(&'a self, key: &'a ObjectKey, body: Value, dry_run: bool) -> Reply<'a, Value> {
        async move {
            let created = key
                .api(&self.client)
                .create(&post_params(dry_run), &dynamic(body)?)
                .await?;
            json(&created)
        }
        .boxed()
    }

    fn replace<'a>(&'a self, key: &'a ObjectKey, body: Value, dry_run: bool) -> Reply<'a, Value> {
        async move {
            let replaced = key
                .api(&self.client)
                .replace(&key.name, &post_params(dry_run), &dynamic(body)?)
                .await?;
            json(&replaced)
        }
        .boxed()
    }

    fn delete<'a>(&'a self, key: &'a ObjectKey) -> Reply<'a, ()> {
        async move {
            key.api(&self.client)
                .delete(&key.name, &DeleteParams::default())
                .await
                .map(|_| ())
        }
        .boxed()
    }

    fn patch_metadata<'a>(&'a self, key: &'a ObjectKey, metadata: Value) -> Reply<'a, Value> {
        async move {
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PatchParams::default()
            };
            let patch = serde_json::json!({ "metadata": metadata });
            let patched = key
                .api(&self.client)
                .patch(&key.name, &params, &Patch::Merge(patch))
                .await?;
            json(&patched)
        }
        .boxed()
    }

    fn apply_status<'a>(&'a self, key: &'a ObjectKey, status: Value) -> Reply<'a, ()> {
        async move {
            let patch = serde_json::json!({
                "apiVersion": key.api_version(),
                "kind": key.kind,
                "status": status,
            });
            key.api(&self.client)
                .patch_status(
                    &key.name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(patch),
                )
                .await
                .map(|_| ())
        }
        .boxed()
    }

    fn publish<'a>(&'a self, reference: &'a ObjectReference, event: &'a Event) -> Reply<'a, ()> {
        async move { self.events.publish(event, reference).await }.boxed()
    }
}

/// The Kubernetes kind of `K`, for messages.
fn kind_of<K: Resource<DynamicType = ()>>() -> &'static str {
    // Kinds are static strings for every type the operator touches; leak nothing else.
    match K::kind(&()) {
        std::borrow::Cow::Borrowed(kind) => kind,
        std::borrow::Cow::Owned(_) => "object",
    }
}

/// Reads the `K` named `name`, or `None` when it does not exist: the one typed "read
/// optional object" every controller uses.
pub async fn get<K>(
    cluster: &dyn Cluster,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let key = ObjectKey::of::<K>(namespace, name);
    let read_error = |source: kube::Error| Error::ReadObject {
        kind: kind_of::<K>(),
        namespace: namespace.unwrap_or_default().into(),
        name: name.into(),
        source: Box::new(source),
    };
    let found = cluster.get(&key).await.map_err(read_error)?;
    found
        .map(|value| serde_json::from_value(value).map_err(kube::Error::SerdeError))
        .transpose()
        .map_err(read_error)
}

/// Every `K` in `namespace`, as the API server has them now.
pub async fn list<K>(cluster: &dyn Cluster, namespace: &str) -> Result<Vec<K>, Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let key = ObjectKey::of::<K>(Some(namespace), "");
    let read_error = |source: kube::Error| Error::ReadObject {
        kind: kind_of::<K>(),
        namespace: namespace.into(),
        name: String::new(),
        source: Box::new(source),
    };
    let items = cluster.list(&key).await.map_err(read_error)?;
    items
        .into_iter()
        .map(|value| serde_json::from_value(value).map_err(kube::Error::SerdeError))
        .collect::<Result<_, _>>()
        .map_err(read_error)
}

/// The object as the API server has it now (never the watch cache), or `None` once it is
/// gone: for decisions that a stale cache must not make.
pub async fn read_fresh<K>(cluster: &dyn Cluster, obj: &K) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    get(cluster, Some(&namespace), &obj.name_any()).await
}

fn key_of<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectKey {
    ObjectKey::of::<K>(obj.meta().namespace.as_deref(), &obj.name_any())
}

/// Creates `obj` and returns the resourceVersion it got; the API server's error is returned
/// as is.
pub async fn create<K>(
    cluster: &dyn Cluster,
    obj: &K,
    dry_run: bool,
) -> Result<Option<String>, kube::Error>
where
    K: Resource<DynamicType = ()> + Serialize,
{
    cluster
        .create(&key_of(obj), json(obj)?, dry_run)
        .await
        .map(|written| resource_version(&written))
}

/// Replaces `obj` (guarded by its resourceVersion) and returns the resourceVersion it got;
/// the API server's error is returned as is.
pub async fn replace<K>(
    cluster: &dyn Cluster,
    obj: &K,
    dry_run: bool,
) -> Result<Option<String>, kube::Error>
where
    K: Resource<DynamicType = ()> + Serialize,
{
    cluster
        .replace(&key_of(obj), json(obj)?, dry_run)
        .await
        .map(|written| resource_version(&written))
}

/// Merge-patches the metadata of `obj` (see [`Cluster::patch_metadata`]) and returns the
/// object as the API server holds it after the patch; the API server's error is returned
/// as is.
pub async fn patch_metadata<K>(
    cluster: &dyn Cluster,
    obj: &K,
    metadata: Value,
) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let patched = cluster.patch_metadata(&key_of(obj), metadata).await?;
    serde_json::from_value(patched).map_err(kube::Error::SerdeError)
}

fn resource_version(written: &Value) -> Option<String> {
    written
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Deletes the `K` named `name`; one that is already gone counts as deleted.
pub async fn delete<K>(
    cluster: &dyn Cluster,
    namespace: Option<&str>,
    name: &str,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()>,
{
    match cluster.delete(&ObjectKey::of::<K>(namespace, name)).await {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        result => result,
    }
}

/// Applies `status` as the status of `obj`.
pub async fn apply_status<K, S>(
    cluster: &dyn Cluster,
    obj: &K,
    status: &S,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Debug,
    S: Serialize,
{
    cluster.apply_status(&key_of(obj), json(status)?).await
}
