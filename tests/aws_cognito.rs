//! The Cognito adapter against the emulator: what tenantctl creates observes back as exactly
//! the desired state (so an unchanged folder plans zero changes), read-modify-write updates
//! keep what tenantctl does not manage, and duplicate managed pools are a conflict.
//!
//! Skipped unless TENANTCTL_TEST_ENDPOINT is set:
//!   TENANTCTL_TEST_ENDPOINT=$(scripts/emulator start) cargo test --test aws_cognito

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::types::{AttributeType, LambdaConfigType};
use tenantctl::aws::{self, Aws, AwsError, Limiter};
use tenantctl::kinds::app_client::{self, ClientState};
use tenantctl::kinds::group::{self, GroupState};
use tenantctl::kinds::resource_server::{self, ResourceServerState};
use tenantctl::kinds::{self};
use tenantctl::plan::Op;
use tenantctl::state::wiring::client_address;
use tenantctl::state::{AttributeState, Ids, Item, PasswordState, PoolSettings, PoolState, Tags, World};
use tokio::sync::Mutex;

/// The shared emulator (fails under CI when it is missing; see `common::endpoint`).
use common::endpoint;

/// A platform name no other test (or earlier run) uses: ^[a-z][a-z0-9]{0,19}$.
fn unique_platform(tag: &str) -> String {
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000_000;
    format!("{tag}{n}").chars().take(20).collect()
}

async fn connect(platform: &str, endpoint: String) -> Aws {
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::remove_var("AWS_SESSION_TOKEN");
    std::env::remove_var("AWS_PROFILE");
    let mut aws = aws::connect(platform, Some("us-east-1".into()), None, Some(endpoint), Limiter::default())
        .await
        .expect("connect");
    aws.resolve_account().await.expect("account");
    aws
}

fn string_attr(mutable: bool, min: &str, max: &str) -> AttributeState {
    AttributeState {
        data_type: "String".into(),
        mutable,
        min_length: Some(min.into()),
        max_length: Some(max.into()),
        min_value: None,
        max_value: None,
    }
}

fn tags(platform: &str, tenant: Option<&str>) -> Tags {
    let mut t = Tags::from([
        ("tenantctl:managed".to_string(), "true".to_string()),
        ("tenantctl:platform".to_string(), platform.to_string()),
        ("owner".to_string(), "platform-team".to_string()),
    ]);
    if let Some(id) = tenant {
        t.insert("tenant_id".into(), id.into());
    }
    t
}

/// A pool and what lives in it (its groups, resource servers and clients: items of their
/// kinds).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PoolWith {
    pool: PoolState,
    groups: BTreeMap<String, GroupState>,
    resource_servers: BTreeMap<String, ResourceServerState>,
    clients: BTreeMap<String, ClientState>,
}

impl PoolWith {
    fn pool_item(&self) -> (String, Item) {
        (self.pool.address.clone(), self.pool.item())
    }

    fn group(&self, name: &str) -> (String, Item) {
        let p = &self.pool;
        (group::address(&p.address, name), group::item(&p.address, p.tenant.as_deref(), name, &self.groups[name]))
    }

    fn server(&self, id: &str) -> (String, Item) {
        let (p, rs) = (&self.pool, &self.resource_servers[id]);
        (resource_server::address(&p.address, id), resource_server::item(&p.address, p.tenant.as_deref(), id, rs))
    }

    fn client(&self, name: &str) -> (String, Item) {
        let (p, c) = (&self.pool, &self.clients[name]);
        (client_address(&p.address, name), app_client::item(&p.address, p.tenant.as_deref(), name, c))
    }

    /// The pool and its items, as a desired world.
    fn world(&self) -> World {
        let mut items: BTreeMap<String, Item> = BTreeMap::new();
        items.extend(self.groups.keys().map(|g| self.group(g)));
        items.extend(self.resource_servers.keys().map(|r| self.server(r)));
        items.extend(self.clients.keys().map(|c| self.client(c)));
        let mut w = World { items };
        w.insert_pool(self.pool.clone());
        w
    }

