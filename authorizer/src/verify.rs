//! Cognito JWT verification, stricter than aws-jwt-verify.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::config::{is_tenant_id, pool_id, Config, TokenUse};
use crate::jwks::{Clock, JwksCache, JwksFetcher, KeyError};

/// Tokens longer than this are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// How API Gateway is answered for a [`DenyReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyClass {
    /// Authentication failed (not a well-formed, correctly signed, current token of a known
    /// issuer and client): the Lambda fails with `Unauthorized`, API Gateway answers 401.
    Unauthorized,
    /// The token is authentic but its tenant or role check fails: an explicit `Deny` policy,
    /// API Gateway answers 403 (and caches the policy for the token).
    Forbidden,
    /// The authorizer cannot decide now (the tenants' API keys cannot be read): the Lambda
    /// fails with an error other than `Unauthorized`, which API Gateway answers with 500
    /// (gateway response `AUTHORIZER_CONFIGURATION_ERROR`) and does not cache.
    Error,
}

impl DenyClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DenyClass::Unauthorized => "unauthorized",
            DenyClass::Forbidden => "forbidden",
            DenyClass::Error => "error",
        }
    }
}

/// Why a request was denied. Logged (as [`DenyReason::as_str`]), never shown to the caller.
/// [`DenyReason::class`] says whether it is an authentication failure (401) or a denial (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// The event is not a TOKEN authorizer event.
    BadEvent,
    /// The methodArn is not an execute-api method ARN.
    BadMethodArn,
    /// No token, not three base64url parts, not JSON, or a claim of the wrong type.
    MalformedToken,
    /// `alg` is not RS256 (none, HS*, ES*, PS*, ...).
    AlgNotAllowed,
    /// The header has no `kid`.
    MissingKid,
    /// The header has a `crit` parameter (no extension is understood).
    CriticalHeader,
    /// `iss` is not exactly one of the configured issuers.
    WrongIssuer,
    /// The issuer's JWKS does not hold `kid` (after a refetch, or within the back-off window).
    UnknownKid,
    /// The issuer's JWKS could not be fetched.
    JwksUnavailable,
    /// The RS256 signature does not verify.
    BadSignature,
    /// `token_use` is not the configured one.
    WrongTokenUse,
    /// `aud` (ID token) or `client_id` (access token) is not a configured app client of the
    /// token's own pool (issuer).
    WrongClient,
    /// No `exp` claim.
    MissingExp,
    /// `exp` is past (beyond the allowed clock skew).
    Expired,
    /// `nbf` is in the future (beyond the allowed clock skew).
    NotYetValid,
    /// `iat` is in the future (beyond the allowed clock skew).
    IssuedInFuture,
    /// No `sub`.
    MissingSub,
    /// No tenant: no `custom:<tenantAttribute>` claim (ID tokens, and every token with shared
    /// groups; access tokens with per-tenant groups: neither that claim nor a `<tenant>-<role>`
    /// group).
    MissingTenant,
    /// The tenant claim does not match the contract's tenant id pattern.
    InvalidTenant,
    /// No `cognito:groups`, or an empty list.
    NoGroups,
    /// `cognito:groups` is not a list of strings.
    InvalidGroups,
    /// A group that is not `<tenant>-<role>` for the token's own tenant (with shared groups: not
    /// a configured role's name).
    ForeignGroup,
    /// A `<tenant>-<role>` group whose role is not configured.
    UnknownRole,
    /// A federated identity whose provider is not mapped to a tenant.
    UnknownProvider,
    /// A federated identity whose provider's tenant differs from the tenant claim (or from
    /// another identity's provider).
    ProviderTenantMismatch,
    /// The token's issuer (user pool) may not speak for the token's tenant: a silo pool's
    /// token for another tenant, or the shared pool's token for a silo tenant.
    WrongPool,
    /// The token's tenant is not one the platform declares (`Config::tenants`: the file's
    /// `tenants`): a deleted tenant's users, or a tenant id someone wrote into a pool.
    UndeclaredTenant,
    /// Groups, but no `<tenant>-<role>` group (e.g. only Cognito's automatic federated group).
    NoRole,
    /// A group shaped like Cognito's automatic federated group `<poolId>_<provider>` of the
    /// token's own pool, in a token whose `identities` does not name that provider (access
    /// tokens without `identities` take the group itself as the provider).
    NotFederated,
    /// The method needs a scope (`methodScopes`) the token does not hold (an ID
    /// token holds none).
    MissingScope,
    /// Contract §1.6: no tier usage plan holds an API key of the tenant (a read at most
    /// 10 s old says so). An error (500), not a cached Deny: the key may come.
    NoApiKey,
    /// The tiers' API keys could not be read (see the log line's detail): an error (500).
    ApiKeysUnavailable,
}

