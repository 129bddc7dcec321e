#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

#[test]
fn stack_reads_the_documented_fields_and_ignores_the_rest() {
    let stack: Stack = serde_json::from_value(json!({
        "id": 123.0,
        "slug": "acme",
        "name": "acme.grafana.net",
        "description": null,
        "url": "https://acme.grafana.net",
        "status": "active",
        "orgId": "7",
        "orgSlug": "acme-org",
        "regionSlug": "prod-eu-west-0",
        "labels": {"team": "a"},
        "hmInstancePromUrl": "https://prometheus.example",
        "hmInstancePromId": 42,
        "hlInstanceUrl": "https://logs.example",
        "hlInstanceId": 43,
        "hpInstanceUrl": "",
        "hpInstanceId": 0,
        "hmInstancePromCurrentActiveSeries": null,
        "somethingNew": {"nested": true}
    }))
    .unwrap();
    assert_eq!(stack.id, 123);
    assert_eq!(stack.org_id, Some(7));
    assert_eq!(stack.labels.get("team").map(String::as_str), Some("a"));
    assert!(!stack.is_deleted());
    let endpoints = stack.endpoints();
    assert_eq!(
        endpoints.prometheus,
        Some(Endpoint {
            url: "https://prometheus.example".to_owned(),
            id: Some(42)
        })
    );
    assert_eq!(endpoints.loki.map(|e| e.id), Some(Some(43)));
    assert_eq!(endpoints.profiles, None, "an empty url means no endpoint");
    assert_eq!(endpoints.tempo, None);
}

#[test]
fn stack_tolerates_nulls_and_missing_fields() {
    let stack: Stack = serde_json::from_value(
        json!({"id": 1, "slug": "x", "labels": null, "name": null, "status": "deleted"}),
    )
    .unwrap();
    assert!(stack.labels.is_empty());
    assert!(stack.name.is_empty());
    assert!(stack.is_deleted());
}

#[test]
fn create_stack_sends_only_what_is_set_and_always_leaves_protection_off() {
    let body = serde_json::to_value(CreateStack {
        name: "acme.grafana.net".to_owned(),
        slug: "acme".to_owned(),
        region: Some("eu".to_owned()),
        ..CreateStack::default()
    })
    .unwrap();
    assert_eq!(
        body,
        json!({"name": "acme.grafana.net", "slug": "acme", "region": "eu", "deleteProtection": false})
    );
}

#[test]
fn update_stack_uses_camel_case_and_skips_unset_fields() {
    let update = UpdateStack {
        description: Some(String::new()),
        labels: Some([("k".to_owned(), "v".to_owned())].into()),
        ..UpdateStack::default()
    };
    assert!(!update.is_empty());
    assert!(UpdateStack::default().is_empty());
    assert_eq!(
        serde_json::to_value(update).unwrap(),
        json!({"description": "", "labels": {"k": "v"}})
    );
}

#[test]
fn org_key_ids_may_be_numbers_or_strings() {
    let keys: Vec<OrgApiKey> = serde_json::from_value(json!([
        {"id": 5, "name": "a", "role": "Admin"},
        {"id": "abc", "name": "b", "role": "Viewer", "token": "must-be-ignored"}
    ]))
    .unwrap();
    assert_eq!(keys[0].id, "5");
    assert_eq!(keys[1].id, "abc");
    assert!(!format!("{keys:?}").contains("must-be-ignored"));
}

#[test]
fn created_keys_wrap_the_secret() {
    let org: CreatedOrgApiKey = serde_json::from_value(
        json!({"id": 9, "name": "ci", "role": "Editor", "token": "glc_secret"}),
    )
    .unwrap();
    assert_eq!(org.token.expose(), "glc_secret");
    let stack: CreatedStackApiKey =
        serde_json::from_value(json!({"id": 1, "name": "grafana", "key": "glsa_secret"})).unwrap();
    assert_eq!(stack.token.expose(), "glsa_secret");
    for out in [
        format!("{org:?}"),
        org.to_string(),
        format!("{stack:?}"),
        stack.to_string(),
    ] {
        assert!(!out.contains("secret"), "{out}");
    }
}

#[test]
fn roles_round_trip() {
    for role in [
        ApiKeyRole::Viewer,
        ApiKeyRole::Editor,
        ApiKeyRole::Admin,
        ApiKeyRole::MetricsPublisher,
    ] {
        assert_eq!(role.as_str().parse::<ApiKeyRole>(), Ok(role));
        assert_eq!(serde_json::to_value(role).unwrap(), json!(role.as_str()));
    }
    assert!("admin".parse::<ApiKeyRole>().is_err());
}

#[test]
fn stack_key_body_omits_missing_ttl() {
    let body = CreateStackApiKeyBody {
        name: "k",
        role: ApiKeyRole::Viewer,
        seconds_to_live: None,
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"name": "k", "role": "Viewer"})
    );
    let body = CreateStackApiKeyBody {
        seconds_to_live: Some(60),
        ..body
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap()["secondsToLive"],
        json!(60)
    );
}

#[test]
fn page_envelope_defaults() {
    let page: Page<Datasource> = serde_json::from_value(json!({"items": null})).unwrap();
    assert!(page.items.is_empty());
    let page: Page<Datasource> = serde_json::from_value(json!({
        "items": [{"id": 1, "name": "grafanacloud-acme-prom", "type": "prometheus", "basicAuthPassword": "x"}],
        "page": 1, "pages": 2, "nextCursor": null
    }))
    .unwrap();
    assert_eq!(page.items[0].kind, "prometheus");
    assert_eq!(
        (page.page, page.pages, page.next_cursor),
        (Some(1), Some(2), None)
    );
}
