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
//!
//! One namespace's burst must not fill kube's admission either: another namespace's single
//! resource would then wait for chance to pick it out of the whole backlog. So each
//! namespace with reconciles inside the gate (waiting or working) has an equal share of the
//! admission, with one share always left over for a namespace yet to come, and never less
//! than `limit`. A reconcile beyond its namespace's share is [`Deferred`]: it goes back to
//! kube's queue at once, freeing its admission for others, and comes back about when its
//! namespace has room.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

/// Reconciles kube admits per slot: enough that every namespace of a burst has some waiting
/// for their turn, few enough that a backlog costs no memory.
pub const ADMITTED_PER_SLOT: u16 = 4;

/// Deferred reconciles come back this many times as fast as their namespace finishes them:
/// one back too early is deferred again at little cost; one back too late leaves its
/// namespace's turn unused.
const COMEBACK_SPEEDUP: u32 = 2;

/// Bounds of a deferral.
const MIN_DEFERRAL: Duration = Duration::from_millis(100);
const MAX_DEFERRAL: Duration = Duration::from_secs(30);

/// Time between two reconciles of a namespace finishing, before it has finished two.
const FIRST_INTERVAL_ESTIMATE: Duration = Duration::from_millis(20);

/// The gate of one controller.
pub struct FairGate {
    limit: usize,
    /// Reconciles kube admits: `limit` × [`ADMITTED_PER_SLOT`].
    admitted: usize,
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
    /// Namespaces with reconciles inside the gate, or deferred.
    shares: HashMap<String, Share>,
    /// Namespaces with reconciles inside the gate.
    active: usize,
}

/// One namespace's reconciles inside the gate.
struct Share {
    /// Waiting or working.
    inside: usize,
    /// Time between two of its reconciles finishing, as a moving average.
    interval: Duration,
    last_finish: Option<Instant>,
    /// When its deferred reconciles are due back, soonest first.
    due: BinaryHeap<Reverse<Instant>>,
}

/// A reconcile that may not enter now: requeue it after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferred(pub Duration);

/// One reconcile's slot; dropping it gives its place back and hands the slot to the next
/// waiter.
pub struct Slot {
    /// `None` for a gate without limit, and for a slot its waiter gave up before taking.
    gate: Option<Arc<FairGate>>,
    namespace: String,
}

/// A reconcile waiting for its slot. Dropped before it has one, it gives its place back.
struct Waiter {
    gate: Arc<FairGate>,
    namespace: String,
    rx: oneshot::Receiver<Slot>,
    /// It has its answer: from here the slot, or `enter`, accounts for its place.
    done: bool,
}

enum Entry {
    Now,
    Wait(oneshot::Receiver<Slot>),
    Later(Duration),
}

impl FairGate {
    /// A gate that lets `limit` reconciles through at once; 0 means no limit.
    pub fn new(limit: u16) -> Arc<Self> {
        Arc::new(Self {
            limit: usize::from(limit),
            admitted: usize::from(limit.saturating_mul(ADMITTED_PER_SLOT)),
            state: Mutex::new(State::default()),
        })
    }

    /// How many reconciles kube should admit at once; 0 means no limit.
    pub fn admitted(&self) -> u16 {
        u16::try_from(self.admitted).unwrap_or(u16::MAX)
    }

    /// Waits for a slot for a resource of `namespace`, or defers it when its namespace
    /// already has its share of the gate.
    pub async fn enter(self: &Arc<Self>, namespace: &str) -> Result<Slot, Deferred> {
        if self.limit == 0 {
            return Ok(Slot {
                gate: None,
                namespace: String::new(),
            });
        }
        // Nothing that locks is built or dropped while the lock is held.
        let entry = self.try_enter(namespace);
        let rx = match entry {
            Entry::Now => return Ok(self.slot(namespace)),
            Entry::Later(after) => return Err(Deferred(after)),
            Entry::Wait(rx) => rx,
        };
        let mut waiter = Waiter {
            gate: self.clone(),
            namespace: namespace.to_string(),
            rx,
            done: false,
        };
        let received = (&mut waiter.rx).await;
        waiter.done = true;
        match received {
            Ok(slot) => Ok(slot),
            // Only a release drops a sender, and only after sending: not reached, but should
            // it be, queue again rather than run without a slot.
            Err(_) => {
                self.give_up(namespace);
                Box::pin(self.enter(namespace)).await
            }
        }
    }

