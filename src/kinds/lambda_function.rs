//! `lambda_function`: the Lambda authorizer's function (`authorizer.function`), at
//! [`FUNCTION_ADDRESS`]; its id is its ARN.
//!
//! - The authorizer's configuration (issuers, app clients, identity providers, declared
//!   tenants, roles, usage plans, method scopes) travels in the deployment package as
//!   `tenantctl-authorizer.json` ([`package`], contract §1.7); `FunctionState::config` holds it
//!   as entries per field, which may name pools, app clients and usage plans by id ([`Text`]
//!   references, resolved when known). `plan` shows its changes by field (entries added and
//!   removed); the live configuration is read from the live package (GetFunction's
//!   `Code.Location`).
//! - The package is built deterministically from the code zip (`FunctionState::code`, desired
//!   only) and the configuration, and uploaded on create and when its `CodeSha256` or the
//!   architecture changes (`UpdateFunctionCode`, the only call that sets `Architectures`). The
//!   environment keeps only small fixed values; it and the other fields are
//!   `UpdateFunctionConfiguration`. Tags: tenantctl sets its own and leaves others' alone.
//! - [`ItemRules::check`] stops the plan when the zip is missing and the package must be
//!   built (create, a new architecture, a configuration change), and when the environment
//!   would cross Lambda's 4 KB.
//! - Never deleted by tenantctl.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime};
use futures::future::BoxFuture;
use futures::FutureExt;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{fc, opt_json, typed, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{Deps, Key};
use crate::plan::{FieldChange, ItemRules, PlanError, Resource};
use crate::spec::desired::{authorizer_exec_role_arn, platform_tags};
use crate::spec::model::AuthorizerType;
use crate::spec::validate::{arn_re, re};
use crate::spec::{Diagnostic, Folder};
use crate::state::partition::cognito_issuer;
use crate::state::wiring::{usage_plan_address, DEFAULT_ROLE_PRECEDENCE, HANDLER};
use crate::state::{Ids, Item, Tags, Text, World};

pub use crate::state::wiring::{FUNCTION_ADDRESS, MAX_ENV_BYTES};

pub mod package;

pub struct LambdaFunction;

pub const KIND: &str = "lambda_function";

/// The hint of the plan's refusals about the authorizer.
pub const HINT: &str = "see the authorizer section of the README";

/// The function; `T` is [`Text`] in plans (references) and `String` once they are resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionState<T = Text> {
    pub name: String,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    /// x86_64 | arm64 (Lambda `Architectures`, one element; set by CreateFunction and
    /// UpdateFunctionCode).
    pub architecture: String,
    /// Desired: the code zip's hash (empty when the zip is missing); the package's is
    /// computed from it and the configuration ([`package`]). Observed: the live package's.
    pub code_sha256: String,
    /// The small fixed variables (platform, account, region, token use, tenant attribute;
    /// the emulator's endpoints).
    pub environment: BTreeMap<String, T>,
    /// The authorizer's configuration, `tenantctl-authorizer.json` in the package: entries per
    /// field ([`package::Entries`]; values may name pools, app clients and usage plans by id).
    /// Observed: read from the live package (empty when it holds no such file).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, Vec<T>>,
    pub tags: Tags,
    /// Desired only: the code zip, relative to the config folder (uploaded on create and when
    /// `code_sha256` or the architecture changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Desired only: where apply reads the zip (the config folder joined with `code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_file: Option<PathBuf>,
}

pub fn item(f: &FunctionState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: f.name.clone(),
        tenant: None,
        parent: None,
        state: serde_json::to_value(f).expect("state serializes"),
        after: Vec::new(),
    }
}

/// The function of an item (desired or observed) of this kind.
pub fn state(item: &Item) -> Option<FunctionState> {
    serde_json::from_value(item.state.clone()).ok()
}

/// Where the authorizer's configuration in `world` places its tenants (contract §1.7):
/// (the tenants an issuer speaks for alone: silo; the declared tenants: all). A desired
/// issuer naming a pool not created yet names its tenant all the same (`ISSUER=TENANT`, the
/// tenant literal). With shared groups the shared pool holds no group of a pooled tenant:
/// this is where `plan` sees that the tenant is pooled (`group::check_isolation_moves`).
pub fn placed_tenants(world: &World) -> (BTreeSet<String>, BTreeSet<String>) {
    let Some(f) = at(world) else { return Default::default() };
    let entries = |field: &str| f.config.get(field).cloned().unwrap_or_default();
    let silo = entries("issuers")
        .iter()
        .filter_map(|e| e.shown(&Ids::default()).rsplit_once('=').map(|(_, t)| t.to_string()))
        .filter(|t| t != "*")
        .collect();
    let declared = entries("tenants").iter().filter_map(Text::as_literal).collect();
    (silo, declared)
}

fn at(world: &World) -> Option<FunctionState> {
    world.items.get(FUNCTION_ADDRESS).filter(|i| i.kind == KIND).and_then(state)
}

// ---------------------------------------------------------------------------------------
// Desired
// ---------------------------------------------------------------------------------------

/// `TENANTCTL_EMULATOR=1`: tenantctl runs against the local emulator, and the authorizer
/// fetches the pools' keys from it (`TENANTCTL_JWKS_URL`) instead of from the issuers.
pub const EMULATOR_ENV: &str = "TENANTCTL_EMULATOR";

/// Base64 SHA-256 of a file, as Lambda's CodeSha256.
pub fn code_sha256(path: &std::path::Path) -> Option<String> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes)))
}

