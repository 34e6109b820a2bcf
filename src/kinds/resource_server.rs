//! `resource_server`: an OAuth resource server of a user pool (`userPool.resourceServers`),
//! with its scopes; every managed pool gets the folder's servers.
//!
//! - Lives in its pool (`parent`) and goes with it; an undeclared server in a managed pool is
//!   deleted. Its tenant is its pool's (None in the shared pool).
//! - Compared only in whole-folder plans: a `--tenant` observation does not read it.
//! - Observed with `ListResourceServers` pages per managed pool. Its physical id is its
//!   identifier.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use aws_sdk_cognitoidentityprovider::types::{ResourceServerScopeType, ResourceServerType};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::cognito::{live_pools, LivePool};
use crate::aws::{call_err, Aws, AwsError, Call};
use crate::plan::{Deps, ItemRules, Key, Resource};
use crate::spec::validate::re;
use crate::spec::{Diagnostic, Folder};
use crate::state::{Item, World};

pub struct ResourceServer;

pub const KIND: &str = "resource_server";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResourceServerState {
    pub name: String,
    /// scope name -> description
    pub scopes: BTreeMap<String, String>,
}

/// `<pool address>/resource_server/<identifier>`
pub fn address(pool: &str, identifier: &str) -> String {
    format!("{pool}/resource_server/{identifier}")
}

/// The server `identifier` of the pool at `pool` (silo tenant `tenant`), as an item.
pub fn item(pool: &str, tenant: Option<&str>, identifier: &str, state: &ResourceServerState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: identifier.to_string(),
        tenant: tenant.map(str::to_string),
        parent: Some(pool.to_string()),
        state: serde_json::to_value(state).expect("state serializes"),
        after: Vec::new(),
    }
}

fn live_state(rs: &ResourceServerType) -> ResourceServerState {
    ResourceServerState {
        name: rs.name().unwrap_or_default().to_string(),
        scopes: rs.scopes().iter().map(|s| (s.scope_name().to_string(), s.scope_description().to_string())).collect(),
    }
}

fn state(item: &Item) -> Result<ResourceServerState, AwsError> {
    serde_json::from_value(item.state.clone())
        .map_err(|e| AwsError::Other(format!("resource server `{}`: {e}", item.name)))
}

fn scopes(server: &ResourceServerState) -> Result<Vec<ResourceServerScopeType>, AwsError> {
    server
        .scopes
        .iter()
        .map(|(n, d)| {
            ResourceServerScopeType::builder()
                .scope_name(n)
                .scope_description(d)
                .build()
                .map_err(|e| AwsError::Other(format!("resource server scope `{n}`: {e}")))
        })
        .collect()
}

impl ItemRules for ResourceServer {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// After its pool's clients change or go: they may name its scopes.
    fn delete_order(&self, live: &Item, deps: &mut Deps) {
        let client = Resource::new(super::app_client::KIND);
        deps.needs.extend(live.parent.iter().map(|pool| Key::In(client, pool.clone())));
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    fn scoped(&self) -> bool {
        false
    }

    /// A silo tenant's pool is the tenant's: `--tenant` plans compare its servers (so
    /// `apply --tenant` onboards a silo tenant whole); the shared pool's only in whole-folder
    /// plans.
    fn scoped_item(&self, item: &Item) -> bool {
        item.tenant.is_some()
    }
}

impl Kind for ResourceServer {
    /// Per pool, as soon as the pool is read.
    fn read_per(&self) -> Option<&'static str> {
        Some(crate::state::POOL_KIND)
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, world: &World) -> Desired {
        let servers = &folder.platform.value.user_pool.resource_servers;
        let mut out = Vec::new();
        for (pool, p) in &world.pools() {
            for rs in servers {
                let state = ResourceServerState {
                    name: rs.name.clone(),
                    scopes: rs
                        .scopes
                        .iter()
                        .map(|s| (s.name.clone(), s.description.clone().unwrap_or_else(|| s.name.clone())))
                        .collect(),
                };
                out.push((address(pool, &rs.identifier), item(pool, p.tenant.as_deref(), &rs.identifier, &state)));
            }
        }
        Ok(out)
    }

    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let scoped = scope.scoped();
        let observed = scope.observed;
        let ids = scope.ids;
        async move {
            // A `--tenant` session reads its silo tenants' pools only.
            let pools: Vec<LivePool> =
                live_pools(observed, ids).into_iter().filter(|p| !scoped || p.tenant.is_some()).collect();
            let per_pool: Vec<(LivePool, Vec<(String, ResourceServerState)>)> = futures::stream::iter(pools)
                .map(|pool| async move {
                    let servers = list(aws, &pool.id).await?;
                    Ok::<_, AwsError>((pool, servers))
                })
                .buffered(2)
                .try_collect()
                .await?;
            let mut out = Vec::new();
            for (pool, servers) in per_pool {
                for (identifier, rs) in servers {
                    out.push((
                        address(&pool.address, &identifier),
                        item(&pool.address, pool.tenant.as_deref(), &identifier, &rs),
                        identifier,
                    ));
                }
            }
            Ok(out)
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
            let pool = parent.ok_or_else(|| AwsError::Other(format!("resource server `{}`: no pool", item.name)))?;
            let server = state(item)?;
            let scopes = scopes(&server)?;
            let created = aws
                .cognito
                .create_resource_server()
                .user_pool_id(pool)
                .identifier(&item.name)
                .name(&server.name)
                .set_scopes(Some(scopes))
                .send()
                .call(aws, "cognito-idp:CreateResourceServer", Some(pool))
                .await;
            match created {
                // Created meanwhile (a concurrent apply): update it to the desired state.
                Err(e) if crate::aws::cognito::is_exists(&e) => {
                    self.update(aws, item, item, &item.name, parent).await?;
                }
                other => other.map(|_| ())?,
            }
            Ok(item.name.clone())
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("resource server `{}`: no pool", item.name)))?;
            let server = state(item)?;
            let scopes = scopes(&server)?;
            // Paced as CreateResourceServer (the same quota category).
            aws.limiter.acquire_op("cognito-idp:CreateResourceServer", Some(pool)).await;
            aws.cognito
                .update_resource_server()
                .user_pool_id(pool)
                .identifier(id)
                .name(&server.name)
                .set_scopes(Some(scopes))
                .send()
                .await
                .map_err(|e| call_err("cognito-idp:UpdateResourceServer", e))?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("resource server `{}`: no pool", live.name)))?;
            aws.cognito
                .delete_resource_server()
                .user_pool_id(pool)
                .identifier(id)
                .send()
                .call(aws, "cognito-idp:DeleteResourceServer", Some(pool))
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

