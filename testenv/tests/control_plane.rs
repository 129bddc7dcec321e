//! Self-tests of the harness against the real control plane. They fail (never
//! skip) when the binaries are missing: build them with
//! `tests/control-plane/build.sh`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::{
    core::v1::{ConfigMap, Namespace},
    rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject},
};
use kube::{
    Api, Client,
    api::{DeleteParams, ObjectMeta, PostParams},
};
use testenv::ControlPlane;

const WAIT: Duration = Duration::from_secs(90);

async fn start() -> ControlPlane {
    ControlPlane::start()
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

async fn create_namespace(client: &Client, name: &str) {
    let namespace = Namespace {
        metadata: meta(name),
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
}

/// Polls until `get` returns `None` (the object is gone), or panics after `WAIT`.
async fn wait_gone<T, F, Fut>(what: &str, mut get: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = kube::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while get().await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} still exists after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn garbage_collector_deletes_dependents_of_a_deleted_owner() {
    let cp = start().await;
    let client = cp.client();
    create_namespace(&client, "gc").await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "gc");
    let owner = maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: meta("owner"),
                ..ConfigMap::default()
            },
        )
        .await
        .unwrap();
    let mut dependent = ConfigMap {
        metadata: meta("dependent"),
        ..ConfigMap::default()
    };
    dependent.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "owner".into(),
            uid: owner.metadata.uid.clone().unwrap(),
            ..Default::default()
        },
    ]);
    maps.create(&PostParams::default(), &dependent)
        .await
        .unwrap();

    maps.delete("owner", &DeleteParams::background())
        .await
        .unwrap();

    wait_gone("dependent ConfigMap", || maps.get_opt("dependent")).await;
}

#[tokio::test]
async fn namespace_controller_finishes_namespace_deletion() {
    let cp = start().await;
    let client = cp.client();
    create_namespace(&client, "doomed").await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    maps.create(
        &PostParams::default(),
        &ConfigMap {
            metadata: meta("content"),
            ..ConfigMap::default()
        },
    )
    .await
    .unwrap();

    let namespaces: Api<Namespace> = Api::all(client);
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();

    wait_gone("namespace doomed", || namespaces.get_opt("doomed")).await;
}

#[tokio::test]
async fn service_account_is_subject_to_rbac() {
    let cp = start().await;
    let client = cp.client();
    let sa_kubeconfig = cp
        .service_account_kubeconfig("rbac", "reader")
        .await
        .unwrap();
    assert!(sa_kubeconfig.is_file());
    let as_reader = cp.service_account_client("rbac", "reader").await.unwrap();
    let reader_maps: Api<ConfigMap> = Api::namespaced(as_reader, "rbac");

    let err = reader_maps.list(&Default::default()).await.unwrap_err();
    match err {
        kube::Error::Api(status) => assert_eq!(status.code, 403, "{status:?}"),
        other => panic!("expected 403 Forbidden, got {other}"),
    }

    let role = Role {
        metadata: meta("configmap-reader"),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["configmaps".into()]),
            verbs: vec!["get".into(), "list".into()],
            ..PolicyRule::default()
        }]),
    };
    Api::<Role>::namespaced(client.clone(), "rbac")
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding = RoleBinding {
        metadata: meta("reader-reads-configmaps"),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "configmap-reader".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "reader".into(),
            namespace: Some("rbac".into()),
            ..Subject::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(client, "rbac")
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + WAIT;
    while reader_maps.list(&Default::default()).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "RoleBinding never took effect"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let write = reader_maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: meta("nope"),
                ..ConfigMap::default()
            },
        )
        .await;
    assert!(
        matches!(write, Err(kube::Error::Api(ref s)) if s.code == 403),
        "{write:?}"
    );
}

#[tokio::test]
async fn control_planes_run_in_parallel_and_clean_up_after_themselves() {
    let (a, b) = tokio::join!(start(), start());
    assert_ne!(a.server_url(), b.server_url());
    assert_ne!(a.kubeconfig_path(), b.kubeconfig_path());
    create_namespace(&a.client(), "only-in-a").await;
    let in_b = Api::<Namespace>::all(b.client())
        .get_opt("only-in-a")
        .await
        .unwrap();
    assert!(in_b.is_none(), "control planes share state");

    let scratch = a.scratch_dir().to_path_buf();
    let logs = a.logs_dir().to_path_buf();
    assert!(logs.join("kube-apiserver.log").is_file());
    assert!(logs.join("etcd.log").is_file());
    assert!(logs.join("kube-controller-manager.log").is_file());
    drop(a);
    assert!(!scratch.exists(), "{} was not removed", scratch.display());
    if std::env::var_os(testenv::KEEP_LOGS_ENV).is_none() {
        assert!(!logs.exists(), "{} was not removed", logs.display());
    }
    Api::<Namespace>::all(b.client())
        .list(&Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn api_server_reports_the_pinned_version() {
    let cp = start().await;
    let info = cp.client().apiserver_version().await.unwrap();
    assert_eq!(info.git_version, testenv::kubernetes_version());
    let kubeconfig = std::fs::read_to_string(cp.kubeconfig_path()).unwrap();
    assert!(kubeconfig.contains(cp.server_url()), "{kubeconfig}");
}
