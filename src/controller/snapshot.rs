//! Org-wide snapshots for steady state: one list call per organisation per resync interval
//! feeds every converged resource of that organisation, instead of one GET per resource.
//!
//! A snapshot is single-flight (concurrent reconciles of one organisation wait for the same
//! list call) and is dropped whenever the operator itself changes that organisation.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

type Slot<T> = Arc<tokio::sync::Mutex<Option<(Instant, Arc<T>)>>>;

/// How many keys a cache holds before a new key first drops the expired ones: keys are
/// organisations, but also namespaces, which come and go.
const PRUNE_AT: usize = 1024;

/// Drops the slots whose snapshot is older than `max_age` or missing, unless a fetch holds
/// them.
fn prune<T>(slots: &mut HashMap<String, Slot<T>>, max_age: Duration) {
    slots.retain(|_, slot| {
        slot.try_lock().map_or(true, |held| {
            held.as_ref().is_some_and(|(at, _)| at.elapsed() < max_age)
        })
    });
}

/// Cached list results, keyed by organisation slug.
pub struct SnapshotCache<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

impl<T> Default for SnapshotCache<T> {
    fn default() -> Self {
        Self {
            slots: Mutex::default(),
        }
    }
}

impl<T> SnapshotCache<T> {
    /// The snapshot of `org`, fetched with `fetch` when missing or older than `max_age`.
    /// A snapshot's age counts from when its fetch started: nothing that happened before
    /// then is missing from it.
    pub async fn get<E, Fut>(
        &self,
        org: &str,
        max_age: Duration,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Arc<T>, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        self.fetched_when(org, max_age, |fetched| fetched.elapsed() < max_age, fetch)
            .await
    }

    /// The snapshot of `org` fetched no earlier than `since`: a fresh list for a decision
    /// that stale data must not make, shared by every caller who asked before it started and
    /// kept for the callers of [`Self::get`].
    pub async fn fresh<E, Fut>(
        &self,
        org: &str,
        since: Instant,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Arc<T>, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        self.fetched_when(org, since.elapsed(), |fetched| fetched >= since, fetch)
            .await
    }

    /// The snapshot of `org` if its fetch started at a time `recent_enough` accepts, or a
    /// new one. `max_age` is how old a snapshot may be to survive a prune.
    async fn fetched_when<E, Fut>(
        &self,
        org: &str,
        max_age: Duration,
        recent_enough: impl Fn(Instant) -> bool,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Arc<T>, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if slots.len() >= PRUNE_AT && !slots.contains_key(org) {
                prune(&mut slots, max_age);
            }
            slots.entry(org.to_string()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        if let Some((fetched, value)) = cached.as_ref()
            && recent_enough(*fetched)
        {
            return Ok(value.clone());
        }
        let started = Instant::now();
        let value = Arc::new(fetch().await?);
        *cached = Some((started, value.clone()));
        Ok(value)
    }

    /// Drops the snapshot of `org`, after the operator changed something there.
    pub fn invalidate(&self, org: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.remove(org);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn one_fetch_serves_every_caller_until_it_is_too_old() {
        let cache = SnapshotCache::<u32>::default();
        let fetches = AtomicU32::new(0);
        let fetch = || async { Ok::<_, ()>(fetches.fetch_add(1, Ordering::SeqCst) + 1) };
        let long = Duration::from_secs(60);
        assert_eq!(*cache.get("acme", long, fetch).await.unwrap_or_default(), 1);
        assert_eq!(*cache.get("acme", long, fetch).await.unwrap_or_default(), 1);
        assert_eq!(
            *cache.get("other", long, fetch).await.unwrap_or_default(),
            2,
            "orgs are separate"
        );
        assert_eq!(
            *cache
                .get("acme", Duration::ZERO, fetch)
                .await
                .unwrap_or_default(),
            3,
            "expired"
        );
        cache.invalidate("acme");
        assert_eq!(
            *cache.get("acme", long, fetch).await.unwrap_or_default(),
            4,
            "invalidated"
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(SnapshotCache::<u32>::default());
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get("acme", Duration::from_secs(60), || async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(fetches.fetch_add(1, Ordering::SeqCst))
                    })
                    .await
            }));
        }
        for task in tasks {
            assert!(task.await.is_ok_and(|r| r.is_ok()));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expired_keys_are_dropped_once_the_cache_is_full() {
        let cache = SnapshotCache::<u32>::default();
        let fetch = || async { Ok::<_, ()>(1) };
        let minute = Duration::from_secs(60);
        for i in 0..PRUNE_AT {
            let _ = cache.get(&format!("ns-{i}"), minute, fetch).await;
        }
        let len = || cache.slots.lock().map(|s| s.len()).unwrap_or_default();
        let _ = cache.get("young", minute, fetch).await;
        assert_eq!(len(), PRUNE_AT + 1, "snapshots younger than a minute stay");
        let _ = cache.get("fresh", Duration::ZERO, fetch).await;
        assert_eq!(len(), 1, "every expired key went, the new one stayed");
    }

    #[tokio::test]
    async fn a_fresh_list_is_shared_by_who_asked_before_it_and_kept_for_later_callers() {
        let cache = SnapshotCache::<u32>::default();
        let fetches = AtomicU32::new(0);
        let fetch = || async { Ok::<_, ()>(fetches.fetch_add(1, Ordering::SeqCst) + 1) };
        let long = Duration::from_secs(60);
        assert_eq!(*cache.get("acme", long, fetch).await.unwrap_or_default(), 1);
        let asked = Instant::now();
        assert_eq!(
            *cache.fresh("acme", asked, fetch).await.unwrap_or_default(),
            2,
            "the snapshot in hand predates the question"
        );
        assert_eq!(
            *cache.fresh("acme", asked, fetch).await.unwrap_or_default(),
            2,
            "a list started after the question answers it"
        );
        assert_eq!(
            *cache.get("acme", long, fetch).await.unwrap_or_default(),
            2,
            "the fresh list serves the snapshot's callers"
        );
        assert_eq!(
            *cache
                .fresh("acme", Instant::now(), fetch)
                .await
                .unwrap_or_default(),
            3,
            "a later question needs a later list"
        );
    }

    #[tokio::test]
    async fn a_failed_fetch_is_not_cached() {
        let cache = SnapshotCache::<u32>::default();
        let failed: Result<Arc<u32>, &str> = cache
            .get("acme", Duration::from_secs(60), || async { Err("boom") })
            .await;
        assert!(failed.is_err());
        let ok: Result<Arc<u32>, &str> = cache
            .get("acme", Duration::from_secs(60), || async { Ok(7) })
            .await;
        assert_eq!(ok.ok().as_deref(), Some(&7));
    }
}
