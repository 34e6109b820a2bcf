//! Real-AWS fidelity (issue 10), against the strict emulator: the rules AWS enforces and moto
//! alone does not (tests/emulator/strict.py). Each test reads back with its own AWS calls or
//! from the emulator's own request log, never from tenantctl's output.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;

/// The tests of this file run one at a time: the per-pool pacing test measures when the
/// requests of one tenantctl process reach the emulator, and a sibling test's tenantctl and
/// emulator starving the 2-core machine meanwhile delay some sends and bunch them up (seen
/// as 6 group writes within one second, the emulator's own per-pool rule throttling none).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn platform(name: &str, clients: &str) -> String {
    format!(
        r#"apiVersion: tenantctl/v1
kind: Platform
name: {name}
region: us-east-1
userPool:
  tenantAttribute: tenant_id
  appClients:
{clients}roles:
  admin:
    precedence: 1
    policies: [tenant-data-rw]
  member:
    precedence: 10
    policies: [tenant-data-ro]
trust:
  principals: ["arn:aws:iam::{ACCOUNT}:role/backend"]
"#
    )
}

/// The platform and the pooled tenants, all in one multi-document file.
fn folder_with(platform_text: &str, tenants: &[String]) -> tempfile::TempDir {
    let dir = folder_for(platform_text);
    let docs: Vec<String> = tenants.iter().map(|id| tenant_yaml(id, "pooled", None)).collect();
    if !docs.is_empty() {
        write(dir.path(), "tenants/tenants.yaml", &docs.join("---\n"));
    }
    dir
}

const TWO_CLIENTS: &str = "    - name: plain\n    - name: backend\n      generateSecret: true\n      authFlows: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH]\n";

/// A client without `authFlows` gets an explicit SRP + refresh list (AWS would enable
/// CUSTOM_AUTH too and the plan would never settle); a client with a secret plans to zero;
/// flipping `generateSecret` is a plan error naming the client, with 0 writes.
#[tokio::test(flavor = "multi_thread")]
async fn clients_without_auth_flows_or_with_secrets_settle_and_secret_flip_is_refused() {
    let _serial = SERIAL.lock().await;
    let Some(ep) = endpoint() else { return };
    let name = platform_name("fid");
    let dir = folder_with(&platform(&name, TWO_CLIENTS), &["acme".to_string()]);
    run_ok(dir.path(), &ep, &["apply", "--auto-approve", "--rate-scale", "0"], 0);
    run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);

    let sdk = sdk(&ep).await;
    let pool = pool_id(&sdk, &name).await;
    let clients = sdk.cognito.list_user_pool_clients().user_pool_id(&pool).max_results(60).send().await.unwrap();
    let mut flows = BTreeMap::new();
    for c in clients.user_pool_clients() {
        let d = sdk
            .cognito
            .describe_user_pool_client()
            .user_pool_id(&pool)
            .client_id(c.client_id().unwrap())
            .send()
            .await
            .unwrap();
        let d = d.user_pool_client().unwrap();
        let f: BTreeSet<String> = d.explicit_auth_flows().iter().map(|f| f.as_str().to_string()).collect();
        flows.insert(d.client_name().unwrap().to_string(), (f, d.client_secret().is_some()));
    }
    let srp_refresh: BTreeSet<String> = ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"].map(String::from).into();
    assert_eq!(flows["plain"], (srp_refresh.clone(), false), "{flows:?}");
    assert_eq!(flows["backend"], (srp_refresh, true), "{flows:?}");

    // Flip the secret: plan and apply fail naming the client, and nothing is written.
    write(
        dir.path(),
        "tenants/platform.yaml",
        &platform(&name, &TWO_CLIENTS.replace("generateSecret: true", "generateSecret: false")),
    );
    let o = run_ok(dir.path(), &ep, &["plan"], 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`backend`") && err.contains("generateSecret"), "{}", text(&o));
    let o = run_ok(dir.path(), &ep, &["--stats", "apply", "--auto-approve", "--rate-scale", "0"], 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("`backend`"), "{}", text(&o));
    let clients_after = sdk.cognito.list_user_pool_clients().user_pool_id(&pool).max_results(60).send().await.unwrap();
    assert_eq!(clients_after.user_pool_clients().len(), 2);
}

/// With the account's RolesQuota below what the folder needs, plan and apply exit 1 naming
/// the quota, and no role is created. The emulator is the test's own: the quota is account-wide.
#[tokio::test(flavor = "multi_thread")]
async fn roles_quota_is_checked_before_any_write() {
    let _serial = SERIAL.lock().await;
    let em = PrivateEmulator::start();
    let ep = em.endpoint.clone();
    let sdk = sdk(&ep).await;
    let before = sdk.iam.get_account_summary().send().await.unwrap();
    let roles_now =
        before.summary_map().and_then(|m| m.get(&aws_sdk_iam::types::SummaryKeyType::Roles).copied()).unwrap_or(0);
    // Three tenants x two roles need 6 roles; leave room for 5.
    em.control("POST", "/_tenantctl/strict", Some(&serde_json::json!({"roles_quota": roles_now + 5})));
    let name = platform_name("quota");
    let tenants: Vec<String> = ["acme", "globex", "initech"].map(String::from).to_vec();
    let dir = folder_with(&platform(&name, "    - name: web\n"), &tenants);
    for args in [&["plan"][..], &["apply", "--auto-approve", "--rate-scale", "0"][..]] {
        let o = run_ok(dir.path(), &ep, args, 1);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("RolesQuota") && err.contains(&format!("> {}", roles_now + 5)), "{}", text(&o));
    }
    let roles = sdk.iam.list_roles().path_prefix(format!("/tenantctl/{name}/")).send().await.unwrap();
    assert!(roles.roles().is_empty(), "roles were created: {:?}", roles.roles());
    assert!(pools_named(&sdk, &name).await.is_empty(), "a pool was created");
    // Room made: the same apply goes through.
    em.control("POST", "/_tenantctl/strict", Some(&serde_json::json!({"roles_quota": roles_now + 6})));
    run_ok(dir.path(), &ep, &["apply", "--auto-approve", "--rate-scale", "0"], 0);
}