impl DenyReason {
    pub fn as_str(self) -> &'static str {
        use DenyReason::*;
        match self {
            BadEvent => "bad_event",
            BadMethodArn => "bad_method_arn",
            MalformedToken => "malformed_token",
            AlgNotAllowed => "alg_not_allowed",
            MissingKid => "missing_kid",
            CriticalHeader => "critical_header",
            WrongIssuer => "wrong_issuer",
            UnknownKid => "unknown_kid",
            JwksUnavailable => "jwks_unavailable",
            BadSignature => "bad_signature",
            WrongTokenUse => "wrong_token_use",
            WrongClient => "wrong_client",
            MissingExp => "missing_exp",
            Expired => "expired",
            NotYetValid => "not_yet_valid",
            IssuedInFuture => "issued_in_future",
            MissingSub => "missing_sub",
            MissingTenant => "missing_tenant",
            InvalidTenant => "invalid_tenant",
            NoGroups => "no_groups",
            InvalidGroups => "invalid_groups",
            ForeignGroup => "foreign_group",
            UnknownRole => "unknown_role",
            UnknownProvider => "unknown_provider",
            ProviderTenantMismatch => "provider_tenant_mismatch",
            WrongPool => "wrong_pool",
            UndeclaredTenant => "undeclared_tenant",
            NoRole => "no_role",
            NotFederated => "not_federated",
            MissingScope => "missing_scope",
            NoApiKey => "no_api_key",
            ApiKeysUnavailable => "api_keys_unavailable",
        }
    }

    /// 401 (authentication) or 403 (tenant and role checks of an authentic token).
    pub fn class(self) -> DenyClass {
        use DenyReason::*;
        match self {
            MissingTenant
            | InvalidTenant
            | NoGroups
            | InvalidGroups
            | ForeignGroup
            | UnknownRole
            | UnknownProvider
            | ProviderTenantMismatch
            | WrongPool
            | UndeclaredTenant
            | NoRole
            | NotFederated
            | MissingScope => DenyClass::Forbidden,
            NoApiKey | ApiKeysUnavailable => DenyClass::Error,
            BadEvent | BadMethodArn | MalformedToken | AlgNotAllowed | MissingKid | CriticalHeader | WrongIssuer
            | UnknownKid | JwksUnavailable | BadSignature | WrongTokenUse | WrongClient | MissingExp | Expired
            | NotYetValid | IssuedInFuture | MissingSub => DenyClass::Unauthorized,
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A denial: the reason, and a short detail for the log (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    pub reason: DenyReason,
    pub detail: String,
    /// The authentic token's `sub`, for the principal of a `Deny` policy ([`DenyClass::Forbidden`]
    /// reasons only).
    pub sub: Option<String>,
}

impl Deny {
    pub fn class(&self) -> DenyClass {
        self.reason.class()
    }
}

impl fmt::Display for Deny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Deny {}

fn deny(reason: DenyReason, detail: impl Into<String>) -> Deny {
    Deny { reason, detail: short(detail.into()), sub: None }
}

/// A denial of an authentic token (whose `sub` is known).
fn forbid(sub: &str, reason: DenyReason, detail: impl Into<String>) -> Deny {
    debug_assert_eq!(reason.class(), DenyClass::Forbidden);
    Deny { reason, detail: short(detail.into()), sub: Some(sub.to_string()) }
}

fn short(mut detail: String) -> String {
    if detail.len() > 160 {
        let mut cut = 160;
        while !detail.is_char_boundary(cut) {
            cut -= 1;
        }
        detail.truncate(cut);
        detail.push_str("...");
    }
    detail
}

/// What a verified token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub sub: String,
    pub tenant_id: String,
    /// The user's group role with the best (lowest) precedence.
    pub role: String,
    pub role_arn: String,
    pub issuer: String,
    pub groups: Vec<String>,
    /// The access token's `scope`, read only when some method needs a scope
    /// (`methodScopes`); empty otherwise and for ID tokens.
    pub scopes: Vec<String>,
}

/// Verifies tokens against a [`Config`], with a shared JWKS cache.
pub struct Verifier {
    config: Config,
    tenant_claim: String,
    clock: Arc<dyn Clock>,
    jwks: JwksCache,
    api_keys: Option<std::sync::Arc<crate::keys::ApiKeys>>,
}

impl Verifier {
    pub fn new(config: Config, fetcher: Arc<dyn JwksFetcher>, clock: Arc<dyn Clock>) -> Self {
        let jwks = JwksCache::new(fetcher, clock.clone(), config.jwks_backoff_seconds);
        let api_keys = (!config.usage_plans.is_empty()).then(|| {
            let lister = crate::keys::HttpKeyLister::new(config.apigw_endpoint.clone(), config.region.clone());
            let keys = crate::keys::ApiKeys::new(config.platform.clone(), config.usage_plans.clone(), Arc::new(lister));
            Arc::new(keys.with_clock(clock.clone()))
        });
        Verifier { tenant_claim: config.tenant_claim(), config, clock, jwks, api_keys }
    }

    /// Reads the tenants' API keys with `lister` (tests; by default the plans are read over
    /// HTTP when the configuration lists usage plans).
    pub fn with_key_lister(mut self, lister: Arc<dyn crate::keys::KeyLister>) -> Self {
        let keys = crate::keys::ApiKeys::new(self.config.platform.clone(), self.config.usage_plans.clone(), lister);
        self.api_keys = Some(Arc::new(keys.with_clock(self.clock.clone())));
        self
    }

    /// The tenants' API keys, when usage is metered (`usagePlans`).
    pub fn api_keys(&self) -> Option<&crate::keys::ApiKeys> {
        self.api_keys.as_deref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Verifies a raw JWT (no `Bearer ` prefix).
    pub fn verify(&self, token: &str) -> Result<Verified, Deny> {
        self.verify_until(token, None)
    }

    /// [`Verifier::verify`], a key set fetch given up at `deadline` (the request's).
    pub fn verify_until(&self, token: &str, deadline: Option<Instant>) -> Result<Verified, Deny> {
        use DenyReason::*;
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(deny(MalformedToken, format!("token length {}", token.len())));
        }
        let mut parts = token.split('.');
        let (Some(h64), Some(p64), Some(s64), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(deny(MalformedToken, "not three dot-separated parts"));
        };

        // Header: RS256 and a kid, nothing else considered (jku, x5u, jwk are ignored).
        let header = decode_json(h64).map_err(|e| deny(MalformedToken, format!("header: {e}")))?;
        match header.get("alg") {
            Some(Value::String(a)) if a == "RS256" => {}
            Some(Value::String(a)) => return Err(deny(AlgNotAllowed, format!("alg {a:?}"))),
            other => return Err(deny(AlgNotAllowed, format!("alg {}", type_name(other)))),
        }
        let kid = match header.get("kid") {
            Some(Value::String(k)) if !k.is_empty() => k.as_str(),
            _ => return Err(deny(MissingKid, "no kid in header")),
        };
        if header.contains_key("crit") {
            return Err(deny(CriticalHeader, "crit header present"));
        }

        // Unverified payload, read only to pick the issuer among the configured ones.
        let claims = decode_json(p64).map_err(|e| deny(MalformedToken, format!("payload: {e}")))?;
        let issuer = match claims.get("iss") {
            Some(Value::String(i)) => match self.config.issuers.iter().find(|c| *c == i) {
                Some(c) => c.as_str(),
                None => return Err(deny(WrongIssuer, format!("iss {i:?}"))),
            },
            other => return Err(deny(WrongIssuer, format!("iss {}", type_name(other)))),
        };
        if s64.is_empty() {
            return Err(deny(MalformedToken, "empty signature"));
        }
        let key = self.jwks.key(issuer, &self.config.jwks_url(issuer), kid, deadline).map_err(|e| match e {
            KeyError::UnknownKid => deny(UnknownKid, format!("kid {kid:?} of {issuer}")),
            KeyError::Unavailable(why) => deny(JwksUnavailable, why),
        })?;
        let signing_input = &token[..h64.len() + 1 + p64.len()];
        match jsonwebtoken::crypto::verify(s64, signing_input.as_bytes(), &key, Algorithm::RS256) {
            Ok(true) => {}
            Ok(false) => return Err(deny(BadSignature, format!("kid {kid:?}"))),
            Err(e) => return Err(deny(BadSignature, format!("kid {kid:?}: {e}"))),
        }

        // From here on the claims are authentic.
        self.check_claims(&claims, issuer)
    }

    fn check_claims(&self, claims: &Map<String, Value>, issuer: &str) -> Result<Verified, Deny> {
        use DenyReason::*;
        let cfg = &self.config;
        match claims.get("token_use") {
            Some(Value::String(u)) if u == cfg.token_use.as_str() => {}
            other => {
                return Err(deny(WrongTokenUse, format!("token_use {}, want {}", show(other), cfg.token_use.as_str())))
            }
        }
        let client_claim = match cfg.token_use {
            TokenUse::Id => "aud",
            TokenUse::Access => "client_id",
        };
        // Each client of the issuer's own pool: another managed pool's client id is refused.
        let client_ok = match claims.get(client_claim) {
            Some(Value::String(c)) => cfg.client_of(c, issuer),
            Some(Value::Array(a)) => {
                !a.is_empty() && a.iter().all(|c| matches!(c, Value::String(c) if cfg.client_of(c, issuer)))
            }
            _ => false,
        };
        if !client_ok {
            return Err(deny(WrongClient, format!("{client_claim} {}", show(claims.get(client_claim)))));
        }

        let now = self.clock.now_unix();
        let skew = cfg.clock_skew_seconds;
        let exp = match claims.get("exp") {
            None | Some(Value::Null) => return Err(deny(MissingExp, "no exp")),
            Some(v) => numeric_date(v).ok_or_else(|| deny(MalformedToken, "exp is not a number"))?,
        };
        if now >= exp.saturating_add(skew) {
            return Err(deny(Expired, format!("exp {exp}, now {now}")));
        }
        if let Some(v) = claims.get("nbf") {
            let nbf = numeric_date(v).ok_or_else(|| deny(MalformedToken, "nbf is not a number"))?;
            if nbf > now.saturating_add(skew) {
                return Err(deny(NotYetValid, format!("nbf {nbf}, now {now}")));
            }
        }
        if let Some(v) = claims.get("iat") {
            let iat = numeric_date(v).ok_or_else(|| deny(MalformedToken, "iat is not a number"))?;
            if iat > now.saturating_add(skew) {
                return Err(deny(IssuedInFuture, format!("iat {iat}, now {now}")));
            }
        }

        let sub = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
            _ => return Err(deny(MissingSub, "no sub")),
        };
        // From here on the token is authentic: a failed tenant or role check is a Deny policy (403).
        let attr_tenant: Option<&str> = match claims.get(&self.tenant_claim) {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) if is_tenant_id(t) => Some(t),
            Some(other) => {
                return Err(forbid(&sub, InvalidTenant, format!("{} {}", self.tenant_claim, show(Some(other)))))
            }
        };

        let own_pool = pool_id(issuer);
        let (providers, federated_tenant) = self.federation(claims, own_pool, attr_tenant, &sub)?;

        // The tenant the token claims, before any group is looked at. ID tokens must claim one;
        // access tokens may leave it to their groups, unless groups are shared (contract §1.7:
        // a `<role>` group names no tenant, the tenant attribute alone does).
        let claimed = federated_tenant.or(attr_tenant);
        match claimed {
            Some(t) => self.check_pool(issuer, t, &sub)?,
            None if cfg.token_use == TokenUse::Id || cfg.shared_groups() => {
                return Err(forbid(&sub, MissingTenant, format!("no {}", self.tenant_claim)))
            }
            None => {}
        }

        let groups: Vec<String> = match claims.get("cognito:groups") {
            None | Some(Value::Null) => return Err(forbid(&sub, NoGroups, "no cognito:groups")),
            Some(Value::Array(a)) if a.is_empty() => return Err(forbid(&sub, NoGroups, "empty cognito:groups")),
            // An authentic token whose groups are of the wrong type fails its role check: 403.
            Some(Value::Array(a)) => a
                .iter()
                .map(|g| g.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| forbid(&sub, InvalidGroups, "cognito:groups holds a non-string"))?,
            Some(other) => {
                return Err(forbid(&sub, InvalidGroups, format!("cognito:groups is {}", type_name(Some(other)))))
            }
        };
        let mut role_groups: Vec<(&str, &str)> = Vec::with_capacity(groups.len());
        for g in &groups {
            // Cognito's automatic group of a federated user: `<poolId>_<providerName>`, with the
            // exact pool id of this token's issuer, and only for a provider the token's
            // `identities` names. It carries no role.
            if let Some(provider) = automatic_group_provider(g, own_pool) {
                if providers.contains(&provider) {
                    continue;
                }
                return Err(forbid(
                    &sub,
                    NotFederated,
                    format!("group {g:?} of provider {provider:?}, which the token's identities do not name"),
                ));
            }
            // Shared groups: the group is the role's name, of the claimed tenant; anything else
            // (another tenant's `<tenant>-<role>`, a hand-made group) is foreign.
            if let (true, Some(t)) = (cfg.shared_groups(), claimed) {
                if !cfg.roles.contains_key(g.as_str()) {
                    return Err(forbid(&sub, ForeignGroup, format!("group {g:?} is not a role (shared groups)")));
                }
                role_groups.push((t, g.as_str()));
                continue;
            }
            // Role names hold no hyphen: the last hyphen separates tenant and role.
            let Some((t, role)) = g.rsplit_once('-') else {
                return Err(forbid(&sub, ForeignGroup, format!("group {g:?} is not <tenant>-<role>")));
            };
            role_groups.push((t, role));
        }

        let tenant: &str = match claimed {
            Some(t) => t,
            // Access tokens without a tenant claim: the tenant of their groups, all of them.
            None => {
                let Some(&(first, _)) = role_groups.first() else {
                    return Err(forbid(
                        &sub,
                        MissingTenant,
                        format!("no {} and no <tenant>-<role> group", self.tenant_claim),
                    ));
                };
                if let Some((t, _)) = role_groups.iter().find(|(t, _)| *t != first) {
                    return Err(forbid(&sub, ForeignGroup, format!("groups of tenants {first:?} and {t:?}")));
                }
                if !is_tenant_id(first) {
                    return Err(forbid(&sub, ForeignGroup, format!("group tenant {first:?} is not a tenant id")));
                }
                self.check_pool(issuer, first, &sub)?;
                first
            }
        };

        let mut best: Option<(u32, &str)> = None;
        for &(t, role) in &role_groups {
            if t != tenant {
                return Err(forbid(&sub, ForeignGroup, format!("group {t}-{role} in a token of tenant {tenant:?}")));
            }
            let Some(&prec) = cfg.roles.get(role) else {
                return Err(forbid(&sub, UnknownRole, format!("group {t}-{role}")));
            };
            if best.is_none_or(|(p, r)| (prec, role) < (p, r)) {
                best = Some((prec, role));
            }
        }
        let Some((_, role)) = best else {
            return Err(forbid(&sub, NoRole, format!("no <tenant>-<role> group among {} groups", groups.len())));
        };
        // Authentic, and its tenant, pool, groups and role agree: still only a declared tenant's
        // token is allowed (in every mode: ID or access token, silo or pooled, federated).
        if !cfg.tenants.contains(tenant) {
            return Err(forbid(&sub, UndeclaredTenant, format!("tenant {tenant:?} is not declared")));
        }
        let (tenant, role) = (tenant.to_string(), role.to_string());
        let scopes = match claims.get("scope") {
            Some(Value::String(s)) if !cfg.method_scopes.is_empty() && cfg.token_use == TokenUse::Access => {
                s.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect()
            }
            _ => Vec::new(),
        };
        Ok(Verified {
            scopes,
            role_arn: cfg.role_arn(&tenant, &role),
            sub,
            tenant_id: tenant,
            role,
            issuer: issuer.to_string(),
            groups,
        })
    }
}

