//! `tenantctl destroy --tenant ID`: offboards one tenant (its roles, groups, silo pool). What
//! is deleted is `ops::Session::destroy_plan`; this file has the flags, the confirmation and
//! the output.

use super::{apply, session, show, Cli, CliError, Ui};

pub fn run(cli: &Cli, ui: &Ui, tenant: &str, auto_approve: bool, force_delete_users: bool) -> Result<i32, CliError> {
    session::block_on(async {
        let s = session::open(cli, &[]).await?;
        let plan = s.destroy_plan(tenant, force_delete_users).map_err(|e| {
            // A refused plan made no write; its reads still show.
            session::print_stats(cli, &s);
            CliError::from(e)
        })?;
        let platform = s.folder.platform.value.name.clone();
        if !ui.quiet {
            eprint!("{}", show::plan_text(&platform, &plan, ui.verbose));
        }
        if plan.is_empty() {
            ui.status("Nothing to destroy.");
            return Ok(0);
        }
        if !auto_approve {
            apply::confirm(
                ui,
                &format!(
                    "Destroy {} resource{} of tenant {tenant}?",
                    plan.changes.len(),
                    if plan.changes.len() == 1 { "" } else { "s" }
                ),
            )?;
        }
        apply::execute(cli, ui, &s, &plan, 4).await
    })
}
