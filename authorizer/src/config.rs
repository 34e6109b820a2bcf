//! Configuration from the deployment package's file [`CONFIG_FILE`] (beside `bootstrap`) and the
//! few small environment variables that `tenantctl apply` sets on the function.
//!
//! Lambda's environment holds 4 KB, too little for the platform's issuers, app clients and
//! declared tenants (up to 100,000). So `tenantctl apply` writes those settings into
//! `tenantctl-authorizer.json` in the package, as one JSON object (keys in this order, maps and
//! lists sorted):
//!
//! ```json
//! {
//!   "format": 1,
//!   "issuers": {"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AAA": "*"},
//!   "clients": {"<app client id>": "<user pool id>"},
//!   "identityProviders": {"acme-okta": "acme", "Google": "*"},
//!   "tenants": ["acme", "globex", "initech"],
//!   "roles": {"admin": 1, "member": 10},
//!   "usagePlans": ["abc123"],
//!   "methodScopes": {"GET /reports": ["api/reports.read"]}
//! }
//! ```
//!
//! Each field holds what its variable held before ([`FILE_VARS`]; `tenants` is new: every
//! declared tenant id, and the authorizer denies a token of any other tenant). The environment
//! keeps [`FILE_ENV_VARS`]. [`Config::load`] reads both, once per cold start;
//! [`Config::from_env_and_file`] is its pure core. [`Config::from_env_map`] still builds the
//! same configuration from the variables alone (`TENANTCTL_TENANTS` for the tenants), for tests
//! and tools; both go through the same checks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::partition::partition_for_region;

pub const ENV_ISSUERS: &str = "TENANTCTL_ISSUERS";
pub const ENV_CLIENT_IDS: &str = "TENANTCTL_CLIENT_IDS";
pub const ENV_PLATFORM: &str = "TENANTCTL_PLATFORM";
pub const ENV_ACCOUNT_ID: &str = "TENANTCTL_ACCOUNT_ID";
pub const ENV_REGION: &str = "TENANTCTL_REGION";
pub const ENV_TOKEN_USE: &str = "TENANTCTL_TOKEN_USE";
pub const ENV_TENANT_ATTRIBUTE: &str = "TENANTCTL_TENANT_ATTRIBUTE";
pub const ENV_ROLES: &str = "TENANTCTL_ROLES";
pub const ENV_JWKS_URL: &str = "TENANTCTL_JWKS_URL";
pub const ENV_IDP_TENANTS: &str = "TENANTCTL_IDP_TENANTS";
/// `TENANTCTL_IDP_TENANTS` value of a provider that belongs to no tenant (a pool's own
/// social or enterprise provider): its users' tenant is their tenant attribute.
pub const ANY_TENANT: &str = "*";
pub const ENV_CLOCK_SKEW_SECONDS: &str = "TENANTCTL_CLOCK_SKEW_SECONDS";
pub const ENV_JWKS_BACKOFF_SECONDS: &str = "TENANTCTL_JWKS_BACKOFF_SECONDS";
/// Contract §1.6: the tiers' usage plan ids, whose keys the authorizer reads (`keys`).
pub const ENV_USAGE_PLANS: &str = "TENANTCTL_USAGE_PLANS";
/// Issue 23 item 7: the methods that need scopes, as a JSON object
/// `{"METHOD /path": ["scope", ...], ...}` (`{}`: none), from `authorizer.methods[].scopes`.
pub const ENV_METHOD_SCOPES: &str = "TENANTCTL_METHOD_SCOPES";
/// The API Gateway endpoint to read them from (emulator mode only; https or loopback http).
pub const ENV_APIGW_ENDPOINT: &str = "TENANTCTL_APIGW_ENDPOINT";
/// Every declared tenant id, comma separated, `-` for none ([`Config::from_env_map`] only; the
/// Lambda reads them from the file's `tenants`).
pub const ENV_TENANTS: &str = "TENANTCTL_TENANTS";

/// The configuration file in the deployment package, beside `bootstrap` (`$LAMBDA_TASK_ROOT`).
pub const CONFIG_FILE: &str = "tenantctl-authorizer.json";
/// The file's `format` this authorizer reads.
pub const CONFIG_FORMAT: u64 = 1;
/// [`ConfigError::var`] of an error in one of the file's fields.
pub const FILE_FORMAT: &str = "tenantctl-authorizer.json: format";
pub const FILE_ISSUERS: &str = "tenantctl-authorizer.json: issuers";
pub const FILE_CLIENTS: &str = "tenantctl-authorizer.json: clients";
pub const FILE_IDENTITY_PROVIDERS: &str = "tenantctl-authorizer.json: identityProviders";
pub const FILE_TENANTS: &str = "tenantctl-authorizer.json: tenants";
pub const FILE_ROLES: &str = "tenantctl-authorizer.json: roles";
pub const FILE_USAGE_PLANS: &str = "tenantctl-authorizer.json: usagePlans";
pub const FILE_METHOD_SCOPES: &str = "tenantctl-authorizer.json: methodScopes";
pub const FILE_TENANCY: &str = "tenantctl-authorizer.json: tenancy";

/// Per tenant, or shared by every tenant (contract §1.7 `tenancy.roles`, `tenancy.groups`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tenancy {
    #[default]
    PerTenant,
    Shared,
}

/// The file's optional `tenancy` (absent: both per-tenant, as before the field existed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenancyConfig {
    /// `shared`: one role `<platform>-<role>` per platform role (no tenant in its name).
    #[serde(default)]
    pub roles: Tenancy,
    /// `shared`: groups are `<role>` names; the tenant comes only from the tenant attribute.
    #[serde(default)]
    pub groups: Tenancy,
}

/// The variables whose settings moved into [`CONFIG_FILE`] (in the file's field order:
/// `issuers`, `clients`, `identityProviders`, `tenants`, `roles`, `usagePlans`,
/// `methodScopes`). [`Config::from_env_and_file`] ignores them in the environment.
pub const FILE_VARS: &[&str] =
    &[ENV_ISSUERS, ENV_CLIENT_IDS, ENV_IDP_TENANTS, ENV_TENANTS, ENV_ROLES, ENV_USAGE_PLANS, ENV_METHOD_SCOPES];

