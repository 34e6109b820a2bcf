//! The authorizer wiring end to end without AWS: the desired side rendered from the example
//! folder (the kinds' `desired`) against observed worlds, through the kinds' pure planning rules
//! (`kinds::{lambda_function, lambda_permission, authorizer, method_auth, stage_deployment}`).
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::kinds::authorizer::{self as authorizer_kind, AuthorizerConfig};
use crate::kinds::lambda_function::jwks_endpoint;
use crate::kinds::lambda_function::{self, Calls, FunctionState};
use crate::kinds::lambda_permission::{self, PermissionState};
use crate::kinds::method_auth::{self, MethodAuth};
use crate::kinds::stage_deployment::{self, StageState};
use crate::kinds::test_support::{env, example_folder as folder};
use crate::kinds::DesiredCtx;
use crate::plan::{plan_with, Action, Change, FieldChange, Op, PlanOptions, Resource};
use crate::spec::desired::RenderEnv;
use crate::spec::Folder;
use crate::state::refs::resolve_value;
use crate::state::wiring::*;
use crate::state::{Ids, Item, Text, World, UNKNOWN};

fn fc(path: impl Into<String>, before: Value, after: Value) -> FieldChange {
    FieldChange { path: path.into(), before, after }
}

/// The kinds of the authorizer wiring.
const WIRING: [&str; 6] = [
    crate::kinds::rest_api::KIND,
    authorizer_kind::KIND,
    lambda_function::KIND,
    lambda_permission::KIND,
    method_auth::KIND,
    stage_deployment::KIND,
];

/// The desired wiring (no pools, no roles) for a folder.
fn wiring(f: &Folder, env: &RenderEnv, sha: Option<String>, jwks: Option<&str>) -> World {
    let ctx = DesiredCtx { env: env.clone(), code_sha256: sha, jwks_endpoint: jwks.map(str::to_string) };
    let mut w = crate::kinds::desired(f, &ctx).unwrap();
    w.items.retain(|_, i| WIRING.contains(&i.kind.as_str()));
    w
}

fn setup() -> (World, Ids) {
    let f = folder();
    lambda_function::package::seed(&f.root.join("authorizer.zip"), "c2hh", lambda_function::package::test_code_zip());
    let pools = crate::kinds::desired(&f, &DesiredCtx::of(env())).unwrap();
    let d = wiring(&f, &env(), Some("c2hh".into()), Some("http://127.0.0.1:5000/"));
    let mut ids = Ids::default();
    for addr in pools.pools().keys() {
        ids.set(addr.clone(), format!("us-east-1_{}", addr.replace('/', "")));
    }
    for (addr, c) in pools.items.iter().filter(|(_, i)| i.kind == crate::kinds::app_client::KIND) {
        let pool = c.parent.as_deref().unwrap_or_default();
        ids.set(addr.clone(), format!("cid{}{}", pool.replace('/', ""), c.name));
    }
    ids.set(REST_API_ADDRESS, "api123");
    ids.set(AUTHORIZER_ADDRESS, "auth42");
    (d, ids)
}

fn function(w: &World) -> Option<FunctionState> {
    w.items.get(FUNCTION_ADDRESS).and_then(lambda_function::state)
}

fn permission(w: &World) -> Option<PermissionState> {
    w.items.get(PERMISSION_ADDRESS).and_then(lambda_permission::state)
}

fn authorizer(w: &World) -> Option<AuthorizerConfig> {
    w.items.get(AUTHORIZER_ADDRESS).and_then(authorizer_kind::state)
}

fn stage(w: &World) -> Option<StageState> {
    w.items.values().find(|i| i.kind == stage_deployment::KIND).and_then(stage_deployment::state)
}

fn method(w: &World, key: &str) -> Option<MethodAuth> {
    w.items.get(&method_address(key)).and_then(method_auth::state)
}

fn set_function(w: &mut World, edit: impl FnOnce(&mut FunctionState)) {
    let mut f = function(w).unwrap();
    edit(&mut f);
    w.items.insert(FUNCTION_ADDRESS.into(), lambda_function::item(&f));
}

fn set_permission(w: &mut World, edit: impl FnOnce(&mut PermissionState)) {
    let mut p = permission(w).unwrap();
    edit(&mut p);
    w.items.insert(PERMISSION_ADDRESS.into(), lambda_permission::item(&p));
}

