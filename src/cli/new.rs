//! `tenantctl new tenant ID`: writes a valid tenant file, never overwriting one.

use std::io::Write;

use super::{Cli, CliError, Ui};
use crate::spec::{self, validate};

pub fn run(cli: &Cli, ui: &Ui, id: &str, isolation: &str, roles: &[String]) -> Result<i32, CliError> {
    if let Some(problem) = validate::tenant_id_problem(id) {
        return Err(CliError::hint(problem, "use lowercase letters, digits and inner hyphens, at most 32 characters"));
    }
    let folder = spec::load_valid(&cli.config_dir)?;
    let pl = &folder.platform.value;
    if folder.tenants.iter().any(|t| t.value.id.eq_ignore_ascii_case(id)) {
        return Err(CliError::msg(format!("tenant `{id}` already exists")));
    }
    for r in roles {
        if !pl.roles.contains_key(r) {
            return Err(CliError::hint(
                format!("role `{r}` is not declared by the platform"),
                format!("declared roles: {}", pl.roles.keys().cloned().collect::<Vec<_>>().join(", ")),
            ));
        }
    }
    let path = cli.config_dir.join("tenants").join(format!("{id}.yaml"));
    let mut text = format!(
        "apiVersion: tenantctl/v1\nkind: Tenant\nid: \"{id}\"\ndisplayName: \"{id}\"\nisolation: {isolation}\n"
    );
    if !roles.is_empty() {
        text.push_str(&format!("roles: [{}]\n", roles.join(", ")));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;
    // The new file must leave the folder valid; remove it if it does not.
    if let Err(e) = spec::load_valid(&cli.config_dir) {
        let _ = std::fs::remove_file(&path);
        return Err(e.into());
    }
    ui.status(&format!("wrote {}", path.display()));
    Ok(0)
}