    /// The pool at `address` of an observed world, with its items.
    fn observed(world: &World, address: &str) -> PoolWith {
        fn of<T: serde::de::DeserializeOwned>(world: &World, address: &str, kind: &str) -> BTreeMap<String, T> {
            world
                .items
                .values()
                .filter(|i| i.kind == kind && i.parent.as_deref() == Some(address))
                .map(|i| (i.name.clone(), serde_json::from_value(i.state.clone()).unwrap()))
                .collect()
        }
        PoolWith {
            pool: world.pools()[address].clone(),
            groups: of(world, address, "group"),
            resource_servers: of(world, address, "resource_server"),
            clients: of(world, address, "app_client"),
        }
    }
}

/// Creates, or updates when `live`, the item at `address`, as apply does.
async fn put(aws: &Aws, ids: &Mutex<Ids>, (address, item): (String, Item), live: bool) -> Result<(), AwsError> {
    let live = live.then(|| item.clone());
    let op = Op::Item { address, desired: Some(item), live, replace: false };
    kinds::execute(aws, &op, ids).await
}

/// Deletes the item at `address`, as apply does.
async fn delete(aws: &Aws, ids: &Mutex<Ids>, (address, item): (String, Item)) -> Result<(), AwsError> {
    let op = Op::Item { address, desired: None, live: Some(item), replace: false };
    kinds::execute(aws, &op, ids).await
}

/// A desired pool shaped as `kinds::user_pool::desired_pools` and the kinds build it.
fn desired_pool(platform: &str) -> PoolWith {
    let web = ClientState {
        generate_secret: false,
        explicit_auth_flows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"].map(String::from).into(),
        allowed_oauth_flows: ["code".to_string()].into(),
        allowed_oauth_scopes: ["openid", "email", "https://api.example/orders.read"].map(String::from).into(),
        allowed_oauth_flows_user_pool_client: true,
        callback_urls: ["https://app.example/callback".to_string()].into(),
        logout_urls: BTreeSet::new(),
        supported_identity_providers: ["COGNITO".to_string()].into(),
        read_attributes: ["email", "custom:tenant_id"].map(String::from).into(),
        write_attributes: ["email".to_string()].into(),
        access_token_minutes: Some(60),
        id_token_minutes: Some(60),
        refresh_token_minutes: Some(30 * 24 * 60),
        enable_token_revocation: true,
        prevent_user_existence_errors: true,
    };
    let backend = ClientState {
        generate_secret: true,
        explicit_auth_flows: ["ALLOW_REFRESH_TOKEN_AUTH".to_string()].into(),
        supported_identity_providers: ["COGNITO".to_string()].into(),
        read_attributes: ["email", "custom:tenant_id"].map(String::from).into(),
        write_attributes: ["email".to_string()].into(),
        access_token_minutes: Some(5),
        id_token_minutes: Some(1440),
        refresh_token_minutes: Some(60),
        enable_token_revocation: false,
        prevent_user_existence_errors: false,
        ..ClientState::default()
    };
    let pool = PoolState {
        // What a new pool gets: read back exactly.
        usernames: Some(tenantctl::state::UsernamesState::default()),
        address: "platform/pool".into(),
        name: platform.to_string(),
        tenant: None,
        settings: PoolSettings {
            deletion_protection: true,
            mfa: "OPTIONAL".into(),
            allow_admin_create_user_only: true,
            password_policy: PasswordState {
                min_length: 12,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: false,
                temporary_password_validity_days: 7,
            },
            tags: tags(platform, None),
            // Declared as AWS fills it in when none is sent (CreateUserPool: "Defaults to ESSENTIALS").
            feature_plan: Some("ESSENTIALS".into()),
            threat_protection: None,
            triggers: None,
        },
        attributes: BTreeMap::from([
            ("tenant_id".to_string(), string_attr(false, "1", "32")),
            ("tier".to_string(), string_attr(true, "0", "2048")),
            (
                "seats".to_string(),
                AttributeState {
                    data_type: "Number".into(),
                    mutable: true,
                    min_length: None,
                    max_length: None,
                    min_value: Some("0".into()),
                    max_value: Some("100000".into()),
                },
            ),
        ]),
    };
    PoolWith {
        pool,
        groups: BTreeMap::from([
            (
                "acme-admin".to_string(),
                GroupState {
                    description: Some("Acme admin (tenantctl)".into()),
                    precedence: Some(1),
                    role_arn: Some(format!(
                        "arn:aws:iam::123456789012:role/tenantctl/{platform}/{platform}-acme-admin"
                    )),
                },
            ),
            (
                "acme-member".to_string(),
                GroupState { description: Some("Acme member (tenantctl)".into()), precedence: None, role_arn: None },
            ),
        ]),
        resource_servers: BTreeMap::from([(
            "https://api.example".to_string(),
            ResourceServerState {
                name: "api".into(),
                scopes: BTreeMap::from([
                    ("orders.read".to_string(), "Read orders".to_string()),
                    ("orders.write".to_string(), "Write orders".to_string()),
                ]),
            },
        )]),
        clients: BTreeMap::from([("web".to_string(), web), ("backend".to_string(), backend)]),
    }
}