fn set_authorizer(w: &mut World, edit: impl FnOnce(&mut AuthorizerConfig)) {
    let mut a = authorizer(w).unwrap();
    edit(&mut a);
    w.items.insert(AUTHORIZER_ADDRESS.into(), authorizer_kind::item(&a));
}

fn set_method(w: &mut World, key: &str, auth: MethodAuth) {
    w.items.insert(method_address(key), method_auth::item(key, &auth));
}

fn set_stage(w: &mut World, s: StageState) {
    w.items.retain(|_, i| i.kind != stage_deployment::KIND);
    w.items.insert(stage_address(&s.name), stage_deployment::item(&s));
}

fn unguarded() -> MethodAuth {
    MethodAuth { authorization_type: "NONE".into(), authorizer: None, authorizer_id: None, api_key_required: None }
}

/// The world the adapter would observe after a successful apply.
fn applied(d: &World, ids: &Ids) -> World {
    let mut w = d.clone();
    set_function(&mut w, |f| {
        // The package apply uploaded (none without the code zip).
        f.code_sha256 = lambda_function::desired_package_sha(f, ids).unwrap_or_default();
        f.environment = f.environment.iter().map(|(k, v)| (k.clone(), Text::lit(v.resolve(ids).unwrap()))).collect();
        f.config = f
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|t| Text::lit(t.resolve(ids).unwrap())).collect()))
            .collect();
        f.code = None;
        f.code_file = None;
    });
    set_permission(&mut w, |p| p.source_arn = p.source_arn.as_ref().map(|s| Text::lit(s.resolve(ids).unwrap())));
    set_authorizer(&mut w, |a| {
        a.provider_arns = a.provider_arns.iter().map(|t| Text::lit(t.resolve(ids).unwrap())).collect()
    });
    let methods: Vec<(String, Item)> =
        w.items.iter().filter(|(_, i)| i.kind == method_auth::KIND).map(|(a, i)| (a.clone(), i.clone())).collect();
    for (_, m) in methods {
        let auth = method_auth::state(&m).unwrap();
        set_method(&mut w, &m.name, MethodAuth { authorizer_id: None, ..auth });
    }
    if let Some(mut st) = stage(&w) {
        st.deployment_id = None;
        set_stage(&mut w, st);
    }
    w
}

fn changes(d: &World, o: &World, ids: &Ids) -> Vec<Change> {
    plan_with(d, o, ids, &PlanOptions::default(), &crate::kinds::rules()).expect("plan").changes
}

