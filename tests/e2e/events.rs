//! Kubernetes Events the operator published. They are created off the reconciles' path, so a
//! check of one waits for it.

use k8s_openapi::api::events::v1::Event;
use kube::{Api, api::ListParams};

use super::Env;

impl Env {
    /// The Events in `ns` with `reason`.
    pub async fn events_with_reason(&self, ns: &str, reason: &str) -> Vec<Event> {
        let api: Api<Event> = self.api(ns);
        api.list(&ListParams::default())
            .await
            .expect("list Events")
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .collect()
    }

    /// Waits until `ns` holds an Event with `reason`, of `type_` (`Normal` or `Warning`)
    /// when given.
    pub async fn wait_for_event(&self, what: &str, ns: &str, reason: &str, type_: Option<&str>) {
        self.eventually_async(what, || async {
            self.events_with_reason(ns, reason)
                .await
                .iter()
                .any(|e| type_.is_none_or(|t| e.type_.as_deref() == Some(t)))
        })
        .await;
    }
}
