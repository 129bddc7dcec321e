//! GrafanaStack end to end: the real operator binary against a real kube-apiserver and the
//! grafana.com simulator (SPEC §3, §5, §7).

#![allow(clippy::unwrap_used)]

mod e2e;

use std::time::Duration;

use e2e::{Env, ORG, ORG_TOKEN, is_ready, ready_of};
use grafana_cloud_operator::crd::{GrafanaStack, OWNER_LABEL};
use grafana_cloud_simulator::Fault;
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

fn stack(name: &str, spec: serde_json::Value) -> GrafanaStack {
    e2e::resource("GrafanaStack", name, spec)
}

fn is(reason: &'static str) -> impl Fn(&GrafanaStack) -> bool {
    move |s| {
        s.status
            .as_ref()
            .and_then(|st| ready_of(&st.conditions))
            .is_some_and(|(_, r)| r == reason)
    }
}

async fn create(api: &Api<GrafanaStack>, obj: &GrafanaStack) {
    api.create(&PostParams::default(), obj).await.unwrap();
}

/// Create → Ready with endpoints and data sources; one create call; steady state makes no
/// further writes; spec drift is corrected; restart fires once per value; data sources are
/// removed on request; Delete removes the remote stack; no token leaks.
#[tokio::test]
async fn stack_lifecycle() {
    let env = Env::start().await;
    let ns = env.namespace("team-a").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    create(
        &api,
        &stack(
            "main",
            json!({"slug": "teamastack", "description": "team A", "labels": {"team": "a"}}),
        ),
    )
    .await;

    let obj = env
        .wait_for(&api, "main", "step 1: the new stack is Ready", is_ready)
        .await;
    let status = obj.status.unwrap();
    assert!(status.managed, "step 1: the stack is managed");
    assert_eq!(status.org_slug.as_deref(), Some(ORG));
    assert_eq!(status.cloud_status.as_deref(), Some("active"));
    assert!(status.url.as_deref().unwrap().contains("teamastack"));
    assert!(status.endpoints.unwrap().prometheus.is_some());
    assert!(!status.datasources.is_empty());
    let remote = env.sim.control().stack("teamastack").unwrap();
    assert_eq!(remote.labels.get(OWNER_LABEL), obj.metadata.uid.as_ref());
    assert_eq!(remote.labels.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        env.sim.control().count("POST", "/api/instances"),
        1,
        "step 1: one create call"
    );

    // Drift: a spec change is pushed through the update endpoint.
    api.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"description": "renamed"}})),
    )
    .await
    .unwrap();
    env.eventually("step 2: a spec change reaches grafana.com", || {
        env.sim.control().stack("teamastack").unwrap().description == "renamed"
    })
    .await;

    // Restart: exactly once per annotation value.
    let annotate = |v: &'static str| json!({"metadata": {"annotations": {"grafanacloud.operator.dev/restart-requested-at": v}}});
    api.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(annotate("first")),
    )
    .await
    .unwrap();
    env.wait_for(&api, "main", "step 3: the restart is recorded", |s| {
        s.status
            .as_ref()
            .and_then(|st| st.last_restart_request.as_deref())
            == Some("first")
    })
    .await;
    // An unrelated change triggers more reconciles; the restart must not repeat.
    let before = env.passes(&ns, "main");
    api.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    env.next_pass("step 3: a pass after a label change", &ns, "main", before)
        .await;
    assert_eq!(
        env.sim.control().stack("teamastack").unwrap().restarts,
        1,
        "step 3: the restart was repeated"
    );
    api.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(annotate("second")),
    )
    .await
    .unwrap();
    env.eventually("step 4: a new annotation value restarts again", || {
        env.sim.control().stack("teamastack").unwrap().restarts == 2
    })
    .await;

    // Data source removal.
    let victim = env.sim.control().stack("teamastack").unwrap().datasources[0]
        .name
        .clone();
    api.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"removeDatasources": [victim]}})),
    )
    .await
    .unwrap();
    env.eventually("step 5: the data source is removed remotely", || {
        env.sim
            .control()
            .stack("teamastack")
            .unwrap()
            .datasources
            .iter()
            .all(|d| d.name != victim)
    })
    .await;
    let obj = env
        .wait_for(
            &api,
            "main",
            "step 5: status without the data source",
            |s| {
                s.status.as_ref().is_some_and(|st| {
                    !st.datasources.is_empty() && st.datasources.iter().all(|d| d.name != victim)
                })
            },
        )
        .await;
    assert!(is_ready(&obj), "step 5: Ready after the removal");

    // Steady state: no more grafana.com writes without a change.
    let writes = |env: &Env| {
        env.sim
            .control()
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    };
    let before = writes(&env);
    let passes = env.passes(&ns, "main");
    api.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "z"}}})),
    )
    .await
    .unwrap();
    env.next_pass("step 6: a pass of the converged stack", &ns, "main", passes)
        .await;
    assert_eq!(
        writes(&env),
        before,
        "step 6: a converged stack caused grafana.com writes"
    );

    // Delete (the default policy) removes the remote stack, then the resource.
    api.delete("main", &DeleteParams::default()).await.unwrap();
    env.eventually_async("step 7: Delete removes the resource", || async {
        api.get_opt("main").await.unwrap().is_none()
    })
    .await;
    assert!(
        env.stack_deleted_remotely("teamastack"),
        "step 7: the remote stack is deleted"
    );
    env.assert_no_token_leaked().await;
}