/// The kinds' checks that stop a plan before it compares anything.
fn check(d: &World, o: &World, ids: &Ids) -> Result<(), String> {
    for k in crate::kinds::rules() {
        k.check(d, o, ids).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A function change's desired item and what apply calls for it (references resolved).
fn function_op(c: &Change, ids: &Ids) -> (FunctionState, Calls) {
    match &c.op {
        Op::Item { desired: Some(d), live, .. } => {
            let resolved: FunctionState<String> = serde_json::from_value(resolve_value(&d.state, ids).0).unwrap();
            let live = live.as_ref().and_then(lambda_function::state);
            let desired = lambda_function::state(d).unwrap();
            let sha = lambda_function::desired_package_sha(&desired, ids);
            (desired, lambda_function::calls(&resolved, sha.as_deref(), live.as_ref()))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn references_resolve_with_the_known_ids() {
    let (_, ids) = setup();
    let t = Text::lit("a/").id(REST_API_ADDRESS).s("/authorizers/").id(AUTHORIZER_ADDRESS);
    assert_eq!(t.resolve(&ids).as_deref(), Some("a/api123/authorizers/auth42"));
    assert_eq!(Text::default().id("platform/pool").resolve(&ids).as_deref(), Some("us-east-1_platformpool"));
    assert_eq!(Text::default().id("tenant/nope/pool").resolve(&ids), None);
    assert_eq!(Text::lit("http://x/{pool_id}/jwks").resolve(&ids).as_deref(), Some("http://x/{pool_id}/jwks"));
    assert_eq!(Text::lit("open {{ only").resolve(&ids).as_deref(), Some("open {{ only"));
}

#[test]
fn desired_follows_the_contract() {
    let (d, ids) = setup();
    let f = &function(&d).unwrap();
    assert_eq!(f.code.as_deref(), Some("authorizer.zip"));
    assert_eq!(f.name, "acme-saas-authorizer");
    assert_eq!(f.handler, "bootstrap");
    assert_eq!(f.role, "arn:aws:iam::123456789012:role/tenantctl/acmesaas/acmesaas-authorizer");
    let e = |k: &str| f.environment[k].resolve(&ids).unwrap();
    let c = |k: &str| f.config[k].iter().map(|t| t.resolve(&ids).unwrap()).collect::<Vec<_>>().join(",");
    // Contract §1.7: the configuration rides in the package; the environment keeps only the
    // small fixed values.
    let vars: Vec<&str> = f.environment.keys().map(String::as_str).collect();
    assert_eq!(
        vars,
        [
            "TENANTCTL_ACCOUNT_ID",
            "TENANTCTL_JWKS_URL",
            "TENANTCTL_PLATFORM",
            "TENANTCTL_REGION",
            "TENANTCTL_TENANT_ATTRIBUTE",
            "TENANTCTL_TOKEN_USE"
        ]
    );
    // Each issuer with what it may speak for: the shared pool `*`, a silo pool its tenant.
    assert_eq!(
        c("issuers"),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_platformpool=*,https://cognito-idp.us-east-1.amazonaws.com/us-east-1_tenantinitechpool=initech"
    );
    // Issue 23 (items 2, 7): each client with the pool that may sign its tokens; the scoped
    // methods (none here).
    assert_eq!(
        c("clients"),
        "cidplatformpoolweb:us-east-1_platformpool,cidtenantinitechpoolweb:us-east-1_tenantinitechpool"
    );
    assert_eq!(c("usagePlans"), "");
    assert_eq!(c("methodScopes"), "");
    assert!(f.config.contains_key("identityProviders"));
    assert_eq!(c("roles"), "admin:1,member:10");
    // Every declared tenant: the authorizer denies any other.
    assert_eq!(c("tenants"), "acme,globex,initech");
    // The example platform presents access tokens (authorizer.tokenUse: access).
    assert_eq!(e("TENANTCTL_TOKEN_USE"), "access");
    assert_eq!(f.architecture, "x86_64");
    assert_eq!(authorizer(&d).unwrap().identity_validation_expression.as_deref(), Some(BEARER_JWT_EXPRESSION));
    assert_eq!(e("TENANTCTL_JWKS_URL"), "http://127.0.0.1:5000/{pool_id}/.well-known/jwks.json");
    assert_eq!(f.tags["tenantctl:managed"], "true");
    assert_eq!(
        authorizer(&d).unwrap().authorizer_uri.as_deref(),
        Some("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:acme-saas-authorizer/invocations")
    );
    assert_eq!(
        permission(&d).unwrap().source_arn.as_ref().unwrap().resolve(&ids).unwrap(),
        "arn:aws:execute-api:us-east-1:123456789012:api123/authorizers/auth42"
    );
    let m = method(&d, "GET /orders").unwrap();
    assert_eq!((m.authorization_type.as_str(), m.authorizer.as_deref()), ("CUSTOM", Some("tenant-authorizer")));
}

#[test]
fn create_from_nothing_orders_all_four() {
    let (d, _) = setup();
    let mut o = World::default();
    set_method(&mut o, "GET /orders", unguarded());
    let c = changes(&d, &o, &Ids::default());
    let kinds: Vec<(Action, Resource)> = c.iter().map(|c| (c.action, c.resource)).collect();
    assert_eq!(
        kinds,
        vec![
            (Action::Create, Resource::new("lambda_function")),
            (Action::Create, Resource::new("authorizer")),
            (Action::Create, Resource::new("lambda_permission")),
            (Action::Update, Resource::new("method_auth"))
        ]
    );
    let (function, Calls { create, update_code, .. }) = function_op(&c[0], &Ids::default());
    assert_eq!(function.code.as_deref(), Some("authorizer.zip"));
    assert!(create && update_code);
    assert_eq!(c[3].address, "platform/authorizer/method/GET /orders");
}

#[test]
fn unchanged_means_no_change() {
    let (d, ids) = setup();
    let o = applied(&d, &ids);
    assert_eq!(changes(&d, &o, &ids), vec![]);
    check(&d, &o, &ids).unwrap();
}

#[test]
fn env_drift_is_one_config_update() {
    let (d, ids) = setup();
    let mut o = applied(&d, &ids);
    set_function(&mut o, |f| {
        f.environment.insert("TENANTCTL_ISSUERS".into(), "https://evil.example".into());
        f.environment.insert("EXTRA".into(), "1".into());
    });
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].action, Action::Update);
    let paths: Vec<&str> = c[0].fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["environment.EXTRA", "environment.TENANTCTL_ISSUERS"]);
    assert_eq!(c[0].fields[0].after, Value::Null);
    let (_, Calls { create, update_code, update_config }) = function_op(&c[0], &ids);
    assert!(!create && !update_code && update_config);
}

#[test]
fn unresolved_ids_differ() {
    let (d, mut ids) = setup();
    let o = applied(&d, &ids);
    ids.remove("tenant/initech/pool");
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    // The pool's id is in its issuer and beside its clients' ids.
    let paths: Vec<&str> = c[0].fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["config.issuers", "config.clients"]);
    // Shown by field: the entry with the unknown id added, the live one removed.
    for f in &c[0].fields {
        let after = f.after.as_array().unwrap();
        assert!(after.len() == 1 && after[0].as_str().unwrap().contains(UNKNOWN), "{f:?}");
        assert!(f.before.as_array().unwrap()[0].as_str().unwrap().contains("tenantinitechpool"), "{f:?}");
    }
}

#[test]
fn code_drift_is_code_only() {
    let (d, ids) = setup();
    let mut o = applied(&d, &ids);
    set_function(&mut o, |f| f.code_sha256 = "b2xk".into());
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    let package = lambda_function::desired_package_sha(&function(&d).unwrap(), &ids).unwrap();
    assert_eq!(c[0].fields, vec![fc("code_sha256", json!("b2xk"), json!(package))]);
    let (_, Calls { update_code, update_config, .. }) = function_op(&c[0], &ids);
    assert!(update_code && !update_config);
}

#[test]
fn missing_zip_blocks_create_only() {
    let f = folder();
    let d = wiring(&f, &env(), None, None);
    let (_, ids) = setup();
    let err = check(&d, &World::default(), &ids).unwrap_err();
    assert!(err.contains("authorizer.function.code"), "{err}");
    // Existing function: the code is left as it is.
    let mut o = applied(&d, &ids);
    set_function(&mut o, |f| f.code_sha256 = "b2xk".into());
    check(&d, &o, &ids).unwrap();
    assert_eq!(changes(&d, &o, &ids), vec![]);
}

#[test]
fn widened_permission_is_replaced() {
    let (d, ids) = setup();
    let mut o = applied(&d, &ids);
    // tenantctl's Sid twice (an emulator accepts duplicates): both go, one comes back.
    // Statements with other Sids are never observed (they are someone else's).
    set_permission(&mut o, |p| p.copies = 2);
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].resource, Resource::new("lambda_permission"));
    assert_eq!(c[0].fields, vec![fc("statement_ids", json!([STATEMENT_ID, STATEMENT_ID]), json!([STATEMENT_ID]))]);
    match &c[0].op {
        Op::Item { desired: Some(want), live: Some(live), .. } => {
            let want = lambda_permission::state(want).unwrap();
            assert_eq!(want.function, "acme-saas-authorizer");
            let remove = lambda_permission::removed(&lambda_permission::state(live).unwrap());
            assert_eq!(remove, vec![STATEMENT_ID.to_string(), STATEMENT_ID.to_string()]);
            assert_eq!(want, permission(&d).unwrap());
        }
        other => panic!("{other:?}"),
    }
    // A statement without SourceArn in tenantctl's own Sid.
    let mut o = applied(&d, &ids);
    set_permission(&mut o, |p| p.source_arn = None);
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].fields[0].path, "source_arn");
    assert_eq!(c[0].fields[0].before, Value::Null);
}