/// The emulator endpoint the authorizer fetches keys from, from the value of
/// `TENANTCTL_EMULATOR` and the endpoint tenantctl talks to. Only `TENANTCTL_EMULATOR=1` turns
/// emulator mode on: a mere `--endpoint-url` (a proxy, a VPC endpoint) must never redirect the
/// authorizer's trust anchor, which is otherwise derived from the issuer.
pub fn jwks_endpoint(emulator: Option<&str>, endpoint: Option<&str>) -> Result<Option<String>, String> {
    match emulator.map(str::trim) {
        None | Some("") | Some("0") => Ok(None),
        Some("1") => match endpoint.filter(|e| !e.is_empty()) {
            Some(ep) => Ok(Some(ep.to_string())),
            None => {
                Err("TENANTCTL_EMULATOR=1 needs the emulator's endpoint: pass --endpoint-url or set AWS_ENDPOINT_URL"
                    .into())
            }
        },
        Some(other) => Err(format!("TENANTCTL_EMULATOR must be 1 (emulator mode) or unset, not `{other}`")),
    }
}

/// The function's environment (small and fixed) and the authorizer's configuration (the
/// package's `tenantctl-authorizer.json`, contract §1.7): what the authorizer trusts and maps.
///
/// `issuers` maps each desired pool's issuer to what it may speak for: `ISSUER=TENANT` for a
/// silo tenant's pool, `ISSUER=*` for the shared pool (only tenants not bound to another
/// issuer). `tenants` lists every declared tenant: the authorizer denies any other. In emulator
/// mode (`ctx.jwks_endpoint`) the function fetches keys from the emulator, not from the issuer.
type Config = BTreeMap<String, Vec<Text>>;

