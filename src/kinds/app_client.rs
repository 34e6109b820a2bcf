//! `app_client`: an app client of a user pool (`userPool.appClients`); every managed pool
//! gets the folder's clients. A tenant with its own identity provider (contract §1.4) also
//! gets `<tenant>-sso` in its pool.
//!
//! - Lives in its pool (`parent`) and goes with it; an undeclared client in a managed pool is
//!   deleted. Its tenant is its pool's (None in the shared pool), but `<tenant>-sso` in the
//!   shared pool is that tenant's (`validate` keeps `-sso` names for SSO clients), so a
//!   tenant's offboarding deletes it and a tenant without a file leaves it as an orphan.
//! - `supportedIdentityProviders` is derived, never declared: the folder's clients offer
//!   `COGNITO` and the pool's own providers (`userPool.identityProviders`); `<tenant>-sso`
//!   offers only the tenant's provider `<tenant>-<name>`. Any other live list is drift.
//! - `<tenant>-sso` takes its other settings from the folder's first client that declares
//!   `oauth` (else its first client; else the defaults): federation signs in through the
//!   hosted UI, so it needs that client's flows, scopes and callback URLs.
//! - `generateSecret` is chosen when a client is created (UpdateUserPoolClient has no such
//!   field): a flip is a plan error naming the client, never a change.
//! - The tenant attribute: every client reads it and none writes it (desired side); a live
//!   client able to write it is changed drift (`write_attributes`), like any other field.
//! - Compared only in whole-folder plans: a `--tenant` observation does not read it.
//! - Observed with `ListUserPoolClients` pages per managed pool, then
//!   `DescribeUserPoolClient` each. Its physical id is the client id (the authorizer's
//!   function names it by reference). Updates are read-modify-write: UpdateUserPoolClient
//!   resets every field left out.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use aws_sdk_cognitoidentityprovider::operation::create_user_pool_client::builders::CreateUserPoolClientFluentBuilder;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::builders::UpdateUserPoolClientFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, OAuthFlowType, PreventUserExistenceErrorTypes, TimeUnitsType, TokenValidityUnitsType,
    UserPoolClientType,
};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::cognito::{date_key, live_pools, non_empty_list, LivePool, READ_CONCURRENCY, TWIN_SETTLE};
use crate::aws::{call_err, Aws, AwsError, Call};
use crate::plan::quotas::{self, AccountFigures};
use crate::plan::{ItemRules, Plan, PlanError, Resource};
use crate::spec::desired::names;
use crate::spec::model::{duration_minutes, Isolation};
use crate::spec::{Diagnostic, Folder};
use crate::state::wiring::client_address;
use crate::state::{Ids, Item, World};

pub struct AppClient;

pub const KIND: &str = "app_client";

/// Cognito's default token validities, in minutes (access, id, refresh).
pub const DEFAULT_TOKEN_MINUTES: (i32, i32, i32) = (60, 60, 30 * 24 * 60);

/// The auth flows of a client that declares none: SRP sign-in and refresh (what AWS would
/// enable, less CUSTOM_AUTH).
pub const DEFAULT_AUTH_FLOWS: &[&str] = &["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"];

/// The fields tenantctl manages on an app client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ClientState {
    pub generate_secret: bool,
    pub explicit_auth_flows: BTreeSet<String>,
    pub allowed_oauth_flows: BTreeSet<String>,
    pub allowed_oauth_scopes: BTreeSet<String>,
    pub allowed_oauth_flows_user_pool_client: bool,
    pub callback_urls: BTreeSet<String>,
    pub logout_urls: BTreeSet<String>,
    pub supported_identity_providers: BTreeSet<String>,
    pub read_attributes: BTreeSet<String>,
    pub write_attributes: BTreeSet<String>,
    pub access_token_minutes: Option<i32>,
    pub id_token_minutes: Option<i32>,
    pub refresh_token_minutes: Option<i32>,
    pub enable_token_revocation: bool,
    pub prevent_user_existence_errors: bool,
}

/// The client `name` of the pool at `pool` (silo tenant `tenant`), as an item; its address is
/// [`client_address`].
pub fn item(pool: &str, tenant: Option<&str>, name: &str, state: &ClientState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: name.to_string(),
        tenant: tenant.map(str::to_string),
        parent: Some(pool.to_string()),
        state: serde_json::to_value(state).expect("state serializes"),
        // The pool's custom attributes, resource servers and identity providers, which it may
        // name, first.
        after: vec![
            format!("custom_attribute@{pool}"),
            format!("resource_server@{pool}"),
            format!("identity_provider@{pool}"),
        ],
    }
}

fn state(item: &Item) -> Result<ClientState, AwsError> {
    serde_json::from_value(item.state.clone()).map_err(|e| AwsError::Other(format!("app client `{}`: {e}", item.name)))
}

fn explicit_flow(f: &str) -> String {
    if f.starts_with("ALLOW_") {
        f.to_string()
    } else {
        format!("ALLOW_{f}")
    }
}

/// The desired clients of every managed pool, from the folder: every client reads the
/// tenant attribute and none writes it; they offer Cognito's own sign-in and the pool's own
/// identity providers.
pub fn desired_states(folder: &Folder) -> Vec<(String, ClientState)> {
    let up = &folder.platform.value.user_pool;
    let providers: BTreeSet<String> =
        std::iter::once("COGNITO".to_string()).chain(up.identity_providers.iter().map(|p| p.name.clone())).collect();
    up.app_clients
        .iter()
        .map(|c| {
            let mut state = spec_state(folder, c);
            state.supported_identity_providers = providers.clone();
            (c.name.clone(), state)
        })
        .collect()
}

