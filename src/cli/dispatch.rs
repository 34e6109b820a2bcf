//! Runs the command the arguments name (each command is its own module).

use clap::{CommandFactory, FromArgMatches};

use super::{
    adopt, apply, command_for, destroy, drift, inventory, new, permissions, plan, render, show, validate, Cli,
    CliError, Command, NewWhat, Ui,
};

/// Runs the CLI; returns the exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = command_for(&args).get_matches_from(&args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let ui = Ui::new(cli.no_color, cli.quiet, cli.verbose);
    let started = std::time::Instant::now();
    let result = run(&cli, &ui);
    // Offline commands make no AWS call; --stats says so rather than print nothing.
    let offline = matches!(
        cli.command,
        Command::Validate
            | Command::Render { .. }
            | Command::New { .. }
            | Command::Schema { .. }
            | Command::Permissions { .. }
    );
    if cli.stats && offline {
        eprint!("{}", show::stats_text(&crate::aws::Stats::default(), started.elapsed().as_millis()));
    }
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
                parallelism: usize::from(*parallelism),
                rate_scale: *rate_scale,
            },
        ),
        Command::Drift { tenants, format } => drift::run(cli, ui, tenants, *format),
        Command::Destroy { tenant, auto_approve, force_delete_users } => {
            destroy::run(cli, ui, tenant, *auto_approve, *force_delete_users)
        }
        Command::Adopt { tenant, auto_approve, .. } => adopt::run(cli, ui, tenant.as_deref(), *auto_approve),
        Command::Inventory { tenants, format } => inventory::run(cli, ui, tenants, *format),
        Command::Permissions { for_, format } => permissions::run(cli, ui, *for_, *format),
        Command::New { what: NewWhat::Tenant { id, isolation, roles, vars, display_name } } => {
            new::run(cli, ui, new::Args { id, isolation, roles, vars, display_name: display_name.as_deref() })
        }
        Command::Schema { out } => {
            let text = crate::spec::schema::schema_text();
            match out {
                Some(path) => {
                    std::fs::write(path, text)
                        .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;
                    ui.status(&format!("wrote {}", path.display()));
                }
                None => print!("{text}"),
            }
            Ok(0)
        }
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
