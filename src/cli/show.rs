//! Rendering of plans, drift and stats: text for people, JSON for scripts (contract §5),
//! markdown for reports.

use serde_json::{json, Value};

use crate::aws::Stats;
use crate::plan::drift::{DriftItem, Kind};
use crate::plan::saved::{SavedChange, FORMAT_VERSION};
use crate::plan::{Action, Plan};

fn short(v: &Value) -> String {
    let s = match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if s.len() > 160 {
        format!("{}…", &s[..s.char_indices().take_while(|(i, _)| *i < 157).last().map_or(0, |(i, c)| i + c.len_utf8())])
    } else {
        s
    }
}

pub fn plan_text(platform: &str, plan: &Plan, verbose: bool) -> String {
    let mut out = String::new();
    if plan.changes.is_empty() {
        out.push_str(&format!("No changes: AWS matches the folder for platform {platform}.\n"));
    } else {
        out.push_str(&format!("Plan for platform {platform}:\n"));
        for c in &plan.changes {
            let sign = match c.action {
                Action::Create => "+",
                Action::Update => "~",
                Action::Delete => "-",
                Action::Replace => "-/+",
            };
            out.push_str(&format!("  {sign} {} {} ({})\n", c.resource.as_str(), c.address, c.name));
            if matches!(c.action, Action::Update | Action::Replace) || verbose {
                for f in &c.fields {
                    let (b, a) = if sensitive(&f.path) {
                        ("(sensitive)".to_string(), "(sensitive)".to_string())
                    } else {
                        (short(&f.before), short(&f.after))
                    };
                    out.push_str(&format!("      {}: {b} -> {a}\n", f.path));
                }
            }
        }
    }
    if !plan.orphans.is_empty() {
        out.push_str("Orphans (their tenant files are gone; kept unless --prune):\n");
        for o in &plan.orphans {
            out.push_str(&format!("  ? {} {} ({})\n", o.resource.as_str(), o.address, o.name));
        }
    }
    let s = plan.summary();
    // The replace count shows only when there is one: the line stays as it was otherwise.
    let replace = match s["replace"] {
        0 => String::new(),
        n => format!(", {n} to replace"),
    };
    out.push_str(&format!(
        "Plan: {} to create, {} to update{replace}, {} to delete.\n",
        s["create"], s["update"], s["delete"]
    ));
    out
}

/// Field paths whose values plan output never shows (secrets, function environment).
pub fn sensitive(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.split(['.', '[', '/']).any(|seg| {
        (seg.contains("secret") && !seg.starts_with("generate"))
            || (seg.contains("password") && !seg.contains("policy"))
            || seg == "environment"
            || seg == "api_key"
            || seg == "key_value"
    })
}

fn md_cell(s: &str) -> String {
    let s = s.replace('|', "\\|").replace(['\n', '\r'], " ");
    if s.contains('`') {
        format!("<code>{}</code>", s.replace('<', "&lt;"))
    } else {
        format!("`{s}`")
    }
}

fn md_value(path: &str, v: &Value) -> String {
    if sensitive(path) && !v.is_null() {
        "*(sensitive)*".to_string()
    } else {
        md_cell(&short(v))
    }
}

fn counts(changes: &[&crate::plan::Change]) -> String {
    let mut parts = Vec::new();
    for (a, word) in [
        (Action::Create, "create"),
        (Action::Update, "update"),
        (Action::Replace, "replace"),
        (Action::Delete, "delete"),
    ] {
        let n = changes.iter().filter(|c| c.action == a).count();
        if n > 0 {
            parts.push(format!("{n} to {word}"));
        }
    }
    parts.join(", ")
}

/// The plan as Markdown for a pull-request comment: the summary line first, then the
/// changes grouped by tenant in collapsible sections (platform-wide changes first), each
/// update's fields as a table, sensitive values hidden.
pub fn plan_markdown(platform: &str, plan: &Plan, verbose: bool) -> String {
    let s = plan.summary();
    let n = |k: &str| s.get(k).copied().unwrap_or(0);
    let orphans = plan.orphans.len();
    let mut out = format!("## tenantctl plan: `{platform}`\n\n");
    out.push_str(&format!(
        "**Plan: {} to create, {} to update, {} to replace, {} to delete; {} orphan{}.**\n\n",
        n("create"),
        n("update"),
        n("replace"),
        n("delete"),
        orphans,
        if orphans == 1 { "" } else { "s" }
    ));
    if plan.changes.is_empty() {
        out.push_str("No changes: AWS matches the folder.\n");
    }
    // Platform-wide first, then tenants by id.
    let mut groups: Vec<(Option<&str>, Vec<&crate::plan::Change>)> = Vec::new();
    let mut keys: Vec<Option<&str>> = plan.changes.iter().map(|c| c.tenant.as_deref()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        groups.push((k, plan.changes.iter().filter(|c| c.tenant.as_deref() == k).collect()));
    }
    for (tenant, changes) in groups {
        let title = match tenant {
            None => "Platform-wide".to_string(),
            Some(t) => format!("Tenant <code>{t}</code>"),
        };
        out.push_str(&format!("<details><summary><b>{title}</b>: {}</summary>\n\n", counts(&changes)));
        out.push_str("| action | resource | address | name |\n|---|---|---|---|\n");
        for c in &changes {
            let sign = match c.action {
                Action::Create => "+ create",
                Action::Update => "~ update",
                Action::Delete => "- delete",
                Action::Replace => "-/+ replace",
            };
            out.push_str(&format!(
                "| {sign} | {} | {} | {} |\n",
                c.resource.as_str(),
                md_cell(&c.address),
                md_cell(&c.name)
            ));
        }
        out.push('\n');
        for c in &changes {
            if c.fields.is_empty() || !(matches!(c.action, Action::Update | Action::Replace) || verbose) {
                continue;
            }
            out.push_str(&format!(
                "**{} {}** {}\n\n",
                c.resource.as_str(),
                md_cell(&c.address),
                match c.action {
                    Action::Create => "(create)",
                    Action::Update => "(update)",
                    Action::Delete => "(delete)",
                    Action::Replace => "(replace: deleted and created again)",
                }
            ));
            out.push_str("| field | before | after |\n|---|---|---|\n");
            for f in &c.fields {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    md_cell(&f.path),
                    md_value(&f.path, &f.before),
                    md_value(&f.path, &f.after)
                ));
            }
            out.push('\n');
        }
        out.push_str("</details>\n\n");
    }
    if !plan.orphans.is_empty() {
        out.push_str("### Orphans\n\nTheir tenant files are gone; kept unless `apply --prune`.\n\n");
        out.push_str("| resource | address | name | tenant |\n|---|---|---|---|\n");
        for o in &plan.orphans {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                o.resource.as_str(),
                md_cell(&o.address),
                md_cell(&o.name),
                o.tenant.as_deref().map(md_cell).unwrap_or_default()
            ));
        }
        out.push('\n');
    }
    out
}

