//! Tenant SSO (contract §1.4) without AWS: each tenant with its own provider gets the app
//! client `<tenant>-sso` offering that provider only; the folder's clients offer Cognito and
//! the pool's own providers; the order of creates and of an offboarding's deletes.
use std::collections::BTreeSet;

use crate::engine::waits;
use crate::kinds::app_client::{self, ClientState};
use crate::kinds::test_support::{self, folder_edited};
use crate::plan::{plan_with, Action, Plan, PlanOptions};
use crate::spec::Folder;
use crate::state::World;

const OKTA: &str = "identityProviders:\n  - {name: okta, type: oidc, issuer: https://acme.okta.example, clientId: c1, clientSecretEnv: TCTL_SSO_UNIT_OKTA}\n";
const ADFS: &str = "isolation: silo\nidentityProviders:\n  - {name: adfs, type: saml, metadataUrl: https://adfs.initech.example/m.xml}\n";

/// The example platform with a Google provider for the pool, and tenants acme (pooled, OIDC),
/// initech (silo, SAML) and globex (pooled, no provider).
fn folder() -> (tempfile::TempDir, Folder) {
    // The variables the providers read when planning (unique to this test module).
    std::env::set_var("TCTL_SSO_UNIT_OKTA", "okta-secret");
    std::env::set_var("TCTL_SSO_UNIT_GOOGLE", "google-secret");
    let google = "  identityProviders:\n    - {name: Google, type: google, clientId: g1, clientSecretEnv: TCTL_SSO_UNIT_GOOGLE}\n  appClients:\n";
    let (t, f) = folder_edited(
        // ID tokens: an access token would need a preTokenGeneration trigger with tenant
        // providers (`access_tokens_with_tenant_providers_need_a_token_trigger`).
        &|p| p.replacen("  appClients:\n", google, 1).replacen("tokenUse: access", "tokenUse: id", 1),
        &[("acme", OKTA), ("initech", ADFS), ("globex", "")],
    );
    (t, f.unwrap_or_else(|e| panic!("{e}")))
}

fn desired_world(f: &Folder) -> World {
    test_support::desired_world(f, None)
}

