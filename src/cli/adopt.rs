//! `tenantctl adopt --tenant ID`: takes over the tenant's existing IAM roles that carry the
//! contract's names but not tenantctl's tags (and groups with contract names in a managed
//! pool), after showing the diff. The plan tags them and brings them to the folder's shape.

use super::{apply, session, show, Cli, CliError, Ui};
use crate::ops::Session;

pub fn run(cli: &Cli, ui: &Ui, tenant: &str, auto_approve: bool) -> Result<i32, CliError> {
    session::block_on(async {
        let s = Session::open_adopt(&cli.config_dir, &session::aws_args(cli), tenant).await?;
        let plan = session::plan(cli, &s, &s.options(false))?;
        let platform = s.folder.platform.value.name.clone();
        let adopted = crate::kinds::iam_role::unmanaged(&s.observed);
        if !ui.quiet {
            if adopted.is_empty() {
                eprintln!("No unmanaged role of tenant {tenant} to adopt.");
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
                    "Adopt and change {} resource{} of tenant {tenant}?",
                    plan.changes.len(),
                    if plan.changes.len() == 1 { "" } else { "s" }
                ),
            )?;
        }
        apply::execute(cli, ui, &s, &plan, 4).await
    })
}
