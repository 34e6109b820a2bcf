//! The diff: desired vs observed, resource by resource, into ordered changes.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::{Action, Change, FieldChange, Op, Orphan, Plan, PlanError, Resource};
use crate::state::{Ids, PoolState, World};

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Delete orphans (resources of tenants whose files are gone).
    pub prune: bool,
    /// `--tenant`: only the named tenants' resources were read; compare only those.
    pub scoped: bool,
    /// Every tenant id the folder declares (to tell orphans from unexpected resources).
    pub tenants: BTreeSet<String>,
    /// Allow deleting pools that still have users (destroy --force-delete-users).
    pub force_delete_users: bool,
}

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

struct Ctx<'a> {
    opts: &'a PlanOptions,
    changes: Vec<Change>,
    orphans: Vec<Orphan>,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        action: Action,
        resource: Resource,
        address: String,
        name: &str,
        tenant: Option<&str>,
        fields: Vec<FieldChange>,
        op: Op,
    ) {
        self.changes.push(Change {
            action,
            resource,
            address,
            name: name.to_string(),
            tenant: tenant.map(str::to_string),
            fields,
            op,
        });
    }

    /// An extra resource: an orphan when it belongs to a tenant without a file (deleted only
    /// with --prune), else unexpected (deleted: apply makes managed places match the folder).
    fn extra(&mut self, resource: Resource, address: String, name: &str, tenant: Option<&str>, op: Op) {
        let orphan = tenant.is_some_and(|t| !self.opts.tenants.contains(t));
        if orphan && !self.opts.prune {
            self.orphans.push(Orphan { resource, address, name: name.to_string(), tenant: tenant.map(str::to_string) });
        } else {
            self.push(Action::Delete, resource, address, name, tenant, Vec::new(), op);
        }
    }
}

fn pool_tenant(p: &PoolState) -> Option<&str> {
    p.tenant.as_deref()
}

fn plan_pool(cx: &mut Ctx<'_>, d: &PoolState, o: Option<&PoolState>) -> Result<(), PlanError> {
    let addr = &d.address;
    let tenant = pool_tenant(d);
    // After CreatePool the pool has its settings and attributes, and nothing else.
    let created;
    let o = match o {
        None => {
            let mut fields = field_changes(None, Some(&d.settings));
            for (n, a) in &d.attributes {
                fields.extend(diff_values(
                    &format!("attributes.custom:{n}"),
                    &Value::Null,
                    &serde_json::to_value(a).unwrap(),
                ));
            }
            cx.push(
                Action::Create,
                Resource::UserPool,
                addr.clone(),
                &d.name,
                tenant,
                fields,
                Op::CreatePool { pool: d.clone() },
            );
            created = d.clone();
            &created
        }
        Some(o) => o,
    };
    if let (Some(want), Some(live)) = (&d.usernames, &o.usernames) {
        if want != live {
            let f = field_changes(Some(live), Some(want)).into_iter().next().expect("differs");
            return Err(PlanError::UsernamesChange {
                pool: d.name.clone(),
                field: match f.path.as_str() {
                    "case_sensitive" => "caseSensitive".into(),
                    "sign_in_with" => "signInWith".into(),
                    p => p.to_string(),
                },
                before: f.before.to_string(),
                after: f.after.to_string(),
            });
        }
    }
    if !cx.opts.scoped {
        let fields = field_changes(Some(&o.settings), Some(&d.settings));
        if !fields.is_empty() {
            cx.push(
                Action::Update,
                Resource::UserPool,
                addr.clone(),
                &d.name,
                tenant,
                fields,
                Op::UpdatePool { pool: addr.clone(), settings: d.settings.clone() },
            );
        }
        for (n, a) in &d.attributes {
            match o.attributes.get(n) {
                None => {
                    let fields = diff_values("", &Value::Null, &serde_json::to_value(a).unwrap());
                    cx.push(
                        Action::Create,
                        Resource::CustomAttribute,
                        format!("{addr}/attribute/{n}"),
                        &format!("custom:{n}"),
                        tenant,
                        fields,
                        Op::AddAttribute { pool: addr.clone(), name: n.clone(), attribute: a.clone() },
                    );
                }
                Some(live) if live != a => {
                    let f = field_changes(Some(live), Some(a)).into_iter().next().expect("differs");
                    return Err(PlanError::AttributeChange {
                        pool: d.name.clone(),
                        name: n.clone(),
                        field: f.path,
                        before: f.before.to_string(),
                        after: f.after.to_string(),
                    });
                }
                Some(_) => {}
            }
        }
        if let Some(n) = o.attributes.keys().find(|n| !d.attributes.contains_key(*n)) {
            return Err(PlanError::AttributeRemoved { pool: d.name.clone(), name: n.clone() });
        }
    }
    Ok(())
}

