//! JSON bodies in the shapes of the grafana.com OpenAPI spec.

use axum::body::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::model::{OrgKey, Stack, StackKey};

/// A service that comes with every stack (metrics, logs, traces, ...).
pub(crate) struct Component {
    /// Field prefix in the stack object, e.g. `hmInstanceProm`.
    pub prefix: &'static str,
    pub name_suffix: &'static str,
    pub host: &'static str,
    pub id_base: u64,
    /// Whether the stack object carries `...CurrentUsage`/`...BillingUsage`.
    pub usage: bool,
    /// The provisioned data source type, if one is provisioned.
    pub datasource_type: Option<&'static str>,
}

impl Component {
    pub fn id(&self, stack_id: u64) -> u64 {
        self.id_base + stack_id
    }

    pub fn url(&self, region: &str) -> String {
        format!("https://{}-prod-{region}.grafana.net", self.host)
    }
}

pub(crate) const COMPONENTS: [Component; 7] = [
    Component {
        prefix: "hmInstanceProm",
        name_suffix: "prom",
        host: "prometheus",
        id_base: 1_000_000,
        usage: true,
        datasource_type: Some("prometheus"),
    },
    Component {
        prefix: "hlInstance",
        name_suffix: "logs",
        host: "logs",
        id_base: 2_000_000,
        usage: true,
        datasource_type: Some("loki"),
    },
    Component {
        prefix: "htInstance",
        name_suffix: "traces",
        host: "tempo",
        id_base: 3_000_000,
        usage: true,
        datasource_type: Some("tempo"),
    },
    Component {
        prefix: "amInstance",
        name_suffix: "alert",
        host: "alertmanager",
        id_base: 4_000_000,
        usage: false,
        datasource_type: Some("alertmanager"),
    },
    Component {
        prefix: "hmInstanceGraphite",
        name_suffix: "graphite",
        host: "graphite",
        id_base: 5_000_000,
        usage: true,
        datasource_type: Some("graphite"),
    },
    Component {
        prefix: "hpInstance",
        name_suffix: "profiles",
        host: "profiles",
        id_base: 6_000_000,
        usage: true,
        datasource_type: Some("grafana-pyroscope-datasource"),
    },
    Component {
        prefix: "agentManagementInstance",
        name_suffix: "fleet-management",
        host: "fleet-management",
        id_base: 7_000_000,
        usage: false,
        datasource_type: None,
    },
];

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn opt_timestamp(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// A stack's `FormattedApiInstance` JSON, cached until the stack changes.
pub(crate) fn stack_bytes(stack: &Stack) -> Bytes {
    stack
        .rendered
        .get_or_init(|| Bytes::from(serde_json::to_vec(&self::stack(stack)).unwrap_or_default()))
        .clone()
}

/// A list of stacks in the list envelope, from the cached stack JSON.
pub(crate) fn stack_list<'a>(stacks: impl IntoIterator<Item = &'a Stack>) -> Bytes {
    let mut out = b"{\"items\":[".to_vec();
    let mut total = 0usize;
    for stack in stacks {
        if total > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&stack_bytes(stack));
        total += 1;
    }
    out.extend_from_slice(b"],");
    let rest = envelope_fields(total).to_string();
    out.extend_from_slice(rest.trim_start_matches('{').as_bytes());
    Bytes::from(out)
}