#[test]
fn method_drift_and_all_methods() {
    let (mut d, ids) = setup();
    let mut o = applied(&d, &ids);
    set_method(&mut o, "GET /orders", unguarded());
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].resource, Resource::new("method_auth"));
    assert_eq!(
        c[0].fields,
        vec![
            fc("authorization_type", json!("NONE"), json!("CUSTOM")),
            fc("authorizer", Value::Null, json!("tenant-authorizer"))
        ]
    );
    // methods: [] -> every observed method.
    let all = method(&d, "GET /orders").unwrap();
    d.items.remove(&method_address("GET /orders"));
    set_method(&mut d, ALL_METHODS, all.clone());
    set_method(&mut o, "POST /orders", all);
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].name, "GET /orders");
}

#[test]
fn authorizer_drift() {
    let (d, ids) = setup();
    let mut o = applied(&d, &ids);
    set_authorizer(&mut o, |a| a.result_ttl_seconds = 0);
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].fields, vec![fc("result_ttl_seconds", json!(0), json!(300))]);
    match &c[0].op {
        Op::Item { desired: Some(want), live, replace: false, .. } => {
            assert_eq!(authorizer_kind::state(want), authorizer(&d));
            assert!(live.is_some(), "an update, not a create");
        }
        other => panic!("{other:?}"),
    }
}

