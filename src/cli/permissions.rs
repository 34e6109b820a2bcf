//! `tenantctl permissions --for USE`: the least-privilege IAM policy for a use of the folder,
//! offline (the policy is `crate::permissions::policy`; this file has the flags and the output).

use serde_json::Value;

use super::{Cli, CliError, PolicyFormat, PolicyUse, Ui};
use crate::check;
use crate::permissions::{self, Use};

pub fn run(cli: &Cli, _ui: &Ui, for_: PolicyUse, format: PolicyFormat) -> Result<i32, CliError> {
    let folder = check::load_valid(&cli.config_dir)?;
    let use_ = match for_ {
        PolicyUse::Plan => Use::Plan,
        PolicyUse::Drift => Use::Drift,
        PolicyUse::Apply => Use::Apply,
        PolicyUse::Destroy => Use::Destroy,
    };
    let policy = permissions::policy(&folder, use_, cli.region.as_deref());
    let json = serde_json::to_string_pretty(&policy).expect("json");
    match format {
        PolicyFormat::Json => println!("{json}"),
        PolicyFormat::Text => println!("{}{json}", summary(&folder.platform.value.name, for_, &policy)),
    }
    Ok(0)
}

/// The readable summary above the policy: what it is for, one line per statement.
fn summary(platform: &str, for_: PolicyUse, policy: &Value) -> String {
    let name = match for_ {
        PolicyUse::Plan => "plan",
        PolicyUse::Drift => "drift",
        PolicyUse::Apply => "apply",
        PolicyUse::Destroy => "destroy",
    };
    let access = match for_ {
        PolicyUse::Plan | PolicyUse::Drift => "read-only",
        PolicyUse::Apply => "reads and writes",
        PolicyUse::Destroy => "reads and deletions",
    };
    let mut out = format!("IAM policy for `tenantctl {name}` of platform {platform} ({access}):\n");
    for s in policy["Statement"].as_array().into_iter().flatten() {
        let n = s["Action"].as_array().map_or(0, Vec::len);
        let resources: Vec<&str> = s["Resource"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let condition = if s.get("Condition").is_some() { " (with a condition)" } else { "" };
        out.push_str(&format!(
            "  {:<22} {n:>2} action{} on {}{condition}\n",
            s["Sid"].as_str().unwrap_or(""),
            if n == 1 { "" } else { "s" },
            resources.join(", ")
        ));
    }
    out.push_str("The account is `*` (the folder does not name it); --format json prints the document alone.\n\n");
    out
}
