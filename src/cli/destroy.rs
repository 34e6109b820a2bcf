//! `tenantctl destroy --tenant ID`: offboards one tenant (its roles, groups, silo pool).

use super::{apply, session, show, Cli, CliError, Ui};

pub fn run(cli: &Cli, ui: &Ui, tenant: &str, auto_approve: bool, force_delete_users: bool) -> Result<i32, CliError> {
    session::block_on(async {
        let mut s = session::open(cli, &[]).await?;
        if s.folder.tenant(tenant).is_none() && !s.observed.roles.values().any(|r| r.tenant.as_deref() == Some(tenant))
        {
            return Err(CliError::msg(format!("no tenant `{tenant}` in the folder or in AWS")));
        }
        // Desired: the folder without this tenant.
        s.desired.roles.retain(|_, r| r.tenant.as_deref() != Some(tenant));
        s.desired.pools.retain(|_, p| p.tenant.as_deref() != Some(tenant));
        s.desired.items.retain(|_, i| i.tenant.as_deref() != Some(tenant));
        let mut opts = s.options(true);
        opts.tenants.remove(tenant);
        opts.force_delete_users = force_delete_users;
        let mut plan = session::plan(cli, &s, &opts)?;
        // Deletions, and the pool update that turns deletion protection off before its pool is
        // deleted (only ever inside an explicit destroy or --prune).
        plan.changes.retain(|c| {
            c.tenant.as_deref() == Some(tenant)
                && (c.action == crate::plan::Action::Delete || c.resource == crate::plan::Resource::UserPool)
        });
        plan.orphans.clear();
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
