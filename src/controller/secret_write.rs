//! The Secret a key or token resource writes: what is known about it before any grafana.com
//! call, the checks made before a create (templates, a server-side dry run), and the one
//! write that stores the token. Shared by every kind that hands out a token.
//!
//! A token that can be revoked is created without a dry run while the API server has never
//! refused its Secret: the dry run would be one more write per resource for nothing, and a
//! refused write revokes the new token at once. After a refusal, every retry starts with the
//! dry run, so a Secret that stays refused costs no further token.

use crate::{
    controller::{
        Context, Error, cluster,
        conditions::{self, Reason},
        secret::{self, KeyRecord, Layout, Material, StackFacts, Target},
    },
    crd::SecretTemplate,
    grafana::Token,
};
use k8s_openapi::{
    api::core::v1::Secret,
    apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference},
    jiff::Timestamp,
};

/// The Secret `name` in `namespace` as the resource with `uid` sees it, read from the API
/// server: absent, its own, or somebody else's (never touched).
pub async fn read_existing(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: &str,
) -> Result<secret::Existing, Error> {
    let found = cluster::get::<Secret>(ctx.cluster.as_ref(), Some(namespace), name).await?;
    Ok(secret::classify(found, uid))
}

/// The Ready message when the target Secret exists and is not this resource's.
pub fn conflict_message(name: &str) -> String {
    format!(
        "Secret {name} exists and is not owned by this resource; delete it or set \
         spec.secretName to another name"
    )
}

/// Whether a Secret write changed anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretWrite {
    Created,
    Updated,
    Unchanged,
}

/// The target Secret and what is known about it before any grafana.com call.
pub struct Prepared {
    pub name: String,
    pub namespace: String,
    pub owner: OwnerReference,
    /// The Secret as read at the start, when this resource controls it.
    pub owned: Option<Secret>,
    /// The resource's templates for the Secret.
    pub template: SecretTemplate,
    /// The resource's last pass ended with the API server refusing this Secret.
    pub refused_before: bool,
}

/// Whether `conditions` say that the last Secret write was refused.
pub fn refused_before(conditions: &[Condition]) -> bool {
    conditions::ready_condition(conditions)
        .is_some_and(|c| c.reason == Reason::SecretRejected.as_str())
}

/// A stand-in for a token not created yet, as long as real ones, for checks made before the
/// create call.
struct Placeholder {
    token: Token,
    record: KeyRecord,
}

impl Placeholder {
    fn new(key_name: &str) -> Self {
        Self {
            token: Token::new(format!("placeholder-token-{}", "0".repeat(160))),
            record: KeyRecord {
                name: key_name.to_string(),
                id: "0".into(),
                created_at: Timestamp::UNIX_EPOCH,
                expires_at: None,
                stack_id: None,
            },
        }
    }

    fn material<'a>(
        &'a self,
        org_slug: &'a str,
        stack: Option<&'a StackFacts>,
        layout: Layout<'a>,
    ) -> Material<'a> {
        Material {
            token: &self.token,
            org_slug,
            key: &self.record,
            stack,
            layout,
        }
    }
}

impl Prepared {
    /// Renders the templates with a placeholder token, so that a template error is reported
    /// before a key is created rather than after.
    pub fn check_template(
        &self,
        org_slug: &str,
        stack: Option<&StackFacts>,
        key_name: &str,
        layout: Layout<'_>,
    ) -> Result<(), secret::TemplateError> {
        let placeholder = Placeholder::new(key_name);
        let material = placeholder.material(org_slug, stack, layout);
        secret::render(&self.template, &material).map(|_| ())
    }

    /// Asks the API server, with a server-side dry run, whether it would accept the Secret as
    /// it will be written, with a placeholder token. Called right before a create call: a
    /// Secret that admission, a quota or the size limit refuses costs no key at grafana.com.
    pub async fn dry_run(
        &self,
        ctx: &Context,
        org_slug: &str,
        stack: Option<&StackFacts>,
        key_name: &str,
        layout: Layout<'_>,
    ) -> Result<(), Error> {
        let placeholder = Placeholder::new(key_name);
        let material = placeholder.material(org_slug, stack, layout);
        let (desired, _) = self.desired(&material);
        self.submit(ctx, desired, true).await.map(|_| ())
    }

