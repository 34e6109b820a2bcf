//! Unit tests of the pure planner: no AWS, no emulator.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::drift::{from_plan, Kind};
use super::*;
use crate::kinds::app_client::{self, ClientState};
use crate::kinds::group::{self, GroupState};
use crate::state::*;

fn attr(t: &str, mutable: bool) -> AttributeState {
    AttributeState {
        data_type: t.into(),
        mutable,
        min_length: Some("0".into()),
        max_length: Some("2048".into()),
        min_value: None,
        max_value: None,
    }
}

fn pool() -> PoolState {
    PoolState {
        usernames: None,
        address: "platform/pool".into(),
        name: "saas".into(),
        tenant: None,
        settings: PoolSettings {
            deletion_protection: true,
            mfa: "OFF".into(),
            allow_admin_create_user_only: true,
            password_policy: PasswordState::default(),
            tags: BTreeMap::from([("tenantctl:managed".into(), "true".into())]),
            feature_plan: None,
            threat_protection: None,
            triggers: None,
        },
        attributes: BTreeMap::from([
            ("tenant_id".into(), attr("String", false)),
            ("tier".into(), attr("String", true)),
        ]),
    }
}

/// `pool` with its groups and its client `web`, in `w`.
fn add_pool(w: &mut World, pool: PoolState, groups: &[&str]) {
    let (addr, tenant) = (pool.address.clone(), pool.tenant.clone());
    for g in groups {
        let state = GroupState { description: None, precedence: Some(1), role_arn: Some(format!("arn:{g}")) };
        w.items.insert(group::address(&addr, g), group::item(&addr, tenant.as_deref(), g, &state));
    }
    let web = ClientState { write_attributes: BTreeSet::from(["email".into()]), ..ClientState::default() };
    w.items.insert(wiring::client_address(&addr, "web"), app_client::item(&addr, tenant.as_deref(), "web", &web));
    w.insert_pool(pool);
}

/// Changes the client at `address` of `w`.
fn edit_client(w: &mut World, address: &str, f: impl FnOnce(&mut ClientState)) {
    let item = w.items.get_mut(address).unwrap();
    let mut c: ClientState = serde_json::from_value(item.state.clone()).unwrap();
    f(&mut c);
    item.state = serde_json::to_value(c).unwrap();
}

/// The planner with every kind of the kind model.
fn plan(d: &World, o: &World, ids: &Ids, opts: &PlanOptions) -> Result<Plan, PlanError> {
    plan_with(d, o, ids, opts, &crate::kinds::rules())
}

fn role(tenant: &str, r: &str) -> RoleState {
    RoleState {
        address: format!("tenant/{tenant}/role/{r}"),
        name: format!("saas-{tenant}-{r}"),
        path: "/tenantctl/saas/".into(),
        tenant: Some(tenant.into()),
        description: None,
        max_session_duration: 3600,
        permissions_boundary: None,
        trust_policy: json!({"Statement": [{"Condition": {"StringEquals": {"aws:RequestTag/tenant_id": tenant}}}]}),
        tags: BTreeMap::from([("tenant_id".into(), tenant.into())]),
        policies: BTreeMap::from([("data".into(), json!({"Statement": []}))]),
        attached_policies: BTreeSet::new(),
    }
}

/// A role and its policies, as items.
fn role_items(r: &RoleState) -> Vec<(String, Item)> {
    crate::kinds::iam_role::items(r)
}

fn world(groups: &[&str], roles: &[(&str, &str)]) -> World {
    let mut w = World { items: roles.iter().flat_map(|(t, r)| role_items(&role(t, r))).collect() };
    add_pool(&mut w, pool(), groups);
    w
}

fn opts(tenants: &[&str]) -> PlanOptions {
    PlanOptions { tenants: tenants.iter().map(|t| t.to_string()).collect(), ..PlanOptions::default() }
}

fn run(d: &World, o: &World, opts: &PlanOptions) -> Plan {
    plan_with(d, o, &Ids::default(), opts, &crate::kinds::rules()).unwrap()
}

fn kinds(p: &Plan) -> Vec<(Action, Resource, String)> {
    p.changes.iter().map(|c| (c.action, c.resource, c.address.clone())).collect()
}

#[test]
fn unchanged_world_plans_nothing() {
    let w = world(&["acme-admin"], &[("acme", "admin")]);
    let p = run(&w, &w, &opts(&["acme"]));
    assert!(p.is_empty() && p.orphans.is_empty(), "{p:?}");
}

