//! Cognito adapter: reads managed pools into the observed world; executes pool ops.
//!
//! Pools are identified by their tags (`tenantctl:managed=true`,
//! `tenantctl:platform=<platform>`), never by name alone: `CreateUserPool` is not idempotent,
//! so two managed pools claiming one address are a conflict the operator has to resolve.
//!
//! Everything read is normalised to the shape [`crate::spec::desired`] builds, so an
//! unchanged folder compares equal to what it created:
//! - custom attributes lose their `custom:` prefix; String constraints default to "0"/"2048";
//! - token validities are converted to minutes (units absent: access/id hours, refresh days;
//!   values absent: Cognito's defaults);
//! - lists become sets, absent lists empty sets.
//!
//! Updates are read-modify-write: `UpdateUserPool` and `UpdateUserPoolClient` reset every
//! field left out, so the live object is read first and sent back whole, with only the
//! managed fields replaced.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AliasAttributeType, AttributeDataType, DeletionProtectionType,
    NumberAttributeConstraintsType, PasswordPolicyType, SchemaAttributeType, SoftwareTokenMfaConfigType,
    StringAttributeConstraintsType, UserPoolMfaType, UserPoolPolicyType, UserPoolType, UsernameAttributeType,
    UsernameConfigurationType,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::sync::Mutex;

use super::{call_err, Aws, AwsError};
use crate::plan::Op;
use crate::spec::desired::{names, TAG_MANAGED, TAG_PLATFORM, TAG_TENANT};
use crate::state::{AttributeState, Ids, PasswordState, PoolSettings, PoolState, Tags, UsernamesState, World};

/// How many reads of one kind run at once (the limiter keeps them under the quotas).
pub const READ_CONCURRENCY: usize = 8;

/// A managed pool [`observe`] read: the kinds that live in pools read theirs from it.
pub struct LivePool {
    pub address: String,
    /// Its silo tenant (None: the shared pool).
    pub tenant: Option<String>,
    pub id: String,
}

/// The managed pools of the observed world, with their ids.
pub fn live_pools(observed: &World, ids: &Ids) -> Vec<LivePool> {
    observed
        .pools
        .iter()
        .filter_map(|(address, p)| {
            Some(LivePool { address: address.clone(), tenant: p.tenant.clone(), id: ids.id(address)?.to_string() })
        })
        .collect()
}

/// Reads every pool this platform manages (identified by its tags) into `world.pools`,
/// keyed by address, and their ids into `ids`. When `scoped`, reads only the pools named in
/// `desired` (for `--tenant`). Returns how many user pools the account has
/// (every pool, for the pools-per-account quota).
pub async fn observe(
    aws: &Aws,
    desired: &World,
    scoped: bool,
    world: &mut World,
    ids: &mut Ids,
) -> Result<usize, AwsError> {
    let platform = aws.ctx.platform.as_str();
    let mut pools_in_account = 0usize;
    // Scoped: only the pools of the named tenants; their names are known, so only those
    // candidates are described.
    let wanted_names: Option<BTreeSet<&str>> =
        scoped.then(|| desired.pools.values().map(|p| p.name.as_str()).collect());

    // 1. ListUserPools: candidates by name.
    let mut candidates: Vec<(String, String)> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        aws.limiter.acquire_op("cognito-idp:ListUserPools", None).await;
        let out = aws
            .cognito
            .list_user_pools()
            .max_results(60)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| call_err("cognito-idp:ListUserPools", e))?;
        pools_in_account += out.user_pools().len();
        for p in out.user_pools() {
            let (Some(id), Some(name)) = (p.id(), p.name()) else { continue };
            if !is_candidate_name(platform, name) {
                continue;
            }
            if let Some(w) = &wanted_names {
                if !w.contains(name) {
                    continue;
                }
            }
            candidates.push((id.to_string(), name.to_string()));
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }

    // 2. DescribeUserPool each candidate; keep the managed ones.
    let described: Vec<Option<UserPoolType>> = stream::iter(candidates)
        .map(|(id, _)| async move {
            aws.limiter.acquire_op("cognito-idp:DescribeUserPool", None).await;
            match aws.cognito.describe_user_pool().user_pool_id(&id).send().await {
                Ok(out) => Ok(out.user_pool().cloned()),
                // Deleted between list and describe: not there.
                Err(e) => {
                    let e = call_err("cognito-idp:DescribeUserPool", e);
                    if e.is_not_found() {
                        Ok(None)
                    } else {
                        Err(e)
                    }
                }
            }
        })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;

    let mut managed: BTreeMap<String, (String, UserPoolType, Option<String>)> = BTreeMap::new();
    for pool in described.into_iter().flatten() {
        let Some(id) = pool.id().map(str::to_string) else { continue };
        let tags = pool_tags(&pool);
        if !is_managed(platform, &tags) {
            continue;
        }
        let name = pool.name().unwrap_or_default();
        let Some((address, tenant)) = pool_address(platform, name, &tags) else { continue };
        if scoped && !desired.pools.contains_key(&address) {
            continue;
        }
        if let Some((other, _, _)) = managed.get(&address) {
            let (a, b) = if *other < id { (other.clone(), id.clone()) } else { (id.clone(), other.clone()) };
            return Err(AwsError::Conflict(format!(
                "two user pools managed by platform `{platform}` claim `{address}`: {a} and {b}; \
                 tenantctl cannot tell which one is the real one. Delete the extra pool, or remove \
                 its `{TAG_MANAGED}` tag, then run again"
            )));
        }
        managed.insert(address, (id, pool, tenant));
    }

    // Groups, resource servers and clients are their kinds' (`crate::kinds`), read after.
    let pools: Vec<(String, String, PoolState)> = managed
        .into_iter()
        .map(|(address, (id, pool, tenant))| {
            let state = PoolState {
                address: address.clone(),
                name: pool.name().unwrap_or_default().to_string(),
                tenant,
                settings: pool_settings(&pool),
                attributes: pool.schema_attributes().iter().filter_map(attribute_state).collect(),
                usernames: Some(usernames_state(&pool)),
            };
            (address, id, state)
        })
        .collect();

    for (address, id, state) in pools {
        ids.set(address.clone(), id);
        world.pools.insert(address, state);
    }
    Ok(pools_in_account)
}

