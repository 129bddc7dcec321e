//! Finds the grafana.com token of a resource: its own Secret, or the operator's default
//! credentials where the namespace selector allows them (SPEC §2).

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::core::{Selector, SelectorExt};

use crate::{crd::CredentialsRef, grafana::Token};

use super::{Context, Error, cluster};

/// The operator's fallback credentials, usable only by namespaces its selector matches.
#[derive(Clone, Debug)]
pub struct DefaultCredentials {
    pub namespace: String,
    pub name: String,
    pub key: String,
    /// Without a selector no namespace may fall back to the default.
    pub namespace_selector: Option<Selector>,
}

/// Where a resource's token came from, for the Secret watch and for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
}

/// A resolved token and the org slug stored beside it, if any.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub token: Token,
    pub org_slug: Option<String>,
    pub source: SecretRef,
}

impl Credentials {
    /// The org slug, required by organisation-level endpoints.
    pub fn require_org_slug(&self) -> Result<&str, Error> {
        self.org_slug
            .as_deref()
            .ok_or_else(|| Error::OrgSlugMissing {
                namespace: self.source.namespace.clone(),
                name: self.source.name.clone(),
            })
    }
}

/// Resolves the token for a cleanup. When a namespace is deleted, its credentials Secret can
/// go before the resources that need it to delete their remote objects; the token last read
/// from that Secret (kept in memory only) lets the cleanup finish.
pub async fn resolve_for_cleanup(
    ctx: &Context,
    namespace: &str,
    reference: Option<&CredentialsRef>,
) -> Result<Credentials, Error> {
    match resolve(ctx, namespace, reference).await {
        Err(
            err @ (Error::CredentialsSecretMissing { .. } | Error::CredentialsKeyMissing { .. }),
        ) => {
            let (secret_namespace, name, key) = match &err {
                Error::CredentialsSecretMissing { namespace, name }
                | Error::CredentialsKeyMissing {
                    namespace, name, ..
                } => {
                    let key = reference.map_or_else(
                        || {
                            ctx.config
                                .default_credentials
                                .as_ref()
                                .map_or("token", |d| d.key.as_str())
                        },
                        CredentialsRef::token_key,
                    );
                    (namespace.clone(), name.clone(), key.to_string())
                }
                _ => return Err(err),
            };
            ctx.remembered_credentials(&secret_namespace, &name, &key)
                .ok_or(err)
        }
        other => other,
    }
}

/// Resolves the token for a resource in `namespace` with the given credentials reference.
pub async fn resolve(
    ctx: &Context,
    namespace: &str,
    reference: Option<&CredentialsRef>,
) -> Result<Credentials, Error> {
    match reference {
        Some(reference) => {
            read(
                ctx,
                namespace,
                &reference.secret_name,
                reference.token_key(),
            )
            .await
        }
        None => {
            let default = ctx.config.default_credentials.as_ref();
            let Some(default) = default.filter(|d| d.namespace_selector.is_some()) else {
                return Err(Error::NoDefaultCredentials {
                    namespace: namespace.into(),
                });
            };
            if !namespace_allowed(ctx, default, namespace).await? {
                return Err(Error::NoDefaultCredentials {
                    namespace: namespace.into(),
                });
            }
            read(ctx, &default.namespace, &default.name, &default.key).await
        }
    }
}

async fn namespace_allowed(
    ctx: &Context,
    default: &DefaultCredentials,
    namespace: &str,
) -> Result<bool, Error> {
    let Some(selector) = &default.namespace_selector else {
        return Ok(false);
    };
    let ns = cluster::get::<Namespace>(ctx.cluster.as_ref(), None, namespace).await?;
    let labels = ns.and_then(|ns| ns.metadata.labels).unwrap_or_default();
    Ok(selector.matches(&labels))
}

async fn read(ctx: &Context, namespace: &str, name: &str, key: &str) -> Result<Credentials, Error> {
    if let Some(creds) = ctx.credentials_cache.get(namespace, name, key) {
        return Ok(creds);
    }
    let secret = cluster::get::<Secret>(ctx.cluster.as_ref(), Some(namespace), name)
        .await?
        .ok_or_else(|| Error::CredentialsSecretMissing {
            namespace: namespace.into(),
            name: name.into(),
        })?;
    let text = |k: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(k))
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let token = text(key).ok_or_else(|| Error::CredentialsKeyMissing {
        namespace: namespace.into(),
        name: name.into(),
        key: key.into(),
    })?;
    let org_slug = text("orgSlug");
    let token = Token::new(token).with_org(org_slug.clone().unwrap_or_default());
    let creds = Credentials {
        token,
        org_slug,
        source: SecretRef {
            namespace: namespace.into(),
            name: name.into(),
        },
    };
    ctx.remember_credentials(key, &creds);
    let version = secret.metadata.resource_version.as_deref();
    ctx.credentials_cache
        .put(namespace, name, key, version, &creds);
    Ok(creds)
}
