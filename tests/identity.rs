//! Identity features (contract §1.4) on one platform: a hosted-UI domain, the plus plan with
//! threat protection, two triggers, the pool's own identity provider and tenants' OIDC and
//! SAML providers (`identity_provider`) with their `<tenant>-sso` clients, CloudWatch alarms
//! per pool (`alarm`), the provider-to-tenant map of the authorizer. Applied to the emulator,
//! read back with the test's own AWS calls, drift repaired, and the providers' secrets never
//! shown.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:security-alerts";

/// Environment variable names and secret values of one test (unique per process).
struct Secrets {
    google_var: String,
    google: String,
    okta_var: String,
    okta: String,
}

impl Secrets {
    fn new(p: &str) -> Secrets {
        let up = p.to_ascii_uppercase();
        Secrets {
            google_var: format!("TCTL_{up}_GOOGLE_SECRET"),
            google: format!("gsecret-{p}-Zq8vW2"),
            okta_var: format!("TCTL_{up}_OKTA_SECRET"),
            okta: format!("oktasecret-{p}-Lm4xR9"),
        }
    }
}

/// The platform of contract §1.4 whole: a hosted-UI domain, the plus plan with threat
/// protection, two triggers (`pool_extra`), the pool's Google provider, monitoring.
fn platform_text(p: &str, api: &str, s: &Secrets, pool_extra: &str) -> String {
    let idps = format!(
        "{pool_extra}  identityProviders:\n    - {{name: Google, type: google, clientId: g-123.apps.googleusercontent.com, clientSecretEnv: {}, scopes: [openid, email], attributeMapping: {{email: email}}}}\n",
        s.google_var
    );
    let mut text = platform_yaml(p, api, &idps);
    text.push_str(&format!(
        "monitoring:\n  snsTopicArn: \"{TOPIC}\"\n  alarms:\n    signInThrottles: {{threshold: 10, periodSeconds: 300}}\n    failedSignInRatio: {{threshold: 0.2, periodSeconds: 300}}\n"
    ));
    text
}

fn acme(s: &Secrets) -> String {
    format!(
        "{}identityProviders:\n  - name: okta\n    type: oidc\n    issuer: https://acme.okta.example\n    clientId: 0oa1example\n    clientSecretEnv: {}\n    attributeMapping: {{email: email}}\n",
        tenant_yaml("acme", "pooled", None),
        s.okta_var
    )
}

fn initech() -> String {
    format!(
        "{}identityProviders:\n  - name: adfs\n    type: saml\n    metadataUrl: https://adfs.initech.example/FederationMetadata.xml\n    attributeMapping: {{email: \"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress\"}}\n",
        tenant_yaml("initech", "silo", None)
    )
}

/// Runs tenantctl in emulator mode with the secrets set (`with_secrets`) or unset.
fn run_s(d: &Path, ep: &str, s: &Secrets, with_secrets: bool, args: &[&str]) -> Output {
    let (g, o) = if with_secrets { (Some(s.google.as_str()), Some(s.okta.as_str())) } else { (None, None) };
    run_with(d, ep, args, &[("TENANTCTL_EMULATOR", Some("1")), (s.google_var.as_str(), g), (s.okta_var.as_str(), o)])
}

fn ok(o: Output, args: &[&str], code: i32) -> Output {
    assert_eq!(o.status.code(), Some(code), "tenantctl {args:?}:\n{}", text(&o));
    o
}

async fn cloudwatch(ep: &str) -> aws_sdk_cloudwatch::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(ep)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    aws_sdk_cloudwatch::Client::new(&conf)
}

async fn idp(
    sdk: &Sdk,
    pool: &str,
    name: &str,
) -> Option<aws_sdk_cognitoidentityprovider::types::IdentityProviderType> {
    match sdk.cognito.describe_identity_provider().user_pool_id(pool).provider_name(name).send().await {
        Ok(o) => o.identity_provider().cloned(),
        Err(_) => None,
    }
}

