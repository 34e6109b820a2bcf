//! `identity_provider`: a user pool's external identity providers (contract §1.4): the pool's
//! own (`userPool.identityProviders`: google, facebook, amazon, apple, oidc, saml; in every
//! managed pool, under their declared names) and each tenant's (`identityProviders`: oidc,
//! saml; named `<tenant>-<name>`, in the tenant's pool).
//!
//! - **Secrets.** A provider's client secret (apple: its private key) is read from the
//!   environment variable `clientSecretEnv` names, when planning and again when applying; it
//!   is never in the item's state, so never in a plan, a plan file, output or logs. A missing
//!   variable stops the plan before any write ([`ItemRules::check`]).
//! - **Fingerprints.** Cognito's identity providers take no tags, and tenantctl treats their
//!   secret as unreadable. So tenantctl keeps a fingerprint of what it set in the provider's
//!   `IdpIdentifiers`: one identifier `tenantctl-<24 hex>`, the first 96 bits of
//!   SHA-256(`tenantctl-idp\0<provider name>\0<secret>`) (the name makes it unique in the pool,
//!   as Cognito requires of identifiers; 96 bits of a salted hash do not help guessing a real
//!   secret). The plan compares fingerprints and shows the field `client_secret` as
//!   `(sensitive) fingerprint ...`; a changed secret is an update. tenantctl owns the
//!   provider's `IdpIdentifiers` (the folder declares none).
//! - **Ownership.** The same identifier marks a provider as tenantctl's: observation keeps
//!   only marked providers, so a provider made by hand in a managed pool is never changed or
//!   deleted. An undeclared marked provider is deleted (a tenant's without a file: an orphan).
//! - **Observation.** Only when the folder declares a provider (pool or tenant): then every
//!   managed pool's `ListIdentityProviders` (pages of 60) and one `DescribeIdentityProvider`
//!   per provider. A folder that declares none leaves the live ones alone (like domains).
//!   A `--tenant` observation describes only the named tenants' providers (none at all, not
//!   even a list, when they declare none).
//! - A provider's type cannot change (`UpdateIdentityProvider` has no type): a `replace`.
//! - The provider goes with its pool (a silo pool's deletion removes its providers).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::cognito::READ_CONCURRENCY;
use crate::aws::{call_err, none_if_gone, Aws, AwsError, Call};
use crate::plan::diff_values;
use crate::plan::quotas::{self, AccountFigures};
use crate::plan::{Deps, FieldChange, ItemRules, Key, Plan, PlanError, Resource};
use crate::spec::desired::names;
use crate::spec::model::{IdpType, Isolation, PoolIdpType};
use crate::spec::validate::{env_name_re, re, role_re};
use crate::spec::{Diagnostic, Folder};
use crate::state::{Ids, Item, World};

pub struct IdentityProvider;

pub const KIND: &str = "identity_provider";
/// The prefix of the `IdpIdentifiers` entry that marks and fingerprints a provider.
pub const MARKER_PREFIX: &str = "tenantctl-";
const SENSITIVE: &str = "(sensitive) fingerprint ";

/// `<pool address>/identity_provider/<physical name>`
pub fn address(pool: &str, name: &str) -> String {
    format!("{pool}/identity_provider/{name}")
}

/// The physical name of a tenant's provider (contract §1.4).
pub fn tenant_provider_name(tenant: &str, name: &str) -> String {
    format!("{tenant}-{name}")
}

/// The state tenantctl compares (never the secret itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdpState {
    /// Cognito's ProviderType: Google | Facebook | LoginWithAmazon | SignInWithApple | OIDC | SAML.
    #[serde(rename = "type")]
    pub provider_type: String,
    /// The ProviderDetails tenantctl manages (without the secret).
    pub details: BTreeMap<String, String>,
    pub attribute_mapping: BTreeMap<String, String>,
    /// `(sensitive) fingerprint <hex>` when the provider has a secret; null otherwise; the
    /// desired side holds None with `secret_env` set when the variable is missing.
    pub client_secret: Option<String>,
    /// The environment variable holding the secret (desired side only; not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

/// The `IdpIdentifiers` marker of a provider and secret ("" when it has none).
pub fn marker(provider: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"tenantctl-idp\0");
    h.update(provider.as_bytes());
    h.update(b"\0");
    h.update(secret.as_bytes());
    let d = h.finalize();
    format!("{MARKER_PREFIX}{}", d[..12].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn shown(marker: &str) -> String {
    format!("{SENSITIVE}{}", marker.trim_start_matches(MARKER_PREFIX))
}

/// The ProviderDetails key the secret goes in, by provider type (None: no secret).
fn secret_key(provider_type: &str) -> &'static str {
    if provider_type == "SignInWithApple" {
        "private_key"
    } else {
        "client_secret"
    }
}

/// The ProviderDetails keys tenantctl manages, by provider type (Cognito adds others it
/// discovers, e.g. an OIDC provider's endpoints; they are not compared).
fn managed_keys(provider_type: &str) -> &'static [&'static str] {
    match provider_type {
        "Google" | "Facebook" | "LoginWithAmazon" => &["client_id", "authorize_scopes"],
        "SignInWithApple" => &["client_id", "team_id", "key_id", "authorize_scopes"],
        "OIDC" => &["client_id", "oidc_issuer", "attributes_request_method", "authorize_scopes"],
        "SAML" => &["MetadataURL"],
        _ => &[],
    }
}