/// The variables that stay in the environment beside [`CONFIG_FILE`] (the first five required).
pub const FILE_ENV_VARS: &[&str] = &[
    ENV_PLATFORM,
    ENV_ACCOUNT_ID,
    ENV_REGION,
    ENV_TOKEN_USE,
    ENV_TENANT_ATTRIBUTE,
    ENV_JWKS_URL,
    ENV_APIGW_ENDPOINT,
    ENV_CLOCK_SKEW_SECONDS,
    ENV_JWKS_BACKOFF_SECONDS,
];

/// The value of a required list variable that lists nothing (`TENANTCTL_IDP_TENANTS`,
/// `TENANTCTL_USAGE_PLANS`): the variable is still set, so a missing one is an error rather
/// than a silent "none".
pub const NONE: &str = "-";

/// The variables [`Config::from_env_map`] requires (before [`CONFIG_FILE`], `tenantctl apply`
/// always wrote them): the function refuses to start (and logs
/// why) when one is missing or empty, rather than defaulting.
pub const REQUIRED_ENV_VARS: &[&str] = &[
    ENV_ISSUERS,
    ENV_CLIENT_IDS,
    ENV_PLATFORM,
    ENV_ACCOUNT_ID,
    ENV_REGION,
    ENV_TOKEN_USE,
    ENV_TENANT_ATTRIBUTE,
    ENV_ROLES,
    ENV_IDP_TENANTS,
    ENV_USAGE_PLANS,
    ENV_METHOD_SCOPES,
    ENV_TENANTS,
];

/// Every variable the authorizer reads (and `tenantctl apply` may set).
pub const ENV_VARS: &[&str] = &[
    ENV_ISSUERS,
    ENV_CLIENT_IDS,
    ENV_PLATFORM,
    ENV_ACCOUNT_ID,
    ENV_REGION,
    ENV_TOKEN_USE,
    ENV_TENANT_ATTRIBUTE,
    ENV_ROLES,
    ENV_JWKS_URL,
    ENV_IDP_TENANTS,
    ENV_CLOCK_SKEW_SECONDS,
    ENV_JWKS_BACKOFF_SECONDS,
    ENV_USAGE_PLANS,
    ENV_METHOD_SCOPES,
    ENV_APIGW_ENDPOINT,
    ENV_TENANTS,
];

pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 300;
/// Minimum time between two JWKS fetches of one issuer (aws-jwt-verify's penalty box waits 10 s).
pub const DEFAULT_JWKS_BACKOFF_SECONDS: u64 = 10;
pub const MAX_JWKS_BACKOFF_SECONDS: u64 = 3600;
/// After a failed fetch the next one may come this soon, whatever the configured back-off: a
/// JWKS outage blocks a container for at most this long after the endpoint recovers.
pub const MAX_JWKS_FAILURE_BACKOFF_SECONDS: u64 = 10;

/// Which Cognito token the authorizer accepts (`token_use` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    Id,
    Access,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// A method whose callers need an access token holding one of `scopes` (as the Cognito
/// authorizer's `authorizationScopes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedMethod {
    /// `GET`, `POST`, ... or `ANY`.
    pub method: String,
    /// The resource path as declared: `/orders/{id}`, `/files/{proxy+}`.
    pub path: String,
    pub scopes: Vec<String>,
}

const HTTP_METHODS: &[&str] = &["ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

impl ScopedMethod {
    /// Whether a request (`verb`, and its path as the methodArn holds it: no leading `/`)
    /// is this method: a `{param}` segment matches one segment, a last `{param+}` one or more.
    pub fn matches(&self, verb: &str, request_path: &str) -> bool {
        if self.method != "ANY" && self.method != verb {
            return false;
        }
        let mut want = self.path.split('/').skip(1).filter(|s| !s.is_empty());
        let mut got = request_path.split('/').filter(|s| !s.is_empty());
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(_)) if w.starts_with('{') && w.ends_with("+}") => return true,
                (Some(w), Some(_)) if w.starts_with('{') => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }

    /// The method in a policy's execute-api resource, after `<api>/<stage>/`: `GET/orders/*`
    /// for `GET /orders/{id}` (`*` also matches the paths below it), `*` for `ANY`.
    pub fn resource_suffix(&self) -> String {
        let verb = if self.method == "ANY" { "*" } else { self.method.as_str() };
        let path: Vec<&str> = self
            .path
            .split('/')
            .skip(1)
            .filter(|s| !s.is_empty())
            .map(|s| if s.starts_with('{') { "*" } else { s })
            .collect();
        format!("{verb}/{}", path.join("/"))
    }
}

/// `{"METHOD /path": ["scope", ...]}`: methods of [`HTTP_METHODS`], paths of literal segments
/// (`[A-Za-z0-9._~-]`) and `{param}` (a last `{param+}`), scopes without whitespace, quotes or
/// backslashes (Cognito's resource server scopes); each method once.
fn check_method_scopes(mut map: Vec<(String, serde_json::Value)>) -> Result<Vec<ScopedMethod>, String> {
    // By key, whatever order the JSON object came in (serde_json keeps a document's order
    // when a crate of the build turns `preserve_order` on).
    map.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = std::collections::BTreeSet::new();
    if let Some((key, _)) = map.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(format!("{key:?} listed twice"));
    }
    let mut out = Vec::with_capacity(map.len());
    for (key, scopes) in map {
        let (method, path) = key.split_once(' ').ok_or_else(|| format!("{key:?} is not \"METHOD /path\""))?;
        if !HTTP_METHODS.contains(&method) {
            return Err(format!("{key:?}: method {method:?} is not one of {}", HTTP_METHODS.join(", ")));
        }
        check_resource_path(path).map_err(|m| format!("{key:?}: {m}"))?;
        let list = scopes
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("{key:?}: scopes must be a non-empty list"))?;
        let mut names = Vec::with_capacity(list.len());
        for s in list {
            match s.as_str() {
                Some(s)
                    if !s.is_empty()
                        && s.len() <= 256
                        && s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') =>
                {
                    names.push(s.to_string())
                }
                _ => return Err(format!("{key:?}: invalid scope {s}")),
            }
        }
        out.push(ScopedMethod { method: method.to_string(), path: path.to_string(), scopes: names });
    }
    Ok(out)
}

fn check_resource_path(path: &str) -> Result<(), String> {
    if path == "/" {
        return Ok(());
    }
    let segments: Vec<&str> = path.strip_prefix('/').ok_or("the path must start with /")?.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let ok = if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let name = match name.strip_suffix('+') {
                Some(n) if i + 1 == segments.len() => n,
                Some(_) => return Err(format!("{seg} must be the last segment")),
                None => name,
            };
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        } else {
            !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
        };
        if !ok {
            return Err(format!("invalid path segment {seg:?}"));
        }
    }
    Ok(())
}

