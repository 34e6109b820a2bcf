//! `tenantctl apply [PLANFILE]`: makes AWS match the folder (or exactly the saved plan).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use super::{session, show, Cli, CliError, Ui};
use crate::engine::{self, Event};
use crate::kinds;
use crate::ops::{folder_fingerprint, Session};
use crate::plan::saved::SavedPlan;
use crate::plan::{Action, Change, Plan};
use crate::state::wiring::REST_API_ADDRESS;

pub struct Args<'a> {
    pub planfile: Option<&'a Path>,
    pub tenants: &'a [String],
    pub auto_approve: bool,
    pub prune: bool,
    pub parallelism: usize,
    pub rate_scale: f64,
}

fn verb(a: Action, done: bool) -> &'static str {
    match (a, done) {
        (Action::Create, true) => "created",
        (Action::Update, true) => "updated",
        (Action::Delete, true) => "deleted",
        (Action::Replace, true) => "replaced",
        (Action::Create, false) => "create",
        (Action::Update, false) => "update",
        (Action::Delete, false) => "delete",
        (Action::Replace, false) => "replace",
    }
}

pub fn line(c: &Change) -> String {
    format!("{} {} ({})", c.resource.as_str(), c.address, c.name)
}

/// Asks on a terminal; refuses without one.
pub fn confirm(ui: &Ui, question: &str) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::hint(
            "refusing to change AWS without confirmation: there is no terminal to ask on",
            "pass --auto-approve in CI",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::msg(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        ui.status("Cancelled; nothing was changed.");
        Err(CliError::msg("apply cancelled"))
    }
}

/// Runs `plan` on AWS with progress; returns the exit code.
pub async fn execute(cli: &Cli, ui: &Ui, s: &Session, plan: &Plan, parallelism: usize) -> Result<i32, CliError> {
    let n = plan.changes.len() as u64;
    let bar = (ui.tty && !ui.quiet).then(|| {
        let b = ProgressBar::new(n);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        b
    });
    let log = Mutex::new(());
    let on_event = |e: Event<'_>| match e {
        Event::Started { change, .. } => {
            if let Some(b) = &bar {
                b.set_message(format!("{} {}", verb(change.action, false), change.address));
            }
        }
        Event::Done { change, .. } => match &bar {
            Some(b) => {
                b.inc(1);
                b.println(format!("  {} {}", verb(change.action, true), line(change)));
            }
            None if !ui.quiet => {
                let _g = log.lock();
                eprintln!("  {} {}", verb(change.action, true), line(change));
            }
            None => {}
        },
        Event::Failed { change, error, .. } => {
            let msg = format!("  failed to {} {}: {error}", verb(change.action, false), line(change));
            match &bar {
                Some(b) => b.println(msg),
                None => {
                    let _g = log.lock();
                    eprintln!("{msg}");
                }
            }
        }
    };
    let (outcome, _ids) = engine::run(&s.aws, &plan.changes, s.ids.clone(), parallelism, on_event)
        .await
        .map_err(|e| CliError::hint(e.to_string(), e.hint()))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    session::print_stats(cli, s);
    // The kinds' rules say what API Gateway serves only after a deployment, as in the plan.
    let served_after_deployment =
        |c: &Change| kinds::of(c.resource.as_str()).is_some_and(|k| k.served_after_deployment());
    let api_changed = outcome.done.iter().any(|i| served_after_deployment(&plan.changes[*i]));
    let deploys = |c: &Change| kinds::of(c.resource.as_str()).is_some_and(|k| k.deploys());
    let deployed: Vec<&str> =
        outcome.done.iter().filter(|i| deploys(&plan.changes[**i])).map(|i| plan.changes[*i].name.as_str()).collect();
    for stage in &deployed {
        ui.status(&format!(
            "deployed stage `{stage}` of REST API {}: it serves the authorizer and method changes now",
            s.ids.id(REST_API_ADDRESS).unwrap_or("?")
        ));
    }
    // Without authorizer.stage, tell the user what to run.
    let planned_deploy = plan.changes.iter().any(deploys);
    if let (true, false, Some(api)) = (api_changed, planned_deploy, s.ids.id(REST_API_ADDRESS)) {
        // tenantctl does not deploy the API: a deployment would also publish unrelated pending
        // changes of whoever owns it.
        ui.status(&format!(
            "note: API Gateway serves authorizer and method changes after a deployment: \
             aws apigateway create-deployment --rest-api-id {api} --stage-name <stage>"
        ));
    }
    if outcome.ok() {
        ui.status(&format!(
            "Apply complete: {} change{} made.",
            outcome.done.len(),
            if outcome.done.len() == 1 { "" } else { "s" }
        ));
        return Ok(0);
    }
    let mut report = format!(
        "apply stopped: {} done, {} failed, {} not attempted",
        outcome.done.len(),
        outcome.failed.len(),
        outcome.not_attempted.len()
    );
    for (i, e) in &outcome.failed {
        report.push_str(&format!("\n  failed: {}: {e}", line(&plan.changes[*i])));
    }
    for i in &outcome.not_attempted {
        report.push_str(&format!(
            "\n  not attempted: {} {}",
            verb(plan.changes[*i].action, false),
            line(&plan.changes[*i])
        ));
    }
    Err(CliError::hint(report, "fix the cause and run apply again: every step is idempotent and a re-run converges"))
}

