//! Command-line interface: clap types here, one small file per command, and `dispatch`, which
//! runs the command the arguments name.

mod adopt;
mod apply;
mod destroy;
mod dispatch;
mod drift;
mod inventory;
mod new;
mod output;
mod permissions;
mod plan;
mod render;
mod session;
pub mod show;
mod validate;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

pub use dispatch::main;
pub use output::{CliError, Ui};

const MAIN_EXAMPLES: &str = "Examples:
  tenantctl validate                      # offline checks of ./tenants and ./policies
  tenantctl plan --out plan.json          # what apply would change; saved for apply
  tenantctl apply plan.json               # apply exactly the saved plan";

#[derive(Debug, Parser)]
#[command(
    name = "tenantctl",
    version,
    about = "Tenant isolation on AWS from a folder of declarative YAML",
    after_help = MAIN_EXAMPLES
)]
pub struct Cli {
    /// Config folder (holds tenants/ and policies/)
    #[arg(
        short = 'C',
        long = "config-dir",
        global = true,
        help_heading = "Global options",
        default_value = ".",
        value_name = "DIR"
    )]
    pub config_dir: PathBuf,
    /// AWS region (else the platform's region, else the AWS config chain)
    #[arg(long, global = true, help_heading = "Global options", value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile (else AWS_PROFILE, else the default chain)
    #[arg(long, global = true, help_heading = "Global options", value_name = "PROFILE")]
    pub profile: Option<String>,
    /// AWS endpoint URL (e.g. a local emulator; else AWS_ENDPOINT_URL)
    #[arg(long, global = true, help_heading = "Global options", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// No colors in output (also: the NO_COLOR environment variable, or output that is not a terminal)
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_color: bool,
    /// Print only errors: no status lines, no progress
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// More detail (every field of every change)
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub verbose: bool,
    /// Print AWS calls by operation, retries and wall time to stderr
    #[arg(long, global = true, help_heading = "Global options")]
    pub stats: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Output format of `plan` and `drift`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people, on a terminal
    Text,
    /// The contract's JSON document (format_version 1), for scripts
    Json,
    /// For pull-request comments and CI job summaries
    Markdown,
}

/// What `permissions` makes a policy for: the command the CI role runs.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PolicyUse {
    /// `plan` (read-only)
    Plan,
    /// `drift` (read-only)
    Drift,
    /// `apply` (reads and writes, deletions included)
    Apply,
    /// `destroy --tenant` (reads and deletions)
    Destroy,
}

/// Output format of `permissions`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PolicyFormat {
    /// A summary for people, then the policy document
    Text,
    /// The policy document alone
    Json,
}

/// Output format of `inventory`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    /// One resource per line
    Text,
    /// JSON (format_version 1), for scripts
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Offline: parse, check schema, names, limits, isolation rules, templates
    #[command(after_help = "Every problem of every file is reported in one run, each with file:line:col.
Exit codes: 0 valid, 1 invalid.

Examples:
  tenantctl validate                      # the folder in the current directory
  tenantctl -C infra/tenants validate     # another folder")]
    Validate,
    /// Offline: print the rendered IAM trust and inline policies as JSON
    #[command(after_help = "Examples:
  tenantctl render --tenant acme
  tenantctl render --account-id 123456789012 | jq '.roles[].policies'")]
    Render {
        /// Only this tenant's roles (repeatable; default: every tenant)
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        /// Account id to render {{aws.accountId}} with (offline; default 000000000000)
        #[arg(long, env = "TENANTCTL_ACCOUNT_ID", value_name = "ACCOUNT")]
        account_id: Option<String>,
    },
    /// Read AWS, print what apply would change
    #[command(after_help = "Exit codes: 0 success (with --detailed-exitcode: no changes); 1 error;
2 changes (only with --detailed-exitcode).