/// Which tenants an issuer (user pool) may speak for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerScope {
    /// `ISSUER=TENANT`: a silo pool, exactly that tenant.
    Tenant(String),
    /// `ISSUER=*`: the shared pool, every tenant that no `ISSUER=TENANT` entry binds (pooled
    /// tenants only).
    Pooled,
}

/// A setting the authorizer refuses. Displayed as `<var>: <message>`, or `<var>[i]: ...` for the
/// `i`th item of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable (`TENANTCTL_ISSUERS`), the file's field
    /// (`tenantctl-authorizer.json: tenants`, the `FILE_*` constants) or the file itself
    /// ([`CONFIG_FILE`]: unreadable, not JSON, an unknown field).
    pub var: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An item's index follows the name: `tenants[3]: ...`.
        let sep = if self.message.starts_with('[') { "" } else { ": " };
        write!(f, "{}{sep}{}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

/// The authorizer's settings. Build it with [`Config::load`] (the Lambda),
/// [`Config::from_env_and_file`], or [`Config::from_env_map`] (or [`Config::from_env`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Accepted `iss` values, compared byte for byte, in the order of `TENANTCTL_ISSUERS`.
    pub issuers: Vec<String>,
    /// Issuer -> the tenants it may speak for (one entry per issuer).
    pub issuer_scopes: BTreeMap<String, IssuerScope>,
    /// Tenants bound to a silo issuer: tenant -> issuer.
    pub silo_tenants: BTreeMap<String, String>,
    /// Accepted `aud` (ID tokens) / `client_id` (access tokens), in the order of
    /// `TENANTCTL_CLIENT_IDS`.
    pub client_ids: Vec<String>,
    /// App client id -> the issuer of its pool: a client's id is accepted only in a token
    /// that pool signed.
    pub client_issuers: BTreeMap<String, String>,
    pub platform: String,
    pub account_id: String,
    pub region: String,
    /// The ARN partition of `region` (from the one region table, partition.rs).
    pub partition: &'static str,
    pub token_use: TokenUse,
    /// Name without the `custom:` prefix.
    pub tenant_attribute: String,
    /// Role name -> group precedence (lower wins).
    pub roles: BTreeMap<String, u32>,
    /// Optional JWKS URL template with `{issuer}` and/or `{pool_id}`.
    pub jwks_url_template: Option<String>,
    /// Federated provider name -> tenant, or [`ANY_TENANT`] for a pool's own provider.
    pub idp_tenants: BTreeMap<String, String>,
    /// Every declared tenant id (the file's `tenants`, `TENANTCTL_TENANTS`): a token of any
    /// other tenant is denied (`undeclared_tenant`). Holds every silo issuer's and provider's.
    pub tenants: BTreeSet<String>,
    pub clock_skew_seconds: u64,
    pub jwks_backoff_seconds: u64,
    /// Usage plan ids (`usagePlans`, `TENANTCTL_USAGE_PLANS`): when set, every Allow carries the tenant's
    /// API key as `usageIdentifierKey`.
    pub usage_plans: Vec<String>,
    /// `methodScopes` (`TENANTCTL_METHOD_SCOPES`): the methods that need an access token holding a scope.
    pub method_scopes: Vec<ScopedMethod>,
    /// `TENANTCTL_APIGW_ENDPOINT`, else `https://apigateway.<region>.<dns suffix>`.
    pub apigw_endpoint: String,
    /// The file's `tenancy` (per-tenant roles and groups when absent, and from the variables).
    pub tenancy: TenancyConfig,
}