fn environment(folder: &Folder, ctx: &DesiredCtx, world: &World) -> (BTreeMap<String, Text>, Config) {
    let pl = &folder.platform.value;
    let Some(spec) = &pl.authorizer else { return Default::default() };
    let r = &ctx.env.region;
    let mut environment = BTreeMap::new();
    let mut config = Config::new();
    let issuers: Vec<Text> = world
        .pools()
        .iter()
        .map(|(addr, pool)| {
            let issuer = cognito_issuer(r, "{id}");
            let (before, after) = issuer.split_once("{id}").expect("issuer has the pool id");
            Text::lit(before).id(addr.clone()).s(after).s(format!("={}", pool.tenant.as_deref().unwrap_or("*")))
        })
        .collect();
    let clients: Vec<Text> = world
        .items
        .iter()
        .filter(|(_, i)| i.kind == super::app_client::KIND)
        // CLIENT_ID:POOL_ID: each client belongs to the one pool that may sign its tokens.
        .filter_map(|(c, i)| Some(Text::default().id(c.clone()).s(":").id(i.parent.clone()?)))
        .collect();
    let roles: Vec<Text> = pl
        .roles
        .iter()
        .map(|(name, rs)| format!("{name}:{}", rs.precedence.unwrap_or(DEFAULT_ROLE_PRECEDENCE)).into())
        .collect();
    let idp_tenants: Vec<Text> = folder
        .tenants
        .iter()
        .flat_map(|t| {
            let id = &t.value.id;
            t.value.identity_providers.iter().map(move |idp| format!("{id}-{}:{id}", idp.name))
        })
        // The pool's own providers bind no tenant (`*`, contract §1.4).
        .chain(pl.user_pool.identity_providers.iter().map(|idp| format!("{}:*", idp.name)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(Text::from)
        .collect();
    let tenants: Vec<Text> = folder
        .tenants
        .iter()
        .map(|t| t.value.id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(Text::from)
        .collect();
    config.insert("issuers".into(), issuers);
    config.insert("clients".into(), clients);
    config.insert("identityProviders".into(), idp_tenants);
    config.insert("tenants".into(), tenants);
    config.insert("roles".into(), roles);
    config.insert("methodScopes".into(), method_scopes(spec));
    // Contract §1.6: the tiers' usage plans, whose keys the authorizer reads at cold start (by
    // id, never their values: see `crate::kinds::usage_plan_key`).
    let metered = pl.api_usage.is_some() && !pl.tiers.is_empty();
    let plans: Vec<Text> =
        if metered { pl.tiers.keys().map(|t| Text::default().id(usage_plan_address(t))).collect() } else { Vec::new() };
    config.insert("usagePlans".into(), plans);
    // Contract §1.7: whose roles the authorizer hands out and what a token's groups name.
    let tenancy = [("roles", pl.tenancy.roles), ("groups", pl.tenancy.groups)];
    config.insert("tenancy".into(), tenancy.iter().map(|(k, v)| Text::from(format!("{k}={}", v.as_str()))).collect());
    environment.insert("TENANTCTL_PLATFORM".to_string(), pl.name.clone().into());
    environment.insert("TENANTCTL_ACCOUNT_ID".to_string(), ctx.env.account_id.as_str().into());
    environment.insert("TENANTCTL_REGION".to_string(), r.as_str().into());
    environment.insert("TENANTCTL_TOKEN_USE".to_string(), spec.token_use.clone().into());
    environment.insert("TENANTCTL_TENANT_ATTRIBUTE".to_string(), pl.user_pool.tenant_attribute.clone().into());
    let jwks = ctx.jwks_endpoint.as_deref().map(|ep| ep.trim_end_matches('/'));
    if let Some(ep) = jwks {
        environment.insert("TENANTCTL_JWKS_URL".to_string(), format!("{ep}/{{pool_id}}/.well-known/jwks.json").into());
        if metered {
            environment.insert("TENANTCTL_APIGW_ENDPOINT".to_string(), ep.into());
        }
    }
    (environment, config)
}

/// `methodScopes`: one entry `["METHOD /path", [scope, ...]]` per method that needs a scope
/// (`authorizer.methods[].scopes`).
fn method_scopes(spec: &crate::spec::model::AuthorizerSpec) -> Vec<Text> {
    spec.methods
        .iter()
        .filter(|m| !m.scopes.is_empty())
        .map(|m| {
            let key = format!("{} {}", m.method, m.path);
            Text::from(serde_json::to_string(&(key, &m.scopes)).unwrap_or_default())
        })
        .collect()
}

impl ItemRules for LambdaFunction {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    /// Its environment names the pools, their clients and the usage plans by id, and its role
    /// by ARN: the delete of an instance of those kinds waits for its change
    /// ([`Key::Releases`]).
    fn order(&self, desired: &Item, _live: Option<&Item>, deps: &mut Deps) {
        // By name: those kinds' modules lead back here (the authorizer names the function).
        let named = ["user_pool", "app_client", "usage_plan", "iam_role"];
        deps.provides.extend(named.into_iter().map(|k| Key::Releases(Resource::new(k))));
        // Shared roles (contract §1.7): the configuration points the authorizer at them, so its
        // change waits for their creation, and a switch of `tenancy.roles` is one ordered
        // apply (the new roles, the function, then the old roles' deletes).
        let Some(f) = state(desired) else { return };
        let literal = |field: &str| -> Vec<String> {
            f.config.get(field).into_iter().flatten().filter_map(Text::as_literal).collect()
        };
        if literal("tenancy").iter().any(|e| e == "roles=shared") {
            let platform = f.environment.get("TENANTCTL_PLATFORM").and_then(Text::as_literal).unwrap_or_default();
            for entry in literal("roles") {
                let role = entry.rsplit_once(':').map_or(entry.as_str(), |(name, _)| name);
                deps.needs.push(Key::Role(crate::spec::desired::names::shared_iam_role(&platform, role)));
            }
        }
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    fn check(&self, desired: &World, observed: &World, ids: &Ids) -> Result<(), PlanError> {
        let Some(f) = at(desired) else { return Ok(()) };
        let refuse = |message: String| Err(PlanError::Check { message, hint: HINT.to_string() });
        let code = f.code.as_deref().unwrap_or("");
        let live = at(observed);
        if f.code_sha256.is_empty() && live.is_none() {
            return refuse(format!(
                "authorizer.function.code: `{code}` does not exist in the config folder, and function `{}` must be created from it (build it with scripts/build-authorizer {code})",
                f.name
            ));
        }
        if let Some(o) = &live {
            if f.code_sha256.is_empty() && o.architecture != f.architecture {
                return refuse(format!(
                    "authorizer.function.architecture: changing function `{}` from {} to {} uploads the code again (UpdateFunctionCode), and `{code}` does not exist in the config folder (build it with scripts/build-authorizer {code})",
                    f.name, o.architecture, f.architecture
                ));
            }
        }
        // The configuration rides in the package: a change to it uploads the package, which
        // needs the code zip.
        if let Some(o) = &live {
            if f.code_sha256.is_empty() && !config_diff(&f.config, &o.config, ids).is_empty() {
                return refuse(format!(
                    "authorizer.function: the authorizer's configuration changes (tenantctl-authorizer.json in the package), and `{code}` does not exist in the config folder to build the package from (build it with scripts/build-authorizer {code})"
                ));
            }
        }
        // The environment holds only small fixed values now; it is still measured as Lambda
        // does. An id not known yet counts at the longest AWS issues for its kind.
        let region = f.environment.get("TENANTCTL_REGION").and_then(Text::as_literal).unwrap_or_default();
        let unknown = |r: &crate::state::Ref| {
            let kind = desired.items.get(r.address()).map(|i| i.kind.as_str()).unwrap_or_default();
            crate::state::refs::longest_id(kind, &region).unwrap_or(crate::state::UNKNOWN.len())
        };
        let size: usize = f.environment.iter().map(|(k, v)| k.len() + v.filled(ids, unknown).len()).sum();
        if size > MAX_ENV_BYTES {
            return Err(PlanError::Check {
                message: format!(
                    "authorizer.function: its environment would be about {size} bytes, over Lambda's {MAX_ENV_BYTES}-byte limit"
                ),
                hint: HINT.to_string(),
            });
        }
        Ok(())
    }

    fn create_fields(&self, desired: &Item, ids: &Ids) -> Vec<FieldChange> {
        let Some(d) = state(desired) else { return Vec::new() };
        let mut fields = vec![
            fc("name", Value::Null, json!(d.name)),
            fc("runtime", Value::Null, json!(d.runtime)),
            fc("handler", Value::Null, json!(d.handler)),
            fc("role", Value::Null, json!(d.role)),
            fc("memory_mb", Value::Null, json!(d.memory_mb)),
            fc("timeout_seconds", Value::Null, json!(d.timeout_seconds)),
            fc("architecture", Value::Null, json!(d.architecture)),
            fc("code_sha256", Value::Null, json!(d.code_sha256)),
        ];
        fields.extend(
            d.environment.iter().map(|(k, v)| fc(format!("environment.{k}"), Value::Null, json!(v.shown(ids)))),
        );
        fields.extend(config_diff(&d.config, &BTreeMap::new(), ids));
        fields.extend(d.tags.iter().map(|(k, v)| fc(format!("tags.{k}"), Value::Null, json!(v))));
        fields
    }

    /// The code first (architecture, hash), then the configuration.
    fn compare(&self, _address: &str, desired: &Item, live: &Item, ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        let (Some(d), Some(o)) = (state(desired), state(live)) else {
            return Ok(Vec::new());
        };
        let env: BTreeMap<&String, (Option<String>, String)> =
            d.environment.iter().map(|(k, v)| (k, (v.resolve(ids), v.shown(ids)))).collect();
        let mut config = Vec::new();
        if d.runtime != o.runtime {
            config.push(fc("runtime", json!(o.runtime), json!(d.runtime)));
        }
        if d.handler != o.handler {
            config.push(fc("handler", json!(o.handler), json!(d.handler)));
        }
        if d.role != o.role {
            config.push(fc("role", json!(o.role), json!(d.role)));
        }
        if d.memory_mb != o.memory_mb {
            config.push(fc("memory_mb", json!(o.memory_mb), json!(d.memory_mb)));
        }
        if d.timeout_seconds != o.timeout_seconds {
            config.push(fc("timeout_seconds", json!(o.timeout_seconds), json!(d.timeout_seconds)));
        }
        let keys: BTreeSet<&String> = env.keys().copied().chain(o.environment.keys()).collect();
        for k in keys {
            let before = o.environment.get(k).map(|t| t.shown(ids));
            let before = before.as_ref();
            match env.get(k) {
                Some((resolved, shown)) if resolved.is_none() || resolved.as_ref() != before => {
                    config.push(fc(format!("environment.{k}"), opt_json(before), json!(shown)))
                }
                None => config.push(fc(format!("environment.{k}"), opt_json(before), Value::Null)),
                Some(_) => {}
            }
        }
        // Tags: tenantctl sets its own and leaves others' alone.
        for (k, v) in &d.tags {
            if o.tags.get(k) != Some(v) {
                config.push(fc(format!("tags.{k}"), opt_json(o.tags.get(k)), json!(v)));
            }
        }
        let config_changes = config_diff(&d.config, &o.config, ids);
        // The package changes with the configuration; with the same configuration, when the
        // code zip (or the live package, out of band) differs.
        let want = desired_package_sha(&d, ids);
        let buildable = d.code_file.is_some() && !d.code_sha256.is_empty();
        let code_changed = buildable && want.as_deref() != Some(o.code_sha256.as_str());
        if !code_changed && d.architecture == o.architecture && config.is_empty() {
            return Ok(Vec::new());
        }
        let mut fields = Vec::new();
        if d.architecture != o.architecture {
            fields.push(fc("architecture", json!(o.architecture), json!(d.architecture)));
        }
        if code_changed && config_changes.is_empty() {
            let want = want.unwrap_or_else(|| crate::state::UNKNOWN.to_string());
            fields.push(fc("code_sha256", json!(o.code_sha256), json!(want)));
        }
        fields.extend(config_changes);
        fields.extend(config);
        Ok(fields)
    }
}

/// At most this many entries of a configuration field are shown per change; the rest are
/// counted.
const SHOWN_ENTRIES: usize = 20;

/// The configuration's changes by field: `config.<field>` with the entries removed (before)
/// and added (after). An entry naming an id not known yet is always added (shown with
/// [`crate::state::UNKNOWN`]).
pub fn config_diff(
    desired: &BTreeMap<String, Vec<Text>>,
    live: &BTreeMap<String, Vec<Text>>,
    ids: &Ids,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for field in package::FIELDS {
        let want: Vec<(Option<String>, String)> =
            desired.get(field).into_iter().flatten().map(|t| (t.resolve(ids), t.shown(ids))).collect();
        let have: BTreeSet<String> = live.get(field).into_iter().flatten().map(|t| t.shown(ids)).collect();
        let wanted: BTreeSet<&str> = want.iter().filter_map(|(r, _)| r.as_deref()).collect();
        let added: BTreeSet<&str> = want
            .iter()
            .filter(|(r, _)| r.as_ref().is_none_or(|r| !have.contains(r)))
            .map(|(_, shown)| shown.as_str())
            .collect();
        let removed: Vec<&str> = have.iter().map(String::as_str).filter(|h| !wanted.contains(h)).collect();
        if added.is_empty() && removed.is_empty() {
            continue;
        }
        let listed = |entries: Vec<&str>| -> Value {
            if entries.is_empty() {
                return Value::Null;
            }
            let n = entries.len();
            let mut shown: Vec<Value> = entries.into_iter().take(SHOWN_ENTRIES).map(Value::from).collect();
            if n > SHOWN_ENTRIES {
                shown.push(Value::from(format!("... and {} more", n - SHOWN_ENTRIES)));
            }
            Value::Array(shown)
        };
        out.push(fc(format!("config.{field}"), listed(removed), listed(added.into_iter().collect())));
    }
    out
}

/// A `--tenant` session's configuration: an entry that names a resource whose id the session
/// did not read and that it does not plan either (another tenant's pool or client) stands for
/// the live entries it matches, the unknown ids matching any id; without a live function it is
/// left out (the next whole-folder apply writes it).
pub fn settle_config(config: &Config, live: Option<&Config>, desired: &World, ids: &Ids) -> Config {
    config
        .iter()
        .map(|(field, entries)| {
            let live: Vec<String> = live
                .and_then(|l| l.get(field))
                .map(|v| v.iter().filter_map(Text::as_literal).collect())
                .unwrap_or_default();
            let mut out = Vec::new();
            let mut taken = BTreeSet::new();
            for t in entries {
                let foreign = t.refs().any(|r| ids.get(r).is_none() && !desired.items.contains_key(r.address()));
                if !foreign {
                    out.push(t.clone());
                    continue;
                }
                let shown = t.shown(ids);
                let segments: Vec<&str> = shown.split(crate::state::UNKNOWN).collect();
                for l in live.iter().filter(|l| fits(&segments, l)) {
                    if taken.insert(l.clone()) {
                        out.push(Text::lit(l.clone()));
                    }
                }
            }
            (field.clone(), out)
        })
        .collect()
}

/// Whether `s` is `segments` joined by ids (each one or more of `A-Za-z0-9_-`).
fn fits(segments: &[&str], s: &str) -> bool {
    let Some((first, rest)) = segments.split_first() else { return s.is_empty() };
    let Some(s) = s.strip_prefix(first) else { return false };
    if rest.is_empty() {
        return s.is_empty();
    }
    let id = s.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-').count();
    (1..=id).any(|n| fits(rest, &s[n..]))
}

/// The desired package's `CodeSha256`: None while an id of the configuration is not known, or
/// without the code zip.
pub(crate) fn desired_package_sha(d: &FunctionState, ids: &Ids) -> Option<String> {
    let config: Option<package::Entries> = d
        .config
        .iter()
        .map(|(k, v)| Some((k.clone(), v.iter().map(|t| t.resolve(ids)).collect::<Option<Vec<_>>>()?)))
        .collect();
    let path = d.code_file.as_ref().filter(|_| !d.code_sha256.is_empty())?;
    package::package(path, &d.code_sha256, &config?).ok().map(|(_, sha)| sha)
}

/// What apply calls for the function: `CreateFunction` (with the code), or
/// `UpdateFunctionCode` and/or `UpdateFunctionConfiguration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    pub create: bool,
    pub update_code: bool,
    pub update_config: bool,
}

/// The calls that make `live` (None: missing) the desired function, references resolved;
/// `package_sha` is the desired package's `CodeSha256` (None without the code zip). The code is
/// uploaded again for a new package or a new architecture (Lambda changes `Architectures`
/// with UpdateFunctionCode only).
pub fn calls(desired: &FunctionState<String>, package_sha: Option<&str>, live: Option<&FunctionState>) -> Calls {
    match live {
        None => Calls { create: true, update_code: true, update_config: true },
        Some(o) => Calls {
            create: false,
            update_code: desired.architecture != o.architecture || package_sha.is_some_and(|s| s != o.code_sha256),
            update_config: config_differs(desired, o),
        },
    }
}

/// The package apply uploads (its bytes and `CodeSha256`), built from the code zip and the
/// resolved configuration; None when the plan found no code zip.
fn resolved_package(f: &FunctionState<String>) -> Result<Option<(Vec<u8>, String)>, AwsError> {
    let Some(path) = f.code_file.as_ref().filter(|_| !f.code_sha256.is_empty()) else { return Ok(None) };
    package::package(path, &f.code_sha256, &f.config)
        .map(Some)
        .map_err(|e| AwsError::Other(format!("authorizer.function.code `{}`: {e}", path.display())))
}

/// Whether `UpdateFunctionConfiguration` is needed: a configuration field, an environment
/// variable or one of tenantctl's tags differs.
fn config_differs(d: &FunctionState<String>, o: &FunctionState) -> bool {
    let live_env: BTreeMap<&String, String> =
        o.environment.iter().map(|(k, v)| (k, v.as_literal().unwrap_or_default())).collect();
    let env: BTreeMap<&String, String> = d.environment.iter().map(|(k, v)| (k, v.clone())).collect();
    d.runtime != o.runtime
        || d.handler != o.handler
        || d.role != o.role
        || d.memory_mb != o.memory_mb
        || d.timeout_seconds != o.timeout_seconds
        || env != live_env
        || d.tags.iter().any(|(k, v)| o.tags.get(k) != Some(v))
}

impl Kind for LambdaFunction {
    fn service(&self) -> super::Service {
        super::Service::Lambda
    }

    fn platform_wide(&self) -> bool {
        true
    }

    /// Its configuration names every tenant: a `--tenant` session reads and plans it, so
    /// onboarding a silo or SSO tenant updates it in the same run, and `destroy --tenant`
    /// updates it (issue 21).
    fn names_every_tenant(&self) -> bool {
        true
    }

    fn in_scope(&self, _address: &str, _item: &Item, _desired: &World, _tenants: &BTreeSet<&str>) -> bool {
        true
    }

    /// The configuration's entries that name other tenants' pools and clients, which a
    /// `--tenant` session does not read, stand for the live entries they match
    /// ([`settle_config`]): the session changes only its tenants' entries.
    fn settle_scoped(&self, item: &mut Item, live: Option<&Item>, desired: &World, ids: &Ids) {
        let Some(mut f) = state(item) else { return };
        let live = live.and_then(state);
        f.config = settle_config(&f.config, live.as_ref().map(|l| &l.config), desired, ids);
        item.state = serde_json::to_value(&f).expect("state serializes");
    }

    /// The folder's Lambda authorizer function, with the code's hash from the context (empty
    /// when the zip is missing: [`ItemRules::check`] refuses the plan then).
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, world: &World) -> Desired {
        let pl = &folder.platform.value;
        let Some(spec) = folder.platform.value.wired_authorizer().filter(|s| s.auth_type == AuthorizerType::Lambda)
        else {
            return Ok(Vec::new());
        };
        let (Some(fs), Some(role)) = (&spec.function, authorizer_exec_role_arn(pl, &ctx.env)) else {
            return Ok(Vec::new());
        };
        let (environment, config) = environment(folder, ctx, world);
        let function = FunctionState {
            name: fs.name.clone(),
            runtime: fs.runtime.clone(),
            handler: HANDLER.to_string(),
            role,
            memory_mb: fs.memory_mb,
            timeout_seconds: fs.timeout_seconds,
            architecture: fs.architecture.clone(),
            code_sha256: ctx.code_sha256.clone().unwrap_or_default(),
            environment,
            config,
            tags: platform_tags(pl),
            code: Some(fs.code.clone()),
            code_file: Some(folder.root.join(&fs.code)),
        };
        Ok(vec![(FUNCTION_ADDRESS.to_string(), item(&function))])
    }

    #[allow(clippy::too_many_arguments)]
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        async move {
            let Some(fspec) = folder.platform.value.authorizer.as_ref().and_then(|a| a.function.as_ref()) else {
                return Ok(Vec::new());
            };
            aws.limiter.acquire(Category::Lambda).await;
            let out = match aws.lambda.get_function().function_name(&fspec.name).send().await {
                Ok(out) => out,
                Err(e) => {
                    let e = call_err("lambda:GetFunction", e);
                    return if e.is_not_found() { Ok(Vec::new()) } else { Err(e) };
                }
            };
            let Some(c) = out.configuration() else {
                return Ok(Vec::new());
            };
            let f = FunctionState {
                name: c.function_name().unwrap_or(&fspec.name).to_string(),
                runtime: c.runtime().map(|r| r.as_str().to_string()).unwrap_or_default(),
                handler: c.handler().unwrap_or_default().to_string(),
                role: c.role().unwrap_or_default().to_string(),
                memory_mb: c.memory_size().unwrap_or(128),
                timeout_seconds: c.timeout().unwrap_or(3),
                architecture: c.architectures().first().map_or("x86_64", |a| a.as_str()).to_string(),
                code_sha256: c.code_sha256().unwrap_or_default().to_string(),
                environment: c
                    .environment()
                    .and_then(|e| e.variables())
                    .map(|v| v.iter().map(|(k, v)| (k.clone(), Text::from(v))).collect())
                    .unwrap_or_default(),
                config: match out.code().and_then(|c| c.location()) {
                    Some(url) => live_config(url.to_string()).await?,
                    None => BTreeMap::new(),
                },
                tags: out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
                code: None,
                code_file: None,
            };
            // Without an ARN the function cannot be acted on: as if it were missing.
            let Some(arn) = c.function_arn() else { return Ok(Vec::new()) };
            Ok(vec![(FUNCTION_ADDRESS.to_string(), item(&f), arn.to_string())])
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let f: FunctionState<String> = typed(item)?;
            let package = resolved_package(&f)?;
            let zip = Blob::new(code_of(&f, package.as_ref())?);
            let (environment, tags) = environment_and_tags(&f);
            let out = retrying(|| async {
                aws.limiter.acquire(Category::Lambda).await;
                aws.lambda
                    .create_function()
                    .function_name(&f.name)
                    .runtime(Runtime::from(f.runtime.as_str()))
                    .role(&f.role)
                    .handler(&f.handler)
                    .code(FunctionCode::builder().zip_file(zip.clone()).build())
                    .memory_size(f.memory_mb)
                    .timeout(f.timeout_seconds)
                    .architectures(Architecture::from(f.architecture.as_str()))
                    .environment(environment.clone())
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                    .map_err(|e| call_err("lambda:CreateFunction", e))
            })
            .await;
            match out {
                // Created meanwhile by a concurrent apply: bring it to the desired code and
                // settings.
                Err(e) if e.code() == Some("ResourceConflictException") && e.to_string().contains("already exist") => {
                    wait_updated(aws, &f.name).await?;
                    let all = Calls { create: false, update_code: true, update_config: true };
                    update_function(aws, &f, package.as_ref(), all).await?;
                    wait_updated(aws, &f.name).await
                }
                out => Ok(out?.function_arn().unwrap_or(&f.name).to_string()),
            }
        }
        .boxed()
    }

    /// The code (`UpdateFunctionCode`) when its hash or the architecture changes, the
    /// configuration and tags when they differ.
    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let f: FunctionState<String> = typed(item)?;
            let o: FunctionState = typed(live)?;
            let package = resolved_package(&f)?;
            let calls = calls(&f, package.as_ref().map(|(_, sha)| sha.as_str()), Some(&o));
            update_function(aws, &f, package.as_ref(), calls).await
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(AwsError::Other(format!("lambda function `{}`: tenantctl does not delete it", live.name))) }
            .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

/// The live package's configuration, downloaded from GetFunction's `Code.Location` (a
/// presigned URL). A package without the file, or one that cannot be read as a configuration,
/// has none (every entry is then added); a failed download is an error.
async fn live_config(url: String) -> Result<BTreeMap<String, Vec<Text>>, AwsError> {
    // The download is no AWS API call, so the SDK's retries do not cover it: a few attempts
    // with back-off for what a retry can cure (throttling, 5xx, a dropped connection).
    let fetch = move || -> Result<Vec<u8>, String> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1.. {
            let got = ureq::get(&url)
                .call()
                .and_then(|mut r| r.body_mut().with_config().limit(MAX_PACKAGE_BYTES).read_to_vec());
            match got {
                Err(e) if attempt < DOWNLOAD_ATTEMPTS && retryable_download(&e) => {
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                other => return other.map_err(|e| e.to_string()),
            }
        }
        unreachable!("the loop returns")
    };
    let bytes = tokio::task::spawn_blocking(fetch)
        .await
        .map_err(|e| AwsError::Other(e.to_string()))?
        .map_err(|e| AwsError::Other(format!("lambda:GetFunction: cannot download the function's package: {e}")))?;
    let entries = package::config_file_of(&bytes).ok().flatten().and_then(|json| package::config_entries(&json).ok());
    Ok(entries
        .unwrap_or_default()
        .into_iter()
        .map(|(field, entries)| (field, entries.into_iter().map(Text::from).collect()))
        .collect())
}

/// How many times the package download is tried ([`live_config`]).
const DOWNLOAD_ATTEMPTS: u32 = 4;

/// Whether a failed package download may succeed when tried again.
fn retryable_download(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::StatusCode(status) => *status == 429 || *status >= 500,
        ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed => true,
        _ => false,
    }
}

