//! `tenantctl inventory`: every managed physical resource with its ARN or id.

use serde_json::{json, Value};

use super::{session, Cli, CliError, ListFormat, Ui};
use crate::kinds;

pub fn run(cli: &Cli, ui: &Ui, tenants: &[String], format: ListFormat) -> Result<i32, CliError> {
    session::block_on(async {
        let spinner = ui.spinner("reading AWS");
        let s = session::open(cli, tenants).await?;
        spinner.finish();
        let c = &s.aws.ctx;
        let mut rows: Vec<Value> = Vec::new();
        // Kind by kind, in the registry's order.
        for k in kinds::KINDS {
            let kind = k.resource();
            for (addr, i) in s.observed.items.iter().filter(|(_, i)| i.kind == kind.as_str()) {
                rows.extend(k.inventory(addr, i, &s.ids, c));
            }
        }
        if !tenants.is_empty() {
            rows.retain(|r| r["tenant"].as_str().is_some_and(|t| tenants.iter().any(|x| x == t)));
        }
        match format {
            ListFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&json!({"format_version": 1, "platform": c.platform, "resources": rows}))
                    .expect("json")
            ),
            ListFormat::Text => {
                for r in &rows {
                    let id = r.get("arn").or_else(|| r.get("id")).and_then(Value::as_str).unwrap_or("");
                    println!(
                        "{:<16} {:<48} {id}",
                        r["resource"].as_str().unwrap_or(""),
                        r["address"].as_str().unwrap_or("")
                    );
                }
            }
        }
        session::print_stats(cli, &s);
        Ok(0)
    })
}
