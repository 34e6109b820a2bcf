//! `tenantctl plan`: reads AWS, prints what apply would change.

use serde_json::json;

use super::{session, show, Cli, CliError, Format, Ui};
use crate::ops::folder_fingerprint;

pub struct Args<'a> {
    pub tenants: &'a [String],
    pub out: Option<&'a std::path::Path>,
    pub format: Format,
    pub detailed_exitcode: bool,
}

pub fn run(cli: &Cli, ui: &Ui, a: Args<'_>) -> Result<i32, CliError> {
    session::block_on(async {
        let spinner = ui.spinner("reading AWS");
        let s = session::open(cli, a.tenants).await?;
        spinner.finish();
        let opts = s.options(false);
        let plan = session::plan(cli, &s, &opts)?;
        let wall = s.started.elapsed().as_millis();
        let metadata = json!({
            "folder_sha256": folder_fingerprint(&s.folder),
            "state_sha256": s.state_fingerprint(),
            "tenants": a.tenants,
            "prune": false,
            "stats": show::stats_json(&s.aws.stats, wall),
        });
        let platform = &s.folder.platform.value.name;
        let doc = show::plan_json(platform, &plan, metadata);
        if let Some(path) = a.out {
            std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json"))
                .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;
            ui.status(&format!("saved the plan to {}", path.display()));
        }
        match a.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&doc).expect("json")),
            Format::Markdown => print!("{}", show::plan_markdown(platform, &plan, ui.verbose)),
            Format::Text => print!("{}", show::plan_text(platform, &plan, ui.verbose)),
        }
        session::print_stats(cli, &s);
        Ok(if a.detailed_exitcode && !plan.is_empty() { 2 } else { 0 })
    })
}
