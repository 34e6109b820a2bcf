//! Tiers (contract §1.6) without AWS: validation of `tiers`, `apiUsage` and `tier`, the
//! isolation a tier gives, the desired usage plans, keys and memberships, the authorizer's
//! environment and permission, and the plan through the kinds' rules.
use serde_json::json;

use crate::kinds::test_support::folder_edited;
use crate::kinds::{api_key, test_support, usage_plan, usage_plan_key, usage_plan_stage};
use crate::plan::{plan_with, Action, PlanOptions};
use crate::spec::model::Isolation;
use crate::spec::{Folder, SpecErrors};
use crate::state::wiring::{method_address, FUNCTION_ADDRESS, REST_API_ADDRESS};
use crate::state::{Ids, World};

const TIERS: &str = "tiers:\n  basic: {isolation: pooled, throttle: {rateLimit: 10, burstLimit: 20}, quota: {limit: 100000, period: MONTH}}\n  premium: {isolation: silo, throttle: {rateLimit: 100, burstLimit: 200}}\napiUsage: {restApi: acme-saas-api, stage: prod}\n";

/// The example folder with `platform_extra` appended to the platform and these tenant files.
fn folder_with(platform_extra: &str, tenants: &[(&str, &str)]) -> (tempfile::TempDir, Result<Folder, SpecErrors>) {
    folder_edited(&|p| format!("{p}{platform_extra}"), tenants)
}

fn problems(r: &Result<Folder, SpecErrors>) -> String {
    match r {
        Ok(_) => String::new(),
        Err(e) => e.0.iter().map(|d| format!("{}: {}", d.location(), d.message)).collect::<Vec<_>>().join("\n"),
    }
}

#[test]
fn a_tier_gives_its_isolation_and_a_contradiction_names_file_and_place() {
    let (_t, f) = folder_with(TIERS, &[("acme", "tier: basic\n"), ("initech", "tier: premium\n")]);
    let f = f.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.tenant("acme").unwrap().value.isolation, Isolation::Pooled);
    assert_eq!(f.tenant("initech").unwrap().value.isolation, Isolation::Silo);
    // An explicit isolation that agrees is fine; one that contradicts is an error at the field.
    let (_t, f) = folder_with(
        TIERS,
        &[("acme", "isolation: pooled\ntier: basic\n"), ("initech", "isolation: pooled\ntier: premium\n")],
    );
    let p = problems(&f);
    assert_eq!(p.lines().count(), 1, "{p}");
    assert!(p.starts_with("tenants/initech.yaml:5:"), "{p}");
    assert!(p.contains("isolation `pooled` contradicts tier `premium`, whose isolation is `silo`"), "{p}");
}

#[test]
fn tier_rules_refuse_what_aws_or_the_contract_would() {
    // A tier removed while a tenant uses it; a misspelt tier gets a suggestion.
    let (_t, f) = folder_with(TIERS, &[("acme", "tier: gold\n"), ("globex", "tier: basicc\n")]);
    let p = problems(&f);
    assert!(p.contains("tenants/acme.yaml:5:7: tier `gold` is not declared by the platform"), "{p}");
    assert!(p.contains("tenants/globex.yaml:5:7: tier `basicc` is not declared"), "{p}");
    let hint = f.as_ref().err().unwrap().0.iter().find(|d| d.message.contains("basicc")).unwrap().hint.clone();
    assert!(hint.unwrap().contains("did you mean `basic`?"));
    // With apiUsage every tenant needs a tier.
    let (_t, f) = folder_with(TIERS, &[("acme", "")]);
    assert!(problems(&f).contains("tenant `acme` has no `tier`"), "{}", problems(&f));
    // Bad names, limits, offsets; apiUsage on another REST API.
    let bad = "tiers:\n  Gold: {throttle: {rateLimit: -1, burstLimit: -2}, quota: {limit: 0, period: WEEK, offset: 9}}\napiUsage: {restApi: other-api, stage: prod}\n";
    let (_t, f) = folder_with(bad, &[("acme", "tier: Gold\n")]);
    let p = problems(&f);
    for needle in [
        "tier name `Gold` must match",
        "rateLimit must be a number >= 0",
        "burstLimit must be >= 0",
        "quota limit must be at least 1",
        "quota offset for period WEEK must be 0..6",
        "apiUsage.restApi `other-api` is not the authorizer's REST API `acme-saas-api`",
    ] {
        assert!(p.contains(needle), "no `{needle}` in\n{p}");
    }
    assert!(p.lines().all(|l| l.starts_with("tenants/platform.yaml:")), "{p}");
    // A period the schema does not know is a parse error with a place.
    let (_t, f) = folder_with("tiers:\n  basic: {quota: {limit: 5, period: YEAR}}\n", &[]);
    assert!(problems(&f).contains("YEAR"), "{}", problems(&f));
}

#[test]
fn too_many_tiers_for_the_usage_plan_quota() {
    let mut extra = String::from("tiers:\n");
    for i in 0..=crate::kinds::usage_plan::MAX_USAGE_PLANS {
        extra.push_str(&format!("  t{i}: {{}}\n"));
    }
    let (_t, f) = folder_with(&extra, &[]);
    assert!(problems(&f).contains("at most 300 usage plans"), "{}", problems(&f));
}

/// The desired world of a folder, with the kinds' items and the authorizer wiring.
fn desired_world(f: &Folder) -> World {
    test_support::desired_world(f, Some("http://127.0.0.1:5000"))
}

