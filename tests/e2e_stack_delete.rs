//! Deleting a GrafanaStack that grafana.com refuses to delete: the resource says why, keeps
//! retrying slowly, and switching to Retain releases it (SPEC §3.6, §7.3). Delete protection
//! alone does not block a delete (the operator lifts it), so grafana.com refuses with a 409
//! after the lift here.

#![allow(clippy::unwrap_used)]

mod e2e;

use e2e::{CREDENTIALS, Env, ready_of};
use grafana_cloud_operator::crd::GrafanaStack;
use grafana_cloud_simulator::Fault;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn a_refused_delete_blocks_with_a_reason_until_retain() {
    let env = Env::start().await;
    let ns = env.namespace("protected").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    let obj: GrafanaStack = serde_json::from_value(json!({
        "apiVersion": "grafanacloud.operator.dev/v1alpha1",
        "kind": "GrafanaStack",
        "metadata": {"name": "guarded"},
        "spec": {"slug": "guarded", "credentials": {"secretName": CREDENTIALS}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    env.wait_for(&api, "guarded", "Ready", |s| {
        s.status
            .as_ref()
            .and_then(|st| ready_of(&st.conditions))
            .is_some_and(|(st, _)| st == "True")
    })
    .await;

    // grafana.com refuses every delete of the stack with a 409.
    env.sim
        .control()
        .inject(Fault::error_before(409).on("DELETE", "/api/instances/{slug}"));

    api.delete("guarded", &DeleteParams::default())
        .await
        .unwrap();
    let blocked = env
        .wait_for(&api, "guarded", "DeleteBlocked", |s| {
            s.status
                .as_ref()
                .and_then(|st| ready_of(&st.conditions))
                .is_some_and(|(_, r)| r == "DeleteBlocked")
        })
        .await;
    let message = &blocked.status.unwrap().conditions[0].message;
    assert!(
        message.contains("deletionPolicy: Retain"),
        "the condition says how to unblock: {message}"
    );
    env.wait_for_event(
        "a DeleteBlocked warning event",
        &ns,
        "DeleteBlocked",
        Some("Warning"),
    )
    .await;

    // Slow retries, not a burst.
    let deletes = || env.sim.control().count("DELETE", "/api/instances/{slug}");
    let first = deletes();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        deletes() <= first + 1,
        "a refused delete was retried in a burst"
    );

    // Retain releases the resource and leaves the stack.
    api.patch(
        "guarded",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"deletionPolicy": "Retain"}})),
    )
    .await
    .unwrap();
    env.eventually_async("resource released", || async {
        api.get_opt("guarded").await.unwrap().is_none()
    })
    .await;
    let left = env.sim.control().stack("guarded").unwrap();
    assert_eq!(left.status, "active");
    assert!(
        !left.delete_protection,
        "protection was lifted for the delete"
    );
    env.assert_no_token_leaked().await;
}
