//! Command-line interface: clap types here, one small file per command.

mod adopt;
mod apply;
mod destroy;
mod drift;
mod inventory;
mod new;
mod output;
mod plan;
mod render;
mod session;
mod show;
mod validate;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

pub use output::{CliError, Ui};

#[derive(Debug, Parser)]
#[command(name = "tenantctl", version, about = "Tenant isolation on AWS from a folder of declarative YAML")]
pub struct Cli {
    /// Config folder (holds tenants/ and policies/)
    #[arg(short = 'C', long = "config-dir", global = true, default_value = ".")]
    pub config_dir: PathBuf,
    /// AWS region (else the platform's region, else the AWS config chain)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS endpoint URL (e.g. a local emulator)
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// No colors in output
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Print only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print AWS calls by operation, retries and wall time to stderr
    #[arg(long, global = true)]
    pub stats: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Offline: parse, check schema, names, limits, isolation rules, templates
    Validate,
    /// Offline: print the rendered IAM trust and inline policies as JSON
    Render {
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        /// Account id to render {{aws.accountId}} with (offline; default 000000000000)
        #[arg(long, env = "TENANTCTL_ACCOUNT_ID")]
        account_id: Option<String>,
    },
    /// Read AWS, print what apply would change
    Plan {
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        /// Save the plan (JSON) for `apply PLANFILE`
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Exit 2 when there are changes
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Make AWS match the folder (or exactly the saved plan)
    Apply {
        planfile: Option<PathBuf>,
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        #[arg(long)]
        auto_approve: bool,
        /// Delete orphans (resources of tenants whose files are gone)
        #[arg(long)]
        prune: bool,
        /// Ceiling on concurrent AWS operations per phase (rates stay under the quotas)
        #[arg(long, default_value_t = 8)]
        parallelism: usize,
        /// Multiplies every per-category request-rate limit (default quotas: Cognito's
        /// published ones, IAM 10 writes/s); 0 disables client-side limiting
        #[arg(long, default_value_t = 1.0)]
        rate_scale: f64,
    },
    /// Compare AWS with the folder; change nothing (exit 2 on drift)
    Drift {
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Offboard one tenant
    Destroy {
        #[arg(long = "tenant", value_name = "ID")]
        tenant: String,
        #[arg(long)]
        auto_approve: bool,
        #[arg(long)]
        force_delete_users: bool,
    },
    /// Take over existing resources with contract names, after showing the diff
    Adopt {
        #[arg(long = "tenant", value_name = "ID")]
        tenant: String,
        #[arg(long)]
        auto_approve: bool,
    },
    /// List every managed physical resource with its ARN or id
    Inventory {
        #[arg(long = "tenant", value_name = "ID")]
        tenants: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Write a valid tenant file; never overwrites
    New {
        #[command(subcommand)]
        what: NewWhat,
    },
    /// Shell completions
    Completions { shell: clap_complete::Shell },
    /// Man page
    Man,
}

#[derive(Debug, Subcommand)]
pub enum NewWhat {
    /// A tenant file under tenants/
    Tenant {
        id: String,
        #[arg(long, value_parser = ["pooled", "silo"], default_value = "pooled")]
        isolation: String,
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
}

/// Runs the CLI; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let ui = Ui::new(cli.no_color, cli.quiet, cli.verbose);
    let result = run(&cli, &ui);
    match result {
        Ok(code) => code,
        Err(e) => {
            ui.error(&e);
            1
        }
    }
}

fn run(cli: &Cli, ui: &Ui) -> Result<i32, CliError> {
    match &cli.command {
        Command::Validate => validate::run(cli, ui),
        Command::Render { tenants, account_id } => render::run(cli, ui, tenants, account_id.as_deref()),
        Command::Plan { tenants, out, format, detailed_exitcode } => plan::run(
            cli,
            ui,
            plan::Args { tenants, out: out.as_deref(), format: *format, detailed_exitcode: *detailed_exitcode },
        ),
        Command::Apply { planfile, tenants, auto_approve, prune, parallelism, rate_scale } => apply::run(
            cli,
            ui,
            apply::Args {
                planfile: planfile.as_deref(),
                tenants,
                auto_approve: *auto_approve,
                prune: *prune,
                parallelism: *parallelism,
                rate_scale: *rate_scale,
            },
        ),
        Command::Drift { tenants, format } => drift::run(cli, ui, tenants, *format),
        Command::Destroy { tenant, auto_approve, force_delete_users } => {
            destroy::run(cli, ui, tenant, *auto_approve, *force_delete_users)
        }
        Command::Adopt { tenant, auto_approve } => adopt::run(cli, ui, tenant, *auto_approve),
        Command::Inventory { tenants, format } => inventory::run(cli, ui, tenants, *format),
        Command::New { what: NewWhat::Tenant { id, isolation, roles } } => new::run(cli, ui, id, isolation, roles),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "tenantctl", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|e| CliError::msg(format!("cannot write the man page: {e}")))?;
            Ok(0)
        }
    }
}
