//! insta snapshots of whole CLI runs: the text and JSON plan, drift in every format, a
//! validation error, render. The per-test platform name is redacted to `PLATFORM`, the
//! emulator's address to `ENDPOINT`, the REST API's id to `RESTAPI`.

mod common;

use common::*;

/// The per-test platform name and the emulator's address vary from run to run.
fn redact(s: &str, p: &str) -> String {
    let s = s.replace(p, "PLATFORM");
    match std::env::var("TENANTCTL_TEST_ENDPOINT") {
        Ok(ep) if !ep.is_empty() => s.replace(&ep, "ENDPOINT"),
        _ => s,
    }
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_drift_outputs() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("z");
    let api = rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("globex", "pooled", Some("member"))]);
    let d = dir.path();

    let text = run_ok(d, &ep, &["plan"], 0);
    insta::assert_snapshot!("plan_text_initial", redact(&stdout(&text), &p));
    let mut json = json(&run_ok(d, &ep, &["plan", "--format", "json"], 0));
    json.as_object_mut().unwrap().remove("metadata");
    // Ids that exist show resolved (the REST API's), the others as known after apply.
    let shown = redact(&serde_json::to_string_pretty(&json).unwrap(), &p).replace(&api, "RESTAPI");
    insta::assert_snapshot!("plan_json_initial", shown);

    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let pool = pool_id(&sdk, &p).await;
    // Out of band: a group deleted, an inline policy added, a group's role changed.
    sdk.cognito.delete_group().user_pool_id(&pool).group_name("globex-member").send().await.unwrap();
    sdk.iam
        .put_role_policy()
        .role_name(format!("{p}-acme-admin"))
        .policy_name("extra")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    sdk.cognito
        .update_group()
        .user_pool_id(&pool)
        .group_name("acme-member")
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-acme-admin"))
        .precedence(10)
        .description("Tenant acme member (tenantctl)")
        .send()
        .await
        .unwrap();

    for (name, fmt) in [("drift_text", "text"), ("drift_json", "json"), ("drift_markdown", "markdown")] {
        let o = run_ok(d, &ep, &["drift", "--format", fmt], 2);
        insta::assert_snapshot!(name, redact(&stdout(&o), &p));
    }
    let o = run_ok(d, &ep, &["plan"], 0);
    insta::assert_snapshot!("plan_text_repair", redact(&stdout(&o), &p));
}

