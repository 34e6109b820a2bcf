//! `tenantctl validate`: offline checks of the whole folder.

use super::{Cli, CliError, Ui};
use crate::check;

pub fn run(cli: &Cli, ui: &Ui) -> Result<i32, CliError> {
    let folder = check::load_valid(&cli.config_dir)?;
    ui.status(&format!(
        "valid: platform {}, {} tenant{}, {} polic{}",
        folder.platform.value.name,
        folder.tenants.len(),
        if folder.tenants.len() == 1 { "" } else { "s" },
        folder.policies.len(),
        if folder.policies.len() == 1 { "y" } else { "ies" },
    ));
    Ok(0)
}
