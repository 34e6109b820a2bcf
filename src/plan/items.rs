//! Planning the kind model's kinds (`crate::kinds`): desired and observed [`Item`]s, compared
//! by address with each kind's [`ItemRules`], into the plan's changes ([`plan_with`]). Pure,
//! like the rest of `plan`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::diff::diff_values;
use super::quotas::AccountFigures;
use super::{Action, Change, Deps, FieldChange, Op, Orphan, Plan, PlanError, Resource};
use crate::state::refs::resolve_value;
use crate::state::{Ids, Item, World};

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

/// What the plan needs to know of a kind: how a desired and a live instance compare, which
/// fields AWS cannot change in place, whether an undeclared live instance is tenantctl's.
pub trait ItemRules: Sync {
    /// The kind's name (`Item::kind`, the `resource` of its changes).
    fn resource(&self) -> Resource;

    /// The fields that differ (`before` live, `after` desired). Default: every field of the
    /// state, desired references resolved with `ids` (an id not known yet shows as
    /// [`crate::state::UNKNOWN`], and differs). An error stops the plan.
    fn compare(&self, address: &str, desired: &Item, live: &Item, ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        let _ = address;
        Ok(diff_values("", &live.state, &resolve_value(&desired.state, ids).0))
    }

    /// What a create or update of `desired` (`live`: the instance it updates or replaces)
    /// provides and needs beyond the generic edges of [`Op::deps`], e.g. a role's name, which
    /// role ARNs name. Default: nothing more.
    fn order(&self, desired: &Item, live: Option<&Item>, deps: &mut Deps) {
        let _ = (desired, live, deps);
    }

    /// What the delete of `live` provides and what must go before it, beyond the generic edges
    /// of [`Op::deps`] (e.g. the pool's clients before a resource server). Default: nothing
    /// more.
    fn delete_order(&self, live: &Item, deps: &mut Deps) {
        let _ = (live, deps);
    }

