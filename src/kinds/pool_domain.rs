//! `pool_domain`: the hosted-UI domain prefix of a managed user pool (contract §1.4,
//! `userPool.domain`; a silo pool gets `<domain>-<tenant>`).
//!
//! - Managed only while the folder declares `userPool.domain`: a live domain of a pool whose
//!   folder declares none is left alone (never drift, never deleted), except that it goes with
//!   its pool (`destroy`, `--prune`), before it.
//! - Cognito cannot rename a domain: a new name is a `replace` (the old domain deleted, the
//!   new one created; the hosted UI's address changes).
//! - Observed with `DescribeUserPool` of each managed pool (its `Domain`), one call per pool,
//!   only when the folder declares a domain. The physical id is the prefix itself.

use std::sync::OnceLock;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use regex::Regex;
use serde_json::json;

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Call};
use crate::plan::{ItemRules, Resource};
use crate::spec::desired::names;
use crate::spec::model::Isolation;
use crate::spec::validate::{platform_re, re, tenant_id_problem};
use crate::spec::{Diagnostic, Folder};
use crate::state::{Item, World};

pub struct PoolDomain;

const KIND: &str = "pool_domain";

/// `<pool address>/domain`
fn address(pool: &str) -> String {
    format!("{pool}/domain")
}

fn item(pool: &str, tenant: Option<&str>, domain: &str) -> Item {
    Item {
        kind: KIND.to_string(),
        name: domain.to_string(),
        tenant: tenant.map(str::to_string),
        parent: Some(pool.to_string()),
        state: json!({"domain": domain}),
        after: Vec::new(),
    }
}

impl ItemRules for PoolDomain {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn replace_on(&self) -> &'static [&'static str] {
        &["domain"]
    }

    fn owns_undeclared(&self) -> bool {
        false
    }
}

impl Kind for PoolDomain {
    /// Per pool, as soon as the pool is read.
    fn read_per(&self) -> Option<&'static str> {
        Some(crate::state::POOL_KIND)
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, world: &World) -> Desired {
        let Some(domain) = &folder.platform.value.user_pool.domain else {
            return Ok(Vec::new());
        };
        Ok(world
            .pools()
            .iter()
            .map(|(addr, p)| {
                let name = match &p.tenant {
                    Some(t) => names::silo_domain(domain, t),
                    None => domain.clone(),
                };
                (address(addr), item(addr, p.tenant.as_deref(), &name))
            })
            .collect())
    }

    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let observed = scope.observed;
        let ids = scope.ids;
        async move {
            if folder.platform.value.user_pool.domain.is_none() {
                return Ok(Vec::new());
            }
            let pools: Vec<(String, Option<String>, String)> = observed
                .pools()
                .iter()
                .filter_map(|(addr, p)| Some((addr.clone(), p.tenant.clone(), ids.id(addr)?.to_string())))
                .collect();
            let found: Vec<Option<(String, Item, String)>> = futures::stream::iter(pools)
                .map(|(addr, tenant, pool_id)| async move {
                    let out = aws
                        .cognito
                        .describe_user_pool()
                        .user_pool_id(&pool_id)
                        .send()
                        .call(aws, "cognito-idp:DescribeUserPool", None)
                        .await?;
                    let domain = out.user_pool().and_then(|p| p.domain()).filter(|d| !d.is_empty());
                    Ok::<_, AwsError>(
                        domain.map(|d| (address(&addr), item(&addr, tenant.as_deref(), d), d.to_string())),
                    )
                })
                .buffered(4)
                .try_collect()
                .await?;
            Ok(found.into_iter().flatten().collect())
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("domain `{}`: no pool", item.name)))?;
            aws.cognito
                .create_user_pool_domain()
                .user_pool_id(pool)
                .domain(&item.name)
                .send()
                .call(aws, "cognito-idp:CreateUserPoolDomain", None)
                .await?;
            Ok(item.name.clone())
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        _aws: &'a Aws,
        _item: &'a Item,
        _live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        // The one field is replaced, never updated.
        async { Ok(()) }.boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        _live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            aws.limiter.acquire_op("cognito-idp:DeleteUserPoolDomain", None).await;
            let out = aws
                .cognito
                .delete_user_pool_domain()
                .set_user_pool_id(parent.map(str::to_string))
                .domain(id)
                .send()
                .await;
            crate::aws::done_if_gone(out.map_err(|e| call_err("cognito-idp:DeleteUserPoolDomain", e)))
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

// ---------------------------------------------------------------- validation

/// A hosted-UI domain prefix (Cognito).
pub const MAX_DOMAIN_PREFIX: usize = 63;

/// What Cognito accepts of the domain prefix (`Kind::validate`), a silo pool's
/// `<domain>-<tenant>` included.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let up = &pl.user_pool;
    let mut out = Vec::new();
    if let Some(d) = &up.domain {
        static R: OnceLock<Regex> = OnceLock::new();
        if !re(&R, r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$").is_match(d)
            || d.contains("aws")
            || d.contains("cognito")
            || d.contains("amazon")
        {
            out.push(p.at("userPool.domain", format!("domain prefix `{d}` must be lowercase letters, digits and hyphens and may not contain aws, amazon or cognito")));
        }
    }
    for t in &folder.tenants {
        let tv = &t.value;
        if tenant_id_problem(&tv.id).is_none() && platform_re().is_match(&pl.name) && tv.isolation == Isolation::Silo {
            if let Some(d) = &pl.user_pool.domain {
                let dom = names::silo_domain(d, &tv.id);
                if dom.len() > MAX_DOMAIN_PREFIX {
                    out.push(t.at(
                        "id",
                        format!("hosted UI domain prefix `{dom}` is over Cognito's {MAX_DOMAIN_PREFIX} characters"),
                    ));
                }
            }
        }
    }
    out
}