struct Declared<'a> {
    name: String,
    provider_type: &'static str,
    client_id: Option<&'a String>,
    secret_env: Option<&'a String>,
    scopes: &'a [String],
    issuer: Option<&'a String>,
    metadata_url: Option<&'a String>,
    team_id: Option<&'a String>,
    key_id: Option<&'a String>,
    attribute_mapping: &'a BTreeMap<String, String>,
}

/// The desired state of a declared provider; the secret is read from the environment (`env`
/// looks a variable up; the process environment outside tests).
fn state(d: &Declared<'_>, env: &dyn Fn(&str) -> Option<String>) -> IdpState {
    let mut details = BTreeMap::new();
    let t = d.provider_type;
    if let Some(c) = d.client_id {
        details.insert("client_id".to_string(), c.clone());
    }
    let (default_scopes, sep) = match t {
        "Google" => ("openid email profile", " "),
        "Facebook" => ("public_profile,email", ","),
        "LoginWithAmazon" => ("profile", " "),
        "SignInWithApple" => ("email name", " "),
        "OIDC" => ("openid email", " "),
        _ => ("", " "),
    };
    if t != "SAML" {
        let scopes = if d.scopes.is_empty() { default_scopes.to_string() } else { d.scopes.join(sep) };
        details.insert("authorize_scopes".to_string(), scopes);
    }
    if let Some(i) = d.issuer {
        details.insert("oidc_issuer".to_string(), i.clone());
        details.insert("attributes_request_method".to_string(), "GET".to_string());
    }
    if let Some(m) = d.metadata_url {
        details.insert("MetadataURL".to_string(), m.clone());
    }
    if let Some(v) = d.team_id {
        details.insert("team_id".to_string(), v.clone());
    }
    if let Some(v) = d.key_id {
        details.insert("key_id".to_string(), v.clone());
    }
    let client_secret = match d.secret_env {
        Some(var) => env(var).filter(|s| !s.is_empty()).map(|s| shown(&marker(&d.name, &s))),
        None => None,
    };
    IdpState {
        provider_type: t.to_string(),
        details,
        attribute_mapping: d.attribute_mapping.clone(),
        client_secret,
        secret_env: d.secret_env.cloned(),
    }
}

fn item(name: &str, pool: &str, tenant: Option<&str>, st: &IdpState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: name.to_string(),
        tenant: tenant.map(str::to_string),
        parent: Some(pool.to_string()),
        state: serde_json::to_value(st).unwrap_or(Value::Null),
        after: Vec::new(),
    }
}

fn pool_type(t: PoolIdpType) -> &'static str {
    match t {
        PoolIdpType::Google => "Google",
        PoolIdpType::Facebook => "Facebook",
        PoolIdpType::Amazon => "LoginWithAmazon",
        PoolIdpType::Apple => "SignInWithApple",
        PoolIdpType::Oidc => "OIDC",
        PoolIdpType::Saml => "SAML",
    }
}

/// Whether the folder declares any provider (else nothing is observed).
pub(crate) fn declares_any(folder: &Folder) -> bool {
    !folder.platform.value.user_pool.identity_providers.is_empty()
        || folder.tenants.iter().any(|t| !t.value.identity_providers.is_empty())
}

/// The desired providers, given a way to read environment variables.
pub fn desired_with(folder: &Folder, world: &World, env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, Item)> {
    let pl = &folder.platform.value;
    let pools = world.pools();
    let mut out = Vec::new();
    for (pool, p) in &pools {
        for idp in &pl.user_pool.identity_providers {
            let d = Declared {
                name: idp.name.clone(),
                provider_type: pool_type(idp.idp_type),
                client_id: idp.client_id.as_ref(),
                secret_env: idp.client_secret_env.as_ref(),
                scopes: &idp.scopes,
                issuer: idp.issuer.as_ref(),
                metadata_url: idp.metadata_url.as_ref(),
                team_id: idp.team_id.as_ref(),
                key_id: idp.key_id.as_ref(),
                attribute_mapping: &idp.attribute_mapping,
            };
            out.push((address(pool, &idp.name), item(&idp.name, pool, p.tenant.as_deref(), &state(&d, env))));
        }
    }
    for t in &folder.tenants {
        let tv = &t.value;
        let Some(pool) = tenant_pool(&pools, tv) else { continue };
        for idp in &tv.identity_providers {
            let name = tenant_provider_name(&tv.id, &idp.name);
            let d = Declared {
                name: name.clone(),
                provider_type: match idp.idp_type {
                    IdpType::Oidc => "OIDC",
                    IdpType::Saml => "SAML",
                },
                client_id: idp.client_id.as_ref().filter(|_| idp.idp_type == IdpType::Oidc),
                secret_env: idp.client_secret_env.as_ref(),
                scopes: &idp.scopes,
                issuer: idp.issuer.as_ref().filter(|_| idp.idp_type == IdpType::Oidc),
                metadata_url: idp.metadata_url.as_ref().filter(|_| idp.idp_type == IdpType::Saml),
                team_id: None,
                key_id: None,
                attribute_mapping: &idp.attribute_mapping,
            };
            out.push((address(pool, &name), item(&name, pool, Some(&tv.id), &state(&d, env))));
        }
    }
    out
}