impl Config {
    /// Reads the process environment, every setting from its `TENANTCTL_*` variable (tests and
    /// tools; the Lambda uses [`Config::load`]).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_env_map(&process_env())
    }

    /// The Lambda's configuration: the small variables of the process environment
    /// ([`FILE_ENV_VARS`]) and the file [`CONFIG_FILE`] in `$LAMBDA_TASK_ROOT` (the directory
    /// of `bootstrap`; unset: the current directory). A missing or unreadable file is an error
    /// naming its path: there is no fallback to the environment for the settings it holds.
    pub fn load() -> Result<Config, ConfigError> {
        let path = config_path();
        let file =
            std::fs::read(&path).map_err(|e| err(CONFIG_FILE, format!("cannot read {}: {e}", path.display())))?;
        Config::from_env_and_file(&process_env(), &file)
    }

    /// Builds the configuration from the small variables of `env` ([`FILE_ENV_VARS`]) and the
    /// contents of [`CONFIG_FILE`], with the validation of [`Config::from_env_map`]. The file
    /// wins: the variables it replaces ([`FILE_VARS`]) are ignored when `env` holds them (an
    /// environment left from before the file never mixes into it). Errors name the file's field
    /// (`tenantctl-authorizer.json: tenants[3]: ...`) or the variable.
    pub fn from_env_and_file(env: &HashMap<String, String>, file: &[u8]) -> Result<Config, ConfigError> {
        let f: ConfigFile = serde_json::from_slice(file).map_err(|e| file_error(file, e))?;
        if f.format != CONFIG_FORMAT {
            return Err(err(FILE_FORMAT, format!("is {}, this authorizer reads format {CONFIG_FORMAT}", f.format)));
        }
        let moved = Moved {
            issuers: f.issuers.0,
            clients: f.clients.0,
            idp_tenants: f.identity_providers.0,
            roles: f.roles.0,
            tenants: f.tenants,
            usage_plans: f.usage_plans,
            method_scopes: f.method_scopes.0,
            tenancy: f.tenancy,
        };
        Config::build(env, moved, &FILE_NAMES)
    }

    /// Builds the configuration from a map of the `TENANTCTL_*` variables, every setting from
    /// its variable (before [`CONFIG_FILE`]); an empty value counts as absent.
    pub fn from_env_map(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let required = |k: &'static str| get(k).ok_or_else(|| err(k, "is required"));

        let mut issuers = Vec::new();
        for entry in split_list(required(ENV_ISSUERS)?) {
            // The issuer is a URL without '='; the tenant never holds one either.
            let (iss, scope) = entry.split_once('=').ok_or_else(|| {
                err(
                    ENV_ISSUERS,
                    format!("{entry:?} is not ISSUER=TENANT or ISSUER=* (which tenants may this pool speak for?)"),
                )
            })?;
            issuers.push((iss.trim().to_string(), scope.trim().to_string()));
        }
        let mut clients = Vec::new();
        for entry in split_list(required(ENV_CLIENT_IDS)?) {
            let (c, pool) = entry.split_once(':').ok_or_else(|| {
                err(ENV_CLIENT_IDS, format!("{entry:?} is not CLIENT_ID:POOL_ID (which pool is it of?)"))
            })?;
            clients.push((c.to_string(), pool.to_string()));
        }
        let mut roles = Vec::new();
        for item in split_list(required(ENV_ROLES)?) {
            let (name, prec) =
                item.split_once(':').ok_or_else(|| err(ENV_ROLES, format!("{item:?} is not role:precedence")))?;
            if !is_role_name(name) {
                return Err(err(ENV_ROLES, format!("role {name:?} does not match ^[a-z][a-z0-9]{{0,15}}$")));
            }
            let prec: u32 = prec
                .trim()
                .parse()
                .map_err(|_| err(ENV_ROLES, format!("precedence of {name:?} is not a non-negative integer")))?;
            roles.push((name.to_string(), prec));
        }
        let mut idp_tenants = Vec::new();
        for item in none_or(required(ENV_IDP_TENANTS)?).map(split_list).unwrap_or_default() {
            let (provider, tenant) = item
                .rsplit_once(':')
                .ok_or_else(|| err(ENV_IDP_TENANTS, format!("{item:?} is not providerName:tenant")))?;
            idp_tenants.push((provider.to_string(), tenant.to_string()));
        }
        let tenants = none_or(required(ENV_TENANTS)?).map(split_list).unwrap_or_default();
        let usage_plans = none_or(required(ENV_USAGE_PLANS)?).map(split_list).unwrap_or_default();
        let method_scopes: BTreeMap<String, serde_json::Value> = serde_json::from_str(required(ENV_METHOD_SCOPES)?)
            .map_err(|e| err(ENV_METHOD_SCOPES, format!("not a JSON object of \"METHOD /path\": [scopes]: {e}")))?;
        let moved = Moved {
            issuers,
            clients,
            idp_tenants,
            roles,
            tenants,
            usage_plans,
            method_scopes: method_scopes.into_iter().collect(),
            tenancy: TenancyConfig::default(),
        };
        Config::build(env, moved, &ENV_NAMES)
    }

    /// The one validation of both sources: the small variables of `env`, and the settings of
    /// `moved` (split, not yet checked) whose errors name `names`.
    fn build(env: &HashMap<String, String>, moved: Moved, names: &Names) -> Result<Config, ConfigError> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let required = |k: &'static str| get(k).ok_or_else(|| err(k, "is required"));
        let Moved {
            issuers: issuer_entries,
            clients,
            idp_tenants,
            roles: role_entries,
            tenants,
            usage_plans,
            method_scopes,
            tenancy,
        } = moved;

        // The declared tenants first: the issuers' and providers' tenants must be among them.
        for (i, t) in tenants.iter().enumerate() {
            if !is_tenant_id(t) {
                return Err(err(names.tenants, format!("[{i}]: {t:?} is not a tenant id")));
            }
        }
        // The file lists them sorted: one pass proves them distinct, and the set is built in
        // bulk (inserting 100,000 one by one costs several times more).
        if !tenants.windows(2).all(|w| w[0] < w[1]) {
            let mut seen = std::collections::HashSet::with_capacity(tenants.len());
            if let Some((i, t)) = tenants.iter().enumerate().find(|(_, t)| !seen.insert(t.as_str())) {
                return Err(err(names.tenants, format!("[{i}]: tenant {t:?} listed twice")));
            }
        }
        let tenants: BTreeSet<String> = tenants.into_iter().collect();
        if issuer_entries.is_empty() {
            return Err(err(names.issuers, "lists no issuer"));
        }
        let mut issuers = Vec::with_capacity(issuer_entries.len());
        let mut issuer_scopes = BTreeMap::new();
        let mut silo_tenants = BTreeMap::new();
        for (iss, scope) in issuer_entries {
            check_issuer(&iss).map_err(|m| err(names.issuers, m))?;
            let scope = match scope.as_str() {
                ANY_TENANT => {
                    if issuer_scopes.values().any(|s| *s == IssuerScope::Pooled) {
                        return Err(err(names.issuers, "more than one shared-pool issuer (ISSUER=*)"));
                    }
                    IssuerScope::Pooled
                }
                t if is_tenant_id(t) => {
                    if !tenants.contains(t) {
                        return Err(err(
                            names.issuers,
                            format!("{iss}: tenant {t:?} is not declared (in {})", names.tenants),
                        ));
                    }
                    if let Some(other) = silo_tenants.insert(t.to_string(), iss.clone()) {
                        return Err(err(
                            names.issuers,
                            format!("tenant {t:?} bound to two issuers ({other} and {iss})"),
                        ));
                    }
                    IssuerScope::Tenant(t.to_string())
                }
                t => return Err(err(names.issuers, format!("{t:?} after {iss}= is neither a tenant id nor *"))),
            };
            if issuer_scopes.insert(iss.clone(), scope).is_some() {
                return Err(err(names.issuers, format!("issuer {iss} listed twice")));
            }
            issuers.push(iss);
        }
        let platform = required(ENV_PLATFORM)?.to_string();
        if !is_platform_name(&platform) {
            return Err(err(ENV_PLATFORM, format!("{platform:?} does not match ^[a-z][a-z0-9]{{0,19}}$")));
        }
        let account_id = required(ENV_ACCOUNT_ID)?.to_string();
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(ENV_ACCOUNT_ID, format!("{account_id:?} is not a 12-digit account id")));
        }
        let region = required(ENV_REGION)?.to_string();
        if !is_region(&region) {
            return Err(err(ENV_REGION, format!("invalid region {region:?}")));
        }
        let partition = partition_for_region(&region);
        for iss in &issuers {
            let theirs = partition_for_region(issuer_region(iss));
            if theirs.name != partition.name {
                return Err(err(
                    names.issuers,
                    format!(
                        "issuer {iss} is in partition {}, the function's region {region} in {}",
                        theirs.name, partition.name
                    ),
                ));
            }
        }
        let (client_ids, client_issuers) = check_clients(clients, &issuers, names.clients)?;
        let token_use = match required(ENV_TOKEN_USE)? {
            "id" => TokenUse::Id,
            "access" => TokenUse::Access,
            other => return Err(err(ENV_TOKEN_USE, format!("{other:?} is neither id nor access"))),
        };
        let tenant_attribute = required(ENV_TENANT_ATTRIBUTE)?.to_string();
        if tenant_attribute.is_empty()
            || tenant_attribute.len() > 20
            || !tenant_attribute.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(err(ENV_TENANT_ATTRIBUTE, format!("invalid attribute name {tenant_attribute:?}")));
        }
        let mut roles = BTreeMap::new();
        for (name, prec) in role_entries {
            if !is_role_name(&name) {
                return Err(err(names.roles, format!("role {name:?} does not match ^[a-z][a-z0-9]{{0,15}}$")));
            }
            if roles.contains_key(&name) {
                return Err(err(names.roles, format!("role {name:?} listed twice")));
            }
            roles.insert(name, prec);
        }
        let jwks_url_template = get(ENV_JWKS_URL).map(str::to_string);
        if let Some(t) = &jwks_url_template {
            check_jwks_template(t).map_err(|m| err(ENV_JWKS_URL, m))?;
            if issuers.len() > 1 && !t.contains("{issuer}") && !t.contains("{pool_id}") {
                return Err(err(ENV_JWKS_URL, "several issuers need {issuer} or {pool_id} in the template"));
            }
        }
        let idp_tenants = check_idp_tenants(idp_tenants, &tenants, names)?;
        let clock_skew_seconds = parse_seconds(
            get(ENV_CLOCK_SKEW_SECONDS),
            ENV_CLOCK_SKEW_SECONDS,
            DEFAULT_CLOCK_SKEW_SECONDS,
            0,
            MAX_CLOCK_SKEW_SECONDS,
        )?;
        let jwks_backoff_seconds = parse_seconds(
            get(ENV_JWKS_BACKOFF_SECONDS),
            ENV_JWKS_BACKOFF_SECONDS,
            DEFAULT_JWKS_BACKOFF_SECONDS,
            1,
            MAX_JWKS_BACKOFF_SECONDS,
        )?;
        for (i, p) in usage_plans.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(err(names.usage_plans, format!("[{i}]: invalid usage plan id {p:?}")));
            }
            if usage_plans[..i].contains(p) {
                return Err(err(names.usage_plans, format!("[{i}]: usage plan {p:?} listed twice")));
            }
        }
        let apigw_endpoint = match get(ENV_APIGW_ENDPOINT) {
            Some(e) => {
                check_jwks_template(e).map_err(|m| err(ENV_APIGW_ENDPOINT, m))?;
                e.trim_end_matches('/').to_string()
            }
            None => format!("https://apigateway.{region}.{}", partition.dns_suffix),
        };
        let method_scopes = check_method_scopes(method_scopes).map_err(|m| err(names.method_scopes, m))?;
        Ok(Config {
            tenancy,
            usage_plans,
            method_scopes,
            apigw_endpoint,
            issuers,
            issuer_scopes,
            silo_tenants,
            client_ids,
            client_issuers,
            platform,
            account_id,
            region,
            partition: partition.name,
            token_use,
            tenant_attribute,
            roles,
            jwks_url_template,
            idp_tenants,
            tenants,
            clock_skew_seconds,
            jwks_backoff_seconds,
        })
    }
    /// The claim that carries the tenant: `custom:<tenantAttribute>`.
    pub fn tenant_claim(&self) -> String {
        format!("custom:{}", self.tenant_attribute)
    }

    /// Whether `client` is an app client of the pool of `issuer`.
    pub fn client_of(&self, client: &str, issuer: &str) -> bool {
        self.client_issuers.get(client).is_some_and(|i| i == issuer)
    }

    /// Whether tokens of `issuer` may speak for `tenant`: its own tenant for a silo issuer; any
    /// tenant not bound to a silo issuer for the shared pool's. Unknown issuers: never.
    pub fn issuer_may_speak_for(&self, issuer: &str, tenant: &str) -> bool {
        match self.issuer_scopes.get(issuer) {
            Some(IssuerScope::Tenant(t)) => t == tenant,
            Some(IssuerScope::Pooled) => !self.silo_tenants.contains_key(tenant),
            None => false,
        }
    }

    /// Where the keys of `issuer` are fetched from: `{issuer}/.well-known/jwks.json` (the
    /// issuer itself being checked against the Cognito shape), unless the template overrides it.
    pub fn jwks_url(&self, issuer: &str) -> String {
        match &self.jwks_url_template {
            Some(t) => t.replace("{issuer}", issuer).replace("{pool_id}", pool_id(issuer)),
            None => format!("{issuer}/.well-known/jwks.json"),
        }
    }

    /// The contract's IAM role for (tenant, role), in the configured region's partition: the
    /// tenant's own, or with shared roles the role's (the caller passes the tenant as the
    /// session tag `tenant_id`).
    pub fn role_arn(&self, tenant: &str, role: &str) -> String {
        match self.tenancy.roles {
            Tenancy::PerTenant => role_arn_in(self.partition, &self.account_id, &self.platform, tenant, role),
            Tenancy::Shared => shared_role_arn_in(self.partition, &self.account_id, &self.platform, role),
        }
    }

    /// Whether a token's groups are shared `<role>` groups (contract §1.7).
    pub fn shared_groups(&self) -> bool {
        self.tenancy.groups == Tenancy::Shared
    }
}