async fn alarm(cw: &aws_sdk_cloudwatch::Client, name: &str) -> Option<aws_sdk_cloudwatch::types::MetricAlarm> {
    let out = cw.describe_alarms().alarm_names(name).send().await.unwrap();
    out.metric_alarms().first().cloned()
}

async fn client_id(sdk: &Sdk, pool: &str, name: &str) -> String {
    let out = sdk.cognito.list_user_pool_clients().user_pool_id(pool).max_results(60).send().await.unwrap();
    out.user_pool_clients().iter().find(|c| c.client_name() == Some(name)).unwrap().client_id().unwrap().to_string()
}

async fn client_names(sdk: &Sdk, pool: &str) -> Vec<String> {
    let out = sdk.cognito.list_user_pool_clients().user_pool_id(pool).max_results(60).send().await.unwrap();
    out.user_pool_clients().iter().filter_map(|c| c.client_name().map(str::to_string)).collect()
}

async fn describe_client(
    sdk: &Sdk,
    pool: &str,
    name: &str,
) -> aws_sdk_cognitoidentityprovider::types::UserPoolClientType {
    let id = client_id(sdk, pool, name).await;
    let out = sdk.cognito.describe_user_pool_client().user_pool_id(pool).client_id(id).send().await.unwrap();
    out.user_pool_client().unwrap().clone()
}