    fn try_enter(&self, namespace: &str) -> Entry {
        let mut state = self.lock();
        let now = Instant::now();
        let others = state.active;
        let share = state
            .shares
            .entry(namespace.to_string())
            .or_insert_with(|| Share {
                inside: 0,
                interval: FIRST_INTERVAL_ESTIMATE,
                last_finish: None,
                due: BinaryHeap::new(),
            });
        let others = others.saturating_sub(usize::from(share.inside > 0));
        // An equal share of kube's admission for this namespace, the others inside, and one
        // left for a namespace to come; never less than every slot, so that a namespace alone
        // goes as fast as it would without the others.
        let fair_share = (self.admitted / others.saturating_add(2)).max(self.limit);
        if share.inside >= fair_share {
            while share.due.peek().is_some_and(|Reverse(due)| *due <= now) {
                share.due.pop();
            }
            // Back after those deferred before it, at twice the pace the namespace finishes.
            let ahead = u32::try_from(share.due.len()).unwrap_or(u32::MAX);
            let after = (share.interval / COMEBACK_SPEEDUP)
                .saturating_mul(ahead.saturating_add(1))
                .clamp(MIN_DEFERRAL, MAX_DEFERRAL);
            share
                .due
                .push(Reverse(now.checked_add(after).unwrap_or(now)));
            return Entry::Later(after);
        }
        share.inside += 1;
        if share.inside == 1 {
            state.active += 1;
        }
        if state.busy < self.limit && state.turns.is_empty() {
            state.busy += 1;
            return Entry::Now;
        }
        let (tx, rx) = oneshot::channel();
        let State { waiting, turns, .. } = &mut *state;
        let queue = waiting.entry(namespace.to_string()).or_default();
        if queue.is_empty() {
            turns.push_back(namespace.to_string());
        }
        queue.push_back(tx);
        Entry::Wait(rx)
    }

    fn slot(self: &Arc<Self>, namespace: &str) -> Slot {
        Slot {
            gate: Some(self.clone()),
            namespace: namespace.to_string(),
        }
    }

