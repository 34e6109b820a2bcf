//! Reliability and security under faults and bad input, through the fault proxy
//! (tests/faultproxy) in front of the emulator:
//! a. throttling and HTTP 500s: apply still converges, to the state of a fault-free run;
//! b. SIGKILL at a random request, then a plain re-run: converged, no duplicate, no orphan;
//! c. two concurrent applies: one shared pool;
//! d. adversarial inputs: exit 1 and zero AWS requests;
//! e. an app client secret never appears in any output or plan file.
//!
//! `RELIABILITY_TRIALS` overrides the number of kill trials (default 20);
//! `RELIABILITY_SEED` the seed of the proxy's and the trials' RNG.

mod common;
mod faultproxy;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use faultproxy::{Fault, FaultProxy, Rule};
use serde_json::{json, Value};

fn tenants() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    vec![("acme", "pooled", None), ("globex", "pooled", Some("member")), ("initech", "silo", None)]
}

fn seed() -> u64 {
    std::env::var("RELIABILITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_260_101)
}

/// "AWS calls: N (W writes), retries: R, ..." from `--stats`.
fn stats_line(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).lines().find(|l| l.starts_with("AWS calls:")).unwrap_or("").to_string()
}

fn retries(o: &Output) -> u64 {
    let l = stats_line(o);
    l.split("retries:")
        .nth(1)
        .and_then(|s| s.trim().split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn tenantctl(dir: &Path, endpoint: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tenantctl"));
    c.arg("-C")
        .arg(dir)
        .arg("--endpoint-url")
        .arg(endpoint)
        .arg("--no-color")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null());
    c
}

/// Pools whose name is `<p>` or starts with `<p>-`.
async fn platform_pools(sdk: &Sdk, p: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let out = sdk.cognito.list_user_pools().max_results(60).set_next_token(token).send().await.unwrap();
        for pool in out.user_pools() {
            let name = pool.name().unwrap_or_default();
            if name == p || name.starts_with(&format!("{p}-")) {
                found.push((name.to_string(), pool.id().unwrap().to_string()));
            }
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    found.sort();
    found
}

fn doc(s: &str) -> Value {
    tenantctl::state::parse_policy_document(s).unwrap_or_else(|| Value::String(s.to_string()))
}

/// Everything a platform owns, read with our own SDK calls, as JSON; ids are replaced by
/// what they name and the platform name by `P`, so two platforms compare resource by resource.
async fn snapshot(sdk: &Sdk, p: &str, api_name: &str) -> Value {
    let mut subst: Vec<(String, String)> = Vec::new();
    let mut pools = BTreeMap::new();
    for (name, id) in platform_pools(sdk, p).await {
        subst.push((id.clone(), format!("POOL({name})")));
        let d = sdk.cognito.describe_user_pool().user_pool_id(&id).send().await.unwrap();
        let d = d.user_pool().unwrap();
        let pp = d.policies().and_then(|x| x.password_policy());
        let mut attrs: Vec<Value> = d
            .schema_attributes()
            .iter()
            .filter(|a| a.name().is_some_and(|n| n.starts_with("custom:")))
            .map(|a| json!({"name": a.name(), "type": a.attribute_data_type().map(|t| t.as_str().to_string()), "mutable": a.mutable(),
                "string": a.string_attribute_constraints().map(|c| json!([c.min_length(), c.max_length()])),
                "number": a.number_attribute_constraints().map(|c| json!([c.min_value(), c.max_value()]))}))
            .collect();
        attrs.sort_by_key(|v| v["name"].to_string());
        let mut groups: Vec<Value> = sdk
            .cognito
            .list_groups()
            .user_pool_id(&id)
            .send()
            .await
            .unwrap()
            .groups()
            .iter()
            .map(|g| json!({"name": g.group_name(), "description": g.description(), "precedence": g.precedence(), "role": g.role_arn()}))
            .collect();
        groups.sort_by_key(|v| v["name"].to_string());
        let rs: Vec<Value> = sdk
            .cognito
            .list_resource_servers()
            .user_pool_id(&id)
            .max_results(50)
            .send()
            .await
            .unwrap()
            .resource_servers()
            .iter()
            .map(|r| {
                let mut s: Vec<_> = r.scopes().iter().map(|s| json!([s.scope_name(), s.scope_description()])).collect();
                s.sort_by_key(|v| v.to_string());
                json!({"identifier": r.identifier(), "name": r.name(), "scopes": s})
            })
            .collect();
        let mut clients = Vec::new();
        for c in sdk
            .cognito
            .list_user_pool_clients()
            .user_pool_id(&id)
            .max_results(60)
            .send()
            .await
            .unwrap()
            .user_pool_clients()
        {
            let cid = c.client_id().unwrap();
            subst.push((cid.to_string(), format!("CLIENT({name}/{})", c.client_name().unwrap_or_default())));
            let c = sdk.cognito.describe_user_pool_client().user_pool_id(&id).client_id(cid).send().await.unwrap();
            let c = c.user_pool_client().unwrap();
            let sorted = |v: &[String]| {
                let mut v = v.to_vec();
                v.sort();
                v
            };
            clients.push(json!({"name": c.client_name(), "secret": c.client_secret().is_some(),
                "flows": sorted(&c.explicit_auth_flows().iter().map(|f| f.as_str().to_string()).collect::<Vec<_>>()),
                "oauthFlows": sorted(&c.allowed_o_auth_flows().iter().map(|f| f.as_str().to_string()).collect::<Vec<_>>()),
                "scopes": sorted(c.allowed_o_auth_scopes()), "callbacks": sorted(c.callback_urls()),
                "read": sorted(c.read_attributes()), "write": sorted(c.write_attributes()),
                "validity": [c.access_token_validity(), c.id_token_validity(), c.refresh_token_validity()],
                "units": c.token_validity_units().map(|u| format!("{u:?}")),
                "revocation": c.enable_token_revocation(), "preventErrors": c.prevent_user_existence_errors().map(|x| x.as_str().to_string())}));
        }
        clients.sort_by_key(|v| v["name"].to_string());
        let tags: BTreeMap<_, _> = d.user_pool_tags().cloned().unwrap_or_default().into_iter().collect();
        pools.insert(
            name.clone(),
            json!({"deletionProtection": d.deletion_protection().map(|x| x.as_str().to_string()),
                "mfa": d.mfa_configuration().map(|x| x.as_str().to_string()),
                "adminOnly": d.admin_create_user_config().map(|a| a.allow_admin_create_user_only()),
                "password": pp.map(|x| json!([x.minimum_length(), x.require_uppercase(), x.require_lowercase(), x.require_numbers(), x.require_symbols(), x.temporary_password_validity_days()])),
                "tags": tags, "attributes": attrs, "groups": groups, "resourceServers": rs, "clients": clients}),
        );
    }
    // IAM roles under the platform's path.
    let mut roles = BTreeMap::new();
    let mut marker = None;
    loop {
        let out = sdk.iam.list_roles().path_prefix(format!("/tenantctl/{p}/")).set_marker(marker).send().await.unwrap();
        for r in out.roles() {
            let name = r.role_name().to_string();
            let full = sdk.iam.get_role().role_name(&name).send().await.unwrap();
            let full = full.role().unwrap();
            let tags: BTreeMap<_, _> =
                full.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
            let mut inline = BTreeMap::new();
            for pn in sdk.iam.list_role_policies().role_name(&name).send().await.unwrap().policy_names() {
                let d = sdk.iam.get_role_policy().role_name(&name).policy_name(pn).send().await.unwrap();
                inline.insert(pn.to_string(), doc(d.policy_document()));
            }
            let attached: Vec<String> = sdk
                .iam
                .list_attached_role_policies()
                .role_name(&name)
                .send()
                .await
                .unwrap()
                .attached_policies()
                .iter()
                .filter_map(|a| a.policy_arn().map(str::to_string))
                .collect();
            roles.insert(
                name,
                json!({"path": full.path(), "trust": full.assume_role_policy_document().map(doc), "tags": tags,
                    "maxSession": full.max_session_duration(), "description": full.description(), "inline": inline, "attached": attached}),
            );
        }
        if out.is_truncated() {
            marker = out.marker().map(str::to_string);
        } else {
            break;
        }
    }
    // The authorizer function, its permission, the authorizer, the guarded method.
    let fname = format!("{p}-authorizer");
    // Its package's hash depends on the pools' and clients' ids in its configuration: the
    // configuration and the environment are compared instead (ids substituted below).
    let function = match sdk.lambda.get_function_configuration().function_name(&fname).send().await {
        Ok(f) => {
            let (env, file, _) = deployed_authorizer(sdk, &fname).await;
            // The emulator's endpoints differ between a run through the fault proxy and one
            // without.
            let env: std::collections::BTreeMap<String, String> =
                env.into_iter().filter(|(k, _)| k != "TENANTCTL_JWKS_URL" && k != "TENANTCTL_APIGW_ENDPOINT").collect();
            let config: Value = serde_json::from_slice(&file).unwrap();
            json!({"runtime": f.runtime().map(|r| r.as_str().to_string()), "handler": f.handler(), "role": f.role(),
            "memory": f.memory_size(), "timeout": f.timeout(), "environment": env, "config": config})
        }
        Err(_) => Value::Null,
    };
    let permission = match sdk.lambda.get_policy().function_name(&fname).send().await {
        Ok(pol) => serde_json::from_str::<Value>(pol.policy().unwrap()).unwrap()["Statement"].clone(),
        Err(_) => Value::Null,
    };
    let apis = sdk.apigw.get_rest_apis().limit(500).send().await.unwrap();
    let api = apis.items().iter().find(|a| a.name() == Some(api_name)).expect("rest api").id().unwrap().to_string();
    subst.push((api.clone(), "API".into()));
    let mut authorizers = Vec::new();
    for a in sdk.apigw.get_authorizers().rest_api_id(&api).send().await.unwrap().items() {
        subst.push((a.id().unwrap().to_string(), format!("AUTHORIZER({})", a.name().unwrap_or_default())));
        authorizers.push(
            json!({"name": a.name(), "type": a.r#type().map(|t| t.as_str().to_string()), "uri": a.authorizer_uri(),
            "identitySource": a.identity_source(), "ttl": a.authorizer_result_ttl_in_seconds()}),
        );
    }
    let res = sdk.apigw.get_resources().rest_api_id(&api).send().await.unwrap();
    let orders = res.items().iter().find(|r| r.path() == Some("/orders")).unwrap();
    let m = sdk
        .apigw
        .get_method()
        .rest_api_id(&api)
        .resource_id(orders.id().unwrap())
        .http_method("GET")
        .send()
        .await
        .unwrap();
    let method = json!({"authorizationType": m.authorization_type(), "authorizer": m.authorizer_id()});

    let snap = json!({"pools": pools, "roles": roles, "function": function, "permission": permission,
        "authorizers": authorizers, "method": method});
    // Ids first (they may contain anything), then the platform name.
    let mut text = snap.to_string();
    subst.sort_by_key(|(id, _)| std::cmp::Reverse(id.len()));
    for (id, what) in &subst {
        text = text.replace(id.as_str(), what);
    }
    let text = text.replace(p, "P");
    serde_json::from_str(&text).unwrap()
}

/// Where two snapshots differ (path: left vs right), for the assertion message.
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                diff(l, r, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

fn assert_same(a: &Value, b: &Value, what: &str) {
    let mut d = Vec::new();
    diff(a, b, "", &mut d);
    assert!(d.is_empty(), "{what}: states differ:\n{}", d.join("\n"));
}

/// A fresh platform with its REST API and folder.
async fn fresh(sdk: &Sdk, prefix: &str) -> (String, String, tempfile::TempDir) {
    let p = platform_name(prefix);
    let api = format!("{p}-api");
    rest_api(sdk, &api).await;
    let dir = folder(&p, &api, &tenants());
    (p, api, dir)
}

/// No duplicate, no orphan: exactly the expected pools, one `web` client each, exactly the
/// expected roles; drift sees nothing.
async fn assert_clean(sdk: &Sdk, ep: &str, p: &str, dir: &Path) {
    let pools = platform_pools(sdk, p).await;
    let names: Vec<&str> = pools.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [p.to_string(), format!("{p}-initech")], "pools of {p}: {pools:?}");
    for (_, id) in &pools {
        let c = sdk.cognito.list_user_pool_clients().user_pool_id(id).max_results(60).send().await.unwrap();
        assert_eq!(c.user_pool_clients().len(), 1, "clients of {id}: {:?}", c.user_pool_clients());
    }
    let roles = sdk.iam.list_roles().path_prefix(format!("/tenantctl/{p}/")).send().await.unwrap();
    let mut names: Vec<String> = roles.roles().iter().map(|r| r.role_name().to_string()).collect();
    names.sort();
    let mut want: Vec<String> = ["acme-admin", "acme-member", "globex-member", "initech-admin", "initech-member"]
        .iter()
        .map(|r| format!("{p}-{r}"))
        .chain([format!("{p}-authorizer")])
        .collect();
    want.sort();
    assert_eq!(names, want);
    run_ok(dir, ep, &["drift"], 0);
}

// ---------------------------------------------------------------------------------------
// a. Throttling and HTTP 500s
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn apply_under_throttling_and_500s_equals_a_fault_free_run() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let proxy = FaultProxy::start(&ep, seed());
    proxy.set_rules(vec![Rule::any(Fault::Throttle, 0.20), Rule::any(Fault::Http500, 0.05)]);

    let (faulty, faulty_api, faulty_dir) = fresh(&sdk, "rf").await;
    let (clean, clean_api, clean_dir) = fresh(&sdk, "rc").await;

    let o = run(faulty_dir.path(), &proxy.url(), &["apply", "--auto-approve", "--stats"]);
    let injected = proxy.injected();
    eprintln!(
        "faulty apply: exit {:?}; {}; proxy: {} requests, {} faults injected: {injected:?}",
        o.status.code(),
        stats_line(&o),
        proxy.total(),
        proxy.injected_total()
    );
    assert_eq!(o.status.code(), Some(0), "apply under faults:\n{}", text(&o));
    assert!(proxy.injected_total() > 0, "no fault was injected");
    assert!(retries(&o) > 0, "tenantctl saw no retry: {}", stats_line(&o));

    run_ok(clean_dir.path(), &ep, &["apply", "--auto-approve"], 0);
    // Same endpoint as the apply (the authorizer's JWKS URL is derived from it), faults off.
    proxy.set_rules(vec![]);
    run_ok(faulty_dir.path(), &proxy.url(), &["plan", "--detailed-exitcode"], 0);
    run_ok(clean_dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);

    let a = snapshot(&sdk, &faulty, &faulty_api).await;
    let b = snapshot(&sdk, &clean, &clean_api).await;
    assert_eq!(a["pools"].as_object().unwrap().len(), 2);
    assert_eq!(a["roles"].as_object().unwrap().len(), 6);
    assert_same(&a, &b, "faulty vs fault-free");

    // Faults on every read too: plan through the proxy still answers "converged".
    proxy.set_rules(vec![Rule::any(Fault::Throttle, 0.20), Rule::any(Fault::Http500, 0.05)]);
    let o = run(faulty_dir.path(), &proxy.url(), &["plan", "--detailed-exitcode", "--stats"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// Resets, 503s, latency and IAM propagation errors: apply converges too.
#[tokio::test(flavor = "multi_thread")]
async fn apply_survives_resets_latency_and_propagation_errors() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let proxy = FaultProxy::start(&ep, seed() + 1);
    proxy.set_rules(vec![
        Rule::any(Fault::Reset, 0.05),
        Rule::any(Fault::Http503, 0.05),
        Rule::any(Fault::Latency(50), 0.2),
        Rule::on("iam", "CreateRole", Fault::Propagation, 1.0).times(3),
        Rule::on("lambda", "CreateFunction", Fault::Propagation, 1.0).times(2),
    ]);
    let (p, api, dir) = fresh(&sdk, "rr").await;
    let o = run(dir.path(), &proxy.url(), &["apply", "--auto-approve", "--stats"]);
    eprintln!("apply: exit {:?}; {}; injected: {:?}", o.status.code(), stats_line(&o), proxy.injected());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let inj = proxy.injected();
    assert_eq!(inj.get("iam:CreateRole").and_then(|m| m.get("Propagation")), Some(&3));
    assert_eq!(inj.get("lambda:CreateFunction").and_then(|m| m.get("Propagation")), Some(&2));
    proxy.set_rules(vec![]);
    run_ok(dir.path(), &proxy.url(), &["plan", "--detailed-exitcode"], 0);
    assert_clean(&sdk, &proxy.url(), &p, dir.path()).await;
    let _ = api;
}

/// Quota mode: Cognito answers TooManyRequestsException above the published rates.
#[tokio::test(flavor = "multi_thread")]
async fn apply_stays_within_cognito_quotas() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let proxy = FaultProxy::start(&ep, seed() + 2);
    proxy.set_quota(Some(&FaultProxy::cognito_quotas()));
    let (p, _api, dir) = fresh(&sdk, "rq").await;
    let o = run(dir.path(), &proxy.url(), &["apply", "--auto-approve", "--stats", "--parallelism", "16"]);
    eprintln!(
        "apply under quotas: exit {:?}; {}; quota rejections: {:?}",
        o.status.code(),
        stats_line(&o),
        proxy.injected()
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    run_ok(dir.path(), &proxy.url(), &["plan", "--detailed-exitcode"], 0);
    assert_clean(&sdk, &proxy.url(), &p, dir.path()).await;
}

// ---------------------------------------------------------------------------------------
// b. SIGKILL at a random request, then a plain re-run
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn killed_applies_converge_on_rerun() {
    let Some(ep) = endpoint() else { return };
    let trials: usize = std::env::var("RELIABILITY_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let sdk = sdk(&ep).await;
    let proxy = FaultProxy::start(&ep, seed() + 3);
    let mut rng = fastrand::Rng::with_seed(seed());

    // Reference: a whole apply through the proxy, to count its requests and keep its state.
    let (rp, rapi, rdir) = fresh(&sdk, "rk").await;
    proxy.reset_counts();
    run_ok(rdir.path(), &proxy.url(), &["apply", "--auto-approve"], 0);
    let full = proxy.total();
    let reference = snapshot(&sdk, &rp, &rapi).await;
    eprintln!("reference apply: {full} requests: {:?}", proxy.counts());

    for trial in 0..trials {
        let (p, api, dir) = fresh(&sdk, "rk").await;
        let kill_at = rng.u64(1..=full);
        let hold_answer = rng.bool();
        proxy.reset_counts();
        proxy.hold_after(kill_at, hold_answer);
        let mut child = tenantctl(dir.path(), &proxy.url(), &["apply", "--auto-approve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut exited = None;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                exited = Some(st);
                break;
            }
            if proxy.total() >= kill_at {
                // Let the requests in flight next to it reach the proxy (they are held too).
                std::thread::sleep(Duration::from_millis(30));
                break;
            }
            assert!(Instant::now() < deadline, "trial {trial}: apply neither reached request {kill_at} nor exited");
            std::thread::sleep(Duration::from_millis(2));
        }
        if exited.is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
        let seen = proxy.total();
        let last = proxy.counts();
        proxy.release();
        eprintln!(
            "trial {trial}: kill at request {kill_at}/{full} ({}), {seen} seen{}",
            if hold_answer { "its answer lost" } else { "answered" },
            if exited.is_some() { ", apply had already exited" } else { "" }
        );
        let _ = last;

        // A plain re-run converges, with no duplicate and no orphan.
        // (Through the proxy, faults off: the authorizer's JWKS URL is derived from the endpoint.)
        let o = run(dir.path(), &proxy.url(), &["apply", "--auto-approve"]);
        assert_eq!(o.status.code(), Some(0), "trial {trial} (kill at {kill_at}, {p}): re-run:\n{}", text(&o));
        run_ok(dir.path(), &proxy.url(), &["plan", "--detailed-exitcode"], 0);
        assert_clean(&sdk, &proxy.url(), &p, dir.path()).await;
        assert_same(&snapshot(&sdk, &p, &api).await, &reference, &format!("trial {trial} (kill at {kill_at})"));
    }
}

// ---------------------------------------------------------------------------------------
// c. Two concurrent applies
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_applies_share_one_pool() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let rounds: usize = std::env::var("RELIABILITY_CONCURRENT_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    for round in 0..2 * rounds {
        let (p, _api, dir) = fresh(&sdk, "rx").await;
        if round % 2 == 1 {
            // Only the pools are missing (IAM roles, function and authorizer exist): both runs
            // reach CreateUserPool together, the race the pool adapter has to settle.
            run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
            for (_, id) in platform_pools(&sdk, &p).await {
                sdk.cognito
                    .update_user_pool()
                    .user_pool_id(&id)
                    .deletion_protection(aws_sdk_cognitoidentityprovider::types::DeletionProtectionType::Inactive)
                    .send()
                    .await
                    .unwrap();
                sdk.cognito.delete_user_pool().user_pool_id(&id).send().await.unwrap();
            }
        }
        let a = tenantctl(dir.path(), &ep, &["apply", "--auto-approve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let b = tenantctl(dir.path(), &ep, &["apply", "--auto-approve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let codes = (a.status.code(), b.status.code());
        eprintln!("round {round} ({}): exits {codes:?}", if round % 2 == 1 { "pools only" } else { "fresh" });
        for o in [&a, &b] {
            match o.status.code() {
                Some(0) => {}
                Some(1) => {
                    let t = text(o).to_lowercase();
                    for l in String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .filter(|l| l.contains("failed:") || l.contains("rror"))
                        .take(2)
                    {
                        eprintln!("  exit 1: {l}");
                    }
                    assert!(
                        t.contains("conflict")
                            || t.contains("concurrent")
                            || t.contains("another")
                            || t.contains("already exists"),
                        "unclear failure:\n{}",
                        text(o)
                    );
                }
                c => panic!("exit {c:?}:\n{}", text(o)),
            }
        }
        assert!(codes != (Some(1), Some(1)), "both applies failed:\n{}\n{}", text(&a), text(&b));
        assert_eq!(pools_named(&sdk, &p).await.len(), 1, "round {round}: shared pools of {p}");
        assert_eq!(pools_named(&sdk, &format!("{p}-initech")).await.len(), 1, "round {round}: silo pools");
        // Whatever the outcome, a plain re-run converges, with nothing extra.
        run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
        run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);
        assert_clean(&sdk, &ep, &p, dir.path()).await;
    }
}

// ---------------------------------------------------------------------------------------
// d. Adversarial inputs: exit 1, zero requests
// ---------------------------------------------------------------------------------------

#[test]
fn adversarial_inputs_fail_without_any_aws_request() {
    // Needs no emulator: a proxy in front of a dead port counts what would have gone out.
    let upstream = match std::env::var("TENANTCTL_TEST_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => {
            let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", dead.local_addr().unwrap())
        }
    };
    let proxy = FaultProxy::start(&upstream, 0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut cases: Vec<_> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 30, "{} adversarial cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for args in [&["apply", "--auto-approve"][..], &["plan"][..]] {
            proxy.reset_counts();
            let o = run(case, &proxy.url(), args);
            let name = case.file_name().unwrap().to_string_lossy();
            if o.status.code() != Some(1) {
                failures.push(format!("{name} {args:?}: exit {:?}\n{}", o.status.code(), text(&o)));
            }
            if proxy.total() != 0 {
                failures.push(format!("{name} {args:?}: {} AWS requests: {:?}", proxy.total(), proxy.counts()));
            }
        }
    }
    eprintln!("{} adversarial cases x 2 commands", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// e. Secrets
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_never_appears_in_output() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("rs");
    let api = format!("{p}-api");
    rest_api(&sdk, &api).await;
    let dir = folder(&p, &api, &[("acme", "pooled", None), ("initech", "silo", None)]);
    let d = dir.path();
    let platform = std::fs::read_to_string(d.join("tenants/platform.yaml")).unwrap();
    let with_secret = platform.replace("    - name: web\n", "    - name: web\n      generateSecret: true\n");
    assert_ne!(platform, with_secret);
    write(d, "tenants/platform.yaml", &with_secret);

    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    fn keep(outputs: &mut Vec<(String, Vec<u8>)>, what: &str, o: &Output) {
        outputs.push((format!("{what} stdout"), o.stdout.clone()));
        outputs.push((format!("{what} stderr"), o.stderr.clone()));
    }
    keep(&mut outputs, "plan (before)", &run_ok(d, &ep, &["plan", "--format", "json"], 0));
    keep(&mut outputs, "apply", &run_ok(d, &ep, &["-v", "apply", "--auto-approve", "--stats"], 0));

    let mut secrets = Vec::new();
    for (_, id) in platform_pools(&sdk, &p).await {
        for c in sdk.cognito.list_user_pool_clients().user_pool_id(&id).send().await.unwrap().user_pool_clients() {
            let full = sdk
                .cognito
                .describe_user_pool_client()
                .user_pool_id(&id)
                .client_id(c.client_id().unwrap())
                .send()
                .await
                .unwrap();
            let s = full.user_pool_client().unwrap().client_secret().expect("a generated secret").to_string();
            assert!(s.len() >= 16);
            secrets.push(s);
        }
    }
    assert_eq!(secrets.len(), 2);

    // A change to the clients, so that plan, apply and drift all talk about them.
    let changed = with_secret.replace("callbackUrls: [\"https://app.", "callbackUrls: [\"https://app2.");
    write(d, "tenants/platform.yaml", &changed);
    let planfile = d.join("plan.out");
    let pf = planfile.to_str().unwrap();
    for fmt in ["text", "json", "markdown"] {
        keep(&mut outputs, &format!("plan {fmt}"), &run_ok(d, &ep, &["-v", "plan", "--format", fmt], 0));
        keep(
            &mut outputs,
            &format!("plan --detailed-exitcode {fmt}"),
            &run_ok(d, &ep, &["plan", "--detailed-exitcode", "--format", fmt], 2),
        );
    }
    for fmt in ["text", "json", "markdown"] {
        keep(&mut outputs, &format!("drift {fmt}"), &run_ok(d, &ep, &["-v", "drift", "--format", fmt], 2));
    }
    for fmt in ["text", "json"] {
        keep(&mut outputs, &format!("inventory {fmt}"), &run_ok(d, &ep, &["-v", "inventory", "--format", fmt], 0));
    }
    keep(&mut outputs, "plan --out", &run_ok(d, &ep, &["plan", "--out", pf], 0));
    outputs.push(("saved plan file".into(), std::fs::read(&planfile).unwrap()));
    keep(&mut outputs, "apply PLANFILE", &run_ok(d, &ep, &["-v", "apply", pf, "--auto-approve", "--stats"], 0));
    keep(&mut outputs, "apply (converged)", &run_ok(d, &ep, &["apply", "--auto-approve"], 0));
    keep(&mut outputs, "drift (converged)", &run_ok(d, &ep, &["drift", "--format", "json"], 0));
    // An error path that involves the client: a stale plan.
    write(d, "tenants/platform.yaml", &with_secret);
    keep(&mut outputs, "plan --out (2)", &run_ok(d, &ep, &["plan", "--out", pf], 0));
    outputs.push(("saved plan file (2)".into(), std::fs::read(&planfile).unwrap()));
    write(d, "tenants/platform.yaml", &changed);
    keep(&mut outputs, "apply stale", &run_ok(d, &ep, &["apply", pf, "--auto-approve"], 1));

    let mut leaks = Vec::new();
    for (what, bytes) in &outputs {
        let t = String::from_utf8_lossy(bytes);
        for s in &secrets {
            if t.contains(s.as_str()) {
                leaks.push(what.clone());
            }
        }
    }
    assert!(leaks.is_empty(), "the client secret appears in: {leaks:?}");
    let all: usize = outputs.iter().map(|(_, b)| b.len()).sum();
    eprintln!("{} outputs, {all} bytes scanned, no secret", outputs.len());
    // The plan shows the field, as sensitive.
    let plan_text = outputs
        .iter()
        .find(|(w, _)| w == "plan text stdout")
        .map(|(_, b)| String::from_utf8_lossy(b).to_string())
        .unwrap();
    assert!(plan_text.contains("app_client") || plan_text.contains("web"), "{plan_text}");
}

// ---------------------------------------------------------------------------------------
// Benchmark (run by scripts/bench; ignored in the test suite): 200 new pooled tenants x 2
// roles through the proxy's quota mode, with tenantctl's default limits. The proxy holds the
// published Cognito quotas (per account and per user pool) and an IAM write quota tenantctl
// is not told; the floor is the busiest bucket's requests / its rate.
// ---------------------------------------------------------------------------------------

/// The IAM write rate the proxy enforces in the benchmark (IAM publishes none; tenantctl
/// starts lower and has to find it).
const BENCH_IAM_WRITE_RATE: f64 = 25.0;

/// The quota benches' setup: a fault proxy holding the published Cognito quotas and the IAM
/// write rate, and a folder of `n` tenants of `isolation` (ids `t000`.. or `s000`..).
async fn quota_setup(
    ep: &str,
    seed_offset: u64,
    prefix: &str,
    isolation: &str,
    n: usize,
) -> (FaultProxy, tempfile::TempDir) {
    let sdk = sdk(ep).await;
    let proxy = FaultProxy::start(ep, seed() + seed_offset);
    proxy.set_quota(Some(&FaultProxy::cognito_quotas()));
    proxy.set_iam_write_quota(Some(BENCH_IAM_WRITE_RATE));
    let p = platform_name(prefix);
    let api = format!("{p}-api");
    rest_api(&sdk, &api).await;
    let letter = if isolation == "silo" { "s" } else { "t" };
    let ids: Vec<String> = (0..n).map(|i| format!("{letter}{i:03}")).collect();
    let tenants: Vec<(&str, &str, Option<&str>)> = ids.iter().map(|i| (i.as_str(), isolation, None)).collect();
    (proxy, folder(&p, &api, &tenants))
}

/// Requests the proxy refused for a quota, of the operations starting with `service`.
fn refused(injected: &BTreeMap<String, BTreeMap<String, u64>>, service: &str) -> u64 {
    injected.iter().filter(|(k, _)| k.starts_with(service)).filter_map(|(_, m)| m.get("Quota")).sum()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn quota_bench_200_tenants() {
    let Some(ep) = endpoint() else { return };
    let (proxy, dir) = quota_setup(&ep, 7, "qb", "pooled", 200).await;
    // Emulator mode (as the plan below); -q: only the stats reach stderr. Default parallelism
    // and rate limits.
    let start = Instant::now();
    let o = run(dir.path(), &proxy.url(), &["apply", "--auto-approve", "-q", "--stats"]);
    let wall = start.elapsed().as_secs_f64();
    assert!(o.status.success(), "apply failed under quotas:\n{}", text(&o));
    let usage = proxy.bucket_usage();
    let binding = usage
        .iter()
        .max_by(|a, b| (a.passed as f64 / a.rate).total_cmp(&(b.passed as f64 / b.rate)))
        .expect("the proxy's buckets")
        .clone();
    let floor = binding.passed as f64 / binding.rate;
    let injected = proxy.injected();
    let (cognito_rejected, iam_throttled) = (refused(&injected, "cognito-idp:"), refused(&injected, "iam:"));
    let counts = proxy.counts();
    let groups = counts.get("cognito-idp:CreateGroup").copied().unwrap_or(0);
    let stats = stats_line(&o);
    let ratio = wall / floor;
    println!(
        "QUOTA_BENCH tenants=200 roles=400 floor_s={floor:.1} (binding: {} {} requests / {}/s) wall_s={wall:.1} \
         ratio={ratio:.3} (target <= 1.15: {}) cognito_rejected={cognito_rejected} iam_throttled={iam_throttled} \
         iam_throttled_retried_to_success={} create_group={groups} | {stats}",
        binding.name,
        binding.passed,
        binding.rate,
        if ratio <= 1.15 { "met" } else { "missed" },
        if o.status.success() { "all" } else { "no" },
    );
    for u in usage.iter().filter(|u| u.passed > 0) {
        eprintln!("  bucket {}: {} requests at {}/s = {:.1} s", u.name, u.passed, u.rate, u.passed as f64 / u.rate);
    }
    assert_eq!(groups, 400);
    assert_eq!(cognito_rejected, 0, "Cognito refused calls: {injected:?}");
    // Every throttled IAM call was retried (the apply succeeded, so each retry succeeded).
    assert!(retries(&o) >= iam_throttled, "{stats} vs {iam_throttled} IAM calls throttled");
    run_ok(dir.path(), &proxy.url(), &["plan", "--detailed-exitcode"], 0);
    // Speed is reported (ratio, target 1.15 in the line), not asserted: a benchmark measures.
}

/// Issue 21: n silo tenants from scratch (each its own pool, two groups, a resource server,
/// an app client, two roles) through the fault proxy's quota buckets, as `quota_bench_200_tenants`.
/// The floor is the busiest *write* quota (pool creation, the per-account and per-pool
/// Cognito write categories, IAM's write rate): what the apply has to do. The reads the apply
/// adds (its observation, the twin checks after each create) are reported next to it: they
/// are tenantctl's cost, and count against the ratio. `TENANTCTL_BENCH_SILO` sets n (300).
/// `scripts/bench quota-silo`, or `TENANTCTL_TEST_ENDPOINT=<emulator> cargo test --test
/// reliability quota_floor_silo -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn quota_floor_silo_tenants() {
    let Some(ep) = endpoint() else { return };
    let n: usize = std::env::var("TENANTCTL_BENCH_SILO").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let (proxy, dir) = quota_setup(&ep, 8, "qs", "silo", n).await;
    let start = Instant::now();
    let o = run(dir.path(), &proxy.url(), &["apply", "--auto-approve", "-q", "--stats"]);
    let wall = start.elapsed().as_secs_f64();
    assert!(o.status.success(), "apply failed under quotas:\n{}", text(&o));
    let usage = proxy.bucket_usage();
    let secs = |u: &&faultproxy::BucketUse| u.passed as f64 / u.rate;
    let busiest = |writes: bool| {
        usage
            .iter()
            .filter(|u| !writes || u.name.contains("Update") || u.name == "iam write")
            .max_by(|a, b| secs(a).total_cmp(&secs(b)))
            .expect("the proxy's buckets")
            .clone()
    };
    let (binding, busiest_any) = (busiest(true), busiest(false));
    let floor = binding.passed as f64 / binding.rate;
    let injected = proxy.injected();
    let (cognito_rejected, iam_throttled) = (refused(&injected, "cognito-idp:"), refused(&injected, "iam:"));
    let counts = proxy.counts();
    let count = |op: &str| counts.get(op).copied().unwrap_or(0);
    let ratio = wall / floor;
    let refused_ops: Vec<String> = injected
        .iter()
        .filter_map(|(k, m)| m.get("Quota").filter(|_| k.starts_with("cognito-idp:")).map(|n| format!("{k} {n}")))
        .collect();
    println!(
        "QUOTA_FLOOR_SILO tenants={n} floor_s={floor:.1} (binding write quota: {} {} requests / {}/s; busiest of all: {} {} / {}/s = {:.1} s) \
         wall_s={wall:.1} ratio={ratio:.3} (target <= 1.15: {}) cognito_rejected={cognito_rejected} {refused_ops:?} iam_throttled={iam_throttled} \
         create_user_pool={} list_user_pools={} list_user_pool_clients={} get_user_pool_mfa_config={} | {}",
        binding.name,
        binding.passed,
        binding.rate,
        busiest_any.name,
        busiest_any.passed,
        busiest_any.rate,
        busiest_any.passed as f64 / busiest_any.rate,
        if ratio <= 1.15 { "met" } else { "missed" },
        count("cognito-idp:CreateUserPool"),
        count("cognito-idp:ListUserPools"),
        count("cognito-idp:ListUserPoolClients"),
        count("cognito-idp:GetUserPoolMfaConfig"),
        stats_line(&o),
    );
    let mut by_time: Vec<_> = usage.iter().filter(|u| u.passed > 0 && !u.name.contains(" pool ")).collect();
    by_time.sort_by(|a, b| secs(b).total_cmp(&secs(a)));
    for u in by_time {
        eprintln!("  bucket {}: {} requests at {}/s = {:.1} s", u.name, u.passed, u.rate, secs(&u));
    }
    // Where the time went: requests per 5 s by category (the proxy's own names).
    let timeline = proxy.timeline();
    let t0 = timeline.first().map(|(t, _)| *t).unwrap_or_default();
    let mut per: BTreeMap<String, BTreeMap<u64, u64>> = BTreeMap::new();
    for (t, op) in &timeline {
        let (service, name) = op.split_once(':').unwrap_or(("", op));
        let group = match service {
            "cognito-idp" => faultproxy::cognito_category(name).unwrap_or("cognito other").to_string(),
            "iam" if ["Get", "List"].iter().any(|p| name.starts_with(p)) => "iam read".into(),
            "iam" => "iam write".into(),
            s => s.to_string(),
        };
        *per.entry(group).or_default().entry((*t - t0).as_secs() / 5).or_default() += 1;
    }
    for (group, slices) in &per {
        let line: Vec<String> = (0..=slices.keys().max().copied().unwrap_or(0))
            .map(|s| slices.get(&s).copied().unwrap_or(0).to_string())
            .collect();
        eprintln!("  per 5 s {group}: {}", line.join(" "));
    }
    assert_eq!(count("cognito-idp:CreateUserPool") as usize, n);
    assert_eq!(cognito_rejected, 0, "Cognito refused calls: {injected:?}");
    assert!(retries(&o) >= iam_throttled, "{} vs {iam_throttled} IAM calls throttled", stats_line(&o));
    run_ok(dir.path(), &proxy.url(), &["plan", "--detailed-exitcode"], 0);
}