/// The address of a tenant's pool (its silo pool, or the shared pool), among `pools`.
pub(crate) fn tenant_pool<'a>(
    pools: &'a BTreeMap<String, crate::state::PoolState>,
    tv: &crate::spec::model::Tenant,
) -> Option<&'a String> {
    pools
        .iter()
        .find(|(_, p)| p.tenant.as_deref() == Some(tv.id.as_str()))
        .or_else(|| match tv.isolation {
            crate::spec::model::Isolation::Pooled => pools.iter().find(|(_, p)| p.tenant.is_none()),
            crate::spec::model::Isolation::Silo => None,
        })
        .map(|(a, _)| a)
}

/// The state compared: without the variable's name, and without Cognito's own `username`
/// mapping when the folder maps nothing onto `username`.
fn comparable(v: &Value, declared_username: bool) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("secret_env");
        if !declared_username {
            if let Some(am) = m.get_mut("attribute_mapping").and_then(Value::as_object_mut) {
                am.remove("username");
            }
        }
    }
    v
}

impl ItemRules for IdentityProvider {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// Identity providers per user pool: the pool's own in every managed pool, plus each
    /// tenant's in its pool (providers made by hand there count too, but tenantctl does not
    /// read them).
    fn check_quotas(&self, _plan: &Plan, desired: &World, _figures: &AccountFigures) -> Result<(), PlanError> {
        quotas::per_pool(
            desired,
            KIND,
            quotas::IDENTITY_PROVIDERS_PER_POOL,
            "Cognito identity providers per user pool",
            "request a higher quota in Service Quotas (Amazon Cognito User Pools: identity providers per user pool), or move tenants with their own identity provider to silo pools (each holds its own)",
        )
    }

    /// After its pool's clients change or go: they may offer it.
    fn delete_order(&self, live: &Item, deps: &mut Deps) {
        // `app_client` (its module names this kind: no import back).
        let client = Resource::new("app_client");
        deps.needs.extend(live.parent.iter().map(|pool| Key::In(client, pool.clone())));
    }

