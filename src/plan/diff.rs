//! The generic field diff the kinds share: desired vs live values, leaf field by leaf field.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::FieldChange;

/// Leaf fields of a value, as `path -> value`. Policy documents are leaves.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !is_leaf(prefix) => {
            if m.is_empty() {
                out.push((prefix.to_string(), v.clone()));
            }
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&p, x, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

fn is_leaf(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    matches!(last, "trust_policy" | "document") || path.starts_with("policies.")
}

/// Field-level differences between two serializable values.
pub fn field_changes<T: Serialize>(before: Option<&T>, after: Option<&T>) -> Vec<FieldChange> {
    let b = before.map(|x| serde_json::to_value(x).expect("state serializes")).unwrap_or(Value::Null);
    let a = after.map(|x| serde_json::to_value(x).expect("state serializes")).unwrap_or(Value::Null);
    diff_values("", &b, &a)
}

pub fn diff_values(prefix: &str, b: &Value, a: &Value) -> Vec<FieldChange> {
    let mut bf = Vec::new();
    let mut af = Vec::new();
    if !b.is_null() {
        flatten(prefix, b, &mut bf);
    }
    if !a.is_null() {
        flatten(prefix, a, &mut af);
    }
    let mut paths: BTreeSet<&String> = bf.iter().map(|(p, _)| p).collect();
    paths.extend(af.iter().map(|(p, _)| p));
    let get =
        |f: &[(String, Value)], p: &str| f.iter().find(|(q, _)| q == p).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
    paths
        .into_iter()
        .filter_map(|p| {
            let (before, after) = (get(&bf, p), get(&af, p));
            (before != after).then(|| FieldChange { path: p.clone(), before, after })
        })
        .collect()
}
