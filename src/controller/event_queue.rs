//! Publishing Kubernetes Events off the reconcile's path, as client-go's event broadcaster
//! does: a reconcile hands its Event to a bounded queue and goes on, and a background task
//! creates the Events, a few at a time. An Event is best effort: a full queue (the API server
//! far behind) drops new ones and counts them, and never slows a reconcile down.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::Event;
use tokio::sync::mpsc;
use tracing::warn;

use super::cluster::Cluster;
use crate::metrics::Metrics;

/// Events that may wait for the API server at once; client-go's broadcaster holds 1,000.
const CAPACITY: usize = 1024;
/// Events created at once.
const PUBLISHERS: usize = 8;

/// The sending side; the background task ends when it is dropped.
pub struct EventQueue {
    tx: mpsc::Sender<(ObjectReference, Event)>,
    metrics: Arc<Metrics>,
}

impl EventQueue {
    /// Starts the task that publishes queued Events through `cluster`.
    pub fn spawn(cluster: Arc<dyn Cluster>, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(CAPACITY);
        tokio::spawn(publish_all(cluster, rx));
        Self { tx, metrics }
    }

    /// Queues `event` about `reference`; a full queue drops it.
    pub fn push(&self, reference: ObjectReference, event: Event) {
        if let Err(err) = self.tx.try_send((reference, event)) {
            self.metrics.events_dropped.inc();
            let (_, event) = err.into_inner();
            warn!(reason = %event.reason, "event queue full; event dropped");
        }
    }
}

async fn publish_all(cluster: Arc<dyn Cluster>, rx: mpsc::Receiver<(ObjectReference, Event)>) {
    let queued = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    queued
        .for_each_concurrent(PUBLISHERS, |(reference, event)| {
            let cluster = cluster.clone();
            async move {
                if let Err(err) = cluster.publish(&reference, &event).await {
                    warn!(error = %err, reason = %event.reason, "failed to publish event");
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::{FutureExt, future::BoxFuture};
    use kube::runtime::events::EventType;
    use serde_json::Value;
    use tokio::sync::Semaphore;

    use super::*;
    use crate::controller::cluster::{ObjectKey, Reply};

    /// A cluster whose event creates wait for permits, and that records what it published.
    struct SlowEvents {
        gate: Semaphore,
        published: std::sync::Mutex<Vec<String>>,
    }

    impl Cluster for SlowEvents {
        fn get<'a>(&'a self, _: &'a ObjectKey) -> Reply<'a, Option<Value>> {
            async { Ok(None) }.boxed()
        }
        fn list<'a>(&'a self, _: &'a ObjectKey) -> Reply<'a, Vec<Value>> {
            async { Ok(Vec::new()) }.boxed()
        }
        fn create<'a>(&'a self, _: &'a ObjectKey, body: Value, _: bool) -> Reply<'a, Value> {
            async { Ok(body) }.boxed()
        }
        fn replace<'a>(&'a self, _: &'a ObjectKey, body: Value, _: bool) -> Reply<'a, Value> {
            async { Ok(body) }.boxed()
        }
        fn delete<'a>(&'a self, _: &'a ObjectKey) -> Reply<'a, ()> {
            async { Ok(()) }.boxed()
        }
        fn patch_metadata<'a>(&'a self, _: &'a ObjectKey, body: Value) -> Reply<'a, Value> {
            async { Ok(body) }.boxed()
        }
        fn apply_status<'a>(&'a self, _: &'a ObjectKey, _: Value) -> Reply<'a, ()> {
            async { Ok(()) }.boxed()
        }
        fn publish<'a>(
            &'a self,
            _: &'a ObjectReference,
            event: &'a Event,
        ) -> BoxFuture<'a, Result<(), kube::Error>> {
            async move {
                let permit = self.gate.acquire().await;
                permit.map(|p| p.forget()).ok();
                if let Ok(mut published) = self.published.lock() {
                    published.push(event.reason.clone());
                }
                Ok(())
            }
            .boxed()
        }
    }

    fn event(reason: &str) -> Event {
        Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: None,
            action: "Create".into(),
            secondary: None,
        }
    }

    #[tokio::test]
    async fn a_push_never_waits_and_a_full_queue_drops_and_counts() {
        let cluster = Arc::new(SlowEvents {
            gate: Semaphore::new(0),
            published: std::sync::Mutex::default(),
        });
        let metrics = Arc::new(Metrics::default());
        let queue = EventQueue::spawn(cluster.clone(), metrics.clone());
        let pushed = CAPACITY + PUBLISHERS + 5;
        let started = std::time::Instant::now();
        for i in 0..pushed {
            queue.push(ObjectReference::default(), event(&format!("E{i}")));
            // Let the publishers take their first Events off the queue.
            tokio::task::yield_now().await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "pushing waited for the API server"
        );
        assert_eq!(
            metrics.events_dropped.get(),
            5,
            "what did not fit was dropped"
        );

        cluster.gate.add_permits(pushed);
        let published = || cluster.published.lock().map(|p| p.len()).unwrap_or(0);
        for _ in 0..200 {
            if published() == pushed - 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(published(), pushed - 5, "every queued Event was published");
    }
}
