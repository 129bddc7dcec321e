//! The check every end-to-end test ends with: no token in logs, events or status.

use kube::Api;

use super::{Env, ORG_TOKEN, OTHER_TOKEN};

impl Env {
    /// Asserts that no token the simulator knows appears in the operator's log, in any
    /// Event, or in the status of any custom resource.
    pub async fn assert_no_token_leaked(&self) {
        let mut tokens: Vec<String> = vec![ORG_TOKEN.into(), OTHER_TOKEN.into()];
        tokens.extend(
            self.sim
                .control()
                .issued_tokens()
                .iter()
                .map(|t| t.expose().to_string()),
        );
        let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(self.client.clone());
        let core_events: Api<k8s_openapi::api::core::v1::Event> = Api::all(self.client.clone());
        let stacks: Api<grafana_cloud_operator::crd::GrafanaStack> = Api::all(self.client.clone());
        let keys: Api<grafana_cloud_operator::crd::GrafanaCloudApiKey> =
            Api::all(self.client.clone());
        let policies: Api<grafana_cloud_operator::crd::GrafanaCloudAccessPolicy> =
            Api::all(self.client.clone());
        let policy_tokens: Api<grafana_cloud_operator::crd::GrafanaCloudAccessPolicyToken> =
            Api::all(self.client.clone());
        let lp = Default::default();
        let haystacks = [
            ("operator log", self.operator_log()),
            (
                "events",
                serde_json::to_string(&events.list(&lp).await.unwrap().items).unwrap(),
            ),
            (
                "core events",
                serde_json::to_string(&core_events.list(&lp).await.unwrap().items).unwrap(),
            ),
            (
                "GrafanaStacks",
                serde_json::to_string(&stacks.list(&lp).await.unwrap().items).unwrap(),
            ),
            (
                "GrafanaCloudApiKeys",
                serde_json::to_string(&keys.list(&lp).await.unwrap().items).unwrap(),
            ),
            (
                "GrafanaCloudAccessPolicies",
                serde_json::to_string(&policies.list(&lp).await.unwrap().items).unwrap(),
            ),
            (
                "GrafanaCloudAccessPolicyTokens",
                serde_json::to_string(&policy_tokens.list(&lp).await.unwrap().items).unwrap(),
            ),
        ];
        for token in tokens.iter().filter(|t| !t.is_empty()) {
            for (what, text) in &haystacks {
                assert!(
                    !text.contains(token.as_str()),
                    "a token leaked into the {what}"
                );
            }
        }
        assert!(!haystacks[0].1.is_empty(), "the operator logged nothing");
    }
}