/// The name of a tenant's SSO client (contract §1.4).
pub fn sso_client_name(tenant: &str) -> String {
    format!("{tenant}-sso")
}

/// The SSO client of a tenant whose provider is `provider` (its physical name): the settings
/// of the folder's first client that declares `oauth` (else its first; else the defaults),
/// offering that provider only.
pub fn sso_state(folder: &Folder, provider: &str) -> ClientState {
    let up = &folder.platform.value.user_pool;
    let default_spec;
    let template = match up.app_clients.iter().find(|c| c.oauth.is_some()).or(up.app_clients.first()) {
        Some(c) => c,
        None => {
            default_spec =
                serde_json::from_value::<crate::spec::model::AppClientSpec>(serde_json::json!({"name": "sso"}))
                    .expect("a client of a name only is valid");
            &default_spec
        }
    };
    let mut state = spec_state(folder, template);
    state.supported_identity_providers = BTreeSet::from([provider.to_string()]);
    state
}

/// The tenant an observed client belongs to: its pool's (a silo pool's tenant), or in the
/// shared pool the `<tenant>` of `<tenant>-sso`.
pub fn client_tenant(pool_tenant: Option<&str>, name: &str) -> Option<String> {
    if let Some(t) = pool_tenant {
        return Some(t.to_string());
    }
    name.strip_suffix("-sso").filter(|t| !t.is_empty()).map(str::to_string)
}

/// A declared client's state, without its identity providers.
fn spec_state(folder: &Folder, c: &crate::spec::model::AppClientSpec) -> ClientState {
    let up = &folder.platform.value.user_pool;
    let ta = format!("custom:{}", up.tenant_attribute);
    let tv = c.token_validity.clone().unwrap_or_default();
    let mins = |s: &Option<String>, d: i32| Some(s.as_deref().and_then(duration_minutes).map_or(d, |m| m as i32));
    let mut read: BTreeSet<String> = c.read_attributes.iter().cloned().collect();
    if read.is_empty() {
        read.insert("email".into());
    }
    read.insert(ta.clone());
    let mut write: BTreeSet<String> = c.write_attributes.iter().cloned().collect();
    write.remove(&ta);
    if write.is_empty() {
        // An empty list means "unset" to Cognito, which lets the client write every
        // standard attribute; pin a minimal explicit list instead.
        write.insert("email".into());
    }
    let oauth = c.oauth.clone().unwrap_or(crate::spec::model::OAuthSpec {
        flows: vec![],
        scopes: vec![],
        callback_urls: vec![],
        logout_urls: vec![],
    });
    ClientState {
        generate_secret: c.generate_secret,
        // Never left unset: without ExplicitAuthFlows Cognito enables SRP, refresh and
        // CUSTOM_AUTH, so the plan would never settle and CUSTOM_AUTH would be on.
        explicit_auth_flows: if c.auth_flows.is_empty() {
            DEFAULT_AUTH_FLOWS.iter().map(|f| f.to_string()).collect()
        } else {
            c.auth_flows.iter().map(|f| explicit_flow(f)).collect()
        },
        allowed_oauth_flows: oauth.flows.iter().cloned().collect(),
        allowed_oauth_scopes: oauth.scopes.iter().cloned().collect(),
        allowed_oauth_flows_user_pool_client: !oauth.flows.is_empty(),
        callback_urls: oauth.callback_urls.iter().cloned().collect(),
        logout_urls: oauth.logout_urls.iter().cloned().collect(),
        supported_identity_providers: BTreeSet::new(),
        read_attributes: read,
        write_attributes: write,
        access_token_minutes: mins(&tv.access, DEFAULT_TOKEN_MINUTES.0),
        id_token_minutes: mins(&tv.id, DEFAULT_TOKEN_MINUTES.1),
        refresh_token_minutes: mins(&tv.refresh, DEFAULT_TOKEN_MINUTES.2),
        enable_token_revocation: c.enable_token_revocation,
        prevent_user_existence_errors: c.prevent_user_existence_errors,
    }
}