pub fn run(cli: &Cli, ui: &Ui, a: Args<'_>) -> Result<i32, CliError> {
    let saved: Option<SavedPlan> = match a.planfile {
        Some(p) => {
            if !a.tenants.is_empty() || a.prune {
                return Err(CliError::msg(
                    "a saved plan carries its own --tenant and --prune; do not pass them with PLANFILE",
                ));
            }
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::msg(format!("cannot read the plan {}: {e}", p.display())))?;
            Some(SavedPlan::from_json(&text).map_err(|e| {
                CliError::hint(
                    format!("{}: {e}", p.display()),
                    "apply takes a file written by `tenantctl plan --out`, by this version of tenantctl",
                )
            })?)
        }
        None => None,
    };
    let (tenants, prune): (Vec<String>, bool) = match &saved {
        Some(v) => (v.metadata.tenants.clone(), v.metadata.prune),
        None => (a.tenants.to_vec(), a.prune),
    };
    session::block_on(async {
        let s = session::open_with(cli, &tenants, crate::aws::Limiter::new(a.rate_scale)).await?;
        let plan = session::plan(cli, &s, &s.options(prune))?;
        let platform = s.folder.platform.value.name.clone();
        if let Some(v) = &saved {
            let folder_same = v.metadata.folder_sha256 == folder_fingerprint(&s.folder);
            let state_same = v.metadata.state_sha256 == s.state_fingerprint();
            if !folder_same || !state_same || !v.same_changes(&plan) {
                let what = if !folder_same { "the folder" } else { "AWS" };
                return Err(CliError::hint(
                    format!("stale plan: {what} changed since the plan was made"),
                    "run tenantctl plan --out again and apply the new plan",
                ));
            }
        }
        if !ui.quiet {
            eprint!("{}", show::plan_text(&platform, &plan, ui.verbose));
        }
        if plan.is_empty() {
            ui.status("Nothing to do.");
            session::print_stats(cli, &s);
            return Ok(0);
        }
        if !a.auto_approve {
            confirm(
                ui,
                &format!(
                    "Apply {} change{} to platform {platform}?",
                    plan.changes.len(),
                    if plan.changes.len() == 1 { "" } else { "s" }
                ),
            )?;
        }
        execute(cli, ui, &s, &plan, a.parallelism).await
    })
}

#[cfg(test)]
mod tests {
    use super::verb;
    use crate::plan::Action;

    #[test]
    fn progress_lines_name_every_action() {
        let all = [Action::Create, Action::Update, Action::Delete, Action::Replace];
        let done: Vec<_> = all.iter().map(|a| verb(*a, true)).collect();
        assert_eq!(done, ["created", "updated", "deleted", "replaced"]);
        let todo: Vec<_> = all.iter().map(|a| verb(*a, false)).collect();
        assert_eq!(todo, ["create", "update", "delete", "replace"]);
    }
}