/// `arn:<partition>:iam::<account>:role/tenantctl/<platform>/<platform>-<tenant>-<role>`.
pub fn role_arn_in(partition: &str, account_id: &str, platform: &str, tenant: &str, role: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:role/tenantctl/{platform}/{platform}-{tenant}-{role}")
}

/// `arn:<partition>:iam::<account>:role/tenantctl/<platform>/<platform>-<role>` (a shared role).
pub fn shared_role_arn_in(partition: &str, account_id: &str, platform: &str, role: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:role/tenantctl/{platform}/{platform}-{role}")
}

/// The last path segment of a Cognito issuer URL (the user pool id).
pub fn pool_id(issuer: &str) -> &str {
    issuer.rsplit('/').next().unwrap_or(issuer)
}

/// The variables of the process environment the authorizer reads ([`ENV_VARS`]).
fn process_env() -> HashMap<String, String> {
    ENV_VARS.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect()
}

/// `$LAMBDA_TASK_ROOT/tenantctl-authorizer.json` (`LAMBDA_TASK_ROOT` unset or empty: the
/// current directory).
pub fn config_path() -> std::path::PathBuf {
    let dir = std::env::var_os("LAMBDA_TASK_ROOT").filter(|d| !d.is_empty()).unwrap_or_else(|| ".".into());
    std::path::Path::new(&dir).join(CONFIG_FILE)
}