Examples:
  tenantctl plan --tenant acme                                  # only acme's resources
  tenantctl plan --out plan.json --format markdown > plan.md    # CI: saved plan + PR comment")]
    Plan {
        /// Plan only this tenant's resources (repeatable; default: the whole platform)
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        /// Save the plan (JSON) for `apply PLANFILE`
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Output format on stdout
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Exit 2 when there are changes (0: none, 1: error)
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Make AWS match the folder (or exactly the saved plan)
    #[command(after_help = "Examples:
  tenantctl apply                          # shows the plan, asks on a terminal
  tenantctl apply plan.json                # exactly the saved plan; refused when stale
  tenantctl apply --auto-approve --prune   # CI: no question; also delete orphans")]
    Apply {
        /// A plan saved by `plan --out`: apply exactly it (refused when AWS or the folder changed)
        #[arg(value_name = "PLANFILE")]
        planfile: Option<PathBuf>,
        /// Apply only this tenant's resources (repeatable)
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        /// Do not ask for confirmation (needed without a terminal)
        #[arg(long)]
        auto_approve: bool,
        /// Delete orphans (resources of tenants whose files are gone)
        #[arg(long)]
        prune: bool,
        /// Ceiling on concurrent AWS operations per service (rates stay under the quotas)
        #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
        parallelism: u16,
        /// Multiplies every per-category request-rate limit (default quotas: Cognito's
        /// published ones, IAM 10 writes/s); 0 disables client-side limiting
        #[arg(long, default_value_t = 1.0, value_name = "F", value_parser = parse_rate_scale)]
        rate_scale: f64,
    },
    /// Compare AWS with the folder; change nothing (exit 2 on drift)
    #[command(after_help = "Examples:
  tenantctl drift                                  # exit 0 none, 1 error, 2 drift
  tenantctl drift --format markdown >> \"$GITHUB_STEP_SUMMARY\"")]
    Drift {
        /// Compare only this tenant's resources (repeatable)
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        /// Output format on stdout
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Offboard one tenant
    #[command(after_help = "Examples:
  tenantctl destroy --tenant acme
  tenantctl destroy --tenant initech --auto-approve --force-delete-users   # silo pool with users")]
    Destroy {
        /// The tenant to offboard
        #[arg(long = "tenant", value_name = "ID")]
        tenant: String,
        /// Do not ask for confirmation (needed without a terminal)
        #[arg(long)]
        auto_approve: bool,
        /// Also delete a silo pool that still has users
        #[arg(long)]
        force_delete_users: bool,
    },
    /// Take over existing resources with contract names, after showing the diff
    #[command(after_help = "Examples:
  tenantctl adopt --tenant acme                  # shows the diff, asks
  tenantctl adopt --tenant acme --auto-approve
  tenantctl adopt --platform                     # the shared pool, when it lost its tags")]
    Adopt {
        /// The tenant whose existing resources to take over (its roles, its silo pool)
        #[arg(long = "tenant", value_name = "ID", required_unless_present = "platform", conflicts_with = "platform")]
        tenant: Option<String>,
        /// Take over the platform's shared pool (one named like it that lacks tenantctl's tags)
        #[arg(long)]
        platform: bool,
        /// Do not ask for confirmation (needed without a terminal)
        #[arg(long)]
        auto_approve: bool,
    },
    /// List every managed physical resource with its ARN or id
    #[command(after_help = "Examples:
  tenantctl inventory --tenant acme
  tenantctl inventory --format json | jq -r '.resources[].arn // empty'")]
    Inventory {
        /// Only this tenant's resources (repeatable)
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        /// Output format on stdout
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Offline: print the least-privilege IAM policy for a use of this folder
    #[command(after_help = "Only the services the folder uses; roles by their path, functions by name, pool writes by
the tenantctl:platform tag. Exit codes: 0 printed, 1 invalid folder.

Examples:
  tenantctl permissions --for plan                          # the read-only policy, with a summary
  tenantctl permissions --for apply --format json > ci-apply-policy.json")]
    Permissions {
        /// The command the policy is for
        #[arg(long = "for", value_enum, value_name = "USE")]
        for_: PolicyUse,
        /// Output format on stdout
        #[arg(long, value_enum, default_value = "text")]
        format: PolicyFormat,
    },
    /// Write a valid tenant file; never overwrites
    #[command(after_help = "Examples:
  tenantctl new tenant beta --var bucket=beta-data
  tenantctl new tenant gamma --isolation silo --roles admin,member --display-name \"Gamma Ltd\"")]
    New {
        #[command(subcommand)]
        what: NewWhat,
    },
    /// Print the JSON Schema of the v1 files (Platform and Tenant)
    #[command(after_help = "Editors with the YAML language server use it when a file starts with:
  # yaml-language-server: $schema=../schema/tenantctl-v1.schema.json

Examples:
  tenantctl schema --out schema/tenantctl-v1.schema.json   # regenerate the committed copy
  tenantctl schema | jq '.[\"$defs\"].Tenant'")]
    Schema {
        /// Write it to FILE instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Shell completions
    #[command(after_help = "Examples:
  tenantctl completions bash > /etc/bash_completion.d/tenantctl
  tenantctl completions zsh > \"${fpath[1]}/_tenantctl\"")]
    Completions {
        /// The shell to write completions for
        shell: clap_complete::Shell,
    },
    /// Man page
    #[command(after_help = "Examples:
  tenantctl man > tenantctl.1 && man ./tenantctl.1")]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum NewWhat {
    /// A tenant file under tenants/
    #[command(after_help = "The file is tenants/ID.yaml; it is kept only when the whole folder stays valid.

Examples:
  tenantctl new tenant beta --var bucket=beta-data
  tenantctl new tenant gamma --isolation silo --roles admin,member --display-name \"Gamma Ltd\"")]
    Tenant {
        /// The tenant id: lowercase letters, digits and inner hyphens, at most 32 characters
        id: String,
        /// pooled: groups in the shared pool; silo: a pool of its own
        #[arg(long, value_parser = ["pooled", "silo"], default_value = "pooled")]
        isolation: String,
        /// The platform roles the tenant gets, comma-separated (default: all)
        #[arg(long, value_delimiter = ',', value_name = "ROLE,...")]
        roles: Vec<String>,
        /// A template variable, {{tenant.vars.NAME}} (repeatable)
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Human-readable name (default: the id)
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
    },
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

fn parse_rate_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
        _ => Err(format!("`{s}` is not a number >= 0")),
    }
}

/// The clap command, with colors off when `--no-color` or `NO_COLOR` asks for it.
pub fn command_for(args: &[std::ffi::OsString]) -> clap::Command {
    let cmd = Cli::command();
    let no_color =
        args.iter().any(|a| a == "--no-color") || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color {
        cmd.color(clap::ColorChoice::Never)
    } else {
        cmd
    }
}
