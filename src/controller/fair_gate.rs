//! Fair turns across namespaces: at most `limit` reconciles of a kind do their work at once,
//! and when one finishes, its slot goes to the next namespace in turn, each namespace's own
//! resources in the order they asked.
//!
//! kube's controller runs up to its concurrency and parks the rest in a hash set, which it
//! drains in hash order: under a backlog, which resource goes next is chance. In a burst over
//! many organisations some then fall behind the others for good, since each has its own
//! grafana.com budget that later seconds cannot stretch, and the slowest sets the end. So
//! kube admits a few times as many reconciles as may work, and each waits here first, before
//! it reads or writes anything.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::oneshot;

/// The gate of one controller.
pub struct FairGate {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Slots held by reconciles doing their work.
    busy: usize,
    /// Waiters of each namespace, oldest first.
    waiting: HashMap<String, VecDeque<oneshot::Sender<Slot>>>,
    /// Namespaces with waiters, in the order their turns come.
    turns: VecDeque<String>,
}

/// One reconcile's slot; dropping it hands the slot to the next waiter.
pub struct Slot {
    gate: Option<Arc<FairGate>>,
}

impl FairGate {
    /// A gate that lets `limit` reconciles through at once; 0 means no limit.
    pub fn new(limit: u16) -> Arc<Self> {
        Arc::new(Self {
            limit: usize::from(limit),
            state: Mutex::new(State::default()),
        })
    }

    /// Waits for a slot for a resource of `namespace`.
    pub async fn enter(self: &Arc<Self>, namespace: &str) -> Slot {
        let rx = {
            let mut state = self.lock();
            if self.limit == 0 || (state.busy < self.limit && state.turns.is_empty()) {
                state.busy += 1;
                return Slot {
                    gate: Some(self.clone()),
                };
            }
            let (tx, rx) = oneshot::channel();
            let State { waiting, turns, .. } = &mut *state;
            let queue = waiting.entry(namespace.to_string()).or_default();
            if queue.is_empty() {
                turns.push_back(namespace.to_string());
            }
            queue.push_back(tx);
            rx
        };
        match rx.await {
            Ok(slot) => slot,
            // Only a release drops a sender, and only after sending: not reached, but should
            // it be, queue again rather than run without a slot.
            Err(_) => Box::pin(self.enter(namespace)).await,
        }
    }

    /// Reconciles waiting now, across namespaces.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().waiting.values().map(VecDeque::len).sum()
    }

    /// Gives a freed slot to the next namespace's oldest live waiter, or frees it.
    fn release(self: &Arc<Self>) {
        let mut state = self.lock();
        while let Some(namespace) = state.turns.pop_front() {
            let Some(queue) = state.waiting.get_mut(&namespace) else {
                continue;
            };
            let next = queue.pop_front();
            if queue.is_empty() {
                state.waiting.remove(&namespace);
            } else {
                state.turns.push_back(namespace);
            }
            let Some(tx) = next else { continue };
            let slot = Slot {
                gate: Some(self.clone()),
            };
            match tx.send(slot) {
                Ok(()) => return,
                // That waiter is gone (its reconcile was dropped): disarm, try the next.
                Err(mut slot) => slot.gate = None,
            }
        }
        state.busy = state.busy.saturating_sub(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent across a panic: every change is one statement.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::{FutureExt, poll};

    use super::*;

    /// Starts a reconcile of `namespace` named `name` that records when it gets its slot
    /// and holds the slot until `release` fires.
    fn waiter(
        gate: &Arc<FairGate>,
        namespace: &'static str,
        name: &'static str,
        order: &Arc<Mutex<Vec<&'static str>>>,
    ) -> (tokio::task::JoinHandle<()>, oneshot::Sender<()>) {
        let (release, released) = oneshot::channel::<()>();
        let (gate, order) = (gate.clone(), order.clone());
        let task = tokio::spawn(async move {
            let _slot = gate.enter(namespace).await;
            order.lock().unwrap().push(name);
            let _ = released.await;
        });
        (task, release)
    }

    /// Lets every spawned task run until it waits.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn no_more_than_the_limit_work_at_once() {
        let gate = FairGate::new(2);
        let first = gate.enter("a").await;
        let _second = gate.enter("b").await;
        let mut third = Box::pin(gate.enter("c"));
        assert!(
            poll!(third.as_mut()).is_pending(),
            "a third reconcile got a slot while both were held"
        );
        drop(first);
        assert!(
            poll!(third.as_mut()).is_ready(),
            "a freed slot did not go to the waiting reconcile"
        );
    }

    #[tokio::test]
    async fn freed_slots_go_to_namespaces_in_turn_and_each_namespace_in_order() {
        let gate = FairGate::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = gate.enter("busy").await;
        let mut releases = Vec::new();
        for (namespace, name) in [
            ("a", "a1"),
            ("a", "a2"),
            ("a", "a3"),
            ("b", "b1"),
            ("c", "c1"),
        ] {
            let (_, release) = waiter(&gate, namespace, name, &order);
            releases.push(release);
            settle().await;
        }
        assert_eq!(gate.waiting(), 5, "not every reconcile queued");
        drop(held);
        for release in releases {
            settle().await;
            let _ = release.send(());
        }
        settle().await;
        assert_eq!(
            *order.lock().unwrap(),
            ["a1", "b1", "c1", "a2", "a3"],
            "the slot did not go round the namespaces, oldest first"
        );
    }

    #[tokio::test]
    async fn a_waiter_that_gave_up_costs_no_slot() {
        let gate = FairGate::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = gate.enter("a").await;
        let (gone, _keep) = waiter(&gate, "a", "gone", &order);
        settle().await;
        gone.abort();
        settle().await;
        let (_, release) = waiter(&gate, "b", "next", &order);
        settle().await;
        drop(held);
        settle().await;
        assert_eq!(
            *order.lock().unwrap(),
            ["next"],
            "the slot went to a dropped waiter"
        );
        drop(release);
        settle().await;
        assert!(
            gate.enter("c").now_or_never().is_some(),
            "the slot was not free again after the last holder let go"
        );
    }

    #[tokio::test]
    async fn a_limit_of_zero_admits_everyone() {
        let gate = FairGate::new(0);
        let slots: Vec<Slot> = futures::future::join_all((0..100).map(|_| gate.enter("a"))).await;
        assert_eq!(slots.len(), 100);
        assert_eq!(gate.waiting(), 0);
    }
}
