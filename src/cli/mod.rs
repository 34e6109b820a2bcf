//! Command-line interface: clap types here, one small file per command.

mod new;
mod output;
mod render;
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
