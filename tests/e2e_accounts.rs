//! Stack service accounts and their tokens end to end: the real operator binary against a
//! real kube-apiserver and the grafana.com simulator.

#![allow(clippy::unwrap_used)]

mod e2e;

use std::time::Duration;

use e2e::{Env, ORG_TOKEN, data, has_reason, is_ready};
use grafana_cloud_operator::{
    crd::{GrafanaStack, GrafanaStackServiceAccount, GrafanaStackServiceAccountToken},
    grafana::{ClientOptions, GrafanaClient, Token},
};
use grafana_cloud_simulator::Fault;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api,
    api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams},
};
use serde_json::json;

const ACCOUNTS: &str = "/api/instances/{slug}/api/serviceaccounts";
const TOKENS: &str = "/api/instances/{slug}/api/serviceaccounts/{id}/tokens";

fn account(name: &str, spec: serde_json::Value) -> GrafanaStackServiceAccount {
    e2e::resource("GrafanaStackServiceAccount", name, spec)
}

fn token(name: &str, spec: serde_json::Value) -> GrafanaStackServiceAccountToken {
    e2e::resource("GrafanaStackServiceAccountToken", name, spec)
}

/// The keys of the stack's service account tokens that still work.
fn live_keys(env: &Env, slug: &str) -> Vec<String> {
    env.sim
        .control()
        .service_accounts(slug)
        .iter()
        .flat_map(|a| a.tokens.iter())
        .filter(|t| !t.expired)
        .map(|t| t.key.expose().to_string())
        .collect()
}

/// A Ready stack `main` (with `deletion_policy`) and a Ready account `ci` on it.
async fn stack_and_account(
    env: &Env,
    ns: &str,
    deletion_policy: &str,
) -> (String, Api<GrafanaStackServiceAccount>) {
    let slug = format!("{ns}main").replace('-', "");
    let stacks: Api<GrafanaStack> = env.api(ns);
    let stack: GrafanaStack = e2e::resource(
        "GrafanaStack",
        "main",
        json!({"slug": slug, "deletionPolicy": deletion_policy}),
    );
    stacks.create(&PostParams::default(), &stack).await.unwrap();
    env.wait_for(&stacks, "main", "step 1: the stack is Ready", is_ready)
        .await;
    let accounts: Api<GrafanaStackServiceAccount> = env.api(ns);
    accounts
        .create(
            &PostParams::default(),
            &account("ci", json!({"stackRef": "main", "role": "Editor"})),
        )
        .await
        .unwrap();
    env.wait_for(&accounts, "ci", "step 1: the account is Ready", is_ready)
        .await;
    (slug, accounts)
}