    fn replace_on(&self) -> &'static [&'static str] {
        &["type"]
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    fn compare(&self, _address: &str, desired: &Item, live: &Item, _ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        let declared_username = desired.state["attribute_mapping"].get("username").is_some();
        Ok(diff_values("", &comparable(&live.state, declared_username), &comparable(&desired.state, declared_username)))
    }

    fn check(&self, desired: &World, observed: &World, _ids: &Ids) -> Result<(), PlanError> {
        let taken: Vec<String> = observed
            .items
            .iter()
            .filter(|(_, i)| i.kind == KIND && i.state.get(UNMANAGED).is_some())
            .map(|(a, i)| format!("`{}` ({a})", i.name))
            .collect();
        if !taken.is_empty() {
            return Err(PlanError::Check {
                message: format!(
                    "identity provider {} exists in its pool but was not made by tenantctl (it lacks tenantctl's `{MARKER_PREFIX}` identifier): tenantctl does not take it over",
                    taken.join(", ")
                ),
                hint: "delete or rename the live provider, or declare the provider under another name".into(),
            });
        }
        let missing: Vec<String> = desired
            .items
            .values()
            .filter(|i| i.kind == KIND)
            .filter_map(|i| {
                let st: IdpState = serde_json::from_value(i.state.clone()).ok()?;
                match (&st.secret_env, &st.client_secret) {
                    (Some(var), None) => Some(format!("`{var}` (identity provider `{}`)", i.name)),
                    _ => None,
                }
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(PlanError::Check {
            message: format!("the environment variable holding an identity provider's secret is not set: {}", missing.join(", ")),
            hint: "set it (tenantctl reads identity provider secrets from the environment when it plans and applies; they are never written to YAML)".into(),
        })
    }
}

/// The state of a live provider of a declared name that tenantctl did not make.
const UNMANAGED: &str = "unmanaged";

/// The secret for a create or update: read from the environment again, and checked against
/// the fingerprint the plan showed.
fn secret_for(item: &Item, st: &IdpState) -> Result<Option<String>, AwsError> {
    let Some(var) = &st.secret_env else { return Ok(None) };
    let secret = std::env::var(var).ok().filter(|s| !s.is_empty()).ok_or_else(|| {
        AwsError::Other(format!(
            "identity provider `{}`: the environment variable `{var}` holding its secret is not set",
            item.name
        ))
    })?;
    if st.client_secret.as_deref() != Some(shown(&marker(&item.name, &secret)).as_str()) {
        return Err(AwsError::Other(format!(
            "identity provider `{}`: the secret in `{var}` is not the one the plan was made with; plan again",
            item.name
        )));
    }
    Ok(Some(secret))
}

fn details_with_secret(
    item: &Item,
    st: &IdpState,
) -> Result<(std::collections::HashMap<String, String>, String), AwsError> {
    let secret = secret_for(item, st)?;
    let mut details: std::collections::HashMap<String, String> = st.details.clone().into_iter().collect();
    if let Some(s) = &secret {
        details.insert(secret_key(&st.provider_type).to_string(), s.clone());
    }
    Ok((details, marker(&item.name, secret.as_deref().unwrap_or(""))))
}

/// The observed state of a described provider, when it carries tenantctl's marker.
pub fn observed_state(
    name: &str,
    p: &aws_sdk_cognitoidentityprovider::types::IdentityProviderType,
) -> Option<IdpState> {
    let mark = p.idp_identifiers().iter().find(|i| i.starts_with(MARKER_PREFIX))?;
    let provider_type = p.provider_type().map(|t| t.as_str().to_string()).unwrap_or_default();
    let live = p.provider_details().cloned().unwrap_or_default();
    let details =
        managed_keys(&provider_type).iter().filter_map(|k| live.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
    let client_secret = (*mark != marker(name, "")).then(|| shown(mark));
    Some(IdpState {
        provider_type,
        details,
        attribute_mapping: p.attribute_mapping().cloned().unwrap_or_default().into_iter().collect(),
        client_secret,
        secret_env: None,
    })
}

/// Managed pools with a known id: (address, tenant, id).
pub(crate) fn pools_with_ids(observed: &World, ids: &Ids) -> Vec<(String, Option<String>, String)> {
    observed
        .pools()
        .iter()
        .filter_map(|(addr, p)| Some((addr.clone(), p.tenant.clone(), ids.id(addr)?.to_string())))
        .collect()
}

/// The tenant a marked provider belongs to: a silo pool's tenant, or the `<tenant>` of a
/// `<tenant>-<name>` provider in the shared pool; None for the pool's own.
fn owner(pool_tenant: Option<&str>, name: &str) -> Option<String> {
    if let Some(t) = pool_tenant {
        return Some(t.to_string());
    }
    let (tenant, rest) = name.rsplit_once('-')?;
    let provider_like = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (!tenant.is_empty() && provider_like).then(|| tenant.to_string())
}

impl Kind for IdentityProvider {
    /// Per pool, as soon as the pool is read.
    fn read_per(&self) -> Option<&'static str> {
        Some(crate::state::POOL_KIND)
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, world: &World) -> Desired {
        Ok(desired_with(folder, world, &|var| std::env::var(var).ok()))
    }

    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let desired = scope.desired;
        let scoped = scope.scoped();
        let observed = scope.observed;
        let ids = scope.ids;
        async move {
            if !declares_any(folder) {
                return Ok(Vec::new());
            }
            // A `--tenant` plan compares only the named tenants' providers (and deletes
            // nothing undeclared): it describes only those.
            let wanted = |pool: &str, name: &str| !scoped || desired.items.contains_key(&address(pool, name));
            if scoped && !desired.items.values().any(|i| i.kind == KIND) {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            for (pool, tenant, pool_id) in pools_with_ids(observed, ids) {
                let mut names = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let page = aws
                        .cognito
                        .list_identity_providers()
                        .user_pool_id(&pool_id)
                        .max_results(60)
                        .set_next_token(token.take())
                        .send()
                        .call(aws, "cognito-idp:ListIdentityProviders", Some(&pool_id))
                        .await?;
                    names.extend(
                        page.providers()
                            .iter()
                            .filter_map(|p| p.provider_name())
                            .filter(|n| wanted(&pool, n))
                            .map(str::to_string),
                    );
                    match page.next_token().filter(|t| !t.is_empty()) {
                        Some(t) => token = Some(t.to_string()),
                        None => break,
                    }
                }
                // One DescribeIdentityProvider each, several at a time (paced by the limiter).
                let described: Vec<Option<(String, aws_sdk_cognitoidentityprovider::types::IdentityProviderType)>> =
                    futures::stream::iter(names)
                        .map(|name| {
                            let pool_id = &pool_id;
                            async move {
                                let out = aws
                                    .cognito
                                    .describe_identity_provider()
                                    .user_pool_id(pool_id)
                                    .provider_name(&name)
                                    .send()
                                    .call(aws, "cognito-idp:DescribeIdentityProvider", Some(pool_id))
                                    .await;
                                Ok(none_if_gone(out)?.and_then(|d| d.identity_provider().cloned()).map(|p| (name, p)))
                            }
                        })
                        .buffered(READ_CONCURRENCY)
                        .try_collect()
                        .await?;
                for (name, p) in described.into_iter().flatten() {
                    let p = &p;
                    let addr = address(&pool, &name);
                    let Some(st) = observed_state(&name, p) else {
                        // Not tenantctl's: left alone, unless the folder declares one of that
                        // name there, which `check` refuses (tenantctl never takes it over).
                        if desired.items.contains_key(&addr) {
                            let it = Item {
                                kind: KIND.to_string(),
                                name: name.clone(),
                                tenant: owner(tenant.as_deref(), &name),
                                parent: Some(pool.clone()),
                                state: json!({UNMANAGED: true}),
                                after: Vec::new(),
                            };
                            out.push((addr, it, name));
                        }
                        continue;
                    };
                    let it = item(&name, &pool, owner(tenant.as_deref(), &name).as_deref(), &st);
                    out.push((addr, it, name));
                }
            }
            Ok(out)
        }
        .boxed()
    }

    fn inventory(&self, address: &str, item: &Item, ids: &Ids, _ctx: &crate::aws::Ctx) -> Option<Value> {
        // A provider tenantctl did not make is not listed.
        (item.state.get(UNMANAGED).is_none()).then(|| {
            json!({"resource": item.kind, "address": address, "name": item.name, "tenant": item.tenant, "id": ids.id(address)})
        })
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let pool = parent.ok_or_else(|| AwsError::Other(format!("identity provider `{}`: no pool", item.name)))?;
            let st: IdpState = super::typed(item)?;
            let (details, mark) = details_with_secret(item, &st)?;
            aws.cognito
                .create_identity_provider()
                .user_pool_id(pool)
                .provider_name(&item.name)
                .provider_type(st.provider_type.as_str().into())
                .set_provider_details(Some(details))
                .set_attribute_mapping(Some(st.attribute_mapping.clone().into_iter().collect()))
                .idp_identifiers(mark)
                .send()
                .call(aws, "cognito-idp:CreateIdentityProvider", Some(pool))
                .await?;
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
            let pool = parent.ok_or_else(|| AwsError::Other(format!("identity provider `{}`: no pool", item.name)))?;
            let st: IdpState = super::typed(item)?;
            let (details, mark) = details_with_secret(item, &st)?;
            aws.cognito
                .update_identity_provider()
                .user_pool_id(pool)
                .provider_name(id)
                .set_provider_details(Some(details))
                .set_attribute_mapping(Some(st.attribute_mapping.clone().into_iter().collect()))
                .idp_identifiers(mark)
                .send()
                .call(aws, "cognito-idp:UpdateIdentityProvider", Some(pool))
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        _live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            aws.limiter.acquire_op("cognito-idp:DeleteIdentityProvider", parent).await;
            let out = aws
                .cognito
                .delete_identity_provider()
                .set_user_pool_id(parent.map(str::to_string))
                .provider_name(id)
                .send()
                .await;
            crate::aws::done_if_gone(out.map_err(|e| call_err("cognito-idp:DeleteIdentityProvider", e)))
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

// ---------------------------------------------------------------- validation

pub const MAX_IDP_NAME: usize = 32;

/// Identity providers per user pool (Cognito quota).
pub const MAX_IDPS_PER_POOL: usize = 300;

/// What Cognito accepts of the identity providers (`Kind::validate`, contract §1.4): the
/// tenants' own, the pool's own, and the tenants' providers across tenants.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    tenant_provider_rules(folder, &mut out);
    pool_provider_names(folder, &mut out);
    pool_provider_fields(folder, &mut out);
    across_tenants(folder, &mut out);
    out
}

/// Each tenant's providers, one by one.
fn tenant_provider_rules(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let pl = &folder.platform.value;
    for t in &folder.tenants {
        let tv = &t.value;
        let ta_full = format!("custom:{}", pl.user_pool.tenant_attribute);
        let mut idp_names = HashSet::new();
        for (i, idp) in tv.identity_providers.iter().enumerate() {
            let path = format!("identityProviders[{i}]");
            let phys = format!("{}-{}", tv.id, idp.name);
            if !role_re().is_match(&idp.name) {
                out.push(t.at(
                    &format!("{path}.name"),
                    format!("identity provider name `{}` must match ^[a-z][a-z0-9]{{0,15}}$", idp.name.escape_debug()),
                ));
            } else if phys.len() > MAX_IDP_NAME {
                out.push(t.at(
                    &format!("{path}.name"),
                    format!("identity provider name `{phys}` is over Cognito's {MAX_IDP_NAME} characters"),
                ));
            }
            if !idp_names.insert(&idp.name) {
                out.push(t.at(&format!("{path}.name"), format!("identity provider `{}` is declared twice", idp.name)));
            }
            for (k, val) in &idp.attribute_mapping {
                if *k == ta_full || *k == pl.user_pool.tenant_attribute {
                    out.push(
                        t.at(&format!("{path}.attributeMapping.{k}"), format!("mapping an IdP attribute onto the tenant attribute `{ta_full}` lets the IdP choose the tenant"))
                            .hint("a federated user's tenant comes from the provider they sign in through; remove this mapping"),
                    );
                }
                if val.is_empty() {
                    out.push(
                        t.at(&format!("{path}.attributeMapping.{k}"), "an attribute mapping needs a source attribute"),
                    );
                }
            }
            use crate::spec::model::IdpType;
            match idp.idp_type {
                IdpType::Oidc => {
                    if !idp.issuer.as_deref().is_some_and(|i| i.starts_with("https://")) {
                        out.push(t.at(path.as_str(), "an oidc provider needs an https `issuer`"));
                    }
                    if idp.client_id.is_none() {
                        out.push(t.at(path.as_str(), "an oidc provider needs `clientId`"));
                    }
                }
                IdpType::Saml => {
                    if !idp.metadata_url.as_deref().is_some_and(|i| i.starts_with("https://")) {
                        out.push(t.at(path.as_str(), "a saml provider needs an https `metadataUrl`"));
                    }
                }
            }
            if let Some(e) = &idp.client_secret_env {
                if !env_name_re().is_match(e) {
                    out.push(
                        t.at(&format!("{path}.clientSecretEnv"), format!("`{e}` is not an environment variable name")),
                    );
                }
            }
            if idp.idp_type == IdpType::Saml && idp.client_secret_env.is_some() {
                out.push(t.at(&format!("{path}.clientSecretEnv"), "a saml provider takes no client secret"));
            }
        }
    }
}

/// The pool's own providers: how many, and their names.
fn pool_provider_names(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    // The pool's own providers.
    if up.identity_providers.len() > MAX_IDPS_PER_POOL {
        out.push(p.at(
            "userPool.identityProviders",
            format!("{} identity providers exceed Cognito's {MAX_IDPS_PER_POOL} per pool", up.identity_providers.len()),
        ));
    }
    let mut pool_names: HashMap<String, usize> = HashMap::new();
    for (i, idp) in up.identity_providers.iter().enumerate() {
        let path = format!("userPool.identityProviders[{i}]");
        let fixed = match idp.idp_type {
            PoolIdpType::Google => Some("Google"),
            PoolIdpType::Facebook => Some("Facebook"),
            PoolIdpType::Amazon => Some("LoginWithAmazon"),
            PoolIdpType::Apple => Some("SignInWithApple"),
            PoolIdpType::Oidc | PoolIdpType::Saml => None,
        };
        match fixed {
            Some(n) if idp.name != n => out.push(
                p.at(
                    &format!("{path}.name"),
                    format!(
                        "a {} provider is named `{n}` in Cognito, not `{}`",
                        pool_idp_type_name(idp.idp_type),
                        idp.name.escape_debug()
                    ),
                )
                .hint(format!("name: {n}")),
            ),
            None => {
                static R: OnceLock<Regex> = OnceLock::new();
                if !re(&R, r"^[A-Za-z][A-Za-z0-9_.]{0,31}$").is_match(&idp.name)
                    || ["Google", "Facebook", "LoginWithAmazon", "SignInWithApple", "COGNITO"]
                        .contains(&idp.name.as_str())
                {
                    out.push(
                        p.at(&format!("{path}.name"), format!("identity provider name `{}` must be 1-32 letters, digits, _ and . (no hyphen: `<tenant>-<name>` is a tenant's provider), and not a social provider's name", idp.name.escape_debug())),
                    );
                }
            }
            _ => {}
        }
        if let Some(prev) = pool_names.insert(idp.name.clone(), i) {
            out.push(p.at(
                &format!("{path}.name"),
                format!("identity provider `{}` is declared twice (also identityProviders[{prev}])", idp.name),
            ));
        }
    }
}

/// The pool's own providers: the fields each type takes.
fn pool_provider_fields(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    let ta = &up.tenant_attribute;
    let ta_full = format!("custom:{ta}");
    for (i, idp) in up.identity_providers.iter().enumerate() {
        let path = format!("userPool.identityProviders[{i}]");
        if let Some(e) = &idp.client_secret_env {
            if !env_name_re().is_match(e) {
                out.push(
                    p.at(&format!("{path}.clientSecretEnv"), format!("`{e}` is not an environment variable name")),
                );
            }
        }
        let needs_client = idp.idp_type != PoolIdpType::Saml;
        if needs_client && idp.client_id.as_deref().is_none_or(str::is_empty) {
            out.push(p.at(path.as_str(), format!("a {} provider needs `clientId`", pool_idp_type_name(idp.idp_type))));
        }
        let needs_secret = matches!(
            idp.idp_type,
            PoolIdpType::Google | PoolIdpType::Facebook | PoolIdpType::Amazon | PoolIdpType::Apple
        );
        if needs_secret && idp.client_secret_env.is_none() {
            out.push(
                p.at(
                    path.as_str(),
                    format!(
                        "a {} provider needs `clientSecretEnv`{}",
                        pool_idp_type_name(idp.idp_type),
                        if idp.idp_type == PoolIdpType::Apple { " (the variable holding the private key)" } else { "" }
                    ),
                )
                .hint("name the environment variable that holds the secret at plan and apply"),
            );
        }
        let https = |u: &Option<String>| u.as_deref().is_some_and(|i| i.starts_with("https://"));
        if idp.idp_type == PoolIdpType::Oidc && !https(&idp.issuer) {
            out.push(p.at(path.as_str(), "an oidc provider needs an https `issuer`"));
        }
        if idp.idp_type == PoolIdpType::Saml {
            if !https(&idp.metadata_url) {
                out.push(p.at(path.as_str(), "a saml provider needs an https `metadataUrl`"));
            }
            if idp.client_secret_env.is_some() {
                out.push(p.at(&format!("{path}.clientSecretEnv"), "a saml provider takes no client secret"));
            }
        }
        if idp.idp_type == PoolIdpType::Apple && (idp.team_id.is_none() || idp.key_id.is_none()) {
            out.push(p.at(path.as_str(), "an apple provider needs `teamId` and `keyId`"));
        }
        if idp.idp_type != PoolIdpType::Oidc && idp.issuer.is_some() {
            out.push(p.at(&format!("{path}.issuer"), "`issuer` is for oidc providers only"));
        }
        if idp.idp_type != PoolIdpType::Saml && idp.metadata_url.is_some() {
            out.push(p.at(&format!("{path}.metadataUrl"), "`metadataUrl` is for saml providers only"));
        }
        if idp.idp_type != PoolIdpType::Apple && (idp.team_id.is_some() || idp.key_id.is_some()) {
            out.push(p.at(path.as_str(), "`teamId` and `keyId` are for apple providers only"));
        }
        for (k, val) in &idp.attribute_mapping {
            if *k == ta_full || k == ta {
                out.push(
                    p.at(&format!("{path}.attributeMapping.{k}"), format!("mapping an IdP attribute onto the tenant attribute `{ta_full}` lets the IdP choose the tenant"))
                        .hint("a federated user's tenant is set by administrators (or comes from a tenant's own provider); remove this mapping"),
                );
            }
            if val.is_empty() {
                out.push(
                    p.at(&format!("{path}.attributeMapping.{k}"), "an attribute mapping needs a source attribute"),
                );
            }
        }
    }
}

/// Tenant providers across tenants: one external identity provider (issuer or metadata URL)
/// serves one tenant, a tenant has one, a pool holds a limited number, and physical names
/// never meet the pool's own.
fn across_tenants(folder: &Folder, out: &mut Vec<Diagnostic>) {
    let pl = &folder.platform.value;
    let up = &pl.user_pool;
    let mut by_source: HashMap<String, (String, String)> = HashMap::new();
    let mut per_pool: BTreeMap<String, usize> = BTreeMap::new();
    for t in &folder.tenants {
        let tv = &t.value;
        let pool = match tv.isolation {
            Isolation::Pooled => names::shared_pool(&pl.name),
            Isolation::Silo => names::silo_pool(&pl.name, &tv.id),
        };
        *per_pool.entry(pool.clone()).or_insert(up.identity_providers.len()) += tv.identity_providers.len();
        if per_pool[&pool] > MAX_IDPS_PER_POOL {
            out.push(
                t.at("identityProviders", format!("tenant `{}` takes pool `{pool}` past Cognito's {MAX_IDPS_PER_POOL} identity providers per pool (the pool's own {} and its tenants' providers)", tv.id, up.identity_providers.len()))
                    .hint("make some tenants silo (a pool each), or declare fewer providers"),
            );
            per_pool.insert(pool.clone(), usize::MIN);
        }
        if tv.identity_providers.len() > 1 {
            out.push(
                t.at(
                    "identityProviders[1].name",
                    format!(
                        "tenant `{}` declares {} identity providers; a tenant has one: its app client `{}-sso` is bound 1:1 to it",
                        tv.id,
                        tv.identity_providers.len(),
                        tv.id
                    ),
                )
                .hint("keep one provider per tenant (contract §1.4); federate further IdPs behind it"),
            );
        }
        for (i, idp) in tv.identity_providers.iter().enumerate() {
            let path = format!("identityProviders[{i}]");
            let source = match idp.idp_type {
                crate::spec::model::IdpType::Oidc => idp
                    .issuer
                    .clone()
                    .map(|s| format!("{}|{}", s.trim_end_matches('/'), idp.client_id.clone().unwrap_or_default())),
                crate::spec::model::IdpType::Saml => idp.metadata_url.clone(),
            };
            let phys = format!("{}-{}", tv.id, idp.name);
            if let Some(source) = source {
                if let Some((other, other_name)) = by_source.get(&source).filter(|(o, _)| *o != tv.id) {
                    out.push(
                        t.at(&format!("{path}.name"), format!("identity provider `{phys}` is the same provider as tenant `{other}`'s `{other_name}`: one provider would sign users in to two tenants"))
                            .hint("each tenant federates with its own provider (its own issuer and client, or its own SAML metadata)"),
                    );
                } else {
                    by_source.insert(source, (tv.id.clone(), phys.clone()));
                }
            }
            if up.identity_providers.iter().any(|pi| pi.name == phys) {
                out.push(t.at(
                    &format!("{path}.name"),
                    format!("identity provider `{phys}` is also the name of one of the pool's own providers"),
                ));
            }
        }
    }
}

fn pool_idp_type_name(t: crate::spec::model::PoolIdpType) -> &'static str {
    use crate::spec::model::PoolIdpType::*;
    match t {
        Google => "google",
        Facebook => "facebook",
        Amazon => "amazon",
        Apple => "apple",
        Oidc => "oidc",
        Saml => "saml",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn it(mapping: &[(&str, &str)], secret: Option<&str>) -> Item {
        let st = IdpState {
            provider_type: "OIDC".into(),
            details: BTreeMap::from([("client_id".into(), "c".into())]),
            attribute_mapping: mapping.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            client_secret: secret.map(|s| shown(&marker("acme-okta", s))),
            secret_env: Some("ACME_OKTA_SECRET".into()),
        };
        item("acme-okta", "platform/pool", Some("acme"), &st)
    }

    #[test]
    fn secrets_compare_by_fingerprint_and_never_show() {
        let d = it(&[("email", "email")], Some("s3cr3t-value"));
        let mut live = d.clone();
        live.state["secret_env"] = Value::Null;
        live.state.as_object_mut().unwrap().remove("secret_env");
        // Cognito's own username mapping is not a difference.
        live.state["attribute_mapping"]["username"] = json!("sub");
        assert!(IdentityProvider.compare("a", &d, &live, &Ids::default()).unwrap().is_empty());
        let changed =
            IdentityProvider.compare("a", &it(&[("email", "email")], Some("rotated")), &live, &Ids::default()).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].path, "client_secret");
        let shown_plan = serde_json::to_string(&changed).unwrap() + &serde_json::to_string(&d).unwrap();
        assert!(!shown_plan.contains("s3cr3t-value") && !shown_plan.contains("rotated"), "{shown_plan}");
        assert!(changed[0].after.as_str().unwrap().starts_with("(sensitive)"));
        // The tenant attribute mapped out of band shows.
        live.state["attribute_mapping"]["custom:tenant_id"] = json!("tenant");
        let f = IdentityProvider.compare("a", &d, &live, &Ids::default()).unwrap();
        assert_eq!(f[0].path, "attribute_mapping.custom:tenant_id", "{f:?}");
    }

    #[test]
    fn a_missing_variable_stops_the_plan() {
        let mut w = World::default();
        w.items.insert("platform/pool/identity_provider/acme-okta".into(), it(&[], None));
        let e = IdentityProvider.check(&w, &World::default(), &Ids::default()).unwrap_err();
        assert!(e.to_string().contains("ACME_OKTA_SECRET"), "{e}");
        w.items.insert("platform/pool/identity_provider/acme-okta".into(), it(&[], Some("x")));
        IdentityProvider.check(&w, &World::default(), &Ids::default()).unwrap();
    }

    #[test]
    fn markers_are_per_provider_and_owners_parse() {
        assert_ne!(marker("acme-okta", "s"), marker("globex-okta", "s"));
        assert_ne!(marker("acme-okta", "s"), marker("acme-okta", "t"));
        let m = marker("Google", "s");
        assert!(m.len() <= 40 && m.starts_with(MARKER_PREFIX), "{m}");
        assert_eq!(owner(None, "acme-corp-okta").as_deref(), Some("acme-corp"));
        assert_eq!(owner(None, "Google"), None);
        assert_eq!(owner(Some("initech"), "Google").as_deref(), Some("initech"));
    }

    /// Planned with the other kinds' rules (pure, no AWS): a declared provider is created,
    /// an undeclared one of tenantctl's is deleted, and one of a tenant without a file is an
    /// orphan.
    #[test]
    fn plan_creates_deletes_and_orphans() {
        use crate::plan::{plan_with, Action, PlanOptions};
        let a = "platform/pool/identity_provider/acme-okta";
        let mut d = World::default();
        d.items.insert(a.into(), it(&[("email", "email")], Some("s")));
        let opts = PlanOptions { tenants: ["acme".to_string()].into(), ..PlanOptions::default() };
        let rules: Vec<&dyn ItemRules> = vec![&IdentityProvider];
        let p = plan_with(&d, &World::default(), &Ids::default(), &opts, &rules).unwrap();
        assert_eq!(p.changes.iter().map(|c| (c.action, c.address.as_str())).collect::<Vec<_>>(), [(Action::Create, a)]);
        let shown = serde_json::to_string(&p.changes[0].fields).unwrap();
        assert!(shown.contains("(sensitive) fingerprint") && !shown.contains("\"s\""), "{shown}");
        // Converged.
        let mut live = d.clone();
        live.items.get_mut(a).unwrap().state.as_object_mut().unwrap().remove("secret_env");
        assert!(plan_with(&d, &live, &Ids::default(), &opts, &rules).unwrap().changes.is_empty());
        // Removed from the folder: deleted; a tenant without a file: an orphan.
        let mut gone = live.clone();
        let mut umbrella = it(&[], None);
        umbrella.tenant = Some("umbrella".into());
        umbrella.name = "umbrella-okta".into();
        gone.items.insert("platform/pool/identity_provider/umbrella-okta".into(), umbrella);
        // (The pool stays: a provider whose pool goes is deleted with it, no change of its own.)
        let pool = Item {
            kind: "user_pool".into(),
            name: "saas".into(),
            tenant: None,
            parent: None,
            state: json!({}),
            after: Vec::new(),
        };
        let mut kept = World::default();
        kept.items.insert("platform/pool".into(), pool.clone());
        gone.items.insert("platform/pool".into(), pool);
        let p = plan_with(&kept, &gone, &Ids::default(), &opts, &rules).unwrap();
        assert_eq!(p.changes.iter().map(|c| (c.action, c.address.as_str())).collect::<Vec<_>>(), [(Action::Delete, a)]);
        assert_eq!(p.orphans.len(), 1);
        assert_eq!(p.orphans[0].address, "platform/pool/identity_provider/umbrella-okta");
    }
}