/// 300 pooled tenants with two roles each, from scratch, through the strict emulator: no call
/// is throttled by Cognito's per-pool rule, and no one-second window holds more than 5 group
/// writes to the pool, as measured from the requests the emulator saw.
///
/// `--rate-scale 4` lifts the account-wide rates (IAM's, which AWS does not publish) to keep
/// the test short; the per-pool quota is published and never scaled up.
#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_pooled_tenants_stay_under_the_per_pool_rate() {
    let _serial = SERIAL.lock().await;
    let em = PrivateEmulator::start();
    let ep = em.endpoint.clone();
    let name = platform_name("pace");
    let tenants: Vec<String> = (0..300).map(|i| format!("t{i:03}")).collect();
    let dir = folder_with(&platform(&name, "    - name: web\n"), &tenants);
    em.control("POST", "/_tenantctl/strict/reset", None);
    run_ok(dir.path(), &ep, &["apply", "--auto-approve", "--rate-scale", "4"], 0);
    let log = em.control("GET", "/_tenantctl/strict/log", None);
    let requests = log["requests"].as_array().expect("requests in the strict log");
    let throttled: Vec<&serde_json::Value> = requests.iter().filter(|r| r["throttled"] == true).collect();
    assert!(
        throttled.is_empty(),
        "{} calls throttled by the per-pool rule: {:?}",
        throttled.len(),
        &throttled[..throttled.len().min(5)]
    );
    let mut by_pool: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in requests {
        let op = r["operation"].as_str().unwrap_or_default();
        if matches!(op, "CreateGroup" | "UpdateGroup" | "DeleteGroup") {
            by_pool
                .entry(r["pool"].as_str().unwrap_or_default().to_string())
                .or_default()
                .push(r["t"].as_f64().unwrap());
        }
    }
    let writes: usize = by_pool.values().map(Vec::len).sum();
    assert_eq!(writes, 600, "group writes seen: {writes}");
    for (pool, mut ts) in by_pool {
        ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let worst = (0..ts.len()).map(|i| ts[i..].iter().take_while(|t| **t < ts[i] + 1.0).count()).max().unwrap_or(0);
        if worst > 5 {
            let i = (0..ts.len()).find(|&i| ts[i..].iter().take_while(|t| **t < ts[i] + 1.0).count() == worst).unwrap();
            panic!("pool {pool}: {worst} group writes within one second: {:?}", &ts[i..i + worst]);
        }
        eprintln!(
            "pool {pool}: {} group writes, at most {worst} in any second, {:.1} s",
            ts.len(),
            ts[ts.len() - 1] - ts[0]
        );
    }
    run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);
}

/// Offboarding a silo tenant whose pool has a hosted-UI domain and whose role sits in an
/// instance profile: the domain goes before the pool, the role leaves the profile before it is
/// deleted, and the plan shows deletion protection turned off as its own change.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_handles_domains_instance_profiles_and_deletion_protection() {
    let _serial = SERIAL.lock().await;
    let Some(ep) = endpoint() else { return };
    let name = platform_name("off");
    let dir = folder_with(&platform(&name, "    - name: web\n"), &["acme".to_string()]);
    write(dir.path(), "tenants/initech.yaml", &tenant_yaml("initech", "silo", Some("admin")));
    run_ok(dir.path(), &ep, &["apply", "--auto-approve", "--rate-scale", "0"], 0);
    let sdk = sdk(&ep).await;
    let silo = pool_id(&sdk, &format!("{name}-initech")).await;
    let live = sdk.cognito.describe_user_pool().user_pool_id(&silo).send().await.unwrap();
    assert_eq!(
        live.user_pool().unwrap().deletion_protection(),
        Some(&aws_sdk_cognitoidentityprovider::types::DeletionProtectionType::Active)
    );
    // Out of band: a hosted-UI domain on the silo pool, the tenant's role in an instance profile.
    sdk.cognito.create_user_pool_domain().user_pool_id(&silo).domain(format!("{name}-initech")).send().await.unwrap();
    let profile = format!("{name}-profile");
    sdk.iam.create_instance_profile().instance_profile_name(&profile).send().await.unwrap();
    let role = format!("{name}-initech-admin");
    sdk.iam.add_role_to_instance_profile().instance_profile_name(&profile).role_name(&role).send().await.unwrap();

    let o = run_ok(dir.path(), &ep, &["destroy", "--tenant", "initech", "--auto-approve"], 0);
    assert!(text(&o).contains("deletion_protection"), "the plan shows protection turned off:\n{}", text(&o));
    assert!(sdk.cognito.describe_user_pool().user_pool_id(&silo).send().await.is_err(), "pool deleted");
    assert!(sdk.iam.get_role().role_name(&role).send().await.is_err(), "role deleted");
    let p = sdk.iam.get_instance_profile().instance_profile_name(&profile).send().await.unwrap();
    assert!(p.instance_profile().unwrap().roles().is_empty(), "the profile stays, without the role");
}