async fn describe_pool(aws: &Aws, pool_id: &str) -> Result<UserPoolType, AwsError> {
    aws.limiter.acquire_op("cognito-idp:DescribeUserPool", None).await;
    let out = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .map_err(|e| call_err("cognito-idp:DescribeUserPool", e))?;
    out.user_pool()
        .cloned()
        .ok_or_else(|| AwsError::Other(format!("DescribeUserPool {pool_id}: no pool in the answer")))
}

// ---------------------------------------------------------------------------------------
// Execute
// ---------------------------------------------------------------------------------------

/// Executes one pool-related op.
pub async fn execute(aws: &Aws, op: &Op, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    match op {
        Op::CreatePool { pool } => create_pool(aws, pool, ids).await,
        Op::UpdatePool { pool, settings } => {
            let id = pool_id(ids, pool).await?;
            update_pool(aws, &id, settings).await
        }
        Op::AddAttribute { pool, name, attribute } => {
            let id = pool_id(ids, pool).await?;
            aws.limiter.acquire_op("cognito-idp:AddCustomAttributes", None).await;
            let added = aws
                .cognito
                .add_custom_attributes()
                .user_pool_id(&id)
                .custom_attributes(schema_attribute(name, attribute))
                .send()
                .await
                .map_err(|e| call_err("cognito-idp:AddCustomAttributes", e));
            match added {
                // Added meanwhile (a concurrent apply): fine when it is the same definition.
                Err(e) if is_exists(&e) => adopt_attribute(aws, &id, name, attribute, e).await,
                other => other.map(|_| ()),
            }
        }
        Op::DeletePool { pool, force_delete_users } => {
            let id = pool_id(ids, pool).await?;
            delete_pool(aws, pool, &id, *force_delete_users, false).await?;
            ids.lock().await.forget(pool);
            Ok(())
        }
        other => Err(AwsError::Other(format!("the Cognito adapter cannot execute {other:?}"))),
    }
}

/// Whether a create failed because the resource is already there (Cognito answers a second
/// CreateResourceServer or AddCustomAttributes of a name with InvalidParameterException).
pub(crate) fn is_exists(e: &AwsError) -> bool {
    matches!(e, AwsError::Call { code, message, .. }
        if code == "InvalidParameterException" && message.to_ascii_lowercase().contains("already"))
}

/// AddCustomAttributes found the attribute there: fine when the live one has the desired
/// definition (a concurrent apply added it); otherwise the original error.
async fn adopt_attribute(
    aws: &Aws,
    pool_id: &str,
    name: &str,
    attribute: &AttributeState,
    err: AwsError,
) -> Result<(), AwsError> {
    let live = describe_pool(aws, pool_id).await?;
    let same = live.schema_attributes().iter().filter_map(attribute_state).any(|(n, a)| n == name && a == *attribute);
    if same {
        Ok(())
    } else {
        Err(err)
    }
}

async fn pool_id(ids: &Mutex<Ids>, address: &str) -> Result<String, AwsError> {
    ids.lock()
        .await
        .id(address)
        .map(str::to_string)
        .ok_or_else(|| AwsError::Other(format!("no user pool id known for `{address}` (was it created?)")))
}

