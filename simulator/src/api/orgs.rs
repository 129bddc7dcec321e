//! `GET /orgs/{slugOrId}`: an organisation's public fields, in the shape grafana.com
//! answers (usage counters and plan fields at their zero values).

use axum::{Extension, Json, extract::Path};
use serde_json::{Map, Value, json};

use super::Shr;
use crate::{error::ApiError, model::Org, render::timestamp, state::Caller};

const ZERO_NUMBERS: &[&str] = &[
    "appO11YUsage",
    "awsMarketplaceSupport",
    "checksPerMonth",
    "contractTypeId",
    "creditApproved",
    "enterprisePlugins",
    "feO11YUsage",
    "gcloudMonthlyCost",
    "geInstancesUsage",
    "geUsersUsage",
    "grafanaCloud",
    "hgCurrentActiveUsers",
    "hgGrafanaUsage",
    "hgInstanceLimit",
    "hgOnCallUsage",
    "hgUsage",
    "hlInstanceLimit",
    "hlRetentionUsage",
    "hlUsage",
    "hmCurrentUsage",
    "hmGraphiteUsage",
    "hmInstanceLimit",
    "hmUsage",
    "hpUsage",
    "htUsage",
    "infraO11YContainersUsage",
    "infraO11YHostsUsage",
    "irmUsage",
    "k6IPUsage",
    "k6VuhUsage",
    "maxTokenExpirationDays",
    "retainedStackId",
    "smBrowserUsage",
    "smUsage",
    "userQuota",
];
const FALSE_FLAGS: &[&str] = &[
    "allowGCloudTrial",
    "disableTokenExpirationEmails",
    "emergencySupport",
    "isStaff",
    "kapaDeflectorEnabled",
    "liveChatEnabled",
];
const NULL_FIELDS: &[&str] = &[
    "avatar",
    "cancellationDate",
    "createdBy",
    "isource",
    "msaSignedAt",
    "msaSignedBy",
    "osource",
    "resellerId",
    "resellerName",
    "trialEndDate",
    "trialLengthDays",
    "trialNoticeDate",
    "trialStartDate",
    "updatedAt",
    "updatedBy",
];
const EMPTY_STRINGS: &[&str] = &[
    "contractType",
    "pluginSignatureType",
    "privacy",
    "reseller",
    "supportPlan",
    "wpPlan",
];

fn org_json(org: &Org) -> Value {
    let mut body = Map::new();
    for name in ZERO_NUMBERS {
        body.insert((*name).into(), json!(0));
    }
    for name in FALSE_FLAGS {
        body.insert((*name).into(), json!(false));
    }
    for name in NULL_FIELDS {
        body.insert((*name).into(), Value::Null);
    }
    for name in EMPTY_STRINGS {
        body.insert((*name).into(), json!(""));
    }
    let url = format!("https://grafana.com/orgs/{}", org.slug);
    body.extend([
        ("id".into(), json!(org.id)),
        ("slug".into(), json!(org.slug)),
        ("name".into(), json!(org.slug)),
        ("url".into(), json!(url)),
        ("createdAt".into(), json!(timestamp(org.created_at))),
        ("licenseProducts".into(), json!([])),
        (
            "links".into(),
            json!([{"rel": "self", "href": format!("/orgs/{}", org.slug)}]),
        ),
        (
            "subscriptions".into(),
            json!({"current": {"product": null, "isTrial": false, "startDate": null,
                               "endDate": null, "payload": {}, "plan": null,
                               "publicName": null, "enterprisePluginsAdded": false,
                               "planBillingCycle": null},
                   "next": null}),
        ),
    ]);
    Value::Object(body)
}

pub(super) async fn get_org(
    shared: Shr,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let state = shared.state();
    Ok(Json(org_json(state.org_for(&caller, &org)?)))
}