impl ItemRules for AppClient {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// App clients per user pool: the folder's clients in every managed pool, plus a
    /// `<tenant>-sso` client per tenant with its own provider in the tenant's pool (undeclared
    /// clients of a managed pool are deleted, so the desired ones are what it holds).
    fn check_quotas(&self, _plan: &Plan, desired: &World, _figures: &AccountFigures) -> Result<(), PlanError> {
        quotas::per_pool(
            desired,
            KIND,
            quotas::APP_CLIENTS_PER_POOL,
            "Cognito app clients per user pool",
            "request a higher quota in Service Quotas (Amazon Cognito User Pools: app clients per user pool), declare fewer userPool.appClients, or move tenants with their own identity provider (one `<tenant>-sso` client each) to silo pools",
        )
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    fn scoped(&self) -> bool {
        false
    }

    /// A tenant's SSO client is its own, and so are the clients of a silo tenant's pool:
    /// `--tenant` plans compare them (so onboarding a tenant with `apply --tenant` makes its
    /// clients); the shared pool's folder clients only in whole-folder plans.
    fn scoped_item(&self, item: &Item) -> bool {
        is_sso_client(item) || item.tenant.is_some()
    }

    fn check_change(&self, desired: &Item, live: &Item, pool: &str) -> Result<(), PlanError> {
        let secret = |i: &Item| i.state.get("generate_secret").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let (before, after) = (secret(live), secret(desired));
        if before != after {
            return Err(PlanError::ClientSecretChange {
                pool: pool.to_string(),
                client: desired.name.clone(),
                before,
                after,
            });
        }
        Ok(())
    }
}

impl Kind for AppClient {
    /// Per pool, as soon as the pool is read.
    fn read_per(&self) -> Option<&'static str> {
        Some(crate::state::POOL_KIND)
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, world: &World) -> Desired {
        let clients = desired_states(folder);
        let pools = world.pools();
        let mut out = Vec::new();
        for (pool, p) in &pools {
            for (name, c) in &clients {
                out.push((client_address(pool, name), item(pool, p.tenant.as_deref(), name, c)));
            }
        }
        for t in &folder.tenants {
            let tv = &t.value;
            // One provider per tenant (`validate`): its client offers it alone.
            let Some(idp) = tv.identity_providers.first() else { continue };
            let Some(pool) = super::identity_provider::tenant_pool(&pools, tv) else { continue };
            let provider = super::identity_provider::tenant_provider_name(&tv.id, &idp.name);
            let name = sso_client_name(&tv.id);
            out.push((client_address(pool, &name), item(pool, Some(&tv.id), &name, &sso_state(folder, &provider))));
        }
        Ok(out)
    }

    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let desired = scope.desired;
        let scoped = scope.scoped();
        let observed = scope.observed;
        let ids = scope.ids;
        async move {
            if scoped {
                return observe_sso_clients(aws, desired, observed, ids).await;
            }
            let per_pool: Vec<(LivePool, Vec<(String, UserPoolClientType)>)> =
                futures::stream::iter(live_pools(observed, ids))
                    .map(|pool| async move {
                        let clients = list_clients(aws, &pool.id).await?;
                        Ok::<_, AwsError>((pool, clients))
                    })
                    .buffered(2)
                    .try_collect()
                    .await?;
            let mut out = Vec::new();
            for (pool, clients) in per_pool {
                for (cid, c) in clients {
                    let name = c.client_name().unwrap_or_default().to_string();
                    let tenant = client_tenant(pool.tenant.as_deref(), &name);
                    let item = item(&pool.address, tenant.as_deref(), &name, &client_state(&c));
                    out.push((client_address(&pool.address, &name), item, cid));
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
            let pool = parent.ok_or_else(|| AwsError::Other(format!("app client `{}`: no pool", item.name)))?;
            let client = state(item)?;
            let name = &item.name;
            // Cognito keeps no names unique: one made meanwhile by a concurrent apply (or by an
            // SDK retry of this create) is settled after the create by `keep_one_client`, the
            // oldest kept. No look before: it would cost a listing per create and settle
            // nothing the look after does not (with 300 silo pools, 300 UserPoolClientRead
            // calls of 900).
            let out = create_client_request(aws.cognito.create_user_pool_client(), pool, name, &client)
                .send()
                .call(aws, "cognito-idp:CreateUserPoolClient", Some(pool))
                .await?;
            let cid = out
                .user_pool_client()
                .and_then(|c| c.client_id())
                .ok_or_else(|| AwsError::Other(format!("CreateUserPoolClient `{name}`: no client id in the answer")))?;
            let created = out.user_pool_client().and_then(|c| c.creation_date()).copied();
            let keeper = keep_one_client(aws, pool, name, cid, created).await?;
            if keeper != cid {
                // The other run's client is kept: given this folder's settings.
                self.update(aws, item, item, &keeper, parent).await?;
            }
            Ok(keeper)
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _live: &'a Item,
        cid: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("app client `{}`: no pool", item.name)))?;
            let client = state(item)?;
            let live = describe_client(aws, pool, cid).await?;
            update_client_request(aws.cognito.update_user_pool_client(), &live, pool, cid, &item.name, &client)
                .send()
                .call(aws, "cognito-idp:UpdateUserPoolClient", Some(pool))
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        cid: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("app client `{}`: no pool", live.name)))?;
            aws.cognito
                .delete_user_pool_client()
                .user_pool_id(pool)
                .client_id(cid)
                .send()
                .call(aws, "cognito-idp:DeleteUserPoolClient", Some(pool))
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

/// Whether an item is a tenant's SSO client (`<tenant>-sso`, that tenant's).
fn is_sso_client(item: &Item) -> bool {
    item.kind == KIND && item.tenant.as_deref().is_some_and(|t| item.name == sso_client_name(t))
}

/// A `--tenant` observation: the scoped tenants' own clients only (SSO clients, and the
/// clients of their silo pools; the desired world is scoped), by the pages of their pools'
/// clients and one DescribeUserPoolClient each.
async fn observe_sso_clients(
    aws: &Aws,
    desired: &World,
    observed: &World,
    ids: &Ids,
) -> Result<Vec<(String, Item, String)>, AwsError> {
    let mut out = Vec::new();
    for pool in live_pools(observed, ids) {
        // The tenants' own clients: SSO clients, and every client of a silo tenant's pool.
        let wanted: BTreeSet<&str> = desired
            .items
            .values()
            .filter(|i| i.kind == KIND && i.parent.as_deref() == Some(pool.address.as_str()))
            .filter(|i| is_sso_client(i) || i.tenant.is_some())
            .map(|i| i.name.as_str())
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let found = clients_named_described(aws, &pool.id, &|n| wanted.contains(n), None).await?;
        // Oldest first: of twins (settled by `keep_one_client`), the oldest is compared.
        let mut seen = BTreeSet::new();
        for (_, cid, c) in found {
            let name = c.client_name().unwrap_or_default().to_string();
            if !seen.insert(name.clone()) {
                continue;
            }
            let tenant = client_tenant(pool.tenant.as_deref(), &name);
            let it = item(&pool.address, tenant.as_deref(), &name, &client_state(&c));
            out.push((client_address(&pool.address, &name), it, cid));
        }
    }
    Ok(out)
}

