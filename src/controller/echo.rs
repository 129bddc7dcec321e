//! The Secrets this process wrote, by the resourceVersion each write returned, so that the
//! watch event of its own write (its echo) does not start another pass of the owner.
//!
//! Without this, every token written to a Secret came back as a watch event that woke its
//! owner at once, before the watch cache held the status the same pass had just written:
//! that pass then wrote the same status again, for about two thirds of the keys in a burst.
//! A Secret someone else changed or deleted has another resourceVersion and still wakes its
//! owner. The echo can arrive on the watch before the write's own answer: while a write is
//! in flight, any event of that Secret is taken as its echo.

use std::{collections::HashMap, sync::Mutex};

use k8s_openapi::api::core::v1::Secret;
use kube::{ResourceExt, core::PartialObjectMeta};

/// More entries than this are never kept: past it the map starts again empty, which only
/// lets a few echoes through.
const MAX_ENTRIES: usize = 200_000;

/// What this process knows of its last write of one Secret.
#[derive(Debug, PartialEq, Eq)]
enum Write {
    /// Sent, not yet answered.
    InFlight,
    /// Answered with this resourceVersion.
    At(String),
}

/// (namespace, name) → this process's last write of that Secret.
#[derive(Debug, Default)]
pub struct OwnWrites {
    written: Mutex<HashMap<(String, String), Write>>,
}

impl OwnWrites {
    /// Records that this process is about to write Secret `namespace/name`.
    pub fn writing(&self, namespace: &str, name: &str) {
        self.set(namespace, name, Write::InFlight);
    }

    fn set(&self, namespace: &str, name: &str, write: Write) {
        let mut written = self.lock();
        let key = (namespace.to_string(), name.to_string());
        if written.len() >= MAX_ENTRIES && !written.contains_key(&key) {
            written.clear();
        }
        written.insert(key, write);
    }

    /// Records that this process wrote Secret `namespace/name`, which is now at
    /// `resource_version`; `None` when the write failed or its answer named no version.
    pub fn wrote(&self, namespace: &str, name: &str, resource_version: Option<String>) {
        match resource_version {
            Some(version) => self.set(namespace, name, Write::At(version)),
            None => {
                self.lock()
                    .remove(&(namespace.to_string(), name.to_string()));
            }
        }
    }

    /// Whether `secret`, as a watch event shows it, is exactly what this process last wrote.
    /// A Secret at any other version is forgotten: it changed since.
    pub fn is_echo(&self, secret: &PartialObjectMeta<Secret>) -> bool {
        let (Some(namespace), Some(version)) = (secret.namespace(), secret.resource_version())
        else {
            return false;
        };
        let key = (namespace, secret.name_any());
        let mut written = self.lock();
        match written.get(&key) {
            Some(Write::InFlight) => true,
            Some(Write::At(ours)) if *ours == version => true,
            Some(_) => {
                written.remove(&key);
                false
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Write>> {
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(namespace: &str, name: &str, version: &str) -> PartialObjectMeta<Secret> {
        let mut meta = PartialObjectMeta::<Secret>::default();
        meta.metadata.namespace = Some(namespace.into());
        meta.metadata.name = Some(name.into());
        meta.metadata.resource_version = Some(version.into());
        meta
    }

    #[test]
    fn only_the_version_this_process_wrote_is_an_echo() {
        let writes = OwnWrites::default();
        writes.wrote("ns", "token", Some("41".into()));
        assert!(writes.is_echo(&seen("ns", "token", "41")));
        assert!(
            writes.is_echo(&seen("ns", "token", "41")),
            "every controller watching Secrets sees the same echo"
        );
        assert!(!writes.is_echo(&seen("ns", "other", "41")));
        assert!(!writes.is_echo(&seen("other", "token", "41")));
    }

    #[test]
    fn a_change_by_someone_else_wakes_the_owner_and_is_forgotten() {
        let writes = OwnWrites::default();
        writes.wrote("ns", "token", Some("41".into()));
        assert!(!writes.is_echo(&seen("ns", "token", "57")));
        assert!(
            !writes.is_echo(&seen("ns", "token", "41")),
            "an old version seen again after a change is not an echo"
        );
    }

    #[test]
    fn an_event_while_the_write_is_in_flight_is_its_echo() {
        let writes = OwnWrites::default();
        writes.writing("ns", "token");
        assert!(
            writes.is_echo(&seen("ns", "token", "41")),
            "the echo came before the answer"
        );
        writes.wrote("ns", "token", Some("41".into()));
        assert!(writes.is_echo(&seen("ns", "token", "41")));
        assert!(!writes.is_echo(&seen("ns", "token", "57")));
        writes.writing("ns", "token");
        writes.wrote("ns", "token", None);
        assert!(
            !writes.is_echo(&seen("ns", "token", "58")),
            "a failed write leaves no echo to wait for"
        );
    }

    #[test]
    fn a_write_without_a_version_is_no_echo() {
        let writes = OwnWrites::default();
        writes.wrote("ns", "token", Some("41".into()));
        writes.wrote("ns", "token", None);
        assert!(!writes.is_echo(&seen("ns", "token", "41")));
    }
}