/// Creates `pool` the way apply does: the pool with its settings and all but one attribute,
/// then the remaining attribute, resource servers, clients, groups.
async fn create_all(aws: &Aws, desired: &PoolWith, ids: &Mutex<Ids>) {
    let pool = &desired.pool;
    let mut shell = pool.clone();
    let late = shell.attributes.remove("seats");
    put(aws, ids, (pool.address.clone(), shell.item()), false).await.expect("CreatePool");
    if late.is_some() {
        let seats = pool.attribute_items().into_iter().find(|(a, _)| a.ends_with("/seats")).unwrap();
        put(aws, ids, seats, false).await.expect("AddAttribute");
    }
    for identifier in desired.resource_servers.keys() {
        put(aws, ids, desired.server(identifier), false).await.expect("create resource server");
    }
    for name in desired.clients.keys() {
        put(aws, ids, desired.client(name), false).await.expect("create app client");
    }
    for name in desired.groups.keys() {
        put(aws, ids, desired.group(name), false).await.expect("create group");
    }
}

/// Reads the pools and what lives in them (their kinds), as `plan` does.
async fn observe(aws: &Aws, desired: &World, scoped: bool) -> Result<(World, Ids), AwsError> {
    let dir = common::folder(&aws.ctx.platform, "api", &[]);
    let folder = tenantctl::check::load_valid(dir.path()).expect("folder");
    let mut world = World::default();
    let mut ids = Ids::default();
    // Scoped: a `--tenant` session (its tenants are those of `desired`).
    let tenants: Vec<String> = if scoped { vec!["scoped".to_string()] } else { Vec::new() };
    let account = std::sync::Mutex::default();
    // The kinds that live in pools (the folder's authorizer wiring is not this test's).
    for kind in ["user_pool", "custom_attribute", "resource_server", "app_client", "group"] {
        let k = kinds::of(kind).expect("a kind");
        let scope = kinds::ObserveScope {
            folder: &folder,
            desired,
            tenants: &tenants,
            adopt: tenantctl::kinds::Adopt::Nothing,
            observed: &world,
            ids: &ids,
            account: &account,
            on_found: None,
        };
        for (address, item, id) in k.observe(aws, &scope).await? {
            if !id.is_empty() {
                ids.set(address.clone(), id);
            }
            world.items.insert(address, item);
        }
    }
    Ok((world, ids))
}