#[test]
fn desired_plans_keys_memberships_and_the_authorizers_view() {
    let (_t, f) = folder_with(TIERS, &[("acme", "tier: basic\n"), ("initech", "tier: premium\n")]);
    let f = f.unwrap();
    let w = desired_world(&f);
    let plan = &w.items[&usage_plan::address("basic")];
    assert_eq!(plan.name, "acmesaas-basic");
    assert_eq!(plan.state["throttle"], json!({"rate_limit": 10.0, "burst_limit": 20}));
    assert_eq!(plan.state["quota"], json!({"limit": 100000, "period": "MONTH", "offset": 0}));
    assert_eq!(w.items[&usage_plan::address("premium")].state["quota"], json!(null));
    let key = &w.items[&api_key::address("acme")];
    assert_eq!((key.name.as_str(), key.tenant.as_deref()), ("acmesaas-acme", Some("acme")));
    assert_eq!(key.state["tags"]["tenant_id"], "acme");
    assert_eq!(key.state["tags"]["tenantctl:managed"], "true");
    let m = &w.items[&usage_plan_key::address("initech")];
    assert_eq!(m.parent.as_deref(), Some("platform/usage_plan/premium"));
    assert!(m.depends_on().contains(&api_key::address("acme").replace("acme", "initech")));
    let stage = &w.items[&usage_plan_stage::address(&usage_plan::address("basic"), "prod")];
    assert!(stage.depends_on().contains(&REST_API_ADDRESS.to_string()));
    // The guarded method requires a key; apiKeySource is AUTHORIZER.
    assert_eq!(w.items[&method_address("GET /orders")].state["api_key_required"], json!(true));
    assert_eq!(w.items["platform/rest_api/api_key_source"].state["api_key_source"], "AUTHORIZER");
    // The function learns the plans by id (references), never a key value; in emulator mode
    // where API Gateway is.
    let state = &w.items[FUNCTION_ADDRESS].state;
    let mut ids = Ids::default();
    ids.set(usage_plan::address("basic"), "p1");
    ids.set(usage_plan::address("premium"), "p2");
    let (resolved, _) = crate::state::refs::resolve_value(state, &ids);
    // Contract §1.7: the plans ride in the package's configuration.
    assert_eq!(resolved["config"]["usagePlans"], json!(["p1", "p2"]));
    assert_eq!(resolved["environment"]["TENANTCTL_APIGW_ENDPOINT"], "http://127.0.0.1:5000");
    // Its role may read those plans' keys, nothing else of API Gateway.
    let policy = &w.items["platform/authorizer/role/policy/usage-plan-keys"].state["document"];
    let (policy, _) = crate::state::refs::resolve_value(policy, &ids);
    let resources: Vec<&str> =
        policy["Statement"].as_array().unwrap().iter().map(|s| s["Resource"].as_str().unwrap()).collect();
    assert_eq!(
        resources,
        ["arn:aws:apigateway:us-east-1::/usageplans/p1/keys", "arn:aws:apigateway:us-east-1::/usageplans/p2/keys"]
    );
    assert!(policy["Statement"].as_array().unwrap().iter().all(|s| s["Action"] == "apigateway:GET"));
    // Without apiUsage: nothing of it.
    let (_t, f) = folder_with("tiers:\n  basic: {isolation: silo}\n", &[("acme", "tier: basic\n")]);
    let f = f.unwrap();
    assert_eq!(f.tenant("acme").unwrap().value.isolation, Isolation::Silo);
    let w = desired_world(&f);
    assert!(!w.items.values().any(|i| i.kind.starts_with("usage_plan") || i.kind.starts_with("api_key")));
    // The setting is still written, empty (issue 23, item 6: the authorizer defaults nothing).
    assert_eq!(w.items[FUNCTION_ADDRESS].state["config"]["usagePlans"], json!([]));
    assert_eq!(w.items[&method_address("GET /orders")].state.get("api_key_required"), None);
}

#[test]
fn a_raised_rate_limit_is_an_update_and_a_new_tenant_a_key_and_membership() {
    let (_t, f) = folder_with(TIERS, &[("acme", "tier: basic\n")]);
    let f = f.unwrap();
    let d = desired_world(&f);
    let only = |kinds: &[&str]| World {
        items: d
            .items
            .iter()
            .filter(|(_, i)| kinds.contains(&i.kind.as_str()))
            .map(|(a, i)| (a.clone(), i.clone()))
            .collect(),
    };
    let d = only(&["usage_plan", "api_key", "usage_plan_key"]);
    let mut o = d.clone();
    o.items.remove(&api_key::address("acme"));
    o.items.remove(&usage_plan_key::address("acme"));
    o.items.get_mut(&usage_plan::address("basic")).unwrap().state["throttle"]["rate_limit"] = json!(500.0);
    let rules = crate::kinds::rules();
    let p = plan_with(&d, &o, &Ids::default(), &PlanOptions::default(), &rules).unwrap();
    let got: Vec<(Action, &str)> = p.changes.iter().map(|c| (c.action, c.address.as_str())).collect();
    assert_eq!(
        got,
        [
            (Action::Update, "platform/usage_plan/basic"),
            (Action::Create, "tenant/acme/api_key"),
            (Action::Create, "tenant/acme/usage_plan_key"),
        ]
    );
    assert_eq!(p.changes[0].fields[0].path, "throttle.rate_limit");
    // The key's create shows no value (tenantctl never has one).
    assert!(p.changes[1].fields.iter().all(|f| !f.path.contains("value")));
}

#[test]
fn a_tier_change_between_isolations_is_a_plan_error_that_says_why() {
    let (_t, before) = folder_with(TIERS, &[("acme", "tier: basic\n")]);
    let (_t2, after) = folder_with(TIERS, &[("acme", "tier: premium\n")]);
    let live = desired_world(&before.unwrap());
    let want = desired_world(&after.unwrap());
    let e = crate::kinds::group::check_isolation_moves(&want, &live).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("from pooled to silo"), "{text}");
    assert!(text.contains("users cannot move between user pools"), "{text}");
}
