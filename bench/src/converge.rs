//! Seeing convergence as it happens: watches of the stacks, the keys and the Secrets the
//! operator writes, started before a phase, so that the moment the last resource is Ready
//! with its token in its Secret is the moment the watch delivers it. Polling lists instead
//! was accurate only to its interval, and each look listed every resource on the 2 cores the
//! operator shares.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use grafana_cloud_operator::crd::{
    GrafanaCloudApiKey, GrafanaStack, MANAGED_BY_LABEL, MANAGED_BY_VALUE,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{WatchStreamExt, watcher},
};
use tokio::sync::watch;

use crate::{BoxError, wait::ready, workload::Item};

/// `(stack?, namespace, name)`: one resource of the benchmark.
type ItemKey = (bool, String, String);

/// What one watch event says about one object.
#[derive(Debug)]
enum Seen {
    /// A resource, with its uid while it exists and is Ready.
    Resource {
        key: ItemKey,
        ready_uid: Option<String>,
    },
    /// A key's Secret, with the uid of the resource that owns it while it holds a token.
    Secret {
        ns: String,
        name: String,
        owner_with_token: Option<String>,
    },
    /// A watch starts over: what it said before no longer holds.
    Restart(&'static str),
}

/// The convergence state: which items are done, and when the set last changed.
#[derive(Debug, Default)]
struct State {
    ready: HashMap<ItemKey, String>,
    tokens: HashMap<(String, String), String>,
}

impl State {
    fn apply(&mut self, seen: Seen) {
        match seen {
            Seen::Resource { key, ready_uid } => match ready_uid {
                Some(uid) => {
                    self.ready.insert(key, uid);
                }
                None => {
                    self.ready.remove(&key);
                }
            },
            Seen::Secret {
                ns,
                name,
                owner_with_token,
            } => match owner_with_token {
                Some(uid) => {
                    self.tokens.insert((ns, name), uid);
                }
                None => {
                    self.tokens.remove(&(ns, name));
                }
            },
            Seen::Restart("secrets") => self.tokens.clear(),
            Seen::Restart(kind) => {
                let stack = kind == "stacks";
                self.ready.retain(|(is_stack, ..), _| *is_stack != stack);
            }
        }
    }

    /// Whether `item` is Ready and, for a key, its Secret holds a token and belongs to it.
    fn done(&self, item: &Item) -> bool {
        let key = (item.stack, item.ns.clone(), item.name.clone());
        match self.ready.get(&key) {
            None => false,
            Some(_) if item.stack => true,
            Some(uid) => self.tokens.get(&(key.1, key.2)) == Some(uid),
        }
    }