async fn create_pool(aws: &Aws, pool: &PoolState, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    let s = &pool.settings;
    let usernames = pool.usernames.clone().unwrap_or_default();
    aws.limiter.acquire_op("cognito-idp:CreateUserPool", None).await;
    let out = aws
        .cognito
        .create_user_pool()
        .pool_name(&pool.name)
        .policies(UserPoolPolicyType::builder().password_policy(password_policy(&s.password_policy, None)).build())
        .deletion_protection(deletion_protection(s.deletion_protection))
        .admin_create_user_config(
            AdminCreateUserConfigType::builder().allow_admin_create_user_only(s.allow_admin_create_user_only).build(),
        )
        .set_schema(Some(pool.attributes.iter().map(|(n, a)| schema_attribute(n, a)).collect()))
        .set_user_pool_tags(Some(s.tags.clone().into_iter().collect()))
        .username_configuration(
            UsernameConfigurationType::builder()
                .case_sensitive(usernames.case_sensitive)
                .build()
                .map_err(|e| AwsError::Other(e.to_string()))?,
        )
        .set_username_attributes(
            non_empty_list(&usernames.sign_in_with)
                .map(|v| v.iter().map(|a| UsernameAttributeType::from(a.as_str())).collect()),
        )
        .set_alias_attributes(
            non_empty_list(&usernames.aliases)
                .map(|v| v.iter().map(|a| AliasAttributeType::from(a.as_str())).collect()),
        )
        .customize()
        .mutate_request(strip_unused_account_validity)
        .send()
        .await
        .map_err(|e| call_err("cognito-idp:CreateUserPool", e))?;
    let id = out
        .user_pool()
        .and_then(|p| p.id())
        .ok_or_else(|| AwsError::Other(format!("CreateUserPool `{}`: no pool id in the answer", pool.name)))?
        .to_string();
    // Record the id first: a failure below must not make the next run create a second pool.
    ids.lock().await.set(pool.address.clone(), id.clone());
    let created = out.user_pool().and_then(|p| p.creation_date()).copied();
    let id = keep_one_pool(aws, pool, &id, created).await?;
    ids.lock().await.set(pool.address.clone(), id.clone());
    if mfa_type(&s.mfa) != UserPoolMfaType::Off {
        set_mfa(aws, &id, &s.mfa).await?;
    }
    Ok(())
}

/// How long after creating a pool tenantctl looks again for a twin created concurrently,
/// when the first look found none (creations within this window are seen by both sides).
pub(crate) const TWIN_SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

/// `CreateUserPool` is not idempotent: a concurrent apply (or an SDK retry of a create whose
/// answer was lost) may have created a second pool for the same address. After creating
/// `ours`, list the pools again; among the managed pools claiming this address, the oldest
/// (CreationDate, then id) is the keeper, for every run that looks. When ours is not the
/// keeper it is deleted (it is empty; deletion protection off first) and the keeper's id is
/// returned. Moto's CreationDate has millisecond resolution: ties fall back to the id.
async fn keep_one_pool(
    aws: &Aws,
    pool: &PoolState,
    ours: &str,
    created: Option<aws_smithy_types::DateTime>,
) -> Result<String, AwsError> {
    let mut keeper = ours.to_string();
    for pass in 0..2 {
        if pass == 1 {
            tokio::time::sleep(TWIN_SETTLE).await;
        }
        let mut twins = pools_claiming(aws, pool, ours).await?;
        if !twins.iter().any(|(_, id)| id == ours) {
            // Not listed yet (eventual consistency): ours is there all the same.
            twins.push((created.map(date_key).unwrap_or((i64::MAX, u32::MAX)), ours.to_string()));
        }
        twins.sort();
        keeper = twins[0].1.clone();
        // Another pool seen: every run that sees both picks the same keeper. None seen: look
        // once more, after the twin of a concurrent create has had time to appear.
        if twins.len() > 1 {
            break;
        }
    }
    if keeper != ours {
        delete_pool(aws, &pool.address, ours, true, true).await.map_err(|e| {
            AwsError::Conflict(format!(
                "user pool {ours} was created for `{}` while another run created {keeper}; deleting the extra pool {ours} failed: {e}. \
                 Delete it, then run again",
                pool.address
            ))
        })?;
    }
    Ok(keeper)
}

pub(crate) fn date_key(d: aws_smithy_types::DateTime) -> (i64, u32) {
    (d.secs(), d.subsec_nanos())
}

