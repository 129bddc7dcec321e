//! Fencing: whether this replica may still change anything. With leader election, a replica
//! may act only until the end of the lease it last saw itself holding; after that (renewals
//! failing, the process paused, another replica holding the lease) every write is refused
//! locally, before it leaves the process, so two replicas never act at once.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// The end of the time this replica may act. Cheap to clone; clones share one deadline.
#[derive(Clone)]
pub struct Fence {
    origin: Instant,
    /// Milliseconds after `origin` until which writes are allowed; `u64::MAX` for ever.
    open_until_ms: Arc<AtomicU64>,
}

impl Fence {
    /// A fence that never closes: a single replica without leader election.
    pub fn always_open() -> Self {
        Self {
            origin: Instant::now(),
            open_until_ms: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }

    /// A fence that stays closed until [`Fence::open_until`] opens it.
    pub fn closed() -> Self {
        Self {
            origin: Instant::now(),
            open_until_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Allows writes until `deadline`, later or earlier than before.
    pub fn open_until(&self, deadline: Instant) {
        let ms = deadline.saturating_duration_since(self.origin).as_millis();
        self.open_until_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX - 1), Ordering::SeqCst);
    }

    /// Refuses writes from now on, until opened again.
    pub fn close(&self) {
        self.open_until_ms.store(0, Ordering::SeqCst);
    }

    /// Whether a write may be sent now.
    pub fn is_open(&self) -> bool {
        self.remaining().is_some()
    }

    /// How long writes stay allowed; `None` once closed. `Duration::MAX` for ever.
    pub fn remaining(&self) -> Option<Duration> {
        let until = self.open_until_ms.load(Ordering::SeqCst);
        if until == u64::MAX {
            return Some(Duration::MAX);
        }
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        (now < until).then(|| Duration::from_millis(until - now))
    }
}

impl fmt::Debug for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fence")
            .field("remaining", &self.remaining())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_always_open_fence_never_closes_by_time() {
        let fence = Fence::always_open();
        assert!(fence.is_open());
        assert_eq!(fence.remaining(), Some(Duration::MAX));
    }

    #[test]
    fn a_fence_opens_until_its_deadline_and_closes_after() {
        let fence = Fence::closed();
        assert!(!fence.is_open(), "a new fence starts closed");
        fence.open_until(Instant::now() + Duration::from_secs(60));
        assert!(fence.is_open());
        let clone = fence.clone();
        clone.open_until(Instant::now());
        assert!(
            !fence.is_open(),
            "clones share the deadline, and it has passed"
        );
        fence.open_until(Instant::now() + Duration::from_secs(60));
        fence.close();
        assert!(!clone.is_open());
    }

    #[test]
    fn a_deadline_before_the_fence_existed_is_closed() {
        let fence = Fence::closed();
        if let Some(past) = Instant::now().checked_sub(Duration::from_secs(1)) {
            fence.open_until(past);
        }
        assert!(!fence.is_open());
    }
}
