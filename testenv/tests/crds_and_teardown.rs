//! Self-tests of CRD handling and teardown against the real control plane.
//! They fail (never skip) when the binaries are missing: build them with
//! `tests/control-plane/build.sh`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::{
    api::core::v1::{ConfigMap, Namespace},
    apimachinery::pkg::apis::meta::v1::OwnerReference,
};
use kube::{
    Api,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ObjectMeta, PostParams},
};
use testenv::ControlPlane;

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.testenv.example.com
spec:
  group: testenv.example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer, minimum: 1}
"#;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

#[tokio::test]
async fn applied_crds_are_served_validated_and_garbage_collected() {
    let cp = ControlPlane::start()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("widget.yaml"), WIDGET_CRD).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();

    let names = cp.apply_crds(dir.path()).await.unwrap();
    assert_eq!(names, ["widgets.testenv.example.com"]);

    let client = cp.client();
    let namespace = Namespace {
        metadata: meta("widgets"),
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let gvk = GroupVersionKind::gvk("testenv.example.com", "v1", "Widget");
    let widgets: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "widgets", &ApiResource::from_gvk(&gvk));
    let resource = ApiResource::from_gvk(&gvk);

    let mut invalid = DynamicObject::new("tiny", &resource);
    invalid.data = serde_json::json!({ "spec": { "size": 0 } });
    let err = widgets
        .create(&PostParams::default(), &invalid)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 422 && s.message.contains("spec.size")),
        "{err:?}"
    );

    let mut widget = DynamicObject::new("big", &resource);
    widget.data = serde_json::json!({ "spec": { "size": 3 } });
    let widget = widgets
        .create(&PostParams::default(), &widget)
        .await
        .unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client, "widgets");
    let mut owned = ConfigMap {
        metadata: meta("owned-by-widget"),
        ..ConfigMap::default()
    };
    owned.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "testenv.example.com/v1".into(),
        kind: "Widget".into(),
        name: "big".into(),
        uid: widget.metadata.uid.clone().unwrap(),
        ..OwnerReference::default()
    }]);
    maps.create(&PostParams::default(), &owned).await.unwrap();

    widgets
        .delete("big", &DeleteParams::background())
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while maps.get_opt("owned-by-widget").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "garbage collector ignored the Widget owner"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn apply_crds_fails_on_a_directory_without_crds() {
    let cp = ControlPlane::start()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let dir = tempfile::tempdir().unwrap();
    let err = cp.apply_crds(dir.path()).await.unwrap_err();
    assert!(matches!(err, testenv::Error::NoCrds { .. }), "{err}");
}

#[tokio::test]
async fn logs_of_a_panicking_test_are_kept_and_processes_stopped() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let cp = ControlPlane::start()
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        tx.send((
            cp.logs_dir().to_path_buf(),
            cp.scratch_dir().to_path_buf(),
            cp.server_url().to_owned(),
        ))
        .unwrap();
        panic!("simulated test failure");
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    let (logs, scratch, server) = rx.await.unwrap();

    assert!(
        logs.join("kube-apiserver.log").is_file(),
        "logs were not kept"
    );
    assert!(!scratch.exists(), "scratch directory was not removed");
    let port: u16 = server.rsplit(':').next().unwrap().parse().unwrap();
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(connect.is_err(), "kube-apiserver still listens on {port}");
    std::fs::remove_dir_all(&logs).unwrap();
}