/// A stack as `FormattedApiInstance`.
pub(crate) fn stack(stack: &Stack) -> Value {
    let region = stack.region.as_str();
    let cluster = format!("prod-{region}");
    let component_status = if stack.is_deleted() {
        "deleted"
    } else {
        "active"
    };
    let created = timestamp(stack.created_at);
    let mut m = Map::new();
    for c in &COMPONENTS {
        let p = c.prefix;
        m.insert(format!("{p}Id"), json!(c.id(stack.id)));
        m.insert(
            format!("{p}Name"),
            json!(format!("{}-{}", stack.slug, c.name_suffix)),
        );
        m.insert(format!("{p}Status"), json!(component_status));
        m.insert(format!("{p}Url"), json!(c.url(region)));
        m.insert(format!("{p}ClusterId"), json!(c.id_base / 1_000_000 + 10));
        if c.usage {
            m.insert(format!("{p}CurrentUsage"), json!(0));
            m.insert(format!("{p}BillingUsage"), json!(0));
        }
    }
    m.insert("hmInstancePromCurrentActiveSeries".into(), json!(0));
    m.insert("hmInstanceGraphiteType".into(), json!("graphite-v5"));
    m.insert(
        "amInstanceGeneratorUrl".into(),
        json!(format!("{}/alerting", stack.url)),
    );
    m.insert(
        "amInstanceGeneratorUrlDatasource".into(),
        json!(format!("{}/explore", stack.url)),
    );
    let counters = [
        "alertCnt",
        "billingActiveUsers",
        "billingGrafanaActiveUsers",
        "billingOnCallActiveUsers",
        "currentActiveUsers",
        "currentActiveAdminUsers",
        "currentActiveEditorUsers",
        "currentActiveViewerUsers",
        "dailyUserCnt",
        "dailyAdminCnt",
        "dailyEditorCnt",
        "dailyViewerCnt",
        "dashboardCnt",
        "incident",
        "machineLearning",
        "trial",
    ];
    for field in counters {
        m.insert(field.into(), json!(0));
    }
    for quota in ["alertQuota", "dashboardQuota", "userQuota"] {
        m.insert(quota.into(), json!(-1));
    }
    let region_url = |service: &str| json!(format!("https://{service}-prod-{region}.grafana.net"));
    for (field, service) in [
        ("regionStackStateServiceUrl", "stack-state-service"),
        (
            "regionSyntheticMonitoringApiUrl",
            "synthetic-monitoring-api",
        ),
        ("regionInsightsApiUrl", "insights-api"),
        ("regionIntegrationsApiUrl", "integrations-api"),
        ("regionHostedExportersApiUrl", "hosted-exporters-api"),
        ("regionMachineLearningApiUrl", "machine-learning"),
        ("regionLLMGatewayUrl", "llm-gateway"),
        ("regionAssistantUrl", "assistant"),
        ("regionSigilUrl", "sigil"),
    ] {
        m.insert(field.into(), region_url(service));
    }
    let rest = json!({
        "id": stack.id,
        "orgId": stack.org_id,
        "orgSlug": stack.org_slug,
        "orgName": stack.org_slug,
        "orgCreatedAt": timestamp(stack.org_created_at),
        "type": "grafana",
        "name": stack.name,
        "slug": stack.slug,
        "url": stack.url,
        "description": stack.description,
        "labels": stack.labels,
        "status": stack.status(),
        "statusUpdatedAt": opt_timestamp(stack.deleted.map(|d| d.at).or(stack.updated_at)),
        "deleteProtection": stack.delete_protection,
        "createdAt": created,
        "createdBy": stack.org_slug,
        "updatedAt": opt_timestamp(stack.updated_at),
        "updatedBy": stack.updated_at.map(|_| stack.org_slug.as_str()),
    });
    let more = json!({
        "billingStartDate": created,
        "billingEndDate": null,
        "trialExpiresAt": null,
        "k6OrgId": null,
        "regionId": 1,
        "regionSlug": region,
        "regionPublicName": region,
        "clusterId": 69,
        "clusterName": cluster,
        "clusterSlug": cluster,
        "provider": "gcp",
        "providerRegion": region,
        "plan": "gcloud",
        "planName": "Grafana Cloud",
        "version": "stable",
        "runningVersion": "12.3.0",
        "versionIssueLink": "",
        "customAuth": false,
        "customDomain": stack.url != Stack::default_url(&stack.slug),
        "ssl": true,
        "support": false,
        "gateway": "istio",
        "datasourceCnts": {},
        "machineLearningLogsToken": "",
        "usageStatsId": "",
        "links": [{ "rel": "self", "href": format!("/instances/{}", stack.slug) }],
    });
    for part in [rest, more] {
        if let Value::Object(part) = part {
            m.extend(part);
        }
    }
    Value::Object(m)
}

/// An org API key as `FormattedApiApiKey`; the token only when just created.
pub(crate) fn org_key(key: &OrgKey, with_token: bool) -> Value {
    let mut value = json!({
        "id": key.id,
        "accessPolicyId": format!("ap-{}", key.id),
        "orgId": key.org_id,
        "orgSlug": key.org_slug,
        "orgName": key.org_slug,
        "instanceId": null,
        "name": key.name,
        "role": key.role,
        "createdAt": timestamp(key.created_at),
        "updatedAt": null,
        "firstUsed": null,
        "links": [{ "rel": "self", "href": format!("/orgs/{}/api-keys/{}", key.org_slug, key.name) }],
    });
    if with_token && let Value::Object(m) = &mut value {
        m.insert("token".into(), json!(key.token.expose()));
    }
    value
}

/// The stack key create response: `{id, name, key}`.
pub(crate) fn stack_key_created(key: &StackKey) -> Value {
    json!({ "id": key.id, "name": key.name, "key": key.token.expose() })
}

fn envelope_fields(total: usize) -> Value {
    json!({
        "orderBy": "id",
        "direction": "asc",
        "total": total,
        "pages": 1,
        "pageSize": total.max(1),
        "page": 1,
        "links": [],
    })
}

/// The `{items, orderBy, direction, total, pages, pageSize, page}` envelope.
pub(crate) fn list<T: Serialize>(items: &[T]) -> Value {
    let mut value = envelope_fields(items.len());
    value["items"] = json!(items);
    value
}
