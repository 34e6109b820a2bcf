//! Shared tenancy (contract §1.7) without AWS: validation of `tenancy`, the desired shared
//! roles and groups, the authorizer's configuration, the switch of `tenancy.roles` as one
//! ordered plan, the refused switch of `tenancy.groups` in a pool with users, and the count
//! quotas.
use std::path::Path;

use serde_json::json;

use crate::check::load_valid;
use crate::kinds::test_support::{desired_world, folder_edited};
use crate::plan::quotas::AccountFigures;
use crate::plan::{plan_with, Action, PlanError, PlanOptions};
use crate::spec::{Folder, SpecErrors};
use crate::state::wiring::FUNCTION_ADDRESS;
use crate::state::{Ids, World};

const SHARED: &str = "tenancy: {roles: shared, groups: shared}\n";

/// A folder like the example, with `tokenUse: id`, `platform_extra` appended to the platform,
/// policies that reach tenant data only through the session tag, and the tenants acme and
/// globex (pooled) and initech (silo).
fn folder(platform_extra: &str) -> (tempfile::TempDir, Result<Folder, SpecErrors>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("tenants")).unwrap();
    std::fs::create_dir_all(tmp.path().join("policies")).unwrap();
    for p in ["tenant-data-rw.json", "tenant-data-ro.json"] {
        let text = std::fs::read_to_string(root.join("policies").join(p)).unwrap();
        std::fs::write(
            tmp.path().join("policies").join(p),
            text.replace("{{tenant.vars.bucket}}", "{{platform.name}}-data"),
        )
        .unwrap();
    }
    let platform = std::fs::read_to_string(root.join("tenants/platform.yaml")).unwrap();
    let platform = platform.replace("tokenUse: access", "tokenUse: id");
    std::fs::write(tmp.path().join("tenants/platform.yaml"), format!("{platform}{platform_extra}")).unwrap();
    for (id, extra) in [("acme", ""), ("globex", ""), ("initech", "isolation: silo\n")] {
        std::fs::write(
            tmp.path().join(format!("tenants/{id}.yaml")),
            format!("apiVersion: tenantctl/v1\nkind: Tenant\nid: {id}\n{extra}"),
        )
        .unwrap();
    }
    let f = load_valid(tmp.path());
    (tmp, f)
}

fn problems(r: &Result<Folder, SpecErrors>) -> String {
    match r {
        Ok(_) => String::new(),
        Err(e) => e.0.iter().map(|d| format!("{}: {}", d.location(), d.message)).collect::<Vec<_>>().join("\n"),
    }
}

fn of_kind<'w>(w: &'w World, kind: &str) -> Vec<(&'w String, &'w crate::state::Item)> {
    w.items.iter().filter(|(_, i)| i.kind == kind).collect()
}

