//! `tenantctl drift`: compares AWS with the folder and changes nothing.

use super::{session, show, Cli, CliError, Format, Ui};
use crate::plan::drift;

pub fn run(cli: &Cli, ui: &Ui, tenants: &[String], format: Format) -> Result<i32, CliError> {
    session::block_on(async {
        let spinner = ui.spinner("reading AWS");
        let s = session::open(cli, tenants).await?;
        spinner.finish();
        let plan = session::plan(cli, &s, &s.options(false))?;
        let items = drift::from_plan(&plan);
        let platform = &s.folder.platform.value.name;
        match format {
            Format::Json => {
                println!("{}", serde_json::to_string_pretty(&show::drift_json(platform, &items)).expect("json"))
            }
            Format::Markdown => print!("{}", show::drift_markdown(platform, &items)),
            Format::Text => print!("{}", show::drift_text(platform, &items)),
        }
        session::print_stats(cli, &s);
        Ok(if items.is_empty() { 0 } else { 2 })
    })
}