pub fn plan_json(platform: &str, plan: &Plan, metadata: Value) -> Value {
    let changes: Vec<SavedChange> = plan.changes.iter().map(SavedChange::from).collect();
    json!({
        "format_version": FORMAT_VERSION,
        "platform": platform,
        "changes": changes,
        "summary": plan.summary(),
        "orphans": plan.orphans,
        "metadata": metadata,
    })
}

fn kind(k: Kind) -> &'static str {
    match k {
        Kind::Missing => "missing",
        Kind::Changed => "changed",
        Kind::Unexpected => "unexpected",
    }
}

pub fn drift_text(platform: &str, items: &[DriftItem]) -> String {
    if items.is_empty() {
        return format!("No drift: AWS matches the folder for platform {platform}.\n");
    }
    let mut out =
        format!("Drift for platform {platform}: {} item{}\n", items.len(), if items.len() == 1 { "" } else { "s" });
    for i in items {
        out.push_str(&format!("  {} {} {}\n", kind(i.kind), i.resource.as_str(), i.address));
        for f in &i.fields {
            let (e, a) = if sensitive(&f.path) {
                ("(sensitive)".to_string(), "(sensitive)".to_string())
            } else {
                (short(&f.expected), short(&f.actual))
            };
            out.push_str(&format!("      {}: expected {e}, actual {a}\n", f.path));
        }
    }
    out
}

pub fn drift_json(platform: &str, items: &[DriftItem]) -> Value {
    json!({"format_version": 1, "platform": platform, "drifted": !items.is_empty(), "items": items})
}

pub fn drift_markdown(platform: &str, items: &[DriftItem]) -> String {
    let mut out = format!("## tenantctl drift: `{platform}`\n\n");
    if items.is_empty() {
        out.push_str("No drift.\n");
        return out;
    }
    out.push_str("| kind | resource | address | field | expected | actual |\n|---|---|---|---|---|---|\n");
    let cell = |s: String| s.replace('|', "\\|").replace('\n', " ");
    for i in items {
        if i.fields.is_empty() {
            out.push_str(&format!("| {} | {} | `{}` | | | |\n", kind(i.kind), i.resource.as_str(), i.address));
        }
        for f in &i.fields {
            out.push_str(&format!(
                "| {} | {} | `{}` | `{}` | {} | {} |\n",
                kind(i.kind),
                i.resource.as_str(),
                i.address,
                f.path,
                if sensitive(&f.path) { "*(sensitive)*".to_string() } else { cell(short(&f.expected)) },
                if sensitive(&f.path) { "*(sensitive)*".to_string() } else { cell(short(&f.actual)) }
            ));
        }
    }
    out
}

pub fn stats_json(stats: &Stats, wall_ms: u128) -> Value {
    json!({
        "calls": stats.total_calls(),
        "write_calls": stats.write_calls(),
        "retries": stats.retries(),
        "wall_ms": wall_ms,
        "by_operation": stats.snapshot().into_iter().map(|(k, v)| (k, v.calls)).collect::<std::collections::BTreeMap<_, _>>(),
    })
}

pub fn stats_text(stats: &Stats, wall_ms: u128) -> String {
    let mut out = format!(
        "AWS calls: {} ({} writes), retries: {}, wall time: {:.2}s\n",
        stats.total_calls(),
        stats.write_calls(),
        stats.retries(),
        wall_ms as f64 / 1000.0
    );
    for (k, v) in stats.snapshot() {
        out.push_str(&format!("  {k:<48} {:>6}\n", v.calls));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sensitive;

    #[test]
    fn secrets_and_function_environment_are_sensitive() {
        for p in ["environment.CLIENT_SECRET", "client_secret", "clientSecret", "api_key.value"] {
            assert!(sensitive(p), "{p}");
        }
        for p in ["generate_secret", "password_policy.min_length", "callback_urls", "mfa", "tags.owner"] {
            assert!(!sensitive(p), "{p}");
        }
    }
}