#[test]
fn empty_account_creates_roles_before_pool_before_groups() {
    let d = world(&["acme-admin"], &[("acme", "admin")]);
    let p = run(&d, &World::default(), &opts(&["acme"]));
    let k = kinds(&p);
    let pos = |r: Resource| k.iter().position(|(_, x, _)| *x == r).unwrap();
    assert!(pos(Resource::new("iam_role")) < pos(Resource::new("role_policy")));
    assert!(pos(Resource::new("role_policy")) < pos(Resource::new("user_pool")));
    assert!(pos(Resource::new("user_pool")) < pos(Resource::new("app_client")));
    assert!(pos(Resource::new("app_client")) < pos(Resource::new("group")));
    assert!(k.iter().all(|(a, _, _)| *a == Action::Create));
    // The pool is created with its attributes: no separate attribute changes.
    assert!(!k.iter().any(|(_, r, _)| *r == Resource::new("custom_attribute")));
    let role = p.changes.iter().find(|c| c.resource == Resource::new("iam_role")).unwrap();
    assert!(role.fields.iter().any(|f| f.path == "tags.tenant_id" && f.before.is_null() && f.after == "acme"));
}

#[test]
fn attributes_are_add_only() {
    let o = world(&[], &[]);
    let mut d = o.clone();
    d.edit_pool("platform/pool", |p| {
        p.attributes.insert("plan".into(), attr("String", true));
    });
    let p = run(&d, &o, &opts(&[]));
    assert_eq!(
        kinds(&p),
        vec![(Action::Create, Resource::new("custom_attribute"), "platform/pool/attribute/plan".into())]
    );

    let mut d = o.clone();
    d.edit_pool("platform/pool", |p| {
        p.attributes.insert("tier".into(), attr("Number", true));
    });
    let e = plan(&d, &o, &Ids::default(), &opts(&[])).unwrap_err();
    assert!(matches!(&e, PlanError::AttributeChange { name, .. } if name == "tier"), "{e}");
    assert!(e.to_string().contains("custom:tier"));

    let mut d = o.clone();
    d.edit_pool("platform/pool", |p| {
        p.attributes.get_mut("tier").unwrap().mutable = false;
    });
    assert!(matches!(plan(&d, &o, &Ids::default(), &opts(&[])), Err(PlanError::AttributeChange { .. })));

    let mut d = o.clone();
    d.edit_pool("platform/pool", |p| {
        p.attributes.remove("tier");
    });
    assert!(
        matches!(plan(&d, &o, &Ids::default(), &opts(&[])), Err(PlanError::AttributeRemoved { name, .. }) if name == "tier")
    );
}

#[test]
fn orphans_are_kept_unless_pruned_and_strays_are_deleted() {
    let d = world(&["acme-admin"], &[("acme", "admin")]);
    let o = world(&["acme-admin", "gone-admin", "acme-owner", "Hand Made"], &[("acme", "admin"), ("gone", "admin")]);
    let p = run(&d, &o, &opts(&["acme"]));
    let orphans: Vec<_> = p.orphans.iter().map(|o| o.address.as_str()).collect();
    assert_eq!(orphans, ["platform/pool/group/gone-admin", "tenant/gone/role/admin"]);
    assert_eq!(
        kinds(&p),
        vec![
            (Action::Delete, Resource::new("group"), "platform/pool/group/Hand Made".into()),
            (Action::Delete, Resource::new("group"), "platform/pool/group/acme-owner".into()),
        ]
    );
    let pruned = run(&d, &o, &PlanOptions { prune: true, ..opts(&["acme"]) });
    assert!(pruned.orphans.is_empty());
    assert_eq!(pruned.changes.len(), 4);
    // Deletions come last, roles after groups.
    assert_eq!(pruned.changes.last().unwrap().resource, Resource::new("iam_role"));
}

