//! tenantctl's API Gateway `TOKEN` authorizer.
//!
//! Verifies a Cognito JWT (RS256 only, `kid` required, keys from the pool's JWKS with a
//! refetch back-off, exact `iss`, pinned `token_use`, app client, `exp`/`nbf`/`iat` with bounded
//! skew, the tenant claim and `<tenant>-<role>` groups) and answers an `Allow` policy for the
//! whole API stage with context `tenant_id`, `role`, `role_arn`, `sub`. Anything else is
//! `Unauthorized`, with one structured log line naming a [`DenyReason`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use tenantctl_authorizer::{Config, HttpJwksFetcher, SystemClock, Verifier};
//! let verifier = Verifier::new(Config::from_env().unwrap(), Arc::new(HttpJwksFetcher::default()), Arc::new(SystemClock));
//! let granted = verifier.verify("eyJ...").unwrap();
//! println!("{} {}", granted.tenant_id, granted.role_arn);
//! ```

pub mod apigw;
pub mod config;
pub mod jwks;
pub mod verify;

pub use apigw::{authorize, AuthorizerContext, AuthorizerResponse, TokenAuthorizerEvent};
pub use config::{Config, ConfigError, TokenUse};
pub use jwks::{Clock, FetchError, HttpJwksFetcher, JwksFetcher, SystemClock};
pub use verify::{Deny, DenyReason, Verified, Verifier};
