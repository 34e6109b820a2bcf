//! `tenantctl adopt --tenant ID`: takes over the tenant's existing IAM roles and silo pool that
//! carry the contract's names but not tenantctl's tags (and groups with contract names in a
//! managed pool), after showing the diff. `adopt --platform` does the same for the shared pool.
//! The plan tags them and brings them to the folder's shape.

use super::{apply, session, show, Cli, CliError, Ui};
use crate::ops::Session;

pub fn run(cli: &Cli, ui: &Ui, tenant: Option<&str>, auto_approve: bool) -> Result<i32, CliError> {
    session::block_on(async {
        let s = Session::open_adopt(&cli.config_dir, &session::aws_args(cli), tenant).await?;
        let plan = session::plan(cli, &s, &s.options(false))?;
        let platform = s.folder.platform.value.name.clone();
        let whose = tenant.map_or_else(|| format!("platform {platform}"), |t| format!("tenant {t}"));
        let mut adopted = crate::kinds::iam_role::unmanaged(&s.observed);
        adopted.extend(crate::kinds::user_pool::unmanaged(&s.observed));
        if !ui.quiet {
            if adopted.is_empty() {
                eprintln!("Nothing unmanaged of {whose} to adopt.");
            } else {
                eprintln!("Adopting: {}", adopted.join(", "));
            }
            eprint!("{}", show::plan_text(&platform, &plan, true));
        }
        if plan.is_empty() {
            ui.status("Nothing to do.");
            return Ok(0);
        }
        if !auto_approve {
            apply::confirm(
                ui,
                &format!(
                    "Adopt and change {} resource{} of {whose}?",
                    plan.changes.len(),
                    if plan.changes.len() == 1 { "" } else { "s" }
                ),
            )?;
        }
        apply::execute(cli, ui, &s, &plan, 4).await
    })
}