fn stage_setup(stage: &str) -> (World, Ids, World) {
    let (mut d, ids) = setup();
    set_stage(&mut d, StageState { name: stage.to_string(), ..StageState::default() });
    let mut o = applied(&d, &ids);
    set_stage(
        &mut o,
        StageState {
            name: stage.into(),
            deployment_id: Some("dep1".into()),
            methods: BTreeMap::from([("GET /orders".to_string(), "CUSTOM".to_string())]),
        },
    );
    (d, ids, o)
}

#[test]
fn no_stage_no_deployment() {
    let (d, ids) = setup();
    assert_eq!(stage(&d), None);
    let mut o = applied(&d, &ids);
    set_authorizer(&mut o, |a| a.result_ttl_seconds = 0);
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert!(c.iter().all(|c| c.resource != Resource::new("stage_deployment")));
}

#[test]
fn stage_serving_the_authorizer_is_clean() {
    let (d, ids, o) = stage_setup("prod");
    assert_eq!(changes(&d, &o, &ids), vec![]);
}

#[test]
fn stage_serving_a_method_without_the_authorizer_is_drift_and_deployed() {
    let (d, ids, mut o) = stage_setup("prod");
    // The draft is right; the stage still serves the method unguarded.
    let mut served = stage(&o).unwrap();
    served.methods.insert("GET /orders".into(), "NONE".into());
    set_stage(&mut o, served);
    let c = changes(&d, &o, &ids);
    let kinds: Vec<(Action, Resource, &str)> = c.iter().map(|c| (c.action, c.resource, c.address.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (Action::Update, Resource::new("method_auth"), "platform/authorizer/method/GET /orders"),
            (Action::Update, Resource::new("stage_deployment"), "platform/authorizer/stage/prod"),
        ]
    );
    assert_eq!(c[0].fields, vec![fc("stage.prod.authorization_type", json!("NONE"), json!("CUSTOM"))]);
    assert_eq!(
        c[1].fields,
        vec![
            fc("deployment_id", json!("dep1"), json!(NEW_DEPLOYMENT)),
            fc("methods.GET /orders.authorization_type", json!("NONE"), json!("CUSTOM"))
        ]
    );
    match &c[1].op {
        Op::Item { address, desired: Some(want), .. } => {
            assert_eq!((address.as_str(), want.name.as_str()), ("platform/authorizer/stage/prod", "prod"))
        }
        other => panic!("{other:?}"),
    }
    assert!(crate::engine::waits(&c)[1].contains(&0), "the deployment waits for the method");
    // A method the stage does not serve at all is drift too.
    let mut served = stage(&o).unwrap();
    served.methods.clear();
    set_stage(&mut o, served);
    let c = changes(&d, &o, &ids);
    assert_eq!(c[0].fields, vec![fc("stage.prod.authorization_type", Value::Null, json!("CUSTOM"))]);
    // Draft and stage both wrong: one method change with both fields.
    set_method(&mut o, "GET /orders", unguarded());
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 2);
    let paths: Vec<&str> = c[0].fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["authorization_type", "authorizer", "stage.prod.authorization_type"]);
}

#[test]
fn authorizer_or_method_change_deploys_the_stage() {
    let (d, ids, mut o) = stage_setup("prod");
    set_authorizer(&mut o, |a| a.result_ttl_seconds = 0);
    let c = changes(&d, &o, &ids);
    let kinds: Vec<Resource> = c.iter().map(|c| c.resource).collect();
    assert_eq!(kinds, vec![Resource::new("authorizer"), Resource::new("stage_deployment")]);
    assert_eq!(c[1].fields, vec![fc("deployment_id", json!("dep1"), json!(NEW_DEPLOYMENT))]);
    // A function or permission change alone needs no deployment.
    let (d, ids, mut o) = stage_setup("prod");
    set_function(&mut o, |f| f.memory_mb = 512);
    let c = changes(&d, &o, &ids);
    assert_eq!(c.iter().map(|c| c.resource).collect::<Vec<_>>(), vec![Resource::new("lambda_function")]);
    // A stage that does not exist yet is created by the deployment.
    let (d, ids, mut o) = stage_setup("prod");
    set_stage(&mut o, StageState { name: "prod".into(), deployment_id: None, methods: BTreeMap::new() });
    let c = changes(&d, &o, &ids);
    assert_eq!(c.last().map(|c| (c.action, c.resource)), Some((Action::Create, Resource::new("stage_deployment"))));
}