    /// The dry run before creating a token that can be revoked: made only after the API
    /// server refused this Secret before (see the module's docs).
    pub async fn dry_run_after_refusal(
        &self,
        ctx: &Context,
        org_slug: &str,
        stack: Option<&StackFacts>,
        key_name: &str,
        layout: Layout<'_>,
    ) -> Result<(), Error> {
        match self.refused_before {
            true => self.dry_run(ctx, org_slug, stack, key_name, layout).await,
            false => Ok(()),
        }
    }

    /// The Secret to write, and the template error if the templates failed (the default
    /// keys are written all the same).
    fn desired(&self, material: &Material<'_>) -> (Secret, Option<secret::TemplateError>) {
        let (rendered, template_error) = match secret::render(&self.template, material) {
            Ok(rendered) => (rendered, None),
            Err(err) => (secret::Rendered::default(), Some(err)),
        };
        let target = Target {
            name: &self.name,
            namespace: &self.namespace,
            owner: self.owner.clone(),
        };
        (secret::build(target, material, &rendered), template_error)
    }

    /// Writes the whole Secret in one request: a create when it does not exist yet (which
    /// fails rather than overwrite a Secret that appeared meanwhile), otherwise a replace
    /// guarded by the resourceVersion read at the start.
    pub async fn write(
        &self,
        ctx: &Context,
        material: &Material<'_>,
    ) -> Result<SecretWrite, Error> {
        // A template that fails only with the real token still must not lose that token:
        // write the default keys, then report the template error.
        let (desired, template_error) = self.desired(material);
        let written = self.submit(ctx, desired, false).await?;
        match template_error {
            Some(err) => Err(err.into()),
            None => Ok(written),
        }
    }

    async fn submit(
        &self,
        ctx: &Context,
        mut desired: Secret,
        dry_run: bool,
    ) -> Result<SecretWrite, Error> {
        if !dry_run {
            ctx.check_fence()?;
        }
        let cluster = ctx.cluster.as_ref();
        if self
            .owned
            .as_ref()
            .is_some_and(|current| secret::up_to_date(current, &desired))
        {
            return Ok(SecretWrite::Unchanged);
        }
        if !dry_run {
            ctx.own_writes.writing(&self.namespace, &self.name);
        }
        let written = match &self.owned {
            Some(current) => {
                desired.metadata.resource_version = current.metadata.resource_version.clone();
                cluster::replace(cluster, &desired, dry_run)
                    .await
                    .map(|version| (SecretWrite::Updated, version))
            }
            None => cluster::create(cluster, &desired, dry_run)
                .await
                .map(|version| (SecretWrite::Created, version)),
        };
        if !dry_run {
            let version = written.as_ref().ok().and_then(|(_, v)| v.clone());
            ctx.own_writes.wrote(&self.namespace, &self.name, version);
        }
        let (written, _) = written
            .map_err(|source| secret_write_error(&self.namespace, &self.name, &desired, source))?;
        Ok(written)
    }
}

/// The longest part of the API server's refusal message kept in status.
const MAX_REFUSAL_CHARS: usize = 512;

/// A failed Secret write. A refusal (admission, quota, size, permissions) is
/// [`Error::SecretRejected`] with the API server's message, cut short and with any value of
/// the Secret (an admission webhook may echo one) taken out; anything else may pass on retry.
fn secret_write_error(namespace: &str, name: &str, desired: &Secret, source: kube::Error) -> Error {
    match source {
        kube::Error::Api(status) if matches!(status.code, 400 | 403 | 413 | 422) => {
            let mut message = status.message;
            let values = desired.data.iter().flat_map(|data| data.values());
            for value in values.filter(|v| v.0.len() >= 8) {
                if let Ok(text) = std::str::from_utf8(&value.0) {
                    message = message.replace(text, "<redacted>");
                }
            }
            Error::SecretRejected {
                namespace: namespace.into(),
                name: name.into(),
                message: message.chars().take(MAX_REFUSAL_CHARS).collect(),
            }
        }
        source => Error::WriteObject {
            kind: "Secret",
            namespace: namespace.into(),
            name: name.into(),
            source: source.into(),
        },
    }
}