/// The managed pools named like `pool` that claim its address: (creation date, id).
async fn pools_claiming(aws: &Aws, pool: &PoolState, ours: &str) -> Result<Vec<((i64, u32), String)>, AwsError> {
    let platform = aws.ctx.platform.as_str();
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        aws.limiter.acquire_op("cognito-idp:ListUserPools", None).await;
        let out = aws
            .cognito
            .list_user_pools()
            .max_results(60)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| call_err("cognito-idp:ListUserPools", e))?;
        for p in out.user_pools() {
            if let (Some(id), Some(name)) = (p.id(), p.name()) {
                if name == pool.name {
                    found.push((
                        p.creation_date().copied().map(date_key).unwrap_or((i64::MAX, u32::MAX)),
                        id.to_string(),
                    ));
                }
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let mut claiming = Vec::new();
    for (date, id) in found {
        if id == ours {
            claiming.push((date, id));
            continue;
        }
        let described = match describe_pool(aws, &id).await {
            Ok(p) => p,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        let tags = pool_tags(&described);
        if is_managed(platform, &tags)
            && pool_address(platform, described.name().unwrap_or_default(), &tags)
                .is_some_and(|(a, _)| a == pool.address)
        {
            claiming.push((date, id));
        }
    }
    Ok(claiming)
}

async fn set_mfa(aws: &Aws, pool_id: &str, mfa: &str) -> Result<(), AwsError> {
    // SetUserPoolMfaConfig replaces the whole MFA configuration: read it first and send back
    // the SMS, email and WebAuthn settings tenantctl does not manage, so users enrolled in SMS
    // or email MFA are not locked out by a mode change.
    aws.limiter.acquire_op("cognito-idp:GetUserPoolMfaConfig", None).await;
    let live = aws
        .cognito
        .get_user_pool_mfa_config()
        .user_pool_id(pool_id)
        .send()
        .await
        .map_err(|e| call_err("cognito-idp:GetUserPoolMfaConfig", e))?;
    let req = set_mfa_request(aws.cognito.set_user_pool_mfa_config(), pool_id, mfa, &live);
    aws.limiter.acquire_op("cognito-idp:SetUserPoolMfaConfig", None).await;
    req.send().await.map_err(|e| call_err("cognito-idp:SetUserPoolMfaConfig", e))?;
    Ok(())
}

/// The SetUserPoolMfaConfig request: the new mode (TOTP enabled when MFA is on, as AWS
/// requires a factor), everything else as live.
fn set_mfa_request(
    b: aws_sdk_cognitoidentityprovider::operation::set_user_pool_mfa_config::builders::SetUserPoolMfaConfigFluentBuilder,
    pool_id: &str,
    mfa: &str,
    live: &aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput,
) -> aws_sdk_cognitoidentityprovider::operation::set_user_pool_mfa_config::builders::SetUserPoolMfaConfigFluentBuilder {
    let t = mfa_type(mfa);
    let totp = if t != UserPoolMfaType::Off {
        Some(SoftwareTokenMfaConfigType::builder().enabled(true).build())
    } else {
        live.software_token_mfa_configuration().cloned()
    };
    b.user_pool_id(pool_id)
        .mfa_configuration(t)
        .set_software_token_mfa_configuration(totp)
        .set_sms_mfa_configuration(live.sms_mfa_configuration().cloned())
        .set_email_mfa_configuration(live.email_mfa_configuration().cloned())
        .set_web_authn_configuration(live.web_authn_configuration().cloned())
}

/// Read-modify-write of the pool's managed settings.
///
/// MFA: when it changes, `SetUserPoolMfaConfig` runs first (it also enables TOTP, which AWS
/// requires before MFA can be OPTIONAL/ON), and `UpdateUserPool` then sends the now-live
/// value. (Sending the old value after SetUserPoolMfaConfig would, on moto, freeze the
/// describe answer at the old value.)
async fn update_pool(aws: &Aws, pool_id: &str, settings: &PoolSettings) -> Result<(), AwsError> {
    let live = describe_pool(aws, pool_id).await?;
    let live_mfa = live.mfa_configuration().map(|m| m.as_str().to_string()).unwrap_or_else(|| "OFF".into());
    let mfa = if mfa_type(&live_mfa) != mfa_type(&settings.mfa) {
        set_mfa(aws, pool_id, &settings.mfa).await?;
        settings.mfa.clone()
    } else {
        live_mfa
    };
    aws.limiter.acquire_op("cognito-idp:UpdateUserPool", None).await;
    update_pool_request(aws.cognito.update_user_pool(), &live, pool_id, settings, &mfa)
        .customize()
        .mutate_request(strip_unused_account_validity)
        .send()
        .await
        .map_err(|e| call_err("cognito-idp:UpdateUserPool", e))?;
    Ok(())
}

/// Deletes a pool (its domain first). `unprotect`: turn deletion protection off on the way
/// (only for a twin this run created itself; a planned deletion turns it off as its own change).
async fn delete_pool(
    aws: &Aws,
    address: &str,
    pool_id: &str,
    force_delete_users: bool,
    unprotect: bool,
) -> Result<(), AwsError> {
    if !force_delete_users {
        aws.limiter.acquire_op("cognito-idp:ListUsers", None).await;
        let users = aws
            .cognito
            .list_users()
            .user_pool_id(pool_id)
            .limit(1)
            .send()
            .await
            .map_err(|e| call_err("cognito-idp:ListUsers", e))?;
        if !users.users().is_empty() {
            return Err(AwsError::Conflict(format!(
                "user pool {pool_id} (`{address}`) still has users; it is not deleted without --force-delete-users"
            )));
        }
    }
    let live = describe_pool(aws, pool_id).await?;
    if live.deletion_protection() == Some(&DeletionProtectionType::Active) {
        if !unprotect {
            return Err(AwsError::Conflict(format!(
                "user pool {pool_id} (`{address}`) has deletion protection on; plan again: the plan turns it off as its own change before deleting the pool"
            )));
        }
        let settings = PoolSettings { deletion_protection: false, ..pool_settings(&live) };
        let mfa = settings.mfa.clone();
        aws.limiter.acquire_op("cognito-idp:UpdateUserPool", None).await;
        update_pool_request(aws.cognito.update_user_pool(), &live, pool_id, &settings, &mfa)
            .customize()
            .mutate_request(strip_unused_account_validity)
            .send()
            .await
            .map_err(|e| call_err("cognito-idp:UpdateUserPool", e))?;
    }
    // A pool with a hosted-UI domain cannot be deleted until the domain is.
    for domain in [live.domain(), live.custom_domain()].into_iter().flatten().filter(|d| !d.is_empty()) {
        aws.limiter.acquire_op("cognito-idp:DeleteUserPoolDomain", None).await;
        aws.cognito
            .delete_user_pool_domain()
            .user_pool_id(pool_id)
            .domain(domain)
            .send()
            .await
            .map_err(|e| call_err("cognito-idp:DeleteUserPoolDomain", e))?;
    }
    aws.limiter.acquire_op("cognito-idp:DeleteUserPool", None).await;
    aws.cognito
        .delete_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .map_err(|e| call_err("cognito-idp:DeleteUserPool", e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Pure helpers: requests from state, state from SDK types
// ---------------------------------------------------------------------------------------

/// The UpdateUserPool request: every updatable field of the live pool, with the managed
/// settings replaced. `mfa` is the MfaConfiguration to send (the live one).
fn update_pool_request(
    b: UpdateUserPoolFluentBuilder,
    live: &UserPoolType,
    pool_id: &str,
    s: &PoolSettings,
    mfa: &str,
) -> UpdateUserPoolFluentBuilder {
    let live_policies = live.policies();
    let policies = UserPoolPolicyType::builder()
        .password_policy(password_policy(&s.password_policy, live_policies.and_then(|p| p.password_policy())))
        .set_sign_in_policy(live_policies.and_then(|p| p.sign_in_policy()).cloned())
        .build();
    // UnusedAccountValidityDays is deprecated; AWS rejects it next to
    // PasswordPolicy.TemporaryPasswordValidityDays, which replaces it.
    let admin = AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(s.allow_admin_create_user_only)
        .set_invite_message_template(live.admin_create_user_config().and_then(|a| a.invite_message_template()).cloned())
        .build();
    let list = |v: &[_]| if v.is_empty() { None } else { Some(v.to_vec()) };
    b.user_pool_id(pool_id)
        .set_pool_name(live.name().map(str::to_string))
        .policies(policies)
        .deletion_protection(deletion_protection(s.deletion_protection))
        .set_lambda_config(live.lambda_config().cloned())
        .set_auto_verified_attributes(list(live.auto_verified_attributes()))
        .set_sms_verification_message(live.sms_verification_message().map(str::to_string))
        .set_email_verification_message(live.email_verification_message().map(str::to_string))
        .set_email_verification_subject(live.email_verification_subject().map(str::to_string))
        .set_verification_message_template(live.verification_message_template().cloned())
        .set_sms_authentication_message(live.sms_authentication_message().map(str::to_string))
        .set_user_attribute_update_settings(live.user_attribute_update_settings().cloned())
        .mfa_configuration(mfa_type(mfa))
        .set_device_configuration(live.device_configuration().cloned())
        .set_email_configuration(live.email_configuration().cloned())
        .set_sms_configuration(live.sms_configuration().cloned())
        .set_user_pool_tags(Some(s.tags.clone().into_iter().collect()))
        .admin_create_user_config(admin)
        .set_user_pool_add_ons(live.user_pool_add_ons().cloned())
        .set_account_recovery_setting(live.account_recovery_setting().cloned())
        .set_user_pool_tier(live.user_pool_tier().cloned())
}

/// The SDK serialises `AdminCreateUserConfig.UnusedAccountValidityDays` (a plain `i32`)
/// even when unset, as 0. The field is deprecated in favour of
/// `PasswordPolicy.TemporaryPasswordValidityDays`, which tenantctl always sends; AWS refuses
/// requests that carry both, so it is taken out of the request body.
fn strip_unused_account_validity(req: &mut aws_smithy_runtime_api::client::orchestrator::HttpRequest) {
    let Some(new) = req.body().bytes().and_then(without_unused_account_validity) else { return };
    req.headers_mut().insert("content-length", new.len().to_string());
    *req.body_mut() = aws_smithy_types::body::SdkBody::from(new);
}

fn without_unused_account_validity(body: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get_mut("AdminCreateUserConfig")?.as_object_mut()?.remove("UnusedAccountValidityDays")?;
    serde_json::to_vec(&v).ok()
}

fn password_policy(p: &PasswordState, live: Option<&PasswordPolicyType>) -> PasswordPolicyType {
    PasswordPolicyType::builder()
        .minimum_length(p.min_length)
        .require_uppercase(p.require_uppercase)
        .require_lowercase(p.require_lowercase)
        .require_numbers(p.require_numbers)
        .require_symbols(p.require_symbols)
        .temporary_password_validity_days(p.temporary_password_validity_days)
        .set_password_history_size(live.and_then(|l| l.password_history_size()))
        .build()
}

fn deletion_protection(on: bool) -> DeletionProtectionType {
    if on {
        DeletionProtectionType::Active
    } else {
        DeletionProtectionType::Inactive
    }
}

fn mfa_type(mfa: &str) -> UserPoolMfaType {
    match mfa.to_ascii_uppercase().as_str() {
        "ON" => UserPoolMfaType::On,
        "OPTIONAL" => UserPoolMfaType::Optional,
        _ => UserPoolMfaType::Off,
    }
}

/// A custom attribute for CreateUserPool / AddCustomAttributes: bare name (Cognito adds
/// `custom:`), never developer-only, never required.
fn schema_attribute(name: &str, a: &AttributeState) -> SchemaAttributeType {
    let bare = name.strip_prefix("custom:").unwrap_or(name);
    let b =
        SchemaAttributeType::builder().name(bare).developer_only_attribute(false).mutable(a.mutable).required(false);
    if a.data_type == "Number" {
        let b = b.attribute_data_type(AttributeDataType::Number);
        if a.min_value.is_some() || a.max_value.is_some() {
            b.number_attribute_constraints(
                NumberAttributeConstraintsType::builder()
                    .set_min_value(a.min_value.clone())
                    .set_max_value(a.max_value.clone())
                    .build(),
            )
            .build()
        } else {
            b.build()
        }
    } else {
        b.attribute_data_type(AttributeDataType::String)
            .string_attribute_constraints(
                StringAttributeConstraintsType::builder()
                    .min_length(a.min_length.clone().unwrap_or_else(|| "0".into()))
                    .max_length(a.max_length.clone().unwrap_or_else(|| "2048".into()))
                    .build(),
            )
            .build()
    }
}

/// A pool name this platform could own: `<platform>` or `<platform>-...`.
fn is_candidate_name(platform: &str, name: &str) -> bool {
    name == platform || name.strip_prefix(platform).is_some_and(|r| r.starts_with('-'))
}

fn pool_tags(p: &UserPoolType) -> Tags {
    p.user_pool_tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn is_managed(platform: &str, tags: &Tags) -> bool {
    tags.get(TAG_MANAGED).map(String::as_str) == Some("true")
        && tags.get(TAG_PLATFORM).map(String::as_str) == Some(platform)
}

/// The address of a managed pool and its silo tenant: the shared pool is named exactly
/// `<platform>`; a silo pool's tenant comes from its `tenant_id` tag (else from its name).
fn pool_address(platform: &str, name: &str, tags: &Tags) -> Option<(String, Option<String>)> {
    if name == platform {
        return Some((names::shared_pool_address(), None));
    }
    let tenant = tags
        .get(TAG_TENANT)
        .filter(|t| !t.is_empty())
        .cloned()
        .or_else(|| name.strip_prefix(platform).and_then(|r| r.strip_prefix('-')).map(str::to_string))
        .filter(|t| !t.is_empty())?;
    Some((names::silo_pool_address(&tenant), Some(tenant)))
}

/// The managed settings of a described pool.
fn pool_settings(p: &UserPoolType) -> PoolSettings {
    let pp = p.policies().and_then(|x| x.password_policy());
    PoolSettings {
        deletion_protection: p.deletion_protection() == Some(&DeletionProtectionType::Active),
        mfa: p.mfa_configuration().map(|m| m.as_str().to_string()).unwrap_or_else(|| "OFF".into()),
        allow_admin_create_user_only: p.admin_create_user_config().is_some_and(|a| a.allow_admin_create_user_only()),
        password_policy: PasswordState {
            // Cognito's defaults when a part is absent.
            min_length: pp.and_then(|x| x.minimum_length()).unwrap_or(8),
            require_uppercase: pp.is_some_and(|x| x.require_uppercase()),
            require_lowercase: pp.is_some_and(|x| x.require_lowercase()),
            require_numbers: pp.is_some_and(|x| x.require_numbers()),
            require_symbols: pp.is_some_and(|x| x.require_symbols()),
            temporary_password_validity_days: pp.map_or(7, |x| x.temporary_password_validity_days()),
        },
        tags: pool_tags(p),
    }
}

/// A `custom:*` schema attribute, normalised (prefix stripped, String defaults filled in).
fn attribute_state(a: &SchemaAttributeType) -> Option<(String, AttributeState)> {
    let name = a.name()?.strip_prefix("custom:")?.to_string();
    let non_empty = |s: Option<&str>| s.filter(|v| !v.is_empty()).map(str::to_string);
    let state = match a.attribute_data_type() {
        Some(AttributeDataType::Number) => {
            let c = a.number_attribute_constraints();
            AttributeState {
                data_type: "Number".into(),
                mutable: a.mutable().unwrap_or(false),
                min_length: None,
                max_length: None,
                min_value: non_empty(c.and_then(|c| c.min_value())),
                max_value: non_empty(c.and_then(|c| c.max_value())),
            }
        }
        other => {
            let c = a.string_attribute_constraints();
            AttributeState {
                data_type: other.map_or("String", |t| t.as_str()).to_string(),
                mutable: a.mutable().unwrap_or(false),
                min_length: Some(non_empty(c.and_then(|c| c.min_length())).unwrap_or_else(|| "0".into())),
                max_length: Some(non_empty(c.and_then(|c| c.max_length())).unwrap_or_else(|| "2048".into())),
                min_value: None,
                max_value: None,
            }
        }
    };
    Some((name, state))
}

/// A set as a request list; an empty set is left unset.
pub(crate) fn non_empty_list(s: &BTreeSet<String>) -> Option<Vec<String>> {
    (!s.is_empty()).then(|| s.iter().cloned().collect())
}

/// The pool's user-name settings. Without `UsernameConfiguration` a pool is case-sensitive
/// (the API's default for pools created without it).
fn usernames_state(p: &UserPoolType) -> UsernamesState {
    UsernamesState {
        case_sensitive: p.username_configuration().map_or(true, |u| u.case_sensitive()),
        sign_in_with: p.username_attributes().iter().map(|a| a.as_str().to_string()).collect(),
        aliases: p.alias_attributes().iter().map(|a| a.as_str().to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::{
        LambdaConfigType, MessageTemplateType, VerificationMessageTemplateType,
    };

    fn offline_client() -> aws_sdk_cognitoidentityprovider::Client {
        let conf = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .region(aws_sdk_cognitoidentityprovider::config::Region::new("us-east-1"))
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(conf)
    }

    fn settings() -> PoolSettings {
        PoolSettings {
            deletion_protection: true,
            mfa: "OPTIONAL".into(),
            allow_admin_create_user_only: true,
            password_policy: PasswordState {
                min_length: 12,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: false,
                temporary_password_validity_days: 3,
            },
            tags: Tags::from([
                ("tenantctl:managed".into(), "true".into()),
                ("tenantctl:platform".into(), "acme".into()),
            ]),
        }
    }

    #[test]
    fn deprecated_unused_account_validity_is_stripped() {
        let body = br#"{"UserPoolId":"p","AdminCreateUserConfig":{"AllowAdminCreateUserOnly":true,"UnusedAccountValidityDays":0}}"#;
        let out: serde_json::Value = serde_json::from_slice(&without_unused_account_validity(body).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"UserPoolId": "p", "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": true}})
        );
        assert!(without_unused_account_validity(br#"{"UserPoolId":"p"}"#).is_none());
    }

    #[test]
    fn candidate_names() {
        assert!(is_candidate_name("acme", "acme"));
        assert!(is_candidate_name("acme", "acme-foo"));
        assert!(!is_candidate_name("acme", "acmefoo"));
        assert!(!is_candidate_name("acme", "xacme"));
    }

    #[test]
    fn addresses_from_name_and_tags() {
        let tags = Tags::from([("tenant_id".into(), "foo".into())]);
        assert_eq!(pool_address("acme", "acme", &Tags::new()), Some(("platform/pool".into(), None)));
        assert_eq!(pool_address("acme", "acme-foo", &tags), Some(("tenant/foo/pool".into(), Some("foo".into()))));
        assert_eq!(
            pool_address("acme", "acme-bar", &Tags::new()),
            Some(("tenant/bar/pool".into(), Some("bar".into())))
        );
        let managed = Tags::from([(TAG_MANAGED.into(), "true".into()), (TAG_PLATFORM.into(), "acme".into())]);
        assert!(is_managed("acme", &managed));
        assert!(!is_managed("other", &managed));
        assert!(!is_managed("acme", &tags));
    }

    #[test]
    fn string_attribute_defaults_are_filled_in() {
        let a = SchemaAttributeType::builder()
            .name("custom:plain")
            .attribute_data_type(AttributeDataType::String)
            .mutable(true)
            .string_attribute_constraints(StringAttributeConstraintsType::builder().build())
            .build();
        let (n, s) = attribute_state(&a).unwrap();
        assert_eq!(n, "plain");
        assert_eq!(s.min_length.as_deref(), Some("0"));
        assert_eq!(s.max_length.as_deref(), Some("2048"));
        assert!(s.mutable);
        let std = SchemaAttributeType::builder().name("email").build();
        assert!(attribute_state(&std).is_none());
    }

    #[test]
    fn attribute_round_trip() {
        for a in [
            AttributeState {
                data_type: "String".into(),
                mutable: false,
                min_length: Some("1".into()),
                max_length: Some("32".into()),
                min_value: None,
                max_value: None,
            },
            AttributeState {
                data_type: "Number".into(),
                mutable: true,
                min_length: None,
                max_length: None,
                min_value: Some("0".into()),
                max_value: Some("100".into()),
            },
            AttributeState {
                data_type: "Number".into(),
                mutable: true,
                min_length: None,
                max_length: None,
                min_value: None,
                max_value: None,
            },
        ] {
            let mut sent = schema_attribute("custom:x", &a);
            assert_eq!(sent.name(), Some("x"));
            // What Cognito answers: the name with its prefix.
            sent.name = Some("custom:x".into());
            assert_eq!(attribute_state(&sent), Some(("x".into(), a)));
        }
    }

    #[test]
    fn pool_settings_from_describe() {
        let p = UserPoolType::builder()
            .deletion_protection(DeletionProtectionType::Active)
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(password_policy(&settings().password_policy, None))
                    .build(),
            )
            .admin_create_user_config(AdminCreateUserConfigType::builder().allow_admin_create_user_only(true).build())
            .set_user_pool_tags(Some(settings().tags.into_iter().collect()))
            .build();
        let s = pool_settings(&p);
        assert_eq!(s.mfa, "OFF");
        assert_eq!(PoolSettings { mfa: "OPTIONAL".into(), ..s }, settings());
    }

    #[test]
    fn update_pool_sends_back_unmanaged_fields() {
        let live = UserPoolType::builder()
            .id("p1")
            .name("acme")
            .lambda_config(LambdaConfigType::builder().pre_sign_up("arn:aws:lambda:us-east-1:1:function:f").build())
            .email_verification_message("code {####}")
            .verification_message_template(
                VerificationMessageTemplateType::builder().email_message("code {####}").build(),
            )
            .mfa_configuration(UserPoolMfaType::Optional)
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(false)
                    .unused_account_validity_days(7)
                    .invite_message_template(MessageTemplateType::builder().email_subject("hi").build())
                    .build(),
            )
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(PasswordPolicyType::builder().minimum_length(8).password_history_size(5).build())
                    .build(),
            )
            .build();
        let b = update_pool_request(offline_client().update_user_pool(), &live, "p1", &settings(), "OPTIONAL");
        let i = b.as_input();
        assert_eq!(i.get_user_pool_id().as_deref(), Some("p1"));
        assert_eq!(i.get_pool_name().as_deref(), Some("acme"));
        assert_eq!(i.get_lambda_config(), &live.lambda_config().cloned());
        assert_eq!(i.get_email_verification_message().as_deref(), Some("code {####}"));
        assert!(i.get_verification_message_template().is_some());
        assert_eq!(i.get_mfa_configuration(), &Some(UserPoolMfaType::Optional));
        assert_eq!(i.get_deletion_protection(), &Some(DeletionProtectionType::Active));
        let admin = i.get_admin_create_user_config().as_ref().unwrap();
        assert!(admin.allow_admin_create_user_only());
        assert_eq!(admin.invite_message_template().and_then(|t| t.email_subject()), Some("hi"));
        let pp = i.get_policies().as_ref().unwrap().password_policy().unwrap();
        assert_eq!(pp.minimum_length(), Some(12));
        assert_eq!(pp.password_history_size(), Some(5));
        assert_eq!(pp.temporary_password_validity_days(), 3);
        assert_eq!(i.get_user_pool_tags().as_ref().unwrap().len(), 2);
    }

    /// A mode change carries the live SMS, email and WebAuthn settings through.
    #[test]
    fn mfa_change_keeps_sms_email_and_webauthn() {
        use aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput;
        use aws_sdk_cognitoidentityprovider::types::{
            EmailMfaConfigType, SmsConfigurationType, SmsMfaConfigType, WebAuthnConfigurationType,
        };
        let sms = SmsMfaConfigType::builder()
            .sms_configuration(
                SmsConfigurationType::builder().sns_caller_arn("arn:aws:iam::123456789012:role/sms").build(),
            )
            .build();
        let live = GetUserPoolMfaConfigOutput::builder()
            .mfa_configuration(UserPoolMfaType::Optional)
            .sms_mfa_configuration(sms.clone())
            .email_mfa_configuration(EmailMfaConfigType::builder().message("code {####}").build())
            .web_authn_configuration(WebAuthnConfigurationType::builder().relying_party_id("auth.example").build())
            .build();
        let b = set_mfa_request(offline_client().set_user_pool_mfa_config(), "p1", "ON", &live);
        let i = b.as_input();
        assert_eq!(i.get_mfa_configuration(), &Some(UserPoolMfaType::On));
        assert_eq!(i.get_sms_mfa_configuration(), &Some(sms));
        assert!(i.get_email_mfa_configuration().is_some());
        assert!(i.get_web_authn_configuration().is_some());
        assert_eq!(i.get_software_token_mfa_configuration().as_ref().map(|t| t.enabled()), Some(true));
    }
}