    fn pending(&self, items: &[Item]) -> usize {
        items.iter().filter(|i| !self.done(i)).count()
    }
}

/// Watches running in the background; each change publishes the state and its time.
pub struct Convergence {
    rx: watch::Receiver<(u64, Instant)>,
    state: std::sync::Arc<std::sync::Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Convergence {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Convergence {
    /// Starts the watches and returns once each has listed what exists.
    pub async fn start(client: &Client) -> Result<Self, BoxError> {
        let managed = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}");
        let config = watcher::Config::default();
        let stacks = events(
            Api::<GrafanaStack>::all(client.clone()),
            config.clone(),
            "stacks",
            |s: GrafanaStack| Seen::Resource {
                key: item_key(true, &s),
                ready_uid: s
                    .status
                    .as_ref()
                    .filter(|st| ready(&st.conditions))
                    .and(s.uid()),
            },
        );
        let keys = events(
            Api::<GrafanaCloudApiKey>::all(client.clone()),
            config.clone(),
            "keys",
            |k: GrafanaCloudApiKey| Seen::Resource {
                key: item_key(false, &k),
                ready_uid: k
                    .status
                    .as_ref()
                    .filter(|st| ready(&st.conditions))
                    .and(k.uid()),
            },
        );
        let secrets = events(
            Api::<Secret>::all(client.clone()),
            config.labels(&managed),
            "secrets",
            |s: Secret| Seen::Secret {
                ns: s.namespace().unwrap_or_default(),
                name: s.name_any(),
                owner_with_token: token_owner(&s),
            },
        );
        let mut changes = futures::stream::select_all([stacks, keys, secrets]);
        let state = std::sync::Arc::new(std::sync::Mutex::new(State::default()));
        // Each watch says when its first list is in: three of those, then the clock may run.
        let mut listed = 0;
        while listed < 3 {
            match tokio::time::timeout(Duration::from_secs(60), changes.next()).await {
                Ok(Some(Ok(Change::Listed))) => listed += 1,
                Ok(Some(Ok(Change::Seen(seen)))) => lock(&state).apply(seen),
                Ok(Some(Err(err))) => return Err(err.into()),
                Ok(None) | Err(_) => return Err("the convergence watches did not list".into()),
            }
        }
        let (tx, rx) = watch::channel((0, Instant::now()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut version = 0;
            while let Some(change) = changes.next().await {
                // A watch error is retried by the watcher's backoff; it changes nothing.
                if let Ok(Change::Seen(seen)) = change {
                    lock(&shared).apply(seen);
                    version += 1;
                    let _ = tx.send((version, Instant::now()));
                }
            }
        });
        Ok(Self { rx, state, task })
    }

    /// Waits until every item is done; returns the time from `since` to the event that
    /// completed the set. Fails after `timeout`, saying how many are still pending.
    pub async fn converged(
        &mut self,
        items: &[Item],
        since: Instant,
        timeout: Duration,
    ) -> Result<Duration, BoxError> {
        self.until(since, timeout, |state| state.pending(items) == 0)
            .await
            .map_err(|()| {
                let left = lock(&self.state).pending(items);
                format!("not converged after {}s: {left} pending", timeout.as_secs()).into()
            })
    }

    /// Waits until the watches show none of `items` Ready any more (after a delete).
    pub async fn gone(
        &mut self,
        items: &[Item],
        since: Instant,
        timeout: Duration,
    ) -> Result<Duration, BoxError> {
        self.until(since, timeout, |state| items.iter().all(|i| !state.done(i)))
            .await
            .map_err(|()| "the watches still show deleted resources".into())
    }

    async fn until(
        &mut self,
        since: Instant,
        timeout: Duration,
        holds: impl Fn(&State) -> bool,
    ) -> Result<Duration, ()> {
        let deadline = tokio::time::Instant::from_std(since + timeout);
        loop {
            let at = self.rx.borrow_and_update().1;
            if holds(&lock(&self.state)) {
                return Ok(at.max(since) - since);
            }
            match tokio::time::timeout_at(deadline, self.rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Err(()),
            }
        }
    }
}

fn lock(state: &std::sync::Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn item_key<K: Resource>(stack: bool, obj: &K) -> ItemKey {
    (stack, obj.namespace().unwrap_or_default(), obj.name_any())
}

/// The uid of the Secret's controller owner, when the Secret holds a non-empty `token`.
fn token_owner(secret: &Secret) -> Option<String> {
    let has_token = secret
        .data
        .as_ref()
        .and_then(|d| d.get("token"))
        .is_some_and(|t| !t.0.is_empty());
    let owner = secret
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true))?;
    has_token.then(|| owner.uid.clone())
}

enum Change {
    Seen(Seen),
    /// A watch finished its first list.
    Listed,
}

/// The watch of `api` as changes: objects as `seen` says, deletions as absent, restarts.
fn events<K>(
    api: Api<K>,
    config: watcher::Config,
    kind: &'static str,
    seen: fn(K) -> Seen,
) -> BoxStream<'static, Result<Change, watcher::Error>>
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    K::DynamicType: Default,
{
    let mut first_list = true;
    watcher(api, config)
        .default_backoff()
        .try_filter_map(move |event| {
            let change = match event {
                watcher::Event::Init => Some(Change::Seen(Seen::Restart(kind))),
                watcher::Event::InitApply(obj) | watcher::Event::Apply(obj) => {
                    Some(Change::Seen(seen(obj)))
                }
                watcher::Event::Delete(obj) => Some(Change::Seen(absent(seen(obj)))),
                watcher::Event::InitDone => {
                    std::mem::replace(&mut first_list, false).then_some(Change::Listed)
                }
            };
            futures::future::ready(Ok(change))
        })
        .boxed()
}

/// What a deleted object says: that nothing of it holds any more.
fn absent(seen: Seen) -> Seen {
    match seen {
        Seen::Resource { key, .. } => Seen::Resource {
            key,
            ready_uid: None,
        },
        Seen::Secret { ns, name, .. } => Seen::Secret {
            ns,
            name,
            owner_with_token: None,
        },
        restart => restart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(stack: bool, name: &str) -> Item {
        Item {
            stack,
            ns: "bench-org0".into(),
            name: name.into(),
        }
    }

    fn resource(stack: bool, name: &str, uid: Option<&str>) -> Seen {
        Seen::Resource {
            key: (stack, "bench-org0".into(), name.into()),
            ready_uid: uid.map(str::to_string),
        }
    }

    fn secret(name: &str, owner: Option<&str>) -> Seen {
        Seen::Secret {
            ns: "bench-org0".into(),
            name: name.into(),
            owner_with_token: owner.map(str::to_string),
        }
    }

    #[test]
    fn a_key_is_done_when_ready_and_its_own_secret_holds_a_token() {
        let items = [item(false, "key-0"), item(true, "stack-0")];
        let mut state = State::default();
        state.apply(resource(true, "stack-0", Some("s1")));
        state.apply(resource(false, "key-0", Some("k1")));
        assert_eq!(state.pending(&items), 1, "the key's Secret is missing");
        state.apply(secret("key-0", Some("k0")));
        assert_eq!(
            state.pending(&items),
            1,
            "a Secret of an earlier key does not count"
        );
        state.apply(secret("key-0", Some("k1")));
        assert_eq!(state.pending(&items), 0);
        state.apply(absent(resource(false, "key-0", Some("k1"))));
        assert_eq!(state.pending(&items), 1, "a deleted key is pending again");
    }

    #[test]
    fn a_restarted_watch_forgets_what_it_said() {
        let items = [item(true, "stack-0")];
        let mut state = State::default();
        state.apply(resource(true, "stack-0", Some("s1")));
        state.apply(Seen::Restart("keys"));
        assert_eq!(
            state.pending(&items),
            0,
            "the key watch's restart keeps stacks"
        );
        state.apply(Seen::Restart("stacks"));
        assert_eq!(state.pending(&items), 1);
    }
}