fn changes_of<'a>(plan: &'a serde_json::Value, resource: &str) -> Vec<&'a serde_json::Value> {
    plan["changes"].as_array().unwrap().iter().filter(|c| c["resource"] == resource).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_features_apply_read_back_drift_and_keep_secrets() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let cw = cloudwatch(&ep).await;
    let p = platform_name("idf");
    let s = Secrets::new(&p);
    let api = format!("{p}-api");
    rest_api(&sdk, &api).await;
    let role = lambda_role(&sdk, &format!("{p}-trigger-role")).await;
    let presignup = trigger_function(&sdk, &format!("{p}-presignup"), &role).await;
    let claims = trigger_function(&sdk, &format!("{p}-claims"), &role).await;
    let pool_extra = format!(
        "  domain: {p}-login\n  featurePlan: plus\n  threatProtection: audit\n  triggers:\n    preSignUp: {p}-presignup\n    preTokenGeneration: {claims}\n"
    );
    let dir = folder_for(&platform_text(&p, &api, &s, &pool_extra));
    let d = dir.path();
    write(d, "tenants/acme.yaml", &acme(&s));
    write(d, "tenants/initech.yaml", &initech());
    // Everything tenantctl prints (and the plan file), to grep for the secrets at the end.
    let mut seen: Vec<(String, Vec<u8>)> = Vec::new();

    // A missing secret variable: a named error before anything is written.
    let args = ["apply", "--auto-approve"];
    let o = ok(run_s(d, &ep, &s, false, &args), &args, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&s.google_var) && err.contains(&s.okta_var), "{err}");
    assert!(pools_named(&sdk, &p).await.is_empty(), "a pool was created before the error");
    keep(&mut seen, "apply without secrets", &o);

    // Planned: the pool's own provider in both pools, each tenant's in its pool, two alarms per pool.
    let args = ["plan", "--format", "json"];
    let o = ok(run_s(d, &ep, &s, true, &args), &args, 0);
    keep(&mut seen, "plan json", &o);
    let plan = json(&o);
    let mut idps: Vec<String> =
        changes_of(&plan, "identity_provider").iter().map(|c| c["address"].as_str().unwrap().to_string()).collect();
    idps.sort();
    assert_eq!(
        idps,
        [
            "platform/pool/identity_provider/Google",
            "platform/pool/identity_provider/acme-okta",
            "tenant/initech/pool/identity_provider/Google",
            "tenant/initech/pool/identity_provider/initech-adfs",
        ],
        "{plan:#}"
    );
    let google = changes_of(&plan, "identity_provider")
        .into_iter()
        .find(|c| c["address"] == "platform/pool/identity_provider/Google")
        .unwrap();
    let secret = google["fields"].as_array().unwrap().iter().find(|f| f["path"] == "client_secret").unwrap();
    assert!(secret["after"].as_str().unwrap().starts_with("(sensitive)"), "{secret}");
    assert_eq!(changes_of(&plan, "alarm").len(), 4, "{plan:#}");
    // Each tenant with a provider gets its SSO client, in its own pool.
    let mut clients: Vec<&str> =
        changes_of(&plan, "app_client").iter().map(|c| c["address"].as_str().unwrap()).collect();
    clients.sort();
    assert_eq!(
        clients,
        [
            "platform/pool/app_client/acme-sso",
            "platform/pool/app_client/web",
            "tenant/initech/pool/app_client/initech-sso",
            "tenant/initech/pool/app_client/web",
        ],
        "{plan:#}"
    );

    let plan_file = d.join("identity.plan");
    let args = ["plan", "--out", plan_file.to_str().unwrap()];
    keep(&mut seen, "plan --out", &ok(run_s(d, &ep, &s, true, &args), &args, 0));
    seen.push(("plan file".into(), std::fs::read(&plan_file).unwrap()));
    let args = ["apply", plan_file.to_str().unwrap(), "--auto-approve", "-v"];
    keep(&mut seen, "apply", &ok(run_s(d, &ep, &s, true, &args), &args, 0));
    let args = ["plan", "--detailed-exitcode"];
    keep(&mut seen, "plan converged", &ok(run_s(d, &ep, &s, true, &args), &args, 0));

    // Read back: the pools' plan, threat protection, triggers and domains.
    let shared = pool_id(&sdk, &p).await;
    let silo = pool_id(&sdk, &format!("{p}-initech")).await;
    for (pool, domain) in [(&shared, format!("{p}-login")), (&silo, format!("{p}-login-initech"))] {
        let up = sdk.cognito.describe_user_pool().user_pool_id(pool).send().await.unwrap().user_pool.unwrap();
        assert_eq!(up.user_pool_tier().map(|t| t.as_str()), Some("PLUS"));
        assert_eq!(up.user_pool_add_ons().map(|a| a.advanced_security_mode().as_str()), Some("AUDIT"));
        let l = up.lambda_config().expect("LambdaConfig");
        assert_eq!(l.pre_sign_up(), Some(presignup.as_str()));
        let v2 = l.pre_token_generation_config().expect("PreTokenGenerationConfig");
        assert_eq!((v2.lambda_arn(), v2.lambda_version().as_str()), (claims.as_str(), "V2_0"));
        let d = sdk.cognito.describe_user_pool_domain().domain(&domain).send().await.unwrap();
        assert_eq!(d.domain_description().and_then(|d| d.user_pool_id()), Some(pool.as_str()), "{domain}");
    }

    // Read back: providers.
    for pool in [&shared, &silo] {
        let g = idp(&sdk, pool, "Google").await.expect("Google in every managed pool");
        assert_eq!(g.provider_type().unwrap().as_str(), "Google");
        let det = g.provider_details().unwrap();
        assert_eq!(det["client_id"], "g-123.apps.googleusercontent.com");
        assert_eq!(det["authorize_scopes"], "openid email");
        assert_eq!(det["client_secret"], s.google, "the secret from the environment was sent");
        assert_eq!(g.attribute_mapping().unwrap()["email"], "email");
        assert!(g.idp_identifiers().iter().any(|i| i.starts_with("tenantctl-")), "{g:?}");
    }
    let okta = idp(&sdk, &shared, "acme-okta").await.expect("acme-okta in the shared pool");
    assert_eq!(okta.provider_type().unwrap().as_str(), "OIDC");
    let det = okta.provider_details().unwrap();
    assert_eq!(det["oidc_issuer"], "https://acme.okta.example");
    assert_eq!(det["client_id"], "0oa1example");
    assert_eq!(det["client_secret"], s.okta);
    assert!(idp(&sdk, &silo, "acme-okta").await.is_none());
    let adfs = idp(&sdk, &silo, "initech-adfs").await.expect("initech-adfs in the silo pool");
    assert_eq!(adfs.provider_type().unwrap().as_str(), "SAML");
    assert_eq!(adfs.provider_details().unwrap()["MetadataURL"], "https://adfs.initech.example/FederationMetadata.xml");
    assert!(idp(&sdk, &shared, "initech-adfs").await.is_none());

    // Read back: the clients offer what their pool and tenant federate with.
    let providers = |c: &aws_sdk_cognitoidentityprovider::types::UserPoolClientType| -> Vec<String> {
        let mut v = c.supported_identity_providers().to_vec();
        v.sort();
        v
    };
    let shared_web = describe_client(&sdk, &shared, "web").await;
    for pool in [&shared, &silo] {
        assert_eq!(providers(&describe_client(&sdk, pool, "web").await), ["COGNITO", "Google"]);
    }
    let acme_sso = describe_client(&sdk, &shared, "acme-sso").await;
    assert_eq!(providers(&acme_sso), ["acme-okta"]);
    // Signed in through the hosted UI: the folder's OAuth client's flows, scopes and callbacks.
    assert_eq!(acme_sso.callback_urls(), shared_web.callback_urls());
    assert_eq!(acme_sso.allowed_o_auth_flows(), shared_web.allowed_o_auth_flows());
    assert_eq!(acme_sso.allowed_o_auth_flows_user_pool_client(), Some(true));
    assert_eq!(providers(&describe_client(&sdk, &silo, "initech-sso").await), ["initech-adfs"]);
    let shared_names = client_names(&sdk, &shared).await;
    assert!(!shared_names.contains(&"initech-sso".to_string()), "{shared_names:?}");
    assert!(!client_names(&sdk, &silo).await.contains(&"acme-sso".to_string()));

    // Read back: alarms, on the pool's clients, notifying the topic, tagged.
    let web = client_id(&sdk, &shared, "web").await;
    let a = alarm(&cw, &format!("{p}-failed-sign-in-ratio")).await.expect("ratio alarm of the shared pool");
    assert_eq!(a.alarm_actions(), [TOPIC]);
    assert_eq!(a.threshold(), Some(0.2));
    assert_eq!(a.comparison_operator().unwrap().as_str(), "GreaterThanThreshold");
    let metrics = a.metrics();
    assert_eq!(metrics.len(), 3);
    let expr = metrics.iter().find(|m| m.expression().is_some()).unwrap();
    assert_eq!(expr.expression(), Some("1 - SUM([s0]) / SUM([n0])"));
    assert_eq!(expr.return_data(), Some(true));
    for m in metrics.iter().filter_map(|m| m.metric_stat()) {
        let metric = m.metric().unwrap();
        assert_eq!(metric.namespace(), Some("AWS/Cognito"));
        assert_eq!(metric.metric_name(), Some("SignInSuccesses"));
        let dims: Vec<(&str, &str)> =
            metric.dimensions().iter().map(|d| (d.name().unwrap(), d.value().unwrap())).collect();
        assert_eq!(dims, [("UserPool", shared.as_str()), ("UserPoolClient", web.as_str())]);
        assert_eq!(m.period(), Some(300));
    }
    let stats: Vec<&str> = metrics.iter().filter_map(|m| m.metric_stat()).filter_map(|m| m.stat()).collect();
    assert_eq!(stats, ["Sum", "SampleCount"]);
    let t = alarm(&cw, &format!("{p}-initech-sign-in-throttles")).await.expect("throttles alarm of the silo pool");
    assert_eq!(t.threshold(), Some(10.0));
    let silo_web = client_id(&sdk, &silo, "web").await;
    let m = t.metrics().iter().find_map(|m| m.metric_stat()).unwrap().metric().unwrap().clone();
    assert_eq!(m.metric_name(), Some("SignInThrottles"));
    assert_eq!(m.dimensions()[0].value(), Some(silo.as_str()));
    assert_eq!(m.dimensions()[1].value(), Some(silo_web.as_str()));
    let tags = cw.list_tags_for_resource().resource_arn(t.alarm_arn().unwrap()).send().await.unwrap();
    let tags: std::collections::BTreeMap<&str, &str> =
        tags.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert_eq!(tags.get("tenantctl:managed"), Some(&"true"));
    assert_eq!(tags.get("tenantctl:platform"), Some(&p.as_str()));
    assert_eq!(tags.get("tenant_id"), Some(&"initech"));
    assert_eq!(tags.get("owner"), Some(&"platform-team"));

    // The authorizer knows which provider speaks for which tenant.
    let (_, file) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    assert_eq!(
        file["identityProviders"],
        serde_json::json!({"Google": "*", "acme-okta": "acme", "initech-adfs": "initech"})
    );

    // Every output format, with the secrets set.
    for args in [
        &["plan"][..],
        &["plan", "-v", "--format", "json"],
        &["drift"],
        &["drift", "--format", "json"],
        &["drift", "--format", "markdown"],
        &["inventory"],
        &["inventory", "--format", "json"],
        &["validate"],
        &["render"],
    ] {
        keep(&mut seen, &format!("{args:?}"), &run_s(d, &ep, &s, true, args));
    }
    let inv = json(&run_s(d, &ep, &s, true, &["inventory", "--format", "json"]));
    let rows = inv.as_array().or_else(|| inv["resources"].as_array()).cloned().unwrap_or_default();
    assert!(rows.iter().any(|r| r["resource"] == "alarm"), "{inv:#}");
    assert!(rows.iter().any(|r| r["resource"] == "identity_provider"), "{inv:#}");

    // Drift: an alarm deleted out of band is missing, and apply puts it back.
    cw.delete_alarms().alarm_names(format!("{p}-sign-in-throttles")).send().await.unwrap();
    let args = ["drift", "--format", "json"];
    let o = ok(run_s(d, &ep, &s, true, &args), &args, 2);
    keep(&mut seen, "drift alarm", &o);
    let report = json(&o);
    let items = report["items"].as_array().unwrap();
    assert!(
        items.iter().any(|i| i["kind"] == "missing" && i["address"] == "platform/pool/alarm/sign-in-throttles"),
        "{report:#}"
    );
    let args = ["apply", "--auto-approve"];
    keep(&mut seen, "apply alarm", &ok(run_s(d, &ep, &s, true, &args), &args, 0));
    assert!(alarm(&cw, &format!("{p}-sign-in-throttles")).await.is_some());

    // Drift: the tenant attribute mapped from the IdP out of band.
    let mut mapping = okta.attribute_mapping().cloned().unwrap();
    mapping.insert("custom:tenant_id".into(), "email".into());
    let mut details = okta.provider_details().cloned().unwrap();
    details.insert("client_secret".into(), s.okta.clone());
    sdk.cognito
        .update_identity_provider()
        .user_pool_id(&shared)
        .provider_name("acme-okta")
        .set_attribute_mapping(Some(mapping))
        .set_provider_details(Some(details))
        .set_idp_identifiers(Some(okta.idp_identifiers().to_vec()))
        .send()
        .await
        .unwrap();
    let o = ok(run_s(d, &ep, &s, true, &args_drift()), &args_drift(), 2);
    keep(&mut seen, "drift mapping", &o);
    let report = json(&o);
    let item = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["address"] == "platform/pool/identity_provider/acme-okta")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(item["kind"], "changed");
    assert!(
        item["fields"].as_array().unwrap().iter().any(|f| f["path"] == "attribute_mapping.custom:tenant_id"),
        "{item:#}"
    );
    let args = ["apply", "--auto-approve"];
    keep(&mut seen, "apply mapping", &ok(run_s(d, &ep, &s, true, &args), &args, 0));
    let okta = idp(&sdk, &shared, "acme-okta").await.unwrap();
    assert!(!okta.attribute_mapping().unwrap().contains_key("custom:tenant_id"), "{okta:?}");
    let args = ["drift"];
    keep(&mut seen, "drift clean", &ok(run_s(d, &ep, &s, true, &args), &args, 0));

    // Drift: the SSO client given a second provider (COGNITO: sign-in without the IdP, so
    // without the tenant's provider deciding who is in), read-modify-write as a console would.
    let live = describe_client(&sdk, &shared, "acme-sso").await;
    sdk.cognito
        .update_user_pool_client()
        .user_pool_id(&shared)
        .client_id(live.client_id().unwrap())
        .client_name("acme-sso")
        .set_explicit_auth_flows(Some(live.explicit_auth_flows().to_vec()))
        .set_allowed_o_auth_flows(Some(live.allowed_o_auth_flows().to_vec()))
        .set_allowed_o_auth_scopes(Some(live.allowed_o_auth_scopes().to_vec()))
        .set_allowed_o_auth_flows_user_pool_client(live.allowed_o_auth_flows_user_pool_client())
        .set_callback_urls(Some(live.callback_urls().to_vec()))
        .set_read_attributes(Some(live.read_attributes().to_vec()))
        .set_write_attributes(Some(live.write_attributes().to_vec()))
        .set_access_token_validity(live.access_token_validity())
        .set_id_token_validity(live.id_token_validity())
        .set_refresh_token_validity(Some(live.refresh_token_validity()))
        .set_token_validity_units(live.token_validity_units().cloned())
        .set_enable_token_revocation(live.enable_token_revocation())
        .set_prevent_user_existence_errors(live.prevent_user_existence_errors().cloned())
        .supported_identity_providers("acme-okta")
        .supported_identity_providers("COGNITO")
        .send()
        .await
        .unwrap();
    let o = ok(run_s(d, &ep, &s, true, &args_drift()), &args_drift(), 2);
    keep(&mut seen, "drift sso client", &o);
    let report = json(&o);
    let items = report["items"].as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["address"] == "platform/pool/app_client/acme-sso")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(item["kind"], "changed");
    let paths: Vec<&str> = item["fields"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(!paths.is_empty() && paths.iter().all(|p| p.starts_with("supported_identity_providers")), "{item:#}");
    assert_eq!(items.len(), 1, "only the SSO client drifted: {report:#}");
    let args = ["apply", "--auto-approve"];
    keep(&mut seen, "apply sso client", &ok(run_s(d, &ep, &s, true, &args), &args, 0));
    assert_eq!(providers(&describe_client(&sdk, &shared, "acme-sso").await), ["acme-okta"]);
    let args = ["drift"];
    keep(&mut seen, "drift clean after sso", &ok(run_s(d, &ep, &s, true, &args), &args, 0));

    // A rotated secret is an update, shown only as a fingerprint.
    let rotated = Secrets { google: format!("{}-rotated", s.google), ..Secrets::new(&p) };
    let args = ["plan", "--format", "json"];
    let o = ok(run_s(d, &ep, &rotated, true, &args), &args, 0);
    let plan = json(&o);
    let ups = changes_of(&plan, "identity_provider");
    assert_eq!(ups.len(), 2, "{plan:#}");
    assert!(ups.iter().all(|c| c["action"] == "update" && c["fields"][0]["path"] == "client_secret"), "{plan:#}");
    seen.push(("rotated plan".into(), o.stdout.clone()));
    let args = ["apply", "--auto-approve"];
    let o = ok(run_s(d, &ep, &rotated, true, &args), &args, 0);
    seen.push(("rotated apply".into(), o.stderr.clone()));
    let g = idp(&sdk, &shared, "Google").await.unwrap();
    assert_eq!(g.provider_details().unwrap()["client_secret"], rotated.google);
    ok(run_s(d, &ep, &rotated, true, &["plan", "--detailed-exitcode"]), &["plan"], 0);

    // Offboarding the silo tenant deletes its alarms (before its pool, which takes its
    // providers with it); the shared pool's stay.
    let args = ["destroy", "--tenant", "initech", "--auto-approve"];
    let o = ok(run_s(d, &ep, &rotated, true, &args), &args, 0);
    seen.push(("destroy".into(), o.stderr.clone()));
    assert!(pools_named(&sdk, &format!("{p}-initech")).await.is_empty());
    assert!(alarm(&cw, &format!("{p}-initech-sign-in-throttles")).await.is_none());
    assert!(alarm(&cw, &format!("{p}-initech-failed-sign-in-ratio")).await.is_none());
    assert!(alarm(&cw, &format!("{p}-sign-in-throttles")).await.is_some());
    assert!(idp(&sdk, &shared, "Google").await.is_some());

    for (what, bytes) in &seen {
        let t = String::from_utf8_lossy(bytes);
        for secret in [&s.google, &s.okta, &rotated.google] {
            assert!(!t.contains(secret.as_str()), "{what} shows a secret:\n{t}");
        }
    }
}