#[test]
fn issuers_and_arns_follow_the_partition() {
    let f = folder();
    let cn = RenderEnv { account_id: "123456789012".into(), region: "cn-north-1".into(), partition: "aws-cn".into() };
    let d = wiring(&f, &cn, Some("c2hh".into()), None);
    let fun = &function(&d).unwrap();
    for iss in fun.config["issuers"].iter().map(|t| t.shown(&Ids::default())) {
        assert!(iss.starts_with("https://cognito-idp.cn-north-1.amazonaws.com.cn/"), "{iss}");
    }
    assert!(fun.role.starts_with("arn:aws-cn:iam::"), "{}", fun.role);
    assert!(authorizer(&d)
        .unwrap()
        .authorizer_uri
        .as_ref()
        .unwrap()
        .starts_with("arn:aws-cn:apigateway:cn-north-1:lambda:path/"));
    assert!(authorizer(&d)
        .unwrap()
        .authorizer_uri
        .as_ref()
        .unwrap()
        .contains("functions/arn:aws-cn:lambda:cn-north-1:"));
    assert!(permission(&d)
        .unwrap()
        .source_arn
        .as_ref()
        .unwrap()
        .shown(&Ids::default())
        .starts_with("arn:aws-cn:execute-api:cn-north-1:"));
    assert!(!fun.environment.contains_key("TENANTCTL_JWKS_URL"), "no emulator: keys come from the issuer");
}

#[test]
fn jwks_url_only_in_emulator_mode() {
    assert_eq!(jwks_endpoint(None, Some("http://127.0.0.1:5000")), Ok(None));
    assert_eq!(jwks_endpoint(Some("0"), Some("http://127.0.0.1:5000")), Ok(None));
    assert_eq!(
        jwks_endpoint(Some("1"), Some("http://127.0.0.1:5000")).unwrap().as_deref(),
        Some("http://127.0.0.1:5000")
    );
    assert!(jwks_endpoint(Some("1"), None).unwrap_err().contains("--endpoint-url"));
    assert!(jwks_endpoint(Some("yes"), Some("http://x")).is_err());
}

#[test]
fn architecture_is_planned_and_uploads_the_code() {
    let (d, ids) = setup();
    let mut o = applied(&d, &ids);
    set_function(&mut o, |f| f.architecture = "arm64".into());
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].fields, vec![fc("architecture", json!("arm64"), json!("x86_64"))]);
    let (function, Calls { update_code, update_config, .. }) = function_op(&c[0], &ids);
    assert!(update_code && !update_config);
    assert_eq!(function.architecture, "x86_64");
    // Created with its architecture.
    let c = changes(&d, &World::default(), &ids);
    assert!(c[0].fields.contains(&fc("architecture", Value::Null, json!("x86_64"))));
    // Without the zip the architecture cannot change: check says so.
    let f = folder();
    let nozip = wiring(&f, &env(), None, None);
    let err = check(&nozip, &o, &ids).unwrap_err();
    assert!(err.contains("authorizer.function.architecture"), "{err}");
}

#[test]
fn identity_validation_expression_is_a_bearer_jwt() {
    let re = regex::Regex::new(BEARER_JWT_EXPRESSION).unwrap();
    assert!(re.is_match("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_x"));
    for bad in
        ["garbage", "Bearer a.b", "Bearer a.b.c.d", "Bearer a.b.c ", "Basic a.b.c", "Bearer a.b.c\nx", "Bearer a.b.c=="]
    {
        assert!(!re.is_match(bad), "{bad:?}");
    }
    // The authorizer accepts what passes the expression.
    assert_eq!(tenantctl_authorizer_bearer("Bearer a.b.c"), "a.b.c");
    let (d, ids) = setup();
    let mut o = applied(&d, &ids);
    set_authorizer(&mut o, |a| a.identity_validation_expression = None);
    let c = changes(&d, &o, &ids);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].fields, vec![fc("identity_validation_expression", Value::Null, json!(BEARER_JWT_EXPRESSION))]);
}

/// `authorizer/src/apigw.rs` `bearer_token` strips `Bearer ` (any case): the expression's
/// prefix is one it accepts.
fn tenantctl_authorizer_bearer(h: &str) -> &str {
    h.strip_prefix("Bearer ").unwrap_or(h)
}

