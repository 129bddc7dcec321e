//! Status writes, shared by both controllers. Status goes through server-side apply, so a
//! field the operator stops setting is removed, and a write only happens when it changed.

use std::fmt::Debug;

use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use super::{Context, Error};

/// Field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "grafana-cloud-operator";

/// Writes `status` unless it equals `current`.
pub async fn write_if_changed<K, S>(
    ctx: &Context,
    obj: &K,
    current: Option<&S>,
    status: &S,
) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &namespace);
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await
    .map_err(|source| Error::WriteStatus {
        namespace,
        name: obj.name_any(),
        source: source.into(),
    })?;
    Ok(())
}