fn keep(seen: &mut Vec<(String, Vec<u8>)>, what: &str, o: &Output) {
    seen.push((format!("{what} stdout"), o.stdout.clone()));
    seen.push((format!("{what} stderr"), o.stderr.clone()));
}

/// A provider made by hand under a declared name is never taken over: the plan refuses it,
/// naming it, before any write.
#[tokio::test(flavor = "multi_thread")]
async fn a_provider_not_made_by_tenantctl_is_refused_not_taken_over() {
    let Some(ep) = endpoint() else { return };
    let (sdk, p, s, dir) = plain_platform(&ep, "idh").await;
    let d = dir.path();
    ok(run_s(d, &ep, &s, true, &["apply", "--auto-approve"]), &["apply"], 0);
    let shared = pool_id(&sdk, &p).await;
    sdk.cognito
        .create_identity_provider()
        .user_pool_id(&shared)
        .provider_name("acme-okta")
        .provider_type("OIDC".into())
        .provider_details("client_id", "by-hand")
        .provider_details("oidc_issuer", "https://hand.example")
        .provider_details("authorize_scopes", "openid")
        .provider_details("attributes_request_method", "GET")
        .send()
        .await
        .unwrap();
    write(d, "tenants/acme.yaml", &acme(&s));
    let args = ["apply", "--auto-approve"];
    let o = ok(run_s(d, &ep, &s, true, &args), &args, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("acme-okta") && err.contains("not made by tenantctl"), "{err}");
    let live = idp(&sdk, &shared, "acme-okta").await.unwrap();
    assert_eq!(live.provider_details().unwrap()["client_id"], "by-hand");
    assert!(live.idp_identifiers().is_empty());
}