#[test]
fn validation_error_and_render_outputs() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(["--no-color", "validate", "-C"])
        .arg(root.join("tests/fixtures/invalid/tenant-attribute-writable"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("validate_error", String::from_utf8_lossy(&o.stderr));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(["render", "--tenant", "globex", "--account-id", "123456789012", "-C"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(o.status.success());
    insta::assert_snapshot!("render_globex", String::from_utf8_lossy(&o.stdout));
}

// ---- The Markdown plan, from state literals (no emulator) ------------------------------

mod markdown_plan {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::json;
    use tenantctl::kinds::app_client::{self, ClientState};
    use tenantctl::kinds::group::{self, GroupState};
    use tenantctl::kinds::lambda_function::{self, FunctionState, FUNCTION_ADDRESS};
    use tenantctl::plan::{plan_with, PlanOptions};
    use tenantctl::state::*;

    fn settings(mfa: &str) -> PoolSettings {
        PoolSettings {
            deletion_protection: true,
            mfa: mfa.into(),
            allow_admin_create_user_only: true,
            password_policy: PasswordState {
                min_length: 12,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: true,
                temporary_password_validity_days: 7,
            },
            tags: BTreeMap::from([("tenantctl:managed".into(), "true".into())]),
            feature_plan: None,
            threat_protection: None,
            triggers: None,
        }
    }

    fn group(role_arn: &str) -> GroupState {
        GroupState { description: None, precedence: Some(10), role_arn: Some(role_arn.into()) }
    }

    fn arn(name: &str) -> String {
        format!("arn:aws:iam::123456789012:role/tenantctl/saas/{name}")
    }

    /// The shared pool, and its groups and clients (items of the kind model).
    fn pool(mfa: &str, groups: &[(&str, &str)], clients: &[(&str, bool)]) -> (PoolState, BTreeMap<String, Item>) {
        let addr = "platform/pool";
        let mut items = BTreeMap::new();
        for (g, r) in groups {
            items.insert(group::address(addr, g), group::item(addr, None, g, &group(&arn(r))));
        }
        for (c, secret) in clients {
            let state = ClientState {
                generate_secret: *secret,
                write_attributes: BTreeSet::from(["email".into()]),
                ..ClientState::default()
            };
            items.insert(wiring::client_address(addr, c), app_client::item(addr, None, c, &state));
        }
        let pool = PoolState {
            usernames: None,
            address: addr.into(),
            name: "saas".into(),
            tenant: None,
            settings: settings(mfa),
            attributes: BTreeMap::new(),
        };
        (pool, items)
    }

    fn role(tenant: &str, r: &str, bucket: &str, extra_policy: bool) -> RoleState {
        let mut policies = BTreeMap::from([(
            "data".to_string(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/${{aws:PrincipalTag/tenant_id}}/*")}]}),
        )]);
        if extra_policy {
            policies.insert("legacy".into(), json!({"Statement": []}));
        }
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
            policies,
            attached_policies: BTreeSet::new(),
        }
    }

    fn function(secret: &str) -> FunctionState {
        FunctionState {
            name: "saas-authorizer".into(),
            runtime: "provided.al2023".into(),
            handler: "bootstrap".into(),
            role: arn("saas-authorizer"),
            memory_mb: 128,
            timeout_seconds: 5,
            architecture: "x86_64".into(),
            code_sha256: "abc=".into(),
            environment: BTreeMap::from([("CLIENT_SECRET".into(), secret.into())]),
            config: BTreeMap::new(),
            tags: BTreeMap::new(),
            code: None,
            code_file: None,
        }
    }

    /// The roles and their policies, as items.
    fn roles(list: Vec<RoleState>) -> BTreeMap<String, Item> {
        list.iter().flat_map(tenantctl::kinds::iam_role::items).collect()
    }

    /// The items with the authorizer function's.
    fn with_function(
        mut items: BTreeMap<String, tenantctl::state::Item>,
        secret: &str,
    ) -> BTreeMap<String, tenantctl::state::Item> {
        items.insert(FUNCTION_ADDRESS.into(), lambda_function::item(&function(secret)));
        items
    }

    /// acme is new (creates), globex changes (updates), initech has extra resources
    /// (deletes); the platform-wide pool and function change too.
    #[test]
    fn markdown_plan_with_creates_updates_deletes_across_three_tenants() {
        let (desired_pool, desired_items) = pool(
            "OPTIONAL",
            &[
                ("acme-admin", "saas-acme-admin"),
                ("globex-member", "saas-globex-member"),
                ("initech-member", "saas-initech-member"),
            ],
            &[("web", false)],
        );
        let desired = World {
            items: with_function(
                desired_items
                    .into_iter()
                    .chain(World::of_pools([desired_pool]).items)
                    .chain(roles(vec![
                        role("acme", "admin", "acme-data", false),
                        role("globex", "member", "globex-data-v2", false),
                        role("initech", "member", "initech-data", false),
                    ]))
                    .collect(),
                "new-secret-value",
            ),
        };
        let (observed_pool, observed_items) = pool(
            "OFF",
            &[
                ("globex-member", "saas-globex-admin"),
                ("initech-member", "saas-initech-member"),
                ("initech-admin", "saas-initech-admin"),
            ],
            &[("web", false)],
        );
        let observed = World {
            items: with_function(
                observed_items
                    .into_iter()
                    .chain(World::of_pools([observed_pool]).items)
                    .chain(roles(vec![
                        role("globex", "member", "globex-data", false),
                        role("initech", "member", "initech-data", true),
                        // A tenant whose file is gone: an orphan, kept without --prune.
                        role("umbrella", "member", "umbrella-data", false),
                    ]))
                    .collect(),
                "old-secret-value",
            ),
        };
        let opts = PlanOptions {
            tenants: ["acme", "globex", "initech"].iter().map(|s| s.to_string()).collect(),
            ..PlanOptions::default()
        };
        let p = plan_with(&desired, &observed, &Ids::default(), &opts, &tenantctl::kinds::rules()).unwrap();
        let actions: BTreeSet<_> = p.changes.iter().map(|c| format!("{:?}", c.action)).collect();
        assert_eq!(actions.len(), 3, "creates, updates and deletes: {:#?}", p.changes);
        let tenants: BTreeSet<_> = p.changes.iter().filter_map(|c| c.tenant.clone()).collect();
        assert_eq!(tenants.len(), 3, "{tenants:?}");
        assert_eq!(p.orphans.len(), 1, "{:#?}", p.orphans);
        let md = tenantctl::cli::show::plan_markdown("saas", &p, false);
        assert!(!md.contains("secret-value"), "sensitive values are hidden:\n{md}");
        insta::assert_snapshot!("plan_markdown", md);
        // The JSON plan (and the saved plan) carry the contract's format_version.
        let doc = tenantctl::cli::show::plan_json("saas", &p, serde_json::Value::Null);
        assert_eq!(doc["format_version"], 1);
        assert_eq!(doc["summary"]["create"].as_u64().unwrap() as usize, p.summary()["create"]);
    }
}

// ---- A plan with a replace, in every output format (no emulator) -----------------------

mod replace_plan {
    use serde_json::json;
    use tenantctl::cli::show;
    use tenantctl::kinds::group::{self, GroupState};
    use tenantctl::plan::drift::from_plan;
    use tenantctl::plan::{Action, Change, FieldChange, Op, Plan, Resource};

    /// A kind-model op on group `name` of the shared pool: create (`live` None), delete
    /// (`desired` None).
    fn group(name: &str, desired: Option<&str>, live: Option<&str>) -> Op {
        let item = |description: &str| {
            let state = GroupState {
                description: Some(description.into()),
                precedence: Some(1),
                role_arn: Some(format!("arn:aws:iam::123456789012:role/tenantctl/saas/saas-{name}")),
            };
            group::item("platform/pool", None, name, &state)
        };
        Op::Item {
            address: group::address("platform/pool", name),
            desired: desired.map(item),
            live: live.map(item),
            replace: false,
        }
    }

    /// acme's admin group is created; globex's member group is replaced (deleted and created
    /// again), with the field that forces it.
    fn plan() -> Plan {
        let create = Change {
            action: Action::Create,
            resource: Resource::new("group"),
            address: "platform/pool/group/acme-admin".into(),
            name: "acme-admin".into(),
            tenant: Some("acme".into()),
            fields: vec![FieldChange { path: "precedence".into(), before: json!(null), after: json!(1) }],
            op: group("acme-admin", Some("Tenant acme admin"), None),
        };
        let Op::Item { address, desired, .. } = group("globex-member", Some("Tenant globex member"), None);
        let Op::Item { live, .. } = group("globex-member", None, Some("Tenant globex members"));
        let replace_op = Op::Item { address, desired, live, replace: true };
        let replace = Change {
            action: Action::Replace,
            resource: Resource::new("group"),
            address: "platform/pool/group/globex-member".into(),
            name: "globex-member".into(),
            tenant: Some("globex".into()),
            fields: vec![FieldChange {
                path: "description".into(),
                before: json!("Tenant globex members"),
                after: json!("Tenant globex member"),
            }],
            op: replace_op,
        };
        Plan { changes: vec![create, replace], orphans: vec![] }
    }

    #[test]
    fn a_replace_shows_in_text_json_markdown_and_drift() {
        let p = plan();
        let text = show::plan_text("saas", &p, false);
        assert!(text.contains("  -/+ group platform/pool/group/globex-member (globex-member)"), "{text}");
        assert!(text.contains("Plan: 1 to create, 0 to update, 1 to replace, 0 to delete."), "{text}");
        insta::assert_snapshot!("replace_plan_text", text);
        let doc = show::plan_json("saas", &p, serde_json::Value::Null);
        assert_eq!(doc["changes"][1]["action"], "replace");
        assert!(doc["changes"][1].get("op").is_none(), "{doc}");
        assert_eq!(doc["summary"], json!({"create": 1, "delete": 0, "replace": 1, "update": 0}));
        insta::assert_snapshot!("replace_plan_json", serde_json::to_string_pretty(&doc).unwrap());
        let md = show::plan_markdown("saas", &p, false);
        assert!(md.contains("| -/+ replace | group | `platform/pool/group/globex-member` |"), "{md}");
        insta::assert_snapshot!("replace_plan_markdown", md);
        let items = from_plan(&p);
        let drift = [
            show::drift_text("saas", &items),
            serde_json::to_string_pretty(&show::drift_json("saas", &items)).unwrap(),
            show::drift_markdown("saas", &items),
        ];
        assert!(drift[0].contains("changed group platform/pool/group/globex-member"), "{}", drift[0]);
        assert!(drift[1].contains("\"kind\": \"changed\""), "{}", drift[1]);
        insta::assert_snapshot!("replace_drift", drift.join("\n----\n"));
    }

    #[test]
    fn a_plan_without_replace_prints_the_summary_line_as_before() {
        let mut p = plan();
        p.changes.truncate(1);
        let text = show::plan_text("saas", &p, false);
        assert!(text.ends_with("Plan: 1 to create, 0 to update, 0 to delete.\n"), "{text}");
    }
}
