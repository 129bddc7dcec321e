//! An in-memory stand-in for the API server behind the operator's cluster port: objects by
//! kind, namespace and name, with resourceVersions, 404 and 409 answers as the real one
//! gives them, events, write counts, and refusals on demand.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use futures::{FutureExt, future::BoxFuture};
use grafana_cloud_operator::controller::cluster::{Cluster, ObjectKey};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Resource, ResourceExt, core::Status, runtime::events::Event};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

type Address = (String, Option<String>, String);

fn address(key: &ObjectKey) -> Address {
    (
        format!("{}/{}", key.group, key.plural),
        key.namespace.clone(),
        key.name.clone(),
    )
}

fn api_error(code: u16, reason: &str, message: String) -> kube::Error {
    kube::Error::Api(Status::failure(&message, reason).with_code(code).boxed())
}

fn not_found(key: &ObjectKey) -> kube::Error {
    api_error(
        404,
        "NotFound",
        format!("{} \"{}\" not found", key.plural, key.name),
    )
}

/// JSON merge patch (RFC 7386): objects merge, `null` removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Some(fields) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    for (field, value) in fields {
        match (value, target.as_object_mut()) {
            (Value::Null, Some(object)) => {
                object.remove(field);
            }
            (_, Some(object)) => merge(object.entry(field).or_insert(Value::Null), value),
            (_, None) => {}
        }
    }
}

/// An event as published.
#[derive(Clone, Debug)]
pub struct Published {
    pub object: String,
    pub reason: String,
    pub note: String,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<Address, Value>,
    version: u64,
    writes: BTreeMap<String, usize>,
    refusals: BTreeMap<String, (u16, String)>,
    events: Vec<Published>,
}

impl State {
    fn next_version(&mut self) -> String {
        self.version += 1;
        self.version.to_string()
    }

    fn count_write(&mut self, key: &ObjectKey) {
        *self.writes.entry(key.kind.clone()).or_default() += 1;
    }

    fn refusal(&self, key: &ObjectKey) -> Option<kube::Error> {
        self.refusals
            .get(&key.kind)
            .map(|(code, message)| api_error(*code, "Forbidden", message.clone()))
    }
}

/// The fake API server. Clones share their objects.
#[derive(Clone, Default)]
pub struct MemoryCluster {
    state: Arc<Mutex<State>>,
}

impl MemoryCluster {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `obj` as a user's `kubectl apply` would, giving it a uid and resourceVersion.
    pub fn put<K: Resource<DynamicType = ()> + Serialize>(&self, obj: &K) {
        let key = ObjectKey::of::<K>(obj.meta().namespace.as_deref(), &obj.name_any());
        let mut body = serde_json::to_value(obj).unwrap_or_default();
        let mut state = self.state();
        let version = state.next_version();
        let meta = &mut body["metadata"];
        if meta.get("uid").is_none() {
            meta["uid"] = json!(format!("uid-{}", key.name));
        }
        meta["resourceVersion"] = json!(version);
        body["apiVersion"] = json!(K::api_version(&()));
        body["kind"] = json!(K::kind(&()));
        state.objects.insert(address(&key), body);
    }

    /// The stored `K`, if any.
    pub fn object<K: Resource<DynamicType = ()> + DeserializeOwned>(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<K> {
        let key = ObjectKey::of::<K>(namespace, name);
        let value = self.state().objects.get(&address(&key)).cloned()?;
        serde_json::from_value(value).ok()
    }

    /// Removes the `K` as a user's `kubectl delete` would (no finalizers modelled).
    pub fn remove<K: Resource<DynamicType = ()>>(&self, namespace: Option<&str>, name: &str) {
        let key = ObjectKey::of::<K>(namespace, name);
        self.state().objects.remove(&address(&key));
    }

    /// Refuses every create and replace of `kind` with `code` and `message`.
    pub fn refuse_writes(&self, kind: &str, code: u16, message: &str) {
        self.state()
            .refusals
            .insert(kind.to_string(), (code, message.to_string()));
    }

    /// Writes accepted so far (creates, replaces, deletes, status), by kind.
    pub fn writes(&self, kind: &str) -> usize {
        self.state().writes.get(kind).copied().unwrap_or(0)
    }

    pub fn events(&self) -> Vec<Published> {
        self.state().events.clone()
    }
}

impl Cluster for MemoryCluster {
    fn get<'a>(&'a self, key: &'a ObjectKey) -> BoxFuture<'a, Result<Option<Value>, kube::Error>> {
        let found = self.state().objects.get(&address(key)).cloned();
        async move { Ok(found) }.boxed()
    }

