//! The saved plan (`plan --out`, read back by `apply PLANFILE`): the contract's plan document
//! (§5) with the metadata apply needs to refuse a stale plan. `cli::show::plan_json` writes
//! it; [`SavedPlan::from_json`] reads it back, typed. The changes carry no [`Op`](super::Op):
//! apply plans again and executes only when the new plan's changes equal the saved ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Change, FieldChange, Orphan, Plan, Resource};

/// The only `format_version` this tenantctl writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// One change as the contract's JSON shows it (a [`Change`] without its op).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SavedChange {
    pub action: Action,
    pub resource: Resource,
    pub address: String,
    pub name: String,
    pub tenant: Option<String>,
    pub fields: Vec<FieldChange>,
}

impl From<&Change> for SavedChange {
    fn from(c: &Change) -> Self {
        SavedChange {
            action: c.action,
            resource: c.resource,
            address: c.address.clone(),
            name: c.name.clone(),
            tenant: c.tenant.clone(),
            fields: c.fields.clone(),
        }
    }
}

/// What `plan --out` records besides the plan: where it came from and how it was made.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SavedMetadata {
    /// [`crate::ops::folder_fingerprint`] of the folder the plan was made from.
    pub folder_sha256: String,
    /// `Session::state_fingerprint` of the live state the plan was made from.
    pub state_sha256: String,
    /// The plan's `--tenant` list (empty: every tenant).
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub prune: bool,
    /// The AWS calls planning made (informational).
    #[serde(default)]
    pub stats: Value,
}

/// A saved plan file, as read by `apply PLANFILE`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SavedPlan {
    pub format_version: u64,
    pub platform: String,
    pub changes: Vec<SavedChange>,
    /// Counts by action (files written before `replace` existed lack its key).
    #[serde(default)]
    pub summary: BTreeMap<String, usize>,
    #[serde(default)]
    pub orphans: Vec<Orphan>,
    pub metadata: SavedMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("not a tenantctl plan: {0}")]
    Parse(String),
    #[error("plan format_version {0} is not supported: this tenantctl reads format_version {FORMAT_VERSION}")]
    Version(String),
}

impl SavedPlan {
    /// Reads a saved plan. The `format_version` is checked first, so a plan of another format
    /// is reported as such rather than as a field that does not parse.
    pub fn from_json(text: &str) -> Result<SavedPlan, SavedPlanError> {
        let v: Value = serde_json::from_str(text).map_err(|e| SavedPlanError::Parse(e.to_string()))?;
        match v.get("format_version") {
            Some(n) if n.as_u64() == Some(FORMAT_VERSION) => {}
            Some(other) => return Err(SavedPlanError::Version(other.to_string())),
            None if v.is_object() => return Err(SavedPlanError::Parse("missing field `format_version`".into())),
            None => return Err(SavedPlanError::Parse("not a JSON object".into())),
        }
        serde_json::from_value(v).map_err(|e| SavedPlanError::Parse(e.to_string()))
    }

    /// Whether `plan` has exactly the saved changes (same order, same fields).
    pub fn same_changes(&self, plan: &Plan) -> bool {
        self.changes.len() == plan.changes.len()
            && self.changes.iter().zip(&plan.changes).all(|(s, c)| *s == SavedChange::from(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Op;

    /// A plan file as `plan --out` wrote it before `replace` existed (no `replace` count).
    const OLD_FORMAT: &str = r#"{
  "format_version": 1,
  "platform": "acmesaas",
  "changes": [
    {
      "action": "create",
      "resource": "iam_role",
      "address": "tenant/acme/role/admin",
      "name": "acmesaas-acme-admin",
      "tenant": "acme",
      "fields": [
        {
          "path": "tags.tenant_id",
          "before": null,
          "after": "acme"
        }
      ]
    }
  ],
  "summary": {
    "create": 1,
    "delete": 0,
    "update": 0
  },
  "orphans": [],
  "metadata": {
    "folder_sha256": "ab",
    "state_sha256": "cd",
    "tenants": [],
    "prune": false,
    "stats": {"calls": 3, "write_calls": 0, "retries": 0, "wall_ms": 12, "by_operation": {}}
  }
}"#;

    fn role_change() -> Change {
        Change {
            action: Action::Create,
            resource: Resource::new("iam_role"),
            address: "tenant/acme/role/admin".into(),
            name: "acmesaas-acme-admin".into(),
            tenant: Some("acme".into()),
            fields: vec![FieldChange { path: "tags.tenant_id".into(), before: Value::Null, after: "acme".into() }],
            op: Op::Item { address: "prod".into(), desired: None, live: None, replace: false },
        }
    }

    #[test]
    fn a_plan_file_written_before_replace_existed_reads() {
        let p = SavedPlan::from_json(OLD_FORMAT).unwrap();
        assert_eq!(p.platform, "acmesaas");
        assert_eq!(p.metadata.folder_sha256, "ab");
        assert_eq!(p.metadata.state_sha256, "cd");
        assert!(p.metadata.tenants.is_empty() && !p.metadata.prune);
        assert_eq!(p.summary.get("create"), Some(&1));
        assert!(p.same_changes(&Plan { changes: vec![role_change()], orphans: vec![] }));
        let mut other = role_change();
        other.fields[0].after = "globex".into();
        assert!(!p.same_changes(&Plan { changes: vec![other], orphans: vec![] }));
        assert!(!p.same_changes(&Plan::default()));
    }

    #[test]
    fn another_format_version_or_a_broken_file_is_refused_with_the_reason() {
        let v2 = OLD_FORMAT.replace("\"format_version\": 1", "\"format_version\": 2");
        let e = SavedPlan::from_json(&v2).unwrap_err();
        assert_eq!(e, SavedPlanError::Version("2".into()));
        assert!(e.to_string().contains("format_version 2"), "{e}");
        for (text, want) in [
            ("{\"format_version\": 1,", "EOF"),
            ("[1, 2]", "not a JSON object"),
            ("{}", "format_version"),
            ("{\"format_version\": 1, \"platform\": \"x\", \"changes\": []}", "metadata"),
            (&OLD_FORMAT.replace("\"create\",\n      \"resource\"", "\"recreate\",\n      \"resource\""), "recreate"),
        ] {
            let e = SavedPlan::from_json(text).unwrap_err();
            assert!(matches!(e, SavedPlanError::Parse(_)), "{text}: {e:?}");
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
    }
}
