//! The file formats of contract §1, as serde types. Unknown fields are errors everywhere.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const API_VERSION: &str = "tenantctl/v1";

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Platform {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub user_pool: UserPoolSpec,
    #[serde(default)]
    pub roles: BTreeMap<String, RoleSpec>,
    #[serde(default)]
    pub trust: TrustSpec,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub authorizer: Option<AuthorizerSpec>,
    #[serde(default)]
    pub monitoring: Option<MonitoringSpec>,
    /// Contract §1.6: service tiers by name (`^[a-z][a-z0-9]{0,15}$`); a tenant's `tier`
    /// gives its isolation and, with `apiUsage`, its API throttle and quota.
    #[serde(default)]
    pub tiers: BTreeMap<String, TierSpec>,
    /// Contract §1.6: the REST API stage the tiers' usage plans meter.
    #[serde(default)]
    pub api_usage: Option<ApiUsageSpec>,
    /// Contract §1.7: one IAM role per (tenant, role) and one group per (tenant, role)
    /// (`per-tenant`, the default), or one role per platform role and one group per role in
    /// each managed pool (`shared`).
    #[serde(default)]
    pub tenancy: TenancySpec,
}

/// Contract §1.7 `tenancy`: how roles and groups are shared among tenants.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenancySpec {
    /// `per-tenant`: an IAM role `<platform>-<tenant>-<role>` per tenant and role; `shared`:
    /// one role `<platform>-<role>` per platform role, reached with the session tag
    /// `tenant_id`.
    #[serde(default)]
    pub roles: Tenancy,
    /// `per-tenant`: a group `<tenant>-<role>` in the tenant's pool; `shared`: a group `<role>`
    /// in each managed pool (the tenant comes from `custom:<tenantAttribute>` only).
    #[serde(default)]
    pub groups: Tenancy,
}

/// Per tenant, or shared by every tenant (contract §1.7).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Tenancy {
    /// One per tenant (the default).
    #[default]
    PerTenant,
    /// One for every tenant.
    Shared,
}

impl Tenancy {
    pub fn as_str(self) -> &'static str {
        match self {
            Tenancy::PerTenant => "per-tenant",
            Tenancy::Shared => "shared",
        }
    }
}

/// A service tier (contract §1.6): one usage plan `<platform>-<tier>` with `apiUsage`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TierSpec {
    #[serde(default)]
    pub isolation: Isolation,
    /// Requests per second and burst, per tenant (per API key).
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    /// Requests per period, per tenant (per API key).
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ThrottleSpec {
    /// Steady-state requests per second (API Gateway's `rateLimit`, a double).
    #[schemars(range(min = 0))]
    pub rate_limit: f64,
    /// Burst capacity (API Gateway's `burstLimit`, an integer).
    #[schemars(range(min = 0))]
    pub burst_limit: i32,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuotaSpec {
    /// Requests per period (API Gateway's `quota.limit`).
    #[schemars(range(min = 1))]
    pub limit: i32,
    pub period: QuotaPeriod,
    /// Days into the period the quota starts (`quota.offset`): DAY 0, WEEK 0-6, MONTH 0-27.
    #[serde(default)]
    #[schemars(range(min = 0, max = 27))]
    pub offset: i32,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

impl QuotaPeriod {
    pub fn aws_name(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "DAY",
            QuotaPeriod::Week => "WEEK",
            QuotaPeriod::Month => "MONTH",
        }
    }
}

/// Where tenants' API usage is metered (contract §1.6).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiUsageSpec {
    /// The REST API (name or id); the authorizer's (`authorizer.restApi`).
    pub rest_api: String,
    /// The stage the usage plans are attached to.
    pub stage: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserPoolSpec {
    #[serde(default = "yes")]
    pub deletion_protection: bool,
    #[serde(default)]
    pub mfa: Mfa,
    #[serde(default)]
    pub self_sign_up: bool,
    #[serde(default)]
    pub password_policy: PasswordPolicy,
    #[serde(default = "default_tenant_attribute")]
    pub tenant_attribute: String,
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
    #[serde(default)]
    pub resource_servers: Vec<ResourceServerSpec>,
    #[serde(default)]
    pub app_clients: Vec<AppClientSpec>,
    #[serde(default)]
    pub domain: Option<String>,
    /// Cognito's feature plan (`UserPoolTier`); absent: not managed (Cognito's default,
    /// essentials).
    #[serde(default)]
    pub feature_plan: Option<FeaturePlan>,
    #[serde(default)]
    pub threat_protection: ThreatProtection,
    #[serde(default)]
    pub triggers: BTreeMap<String, String>,
    /// Contract §1.7: how the triggers' functions let Cognito invoke them: one statement per
    /// (pool, function) (`pool`, the default) or one per function for every pool of the
    /// account (`account`).
    #[serde(default)]
    pub trigger_scope: TriggerScope,
    /// Contract §1.4: the pool's own social and enterprise identity providers, in every
    /// managed pool.
    #[serde(default)]
    pub identity_providers: Vec<PoolIdentityProviderSpec>,
    /// Contract §1.5: sent when a pool is created; AWS never lets it change.
    #[serde(default)]
    pub usernames: Option<UsernamesSpec>,
}

/// How users sign in (`UsernameConfiguration`, `UsernameAttributes`, `AliasAttributes`):
/// fixed for the life of a pool.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UsernamesSpec {
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default = "sign_in_with_email")]
    pub sign_in_with: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