#[test]
fn tenancy_is_validated_with_file_line_and_column() {
    // The example's policies use {{tenant.vars.bucket}}: no shared role may.
    let (_t, f) = folder_edited(&|p| format!("{p}tenancy: {{roles: shared}}\n"), &[("acme", "")]);
    let p = problems(&f);
    assert!(p.contains("policies/tenant-data-rw.json:"), "{p}");
    assert!(
        p.contains(
            "uses {{tenant.vars.bucket}}, but with `tenancy.roles: shared` its role `admin` is no single tenant's"
        ),
        "{p}"
    );
    // Unknown values, unknown keys: errors at the value.
    let (_t, f) = folder("tenancy: {roles: pooled, groups: shared}\n");
    let p = problems(&f);
    assert!(p.contains("tenants/platform.yaml:59:18:") && p.contains("pooled"), "{p}");
    let (_t, f) = folder("tenancy: {roles: shared, users: x}\n");
    let p = problems(&f);
    assert!(p.contains("tenants/platform.yaml:59:") && p.contains("unknown field `users`"), "{p}");
    // A role named `authorizer` with shared roles.
    let (_t, f) = folder(SHARED);
    assert_eq!(problems(&f), "");
    let (_t, f) = folder_with_authorizer_role();
    let p = problems(&f);
    assert!(p.contains("a platform role may not be named `authorizer`"), "{p}");
    assert!(p.contains("tenants/platform.yaml:"), "{p}");
    // tokenUse access with shared groups needs a preTokenGeneration trigger.
    let (_t, f) = folder_edited(&|p| format!("{p}tenancy: {{groups: shared}}\n"), &[("acme", "")]);
    let p = problems(&f);
    let line = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tenants/platform.yaml"))
        .unwrap()
        .lines()
        .count()
        + 1;
    assert!(p.contains(&format!("tenants/platform.yaml:{line}:")), "{p}");
    assert!(p.contains("needs a `userPool.triggers.preTokenGeneration`"), "{p}");
    let (_t, f) = folder_edited(
        &|p| {
            format!(
                "{}tenancy: {{groups: shared}}\n",
                p.replace("  appClients:\n", "  triggers: {preTokenGeneration: pretoken}\n  appClients:\n")
            )
        },
        &[("acme", "")],
    );
    assert_eq!(problems(&f), "");
}