async fn list(aws: &Aws, pool_id: &str) -> Result<Vec<(String, ResourceServerState)>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cognito
            .list_resource_servers()
            .user_pool_id(pool_id)
            .max_results(50)
            .set_next_token(token.take())
            .send()
            .call(aws, "cognito-idp:ListResourceServers", Some(pool_id))
            .await?;
        for rs in page.resource_servers() {
            if let Some(id) = rs.identifier() {
                out.push((id.to_string(), live_state(rs)));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

// ---------------------------------------------------------------- validation

/// Resource servers per user pool (Cognito).
pub const MAX_RESOURCE_SERVERS: usize = 25;

/// Scopes per resource server (Cognito).
pub const MAX_SCOPES_PER_SERVER: usize = 100;

fn scope_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+$")
}

/// What Cognito accepts of the resource servers and their scopes (`Kind::validate`).
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    let mut out = Vec::new();
    if up.resource_servers.len() > MAX_RESOURCE_SERVERS {
        out.push(
            p.at(
                "userPool.resourceServers",
                format!(
                    "{} resource servers exceed Cognito's {MAX_RESOURCE_SERVERS} per pool",
                    up.resource_servers.len()
                ),
            )
            .hint("group scopes under fewer resource servers"),
        );
    }
    let mut rs_ids = HashSet::new();
    for (i, rs) in up.resource_servers.iter().enumerate() {
        let path = format!("userPool.resourceServers[{i}]");
        if !rs_ids.insert(rs.identifier.clone()) {
            out.push(
                p.at(&format!("{path}.identifier"), format!("resource server `{}` is declared twice", rs.identifier)),
            );
        }
        if rs.identifier.is_empty()
            || rs.identifier.len() > 256
            || rs.identifier.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            out.push(p.at(
                &format!("{path}.identifier"),
                "resource server identifier must be 1-256 characters without spaces",
            ));
        }
        if rs.scopes.len() > MAX_SCOPES_PER_SERVER {
            out.push(
                p.at(
                    &format!("{path}.scopes"),
                    format!("{} scopes exceed Cognito's {MAX_SCOPES_PER_SERVER} per resource server", rs.scopes.len()),
                )
                .hint("split the scopes across resource servers"),
            );
        }
        let mut seen = HashSet::new();
        for (j, s) in rs.scopes.iter().enumerate() {
            if !scope_name_re().is_match(&s.name) || s.name.len() > 256 {
                out.push(p.at(
                    &format!("{path}.scopes[{j}].name"),
                    format!("scope name `{}` is not valid", s.name.escape_debug()),
                ));
            }
            if !seen.insert(&s.name) {
                out.push(p.at(&format!("{path}.scopes[{j}].name"), format!("scope `{}` is declared twice", s.name)));
            }
        }
    }
    out
}
