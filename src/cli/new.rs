//! `tenantctl new tenant ID`: writes a valid tenant file, never overwriting one.

use std::collections::BTreeSet;
use std::io::Write;

use super::{Cli, CliError, Ui};
use crate::check;
use crate::spec::{schema, template, validate};

pub struct Args<'a> {
    pub id: &'a str,
    pub isolation: &'a str,
    pub roles: &'a [String],
    pub vars: &'a [(String, String)],
    pub display_name: Option<&'a str>,
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// The `$schema` line for a file at `tenants/ID.yaml` (editors with the YAML language
/// server complete and check the file with it).
fn schema_line() -> String {
    format!("# yaml-language-server: $schema=../{}\n", schema::SCHEMA_PATH)
}

pub fn run(cli: &Cli, ui: &Ui, a: Args<'_>) -> Result<i32, CliError> {
    let id = a.id;
    if let Some(problem) = validate::tenant_id_problem(id) {
        return Err(CliError::hint(problem, "use lowercase letters, digits and inner hyphens, at most 32 characters"));
    }
    let folder = check::load_valid(&cli.config_dir)?;
    let pl = &folder.platform.value;
    if folder.tenants.iter().any(|t| t.value.id.eq_ignore_ascii_case(id)) {
        return Err(CliError::msg(format!("tenant `{id}` already exists")));
    }
    for r in a.roles {
        if !pl.roles.contains_key(r) {
            return Err(CliError::hint(
                format!("role `{r}` is not declared by the platform"),
                format!("declared roles: {}", pl.roles.keys().cloned().collect::<Vec<_>>().join(", ")),
            ));
        }
    }
    for (k, v) in a.vars {
        if !k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(CliError::msg(format!("--var {k}=...: a variable name is letters, digits and _")));
        }
        if let Some(reason) = template::widening_reason(v) {
            return Err(CliError::hint(
                format!("--var {k}={v:?}: the value contains {reason}, which could widen access in a policy"),
                "tenant variables are substituted into IAM policies; use plain names",
            ));
        }
    }
    // The variables the templates of the tenant's roles need, so a missing one is named as
    // the flag to add before anything is written.
    let roles: Vec<&str> = if a.roles.is_empty() {
        pl.roles.keys().map(String::as_str).collect()
    } else {
        a.roles.iter().map(String::as_str).collect()
    };
    let mut needed: BTreeSet<String> = BTreeSet::new();
    for r in &roles {
        for pol in pl.roles.get(*r).map(|rs| rs.policies.as_slice()).unwrap_or_default() {
            if let Some(Ok(phs)) = folder.policies.get(pol).map(|t| template::placeholders(&t.doc)) {
                needed.extend(phs.iter().filter_map(|(_, ph)| ph.strip_prefix("tenant.vars.").map(str::to_string)));
            }
        }
    }
    let given: BTreeSet<&str> = a.vars.iter().map(|(k, _)| k.as_str()).collect();
    let missing: Vec<&String> = needed.iter().filter(|n| !given.contains(n.as_str())).collect();
    if !missing.is_empty() {
        let flags = missing.iter().map(|m| format!("--var {m}=VALUE")).collect::<Vec<_>>().join(" ");
        return Err(CliError::hint(
            format!(
                "the platform's policy templates need {} for this tenant; nothing was written",
                missing.iter().map(|m| format!("{{{{tenant.vars.{m}}}}}")).collect::<Vec<_>>().join(", ")
            ),
            format!("add {flags}, e.g. tenantctl new tenant {id} {flags}"),
        ));
    }

    let path = cli.config_dir.join("tenants").join(format!("{id}.yaml"));
    let mut text = schema_line();
    text.push_str(&format!(
        "apiVersion: tenantctl/v1\nkind: Tenant\nid: {}\ndisplayName: {}\nisolation: {}\n",
        quoted(id),
        quoted(a.display_name.unwrap_or(id)),
        a.isolation
    ));
    if !a.roles.is_empty() {
        text.push_str(&format!("roles: [{}]\n", a.roles.join(", ")));
    }
    if !a.vars.is_empty() {
        text.push_str("vars:\n");
        for (k, v) in a.vars {
            text.push_str(&format!("  {}: {}\n", k, quoted(v)));
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;
    // The new file must leave the folder valid; remove it if it does not.
    if let Err(e) = check::load_valid(&cli.config_dir) {
        let _ = std::fs::remove_file(&path);
        ui.status(&format!("{} was not kept: the folder would be invalid with it", path.display()));
        return Err(e.into());
    }
    ui.status(&format!("wrote {}", path.display()));
    if !cli.config_dir.join(schema::SCHEMA_PATH).exists() {
        ui.status(&format!(
            "note: the file points editors at ../{0}; tenantctl schema --out {0} writes it",
            schema::SCHEMA_PATH
        ));
    }
    Ok(0)
}