/// The settings of [`FILE_VARS`], split (from the variables) or deserialized (from the file)
/// but not yet checked.
struct Moved {
    /// (issuer, tenant or `*`).
    issuers: Vec<(String, String)>,
    /// (app client id, user pool id).
    clients: Vec<(String, String)>,
    /// (provider name, tenant or `*`).
    idp_tenants: Vec<(String, String)>,
    roles: Vec<(String, u32)>,
    tenants: Vec<String>,
    usage_plans: Vec<String>,
    /// ("METHOD /path", scopes).
    method_scopes: Vec<(String, serde_json::Value)>,
    tenancy: TenancyConfig,
}

/// What the errors of each moved setting name: the variable, or the file's field.
struct Names {
    issuers: &'static str,
    clients: &'static str,
    idp_tenants: &'static str,
    roles: &'static str,
    tenants: &'static str,
    usage_plans: &'static str,
    method_scopes: &'static str,
}

const ENV_NAMES: Names = Names {
    issuers: ENV_ISSUERS,
    clients: ENV_CLIENT_IDS,
    idp_tenants: ENV_IDP_TENANTS,
    roles: ENV_ROLES,
    tenants: ENV_TENANTS,
    usage_plans: ENV_USAGE_PLANS,
    method_scopes: ENV_METHOD_SCOPES,
};

const FILE_NAMES: Names = Names {
    issuers: FILE_ISSUERS,
    clients: FILE_CLIENTS,
    idp_tenants: FILE_IDENTITY_PROVIDERS,
    roles: FILE_ROLES,
    tenants: FILE_TENANTS,
    usage_plans: FILE_USAGE_PLANS,
    method_scopes: FILE_METHOD_SCOPES,
};

/// [`CONFIG_FILE`] as `tenantctl apply` writes it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigFile {
    format: u64,
    issuers: Entries<String>,
    clients: Entries<String>,
    identity_providers: Entries<String>,
    tenants: Vec<String>,
    roles: Entries<u32>,
    usage_plans: Vec<String>,
    method_scopes: Entries<serde_json::Value>,
    /// Optional: absent in files written before it (per-tenant roles and groups).
    #[serde(default)]
    tenancy: TenancyConfig,
}

/// The file's fields, in its order, with the error name of each.
const FILE_FIELDS: &[(&str, &str)] = &[
    ("format", FILE_FORMAT),
    ("issuers", FILE_ISSUERS),
    ("clients", FILE_CLIENTS),
    ("identityProviders", FILE_IDENTITY_PROVIDERS),
    ("tenants", FILE_TENANTS),
    ("roles", FILE_ROLES),
    ("usagePlans", FILE_USAGE_PLANS),
    ("methodScopes", FILE_METHOD_SCOPES),
    ("tenancy", FILE_TENANCY),
];

/// A JSON object's members in their order, duplicates kept (a map would silently keep the last
/// of two equal keys; the checks refuse them as the variables' did).
struct Entries<V>(Vec<(String, V)>);

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Entries<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// The error of a file that does not deserialize, naming the field at fault: the file is read
/// again field by field (only on this failure path; the fast path deserializes once).
fn file_error(file: &[u8], e: serde_json::Error) -> ConfigError {
    use serde_json::Value;
    let top = match serde_json::from_slice::<Value>(file) {
        Ok(Value::Object(top)) => top,
        Ok(_) => return err(CONFIG_FILE, "is not a JSON object"),
        Err(e) => return err(CONFIG_FILE, format!("is not JSON: {e}")),
    };
    match top.get("format") {
        Some(f) if f.as_u64() == Some(CONFIG_FORMAT) => {}
        Some(f) => return err(FILE_FORMAT, format!("is {f}, this authorizer reads format {CONFIG_FORMAT}")),
        None => return err(FILE_FORMAT, "is required"),
    }
    if let Some(k) = top.keys().find(|k| !FILE_FIELDS.iter().any(|(f, _)| f == k)) {
        return err(CONFIG_FILE, format!("unknown field {k:?}"));
    }
    for &(field, name) in FILE_FIELDS {
        let Some(v) = top.get(field) else {
            if field == "tenancy" {
                continue;
            }
            return err(name, "is required");
        };
        let bad = match field {
            "tenancy" => serde_json::from_value::<TenancyConfig>(v.clone()).err(),
            "tenants" | "usagePlans" => serde_json::from_value::<Vec<String>>(v.clone()).err(),
            "roles" => serde_json::from_value::<Entries<u32>>(v.clone()).err(),
            "methodScopes" => serde_json::from_value::<Entries<Value>>(v.clone()).err(),
            "format" => None,
            _ => serde_json::from_value::<Entries<String>>(v.clone()).err(),
        };
        if let Some(e) = bad {
            return err(name, e.to_string());
        }
    }
    err(CONFIG_FILE, e.to_string())
}

/// The app clients, `CLIENT_ID:POOL_ID` each: each belongs to the one pool (of `issuers`) that
/// may sign its tokens. The ids in order, and client -> issuer.
fn check_clients(
    clients: Vec<(String, String)>,
    issuers: &[String],
    name: &'static str,
) -> Result<(Vec<String>, BTreeMap<String, String>), ConfigError> {
    let mut client_ids = Vec::with_capacity(clients.len());
    let mut client_issuers = BTreeMap::new();
    // Pool id -> issuer (the first, should two share one): thousands of silo pools.
    let mut pools: HashMap<&str, &String> = HashMap::with_capacity(issuers.len());
    for iss in issuers {
        pools.entry(pool_id(iss)).or_insert(iss);
    }
    for (c, pool) in clients {
        if c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
            return Err(err(name, format!("invalid client id {c:?}")));
        }
        let Some(&iss) = pools.get(pool.as_str()) else {
            return Err(err(name, format!("client {c}: pool {pool:?} is no configured issuer's")));
        };
        if client_issuers.insert(c.clone(), iss.clone()).is_some() {
            return Err(err(name, format!("client {c} listed twice")));
        }
        client_ids.push(c);
    }
    Ok((client_ids, client_issuers))
}