#[test]
fn role_drift_becomes_targeted_updates() {
    let d = world(&[], &[("acme", "admin")]);
    let mut o = d.clone();
    let mut r = role("acme", "admin");
    r.trust_policy = json!({"Statement": [{"Principal": {"AWS": "*"}}]});
    r.policies.insert("data".into(), json!({"Statement": [{"Resource": "*"}]}));
    r.policies.insert("extra".into(), json!({}));
    r.attached_policies.insert("arn:aws:iam::aws:policy/AdministratorAccess".into());
    r.tags.insert("stray".into(), "x".into());
    o.items.extend(role_items(&r));
    let p = run(&d, &o, &opts(&["acme"]));
    let upd = p.changes.iter().find(|c| c.resource == Resource::new("iam_role")).unwrap();
    match &upd.op {
        Op::Item { desired: Some(d), live: Some(l), .. } => {
            let crate::kinds::iam_role::RoleUpdate { trust, settings, boundary, tags_remove, tags_set } =
                crate::kinds::iam_role::RoleUpdate::of(d, l).unwrap();
            assert!(trust && !settings && !boundary);
            assert_eq!(tags_remove, BTreeSet::from(["stray".to_string()]));
            assert!(tags_set.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let k = kinds(&p);
    assert!(k.contains(&(Action::Update, Resource::new("role_policy"), "tenant/acme/role/admin/policy/data".into())));
    assert!(k.contains(&(Action::Delete, Resource::new("role_policy"), "tenant/acme/role/admin/policy/extra".into())));
    assert!(k.contains(&(
        Action::Delete,
        Resource::new("role_policy"),
        "tenant/acme/role/admin/attached/arn:aws:iam::aws:policy/AdministratorAccess".into()
    )));
}

#[test]
fn client_able_to_write_tenant_attribute_is_changed_drift() {
    let d = world(&[], &[]);
    let mut o = d.clone();
    edit_client(&mut o, "platform/pool/app_client/web", |c| {
        c.write_attributes.insert("custom:tenant_id".into());
    });
    o.items.insert(
        "platform/pool/app_client/rogue".into(),
        app_client::item("platform/pool", None, "rogue", &ClientState::default()),
    );
    let p = run(&d, &o, &opts(&[]));
    let items = from_plan(&p);
    assert_eq!(items.len(), 2);
    let web = items.iter().find(|i| i.address == "platform/pool/app_client/web").unwrap();
    assert_eq!(web.kind, Kind::Changed);
    assert_eq!(web.fields[0].path, "write_attributes");
    assert_eq!(web.fields[0].expected, json!(["email"]));
    assert_eq!(web.fields[0].actual, json!(["custom:tenant_id", "email"]));
    assert_eq!(items.iter().find(|i| i.address.ends_with("rogue")).unwrap().kind, Kind::Unexpected);
}

#[test]
fn scoped_plans_ignore_platform_settings_and_other_tenants() {
    let d = world(&["acme-admin"], &[("acme", "admin")]);
    let mut o = d.clone();
    o.edit_pool("platform/pool", |p| {
        p.settings.mfa = "ON".into();
    });
    let p = run(&d, &o, &PlanOptions { scoped: true, ..opts(&["acme"]) });
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn silo_pool_of_a_gone_tenant_is_an_orphan() {
    let d = world(&[], &[]);
    let mut o = d.clone();
    let mut silo = pool();
    silo.address = "tenant/old/pool".into();
    silo.name = "saas-old".into();
    silo.tenant = Some("old".into());
    add_pool(&mut o, silo, &["old-admin"]);
    let p = run(&d, &o, &opts(&[]));
    assert!(p.changes.is_empty());
    assert_eq!(p.orphans.len(), 1);
    let p = run(&d, &o, &PlanOptions { prune: true, ..opts(&[]) });
    // The pool is protected: turning protection off is its own change, before the deletion.
    assert_eq!(
        kinds(&p),
        vec![
            (Action::Update, Resource::new("user_pool"), "tenant/old/pool".into()),
            (Action::Delete, Resource::new("user_pool"), "tenant/old/pool".into())
        ]
    );
}

/// UpdateUserPoolClient has no GenerateSecret: flipping it can never be applied, so it is a
/// plan error naming the client, not a change that "succeeds" and shows again forever.
#[test]
fn generate_secret_flip_is_a_plan_error() {
    let o = world(&["acme-admin"], &[("acme", "admin")]);
    let mut d = o.clone();
    edit_client(&mut d, "platform/pool/app_client/web", |c| c.generate_secret = true);
    let e = plan(&d, &o, &Ids::default(), &opts(&["acme"])).unwrap_err();
    assert!(
        matches!(&e, PlanError::ClientSecretChange { client, before: false, after: true, .. } if client == "web"),
        "{e:?}"
    );
    assert!(e.to_string().contains("`web`") && e.hint().contains("new name"), "{e} / {}", e.hint());
}

/// User-name settings are fixed at creation: a declared value that differs from the live
/// pool is a plan error; an absent one never shows a diff.
#[test]
fn usernames_differing_from_the_live_pool_is_a_plan_error() {
    let mut o = world(&["acme-admin"], &[("acme", "admin")]);
    o.edit_pool("platform/pool", |p| {
        p.usernames =
            Some(UsernamesState { case_sensitive: true, sign_in_with: BTreeSet::new(), aliases: BTreeSet::new() });
    });
    let mut d = o.clone();
    d.edit_pool("platform/pool", |p| {
        p.usernames = None;
    });
    assert!(run(&d, &o, &opts(&["acme"])).is_empty());
    d.edit_pool("platform/pool", |p| {
        p.usernames = Some(UsernamesState::default());
    });
    let e = plan(&d, &o, &Ids::default(), &opts(&["acme"])).unwrap_err();
    assert!(matches!(&e, PlanError::UsernamesChange { field, .. } if field == "caseSensitive"), "{e:?}");
    assert!(e.to_string().contains("cannot be changed"), "{e}");
}

/// Deletion protection is turned off only inside an explicit prune/destroy of that pool, and
/// the plan shows it as its own change before the deletion.
#[test]
fn pruning_a_protected_pool_turns_protection_off_as_its_own_change() {
    let mut silo = pool();
    silo.address = "tenant/beta/pool".into();
    silo.name = "saas-beta".into();
    silo.tenant = Some("beta".into());
    let mut o = world(&["acme-admin"], &[("acme", "admin")]);
    add_pool(&mut o, silo, &["beta-admin"]);
    let d = world(&["acme-admin"], &[("acme", "admin")]);
    // Without --prune: an orphan, nothing changes.
    let p = run(&d, &o, &opts(&["acme"]));
    assert!(p.changes.is_empty() && p.orphans.iter().any(|x| x.address == "tenant/beta/pool"), "{p:?}");
    let p = run(&d, &o, &PlanOptions { prune: true, ..opts(&["acme"]) });
    let k = kinds(&p);
    let upd = k
        .iter()
        .position(|x| *x == (Action::Update, Resource::new("user_pool"), "tenant/beta/pool".to_string()))
        .expect("unprotect");
    let del = k
        .iter()
        .position(|x| *x == (Action::Delete, Resource::new("user_pool"), "tenant/beta/pool".to_string()))
        .expect("delete");
    assert!(upd < del, "{k:?}");
    let f = &p.changes[upd].fields;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].path, "deletion_protection");
    assert_eq!((f[0].before.clone(), f[0].after.clone()), (json!(true), json!(false)));
}

#[test]
fn every_change_carries_its_op_which_no_json_shows() {
    let d = world(&["acme-admin"], &[("acme", "admin")]);
    let p = run(&d, &World::default(), &opts(&["acme"]));
    assert!(!p.changes.is_empty());
    for c in &p.changes {
        // `op` is an `Op`, never absent: it carries the item it changes.
        assert!(c.op.item().is_some_and(|i| i.name == c.name), "{c:?}");
        let v = serde_json::to_value(c).unwrap();
        assert!(v.get("op").is_none(), "the op is not part of the contract's JSON: {v}");
    }
}

/// A replace of group `name` of the shared pool: one change whose op deletes the live group
/// and creates the desired one.
fn group_replace(name: &str) -> Change {
    let item = |d: &str| {
        group::item(
            "platform/pool",
            None,
            name,
            &GroupState { description: Some(d.to_string()), precedence: Some(1), role_arn: None },
        )
    };
    Change {
        action: Action::Replace,
        resource: Resource::new("group"),
        address: group::address("platform/pool", name),
        name: name.into(),
        tenant: Some("acme".into()),
        fields: vec![FieldChange { path: "description".into(), before: json!("old"), after: json!("new") }],
        op: Op::Item {
            address: group::address("platform/pool", name),
            desired: Some(item("new")),
            live: Some(item("old")),
            replace: true,
        },
    }
}

#[test]
fn a_replace_is_one_change_that_deletes_then_creates() {
    let c = group_replace("acme-admin");
    assert_eq!(c.action, Action::Replace);
    let p = Plan { changes: vec![c.clone()], orphans: vec![] };
    let s = p.summary();
    assert_eq!((s["create"], s["update"], s["delete"], s["replace"]), (0, 0, 0, 1));
    assert_eq!(serde_json::to_value(&c).unwrap()["action"], "replace");
    // Drift reads a replace as a resource that is present and differs.
    let items = from_plan(&p);
    assert_eq!(items[0].kind, Kind::Changed);
    assert_eq!((items[0].fields[0].expected.clone(), items[0].fields[0].actual.clone()), (json!("new"), json!("old")));
}

#[test]
fn the_summary_keeps_the_contract_keys_and_adds_replace() {
    let s = Plan::default().summary();
    assert_eq!(s.keys().copied().collect::<Vec<_>>(), ["create", "delete", "replace", "update"]);
}

/// The user pool's rules with a field AWS could not change in place: what the real planner
/// would make a replace.
struct ReplaceablePool;

impl ItemRules for ReplaceablePool {
    fn resource(&self) -> Resource {
        Resource::new("user_pool")
    }
    fn replace_on(&self) -> &'static [&'static str] {
        &["mfa"]
    }
}

/// However a pool's change comes to be a replace (`Op::Item { replace }`, through the real
/// planner), the plan refuses it.
#[test]
fn a_user_pool_is_never_replaced() {
    let d = World::of_pools([pool()]);
    let mut live = pool();
    live.settings.mfa = "ON".into();
    let o = World::of_pools([live]);
    let e = plan_with(&d, &o, &Ids::default(), &opts(&[]), &[&ReplaceablePool]).unwrap_err();
    assert_eq!(e, PlanError::PoolReplace { pool: "saas".into() });
    assert!(e.to_string().contains("never"), "{e}");
    assert!(e.hint().contains("users"), "{}", e.hint());
    // The real rules update it in place.
    let p = plan(&d, &o, &Ids::default(), &opts(&[])).unwrap();
    assert!(p.changes.iter().all(|c| c.action == Action::Update && !matches!(c.op, Op::Item { replace: true, .. })));
    // However a change was built, the plan's last check refuses a pool replace.
    let item = pool().item();
    let sneaked = Change {
        action: Action::Update,
        resource: Resource::new("group"),
        address: pool().address,
        name: pool().name,
        tenant: None,
        fields: vec![],
        op: Op::Item { address: pool().address, desired: Some(item.clone()), live: Some(item), replace: true },
    };
    assert!(check_no_pool_replace(&[sneaked]).is_err());
    assert!(check_no_pool_replace(&[group_replace("acme-admin")]).is_ok());
}

/// A `--tenant` plan reads the tenant's roles whole: an undeclared inline policy or an
/// attached managed policy of one of them is deleted, as in a full plan; roles are not.
#[test]
fn scoped_plans_remove_undeclared_policies_of_declared_roles() {
    let d = world(&[], &[("acme", "admin")]);
    let mut o = world(&[], &[("acme", "admin"), ("acme", "owner")]);
    let mut r = role("acme", "admin");
    r.policies.insert("extra".into(), json!({}));
    r.attached_policies.insert("arn:aws:iam::aws:policy/AdministratorAccess".into());
    o.items.extend(role_items(&r));
    let p = run(&d, &o, &PlanOptions { scoped: true, ..opts(&["acme"]) });
    assert_eq!(
        kinds(&p),
        vec![
            (
                Action::Delete,
                Resource::new("role_policy"),
                "tenant/acme/role/admin/attached/arn:aws:iam::aws:policy/AdministratorAccess".into()
            ),
            (Action::Delete, Resource::new("role_policy"), "tenant/acme/role/admin/policy/extra".into()),
        ]
    );
}

/// The authorizer's role belongs to no tenant: once undeclared it is an orphan of the
/// platform, deleted (with its policies, in one change) only with --prune.
#[test]
fn an_undeclared_platform_role_is_an_orphan_unless_pruned() {
    let d = world(&[], &[]);
    let mut o = d.clone();
    let mut r = role("acme", "admin");
    r.address = "platform/authorizer/role".into();
    r.name = "saas-authorizer".into();
    r.tenant = None;
    o.items.extend(role_items(&r));
    let p = run(&d, &o, &opts(&[]));
    assert!(p.changes.is_empty(), "{p:?}");
    assert_eq!(p.orphans.iter().map(|x| x.address.as_str()).collect::<Vec<_>>(), ["platform/authorizer/role"]);
    let p = run(&d, &o, &PlanOptions { prune: true, ..opts(&[]) });
    assert!(p.orphans.is_empty());
    assert_eq!(kinds(&p), vec![(Action::Delete, Resource::new("iam_role"), "platform/authorizer/role".into())]);
}