/// An unlabeled stack with the same slug is never touched until the adopt annotation
/// appears; Retain keeps the remote stack on delete.
#[tokio::test]
async fn adoption_is_explicit_and_retain_keeps_the_stack() {
    let env = Env::start().await;
    let ns = env.namespace("team-b").await;
    // Someone in the same org created the stack by hand.
    let body = json!({"name": "handmade", "slug": "handmade", "description": "by hand"});
    env.by_hand("create a stack by hand", "/instances", body)
        .await;

    let api: Api<GrafanaStack> = env.api(&ns);
    create(
        &api,
        &stack(
            "hand",
            json!({"slug": "handmade", "deletionPolicy": "Retain"}),
        ),
    )
    .await;
    let obj = env
        .wait_for(&api, "hand", "SlugUnavailable", is("SlugUnavailable"))
        .await;
    assert!(!obj.status.unwrap().managed);
    let untouched = |env: &Env| {
        env.sim
            .control()
            .requests()
            .iter()
            .filter(|r| r.method != "GET" && r.path.contains("handmade"))
            .count()
    };
    assert_eq!(untouched(&env), 0, "a foreign stack was modified");
    assert_eq!(
        env.sim.control().count("POST", "/api/instances"),
        1,
        "only the hand-made create"
    );

    api.patch(
        "hand",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"grafanacloud.operator.dev/adopt": "true"}}}),
        ),
    )
    .await
    .unwrap();
    let obj = env
        .wait_for(&api, "hand", "adopted and Ready", is_ready)
        .await;
    assert!(obj.status.unwrap().managed);
    let remote = env.sim.control().stack("handmade").unwrap();
    assert_eq!(
        remote.labels.get(OWNER_LABEL),
        obj.metadata.uid.as_ref(),
        "adoption records ownership"
    );
    assert_eq!(
        remote.name, "handmade.grafana.net",
        "drift corrected to the spec's default name"
    );

    api.delete("hand", &DeleteParams::default()).await.unwrap();
    env.eventually_async("resource gone", || async {
        api.get_opt("hand").await.unwrap().is_none()
    })
    .await;
    assert_eq!(
        env.sim.control().stack("handmade").unwrap().status,
        "active",
        "Retain deletes nothing"
    );
    env.assert_no_token_leaked().await;
}

/// A 5xx after grafana.com committed the create is resolved by reading the stack back;
/// a recently deleted slug is retried after the reservation.
#[tokio::test]
async fn create_failures_recover() {
    let env = Env::start().await;
    let ns = env.namespace("team-c").await;
    let api: Api<GrafanaStack> = env.api(&ns);

    env.sim.control().inject(
        Fault::error_after(500)
            .on("POST", "/api/instances")
            .times(1),
    );
    create(&api, &stack("flaky", json!({"slug": "flakystack"}))).await;
    env.wait_for(&api, "flaky", "Ready after a 5xx on create", is_ready)
        .await;
    assert_eq!(
        env.sim
            .control()
            .stacks()
            .iter()
            .filter(|s| s.slug == "flakystack")
            .count(),
        1
    );
    assert_eq!(
        env.sim.control().count("POST", "/api/instances"),
        1,
        "no second create"
    );

    // Delete and immediately recreate with the same slug: the reservation is waited out.
    api.delete("flaky", &DeleteParams::default()).await.unwrap();
    env.eventually_async("resource gone", || async {
        api.get_opt("flaky").await.unwrap().is_none()
    })
    .await;
    create(&api, &stack("again", json!({"slug": "flakystack"}))).await;
    env.wait_for(
        &api,
        "again",
        "SlugRecentlyDeleted",
        is("SlugRecentlyDeleted"),
    )
    .await;
    env.wait_for(&api, "again", "Ready after the reservation", is_ready)
        .await;
    env.assert_no_token_leaked().await;
}

/// Bad credentials and rate limits: no burst of calls, clear reasons, recovery.
#[tokio::test]
async fn credentials_and_api_errors() {
    let env = Env::start().await;
    let ns = env.namespace("team-d").await;
    let api: Api<GrafanaStack> = env.api(&ns);

    // Missing Secret: CredentialsNotFound, zero grafana.com calls, recovery when it appears.
    create(
        &api,
        &stack(
            "late",
            json!({"slug": "latecreds", "credentials": {"secretName": "not-yet"}}),
        ),
    )
    .await;
    env.wait_for(
        &api,
        "late",
        "CredentialsNotFound",
        is("CredentialsNotFound"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        env.sim.control().requests().is_empty(),
        "calls were made without credentials"
    );
    env.credentials_secret(&ns, "not-yet", ORG_TOKEN, ORG).await;
    env.wait_for(&api, "late", "Ready once the Secret exists", is_ready)
        .await;

    // A wrong token: Unauthorized, and a slow retry rather than a burst.
    env.credentials_secret(&ns, "wrong", "not-a-valid-token", ORG)
        .await;
    create(
        &api,
        &stack(
            "denied",
            json!({"slug": "deniedstack", "credentials": {"secretName": "wrong"}}),
        ),
    )
    .await;
    env.wait_for(&api, "denied", "Unauthorized", is("Unauthorized"))
        .await;
    let unauthorized = || {
        env.sim
            .control()
            .requests()
            .iter()
            .filter(|r| r.status == Some(401))
            .count()
    };
    let first = unauthorized();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(unauthorized() <= first + 1, "a 401 caused a burst of calls");

    // 429 with Retry-After and 5xx on reads are absorbed.
    env.sim.control().inject(
        Fault::rate_limit(1)
            .on("GET", "/api/instances/{slug}")
            .times(2),
    );
    env.sim.control().inject(
        Fault::error_before(503)
            .on("GET", "/api/instances/{slug}/readiness")
            .times(2),
    );
    create(&api, &stack("bumpy", json!({"slug": "bumpystack"}))).await;
    env.wait_for(&api, "bumpy", "Ready despite 429 and 5xx", is_ready)
        .await;
    env.assert_no_token_leaked().await;
}