/// Create, steady state, rotation with an overlap, and delete with Delete.
#[tokio::test]
async fn an_account_token_reaches_its_secret_rotates_and_goes_away_with_delete() {
    let env = Env::start().await;
    let ns = env.namespace("sa").await;
    let (slug, accounts) = stack_and_account(&env, &ns, "Delete").await;
    let tokens: Api<GrafanaStackServiceAccountToken> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    tokens
        .create(
            &PostParams::default(),
            &token("deploy", json!({"serviceAccountRef": "ci"})),
        )
        .await
        .unwrap();
    env.wait_for(&tokens, "deploy", "step 2: the token is Ready", is_ready)
        .await;
    let secret = secrets.get("deploy").await.unwrap();
    let live = live_keys(&env, &slug);
    assert_eq!(live.len(), 1, "step 2: exactly one token");
    assert_eq!(data(&secret, "token").as_deref(), Some(live[0].as_str()));
    let stack_url = env
        .api::<GrafanaStack>(&ns)
        .get("main")
        .await
        .unwrap()
        .status
        .unwrap()
        .url;
    assert_eq!(data(&secret, "url"), stack_url, "step 2: the stack's url");
    let account_id = env.sim.control().service_accounts(&slug)[0].id;
    assert_eq!(
        data(&secret, "serviceAccountId"),
        Some(account_id.to_string()),
        "step 2: the account's id"
    );

    // Steady state: a pass of each makes no grafana.com write and no Secret write.
    let writes = || {
        env.sim
            .control()
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    };
    let (before, account_passes, token_passes) =
        (writes(), env.passes(&ns, "ci"), env.passes(&ns, "deploy"));
    let poke = Patch::Merge(json!({"metadata": {"labels": {"poke": "1"}}}));
    accounts
        .patch("ci", &PatchParams::default(), &poke)
        .await
        .unwrap();
    tokens
        .patch("deploy", &PatchParams::default(), &poke)
        .await
        .unwrap();
    env.next_pass("step 3: a pass of the account", &ns, "ci", account_passes)
        .await;
    env.next_pass("step 3: a pass of the token", &ns, "deploy", token_passes)
        .await;
    assert_eq!(
        writes(),
        before,
        "step 3: steady state wrote to grafana.com"
    );
    let unchanged = secrets.get("deploy").await.unwrap();
    assert_eq!(
        unchanged.metadata.resource_version, secret.metadata.resource_version,
        "step 3: steady state rewrote the Secret"
    );

    // Update in place: a new template key reaches the Secret with the same token; the
    // account's role cannot change (the grafana.com proxy refuses it).
    tokens
        .patch(
            "deploy",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"secretTemplate": {"data": {"GRAFANA_URL": "{{ stack.url }}"}}}}),
            ),
        )
        .await
        .unwrap();
    env.eventually_async("step 3: the template reaches the Secret", || async {
        data(&secrets.get("deploy").await.unwrap(), "GRAFANA_URL") == stack_url
    })
    .await;
    assert_eq!(
        data(&secrets.get("deploy").await.unwrap(), "token").as_deref(),
        Some(live[0].as_str()),
        "step 3: the template change kept the token"
    );
    let refused = accounts
        .patch(
            "ci",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"role": "Admin"}})),
        )
        .await
        .expect_err("step 3: a role change is refused");
    assert!(
        refused.to_string().contains("role is immutable"),
        "step 3: the refusal says why: {refused}"
    );

    // Rotation: the Secret switches before the old token dies, which lives its overlap.
    tokens
        .create(
            &PostParams::default(),
            &token(
                "short",
                json!({"serviceAccountRef": "ci", "secondsToLive": 60,
                       "rotation": {"renewBefore": "30s", "keepPrevious": "5s"}}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(&tokens, "short", "step 4: the token is Ready", is_ready)
        .await;
    let first = data(&secrets.get("short").await.unwrap(), "token").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(75);
    let mut second = None;
    while tokio::time::Instant::now() < deadline {
        let held = data(&secrets.get("short").await.unwrap(), "token").unwrap();
        assert!(
            live_keys(&env, &slug).contains(&held),
            "step 4: the Secret held a token that no longer works"
        );
        if held != first {
            second = Some(held);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let second = second.expect("step 4: the Secret switched to a new token within 75s");
    assert!(
        live_keys(&env, &slug).contains(&first),
        "step 4: the old token works during its overlap"
    );
    env.eventually("step 4: the old token is deleted after its overlap", || {
        !live_keys(&env, &slug).contains(&first)
    })
    .await;
    assert!(live_keys(&env, &slug).contains(&second));

    // The account's delete waits for its tokens, then everything goes.
    accounts
        .delete("ci", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_for(
        &accounts,
        "ci",
        "step 5: the account's delete waits for its tokens",
        has_reason("Deleting"),
    )
    .await;
    assert_eq!(env.sim.control().service_accounts(&slug).len(), 1);
    for name in ["deploy", "short"] {
        tokens.delete(name, &DeleteParams::default()).await.unwrap();
    }
    env.eventually_async("step 5: every resource is gone", || async {
        accounts.get_opt("ci").await.unwrap().is_none()
            && tokens
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .is_empty()
    })
    .await;
    assert!(
        env.sim.control().service_accounts(&slug).is_empty(),
        "step 5: Delete removes the account\noperator log tail:\n{}",
        e2e::tail(&env.operator_log(), 30)
    );
    env.assert_no_token_leaked().await;
}

/// A lost create answer, a same-named account made by hand, a foreign Secret, Retain, and
/// namespace deletion (with the stack retained, so that what is left there shows).
#[tokio::test]
async fn lost_answers_foreign_objects_retain_and_namespace_deletion() {
    let env = Env::start().await;
    let ns = env.namespace("sa-edges").await;
    let (slug, accounts) = stack_and_account(&env, &ns, "Retain").await;
    let tokens: Api<GrafanaStackServiceAccountToken> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);

    // The create commits but its answer is lost: one live token, and it is in the Secret.
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", TOKENS).times(1));
    tokens
        .create(
            &PostParams::default(),
            &token("lossy", json!({"serviceAccountRef": "ci"})),
        )
        .await
        .unwrap();
    env.wait_for(
        &tokens,
        "lossy",
        "step 2: Ready after the lost answer",
        is_ready,
    )
    .await;
    let held = data(&secrets.get("lossy").await.unwrap(), "token").unwrap();
    assert_eq!(
        live_keys(&env, &slug),
        [held],
        "step 2: exactly one live token, in the Secret"
    );

    // An account create commits but answers 500: it is found again, not made twice.
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", ACCOUNTS).times(1));
    accounts
        .create(
            &PostParams::default(),
            &account("lossy", json!({"stackRef": "main", "role": "Viewer"})),
        )
        .await
        .unwrap();
    env.wait_for(
        &accounts,
        "lossy",
        "step 3: the account is Ready after the lost answer",
        is_ready,
    )
    .await;
    let named = env
        .sim
        .control()
        .service_accounts(&slug)
        .into_iter()
        .filter(|a| a.name == format!("{ns}-lossy"))
        .count();
    assert_eq!(named, 1, "step 3: exactly one account");

    // A same-named account made by hand is never touched.
    let grafana = GrafanaClient::new(
        env.sim.base_url().parse().unwrap(),
        ClientOptions::default(),
    )
    .unwrap();
    grafana
        .create_service_account(&Token::new(ORG_TOKEN), &slug, "by-hand", "Viewer", false)
        .await
        .unwrap();
    accounts
        .create(
            &PostParams::default(),
            &account(
                "squatter",
                json!({"stackRef": "main", "role": "Admin", "name": "by-hand"}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(
        &accounts,
        "squatter",
        "step 3: NameConflict",
        has_reason("NameConflict"),
    )
    .await;
    accounts
        .delete("squatter", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 3: the conflicting resource is gone", || async {
        accounts.get_opt("squatter").await.unwrap().is_none()
    })
    .await;
    let by_hand: Vec<_> = env
        .sim
        .control()
        .service_accounts(&slug)
        .into_iter()
        .filter(|a| a.name == "by-hand")
        .collect();
    assert_eq!(
        by_hand.len(),
        1,
        "step 3: the hand-made account was deleted"
    );
    assert_eq!(by_hand[0].role, "Viewer", "step 3: it was changed");

    // A Secret that is not ours is never touched.
    let foreign = Secret {
        metadata: ObjectMeta {
            name: Some("taken".into()),
            ..ObjectMeta::default()
        },
        data: Some([("token".to_string(), ByteString(b"mine".to_vec()))].into()),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    tokens
        .create(
            &PostParams::default(),
            &token(
                "taker",
                json!({"serviceAccountRef": "ci", "secretName": "taken"}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(
        &tokens,
        "taker",
        "step 4: SecretConflict",
        has_reason("SecretConflict"),
    )
    .await;
    assert_eq!(live_keys(&env, &slug).len(), 1, "step 4: no token for it");
    let after = secrets.get("taken").await.unwrap();
    assert_eq!(data(&after, "token").as_deref(), Some("mine"));

    // Retain keeps the token when its resource goes.
    tokens
        .create(
            &PostParams::default(),
            &token(
                "kept",
                json!({"serviceAccountRef": "ci", "deletionPolicy": "Retain"}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(&tokens, "kept", "step 5: the kept token is Ready", is_ready)
        .await;
    tokens
        .delete("kept", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 5: the kept token's resource is gone", || async {
        tokens.get_opt("kept").await.unwrap().is_none()
    })
    .await;
    assert_eq!(
        live_keys(&env, &slug).len(),
        2,
        "step 5: Retain kept the token"
    );

    // Deleting the namespace deletes the account this resource made, with its tokens; the
    // retained stack shows that only the hand-made account is left.
    env.delete_namespace(&ns).await;
    let left: Vec<String> = env
        .sim
        .control()
        .service_accounts(&slug)
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(
        left,
        ["by-hand"],
        "step 6: the namespace's account is deleted remotely"
    );
    env.assert_no_token_leaked().await;
}