/// Field by field first, so a failure names what differs. Live triggers the desired pool
/// does not manage (`triggers: None`, set out of band) are not compared, as `plan` does not.
fn assert_pool_eq(observed: &PoolWith, desired: &PoolWith) {
    let mut o = observed.clone();
    if desired.pool.settings.triggers.is_none() {
        o.pool.settings.triggers = None;
    }
    let (o, d) = (&o, desired);
    {
        let (observed, desired) = (&o.pool, &d.pool);
        assert_eq!(observed.address, desired.address);
        assert_eq!(observed.name, desired.name);
        assert_eq!(observed.tenant, desired.tenant);
        assert_eq!(observed.settings, desired.settings, "settings");
        for (n, a) in &desired.attributes {
            assert_eq!(observed.attributes.get(n), Some(a), "attribute {n}");
        }
        assert_eq!(observed.attributes, desired.attributes, "attributes");
    }
    let (observed, desired) = (o, d);
    assert_eq!(observed.groups, desired.groups, "groups");
    assert_eq!(observed.resource_servers, desired.resource_servers, "resource servers");
    for (n, c) in &desired.clients {
        assert_eq!(observed.clients.get(n), Some(c), "client {n}");
    }
    assert_eq!(observed.clients, desired.clients, "clients");
    assert_eq!(observed, desired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_pool_observes_as_desired_and_updates_keep_unmanaged_fields() {
    let Some(ep) = endpoint() else { return };
    let platform = unique_platform("cg");
    let aws = connect(&platform, ep).await;
    let ids = Mutex::new(Ids::default());
    let mut desired = desired_pool(&platform);
    create_all(&aws, &desired, &ids).await;
    let pid = ids.lock().await.id("platform/pool").unwrap().to_string();

    // 1. Unchanged: observed == desired.
    let (world, seen_ids) = observe(&aws, &World::default(), false).await.expect("observe");
    assert_eq!(world.pools().len(), 1, "{:?}", world.pools().keys().collect::<Vec<_>>());
    assert_pool_eq(&PoolWith::observed(&world, "platform/pool"), &desired);
    // Pool and client ids: the same whether read back or learned while applying.
    assert_eq!(seen_ids, *ids.lock().await);
    assert!(seen_ids.id("platform/pool/app_client/web").is_some());

    // 2. Out of band: a trigger and a verification message (this raw call also resets what
    //    it leaves out, on moto as on AWS; the tags are kept so the pool stays managed).
    let trigger = "arn:aws:lambda:us-east-1:123456789012:function:presignup";
    aws.cognito
        .update_user_pool()
        .user_pool_id(&pid)
        .lambda_config(LambdaConfigType::builder().pre_sign_up(trigger).build())
        .email_verification_message("Your code: {####}")
        .email_verification_subject("Verify")
        .set_user_pool_tags(Some(desired.pool.settings.tags.clone().into_iter().collect()))
        .send()
        .await
        .expect("raw UpdateUserPool");
    let (world, _) = observe(&aws, &World::default(), false).await.unwrap();
    assert_ne!(
        world.pools()["platform/pool"].settings,
        desired.pool.settings,
        "the raw update reset the managed settings"
    );

    // UpdatePool restores the managed settings (and changes some) and keeps the rest.
    desired.pool.settings.password_policy.min_length = 14;
    desired.pool.settings.mfa = "OFF".into();
    desired.pool.settings.tags.insert("cost-center".into(), "42".into());
    put(&aws, &ids, desired.pool_item(), true).await.expect("UpdatePool");
    let (world, _) = observe(&aws, &World::default(), false).await.unwrap();
    assert_pool_eq(&PoolWith::observed(&world, "platform/pool"), &desired);
    let live = aws.cognito.describe_user_pool().user_pool_id(&pid).send().await.unwrap().user_pool.unwrap();
    assert_eq!(live.lambda_config().and_then(|l| l.pre_sign_up()), Some(trigger));
    assert_eq!(live.email_verification_message(), Some("Your code: {####}"));
    assert_eq!(live.email_verification_subject(), Some("Verify"));

    // MFA back on, through UpdatePool.
    desired.pool.settings.mfa = "OPTIONAL".into();
    put(&aws, &ids, desired.pool_item(), true).await.expect("UpdatePool mfa");
    let (world, _) = observe(&aws, &World::default(), false).await.unwrap();
    assert_pool_eq(&PoolWith::observed(&world, "platform/pool"), &desired);

    // 3. A client field tenantctl does not manage survives PutClient (update).
    let cid = ids.lock().await.id("platform/pool/app_client/web").unwrap().to_string();
    aws.cognito
        .update_user_pool_client()
        .user_pool_id(&pid)
        .client_id(&cid)
        .client_name("web")
        // AWS requires the default redirect URI among the callback URLs (strict emulator too).
        .callback_urls("https://app.example/callback")
        .default_redirect_uri("https://app.example/callback")
        .auth_session_validity(10)
        .send()
        .await
        .expect("raw UpdateUserPoolClient");
    let web = desired.clients.get_mut("web").unwrap();
    web.access_token_minutes = Some(30);
    web.logout_urls.insert("https://app.example/bye".into());
    web.explicit_auth_flows.insert("ALLOW_USER_PASSWORD_AUTH".into());
    web.prevent_user_existence_errors = false;
    put(&aws, &ids, desired.client("web"), true).await.expect("PutClient update");
    let live = aws
        .cognito
        .describe_user_pool_client()
        .user_pool_id(&pid)
        .client_id(&cid)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    assert_eq!(live.default_redirect_uri(), Some("https://app.example/callback"));
    assert_eq!(live.auth_session_validity(), Some(10));

    // Group and resource server updates.
    let g = desired.groups.get_mut("acme-member").unwrap();
    g.precedence = Some(10);
    g.description = Some("Members".into());
    put(&aws, &ids, desired.group("acme-member"), true).await.expect("PutGroup update");
    let rs = desired.resource_servers.get_mut("https://api.example").unwrap();
    rs.scopes.remove("orders.write");
    rs.scopes.insert("orders.admin".into(), "Administer orders".into());
    put(&aws, &ids, desired.server("https://api.example"), true).await.expect("PutResourceServer update");
    let (world, _) = observe(&aws, &World::default(), false).await.unwrap();
    assert_pool_eq(&PoolWith::observed(&world, "platform/pool"), &desired);

    // 4. Scoped: only the named pool and groups; no clients, no resource servers.
    let mut scope = desired.clone();
    scope.groups.insert("nobody-admin".into(), GroupState { description: None, precedence: None, role_arn: None });
    let scope_world = scope.world();
    let before = aws.stats.snapshot();
    let (world, seen) = observe(&aws, &scope_world, true).await.unwrap();
    let after = aws.stats.snapshot();
    let p = &PoolWith::observed(&world, "platform/pool");
    assert_eq!(p.groups, desired.groups, "absent groups are left out");
    assert!(p.clients.is_empty() && p.resource_servers.is_empty());
    // The out-of-band trigger is live; the desired pool does not manage triggers.
    let trigger = BTreeMap::from([("preSignUp".to_string(), trigger.to_string())]);
    assert_eq!(p.pool.settings, PoolSettings { triggers: Some(trigger), ..desired.pool.settings.clone() });
    assert_eq!(seen.id("platform/pool").unwrap(), pid);
    // By operation name, from the attempt counts (no retries expected here): the stats
    // interceptor files `calls` under "unknown" and the service as "Cognito Identity Provider".
    let count = |m: &std::collections::BTreeMap<String, aws::stats::OpStats>, op: &str| -> u64 {
        m.iter().filter(|(k, _)| k.rsplit(':').next() == Some(op)).map(|(_, s)| s.attempts).sum()
    };
    let calls = |op: &str| count(&after, op) - count(&before, op);
    assert_eq!(calls("DescribeUserPool"), 1);
    assert_eq!(calls("GetGroup"), 3);
    assert_eq!(calls("ListGroups") + calls("ListUserPoolClients") + calls("ListResourceServers"), 0);

    // 5. Deletions.
    delete(&aws, &ids, desired.group("acme-member")).await.expect("DeleteGroup");
    delete(&aws, &ids, desired.client("backend")).await.expect("DeleteClient");
    desired.groups.remove("acme-member");
    desired.clients.remove("backend");
    // moto 5.2.5 has no DeleteResourceServer (HTTP 500, retried) and shims.py does not add
    // one yet: run it only when the emulator says it has it.
    if std::env::var("TENANTCTL_TEST_DELETE_RESOURCE_SERVER").is_ok() {
        delete(&aws, &ids, desired.server("https://api.example")).await.expect("DeleteResourceServer");
        desired.resource_servers.clear();
    }
    let (world, _) = observe(&aws, &World::default(), false).await.unwrap();
    assert_pool_eq(&PoolWith::observed(&world, "platform/pool"), &desired);

    // A pool with users is not deleted without force_delete_users.
    aws.cognito
        .admin_create_user()
        .user_pool_id(&pid)
        .username("alice@example.com")
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .user_attributes(AttributeType::builder().name("custom:tenant_id").value("acme").build().unwrap())
        .send()
        .await
        .expect("AdminCreateUser");
    match delete(&aws, &ids, desired.pool_item()).await {
        Err(AwsError::Conflict(m)) => assert!(m.contains("users") && m.contains(&pid), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Deletion protection is on: DeletePool alone refuses; the plan turns it off first, as
    // its own change (UpdatePool), then deletes.
    let mut forced = desired.pool_item();
    forced.1.state["force_delete_users"] = serde_json::json!(true);
    match delete(&aws, &ids, forced.clone()).await {
        Err(AwsError::Conflict(m)) => assert!(m.contains("deletion protection"), "{m}"),
        other => panic!("expected a deletion-protection conflict, got {other:?}"),
    }
    let mut unprotected = desired.clone();
    unprotected.pool.settings = PoolSettings { deletion_protection: false, ..desired.pool.settings.clone() };
    put(&aws, &ids, unprotected.pool_item(), true).await.expect("UpdatePool: protection off");
    delete(&aws, &ids, forced).await.expect("DeletePool");
    assert!(ids.lock().await.is_empty());
    let (world, _) = observe(&aws, &World::default(), false).await.unwrap();
    assert!(world.pools().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silo_pools_and_duplicate_managed_pools() {
    let Some(ep) = endpoint() else { return };
    let platform = unique_platform("dup");
    let aws = connect(&platform, ep).await;
    let ids = Mutex::new(Ids::default());

    // A silo pool: address from its tenant tag.
    let mut silo = desired_pool(&platform);
    silo.pool.address = "tenant/acme/pool".into();
    silo.pool.name = format!("{platform}-acme");
    silo.pool.tenant = Some("acme".into());
    silo.pool.settings.tags = tags(&platform, Some("acme"));
    silo.pool.settings.mfa = "OFF".into();
    silo.pool.settings.deletion_protection = false;
    silo.clients.clear();
    silo.resource_servers.clear();
    silo.groups.clear();
    put(&aws, &ids, silo.pool_item(), false).await.expect("CreatePool silo");

    // Unmanaged look-alikes are ignored: same name, no tags; another platform's tags;
    // a name that only shares the prefix.
    let mut extra = vec![aws.cognito.create_user_pool().pool_name(&platform).send().await.unwrap()];
    extra.push(
        aws.cognito
            .create_user_pool()
            .pool_name(format!("{platform}-acme"))
            .user_pool_tags("tenantctl:managed", "true")
            .user_pool_tags("tenantctl:platform", "someoneelse")
            .send()
            .await
            .unwrap(),
    );
    extra.push(
        aws.cognito
            .create_user_pool()
            .pool_name(format!("{platform}x"))
            .user_pool_tags("tenantctl:managed", "true")
            .user_pool_tags("tenantctl:platform", &platform)
            .send()
            .await
            .unwrap(),
    );
    let mut cleanup: Vec<String> = extra.into_iter().filter_map(|o| o.user_pool?.id).collect();

    let (world, seen) = observe(&aws, &World::default(), false).await.expect("observe");
    assert_eq!(world.pools().keys().collect::<Vec<_>>(), vec!["tenant/acme/pool"]);
    assert_pool_eq(&PoolWith::observed(&world, "tenant/acme/pool"), &silo);
    let first = seen.id("tenant/acme/pool").unwrap().to_string();

    // A second managed pool claiming the same address: a conflict naming both ids.
    let second = aws
        .cognito
        .create_user_pool()
        .pool_name(format!("{platform}-acme"))
        .set_user_pool_tags(Some(silo.pool.settings.tags.clone().into_iter().collect()))
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    match observe(&aws, &World::default(), false).await {
        Err(AwsError::Conflict(m)) => {
            assert!(m.contains(&first) && m.contains(&second), "{m}");
            assert!(m.contains("tenant/acme/pool"), "{m}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    // Leave the emulator as found.
    cleanup.extend([first, second]);
    for id in cleanup {
        aws.cognito.delete_user_pool().user_pool_id(id).send().await.expect("DeleteUserPool");
    }
}

/// The executor of a replace runs its delete, then its create, of the same resource: a group
/// replaced with a new description is there once, with the new description (a create before
/// the delete would fail: the group exists).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_deletes_then_creates_the_same_resource() {
    let Some(ep) = endpoint() else { return };
    let platform = unique_platform("rp");
    let aws = connect(&platform, ep).await;
    let ids = Mutex::new(Ids::default());
    let desired = desired_pool(&platform);
    create_all(&aws, &desired, &ids).await;
    let (name, old) = desired.groups.iter().next().map(|(n, g)| (n.clone(), g.clone())).expect("a group");
    let new = GroupState { description: Some("replaced".into()), ..old.clone() };
    let mut replaced = desired.clone();
    replaced.groups.insert(name.clone(), new.clone());
    let (address, live) = desired.group(&name);
    let op = Op::Item { address, desired: Some(replaced.group(&name).1), live: Some(live), replace: true };
    tenantctl::engine::execute(&aws, &op, &ids).await.expect("replace");
    let (world, _) = observe(&aws, &desired.world(), false).await.unwrap();
    let groups = PoolWith::observed(&world, &desired.pool.address).groups;
    assert_eq!(groups.get(&name), Some(&new), "{groups:?}");
    assert_eq!(groups.len(), desired.groups.len());
}