fn client(w: &World, address: &str) -> ClientState {
    let i = w.items.get(address).unwrap_or_else(|| panic!("no {address} in {:#?}", w.items.keys()));
    serde_json::from_value(i.state.clone()).unwrap()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn options(f: &Folder) -> PlanOptions {
    PlanOptions { tenants: f.tenants.iter().map(|t| t.value.id.clone()).collect(), ..PlanOptions::default() }
}

fn index(p: &Plan, action: Action, address: &str) -> usize {
    p.changes.iter().position(|c| c.action == action && c.address == address).unwrap_or_else(|| {
        panic!("no {action:?} {address} in {:#?}", p.changes.iter().map(|c| &c.address).collect::<Vec<_>>())
    })
}

#[test]
fn each_sso_client_offers_its_tenants_provider_only_and_the_folders_clients_cognito_and_the_pools() {
    let (_t, f) = folder();
    let w = desired_world(&f);
    // The folder's client, in every managed pool: Cognito and the pool's own provider.
    for pool in ["platform/pool", "tenant/initech/pool"] {
        let web = client(&w, &format!("{pool}/app_client/web"));
        assert_eq!(web.supported_identity_providers, set(&["COGNITO", "Google"]), "{pool}");
    }
    // acme (pooled): in the shared pool, acme's; only acme-okta; web's hosted-UI settings.
    let web = client(&w, "platform/pool/app_client/web");
    let acme = client(&w, "platform/pool/app_client/acme-sso");
    assert_eq!(acme.supported_identity_providers, set(&["acme-okta"]));
    assert_eq!(w.items["platform/pool/app_client/acme-sso"].tenant.as_deref(), Some("acme"));
    assert_eq!(
        ClientState { supported_identity_providers: web.supported_identity_providers.clone(), ..acme.clone() },
        web,
        "the SSO client differs from its template only in its providers"
    );
    // initech (silo): in its own pool only.
    let initech = client(&w, "tenant/initech/pool/app_client/initech-sso");
    assert_eq!(initech.supported_identity_providers, set(&["initech-adfs"]));
    assert!(!w.items.contains_key("platform/pool/app_client/initech-sso"));
    // globex has no provider: no SSO client anywhere.
    assert!(!w.items.keys().any(|a| a.contains("globex-sso")), "{:#?}", w.items.keys());
}

#[test]
fn observed_sso_clients_belong_to_their_tenant() {
    assert_eq!(app_client::client_tenant(None, "acme-sso").as_deref(), Some("acme"));
    assert_eq!(app_client::client_tenant(None, "acme-corp-sso").as_deref(), Some("acme-corp"));
    assert_eq!(app_client::client_tenant(None, "web"), None);
    assert_eq!(app_client::client_tenant(None, "-sso"), None);
    assert_eq!(app_client::client_tenant(Some("initech"), "web").as_deref(), Some("initech"));
}

/// The provider is created before the client that offers it (AWS refuses a client naming a
/// provider the pool lacks); offboarding deletes the client before the provider.
#[test]
fn providers_are_created_before_their_clients_and_deleted_after() {
    let (_t, f) = folder();
    let desired = desired_world(&f);
    let pools_only = World {
        items: desired
            .items
            .iter()
            .filter(|(_, i)| i.kind == "user_pool")
            .map(|(a, i)| (a.clone(), i.clone()))
            .collect(),
    };
    let p = plan_with(&desired, &pools_only, &Default::default(), &options(&f), &crate::kinds::rules()).unwrap();
    let w = waits(&p.changes);
    for (provider, client) in [
        ("platform/pool/identity_provider/acme-okta", "platform/pool/app_client/acme-sso"),
        ("platform/pool/identity_provider/Google", "platform/pool/app_client/web"),
        ("tenant/initech/pool/identity_provider/initech-adfs", "tenant/initech/pool/app_client/initech-sso"),
    ] {
        let (pi, ci) = (index(&p, Action::Create, provider), index(&p, Action::Create, client));
        assert!(w[ci].contains(&pi), "{client} does not wait for {provider}");
    }

    // acme offboarded (`destroy --tenant acme`): its client goes, then its provider; nothing
    // of another tenant's.
    let mut live = desired.clone();
    for i in live.items.values_mut().filter(|i| i.kind == "identity_provider") {
        i.state.as_object_mut().unwrap().remove("secret_env");
    }
    let mut without = desired.clone();
    crate::ops::without_tenant(&mut without, "acme");
    let mut opts = options(&f);
    opts.tenants.remove("acme");
    opts.prune = true;
    let mut p = plan_with(&without, &live, &Default::default(), &opts, &crate::kinds::rules()).unwrap();
    crate::ops::destroy_changes(&mut p, "acme");
    let w = waits(&p.changes);
    let ci = index(&p, Action::Delete, "platform/pool/app_client/acme-sso");
    let pi = index(&p, Action::Delete, "platform/pool/identity_provider/acme-okta");
    assert!(w[pi].contains(&ci), "the provider's delete does not wait for its client's");
    // Besides acme's own changes, only the authorizer's configuration (which names every
    // tenant) may change.
    assert!(
        p.changes.iter().all(|c| c.tenant.as_deref() == Some("acme") || c.resource.as_str() == "lambda_function"),
        "{:#?}",
        p.changes
    );
}

/// Each tenant with its own provider adds its SSO client's id and its provider to the
/// authorizer's configuration, in the package: Lambda's 4 KB environment no longer bounds
/// them (issue 21).
#[test]
fn the_authorizers_environment_bounds_the_tenants_with_sso() {
    use crate::plan::ItemRules;
    use crate::state::Ids;
    let tenants = |n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let id = format!("t{i:05}");
                let idp = format!("identityProviders:\n  - {{name: okta, type: oidc, issuer: https://{id}.okta.example, clientId: c{i}, clientSecretEnv: TCTL_SSO_UNIT_OKTA}}\n");
                (id, idp)
            })
            .collect()
    };
    std::env::set_var("TCTL_SSO_UNIT_OKTA", "okta-secret");
    // Contract §1.7: the configuration rides in the package; the environment no longer grows
    // with tenants with SSO (40 and 100 fitted and were refused before).
    for n in [40, 100] {
        let ts = tenants(n);
        let refs: Vec<(&str, &str)> = ts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let (_t, f) = folder_edited(&|p| p.replacen("tokenUse: access", "tokenUse: id", 1), &refs);
        let f = f.unwrap_or_else(|e| panic!("{e}"));
        let w = desired_world(&f);
        // No client made yet: every id counts at its longest.
        let r = crate::kinds::lambda_function::LambdaFunction.check(&w, &World::default(), &Ids::default());
        assert!(r.is_ok(), "{n} tenants with SSO: {r:?}");
        let function =
            crate::kinds::lambda_function::state(&w.items[crate::kinds::lambda_function::FUNCTION_ADDRESS]).unwrap();
        assert_eq!(function.config["identityProviders"].len(), n);
        assert!(function.environment.len() <= 7, "{:?}", function.environment);
    }
}

/// Issue 23 (item 1): an access token carries no `identities`, so `tokenUse: access` with a
/// tenant's own identity provider needs a declared `preTokenGeneration` trigger.
#[test]
fn access_tokens_with_tenant_providers_need_a_token_trigger() {
    std::env::set_var("TCTL_SSO_UNIT_OKTA", "okta-secret");
    let (_t, f) = folder_edited(&|p| p.to_string(), &[("acme", OKTA)]);
    let err = f.expect_err("refused").to_string();
    assert!(err.contains("tenants/platform.yaml") && err.contains("preTokenGeneration"), "{err}");
    assert!(err.contains("tenant `acme`"), "{err}");
    let trigger =
        "  triggers: {preTokenGeneration: arn:aws:lambda:us-east-1:123456789012:function:pretoken}\n  appClients:\n";
    let (_t, f) = folder_edited(&|p| p.replacen("  appClients:\n", trigger, 1), &[("acme", OKTA)]);
    if let Err(e) = f {
        assert!(!e.to_string().contains("tokenUse access"), "{e}");
    }
    // Without tenant providers, access tokens need no trigger.
    let (_t, f) = folder_edited(&|p| p.to_string(), &[("acme", "")]);
    f.unwrap_or_else(|e| panic!("{e}"));
}