/// A platform without identity features (prefix `prefix`), its REST API, and a folder with
/// the pooled tenant acme: (sdk, platform name, secrets, folder).
async fn plain_platform(ep: &str, prefix: &str) -> (Sdk, String, Secrets, tempfile::TempDir) {
    let sdk = sdk(ep).await;
    let p = platform_name(prefix);
    let s = Secrets::new(&p);
    let api = format!("{p}-api");
    rest_api(&sdk, &api).await;
    let dir = folder_for(&platform_yaml(&p, &api, ""));
    write(dir.path(), "tenants/acme.yaml", &tenant_yaml("acme", "pooled", None));
    (sdk, p, s, dir)
}

fn args_drift() -> [&'static str; 3] {
    ["drift", "--format", "json"]
}

/// Validate names an inline secret without echoing it.
#[test]
fn an_inline_secret_is_refused_without_being_shown() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/idp-inline-secret");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .arg("validate")
        .arg("-C")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("never written in YAML") && err.contains("clientSecretEnv"), "{err}");
    assert!(!err.contains("hunter2-not-shown"), "{err}");
}

/// Onboarding with `apply --tenant`: a pooled tenant's provider and its SSO client are both
/// made (the client after the provider it offers), the scoped plan converges, and
/// `destroy --tenant` takes both away again, leaving the folder's client and other tenants.
#[tokio::test(flavor = "multi_thread")]
async fn tenant_sso_onboarded_and_offboarded_with_tenant_scope() {
    let Some(ep) = endpoint() else { return };
    let (sdk, p, s, dir) = plain_platform(&ep, "ids").await;
    let d = dir.path();
    // globex federates from the start; initech never.
    let globex = format!(
        "{}identityProviders:\n  - {{name: okta, type: oidc, issuer: https://globex.okta.example, clientId: 0oa2example, clientSecretEnv: {}}}\n",
        tenant_yaml("globex", "pooled", None),
        s.okta_var
    );
    write(d, "tenants/globex.yaml", &globex);
    write(d, "tenants/initech.yaml", &tenant_yaml("initech", "pooled", None));
    ok(run_s(d, &ep, &s, true, &["apply", "--auto-approve"]), &["apply"], 0);
    let shared = pool_id(&sdk, &p).await;

    write(d, "tenants/acme.yaml", &acme(&s));
    let args = ["plan", "--tenant", "acme", "--format", "json"];
    let plan = json(&ok(run_s(d, &ep, &s, true, &args), &args, 0));
    let mut planned: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["address"].as_str().unwrap()))
        .collect();
    planned.sort();
    // The authorizer's configuration names acme's provider and client: the same run updates
    // it (issue 21).
    assert_eq!(
        planned,
        [
            ("create", "platform/pool/app_client/acme-sso"),
            ("create", "platform/pool/identity_provider/acme-okta"),
            ("update", "platform/authorizer/function")
        ],
        "{plan:#}"
    );
    let args = ["apply", "--tenant", "acme", "--auto-approve"];
    ok(run_s(d, &ep, &s, true, &args), &args, 0);
    assert_eq!(describe_client(&sdk, &shared, "acme-sso").await.supported_identity_providers(), ["acme-okta"]);
    // A `--tenant` plan reads only that tenant's provider and SSO client (the pool holds
    // globex's too), and nothing of them for a tenant without SSO.
    let args = ["plan", "--tenant", "acme", "--detailed-exitcode", "--stats"];
    let o = ok(run_s(d, &ep, &s, true, &args), &args, 0);
    assert_eq!(calls_of(&o, "cognito-idp:DescribeIdentityProvider"), 1, "{}", text(&o));
    assert_eq!(calls_of(&o, "cognito-idp:DescribeUserPoolClient"), 1, "{}", text(&o));
    let args = ["plan", "--tenant", "initech", "--detailed-exitcode", "--stats"];
    let o = ok(run_s(d, &ep, &s, true, &args), &args, 0);
    for op in ["ListIdentityProviders", "DescribeIdentityProvider", "ListUserPoolClients", "DescribeUserPoolClient"] {
        assert_eq!(calls_of(&o, &format!("cognito-idp:{op}")), 0, "{op}: {}", text(&o));
    }
    // The scoped apply told the authorizer the new client and provider, and kept the other
    // tenants' entries: the whole-folder plan has nothing left to do.
    let args = ["plan", "--detailed-exitcode"];
    ok(run_s(d, &ep, &s, true, &args), &args, 0);
    let (_, file) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    assert_eq!(file["identityProviders"]["acme-okta"], "acme", "{file}");
    assert_eq!(file["identityProviders"]["globex-okta"], "globex", "{file}");
    let acme_sso = describe_client(&sdk, &shared, "acme-sso").await.client_id().unwrap().to_string();
    assert_eq!(file["clients"][acme_sso.as_str()], shared.as_str(), "{file}");
    assert_eq!(file["clients"].as_object().unwrap().len(), 3, "web, globex-sso, acme-sso: {file}");

    let args = ["destroy", "--tenant", "acme", "--auto-approve"];
    ok(run_s(d, &ep, &s, true, &args), &args, 0);
    let names = client_names(&sdk, &shared).await;
    assert!(!names.contains(&"acme-sso".to_string()) && names.contains(&"web".to_string()), "{names:?}");
    assert!(names.contains(&"globex-sso".to_string()), "{names:?}");
    assert!(idp(&sdk, &shared, "acme-okta").await.is_none());
    assert!(idp(&sdk, &shared, "globex-okta").await.is_some());
}