fn validate_with(edit: impl Fn(String) -> String) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for sub in ["tenants", "policies"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    let pf = dir.path().join("tenants/platform.yaml");
    let text = std::fs::read_to_string(&pf).unwrap();
    std::fs::write(&pf, edit(text)).unwrap();
    match crate::check::load_valid(dir.path()) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(|d| format!("{}: {}", d.location(), d.message)).collect(),
    }
}

#[test]
fn validate_authorizer_fields() {
    assert_eq!(validate_with(|t| t), Vec::<String>::new());
    let errs = validate_with(|t| t.replace("tokenUse: access", "tokenUse: refresh"));
    assert!(errs.len() == 1 && errs[0].contains("tokenUse") && errs[0].contains("platform.yaml:"), "{errs:?}");
    let errs =
        validate_with(|t| t.replace("    timeoutSeconds: 5\n", "    timeoutSeconds: 5\n    architecture: arm\n"));
    assert!(errs.len() == 1 && errs[0].contains("architecture `arm`"), "{errs:?}");
    assert_eq!(
        validate_with(|t| t.replace("    timeoutSeconds: 5\n", "    timeoutSeconds: 5\n    architecture: arm64\n")),
        Vec::<String>::new()
    );
    let errs = validate_with(|t| t.replace("  resultTtlSeconds: 300\n", "  resultTtlSeconds: 300\n  stage: pr-od\n"));
    assert!(errs.len() == 1 && errs[0].contains("stage name"), "{errs:?}");
    assert_eq!(
        validate_with(|t| t.replace("  resultTtlSeconds: 300\n", "  resultTtlSeconds: 300\n  stage: prod\n")),
        Vec::<String>::new()
    );
}

#[test]
fn cache_ttl_is_capped_by_token_validity() {
    // access 5m: a 300 s cache is fine, 301 s outlives the token.
    let short = |ttl: &'static str| {
        move |t: String| {
            t.replace("access: 60m", "access: 5m").replace("resultTtlSeconds: 300", &format!("resultTtlSeconds: {ttl}"))
        }
    };
    assert_eq!(validate_with(short("300")), Vec::<String>::new());
    let errs = validate_with(short("301"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("resultTtlSeconds 301") && errs[0].contains("access token validity of app client `web`"),
        "{errs:?}"
    );
    // The place is the resultTtlSeconds line.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tenants/platform.yaml")).unwrap();
    let line = text.lines().position(|l| l.contains("resultTtlSeconds")).unwrap() + 1;
    assert!(errs[0].contains(&format!("platform.yaml:{line}:")), "{errs:?}");
    // Without a tokenValidity, Cognito's 60 minutes cap it; 3600 is the hard limit.
    let errs = validate_with(|t| {
        t.replace("      tokenValidity: {access: 60m, id: 60m, refresh: 30d}\n", "")
            .replace("resultTtlSeconds: 300", "resultTtlSeconds: 3600")
    });
    assert_eq!(errs, Vec::<String>::new());
    let errs =
        validate_with(|t| t.replace("id: 60m", "id: 30m").replace("resultTtlSeconds: 300", "resultTtlSeconds: 3600"));
    assert!(errs.len() == 1 && errs[0].contains("ID token validity"), "{errs:?}");
    let errs = validate_with(|t| t.replace("resultTtlSeconds: 300", "resultTtlSeconds: 3601"));
    assert!(errs.len() == 1 && errs[0].contains("0..3600"), "{errs:?}");
}

/// Issue 23 (item 6), contract §1.7: the authorizer refuses to start without every setting it
/// needs, so the environment and the package's configuration file tenantctl writes for the
/// example folder must be ones it accepts.
#[test]
fn the_authorizer_accepts_the_configuration_tenantctl_writes() {
    let (d, ids) = setup();
    let f = function(&d).unwrap();
    let env: std::collections::HashMap<String, String> =
        f.environment.iter().map(|(k, v)| (k.clone(), v.resolve(&ids).unwrap())).collect();
    let entries =
        f.config.iter().map(|(k, v)| (k.clone(), v.iter().map(|t| t.resolve(&ids).unwrap()).collect())).collect();
    let file = lambda_function::package::config_json(&entries).unwrap();
    let config = tenantctl_authorizer::config::Config::from_env_and_file(&env, &file);
    assert!(config.is_ok(), "{env:?} {}: {:?}", String::from_utf8_lossy(&file), config.err());
    assert!(config.unwrap().tenants.contains("initech"));
}