/// ListUserPoolClients pages, then DescribeUserPoolClient each: (client id, client).
async fn list_clients(aws: &Aws, pool_id: &str) -> Result<Vec<(String, UserPoolClientType)>, AwsError> {
    let mut client_ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cognito
            .list_user_pool_clients()
            .user_pool_id(pool_id)
            .max_results(60)
            .set_next_token(token.take())
            .send()
            .call(aws, "cognito-idp:ListUserPoolClients", Some(pool_id))
            .await?;
        client_ids.extend(page.user_pool_clients().iter().filter_map(|c| c.client_id().map(str::to_string)));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let clients: Vec<Option<(String, UserPoolClientType)>> =
        futures::stream::iter(client_ids)
            .map(|cid| async move {
                Ok(crate::aws::none_if_gone(describe_client(aws, pool_id, &cid).await)?.map(|c| (cid, c)))
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
    Ok(clients.into_iter().flatten().collect())
}

async fn describe_client(aws: &Aws, pool_id: &str, client_id: &str) -> Result<UserPoolClientType, AwsError> {
    let out = aws
        .cognito
        .describe_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .send()
        .call(aws, "cognito-idp:DescribeUserPoolClient", Some(pool_id))
        .await?;
    out.user_pool_client()
        .cloned()
        .ok_or_else(|| AwsError::Other(format!("DescribeUserPoolClient {client_id}: no client in the answer")))
}

/// CreateUserPoolClient with every managed field; token validities in minutes.
fn create_client_request(
    b: CreateUserPoolClientFluentBuilder,
    pool_id: &str,
    name: &str,
    c: &ClientState,
) -> CreateUserPoolClientFluentBuilder {
    let minutes = |v: Option<i32>| v.map(|_| TimeUnitsType::Minutes);
    let units = TokenValidityUnitsType::builder()
        .set_access_token(minutes(c.access_token_minutes))
        .set_id_token(minutes(c.id_token_minutes))
        .set_refresh_token(minutes(c.refresh_token_minutes))
        .build();
    let non_empty = non_empty_list;
    b.user_pool_id(pool_id)
        .client_name(name)
        .generate_secret(c.generate_secret)
        .set_explicit_auth_flows(
            non_empty(&c.explicit_auth_flows)
                .map(|v| v.iter().map(|f| ExplicitAuthFlowsType::from(f.as_str())).collect()),
        )
        .set_allowed_o_auth_flows(
            non_empty(&c.allowed_oauth_flows).map(|v| v.iter().map(|f| OAuthFlowType::from(f.as_str())).collect()),
        )
        .set_allowed_o_auth_scopes(non_empty(&c.allowed_oauth_scopes))
        .allowed_o_auth_flows_user_pool_client(c.allowed_oauth_flows_user_pool_client)
        .set_callback_urls(non_empty(&c.callback_urls))
        .set_logout_urls(non_empty(&c.logout_urls))
        .set_supported_identity_providers(non_empty(&c.supported_identity_providers))
        .set_read_attributes(non_empty(&c.read_attributes))
        .set_write_attributes(non_empty(&c.write_attributes))
        .set_access_token_validity(c.access_token_minutes)
        .set_id_token_validity(c.id_token_minutes)
        .set_refresh_token_validity(c.refresh_token_minutes)
        .token_validity_units(units)
        .enable_token_revocation(c.enable_token_revocation)
        .prevent_user_existence_errors(prevent_errors(c.prevent_user_existence_errors))
}

/// UpdateUserPoolClient: every field of the live client, with the managed ones replaced.
/// Managed lists are always sent (an empty list clears; leaving it out would not on moto).
fn update_client_request(
    b: UpdateUserPoolClientFluentBuilder,
    live: &UserPoolClientType,
    pool_id: &str,
    client_id: &str,
    name: &str,
    c: &ClientState,
) -> UpdateUserPoolClientFluentBuilder {
    let v = |s: &BTreeSet<String>| Some(s.iter().cloned().collect::<Vec<_>>());
    let live_units = live.token_validity_units();
    // A managed validity is sent in minutes; an unmanaged one (None) as live, in its unit.
    let (access, access_unit) = match c.access_token_minutes {
        Some(m) => (Some(m), Some(TimeUnitsType::Minutes)),
        None => (live.access_token_validity(), live_units.and_then(|u| u.access_token()).cloned()),
    };
    let (id_tok, id_unit) = match c.id_token_minutes {
        Some(m) => (Some(m), Some(TimeUnitsType::Minutes)),
        None => (live.id_token_validity(), live_units.and_then(|u| u.id_token()).cloned()),
    };
    let (refresh, refresh_unit) = match c.refresh_token_minutes {
        Some(m) => (Some(m), Some(TimeUnitsType::Minutes)),
        None => (refresh_validity(live), live_units.and_then(|u| u.refresh_token()).cloned()),
    };
    let units = TokenValidityUnitsType::builder()
        .set_access_token(access_unit)
        .set_id_token(id_unit)
        .set_refresh_token(refresh_unit)
        .build();
    b.user_pool_id(pool_id)
        .client_id(client_id)
        .client_name(name)
        .set_explicit_auth_flows(Some(
            c.explicit_auth_flows.iter().map(|f| ExplicitAuthFlowsType::from(f.as_str())).collect(),
        ))
        .set_allowed_o_auth_flows(Some(c.allowed_oauth_flows.iter().map(|f| OAuthFlowType::from(f.as_str())).collect()))
        .set_allowed_o_auth_scopes(v(&c.allowed_oauth_scopes))
        .allowed_o_auth_flows_user_pool_client(c.allowed_oauth_flows_user_pool_client)
        .set_callback_urls(v(&c.callback_urls))
        .set_logout_urls(v(&c.logout_urls))
        .set_supported_identity_providers(v(&c.supported_identity_providers))
        .set_read_attributes(v(&c.read_attributes))
        .set_write_attributes(v(&c.write_attributes))
        .set_access_token_validity(access)
        .set_id_token_validity(id_tok)
        .set_refresh_token_validity(refresh)
        .token_validity_units(units)
        .enable_token_revocation(c.enable_token_revocation)
        .prevent_user_existence_errors(prevent_errors(c.prevent_user_existence_errors))
        // Unmanaged fields, as live.
        // Kept only while it is still one of the callback URLs sent (AWS refuses a default
        // redirect URI outside CallbackURLs): dropped with its URL, in this same update.
        .set_default_redirect_uri(
            live.default_redirect_uri().filter(|u| c.callback_urls.contains(*u)).map(str::to_string),
        )
        .set_analytics_configuration(live.analytics_configuration().cloned())
        .set_auth_session_validity(live.auth_session_validity())
        .set_enable_propagate_additional_user_context_data(live.enable_propagate_additional_user_context_data())
        .set_refresh_token_rotation(live.refresh_token_rotation().cloned())
}

fn prevent_errors(on: bool) -> PreventUserExistenceErrorTypes {
    if on {
        PreventUserExistenceErrorTypes::Enabled
    } else {
        PreventUserExistenceErrorTypes::Legacy
    }
}

/// A token validity in minutes: `value` in `unit` (or `default_unit` when absent), or
/// `default_minutes` when there is no value.
fn token_minutes(
    value: Option<i32>,
    unit: Option<&TimeUnitsType>,
    default_unit: TimeUnitsType,
    default_minutes: i32,
) -> i32 {
    let Some(v) = value else { return default_minutes };
    match unit.unwrap_or(&default_unit) {
        TimeUnitsType::Seconds => v / 60,
        TimeUnitsType::Minutes => v,
        TimeUnitsType::Hours => v * 60,
        TimeUnitsType::Days => v * 24 * 60,
        _ => v,
    }
}

/// The SDK reads an absent RefreshTokenValidity as 0, which is never a valid value.
fn refresh_validity(c: &UserPoolClientType) -> Option<i32> {
    Some(c.refresh_token_validity()).filter(|v| *v > 0)
}

/// A described app client, normalised.
fn client_state(c: &UserPoolClientType) -> ClientState {
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    let units = c.token_validity_units();
    ClientState {
        generate_secret: c.client_secret().is_some_and(|s| !s.is_empty()),
        explicit_auth_flows: c.explicit_auth_flows().iter().map(|f| f.as_str().to_string()).collect(),
        allowed_oauth_flows: c.allowed_o_auth_flows().iter().map(|f| f.as_str().to_string()).collect(),
        allowed_oauth_scopes: set(c.allowed_o_auth_scopes()),
        allowed_oauth_flows_user_pool_client: c.allowed_o_auth_flows_user_pool_client().unwrap_or(false),
        callback_urls: set(c.callback_urls()),
        logout_urls: set(c.logout_urls()),
        supported_identity_providers: set(c.supported_identity_providers()),
        read_attributes: set(c.read_attributes()),
        write_attributes: set(c.write_attributes()),
        access_token_minutes: Some(token_minutes(
            c.access_token_validity(),
            units.and_then(|u| u.access_token()),
            TimeUnitsType::Hours,
            DEFAULT_TOKEN_MINUTES.0,
        )),
        id_token_minutes: Some(token_minutes(
            c.id_token_validity(),
            units.and_then(|u| u.id_token()),
            TimeUnitsType::Hours,
            DEFAULT_TOKEN_MINUTES.1,
        )),
        refresh_token_minutes: Some(token_minutes(
            refresh_validity(c),
            units.and_then(|u| u.refresh_token()),
            TimeUnitsType::Days,
            DEFAULT_TOKEN_MINUTES.2,
        )),
        enable_token_revocation: c.enable_token_revocation().unwrap_or(true),
        prevent_user_existence_errors: c.prevent_user_existence_errors()
            == Some(&PreventUserExistenceErrorTypes::Enabled),
    }
}

/// The pool's app clients named `name` but `except`: (creation date, id), oldest first.
async fn clients_named(
    aws: &Aws,
    pool_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<Vec<((i64, u32), String)>, AwsError> {
    let named = clients_named_described(aws, pool_id, &|n| n == name, except).await?;
    Ok(named.into_iter().map(|(d, id, _)| (d, id)).collect())
}

/// The pool's app clients whose name is `wanted` but `except`, as described: (creation
/// date, id, client), oldest first. One pass over the list's pages.
async fn clients_named_described(
    aws: &Aws,
    pool_id: &str,
    wanted: &(dyn Fn(&str) -> bool + Sync),
    except: Option<&str>,
) -> Result<Vec<((i64, u32), String, UserPoolClientType)>, AwsError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cognito
            .list_user_pool_clients()
            .user_pool_id(pool_id)
            .max_results(60)
            .set_next_token(token.take())
            .send()
            .call(aws, "cognito-idp:ListUserPoolClients", Some(pool_id))
            .await?;
        for c in page.user_pool_clients().iter().filter(|c| c.client_name().is_some_and(wanted)) {
            let Some(cid) = c.client_id().filter(|c| Some(*c) != except) else { continue };
            match describe_client(aws, pool_id, cid).await {
                Ok(d) => found.push((
                    d.creation_date().copied().map(date_key).unwrap_or((i64::MAX, u32::MAX)),
                    cid.to_string(),
                    d,
                )),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(found)
}

/// `CreateUserPoolClient` accepts a name that is already there: a concurrent apply may have
/// created a twin. As `aws::cognito::keep_one_pool` does for pools: list the pool's clients of that name
/// (again after `TWIN_SETTLE` when none is seen); the oldest (CreationDate, then id) is the
/// keeper for every run that looks, and a run whose client is not the keeper deletes its own.
async fn keep_one_client(
    aws: &Aws,
    pool_id: &str,
    name: &str,
    ours: &str,
    created: Option<aws_smithy_types::DateTime>,
) -> Result<String, AwsError> {
    let mut keeper = ours.to_string();
    for pass in 0..2 {
        if pass == 1 {
            crate::aws::slots::pause(TWIN_SETTLE).await;
        }
        let mut twins = clients_named(aws, pool_id, name, Some(ours)).await?;
        twins.push((created.map(date_key).unwrap_or((i64::MAX, u32::MAX)), ours.to_string()));
        twins.sort();
        keeper = twins[0].1.clone();
        if twins.len() > 1 {
            break;
        }
    }
    if keeper != ours {
        aws.limiter.acquire_op("cognito-idp:DeleteUserPoolClient", Some(pool_id)).await;
        aws.cognito.delete_user_pool_client().user_pool_id(pool_id).client_id(ours).send().await.map_err(|e| {
            AwsError::Conflict(format!(
                "app client {ours} `{name}` was created while another run created {keeper}; deleting the extra client failed: {}. \
                 Delete it, then run again",
                call_err("cognito-idp:DeleteUserPoolClient", e)
            ))
        })?;
    }
    Ok(keeper)
}

// ---------------------------------------------------------------- validation

/// OAuth scopes per app client (Cognito).
pub const MAX_SCOPES_PER_CLIENT: usize = 50;

/// App clients per user pool (Cognito quota).
pub const MAX_APP_CLIENTS: usize = 1000;

/// Scopes every app client may ask for without a resource server.
pub const STANDARD_SCOPES: &[&str] = &["openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"];

/// Cognito's standard attributes (a client may read or write them without declaring them).
const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

/// The auth flows Cognito knows (`ExplicitAuthFlows`).
const AUTH_FLOWS: &[&str] = &[
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "CUSTOM_AUTH",
    "USER_PASSWORD_AUTH",
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "USER_AUTH",
];

/// What Cognito accepts of the app clients (`Kind::validate`), the tenants' SSO clients
/// counted in.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    let mut out = Vec::new();
    if up.app_clients.len() > MAX_APP_CLIENTS {
        out.push(p.at(
            "userPool.appClients",
            format!("{} app clients exceed Cognito's {MAX_APP_CLIENTS} per pool", up.app_clients.len()),
        ));
    }
    let mut client_names = HashSet::new();
    for (i, c) in up.app_clients.iter().enumerate() {
        let path = format!("userPool.appClients[{i}]");
        if !client_names.insert(c.name.clone()) {
            out.push(p.at(&format!("{path}.name"), format!("app client `{}` is declared twice", c.name)));
        }
        if c.name.is_empty() || c.name.len() > 128 || c.name.ends_with("-sso") {
            out.push(p.at(&format!("{path}.name"), format!("app client name `{}` must be 1-128 characters and not end in -sso (reserved for tenant SSO clients)", c.name.escape_debug())));
        }
        for (j, f) in c.auth_flows.iter().enumerate() {
            if !AUTH_FLOWS.contains(&f.as_str()) {
                out.push(
                    p.at(&format!("{path}.authFlows[{j}]"), format!("unknown auth flow `{f}`"))
                        .hint("e.g. USER_SRP_AUTH, REFRESH_TOKEN_AUTH, USER_PASSWORD_AUTH"),
                );
            }
        }
        if !c.auth_flows.is_empty()
            && !c.auth_flows.iter().any(|f| f == "REFRESH_TOKEN_AUTH" || f == "ALLOW_REFRESH_TOKEN_AUTH")
        {
            out.push(
                p.at(
                    &format!("{path}.authFlows"),
                    format!("app client `{}`: Cognito refuses a list of auth flows without REFRESH_TOKEN_AUTH", c.name),
                )
                .hint("add REFRESH_TOKEN_AUTH to authFlows (or leave authFlows out: USER_SRP_AUTH and REFRESH_TOKEN_AUTH)"),
            );
        }
    }
    attribute_rules(folder, &mut out);
    oauth_rules(folder, &mut out);
    sso_client_rules(folder, &mut out);
    out
}

/// The attributes a client reads and writes: standard or declared, never the tenant attribute
/// written.
fn attribute_rules(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    let ta_full = format!("custom:{}", up.tenant_attribute);
    let custom: HashSet<String> = up
        .custom_attributes
        .iter()
        .map(|a| format!("custom:{}", a.name.strip_prefix("custom:").unwrap_or(&a.name)))
        .chain(std::iter::once(ta_full.clone()))
        .collect();
    for (i, c) in up.app_clients.iter().enumerate() {
        let path = format!("userPool.appClients[{i}]");
        for (field, list) in [("readAttributes", &c.read_attributes), ("writeAttributes", &c.write_attributes)] {
            for (j, a) in list.iter().enumerate() {
                let known = STANDARD_ATTRIBUTES.contains(&a.as_str()) || custom.contains(a);
                if !known {
                    out.push(
                        p.at(
                            &format!("{path}.{field}[{j}]"),
                            format!("attribute `{a}` is neither a standard attribute nor a declared custom attribute"),
                        )
                        .hint("custom attributes are written `custom:<name>`"),
                    );
                }
            }
        }
        if let Some(j) = c.write_attributes.iter().position(|a| *a == ta_full) {
            if up.self_sign_up {
                out.push(
                    p.at(&format!("{path}.writeAttributes[{j}]"), format!("self sign-up is on and app client `{}` may write the tenant attribute `{ta_full}`: anyone could sign up into any tenant", c.name))
                        .hint("remove the tenant attribute from writeAttributes; set it with admin calls only"),
                );
            } else {
                out.push(
                    p.at(
                        &format!("{path}.writeAttributes[{j}]"),
                        format!("app client `{}` may not write the tenant attribute `{ta_full}`", c.name),
                    )
                    .hint("the tenant attribute is set by administrators only; remove it from writeAttributes"),
                );
            }
        }
    }
}

/// A client's OAuth settings (scopes, flows, callback URLs) and token validities.
fn oauth_rules(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    let declared_scopes: HashSet<String> = up
        .resource_servers
        .iter()
        .flat_map(|rs| rs.scopes.iter().map(move |s| format!("{}/{}", rs.identifier, s.name)))
        .collect();
    for (i, c) in up.app_clients.iter().enumerate() {
        let path = format!("userPool.appClients[{i}]");
        if let Some(o) = &c.oauth {
            if o.scopes.len() > MAX_SCOPES_PER_CLIENT {
                out.push(p.at(
                    &format!("{path}.oauth.scopes"),
                    format!("{} scopes exceed Cognito's {MAX_SCOPES_PER_CLIENT} per app client", o.scopes.len()),
                ));
            }
            for (j, s) in o.scopes.iter().enumerate() {
                if !STANDARD_SCOPES.contains(&s.as_str()) && !declared_scopes.contains(s) {
                    out.push(
                        p.at(
                            &format!("{path}.oauth.scopes[{j}]"),
                            format!("scope `{s}` is declared by no resource server"),
                        )
                        .hint("declare it under userPool.resourceServers, as <identifier>/<scope>"),
                    );
                }
            }
            for (j, f) in o.flows.iter().enumerate() {
                if !["code", "implicit", "client_credentials"].contains(&f.as_str()) {
                    out.push(p.at(
                        &format!("{path}.oauth.flows[{j}]"),
                        format!("unknown OAuth flow `{f}` (code, implicit, client_credentials)"),
                    ));
                }
            }
            for (j, u) in o.callback_urls.iter().enumerate() {
                if !(u.starts_with("https://") || is_loopback_http(u)) || u.contains('#') || u.contains('*') {
                    out.push(p.at(&format!("{path}.oauth.callbackUrls[{j}]"), format!("callback URL `{u}` must be an https URL without fragment or wildcard (http only for localhost or 127.0.0.1)")));
                }
            }
        }
        if let Some(tv) = &c.token_validity {
            for (field, val, lo, hi) in [
                ("access", &tv.access, 5, 24 * 60),
                ("id", &tv.id, 5, 24 * 60),
                ("refresh", &tv.refresh, 60, 3650 * 24 * 60),
            ] {
                if let Some(s) = val {
                    match duration_minutes(s) {
                        Some(m) if (lo..=hi).contains(&m) => {}
                        Some(_) => out.push(p.at(
                            &format!("{path}.tokenValidity.{field}"),
                            format!("{field} token validity `{s}` is outside Cognito's limits"),
                        )),
                        None => out.push(p.at(
                            &format!("{path}.tokenValidity.{field}"),
                            format!("token validity `{s}` must be a number with m, h or d, e.g. 60m"),
                        )),
                    }
                }
            }
        }
    }
}

/// A tenant with an identity provider gets its SSO client `<tenant>-sso` in its pool, next to
/// the folder's clients: together at most Cognito's clients per pool.
fn sso_client_rules(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let pl = &folder.platform.value;
    let up = &pl.user_pool;
    let mut sso_clients: BTreeMap<String, usize> = BTreeMap::new();
    for t in &folder.tenants {
        let tv = &t.value;
        let pool = match tv.isolation {
            Isolation::Pooled => names::shared_pool(&pl.name),
            Isolation::Silo => names::silo_pool(&pl.name, &tv.id),
        };
        if !tv.identity_providers.is_empty() {
            // The tenant's SSO client `<tenant>-sso` sits in its pool next to the folder's clients.
            let n = sso_clients.entry(pool.clone()).or_insert(up.app_clients.len());
            *n += 1;
            if *n == MAX_APP_CLIENTS + 1 {
                out.push(
                    t.at("identityProviders", format!("tenant `{}`'s SSO client `{}-sso` takes pool `{pool}` past Cognito's {MAX_APP_CLIENTS} app clients per pool", tv.id, tv.id))
                        .hint("make some tenants silo (a pool each), or declare fewer app clients"),
                );
            }
        }
    }
}

/// An `http://` URL whose host is exactly `localhost` or `127.0.0.1` (any port): the only
/// plain-http callback URLs Cognito accepts.
fn is_loopback_http(u: &str) -> bool {
    let Some(rest) = u.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return false,
        None => authority,
    };
    host == "localhost" || host == "127.0.0.1"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_client() -> aws_sdk_cognitoidentityprovider::Client {
        let conf = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .region(aws_sdk_cognitoidentityprovider::config::Region::new("us-east-1"))
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(conf)
    }

    #[test]
    fn token_validity_in_minutes() {
        assert_eq!(token_minutes(Some(1), None, TimeUnitsType::Hours, 60), 60);
        assert_eq!(token_minutes(Some(30), None, TimeUnitsType::Days, 0), 43200);
        assert_eq!(token_minutes(Some(90), Some(&TimeUnitsType::Minutes), TimeUnitsType::Hours, 0), 90);
        assert_eq!(token_minutes(Some(3600), Some(&TimeUnitsType::Seconds), TimeUnitsType::Hours, 0), 60);
        assert_eq!(token_minutes(None, None, TimeUnitsType::Hours, 60), 60);
    }

    #[test]
    fn minimal_client_normalises_to_defaults() {
        // What moto answers for a client created with a name only.
        let c = UserPoolClientType::builder()
            .client_name("web")
            .refresh_token_validity(30)
            .enable_token_revocation(true)
            .allowed_o_auth_flows_user_pool_client(false)
            .auth_session_validity(3)
            .build();
        let s = client_state(&c);
        assert_eq!(s.access_token_minutes, Some(60));
        assert_eq!(s.id_token_minutes, Some(60));
        assert_eq!(s.refresh_token_minutes, Some(43200));
        assert!(s.enable_token_revocation);
        assert!(!s.prevent_user_existence_errors);
        assert!(!s.generate_secret);
        assert!(s.read_attributes.is_empty());
    }

    #[test]
    fn update_client_keeps_unmanaged_and_sets_managed() {
        let live = UserPoolClientType::builder()
            .client_name("web")
            .default_redirect_uri("https://app.example/cb")
            .auth_session_validity(7)
            .enable_propagate_additional_user_context_data(true)
            .read_attributes("phone_number")
            .build();
        let desired = ClientState {
            // AWS refuses a list without ALLOW_REFRESH_TOKEN_AUTH.
            explicit_auth_flows: BTreeSet::from([
                "ALLOW_USER_SRP_AUTH".to_string(),
                "ALLOW_REFRESH_TOKEN_AUTH".to_string(),
            ]),
            callback_urls: BTreeSet::from(["https://app.example/cb".to_string()]),
            read_attributes: BTreeSet::from(["email".to_string()]),
            access_token_minutes: Some(30),
            id_token_minutes: Some(60),
            refresh_token_minutes: Some(1440),
            enable_token_revocation: true,
            prevent_user_existence_errors: true,
            ..ClientState::default()
        };
        let b = update_client_request(offline_client().update_user_pool_client(), &live, "p1", "c1", "web", &desired);
        let i = b.as_input();
        assert_eq!(i.get_default_redirect_uri().as_deref(), Some("https://app.example/cb"));
        assert_eq!(i.get_auth_session_validity(), &Some(7));
        assert_eq!(i.get_enable_propagate_additional_user_context_data(), &Some(true));
        assert_eq!(i.get_read_attributes(), &Some(vec!["email".to_string()]));
        // Empty managed lists are sent, to clear.
        assert_eq!(i.get_logout_urls(), &Some(vec![]));
        assert_eq!(i.get_access_token_validity(), &Some(30));
        assert_eq!(i.get_token_validity_units().as_ref().unwrap().refresh_token(), Some(&TimeUnitsType::Minutes));
        assert_eq!(i.get_prevent_user_existence_errors(), &Some(PreventUserExistenceErrorTypes::Enabled));

        // And what we sent reads back as the desired state.
        let echoed = UserPoolClientType::builder()
            .set_explicit_auth_flows(i.get_explicit_auth_flows().clone())
            .set_read_attributes(i.get_read_attributes().clone())
            .set_write_attributes(i.get_write_attributes().clone())
            .set_access_token_validity(*i.get_access_token_validity())
            .set_id_token_validity(*i.get_id_token_validity())
            .set_refresh_token_validity(*i.get_refresh_token_validity())
            .set_token_validity_units(i.get_token_validity_units().clone())
            .set_enable_token_revocation(*i.get_enable_token_revocation())
            .set_prevent_user_existence_errors(i.get_prevent_user_existence_errors().clone())
            .set_allowed_o_auth_flows_user_pool_client(*i.get_allowed_o_auth_flows_user_pool_client())
            .set_callback_urls(i.get_callback_urls().clone())
            .build();
        assert_eq!(client_state(&echoed), desired);
    }

    /// AWS refuses an UpdateUserPoolClient whose DefaultRedirectURI is not one of its
    /// CallbackURLs: when the folder drops the live default's URL, the update clears it.
    #[test]
    fn default_redirect_uri_dropped_with_its_callback_url() {
        let live = UserPoolClientType::builder()
            .client_name("web")
            .default_redirect_uri("https://old.example/cb")
            .callback_urls("https://old.example/cb")
            .build();
        let desired = ClientState {
            explicit_auth_flows: BTreeSet::from([
                "ALLOW_USER_SRP_AUTH".to_string(),
                "ALLOW_REFRESH_TOKEN_AUTH".to_string(),
            ]),
            callback_urls: BTreeSet::from(["https://new.example/cb".to_string()]),
            ..ClientState::default()
        };
        let b = update_client_request(offline_client().update_user_pool_client(), &live, "p1", "c1", "web", &desired);
        let i = b.as_input();
        assert_eq!(i.get_default_redirect_uri(), &None);
        assert_eq!(i.get_callback_urls(), &Some(vec!["https://new.example/cb".to_string()]));
    }
}

#[cfg(test)]
mod sso_tests;
