//! The authorizer wiring's kinds against the emulator: observe -> desired -> plan -> execute
//! (`tenantctl::kinds`) until the plan is empty, then out-of-band drift (a widened invoke permission, a method set back to
//! NONE) is reported exactly and repaired.
//!
//! Needs a running emulator: `export TENANTCTL_TEST_ENDPOINT=$(scripts/emulator start)`,
//! then `cargo test --test aws_authorizer`, then `scripts/emulator stop`. Skipped (with a note)
//! when TENANTCTL_TEST_ENDPOINT is unset.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use tenantctl::aws::{self, Aws, Limiter};
use tenantctl::kinds::{self, lambda_function, lambda_permission, method_auth};
use tenantctl::plan::{plan_with, Action, Change, PlanOptions, Resource};
use tenantctl::spec::desired::{self, RenderEnv};
use tenantctl::spec::Folder;
use tenantctl::state::wiring::{self, client_address};
use tenantctl::state::{Ids, World};

/// The shared emulator (fails under CI when it is missing; see `common::endpoint`).
use common::endpoint;

fn fixture_zip() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authorizer-dummy.zip")
}

/// A config folder for a fresh platform (unique names, so reruns share an emulator);
/// `extra` is added to the authorizer section (e.g. `  stage: prod\n`).
fn write_folder(dir: &Path, platform: &str, cognito: bool, extra: &str) {
    let kind = if cognito {
        "type: cognito".to_string()
    } else {
        format!("type: lambda\n  function:\n    name: {platform}-authorizer\n    code: authorizer.zip")
    };
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(
        dir.join("tenants/platform.yaml"),
        format!(
            r#"apiVersion: tenantctl/v1
kind: Platform
name: {platform}
region: us-east-1
userPool:
  appClients:
    - name: web
      authFlows: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH]
roles:
  member:
    precedence: 10
    policies: [data-ro]
authorizer:
  restApi: {platform}-api
  {kind}
  name: tenant-authorizer
  resultTtlSeconds: 300
{extra}  methods:
    - {{path: /orders, method: GET}}
---
apiVersion: tenantctl/v1
kind: Tenant
id: acme
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("policies/data-ro.json"),
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/tenant_id}/*"}]}"#,
    )
    .unwrap();
    std::fs::copy(fixture_zip(), dir.join("authorizer.zip")).unwrap();
}

/// The kinds of the authorizer wiring.
const WIRING: [&str; 6] =
    ["rest_api", "authorizer", "method_auth", "stage_deployment", "lambda_function", "lambda_permission"];

struct Env {
    aws: Aws,
    folder: Folder,
    render: RenderEnv,
    dir: tempfile::TempDir,
    endpoint: String,
    /// Pool and client ids (the Cognito adapter's part of the ids).
    cognito_ids: Ids,
}

impl Env {
    /// The desired authorizer wiring (rendered with the pools it names, which are the other
    /// slices' and left out).
    fn desired(&self) -> World {
        let zip = std::fs::read(self.dir.path().join("authorizer.zip")).unwrap();
        let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
        let ctx = kinds::DesiredCtx {
            env: self.render.clone(),
            code_sha256: Some(sha),
            jwks_endpoint: Some(self.endpoint.clone()),
        };
        let mut d = kinds::desired(&self.folder, &ctx).expect("desired");
        // The pools, what lives in them and the roles are the other slices'.
        d.items.retain(|_, i| WIRING.contains(&i.kind.as_str()));
        d
    }

    async fn observe(&self) -> (World, Ids) {
        observe_folder(&self.aws, &self.folder, self.cognito_ids.clone()).await.expect("observe")
    }

    async fn plan(&self) -> (Vec<Change>, Ids) {
        let (observed, ids) = self.observe().await;
        let d = self.desired();
        let plan = plan_with(&d, &observed, &ids, &PlanOptions::default(), &kinds::rules()).expect("plan");
        (plan.changes, ids)
    }

    async fn apply(&self, changes: &[Change], ids: Ids) {
        let ids = Mutex::new(ids);
        for c in changes {
            let op = &c.op;
            kinds::execute(&self.aws, op, &ids)
                .await
                .unwrap_or_else(|e| panic!("{} {}: {e}", c.resource.as_str(), c.address));
        }
    }
}

/// The kinds' observation of a folder, on top of the ids the other slices know.
async fn observe_folder(aws: &Aws, folder: &Folder, mut ids: Ids) -> Result<(World, Ids), aws::AwsError> {
    let mut world = World::default();
    let account = std::sync::Mutex::default();
    // The wiring's kinds, in registry order (the pools and what lives in them are the other
    // slices').
    for k in kinds::KINDS.iter().filter(|k| WIRING.contains(&k.resource().as_str())) {
        let scope = kinds::ObserveScope {
            folder,
            desired: &World::default(),
            tenants: &[],
            adopt: tenantctl::kinds::Adopt::Nothing,
            observed: &world,
            ids: &ids,
            account: &account,
            on_found: None,
        };
        for (address, item, id) in k.observe(aws, &scope).await? {
            ids.set(address.clone(), id);
            world.items.insert(address, item);
        }
    }
    Ok((world, ids))
}

fn function(w: &World) -> Option<lambda_function::FunctionState> {
    w.items.get(wiring::FUNCTION_ADDRESS).and_then(lambda_function::state)
}

fn permission(w: &World) -> Option<lambda_permission::PermissionState> {
    w.items.get(wiring::PERMISSION_ADDRESS).and_then(lambda_permission::state)
}

fn method(w: &World, key: &str) -> method_auth::MethodAuth {
    w.items.get(&wiring::method_address(key)).and_then(method_auth::state).expect("observed method")
}

async fn setup(ep: &str, cognito: bool) -> Env {
    setup_with(ep, cognito, "").await
}

async fn setup_with(ep: &str, cognito: bool, extra: &str) -> Env {
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::remove_var("AWS_PROFILE");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let platform = format!("az{}{:08}", std::process::id() % 1000, nanos % 100_000_000);
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path(), &platform, cognito, extra);
    let folder = tenantctl::check::load_valid(dir.path()).unwrap_or_else(|e| panic!("test folder: {e}"));
    let mut aws = aws::connect(&platform, Some("us-east-1".into()), None, Some(ep.to_string()), Limiter::new(0.0))
        .await
        .expect("connect to the emulator");
    aws.resolve_account().await.expect("account");
    let render = RenderEnv {
        account_id: aws.ctx.account_id.clone(),
        region: aws.ctx.region.clone(),
        partition: aws.ctx.partition.clone(),
    };

    // What other slices (and the user) provide: the shared pool with its client, the
    // authorizer's execution role, and the REST API with GET /orders.
    let pool = aws.cognito.create_user_pool().pool_name(&platform).send().await.unwrap();
    let pool_id = pool.user_pool().unwrap().id().unwrap().to_string();
    let client = aws.cognito.create_user_pool_client().user_pool_id(&pool_id).client_name("web").send().await.unwrap();
    let mut cognito_ids = Ids::default();
    cognito_ids.set(desired::names::shared_pool_address(), pool_id);
    cognito_ids.set(
        client_address(&desired::names::shared_pool_address(), "web"),
        client.user_pool_client().unwrap().client_id().unwrap().to_string(),
    );
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws.iam
        .create_role()
        .role_name(desired::names::authorizer_role(&platform))
        .path(desired::names::role_path(&platform))
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let api = aws.apigw.create_rest_api().name(format!("{platform}-api")).send().await.unwrap();
    let api_id = api.id().unwrap().to_string();
    let root = aws.apigw.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let root_id = root.items().iter().find(|r| r.path() == Some("/")).unwrap().id().unwrap().to_string();
    let orders =
        aws.apigw.create_resource().rest_api_id(&api_id).parent_id(&root_id).path_part("orders").send().await.unwrap();
    aws.apigw
        .put_method()
        .rest_api_id(&api_id)
        .resource_id(orders.id().unwrap())
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    // An integration, so that the API can be deployed (CreateDeployment refuses methods
    // without one).
    aws.apigw
        .put_integration()
        .rest_api_id(&api_id)
        .resource_id(orders.id().unwrap())
        .http_method("GET")
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();

    Env { aws, folder, render, dir, endpoint: ep.to_string(), cognito_ids }
}

fn summary(changes: &[Change]) -> Vec<(Action, Resource, String)> {
    changes.iter().map(|c| (c.action, c.resource, c.address.clone())).collect()
}

#[tokio::test]
async fn authorizer_wiring_converges_and_repairs_drift() {
    let Some(ep) = endpoint() else {
        eprintln!("skipped: set TENANTCTL_TEST_ENDPOINT (export TENANTCTL_TEST_ENDPOINT=$(scripts/emulator start))");
        return;
    };
    let env = setup(&ep, false).await;

    // First apply: everything is created.
    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![
            (Action::Create, Resource::new("lambda_function"), "platform/authorizer/function".into()),
            (Action::Create, Resource::new("authorizer"), "platform/authorizer".into()),
            (Action::Create, Resource::new("lambda_permission"), "platform/authorizer/permission".into()),
            (Action::Update, Resource::new("method_auth"), "platform/authorizer/method/GET /orders".into()),
        ]
    );
    env.apply(&changes, ids).await;

    // Converged: nothing left to do, and what was set is what the contract says.
    let (changes, ids) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");
    let (observed, _) = env.observe().await;
    let f = &function(&observed).unwrap();
    let pool_id = env.cognito_ids.id("platform/pool").unwrap();
    // The shared pool may speak for every tenant not bound to another issuer.
    // The configuration, read back by the adapter from the live package (contract §1.7).
    let issuers: Vec<String> = f.config["issuers"].iter().filter_map(|t| t.as_literal()).collect();
    assert_eq!(issuers, [format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}=*")]);
    assert_eq!(
        f.environment["TENANTCTL_JWKS_URL"].as_literal().unwrap(),
        format!("{}/{{pool_id}}/.well-known/jwks.json", ep.trim_end_matches('/'))
    );
    let p = permission(&observed).unwrap();
    assert_eq!(
        p.source_arn.as_ref().and_then(|t| t.as_literal()).as_deref(),
        Some(format!(
            "arn:aws:execute-api:us-east-1:{}:{}/authorizers/{}",
            env.render.account_id,
            ids.id(wiring::REST_API_ADDRESS).unwrap(),
            ids.id(wiring::AUTHORIZER_ADDRESS).unwrap()
        ))
        .as_deref()
    );
    assert_eq!(method(&observed, "GET /orders").authorization_type, "CUSTOM");

    // Read back with tenantctl's own calls: the TOKEN authorizer only lets a Bearer JWT through.
    let live = env
        .aws
        .apigw
        .get_authorizer()
        .rest_api_id(ids.id(wiring::REST_API_ADDRESS).unwrap())
        .authorizer_id(ids.id(wiring::AUTHORIZER_ADDRESS).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(live.identity_validation_expression(), Some(wiring::BEARER_JWT_EXPRESSION));
    let conf = env.aws.lambda.get_function_configuration().function_name(&f.name).send().await.unwrap();
    assert_eq!(conf.architectures().iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["x86_64"]);

    // Out-of-band drift: tenantctl's statement widened into a confused deputy, another API's
    // statement on the same function (not tenantctl's: left alone), an unguarded method.
    let fname = f.name.clone();
    env.aws.lambda.remove_permission().function_name(&fname).statement_id(wiring::STATEMENT_ID).send().await.unwrap();
    env.aws
        .lambda
        .add_permission()
        .function_name(&fname)
        .statement_id(wiring::STATEMENT_ID)
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .send()
        .await
        .unwrap();
    let other_api = format!("arn:aws:execute-api:us-east-1:{}:otherapi01/authorizers/abc123", env.render.account_id);
    env.aws
        .lambda
        .add_permission()
        .function_name(&fname)
        .statement_id("other-api")
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .source_arn(&other_api)
        .send()
        .await
        .unwrap();
    env.aws
        .apigw
        .update_method()
        .rest_api_id(ids.id(wiring::REST_API_ADDRESS).unwrap())
        .resource_id(ids.id(&wiring::method_address("GET /orders")).unwrap())
        .http_method("GET")
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/authorizationType")
                .value("NONE")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![
            (Action::Update, Resource::new("lambda_permission"), "platform/authorizer/permission".into()),
            (Action::Update, Resource::new("method_auth"), "platform/authorizer/method/GET /orders".into()),
        ],
        "{changes:#?}"
    );
    let perm_paths: Vec<&str> = changes[0].fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(perm_paths, ["source_arn", "source_account"]);
    assert_eq!(changes[1].fields[0].path, "authorization_type");
    assert_eq!(changes[1].fields[0].before, serde_json::json!("NONE"));
    env.apply(&changes, ids).await;

    let (changes, _) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");
    let (observed, _) = env.observe().await;
    assert_eq!(permission(&observed).unwrap().statement_id, wiring::STATEMENT_ID);
    // Read back: tenantctl's statement is scoped again, the other API's is still there.
    let policy = env.aws.lambda.get_policy().function_name(&fname).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let by_sid = |sid: &str| statements.iter().find(|s| s["Sid"] == sid).cloned();
    assert_eq!(
        by_sid("other-api").expect("other API's statement kept")["Condition"]["ArnLike"]["AWS:SourceArn"],
        other_api
    );
    assert!(by_sid(wiring::STATEMENT_ID).unwrap()["Condition"]["ArnLike"]["AWS:SourceArn"].is_string());
    assert_eq!(statements.len(), 2, "{policy}");

    // Config drift on the function (environment changed by hand) is repaired too.
    env.aws
        .lambda
        .update_function_configuration()
        .function_name(&fname)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("TENANTCTL_ISSUERS", "https://evil.example")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![(Action::Update, Resource::new("lambda_function"), "platform/authorizer/function".into())]
    );
    env.apply(&changes, ids).await;
    let (changes, _) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");

    // New code (here: an empty zip archive, its end-of-central-directory record alone) is
    // uploaded, and only the code.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend([0u8; 18]);
    std::fs::write(env.dir.path().join("authorizer.zip"), &empty_zip).unwrap();
    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![(Action::Update, Resource::new("lambda_function"), "platform/authorizer/function".into())]
    );
    let paths: Vec<&str> = changes[0].fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["code_sha256"]);
    env.apply(&changes, ids).await;
    let (changes, ids) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");

    // Authorizer settings changed by hand are patched back.
    zero_authorizer_ttl(
        &env.aws,
        ids.id(wiring::REST_API_ADDRESS).unwrap(),
        ids.id(wiring::AUTHORIZER_ADDRESS).unwrap(),
    )
    .await;
    let (changes, ids) = env.plan().await;
    assert_eq!(summary(&changes), vec![(Action::Update, Resource::new("authorizer"), "platform/authorizer".into())]);
    assert_eq!(changes[0].fields[0].path, "result_ttl_seconds");
    env.apply(&changes, ids).await;
    let (changes, _) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");
}

#[tokio::test]
async fn missing_rest_api_is_a_clear_error() {
    let Some(ep) = endpoint() else {
        eprintln!("skipped: set TENANTCTL_TEST_ENDPOINT");
        return;
    };
    let env = setup(&ep, false).await;
    let mut folder = env.folder.clone();
    folder.platform.value.authorizer.as_mut().unwrap().rest_api = "no-such-api".into();
    let err = observe_folder(&env.aws, &folder, Ids::default()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("no-such-api") && msg.contains("must exist"), "{msg}");
}

#[tokio::test]
async fn cognito_authorizer_converges() {
    let Some(ep) = endpoint() else {
        eprintln!("skipped: set TENANTCTL_TEST_ENDPOINT");
        return;
    };
    let env = setup(&ep, true).await;
    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![
            (Action::Create, Resource::new("authorizer"), "platform/authorizer".into()),
            (Action::Update, Resource::new("method_auth"), "platform/authorizer/method/GET /orders".into()),
        ]
    );
    env.apply(&changes, ids).await;
    let (changes, _) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");
    let (observed, _) = env.observe().await;
    let a = observed.items.get(wiring::AUTHORIZER_ADDRESS).and_then(kinds::authorizer::state).unwrap();
    assert_eq!(a.auth_type, "COGNITO_USER_POOLS");
    let pool_id = env.cognito_ids.id("platform/pool").unwrap();
    assert_eq!(
        a.provider_arns.into_iter().map(|t| t.as_literal().unwrap()).collect::<Vec<_>>(),
        vec![format!("arn:aws:cognito-idp:us-east-1:{}:userpool/{pool_id}", env.render.account_id)]
    );
    assert_eq!(method(&observed, "GET /orders").authorization_type, "COGNITO_USER_POOLS");
    assert!(function(&observed).is_none() && permission(&observed).is_none());
}

/// What the stage serves, read with the SDK: GET /orders's authorization type.
async fn served(env: &Env, api: &str, stage: &str) -> (String, Option<String>) {
    let st = env.aws.apigw.get_stage().rest_api_id(api).stage_name(stage).send().await.unwrap();
    let dep = st.deployment_id().unwrap().to_string();
    let d =
        env.aws.apigw.get_deployment().rest_api_id(api).deployment_id(&dep).embed("apisummary").send().await.unwrap();
    let t =
        d.api_summary().and_then(|s| s.get("/orders")).and_then(|m| m.get("GET")).and_then(|m| m.authorization_type());
    (dep, t.map(str::to_string))
}

async fn set_method(env: &Env, ids: &Ids, auth_type: &str) {
    let mut ops = vec![aws_sdk_apigateway::types::PatchOperation::builder()
        .op(aws_sdk_apigateway::types::Op::Replace)
        .path("/authorizationType")
        .value(auth_type)
        .build()];
    if auth_type == "CUSTOM" {
        ops.push(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/authorizerId")
                .value(ids.id(wiring::AUTHORIZER_ADDRESS).unwrap())
                .build(),
        );
    }
    env.aws
        .apigw
        .update_method()
        .rest_api_id(ids.id(wiring::REST_API_ADDRESS).unwrap())
        .resource_id(ids.id(&wiring::method_address("GET /orders")).unwrap())
        .http_method("GET")
        .set_patch_operations(Some(ops))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn stage_is_deployed_and_checked() {
    let Some(ep) = endpoint() else {
        eprintln!("skipped: set TENANTCTL_TEST_ENDPOINT");
        return;
    };
    let env = setup_with(&ep, false, "  stage: prod\n").await;
    let (_, ids0) = env.observe().await;
    let api = ids0.id(wiring::REST_API_ADDRESS).unwrap().to_string();
    // The stage exists and serves GET /orders unguarded.
    env.aws.apigw.create_deployment().rest_api_id(&api).stage_name("prod").send().await.unwrap();
    let (first, t) = served(&env, &api, "prod").await;
    assert_eq!(t.as_deref(), Some("NONE"));

    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![
            (Action::Create, Resource::new("lambda_function"), "platform/authorizer/function".into()),
            (Action::Create, Resource::new("authorizer"), "platform/authorizer".into()),
            (Action::Create, Resource::new("lambda_permission"), "platform/authorizer/permission".into()),
            (Action::Update, Resource::new("method_auth"), "platform/authorizer/method/GET /orders".into()),
            (Action::Update, Resource::new("stage_deployment"), "platform/authorizer/stage/prod".into()),
        ]
    );
    env.apply(&changes, ids).await;
    let (second, t) = served(&env, &api, "prod").await;
    assert_ne!(first, second, "a new deployment");
    assert_eq!(t.as_deref(), Some("CUSTOM"), "the stage serves the authorizer now");
    let (changes, ids) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");

    // Out of band: the draft is right, but the stage was deployed while the method was NONE.
    set_method(&env, &ids, "NONE").await;
    env.aws.apigw.create_deployment().rest_api_id(&api).stage_name("prod").send().await.unwrap();
    set_method(&env, &ids, "CUSTOM").await;
    assert_eq!(served(&env, &api, "prod").await.1.as_deref(), Some("NONE"));
    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![
            (Action::Update, Resource::new("method_auth"), "platform/authorizer/method/GET /orders".into()),
            (Action::Update, Resource::new("stage_deployment"), "platform/authorizer/stage/prod".into()),
        ],
        "{changes:#?}"
    );
    assert_eq!(changes[0].fields[0].path, "stage.prod.authorization_type");
    assert_eq!(changes[0].fields[0].before, serde_json::json!("NONE"));
    env.apply(&changes, ids).await;
    assert_eq!(served(&env, &api, "prod").await.1.as_deref(), Some("CUSTOM"));
    let (changes, ids) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");

    // An authorizer change is deployed too.
    zero_authorizer_ttl(&env.aws, &api, ids.id(wiring::AUTHORIZER_ADDRESS).unwrap()).await;
    let before = served(&env, &api, "prod").await.0;
    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![
            (Action::Update, Resource::new("authorizer"), "platform/authorizer".into()),
            (Action::Update, Resource::new("stage_deployment"), "platform/authorizer/stage/prod".into()),
        ]
    );
    env.apply(&changes, ids).await;
    assert_ne!(served(&env, &api, "prod").await.0, before);
    let (changes, _) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");
}

#[tokio::test]
async fn architecture_is_sent_and_changed() {
    let Some(ep) = endpoint() else {
        eprintln!("skipped: set TENANTCTL_TEST_ENDPOINT");
        return;
    };
    let env = setup(&ep, false).await;
    let (changes, ids) = env.plan().await;
    env.apply(&changes, ids).await;
    let name = function(&env.desired()).unwrap().name;
    let arch = |c: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput| {
        c.architectures().iter().map(|a| a.as_str().to_string()).collect::<Vec<_>>()
    };
    let conf = env.aws.lambda.get_function_configuration().function_name(&name).send().await.unwrap();
    assert_eq!(arch(&conf), ["x86_64"]);

    // The folder now says arm64: planned as a field, applied with UpdateFunctionCode.
    let text = std::fs::read_to_string(env.dir.path().join("tenants/platform.yaml")).unwrap();
    std::fs::write(
        env.dir.path().join("tenants/platform.yaml"),
        text.replace("    code: authorizer.zip\n", "    code: authorizer.zip\n    architecture: arm64\n"),
    )
    .unwrap();
    let env = Env { folder: tenantctl::check::load_valid(env.dir.path()).unwrap(), ..env };
    let (changes, ids) = env.plan().await;
    assert_eq!(
        summary(&changes),
        vec![(Action::Update, Resource::new("lambda_function"), "platform/authorizer/function".into())]
    );
    assert_eq!(changes[0].fields[0].path, "architecture");
    env.apply(&changes, ids).await;
    let conf = env.aws.lambda.get_function_configuration().function_name(&name).send().await.unwrap();
    assert_eq!(arch(&conf), ["arm64"]);
    let (changes, _) = env.plan().await;
    assert_eq!(summary(&changes), vec![], "{changes:#?}");
}

/// Out of band: the authorizer's result TTL set to 0 by hand.
async fn zero_authorizer_ttl(aws: &Aws, api: &str, authorizer: &str) {
    aws.apigw
        .update_authorizer()
        .rest_api_id(api)
        .authorizer_id(authorizer)
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/authorizerResultTtlInSeconds")
                .value("0")
                .build(),
        )
        .send()
        .await
        .unwrap();
}