    /// Reconciles waiting now, across namespaces.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().waiting.values().map(VecDeque::len).sum()
    }

    /// A reconcile of `namespace` leaves the gate without a slot.
    fn give_up(&self, namespace: &str) {
        self.lock().leave(namespace, false);
    }

    /// The holder of a slot of `namespace` is done: its place is free,
    /// and the slot goes to the next namespace's oldest live waiter, or is freed.
    fn release(self: &Arc<Self>, namespace: &str) {
        let mut state = self.lock();
        state.leave(namespace, true);
        while let Some(namespace) = state.turns.pop_front() {
            let Some(queue) = state.waiting.get_mut(&namespace) else {
                continue;
            };
            let next = queue.pop_front();
            if queue.is_empty() {
                state.waiting.remove(&namespace);
            } else {
                state.turns.push_back(namespace.clone());
            }
            let Some(tx) = next else { continue };
            match tx.send(self.slot(&namespace)) {
                Ok(()) => return,
                // That waiter is gone (its reconcile was dropped) and gave its place back:
                // disarm, try the next.
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

impl State {
    /// One reconcile of `namespace` leaves the gate: it finished its work, or gave up
    /// waiting.
    fn leave(&mut self, namespace: &str, finished: bool) {
        let Some(share) = self.shares.get_mut(namespace) else {
            return;
        };
        let now = Instant::now();
        if finished {
            if let Some(last) = share.last_finish {
                let since = now.saturating_duration_since(last).min(MAX_DEFERRAL);
                share.interval = (share.interval.saturating_mul(7).saturating_add(since)) / 8;
            }
            share.last_finish = Some(now);
        }
        share.inside = share.inside.saturating_sub(1);
        if share.inside == 0 {
            self.active = self.active.saturating_sub(1);
            if share.due.peek().is_none_or(|Reverse(due)| *due <= now) {
                self.shares.remove(namespace);
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.release(&self.namespace);
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.rx.close();
        match self.rx.try_recv() {
            // Its slot came as it gave up: the slot goes on as any other.
            Ok(slot) => drop(slot),
            Err(_) => self.gate.give_up(&self.namespace),
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
        let first = gate.enter("a").await.unwrap();
        let _second = gate.enter("b").await.unwrap();
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
        let gate = FairGate::new(3);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(gate.enter("busy").await.unwrap());
        }
        let mut releases = Vec::new();
        for (namespace, name) in [("a", "a1"), ("a", "a2"), ("b", "b1"), ("c", "c1")] {
            let (_, release) = waiter(&gate, namespace, name, &order);
            releases.push(release);
            settle().await;
        }
        assert_eq!(gate.waiting(), 4, "not every reconcile queued");
        drop(held);
        for release in releases {
            settle().await;
            let _ = release.send(());
        }
        settle().await;
        assert_eq!(
            *order.lock().unwrap(),
            ["a1", "b1", "c1", "a2"],
            "the slot did not go round the namespaces, oldest first"
        );
    }

    #[tokio::test]
    async fn a_waiter_that_gave_up_costs_no_slot() {
        let gate = FairGate::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = gate.enter("a").await.unwrap();
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
        let entered = futures::future::join_all((0..100).map(|_| gate.enter("a"))).await;
        assert!(
            entered.iter().all(Result::is_ok),
            "a reconcile was deferred"
        );
        assert_eq!(gate.waiting(), 0);
    }

    #[tokio::test]
    async fn a_namespace_beyond_its_share_is_deferred_and_others_still_queue() {
        let gate = FairGate::new(1);
        let _held = gate.enter("busy").await.unwrap();
        let mut queued = Box::pin(gate.enter("busy"));
        assert!(
            poll!(queued.as_mut()).is_pending(),
            "the second did not queue"
        );
        let deferrals: Vec<Duration> = (0..20)
            .map(|_| match gate.enter("busy").now_or_never() {
                Some(Err(Deferred(after))) => after,
                _ => panic!("a reconcile beyond its namespace's share was not deferred"),
            })
            .collect();
        assert!(
            deferrals[0] >= MIN_DEFERRAL
                && deferrals.windows(2).all(|w| w[0] <= w[1])
                && deferrals[0] < deferrals[19],
            "deferrals should come back one after another: {deferrals:?}"
        );
        assert!(deferrals.iter().all(|after| *after <= MAX_DEFERRAL));
        let mut calm = Box::pin(gate.enter("calm"));
        assert!(
            poll!(calm.as_mut()).is_pending(),
            "another namespace was deferred, or skipped the queue"
        );
        assert_eq!(gate.waiting(), 2);
    }

    #[tokio::test]
    async fn a_waiter_that_gave_up_gives_its_place_back() {
        let gate = FairGate::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = gate.enter("busy").await.unwrap();
        let (gone, _keep) = waiter(&gate, "busy", "gone", &order);
        settle().await;
        gone.abort();
        settle().await;
        let mut next = Box::pin(gate.enter("busy"));
        assert!(
            matches!(poll!(next.as_mut()), std::task::Poll::Pending),
            "the namespace's share still counted the waiter that gave up"
        );
        drop(held);
        let std::task::Poll::Ready(Ok(slot)) = poll!(next.as_mut()) else {
            panic!("the freed slot did not go to the namespace's next waiter");
        };
        assert_eq!(
            gate.lock().shares["busy"].inside,
            1,
            "only the slot's holder is inside"
        );
        drop(slot);
        assert!(
            gate.lock().shares.is_empty(),
            "the namespace stayed after it left"
        );
    }

    #[tokio::test]
    async fn the_gate_forgets_a_namespace_once_it_has_left() {
        let gate = FairGate::new(2);
        let first = gate.enter("a").await.unwrap();
        let second = gate.enter("a").await.unwrap();
        drop((first, second));
        assert!(gate.lock().shares.is_empty(), "an empty namespace stayed");
    }
}