    fn list<'a>(&'a self, key: &'a ObjectKey) -> BoxFuture<'a, Result<Vec<Value>, kube::Error>> {
        let (kind, namespace, _) = address(key);
        let items = self
            .state()
            .objects
            .iter()
            .filter(|((k, ns, _), _)| *k == kind && *ns == namespace)
            .map(|(_, v)| v.clone())
            .collect();
        async move { Ok(items) }.boxed()
    }

    fn create<'a>(
        &'a self,
        key: &'a ObjectKey,
        mut body: Value,
        dry_run: bool,
    ) -> BoxFuture<'a, Result<Value, kube::Error>> {
        let mut state = self.state();
        let result = if let Some(refused) = state.refusal(key) {
            Err(refused)
        } else if state.objects.contains_key(&address(key)) {
            Err(api_error(
                409,
                "AlreadyExists",
                format!("{} \"{}\" already exists", key.plural, key.name),
            ))
        } else {
            let version = state.next_version();
            body["metadata"]["uid"] = json!(format!("uid-{}-{version}", key.name));
            body["metadata"]["resourceVersion"] = json!(version);
            if !dry_run {
                state.count_write(key);
                state.objects.insert(address(key), body.clone());
            }
            Ok(body)
        };
        async move { result }.boxed()
    }

    fn replace<'a>(
        &'a self,
        key: &'a ObjectKey,
        mut body: Value,
        dry_run: bool,
    ) -> BoxFuture<'a, Result<Value, kube::Error>> {
        let mut state = self.state();
        let current = state.objects.get(&address(key)).cloned();
        let refused = state.refusal(key);
        let result = match current {
            _ if refused.is_some() => Err(refused.unwrap_or_else(|| not_found(key))),
            None => Err(not_found(key)),
            Some(current)
                if body["metadata"]["resourceVersion"]
                    != current["metadata"]["resourceVersion"] =>
            {
                Err(api_error(
                    409,
                    "Conflict",
                    format!("the object {} has been modified", key.name),
                ))
            }
            Some(current) => {
                let version = state.next_version();
                body["metadata"]["uid"] = current["metadata"]["uid"].clone();
                body["metadata"]["resourceVersion"] = json!(version);
                if !dry_run {
                    state.count_write(key);
                    state.objects.insert(address(key), body.clone());
                }
                Ok(body)
            }
        };
        async move { result }.boxed()
    }

    fn delete<'a>(&'a self, key: &'a ObjectKey) -> BoxFuture<'a, Result<(), kube::Error>> {
        let mut state = self.state();
        let result = match state.objects.remove(&address(key)) {
            Some(_) => {
                state.count_write(key);
                Ok(())
            }
            None => Err(not_found(key)),
        };
        async move { result }.boxed()
    }

    fn patch_metadata<'a>(
        &'a self,
        key: &'a ObjectKey,
        metadata: Value,
    ) -> BoxFuture<'a, Result<Value, kube::Error>> {
        let mut state = self.state();
        let version = state.next_version();
        let result = match state.objects.get_mut(&address(key)) {
            None => Err(not_found(key)),
            Some(object)
                if metadata
                    .get("resourceVersion")
                    .is_some_and(|v| *v != object["metadata"]["resourceVersion"]) =>
            {
                Err(api_error(
                    409,
                    "Conflict",
                    format!("the object {} has been modified", key.name),
                ))
            }
            Some(object) => {
                merge(&mut object["metadata"], &metadata);
                object["metadata"]["resourceVersion"] = json!(version);
                let patched = object.clone();
                state.count_write(key);
                Ok(patched)
            }
        };
        async move { result }.boxed()
    }

    fn apply_status<'a>(
        &'a self,
        key: &'a ObjectKey,
        status: Value,
    ) -> BoxFuture<'a, Result<(), kube::Error>> {
        let mut state = self.state();
        let version = state.next_version();
        let result = match state.objects.get_mut(&address(key)) {
            Some(object) => {
                object["status"] = status;
                object["metadata"]["resourceVersion"] = json!(version);
                state.count_write(key);
                Ok(())
            }
            None => Err(not_found(key)),
        };
        async move { result }.boxed()
    }

    fn publish<'a>(
        &'a self,
        reference: &'a ObjectReference,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), kube::Error>> {
        self.state().events.push(Published {
            object: reference.name.clone().unwrap_or_default(),
            reason: event.reason.clone(),
            note: event.note.clone().unwrap_or_default(),
        });
        async move { Ok(()) }.boxed()
    }
}
