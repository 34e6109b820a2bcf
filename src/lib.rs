//! tenantctl: tenant isolation on AWS from a folder of declarative YAML.
//!
//! - [`spec`]: the folder: loading, validation, rendering (offline).
//! - [`state`]: the normalised model both desired and observed state are read into.
//! - [`plan`]: pure: desired + observed -> ordered changes and drift.
//! - [`aws`]: the AWS clients, the request-rate limiter (which also slows down on throttling)
//!   and what the kinds share.
//! - [`kinds`]: the kind model: one module per resource kind (how it is read, compared,
//!   ordered and changed), one registry.
//! - [`check`]: validation of the whole folder: the folder-wide rules and every kind's.
//! - [`engine`]: runs a plan as a dependency graph, with bounded concurrency per service; the
//!   SDK's retries and the `aws` limiter keep the calls under AWS's rates.
//! - [`permissions`]: the least-privilege IAM policy of a use of the folder (offline).
//! - [`cli`]: the commands.

pub mod aws;
pub mod check;
pub mod cli;
pub mod engine;
pub mod kinds;
pub mod ops;
pub mod permissions;
pub mod plan;
pub mod spec;
pub mod state;
