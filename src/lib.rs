//! tenantctl: tenant isolation on AWS from a folder of declarative YAML.
//!
//! - [`spec`]: the folder: loading, validation, rendering (offline).
//! - [`state`]: the normalised model both desired and observed state are read into.
//! - [`plan`]: pure: desired + observed -> ordered changes and drift.
//! - [`aws`]: adapters: read live state, execute one change.
//! - [`kinds`]: the kind model: one module per resource kind, one registry.
//! - [`check`]: validation of the whole folder: the folder-wide rules and every kind's.
//! - [`engine`]: runs a plan with bounded concurrency, retries and rate limits.
//! - [`cli`]: the commands.

pub mod aws;
pub mod check;
pub mod cli;
pub mod engine;
pub mod kinds;
pub mod ops;
pub mod plan;
pub mod spec;
pub mod state;