/// The federated providers, `providerName:tenant` each (a declared tenant, or `*`).
fn check_idp_tenants(
    entries: Vec<(String, String)>,
    tenants: &BTreeSet<String>,
    names: &Names,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut idp_tenants = BTreeMap::new();
    for (provider, tenant) in entries {
        // `*`: one of the pool's own providers (social, enterprise), which speaks for no
        // tenant: the tenant comes from the tenant attribute.
        if provider.is_empty() || !(tenant == ANY_TENANT || is_tenant_id(&tenant)) {
            return Err(err(names.idp_tenants, format!("invalid entry {provider:?}: {tenant:?}")));
        }
        if tenant != ANY_TENANT && !tenants.contains(&tenant) {
            return Err(err(
                names.idp_tenants,
                format!("provider {provider:?}: tenant {tenant:?} is not declared (in {})", names.tenants),
            ));
        }
        if idp_tenants.contains_key(&provider) {
            return Err(err(names.idp_tenants, format!("provider {provider:?} listed twice")));
        }
        idp_tenants.insert(provider, tenant);
    }
    Ok(idp_tenants)
}

/// [`NONE`] as `None`: a required list variable that tenantctl writes even when it is empty.
fn none_or(v: &str) -> Option<&str> {
    (v != NONE).then_some(v)
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The region of a checked issuer (`https://cognito-idp.<region>.<suffix>/<pool>`).
fn issuer_region(iss: &str) -> &str {
    iss.strip_prefix("https://cognito-idp.").and_then(|r| r.split('.').next()).unwrap_or("")
}

/// `^[a-z]{2,}(-[a-z]+)+-[0-9]+$`-ish: lowercase words and a number, hyphen separated.
fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// A Cognito user pool issuer, exactly: `https://cognito-idp.<region>.<dns_suffix>/<region>_<id>`
/// with the DNS suffix of the region's partition (partition.rs). The JWKS URL is derived from
/// it, so this is the trust anchor: nothing else may be configured as an issuer.
pub fn check_issuer(iss: &str) -> Result<(), String> {
    let shape = "is not https://cognito-idp.<region>.<dns-suffix>/<pool-id>";
    let rest = iss.strip_prefix("https://cognito-idp.").ok_or_else(|| format!("issuer {iss:?} {shape}"))?;
    let (host_rest, pool) = rest.split_once('/').ok_or_else(|| format!("issuer {iss:?} {shape}"))?;
    let (region, suffix) = host_rest.split_once('.').ok_or_else(|| format!("issuer {iss:?} {shape}"))?;
    if !is_region(region) {
        return Err(format!("issuer {iss:?}: invalid region {region:?}"));
    }
    let want = partition_for_region(region).dns_suffix;
    if suffix != want {
        return Err(format!("issuer {iss:?}: the DNS suffix of {region} is {want}, not {suffix}"));
    }
    let id = pool.strip_prefix(region).and_then(|p| p.strip_prefix('_'));
    if !id.is_some_and(|id| !id.is_empty() && pool.len() <= 55 && id.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(format!("issuer {iss:?}: {pool:?} is not a user pool id of {region} (<region>_<id>)"));
    }
    Ok(())
}

/// The JWKS override: HTTPS, or plain HTTP only to a loopback host (the local emulator).
fn check_jwks_template(t: &str) -> Result<(), String> {
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("holds whitespace".into());
    }
    // `{issuer}` expands to a checked https issuer.
    if t.starts_with("https://") || t.starts_with("{issuer}") {
        return Ok(());
    }
    let rest = t.strip_prefix("http://").ok_or("must be an https URL (or http to a loopback host)")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("must not hold user information".into());
    }
    let host = if authority.starts_with('[') {
        authority.split_once(']').map(|(h, _)| &h[1..]).unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::Ipv6Addr>().is_ok_and(|a| a.is_loopback())
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|a| a.is_loopback());
    if !loopback {
        return Err(format!(
            "plain http is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]), not {host:?}; use https"
        ));
    }
    Ok(())
}

fn parse_seconds(v: Option<&str>, var: &'static str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let n: u64 = v.parse().map_err(|_| err(var, format!("{v:?} is not a number of seconds")))?;
    if n < min || n > max {
        return Err(err(var, format!("{n} is outside {min}..={max}")));
    }
    Ok(n)
}

/// `^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$` and not starting with "aws" (contract §1.2).
pub fn is_tenant_id(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 32
        && edge(b[0])
        && edge(b[b.len() - 1])
        && b.iter().all(|&c| edge(c) || c == b'-')
        && !s.starts_with("aws")
}

