//! tenantctl's API Gateway `TOKEN` authorizer.
//!
//! Verifies a Cognito JWT (RS256 only, `kid` required, keys from the pool's JWKS with a
//! refetch back-off, exact `iss`, pinned `token_use`, app client, `exp`/`nbf`/`iat` with bounded
//! skew, the issuer's pool-to-tenant binding, the tenant claim and `<tenant>-<role>` groups) and
//! answers an `Allow` policy for the whole API stage with context `tenant_id`, `role`,
//! `role_arn`, `sub`. A token that fails authentication is `Unauthorized` (API Gateway: 401); an
//! authentic token whose tenant or role check fails gets an explicit `Deny` policy (403, cached).
//! Each answer is one structured log line naming a [`DenyReason`] and its [`DenyClass`]. Only a
//! declared tenant's token is allowed ([`Config::tenants`]; otherwise `undeclared_tenant`, 403).
//!
//! The configuration is the deployment package's `tenantctl-authorizer.json` beside `bootstrap`
//! plus a few small environment variables ([`config`]), read once per cold start by
//! [`Config::load`]; without a valid one the function answers every request `Unauthorized`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tenantctl_authorizer::{Config, HttpJwksFetcher, SystemClock, Verifier};
//! let verifier = Verifier::new(Config::load().unwrap(), Arc::new(HttpJwksFetcher::default()), Arc::new(SystemClock));
//! let granted = verifier.verify("eyJ...").unwrap();
//! println!("{} {}", granted.tenant_id, granted.role_arn);
//! ```

pub mod apigw;
pub mod config;
pub mod jwks;
pub mod keys;
pub mod verify;

/// The one region -> partition table, shared with tenantctl and tenant-credentials (the file
/// itself, not a copy: the Lambda must not depend on the SDK crates).
#[path = "../../tenant-credentials/src/partition.rs"]
pub mod partition;

pub use apigw::{
    authorize, decide, decide_until, fetch_deadline, AuthorizerContext, AuthorizerResponse, Decision,
    TokenAuthorizerEvent,
};
pub use config::{Config, ConfigError, IssuerScope, ScopedMethod, TokenUse};
pub use jwks::{Clock, FetchError, HttpJwksFetcher, JwksFetcher, SystemClock};
pub use keys::{ApiKeys, HttpKeyLister, KeyLister};
pub use verify::{Deny, DenyClass, DenyReason, Verified, Verifier};