fn folder_with_authorizer_role() -> (tempfile::TempDir, Result<Folder, SpecErrors>) {
    let (t, _) = folder("");
    let p = t.path().join("tenants/platform.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text.replace("roles:\n  admin:", "roles:\n  authorizer:\n    policies: [tenant-data-ro]\n  admin:");
    std::fs::write(&p, format!("{text}{SHARED}")).unwrap();
    let f = load_valid(t.path());
    (t, f)
}

#[test]
fn shared_roles_and_groups_are_one_per_role() {
    let (_t, f) = folder(SHARED);
    let f = f.unwrap_or_else(|e| panic!("{e}"));
    let w = desired_world(&f, None);
    let roles: Vec<(&str, &str, Option<&str>)> =
        of_kind(&w, super::KIND).iter().map(|(a, i)| (a.as_str(), i.name.as_str(), i.tenant.as_deref())).collect();
    assert_eq!(
        roles,
        [
            ("platform/authorizer/role", "acmesaas-authorizer", None),
            ("platform/role/admin", "acmesaas-admin", None),
            ("platform/role/member", "acmesaas-member", None),
        ]
    );
    let admin = &w.items["platform/role/admin"];
    assert_eq!(admin.state["path"], "/tenantctl/acmesaas/");
    assert_eq!(admin.state["tags"]["tenantctl:tenancy"], "shared");
    assert_eq!(admin.state["tags"].get("tenant_id"), None);
    assert_eq!(
        admin.state["trust_policy"]["Statement"][0]["Condition"],
        json!({
            "Null": {"aws:RequestTag/tenant_id": "false"},
            "StringLike": {"aws:RequestTag/tenant_id": "?*"},
            "ForAllValues:StringEquals": {"aws:TagKeys": "tenant_id"}
        })
    );
    assert_eq!(
        admin.state["trust_policy"]["Statement"][0]["Principal"],
        json!({"AWS": "arn:aws:iam::123456789012:role/acme-saas-backend"})
    );
    // Its policies, rendered without a tenant.
    let pol = &w.items["platform/role/admin/policy/tenant-data-rw"];
    assert_eq!(pol.tenant, None);
    assert!(pol.state["document"].to_string().contains("arn:aws:s3:::acmesaas-data/${aws:PrincipalTag/tenant_id}/*"));
    // Groups: the role names, in the shared pool and in initech's, pointing at the shared roles.
    let mut groups: Vec<(&str, Option<&str>)> =
        of_kind(&w, crate::kinds::group::KIND).iter().map(|(a, i)| (a.as_str(), i.tenant.as_deref())).collect();
    groups.sort();
    assert_eq!(
        groups,
        [
            ("platform/pool/group/admin", None),
            ("platform/pool/group/member", None),
            ("tenant/initech/pool/group/admin", Some("initech")),
            ("tenant/initech/pool/group/member", Some("initech")),
        ]
    );
    let g = &w.items["platform/pool/group/member"];
    assert_eq!(g.state["role_arn"], "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-member");
    assert_eq!(g.state["precedence"], 10);
    assert_eq!(g.after, ["platform/role/member"]);
    // Shared groups with per-tenant roles name no role (a group of every tenant names no
    // tenant's role).
    let (_t, f) = folder("tenancy: {groups: shared}\n");
    let w = desired_world(&f.unwrap(), None);
    assert_eq!(w.items["platform/pool/group/member"].state["role_arn"], json!(null));
    assert!(w.items.contains_key("tenant/acme/role/member"));
    // The authorizer's configuration says so.
    let (_t, f) = folder(SHARED);
    let w = desired_world(&f.unwrap(), None);
    let config = &w.items[FUNCTION_ADDRESS].state["config"]["tenancy"];
    assert_eq!(config.to_string(), json!([{"$text": ["roles=shared"]}, {"$text": ["groups=shared"]}]).to_string());
}

#[test]
fn a_tenant_session_plans_no_shared_role_and_only_its_silo_pools_groups() {
    let (_t, f) = folder(SHARED);
    let mut w = desired_world(&f.unwrap(), None);
    crate::kinds::scope(&mut w, &["initech".to_string()]);
    let mut kept: Vec<&str> =
        w.items.iter().filter(|(_, i)| i.kind != "custom_attribute").map(|(a, _)| a.as_str()).collect();
    kept.sort();
    assert!(!kept.iter().any(|a| a.starts_with("platform/role")), "{kept:?}");
    assert!(kept.contains(&"tenant/initech/pool/group/member"), "{kept:?}");
    let mut w = desired_world(&folder(SHARED).1.unwrap(), None);
    crate::kinds::scope(&mut w, &["acme".to_string()]);
    assert!(!w.items.keys().any(|a| a.contains("/group/") || a.starts_with("platform/role")), "{:?}", w.items.keys());
}

/// The kinds a switch of `tenancy` changes.
fn roles_groups_and_function(w: &World) -> World {
    let kinds = ["iam_role", "role_policy", "group", "user_pool", "custom_attribute", "lambda_function"];
    World {
        items: w
            .items
            .iter()
            .filter(|(_, i)| kinds.contains(&i.kind.as_str()))
            .map(|(a, i)| (a.clone(), i.clone()))
            .collect(),
    }
}

/// The plan from the example's per-tenant roles, groups and function (observed) to the folder
/// with `tenancy` (desired); also those two worlds.
fn switch(tenancy: &str) -> (crate::plan::Plan, World, World) {
    let (_t, before) = folder("");
    let (_t2, after) = folder(tenancy);
    let observed = roles_groups_and_function(&desired_world(&before.unwrap(), None));
    let desired = roles_groups_and_function(&desired_world(&after.unwrap(), None));
    let p = plan_with(&desired, &observed, &Ids::default(), &switch_options(), &crate::kinds::rules()).unwrap();
    (p, desired, observed)
}

/// The plan options of [`switch`]: the example's three tenants declared.
fn switch_options() -> PlanOptions {
    PlanOptions { tenants: ["acme", "globex", "initech"].map(String::from).into(), ..PlanOptions::default() }
}

#[test]
fn switching_to_shared_roles_is_one_ordered_plan() {
    let (p, desired, observed) = switch("tenancy: {roles: shared}\n");
    let rules = crate::kinds::rules();
    assert!(p.orphans.is_empty(), "{:?}", p.orphans);
    let at = |action: Action, address: &str| {
        p.changes.iter().position(|c| c.action == action && c.address == address).unwrap_or_else(|| {
            panic!(
                "no {action:?} {address}: {:?}",
                p.changes.iter().map(|c| (c.action, &c.address)).collect::<Vec<_>>()
            )
        })
    };
    let function = at(Action::Update, FUNCTION_ADDRESS);
    let created = [at(Action::Create, "platform/role/admin"), at(Action::Create, "platform/role/member")];
    let group = at(Action::Update, "platform/pool/group/acme-member");
    let deleted: Vec<usize> = ["acme", "globex", "initech"]
        .iter()
        .flat_map(|t| ["admin", "member"].map(|r| at(Action::Delete, &format!("tenant/{t}/role/{r}"))))
        .collect();
    assert_eq!(deleted.len(), 6);
    // The waits the engine honours: function and groups after the new roles, old roles after
    // the function and the groups that named them.
    let waits = crate::plan::order::waits(&p.changes, &rules);
    for c in created {
        assert!(waits[function].contains(&c), "the function update waits for the new role {}", p.changes[c].address);
        assert!(waits[group].contains(&c) || c != created[1]);
    }
    for d in &deleted {
        assert!(waits[*d].contains(&function), "{} waits for the function update", p.changes[*d].address);
    }
    assert!(waits[at(Action::Delete, "tenant/acme/role/member")].contains(&group));
    // And the plan lists them so.
    assert!(created.iter().all(|c| *c < function) && deleted.iter().all(|d| *d > function && *d > group));
    // Back to per-tenant: the shared roles go (they are no orphans), after the function.
    let p = plan_with(&observed, &desired, &Ids::default(), &switch_options(), &rules).unwrap();
    assert!(p.orphans.is_empty(), "{:?}", p.orphans);
    let function = p.changes.iter().position(|c| c.address == FUNCTION_ADDRESS).unwrap();
    let gone = p.changes.iter().position(|c| c.action == Action::Delete && c.address == "platform/role/admin").unwrap();
    assert!(crate::plan::order::waits(&p.changes, &rules)[gone].contains(&function));
}

#[test]
fn switching_groups_is_refused_while_a_pool_holds_users() {
    let (p, desired, _) = switch(SHARED);
    let rules = crate::kinds::rules();
    // Empty pools: fine (the groups are deleted and created).
    let empty = AccountFigures::default();
    crate::plan::check_quotas(&p, &desired, &empty, &rules).unwrap();
    // Users in initech's pool: refused, naming the pool and why.
    let mut figures = AccountFigures::default();
    figures.pool_users.insert("tenant/initech/pool".into(), 3);
    let e = crate::plan::check_quotas(&p, &desired, &figures, &rules).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, PlanError::Refused { .. }), "{text}");
    assert!(text.contains("acmesaas-initech") && text.contains("about 3 users"), "{text}");
    assert!(text.contains("tenantctl never moves users"), "{text}");
    assert!(e.hint().contains("tenancy.groups: per-tenant"), "{}", e.hint());
}

#[test]
fn count_quotas_count_shared_roles_once() {
    // 10,000 pooled tenants with 2 roles: 2 shared roles and the authorizer's, not 20,000.
    let (t, f) = folder(SHARED);
    drop(f);
    for i in 0..10_000 {
        std::fs::write(
            t.path().join(format!("tenants/t{i}.yaml")),
            format!("apiVersion: tenantctl/v1\nkind: Tenant\nid: t{i}\n"),
        )
        .unwrap();
    }
    let f = load_valid(t.path()).unwrap_or_else(|e| panic!("{e}"));
    let w = desired_world(&f, None);
    assert_eq!(of_kind(&w, super::KIND).len(), 3);
    assert_eq!(of_kind(&w, crate::kinds::group::KIND).len(), 4);
    let rules = crate::kinds::rules();
    let p = plan_with(&w, &World::default(), &Ids::default(), &PlanOptions::default(), &rules).unwrap();
    let figures = AccountFigures { roles: Some((990, 1000)), ..AccountFigures::default() };
    crate::plan::check_quotas(&p, &w, &figures, &rules).unwrap();
}