    /// Fields AWS cannot update in place: a change to one deletes and creates the resource
    /// (`replace`).
    fn replace_on(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether a live instance the folder does not declare is deleted (true), or left alone
    /// (false: the kind is managed only where the folder declares it). Either way it is
    /// deleted with the resource it lives in.
    fn owns_undeclared(&self) -> bool {
        true
    }

    /// Whether a `--tenant` plan deletes undeclared instances too (per [`owns_undeclared`]):
    /// the kind's `--tenant` observation reads only what the named tenants' declared
    /// resources hold (a role's policies), so what it finds undeclared is theirs. Default: a
    /// `--tenant` plan deletes nothing undeclared.
    ///
    /// [`owns_undeclared`]: ItemRules::owns_undeclared
    fn owns_undeclared_in_scope(&self) -> bool {
        false
    }

    /// Whether an instance goes with the resource it lives in without a change of its own
    /// (the parent's delete removes it, as deleting a role removes its policies): no delete,
    /// no orphan when its parent goes. Default: it is deleted before its parent.
    fn goes_with_parent(&self) -> bool {
        false
    }

    /// Whether an undeclared instance that belongs to no tenant is an orphan of the platform
    /// (kept unless `--prune`), like a tenant's without a file. Default: it is deleted.
    fn platform_orphans(&self) -> bool {
        false
    }

    /// Whether this undeclared instance that belongs to no tenant is an orphan of the platform.
    /// Default: [`ItemRules::platform_orphans`], for every instance of the kind.
    fn platform_orphan(&self, live: &Item) -> bool {
        let _ = live;
        self.platform_orphans()
    }

    /// Problems that stop the plan before anything is compared (a file the kind needs is
    /// missing, a limit the desired state would cross). Default: none.
    fn check(&self, desired: &World, observed: &World, ids: &Ids) -> Result<(), PlanError> {
        let _ = (desired, observed, ids);
        Ok(())
    }

    /// The fields a create shows. Default: every field of the state, references resolved
    /// with `ids`.
    fn create_fields(&self, desired: &Item, ids: &Ids) -> Vec<FieldChange> {
        diff_values("", &Value::Null, &resolve_value(&desired.state, ids).0)
    }

    /// The desired instances a declared one stands for, given what was observed (pure): None
    /// keeps it as it is; a list replaces it (empty: it is not planned item by item, e.g. a
    /// resource only read, or one its kind plans in [`ItemRules::finish`]).
    fn expand(&self, address: &str, desired: &Item, observed: &World) -> Option<Vec<(String, Item)>> {
        let _ = (address, desired, observed);
        None
    }

    /// Plan-level rule, after every item is planned: `changes` holds the items' changes so
    /// far, `wanted` the desired items after [`ItemRules::expand`]. For a kind whose change
    /// follows other kinds' changes (a stage deployment after authorizer and method changes);
    /// `kinds`: every kind's rules, to ask their hooks.
    fn finish(
        &self,
        desired: &World,
        wanted: &BTreeMap<String, Item>,
        observed: &World,
        opts: &PlanOptions,
        kinds: &[&dyn ItemRules],
        changes: &mut Vec<Change>,
    ) -> Result<(), PlanError> {
        let _ = (desired, wanted, observed, opts, kinds, changes);
        Ok(())
    }

    /// Whether a `--tenant` plan updates an existing instance (it still creates a missing one
    /// and checks [`ItemRules::check_change`]), given its live instance. Default: yes.
    fn updated_in_scope(&self, live: &Item) -> bool {
        let _ = live;
        true
    }

    /// Whether `--tenant` (scoped) plans compare it (false: only whole-folder plans do, and a
    /// scoped observation does not read it).
    fn scoped(&self) -> bool {
        true
    }

    /// Whether `--tenant` plans compare this instance. Default: [`ItemRules::scoped`], for
    /// every instance of the kind.
    fn scoped_item(&self, item: &Item) -> bool {
        let _ = item;
        self.scoped()
    }

    /// The count quotas of this kind the plan would cross (checked before the first write),
    /// given the account's figures. Default: none.
    fn check_quotas(&self, plan: &Plan, desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
        let _ = (plan, desired, figures);
        Ok(())
    }

    /// Whether API Gateway serves a change of this kind only once the stage is deployed again
    /// (the authorizer, a method's authorization, the API's key source). Default: no.
    fn served_after_deployment(&self) -> bool {
        false
    }

    /// Whether a change of this kind deploys a stage (what serves the changes above).
    fn deploys(&self) -> bool {
        false
    }

    /// Refuses a change AWS cannot make (checked before [`ItemRules::compare`]); `parent` is
    /// the physical name of the resource it lives in (its own when it lives in nothing).
    fn check_change(&self, desired: &Item, live: &Item, parent: &str) -> Result<(), PlanError> {
        let _ = (desired, live, parent);
        Ok(())
    }
}

fn change(action: Action, address: &str, item: &Item, resource: Resource, fields: Vec<FieldChange>, op: Op) -> Change {
    Change {
        action,
        resource,
        address: address.to_string(),
        name: item.name.clone(),
        tenant: item.tenant.clone(),
        fields,
        op,
    }
}

/// Changes and orphans for the kinds' items. `parents_kept`: whether a parent address stays
/// (an undeclared item whose parent goes is deleted with it); `parent_name`: its physical
/// name.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan_items(
    desired: &World,
    observed: &World,
    ids: &Ids,
    opts: &PlanOptions,
    kinds: &[&dyn ItemRules],
    parent_kept: &dyn Fn(&str) -> bool,
    parent_name: &dyn Fn(&str) -> String,
    changes: &mut Vec<Change>,
    orphans: &mut Vec<Orphan>,
) -> Result<(), PlanError> {
    let rules = |kind: &str| kinds.iter().copied().find(|k| k.resource().as_str() == kind);
    for k in kinds {
        k.check(desired, observed, ids)?;
    }
    let mut wanted: BTreeMap<String, Item> = BTreeMap::new();
    for (addr, d) in &desired.items {
        match rules(&d.kind).and_then(|k| k.expand(addr, d, observed)) {
            Some(items) => wanted.extend(items),
            None => {
                wanted.insert(addr.clone(), d.clone());
            }
        }
    }
    for (addr, d) in &wanted {
        let Some(k) = rules(&d.kind) else { continue };
        if opts.scoped && !k.scoped_item(d) {
            continue;
        }
        let resource = k.resource();
        match observed.items.get(addr) {
            None => {
                let fields = k.create_fields(d, ids);
                let op = Op::Item { address: addr.clone(), desired: Some(d.clone()), live: None, replace: false };
                changes.push(change(Action::Create, addr, d, resource, fields, op));
            }
            Some(o) => {
                let parent = match d.parent.as_deref() {
                    Some(p) => parent_name(p),
                    None => d.name.clone(),
                };
                k.check_change(d, o, &parent)?;
                if opts.scoped && !k.updated_in_scope(o) {
                    continue;
                }
                let fields = k.compare(addr, d, o, ids)?;
                if fields.is_empty() {
                    continue;
                }
                let replace = fields
                    .iter()
                    .any(|f| k.replace_on().iter().any(|r| f.path == *r || f.path.starts_with(&format!("{r}."))));
                let op = Op::Item { address: addr.clone(), desired: Some(d.clone()), live: Some(o.clone()), replace };
                let action = if replace { Action::Replace } else { Action::Update };
                changes.push(change(action, addr, d, resource, fields, op));
            }
        }
    }
    for (addr, o) in observed.items.iter().filter(|(a, _)| !desired.items.contains_key(*a) && !wanted.contains_key(*a))
    {
        let Some(k) = rules(&o.kind) else { continue };
        let parent_goes = o.parent.as_deref().is_some_and(|p| !parent_kept(p));
        if parent_goes && k.goes_with_parent() {
            continue;
        }
        if (opts.scoped && !k.owns_undeclared_in_scope()) || !(k.owns_undeclared() || parent_goes) {
            continue;
        }
        let resource = k.resource();
        let orphan = match o.tenant.as_deref() {
            Some(t) => !opts.tenants.contains(t),
            None => k.platform_orphan(o),
        };
        if orphan && !opts.prune {
            orphans.push(Orphan { resource, address: addr.clone(), name: o.name.clone(), tenant: o.tenant.clone() });
            continue;
        }
        let op = Op::Item { address: addr.clone(), desired: None, live: Some(o.clone()), replace: false };
        changes.push(change(Action::Delete, addr, o, resource, Vec::new(), op));
    }
    for k in kinds {
        k.finish(desired, &wanted, observed, opts, kinds, changes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{plan_with, Plan};
    use serde_json::json;

    /// A kind replaced when `name` changes, updated in place otherwise; `owned`: undeclared
    /// live instances are deleted.
    struct Fake {
        owned: bool,
    }

    impl ItemRules for Fake {
        fn resource(&self) -> Resource {
            Resource::new("fake")
        }
        fn replace_on(&self) -> &'static [&'static str] {
            &["name"]
        }
        fn owns_undeclared(&self) -> bool {
            self.owned
        }
    }

    fn item(tenant: &str, name: &str, size: i64) -> Item {
        Item {
            kind: "fake".into(),
            name: name.into(),
            tenant: Some(tenant.into()),
            parent: Some(format!("tenant/{tenant}/pool")),
            state: json!({"name": name, "size": size}),
            after: Vec::new(),
        }
    }

    fn world(items: &[(&str, Item)]) -> World {
        World { items: items.iter().map(|(a, i)| (a.to_string(), i.clone())).collect() }
    }

    fn run(d: &World, o: &World, owned: bool, prune: bool) -> Plan {
        let opts = PlanOptions { prune, tenants: ["acme".to_string()].into(), ..PlanOptions::default() };
        plan_with(d, o, &Ids::default(), &opts, &[&Fake { owned }]).unwrap()
    }

    /// The fake kind's changes.
    fn actions(p: &Plan) -> Vec<(Action, &str)> {
        p.changes
            .iter()
            .filter(|c| c.resource == Resource::new("fake"))
            .map(|c| (c.action, c.address.as_str()))
            .collect()
    }

    #[test]
    fn create_update_replace_and_converged() {
        let a = "tenant/acme/pool/fake";
        let d = world(&[(a, item("acme", "x", 1))]);
        assert_eq!(actions(&run(&d, &World::default(), true, false)), [(Action::Create, a)]);
        assert!(run(&d, &d, true, false).is_empty());
        let p = run(&d, &world(&[(a, item("acme", "x", 2))]), true, false);
        assert_eq!(actions(&p), [(Action::Update, a)]);
        assert_eq!(p.changes[0].fields, vec![FieldChange { path: "size".into(), before: json!(2), after: json!(1) }]);
        let p = run(&d, &world(&[(a, item("acme", "old", 1))]), true, false);
        assert_eq!(actions(&p), [(Action::Replace, a)]);
        assert_eq!(p.changes[0].resource, Resource::new("fake"));
        let Op::Item { replace, live, desired, .. } = &p.changes[0].op;
        assert!(*replace);
        assert_eq!(live.as_ref().unwrap().name, "old");
        assert_eq!(desired.as_ref().unwrap().name, "x");
    }

    #[test]
    fn undeclared_instances_follow_the_kind_and_their_parent() {
        let a = "tenant/acme/pool/fake";
        let mut o = world(&[(a, item("acme", "x", 1))]);
        // Not declared, parent kept (a pool in the desired world): deleted only when owned.
        let mut d = World::default();
        let pool = crate::state::PoolState {
            address: "tenant/acme/pool".into(),
            name: "saas-acme".into(),
            tenant: Some("acme".into()),
            settings: Default::default(),
            attributes: Default::default(),
            usernames: None,
        };
        d.insert_pool(pool.clone());
        o.insert_pool(pool);
        assert_eq!(actions(&run(&d, &o, true, false)), [(Action::Delete, a)]);
        assert!(run(&d, &o, false, false).is_empty());
        // Its pool goes: deleted with it, even when the kind leaves undeclared ones alone.
        assert_eq!(actions(&run(&World::default(), &o, false, false)), [(Action::Delete, a)]);
        // A tenant without a file: an orphan, deleted only with --prune.
        let gone = world(&[("tenant/umbrella/pool/fake", item("umbrella", "u", 1))]);
        let p = run(&World::default(), &gone, true, false);
        assert!(p.changes.is_empty());
        assert_eq!(p.orphans.len(), 1);
        assert_eq!(p.orphans[0].resource, Resource::new("fake"));
        assert_eq!(
            actions(&run(&World::default(), &gone, true, true)),
            [(Action::Delete, "tenant/umbrella/pool/fake")]
        );
    }

    #[test]
    fn saved_plans_name_kinds_by_their_name() {
        let r: Resource = serde_json::from_value(json!("pool_domain")).unwrap();
        assert_eq!(r, Resource::new("pool_domain"));
        assert_eq!(serde_json::to_value(r).unwrap(), json!("pool_domain"));
        let g: Resource = serde_json::from_value(json!("group")).unwrap();
        assert_eq!(g, Resource::new("group"));
    }
}
