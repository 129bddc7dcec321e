//! Publishing Kubernetes Events (`events.k8s.io/v1`) without a cache.
//!
//! kube's `Recorder` keeps every event it published for six minutes, to patch a repeat into
//! a series, and scans that whole cache under one lock on every publish. For this operator
//! that cache was a third of the heap after a burst of 1,100 keys (about 4 KiB per event),
//! and it grows with every resource, while its events hardly ever repeat: they mark
//! changes (a key created, a Secret moved), and a failure is announced only when it is new
//! (see `Context::event_on_new_failure`). Each event is therefore created on its own and
//! nothing is kept.

use k8s_openapi::{
    api::{core::v1::ObjectReference, events::v1::Event as K8sEvent},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::PostParams,
    runtime::events::{Event, EventType, Reporter},
};

/// The longest note kept; the API server refuses notes over 1 KiB.
const MAX_NOTE_BYTES: usize = 1024;

/// Creates one Event per call, as `reporter`.
pub struct Publisher {
    client: Client,
    reporter: Reporter,
}

impl Publisher {
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self { client, reporter }
    }

    /// Publishes `event` about `reference`, in its namespace.
    pub async fn publish(
        &self,
        event: &Event,
        reference: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let namespace = reference.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let body = build(&self.reporter, event, reference, Timestamp::now());
        api.create(&PostParams::default(), &body).await.map(|_| ())
    }
}

/// The Event object for `event` about `reference` at `now`.
fn build(
    reporter: &Reporter,
    event: &Event,
    reference: &ObjectReference,
    now: Timestamp,
) -> K8sEvent {
    let subject = reference.name.as_deref().unwrap_or(&reporter.controller);
    K8sEvent {
        metadata: ObjectMeta {
            name: Some(format!("{subject}.{:x}", now.as_nanosecond())),
            namespace: reference.namespace.clone(),
            ..ObjectMeta::default()
        },
        action: Some(event.action.clone()),
        reason: Some(event.reason.clone()),
        note: event.note.as_deref().map(truncated),
        type_: Some(
            match event.type_ {
                EventType::Normal => "Normal",
                EventType::Warning => "Warning",
            }
            .to_string(),
        ),
        event_time: Some(MicroTime(now)),
        regarding: Some(reference.clone()),
        related: event.secondary.clone(),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(
            reporter
                .instance
                .clone()
                .unwrap_or_else(|| reporter.controller.clone()),
        ),
        ..K8sEvent::default()
    }
}

/// `note` cut to at most [`MAX_NOTE_BYTES`], on a character boundary.
fn truncated(note: &str) -> String {
    let mut end = note.len().min(MAX_NOTE_BYTES);
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    note[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter() -> Reporter {
        Reporter {
            controller: "grafana-cloud-operator".into(),
            instance: None,
        }
    }

    #[test]
    fn an_event_names_its_subject_reporter_and_time() {
        let reference = ObjectReference {
            kind: Some("GrafanaCloudApiKey".into()),
            name: Some("metrics".into()),
            namespace: Some("team-a".into()),
            ..ObjectReference::default()
        };
        let event = Event {
            type_: EventType::Warning,
            reason: "KeyConflict".into(),
            note: Some("taken".into()),
            action: "Create".into(),
            secondary: None,
        };
        let now = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let built = build(&reporter(), &event, &reference, now);
        assert_eq!(
            built.metadata.name.as_deref(),
            Some(format!("metrics.{:x}", now.as_nanosecond()).as_str())
        );
        assert_eq!(built.metadata.namespace.as_deref(), Some("team-a"));
        assert_eq!(built.type_.as_deref(), Some("Warning"));
        assert_eq!(built.regarding, Some(reference));
        assert_eq!(
            built.reporting_instance.as_deref(),
            Some("grafana-cloud-operator")
        );
        assert_eq!(built.event_time, Some(MicroTime(now)));
        assert!(built.series.is_none());
    }

    #[test]
    fn a_long_note_is_cut_on_a_character_boundary() {
        let note = "é".repeat(700);
        let cut = truncated(&note);
        assert!(cut.len() <= MAX_NOTE_BYTES);
        assert!(note.starts_with(&cut));
        assert_eq!(truncated("short"), "short");
    }
}
