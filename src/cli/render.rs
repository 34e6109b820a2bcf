//! `tenantctl render`: the rendered trust and inline policies of every tenant role, as JSON.

use serde_json::json;

use super::{Cli, CliError, Ui};
use crate::check;
use crate::spec::desired;

pub fn run(cli: &Cli, _ui: &Ui, tenants: &[String], account_id: Option<&str>) -> Result<i32, CliError> {
    let folder = check::load_valid(&cli.config_dir)?;
    for id in tenants {
        if folder.tenant(id).is_none() {
            return Err(CliError::hint(
                format!("no tenant `{id}` in the folder"),
                "tenantctl inventory lists the tenants",
            ));
        }
    }
    let pl = &folder.platform.value;
    let mut env = desired::RenderEnv::offline(pl);
    if let Some(a) = account_id {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CliError::msg(format!("--account-id `{a}` is not a 12-digit AWS account id")));
        }
        env.account_id = a.to_string();
    }
    if let Some(r) = &cli.region {
        env.region = r.clone();
    }
    let roles = crate::kinds::iam_role::rendered(&folder, &env, tenants).map_err(|e| CliError::msg(e.to_string()))?;
    let roles: Vec<_> = roles
        .into_iter()
        .map(|r| {
            json!({
                "tenant": r.tenant,
                "role": r.role,
                "name": r.state.name,
                "path": r.state.path,
                "arn": desired::names::role_arn(&env.partition, &env.account_id, &pl.name, &r.state.name),
                "trust_policy": r.state.trust_policy,
                "policies": r.state.policies,
            })
        })
        .collect();
    let out = json!({
        "format_version": 1,
        "platform": pl.name,
        "account_id": env.account_id,
        "region": env.region,
        "roles": roles,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    Ok(0)
}