/// Issue 23 (item 7): `authorizer.methods[].scopes` reach the authorizer (the configuration's
/// `methodScopes`).
#[test]
fn method_scopes_reach_the_authorizer() {
    let mut f = folder();
    let a = f.platform.value.authorizer.as_mut().unwrap();
    a.methods = vec![crate::spec::model::MethodSpec {
        path: "/orders".into(),
        method: "POST".into(),
        scopes: vec!["https://api.acme-saas.example/orders.write".into()],
    }];
    let ctx = DesiredCtx { env: env(), code_sha256: Some("c2hh".into()), jwks_endpoint: None };
    let d = crate::kinds::desired(&f, &ctx).unwrap();
    let fun = function(&d).unwrap();
    let scopes: Vec<String> = fun.config["methodScopes"].iter().filter_map(Text::as_literal).collect();
    assert_eq!(scopes, [r#"["POST /orders",["https://api.acme-saas.example/orders.write"]]"#]);
}

/// Issue 23 (item 7): a method's scopes are declared resource server scopes, and need access
/// tokens (an ID token holds no scope).
#[test]
fn method_scopes_are_declared_resource_server_scopes() {
    use crate::kinds::test_support::folder_edited;
    let with = |scope: &str, token_use: &str| {
        let scope = scope.to_string();
        let token_use = token_use.to_string();
        let (_t, f) = folder_edited(
            &move |p| {
                p.replacen(
                    "{path: /orders, method: GET}",
                    &format!("{{path: /orders, method: GET, scopes: [\"{scope}\"]}}"),
                    1,
                )
                .replacen("tokenUse: access", &format!("tokenUse: {token_use}"), 1)
            },
            &[("acme", "")],
        );
        f.map(|_| ()).map_err(|e| e.to_string())
    };
    with("https://api.acme-saas.example/orders.read", "access").unwrap();
    let e = with("https://api.acme-saas.example/orders.delete", "access").unwrap_err();
    assert!(e.contains("authorizer.methods[0].scopes[0]") || e.contains("platform.yaml:"), "{e}");
    assert!(
        e.contains("orders.delete") && e.contains("declared scopes: https://api.acme-saas.example/orders.read"),
        "{e}"
    );
    let e = with("https://api.acme-saas.example/orders.read", "id").unwrap_err();
    assert!(e.contains("scopes need tokenUse: access"), "{e}");
}

/// Issue 21: a `--tenant` session does not read other tenants' pools and clients; the
/// configuration's entries naming them stand for the live entries they match. A session of a
/// pooled tenant plans no change of the function; one that creates a silo tenant's pool adds
/// only that tenant's issuer and client (ids known after apply) and keeps the others'.
#[test]
fn a_tenant_session_keeps_the_other_tenants_entries_of_the_configuration() {
    let (d, ids) = setup();
    let o = applied(&d, &ids);
    let mut scoped_ids = ids.clone();
    let initech: Vec<String> =
        ids.iter().map(|(a, _)| a.clone()).filter(|a| a.starts_with("tenant/initech/")).collect();
    assert!(initech.len() >= 2, "{initech:?}");
    for a in &initech {
        scoped_ids.remove(a);
    }
    let mut scoped = d.clone();
    crate::kinds::settle_scoped(&mut scoped, &o, &scoped_ids);
    assert_eq!(changes(&scoped, &o, &scoped_ids), vec![]);
    let f = function(&scoped).unwrap();
    assert!(f.config["issuers"].iter().all(|t| t.resolve(&scoped_ids).is_some()), "{:?}", f.config["issuers"]);

    // initech's pool and client are the session's own (to be created): their entries stay
    // references, shown as added; the shared pool's entries are unchanged.
    let mut onboarding = d.clone();
    for a in &initech {
        let item = Item {
            kind: "user_pool".into(),
            name: a.clone(),
            tenant: None,
            parent: None,
            state: Value::Null,
            after: Vec::new(),
        };
        onboarding.items.insert(a.clone(), item);
    }
    crate::kinds::settle_scoped(&mut onboarding, &o, &scoped_ids);
    use crate::plan::ItemRules;
    let fields = lambda_function::LambdaFunction
        .compare(FUNCTION_ADDRESS, &onboarding.items[FUNCTION_ADDRESS], &o.items[FUNCTION_ADDRESS], &scoped_ids)
        .unwrap();
    let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["config.issuers", "config.clients"]);
    for f in &fields {
        let added = f.after.as_array().unwrap();
        assert!(added.len() == 1 && added[0].as_str().unwrap().contains(UNKNOWN), "{f:?}");
    }
}