fn sign_in_with_email() -> Vec<String> {
    vec!["email".to_string()]
}

impl Default for UserPoolSpec {
    fn default() -> Self {
        UserPoolSpec {
            deletion_protection: true,
            mfa: Mfa::Off,
            self_sign_up: false,
            password_policy: PasswordPolicy::default(),
            tenant_attribute: default_tenant_attribute(),
            custom_attributes: Vec::new(),
            resource_servers: Vec::new(),
            app_clients: Vec::new(),
            domain: None,
            feature_plan: None,
            threat_protection: ThreatProtection::Off,
            triggers: BTreeMap::new(),
            trigger_scope: TriggerScope::Pool,
            identity_providers: Vec::new(),
            usernames: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_tenant_attribute() -> String {
    "tenant_id".to_string()
}

/// Contract §1.7 `userPool.triggerScope`: what a trigger function's invoke statement allows.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TriggerScope {
    /// One statement per (pool, function), `SourceArn` the pool's ARN.
    #[default]
    Pool,
    /// One statement per function, `SourceArn` every pool of the account
    /// (`arn:<partition>:cognito-idp:<region>:<account>:userpool/*`).
    Account,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mfa {
    #[default]
    Off,
    Optional,
    On,
}

/// Contract §1.4 `userPool.featurePlan` (Cognito's `UserPoolTier`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum FeaturePlan {
    Lite,
    Essentials,
    Plus,
}

impl FeaturePlan {
    /// The `UserPoolTier` value.
    pub fn tier(self) -> &'static str {
        match self {
            FeaturePlan::Lite => "LITE",
            FeaturePlan::Essentials => "ESSENTIALS",
            FeaturePlan::Plus => "PLUS",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ThreatProtection {
    #[default]
    Off,
    Audit,
    Enforced,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordPolicy {
    #[serde(default = "eight")]
    pub min_length: u32,
    #[serde(default = "yes")]
    pub require_uppercase: bool,
    #[serde(default = "yes")]
    pub require_lowercase: bool,
    #[serde(default = "yes")]
    pub require_numbers: bool,
    #[serde(default = "yes")]
    pub require_symbols: bool,
    #[serde(default = "seven")]
    pub temporary_password_validity_days: u32,
}

fn eight() -> u32 {
    8
}
fn seven() -> u32 {
    7
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            temporary_password_validity_days: 7,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    String,
    Number,
}

impl AttributeType {
    pub fn aws_name(self) -> &'static str {
        match self {
            AttributeType::String => "String",
            AttributeType::Number => "Number",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomAttribute {
    pub name: String,
    #[serde(rename = "type")]
    pub attr_type: AttributeType,
    #[serde(default = "yes")]
    pub mutable: bool,
    #[serde(default)]
    pub min_length: Option<u32>,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceServerSpec {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<ScopeSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScopeSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppClientSpec {
    pub name: String,
    #[serde(default)]
    pub generate_secret: bool,
    #[serde(default)]
    pub auth_flows: Vec<String>,
    #[serde(default)]
    pub oauth: Option<OAuthSpec>,
    #[serde(default)]
    pub read_attributes: Vec<String>,
    #[serde(default)]
    pub write_attributes: Vec<String>,
    #[serde(default)]
    pub token_validity: Option<TokenValidity>,
    #[serde(default = "yes")]
    pub enable_token_revocation: bool,
    #[serde(default = "yes")]
    pub prevent_user_existence_errors: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OAuthSpec {
    #[serde(default)]
    pub flows: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub callback_urls: Vec<String>,
    #[serde(default)]
    pub logout_urls: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenValidity {
    #[serde(default)]
    pub access: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub refresh: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub precedence: Option<i32>,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub max_session_duration: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrustSpec {
    #[serde(default)]
    pub principals: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizerType {
    Lambda,
    Cognito,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorizerSpec {
    pub rest_api: String,
    #[serde(rename = "type")]
    pub auth_type: AuthorizerType,
    pub name: String,
    #[serde(default = "default_identity_source")]
    pub identity_source: String,
    #[serde(default = "default_ttl")]
    pub result_ttl_seconds: i32,
    #[serde(default)]
    pub function: Option<FunctionSpec>,
    #[serde(default)]
    pub methods: Vec<MethodSpec>,
    /// Stage that `apply` deploys after authorizer or method changes, and whose deployment
    /// `drift` checks (contract §1.5).
    #[serde(default)]
    pub stage: Option<String>,
    /// `id` | `access`: which Cognito token callers present (contract §1.5).
    #[serde(default = "default_token_use")]
    pub token_use: String,
}

fn default_token_use() -> String {
    "id".to_string()
}

fn default_identity_source() -> String {
    "method.request.header.Authorization".to_string()
}
fn default_ttl() -> i32 {
    300
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FunctionSpec {
    pub name: String,
    pub code: String,
    #[serde(default = "default_runtime")]
    pub runtime: String,
    #[serde(default = "default_memory")]
    pub memory_mb: i32,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: i32,
    #[serde(default)]
    pub role: Option<String>,
    /// `x86_64` | `arm64` (contract §1.5); must match the built zip.
    #[serde(default = "default_architecture")]
    pub architecture: String,
}

fn default_architecture() -> String {
    "x86_64".to_string()
}

fn default_runtime() -> String {
    "provided.al2023".to_string()
}
fn default_memory() -> i32 {
    128
}
fn default_timeout() -> i32 {
    5
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MethodSpec {
    pub path: String,
    pub method: String,
    /// Resource server scopes (`<identifier>/<scope>`) of which an access token must hold
    /// one, as the Cognito authorizer's `authorizationScopes`; empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MonitoringSpec {
    pub sns_topic_arn: String,
    #[serde(default)]
    pub alarms: AlarmsSpec,
}

/// The alarms tenantctl puts on every managed pool (contract §1.4); an absent one is not made.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlarmsSpec {
    /// Sign-in requests Cognito throttled in one period (SignInThrottles, Sum).
    #[serde(default)]
    pub sign_in_throttles: Option<AlarmSpec>,
    /// Failed sign-ins / all sign-ins in one period (SignInSuccesses: 1 - Sum / SampleCount).
    #[serde(default)]
    pub failed_sign_in_ratio: Option<AlarmSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlarmSpec {
    pub threshold: f64,
    #[serde(default = "default_period")]
    pub period_seconds: u32,
}

fn default_period() -> u32 {
    300
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    #[default]
    Pooled,
    Silo,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tenant {
    pub api_version: String,
    pub kind: String,
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub isolation: Isolation,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub identity_providers: Vec<IdentityProviderSpec>,
    /// Contract §1.6: the tier (of the Platform's `tiers`); the tenant's isolation comes
    /// from it.
    #[serde(default)]
    pub tier: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IdpType {
    Oidc,
    Saml,
}

/// The type of a pool's own identity provider (contract §1.4).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PoolIdpType {
    Google,
    Facebook,
    Amazon,
    Apple,
    Oidc,
    Saml,
}

/// A pool's own identity provider (`userPool.identityProviders`), in every managed pool.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolIdentityProviderSpec {
    /// Google | Facebook | LoginWithAmazon | SignInWithApple, or a name for oidc/saml.
    pub name: String,
    #[serde(rename = "type")]
    pub idp_type: PoolIdpType,
    #[serde(default)]
    pub client_id: Option<String>,
    /// The environment variable holding the client secret (apple: the private key), read at
    /// plan and apply; never in YAML.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// oidc only.
    #[serde(default)]
    pub issuer: Option<String>,
    /// saml only.
    #[serde(default)]
    pub metadata_url: Option<String>,
    /// apple only: the Apple developer team id and the key id of the private key.
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentityProviderSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub idp_type: IdpType,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub metadata_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
}

/// Minutes of a token validity like `60m`, `1h`, `30d` (None: not of that form).
pub fn duration_minutes(s: &str) -> Option<i64> {
    static R: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = R.get_or_init(|| regex::Regex::new(r"^([0-9]+)(m|h|d)$").expect("valid regex"));
    let c = re.captures(s)?;
    let n: i64 = c[1].parse().ok()?;
    Some(match &c[2] {
        "m" => n,
        "h" => n * 60,
        _ => n * 60 * 24,
    })
}

impl Platform {
    /// The authorizer when its wiring exists (every kind of it has instances): a Cognito one,
    /// or a Lambda one with its function.
    pub fn wired_authorizer(&self) -> Option<&AuthorizerSpec> {
        let spec = self.authorizer.as_ref()?;
        (spec.auth_type == AuthorizerType::Cognito || spec.function.is_some()).then_some(spec)
    }
}