impl Verifier {
    /// Federated users: the tenant comes from the provider they signed in through (the
    /// token's `identities`, which Cognito writes), and must agree with the tenant claim
    /// `attr_tenant`. Access tokens carry no `identities`: there Cognito's automatic group
    /// `<poolId>_<provider>` of the token's own pool names the provider (issue 23). Returns the
    /// providers named and the tenant they bind (None: no provider, or only the pool's own).
    fn federation<'a>(
        &'a self,
        claims: &'a Map<String, Value>,
        own_pool: &str,
        attr_tenant: Option<&str>,
        sub: &str,
    ) -> Result<(Vec<&'a str>, Option<&'a str>), Deny> {
        use DenyReason::*;
        let cfg = &self.config;
        let mut named: Vec<&str> = Vec::new();
        if let Some(ids) = claims.get("identities") {
            let list: Vec<&Value> = match ids {
                Value::Array(a) if !a.is_empty() => a.iter().collect(),
                Value::Object(_) => vec![ids],
                _ => return Err(forbid(sub, UnknownProvider, "identities claim is empty or not a list")),
            };
            for id in list {
                match id.get("providerName") {
                    Some(Value::String(p)) if !p.is_empty() => named.push(p.as_str()),
                    _ => return Err(forbid(sub, UnknownProvider, "identity without providerName")),
                };
            }
        } else if let (TokenUse::Access, Some(Value::Array(groups))) = (cfg.token_use, claims.get("cognito:groups")) {
            named.extend(groups.iter().filter_map(|g| automatic_group_provider(g.as_str()?, own_pool)));
        }
        let mut providers: Vec<&str> = Vec::new();
        let mut federated_tenant: Option<&str> = None;
        if !named.is_empty() {
            for provider in named {
                let Some(t) = cfg.idp_tenants.get(provider) else {
                    return Err(forbid(sub, UnknownProvider, format!("provider {provider:?}")));
                };
                if t == crate::config::ANY_TENANT {
                    // A pool's own provider: binds no tenant (the tenant attribute, which no
                    // provider may map, says which).
                    providers.push(provider);
                    continue;
                }
                if let Some(prev) = federated_tenant.filter(|prev| *prev != t) {
                    return Err(forbid(
                        sub,
                        ProviderTenantMismatch,
                        format!("provider {provider:?} belongs to {t:?}, another identity's to {prev:?}"),
                    ));
                }
                federated_tenant = Some(t);
                providers.push(provider);
            }
            if let (Some(f), Some(a)) = (federated_tenant, attr_tenant) {
                if f != a {
                    return Err(forbid(
                        sub,
                        ProviderTenantMismatch,
                        format!("provider {:?} belongs to {f:?}, token says {a:?}", providers[0]),
                    ));
                }
            }
        }
        Ok((providers, federated_tenant))
    }

    /// The pool-to-tenant binding: `wrong_pool` unless `issuer` may speak for `tenant`.
    fn check_pool(&self, issuer: &str, tenant: &str, sub: &str) -> Result<(), Deny> {
        if self.config.issuer_may_speak_for(issuer, tenant) {
            return Ok(());
        }
        let why = match self.config.silo_tenants.get(tenant) {
            Some(own) => format!("tenant {tenant:?} is bound to {own}, token from {issuer}"),
            None => format!("issuer {issuer} is bound to another tenant than {tenant:?}"),
        };
        Err(forbid(sub, DenyReason::WrongPool, why))
    }
}

/// The provider of Cognito's automatic group `<poolId>_<provider>` of `own_pool`.
fn automatic_group_provider<'a>(group: &'a str, own_pool: &str) -> Option<&'a str> {
    group.strip_prefix(own_pool).and_then(|r| r.strip_prefix('_'))
}

fn decode_json(part: &str) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| format!("base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("json: {e}"))
}

/// A NumericDate: a non-negative integer (or a float, truncated).
fn numeric_date(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64)),
        _ => None,
    }
}

fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "absent",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "a list",
        Some(Value::Object(_)) => "an object",
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => format!("{s:?}"),
        other => type_name(other).to_string(),
    }
}