/// Plans the changes that make `observed` match `desired` (without kind-model items).
pub fn plan(desired: &World, observed: &World, ids: &Ids, opts: &PlanOptions) -> Result<Plan, PlanError> {
    plan_with(desired, observed, ids, opts, &[])
}

/// [`plan`], with the kind model's kinds (`kinds`: their rules) planning `World::items`.
pub fn plan_with(
    desired: &World,
    observed: &World,
    ids: &Ids,
    opts: &PlanOptions,
    kinds: &[&dyn super::ItemRules],
) -> Result<Plan, PlanError> {
    let mut cx = Ctx { opts, changes: Vec::new(), orphans: Vec::new() };
    let kept = |parent: &str| desired.pools.contains_key(parent) || desired.items.contains_key(parent);
    let parent_name = |parent: &str| {
        let (pool, item) = (desired.pools.get(parent), desired.items.get(parent));
        pool.map(|p| &p.name).or(item.map(|i| &i.name)).cloned().unwrap_or_default()
    };
    super::items::plan_items(
        desired,
        observed,
        ids,
        opts,
        kinds,
        &kept,
        &parent_name,
        &mut cx.changes,
        &mut cx.orphans,
    )?;
    for (addr, d) in &desired.pools {
        plan_pool(&mut cx, d, observed.pools.get(addr))?;
    }
    if !opts.scoped {
        for (addr, o) in observed.pools.iter().filter(|(a, _)| !desired.pools.contains_key(*a)) {
            let op = Op::DeletePool { pool: addr.clone(), force_delete_users: opts.force_delete_users };
            let deleted = match pool_tenant(o) {
                Some(t) => opts.prune || opts.tenants.contains(t),
                None => opts.prune,
            };
            if deleted && o.settings.deletion_protection {
                // Deletion protection is the user's guard: turned off only here, inside an
                // explicit destroy or --prune of this pool, as a change of its own.
                let settings = crate::state::PoolSettings { deletion_protection: false, ..o.settings.clone() };
                cx.push(
                    Action::Update,
                    Resource::UserPool,
                    addr.clone(),
                    &o.name,
                    pool_tenant(o),
                    field_changes(Some(&o.settings), Some(&settings)),
                    Op::UpdatePool { pool: addr.clone(), settings },
                );
            }
            match pool_tenant(o) {
                Some(t) => cx.extra(Resource::UserPool, addr.clone(), &o.name, Some(t), op),
                // The shared pool with no pooled tenant left: an orphan of the platform.
                None if !opts.prune => cx.orphans.push(Orphan {
                    resource: Resource::UserPool,
                    address: addr.clone(),
                    name: o.name.clone(),
                    tenant: None,
                }),
                None => cx.push(Action::Delete, Resource::UserPool, addr.clone(), &o.name, None, Vec::new(), op),
            }
        }
    }
    if !opts.scoped {}
    let mut changes = cx.changes;
    changes.sort_by(|a, b| {
        let pa = a.op.phase();
        let pb = b.op.phase();
        (pa, &a.address).cmp(&(pb, &b.address))
    });
    super::check_no_pool_replace(&changes)?;
    let mut orphans = cx.orphans;
    orphans.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Plan { changes, orphans })
}