/// Lambda's largest package (unzipped deployment package, 250 MB): a download is read up to
/// this many bytes.
const MAX_PACKAGE_BYTES: u64 = 250 * 1024 * 1024;

/// Uploads the code and/or sets the configuration and tags (`calls`).
async fn update_function(
    aws: &Aws,
    f: &FunctionState<String>,
    package: Option<&(Vec<u8>, String)>,
    calls: Calls,
) -> Result<(), AwsError> {
    let Calls { update_code, update_config, .. } = calls;
    let (environment, tags) = environment_and_tags(f);
    if update_code {
        let zip = Blob::new(code_of(f, package)?);
        retrying(|| async {
            aws.limiter.acquire(Category::Lambda).await;
            aws.lambda
                .update_function_code()
                .function_name(&f.name)
                .zip_file(zip.clone())
                // Only UpdateFunctionCode changes the architecture.
                .architectures(Architecture::from(f.architecture.as_str()))
                .send()
                .await
                .map_err(|e| call_err("lambda:UpdateFunctionCode", e))
        })
        .await?;
        wait_updated(aws, &f.name).await?;
    }
    if update_config {
        retrying(|| async {
            aws.limiter.acquire(Category::Lambda).await;
            aws.lambda
                .update_function_configuration()
                .function_name(&f.name)
                .runtime(Runtime::from(f.runtime.as_str()))
                .role(&f.role)
                .handler(&f.handler)
                .memory_size(f.memory_mb)
                .timeout(f.timeout_seconds)
                .environment(environment.clone())
                .send()
                .await
                .map_err(|e| call_err("lambda:UpdateFunctionConfiguration", e))
        })
        .await?;
        let arn = wait_updated(aws, &f.name).await?;
        // Tenantctl's tags are set; tags others added stay.
        aws.limiter.acquire(Category::Lambda).await;
        aws.lambda
            .tag_resource()
            .resource(&arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| call_err("lambda:TagResource", e))?;
    }
    Ok(())
}