/// `^[a-z][a-z0-9]{0,15}$` (contract §1.1 roles).
pub fn is_role_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 16
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// `^[a-z][a-z0-9]{0,19}$` (contract §1.1 name).
pub fn is_platform_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 20
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> HashMap<String, String> {
        [
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc=*"),
            (ENV_CLIENT_IDS, "client1:us-east-1_abc, client2:us-east-1_abc"),
            (ENV_PLATFORM, "acmesaas"),
            (ENV_ACCOUNT_ID, "123456789012"),
            (ENV_REGION, "us-east-1"),
            (ENV_ROLES, "admin:1,member:10"),
            (ENV_TOKEN_USE, "id"),
            (ENV_TENANT_ATTRIBUTE, "tenant_id"),
            (ENV_IDP_TENANTS, "-"),
            (ENV_USAGE_PLANS, "-"),
            (ENV_METHOD_SCOPES, "{}"),
            (ENV_TENANTS, "acme,globex"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn parses_the_settings() {
        let c = Config::from_env_map(&base()).unwrap();
        assert_eq!(c.token_use, TokenUse::Id);
        assert_eq!(c.tenant_claim(), "custom:tenant_id");
        assert_eq!(c.client_ids, vec!["client1", "client2"]);
        assert_eq!(c.roles.get("member"), Some(&10));
        assert_eq!(c.clock_skew_seconds, 60);
        assert_eq!(c.jwks_backoff_seconds, 10);
        assert_eq!(c.issuers, ["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"]);
        assert_eq!(c.partition, "aws");
        assert_eq!(
            c.jwks_url("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/.well-known/jwks.json"
        );
        assert_eq!(
            c.role_arn("acme", "admin"),
            "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin"
        );
    }

    #[test]
    fn jwks_template() {
        let mut e = base();
        e.insert(ENV_JWKS_URL.into(), "http://127.0.0.1:5000/{pool_id}/.well-known/jwks.json".into());
        let c = Config::from_env_map(&e).unwrap();
        assert_eq!(
            c.jwks_url("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"),
            "http://127.0.0.1:5000/us-east-1_abc/.well-known/jwks.json"
        );
    }

    #[test]
    fn rejects_bad_values() {
        let cases: &[(&str, &str)] = &[
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/=*"),
            (ENV_ISSUERS, "http://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc=*"),
            (ENV_ISSUERS, ""),
            // An entry without '=' (the format before pool-to-tenant binding).
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc="),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc=Acme"),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc=*,https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc=acme"),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_a=acme,https://cognito-idp.us-east-1.amazonaws.com/us-east-1_b=acme"),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_a=*,https://cognito-idp.us-east-1.amazonaws.com/us-east-1_b=*"),
            // Not the Cognito issuer shape: another host, the wrong DNS suffix for the region,
            // a pool id of another region, a path below the pool.
            (ENV_ISSUERS, "https://evil.example/us-east-1_abc=*"),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com.evil.example/us-east-1_abc=*"),
            (ENV_ISSUERS, "https://cognito-idp.cn-north-1.amazonaws.com/cn-north-1_abc=*"),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_abc=*"),
            (ENV_ISSUERS, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/x=*"),
            // A pool in another partition than the function's region.
            (ENV_ISSUERS, "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc=*"),
            (ENV_JWKS_URL, "http://cognito-idp.us-east-1.amazonaws.com/{pool_id}/.well-known/jwks.json"),
            (ENV_JWKS_URL, "http://10.0.0.1:5000/{pool_id}/.well-known/jwks.json"),
            (ENV_JWKS_URL, "http://127.0.0.1.evil.example/{pool_id}/.well-known/jwks.json"),
            (ENV_JWKS_URL, "http://localhost@evil.example/{pool_id}/.well-known/jwks.json"),
            (ENV_JWKS_URL, "ftp://127.0.0.1/{pool_id}"),
            (ENV_PLATFORM, "acme-saas"),
            (ENV_ACCOUNT_ID, "12345"),
            (ENV_TOKEN_USE, "refresh"),
            (ENV_ROLES, "admin"),
            (ENV_ROLES, "Admin:1"),
            (ENV_ROLES, "admin:-1"),
            (ENV_ROLES, "admin:1,admin:2"),
            (ENV_IDP_TENANTS, "acme-okta:aws-x"),
            (ENV_CLOCK_SKEW_SECONDS, "3600"),
            (ENV_JWKS_BACKOFF_SECONDS, "0"),
            (ENV_TENANT_ATTRIBUTE, "tenant:id"),
        ];
        for (k, v) in cases {
            let mut e = base();
            e.insert(k.to_string(), v.to_string());
            let r = Config::from_env_map(&e);
            assert_eq!(r.as_ref().map_err(|e| e.var), Err(*k), "{k}={v:?} gave {r:?}");
        }
    }

    #[test]
    fn issuer_bindings() {
        let mut e = base();
        e.insert(
            ENV_ISSUERS.into(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_shared=*, https://cognito-idp.us-east-1.amazonaws.com/us-east-1_silo=globex".into(),
        );
        e.insert(ENV_CLIENT_IDS.into(), "client1:us-east-1_shared,client2:us-east-1_silo".into());
        let c = Config::from_env_map(&e).unwrap();
        let (shared, silo) = (
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_shared",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_silo",
        );
        assert_eq!(c.issuers, [shared, silo]);
        assert_eq!(c.issuer_scopes[silo], IssuerScope::Tenant("globex".into()));
        assert!(c.issuer_may_speak_for(shared, "acme"));
        assert!(!c.issuer_may_speak_for(shared, "globex"), "a silo tenant is not the shared pool's");
        assert!(c.issuer_may_speak_for(silo, "globex"));
        assert!(!c.issuer_may_speak_for(silo, "acme"));
        assert!(!c.issuer_may_speak_for("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other", "acme"));
    }

    #[test]
    fn issuer_shapes() {
        for ok in [
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI",
            // The emulator's pool ids: <region>_<32 hex>.
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_0123456789abcdef0123456789abcdef",
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc",
            "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_abc",
        ] {
            assert_eq!(check_issuer(ok), Ok(()), "{ok}");
        }
        for bad in [
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_a-b",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc?x",
            "https://cognito-idp.us-east-1.amazonaws.com:8443/us-east-1_abc",
            "https://cognito-idp.useast1.amazonaws.com/useast1_abc",
            &format!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_{}", "a".repeat(50)),
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jwks_override_must_be_https_or_loopback() {
        for ok in [
            "http://127.0.0.1:5000/{pool_id}/.well-known/jwks.json",
            "http://127.8.9.10/{pool_id}/.well-known/jwks.json",
            "http://localhost:5000/{pool_id}/.well-known/jwks.json",
            "http://[::1]:5000/{pool_id}/.well-known/jwks.json",
            "https://keys.example/{pool_id}.json",
            "{issuer}/.well-known/jwks.json",
        ] {
            let mut e = base();
            e.insert(ENV_JWKS_URL.into(), ok.into());
            assert!(Config::from_env_map(&e).is_ok(), "{ok}");
        }
    }

    #[test]
    fn partitions_come_from_the_region_table() {
        let mut e = base();
        e.insert(ENV_REGION.into(), "cn-north-1".into());
        e.insert(ENV_ISSUERS.into(), "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc=*".into());
        e.insert(ENV_CLIENT_IDS.into(), "client1:cn-north-1_abc".into());
        let c = Config::from_env_map(&e).unwrap();
        assert_eq!(c.partition, "aws-cn");
        assert_eq!(
            c.role_arn("acme", "admin"),
            "arn:aws-cn:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin"
        );
        assert_eq!(
            c.jwks_url(&c.issuers[0]),
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc/.well-known/jwks.json"
        );
        e.insert(ENV_REGION.into(), "us-gov-west-1".into());
        e.insert(ENV_ISSUERS.into(), "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_abc=*".into());
        e.insert(ENV_CLIENT_IDS.into(), "client1:us-gov-west-1_abc".into());
        let c = Config::from_env_map(&e).unwrap();
        assert_eq!(
            c.role_arn("acme", "admin"),
            "arn:aws-us-gov:iam::123456789012:role/tenantctl/acmesaas/acmesaas-acme-admin"
        );
    }

    #[test]
    fn tenant_pattern() {
        for ok in ["acme", "a", "0", "acme-corp", "a1-2b", &"a".repeat(32)] {
            assert!(is_tenant_id(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "Acme", "*", "${aws:username}", "awsome", "a_b", &"a".repeat(33), "a b"] {
            assert!(!is_tenant_id(bad), "{bad}");
        }
    }
}