fn environment_and_tags(f: &FunctionState<String>) -> (Environment, HashMap<String, String>) {
    let variables: HashMap<String, String> = f.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let environment = Environment::builder().set_variables(Some(variables)).build();
    let tags: HashMap<String, String> = f.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    (environment, tags)
}

/// The package's bytes, or an error when there is none to upload.
fn code_of(f: &FunctionState<String>, package: Option<&(Vec<u8>, String)>) -> Result<Vec<u8>, AwsError> {
    match package {
        Some((bytes, _)) => Ok(bytes.clone()),
        None => Err(AwsError::Other(format!(
            "lambda function `{}`: no code zip to build the package from (plan it from the folder)",
            f.name
        ))),
    }
}

/// Retries `f` while IAM propagates a new role or an earlier function update runs.
async fn retrying<T, F, Fut>(mut f: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let deadline = Instant::now() + crate::aws::propagation_window();
    let mut delay = Duration::from_secs(1);
    loop {
        match f().await {
            Err(AwsError::Call { code, message, .. })
                if is_transient(&code, &message) && Instant::now() + delay < deadline =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

fn is_transient(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (code == "InvalidParameterValueException" && m.contains("cannot be assumed"))
        || (code == "ResourceConflictException"
            && (m.contains("in progress") || m.contains("cannot be performed at this time")))
}

/// Waits until the function's last update finished (AWS refuses a second update meanwhile);
/// returns its ARN.
async fn wait_updated(aws: &Aws, name: &str) -> Result<String, AwsError> {
    let poll = || async {
        aws.limiter.acquire(Category::Lambda).await;
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| call_err("lambda:GetFunctionConfiguration", e))?;
        Ok(UpdateStatus {
            status: c.last_update_status().cloned(),
            reason: c.last_update_status_reason().map(str::to_string),
            arn: c.function_arn().unwrap_or(name).to_string(),
        })
    };
    wait_until_updated(name, poll, crate::aws::propagation_window(), Duration::from_secs(2)).await
}
/// One `GetFunctionConfiguration` answer, as [`wait_until_updated`] needs it.
#[derive(Debug, Clone)]
struct UpdateStatus {
    status: Option<LastUpdateStatus>,
    reason: Option<String>,
    arn: String,
}

/// Polls until the last update is no longer in progress, for at most `window`: an update
/// still in progress at the deadline is an error that says so (the next write would be
/// refused, and the function may still run the old code or configuration); a failed update is
/// an error with Lambda's reason.
async fn wait_until_updated<F, Fut>(
    name: &str,
    mut poll: F,
    window: Duration,
    interval: Duration,
) -> Result<String, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<UpdateStatus, AwsError>>,
{
    let started = Instant::now();
    let deadline = started + window;
    loop {
        let s = poll().await?;
        match s.status {
            Some(LastUpdateStatus::InProgress) => {
                if Instant::now() >= deadline {
                    return Err(AwsError::Other(format!(
                        "lambda function {name}: its update is still in progress after {} s; it may not run the new code or configuration yet (run apply again once it has finished; TENANTCTL_PROPAGATION_TIMEOUT sets the wait)",
                        started.elapsed().as_secs()
                    )));
                }
                tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
            }
            Some(LastUpdateStatus::Failed) => {
                return Err(AwsError::Other(format!(
                    "lambda function {name}: update failed: {}",
                    s.reason.as_deref().unwrap_or("no reason given")
                )))
            }
            _ => return Ok(s.arn),
        }
    }
}

// ---------------------------------------------------------------- validation

/// A function's name (Lambda).
pub const MAX_LAMBDA_NAME: usize = 64;

/// What Lambda accepts of the authorizer's function (`Kind::validate`).
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let mut out = Vec::new();
    let Some(a) = &p.value.authorizer else {
        return out;
    };
    if let (AuthorizerType::Lambda, Some(f)) = (a.auth_type, &a.function) {
        static R: OnceLock<Regex> = OnceLock::new();
        if f.name.len() > MAX_LAMBDA_NAME || !re(&R, r"^[A-Za-z0-9_-]+$").is_match(&f.name) {
            out.push(p.at(
                "authorizer.function.name",
                format!("function name `{}` must be 1-64 letters, digits, - and _", f.name.escape_debug()),
            ));
        }
        if !(128..=10240).contains(&f.memory_mb) {
            out.push(p.at("authorizer.function.memoryMb", "memoryMb must be 128..10240"));
        }
        if !(1..=30).contains(&f.timeout_seconds) {
            out.push(p.at(
                "authorizer.function.timeoutSeconds",
                "an authorizer's timeoutSeconds must be 1..30 (API Gateway waits 29 s at most)",
            ));
        }
        if let Some(r) = &f.role {
            if !arn_re().is_match(r) || !r.contains(":role/") {
                out.push(p.at("authorizer.function.role", "role must be an IAM role ARN"));
            }
        }
        if f.code.contains("..") || f.code.starts_with('/') {
            out.push(p.at("authorizer.function.code", "code is a path inside the config folder"));
        }
        if f.architecture != "x86_64" && f.architecture != "arm64" {
            out.push(p.at(
                "authorizer.function.architecture",
                format!("architecture `{}` must be x86_64 or arm64", f.architecture.escape_debug()),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local server answering `statuses` in turn (then 200 with a body that is no zip);
    /// returns its URL and the count of requests it served.
    fn flaky_server(statuses: Vec<u16>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/package", listener.local_addr().unwrap());
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let code = statuses.get(n).copied().unwrap_or(200);
                let body = "not a zip";
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, served)
    }

    /// A 500 from behind the presigned URL is tried again (the reliability test's injected
    /// 500 failed a plan); a 403 (an expired URL) is not.
    #[tokio::test]
    async fn the_package_download_is_tried_again_after_a_server_error_only() {
        let (url, served) = flaky_server(vec![500, 503]);
        let config = live_config(url).await.expect("downloaded on the third try");
        assert!(config.is_empty(), "a package without the file has no configuration");
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);
        let (url, served) = flaky_server(vec![403]);
        let e = live_config(url).await.unwrap_err();
        assert!(e.to_string().contains("403"), "{e}");
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    fn status(s: Option<LastUpdateStatus>) -> Result<UpdateStatus, AwsError> {
        Ok(UpdateStatus { status: s, reason: Some("bad zip".into()), arn: "arn:f".into() })
    }

    #[tokio::test]
    async fn update_still_in_progress_at_the_deadline_is_an_error() {
        let polls = std::cell::Cell::new(0);
        let r = wait_until_updated(
            "f",
            || {
                polls.set(polls.get() + 1);
                async { status(Some(LastUpdateStatus::InProgress)) }
            },
            Duration::from_millis(30),
            Duration::from_millis(5),
        )
        .await;
        let err = r.unwrap_err().to_string();
        assert!(err.contains("still in progress"), "{err}");
        assert!(polls.get() >= 2, "polled until the deadline: {}", polls.get());
    }

    #[tokio::test]
    async fn update_finishing_in_time_returns_the_arn() {
        let polls = std::cell::Cell::new(0);
        let r =
            wait_until_updated(
                "f",
                || {
                    polls.set(polls.get() + 1);
                    let n = polls.get();
                    async move {
                        status(Some(if n < 3 { LastUpdateStatus::InProgress } else { LastUpdateStatus::Successful }))
                    }
                },
                Duration::from_secs(10),
                Duration::from_millis(1),
            )
            .await;
        assert_eq!(r.unwrap(), "arn:f");
        assert_eq!(polls.get(), 3);
        // No status at all (an emulator): done.
        let r = wait_until_updated("f", || async { status(None) }, Duration::ZERO, Duration::ZERO).await;
        assert_eq!(r.unwrap(), "arn:f");
    }

    #[tokio::test]
    async fn failed_update_is_an_error_with_the_reason() {
        let r = wait_until_updated(
            "f",
            || async { status(Some(LastUpdateStatus::Failed)) },
            Duration::from_secs(10),
            Duration::from_millis(1),
        )
        .await;
        let err = r.unwrap_err().to_string();
        assert!(err.contains("update failed: bad zip"), "{err}");
    }

    /// Issue 21: on a fresh account no pool or client id is known; each counts at the longest
    /// id AWS issues, so a folder whose environment would pass 4 KB once the ids exist is
    /// refused by `plan`, not by Lambda halfway through the apply.
    /// Contract §1.7: silo tenants no longer grow the environment (about 33 fitted Lambda's
    /// 4 KB before the configuration moved into the package): 300 plan clean on a fresh
    /// account, every issuer and client is in the configuration, and the environment holds the
    /// same few fixed variables.
    /// The package download is tried again after throttling, a 5xx or a dropped connection,
    /// never after a refusal (an expired URL) or an oversized package.
    #[test]
    fn package_downloads_retry_what_a_retry_can_cure() {
        assert!(retryable_download(&ureq::Error::StatusCode(429)));
        assert!(retryable_download(&ureq::Error::StatusCode(503)));
        assert!(retryable_download(&ureq::Error::ConnectionFailed));
        assert!(!retryable_download(&ureq::Error::StatusCode(403)));
        assert!(!retryable_download(&ureq::Error::BodyExceedsLimit(MAX_PACKAGE_BYTES)));
    }

    #[test]
    fn silo_tenants_grow_the_configuration_not_the_environment() {
        use crate::kinds::test_support::{desired_world, folder_edited};
        let ids: Vec<String> = (0..300).map(|i| format!("t{i:03}")).collect();
        let tenants: Vec<(&str, &str)> = ids.iter().map(|i| (i.as_str(), "isolation: silo\n")).collect();
        let (_t, f) = folder_edited(&|p| p.to_string(), &tenants);
        let f = f.unwrap_or_else(|e| panic!("{e}"));
        let w = desired_world(&f, None);
        LambdaFunction.check(&w, &World::default(), &Ids::default()).unwrap();
        let function = state(&w.items[FUNCTION_ADDRESS]).unwrap();
        // Each silo pool's issuer (no pooled tenant: no shared pool).
        assert_eq!(function.config["issuers"].len(), 300);
        assert_eq!(function.config["tenants"].len(), 300);
        let vars: Vec<&str> = function.environment.keys().map(String::as_str).collect();
        assert_eq!(
            vars,
            [
                "TENANTCTL_ACCOUNT_ID",
                "TENANTCTL_PLATFORM",
                "TENANTCTL_REGION",
                "TENANTCTL_TENANT_ATTRIBUTE",
                "TENANTCTL_TOKEN_USE"
            ]
        );
    }
}
