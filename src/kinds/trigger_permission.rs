//! `trigger_permission`: the statement that lets Cognito invoke a pool's trigger function
//! (contract §1.4 `userPool.triggers`, §1.7 `userPool.triggerScope`): `lambda:InvokeFunction`
//! for `cognito-idp.amazonaws.com` from this account (`SourceAccount`) and:
//! - `triggerScope: pool` (the default): only from that pool (`SourceArn` = the pool's ARN, a
//!   reference to its id). One per (pool, function), at `<pool>/trigger_permission/<function
//!   name>`, Sid `tenantctl-cognito-<pool name>`.
//! - `triggerScope: account`: from any pool of the account (`SourceArn`
//!   `arn:<partition>:cognito-idp:<region>:<account>:userpool/*`). One per function, at
//!   `platform/trigger_permission/<function name>`, Sid `tenantctl-cognito-<platform>_account`
//!   (pool names hold no `_`, so no pool's Sid is that).
//!
//! - Only tenantctl's statements are tenantctl's: the function is the user's, and its other
//!   statements are never changed. A statement of tenantctl's Sid that allows more (no
//!   `SourceArn`, another principal) is changed drift, repaired by removing it and adding the
//!   desired one (a statement cannot be changed in place).
//! - Observed with one `GetPolicy` per trigger function the folder names (not per pool): the
//!   statements of the platform's Sids there (its managed pools' and the account one), so a
//!   switch of `triggerScope` is one apply: the other scope's statements are deleted
//!   (`RemovePermission`), after the new ones are added. The policy's other statements are
//!   counted for Lambda's 20 KB (`check_quotas`).
//! - A function the folder stops naming keeps its statements (left alone, as tenantctl does
//!   not read functions it is not told about), and a pool's statement stays when the pool
//!   goes.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::lambda_permission::{state, statement, PermissionState};
use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::quotas::{AccountFigures, FUNCTION_POLICY_BYTES};
use crate::plan::{Action, Deps, FieldChange, ItemRules, Key, Op, Plan, PlanError, Resource};
use crate::spec::desired::trigger_arn;
use crate::spec::model::TriggerScope;
use crate::spec::{Diagnostic, Folder};
use crate::state::refs::longest_id;
use crate::state::{Ids, Item, Text, World};

pub struct TriggerPermission;

pub const KIND: &str = "trigger_permission";

/// Cognito's service principal.
pub const COGNITO_PRINCIPAL: &str = "cognito-idp.amazonaws.com";

/// The statement id for a pool (its physical name).
pub fn statement_id(pool_name: &str) -> String {
    format!("tenantctl-cognito-{pool_name}")
}

/// The statement id of `triggerScope: account` (one per function and platform).
pub fn account_statement_id(platform: &str) -> String {
    format!("tenantctl-cognito-{platform}_account")
}

/// The last segment of a function ARN (or the name itself).
fn function_name(function: &str) -> &str {
    function.rsplit(':').next().unwrap_or(function)
}

pub fn address(pool: &str, function: &str) -> String {
    format!("{pool}/trigger_permission/{}", function_name(function))
}

/// The address of a function's `triggerScope: account` statement.
pub fn account_address(function: &str) -> String {
    address("platform", function)
}

impl ItemRules for TriggerPermission {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    /// After the plan's new statements: a switch of `triggerScope` never leaves a pool unable
    /// to invoke its triggers.
    fn delete_order(&self, _live: &Item, deps: &mut Deps) {
        deps.needs.push(Key::Kind(self.resource()));
    }

    fn create_fields(&self, desired: &Item, ids: &Ids) -> Vec<FieldChange> {
        super::lambda_permission::LambdaPermission.create_fields(desired, ids)
    }

    fn compare(&self, address: &str, desired: &Item, live: &Item, ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        super::lambda_permission::LambdaPermission.compare(address, desired, live, ids)
    }

    /// Lambda's 20 KB per function policy ([`policy_sizes`]).
    fn check_quotas(&self, plan: &Plan, desired: &World, figures: &AccountFigures) -> Result<(), PlanError> {
        for (function, size) in policy_sizes(plan, desired, figures) {
            if size > FUNCTION_POLICY_BYTES {
                let ours: Vec<&Item> = desired.items.values().filter(|i| i.kind == KIND && on(i, &function)).collect();
                // Pool scope: the statements live in their pools.
                let per_pool = ours.iter().any(|i| i.parent.is_some());
                let (what, remedy) = if per_pool {
                    ("one per pool", "set userPool.triggerScope: account (one statement per function, for every pool of the account)")
                } else {
                    (
                        "one for the account",
                        "remove statements of others from the function's resource policy (lambda remove-permission)",
                    )
                };
                return Err(PlanError::Quota {
                    quota: "Lambda function resource policy size (20 KB)".into(),
                    detail: format!("trigger function `{function}`'s resource policy would be {size} bytes, with {} statements of tenantctl ({what}): {size} > {FUNCTION_POLICY_BYTES}", ours.len()),
                    remedy: remedy.into(),
                });
            }
        }
        Ok(())
    }
}

/// Whether a statement item is on `function`.
fn on(item: &Item, function: &str) -> bool {
    state(item).is_some_and(|p| p.function == function)
}

/// The size in bytes of each trigger function's resource policy once the plan is applied:
/// the live statements it leaves (`figures.function_policies`: every statement whose Sid is
/// neither desired there nor deleted by the plan) and the desired ones, minified, in Lambda's
/// `{"Version","Id","Statement"}` document. Each pool id in a `SourceArn` counts at the
/// longest AWS issues ([`longest_id`]), known or not (a pool to create): the ids AWS issues
/// all have that length.
pub fn policy_sizes(plan: &Plan, desired: &World, figures: &AccountFigures) -> BTreeMap<String, usize> {
    let mut statements: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for p in desired.items.values().filter(|i| i.kind == KIND).filter_map(state) {
        statements.entry(p.function.clone()).or_default().push(crate::state::minified_len(&document(&p)));
    }
    for (function, desired_sizes) in statements.iter_mut() {
        let replaced = |sid: &str| {
            desired.items.values().any(|i| i.kind == KIND && i.name == sid && on(i, function))
                || plan.changes.iter().any(|c| {
                    let Op::Item { live: Some(l), desired: None, .. } = &c.op else { return false };
                    c.action == Action::Delete && l.kind == KIND && l.name == sid && on(l, function)
                })
        };
        let live = figures.function_policies.get(function).into_iter().flatten();
        desired_sizes.extend(live.filter(|(sid, _)| !replaced(sid)).map(|(_, n)| *n));
    }
    let envelope = crate::state::minified_len(&json!({"Version": "2012-10-17", "Id": "default", "Statement": []}));
    statements
        .into_iter()
        .map(|(f, sizes)| {
            let commas = sizes.len().saturating_sub(1);
            (f, envelope + sizes.iter().sum::<usize>() + commas)
        })
        .collect()
}

/// The statement as Lambda keeps it in the policy (what `GetPolicy` returns), each pool id at
/// the longest AWS issues.
fn document(p: &PermissionState) -> Value {
    let arn = p.source_arn.as_ref().map(|t| t.filled(&Ids::default(), |_| 0)).unwrap_or_default();
    // `arn:<partition>:cognito-idp:<region>:<account>:userpool/...`
    let mut parts = arn.split(':').skip(1);
    let (partition, region) = (parts.next().unwrap_or("aws"), parts.nth(1).unwrap_or_default());
    let account = p.source_account.clone().unwrap_or_default();
    let source_arn =
        p.source_arn.as_ref().map(|t| t.filled(&Ids::default(), |_| longest_id("user_pool", region).unwrap_or(0)));
    let resource = if p.function.starts_with("arn:") {
        p.function.clone()
    } else {
        format!("arn:{partition}:lambda:{region}:{account}:function:{}", p.function)
    };
    let mut condition = serde_json::Map::new();
    if let Some(a) = &p.source_account {
        condition.insert("StringEquals".into(), json!({"AWS:SourceAccount": a}));
    }
    if let Some(a) = source_arn {
        condition.insert("ArnLike".into(), json!({"AWS:SourceArn": a}));
    }
    json!({"Sid": p.statement_id, "Effect": "Allow", "Principal": {"Service": p.principal},
           "Action": p.action, "Resource": resource, "Condition": condition})
}

/// A desired statement item.
fn permission_item(p: &PermissionState, tenant: Option<String>, parent: Option<String>) -> Item {
    Item {
        kind: KIND.into(),
        name: p.statement_id.clone(),
        tenant,
        parent,
        state: serde_json::to_value(p).expect("state serializes"),
        after: Vec::new(),
    }
}

impl Kind for TriggerPermission {
    fn service(&self) -> super::Service {
        super::Service::Lambda
    }

    /// One per (pool, function) of the pools' triggers (`triggerScope: pool`), or one per
    /// function (`account`).
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, world: &World) -> Desired {
        let env = &ctx.env;
        let up = &folder.platform.value.user_pool;
        let pools_arn = format!("arn:{}:cognito-idp:{}:{}:userpool/", env.partition, env.region, env.account_id);
        let statement = |sid: String, source_arn: Text, function: &String| PermissionState {
            statement_id: sid,
            copies: 1,
            action: "lambda:InvokeFunction".into(),
            principal: COGNITO_PRINCIPAL.into(),
            source_arn: Some(source_arn),
            source_account: Some(env.account_id.clone()),
            function: function.clone(),
        };
        // By ARN, as the pools name them (`userPool.triggers` may name a function by name).
        let functions: std::collections::BTreeSet<String> = up.triggers.values().map(|f| trigger_arn(env, f)).collect();
        if up.trigger_scope == TriggerScope::Account {
            let sid = account_statement_id(&folder.platform.value.name);
            return Ok(functions
                .into_iter()
                .map(|f| {
                    let p = statement(sid.clone(), Text::lit(format!("{pools_arn}*")), &f);
                    (account_address(&f), permission_item(&p, None, None))
                })
                .collect());
        }
        let mut out = Vec::new();
        for (address, pool) in world.pools() {
            if pool.settings.triggers.is_none() {
                continue;
            }
            for function in &functions {
                let p = statement(statement_id(&pool.name), Text::lit(&pools_arn).id(&address), function);
                out.push((
                    self::address(&address, function),
                    permission_item(&p, pool.tenant.clone(), Some(address.clone())),
                ));
            }
        }
        Ok(out)
    }

    /// `GetPolicy` of each function the desired statements are on, once each: the statements
    /// of the platform's Sids (module docs), and the size of every statement for the quota.
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        async move {
            let mut functions: Vec<String> =
                scope.desired.items.values().filter(|i| i.kind == KIND).filter_map(state).map(|p| p.function).collect();
            functions.sort();
            functions.dedup();
            let platform = &scope.folder.platform.value.name;
            // The platform's Sids: its pools' (desired or live) and the account one.
            let mut sids: BTreeMap<String, (String, Option<String>, Option<String>)> = BTreeMap::new();
            for world in [scope.observed, scope.desired] {
                for (address, pool) in world.pools() {
                    sids.insert(statement_id(&pool.name), (address.clone(), pool.tenant.clone(), Some(address)));
                }
            }
            sids.insert(account_statement_id(platform), ("platform".into(), None, None));
            let mut out = Vec::new();
            for function in functions {
                let Some(doc) = get_policy(aws, &function).await? else { continue };
                let all = doc.get("Statement").and_then(Value::as_array).cloned().unwrap_or_default();
                let sizes = all
                    .iter()
                    .map(|s| {
                        (
                            s.get("Sid").and_then(Value::as_str).unwrap_or_default().to_string(),
                            crate::state::minified_len(s),
                        )
                    })
                    .collect();
                scope.note(|n| {
                    n.figures.function_policies.insert(function.clone(), sizes);
                });
                for (sid, (at, tenant, parent)) in &sids {
                    let Some(p) = statement(&doc, &function, sid, COGNITO_PRINCIPAL) else { continue };
                    let item = permission_item(&p, tenant.clone(), parent.clone());
                    out.push((address(at, &function), item, p.statement_id.clone()));
                }
            }
            Ok(out)
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        super::lambda_permission::add(aws, item).boxed()
    }

    /// Removes every copy of the live statement, adds the desired one.
    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        super::lambda_permission::replace(aws, item, live).boxed()
    }

    /// Removes every copy of the statement (the other scope's, after a `triggerScope` switch).
    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let p: PermissionState = super::typed(live)?;
            for sid in super::lambda_permission::removed(&p) {
                super::lambda_permission::remove_statement(aws, &p.function, &sid).await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

/// The function's resource policy (`lambda:GetPolicy`); None when it has none.
async fn get_policy(aws: &Aws, function: &str) -> Result<Option<Value>, AwsError> {
    aws.limiter.acquire(Category::Lambda).await;
    match aws.lambda.get_policy().function_name(function).send().await {
        Ok(p) => p
            .policy()
            .and_then(|s| serde_json::from_str(s).ok())
            .map(Some)
            .ok_or_else(|| AwsError::Other(format!("lambda:GetPolicy of {function}: the policy is not JSON"))),
        Err(e) => {
            let e = call_err("lambda:GetPolicy", e);
            if e.is_not_found() {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

// ---------------------------------------------------------------- validation

/// The pool's triggers (`Kind::validate`): known triggers, each naming a function.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let up = &p.value.user_pool;
    let mut out = Vec::new();
    for (k, fnname) in &up.triggers {
        const TRIGGERS: &[&str] = &[
            "preSignUp",
            "postConfirmation",
            "preAuthentication",
            "postAuthentication",
            "preTokenGeneration",
            "customMessage",
            "defineAuthChallenge",
            "createAuthChallenge",
            "verifyAuthChallengeResponse",
            "userMigration",
        ];
        if !TRIGGERS.contains(&k.as_str()) {
            out.push(
                p.at(&format!("userPool.triggers.{k}"), format!("unknown trigger `{k}`"))
                    .hint(format!("one of {}", TRIGGERS.join(", "))),
            );
        }
        if fnname.is_empty() || fnname.contains('*') {
            out.push(p.at(&format!("userPool.triggers.{k}"), "a trigger names a Lambda function or its ARN"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::test_support::{desired_world, folder_edited};
    use crate::plan::{plan_with, PlanOptions};
    use serde_json::json;

    const PRE: &str = "arn:aws:lambda:us-east-1:123456789012:function:pre";

    /// The example folder without its authorizer (its environment bounds silo tenants on its
    /// own), with a preSignUp trigger, `scope`, `n` silo tenants and one pooled.
    fn folder(scope: &str, n: usize) -> (tempfile::TempDir, Folder) {
        let edit = |p: &str| {
            let p = &p[..p.find("authorizer:").expect("the example has an authorizer")];
            p.replacen(
                "  appClients:\n",
                &format!("  triggers: {{preSignUp: pre}}\n  triggerScope: {scope}\n  appClients:\n"),
                1,
            )
        };
        let ids: Vec<String> = (0..n).map(|i| format!("t{i:03}")).collect();
        let mut tenants: Vec<(&str, &str)> = ids.iter().map(|i| (i.as_str(), "isolation: silo\n")).collect();
        // One pooled tenant: the shared pool too.
        tenants.push(("pooled", ""));
        let (t, f) = folder_edited(&edit, &tenants);
        (t, f.unwrap_or_else(|e| panic!("{e}")))
    }

    fn opts(f: &Folder) -> PlanOptions {
        PlanOptions { tenants: f.tenants.iter().map(|t| t.value.id.clone()).collect(), ..PlanOptions::default() }
    }

    fn ours(w: &World) -> Vec<(&String, PermissionState)> {
        w.items.iter().filter(|(_, i)| i.kind == KIND).map(|(a, i)| (a, state(i).unwrap())).collect()
    }

    #[test]
    fn account_scope_is_one_statement_per_function_for_every_pool_of_the_account() {
        let (_t, f) = folder("account", 3);
        let w = desired_world(&f, None);
        let st = ours(&w);
        assert_eq!(st.len(), 1, "{st:#?}");
        let (address, p) = &st[0];
        assert_eq!(address.as_str(), "platform/trigger_permission/pre");
        assert_eq!(p.statement_id, "tenantctl-cognito-acmesaas_account");
        assert_eq!(p.function, PRE);
        assert_eq!(p.source_arn, Some(Text::from("arn:aws:cognito-idp:us-east-1:123456789012:userpool/*")));
        assert_eq!(p.source_account.as_deref(), Some("123456789012"));
        // Pool scope (the default): one per pool, its own ARN.
        let (_t, f) = folder("pool", 3);
        let w = desired_world(&f, None);
        assert_eq!(ours(&w).len(), 4);
        assert!(ours(&w).iter().all(|(_, p)| p.source_arn.as_ref().is_some_and(|a| a.refs().count() == 1)));
    }

    #[test]
    fn a_scope_switch_adds_the_new_statements_before_it_removes_the_old() {
        let (_t, pool) = folder("pool", 2);
        let (_t, account) = folder("account", 2);
        let (pool_w, account_w) = (desired_world(&pool, None), desired_world(&account, None));
        // The pools live with their pool-scope statements; the folder asks for account scope.
        let mut live = pool_w.clone();
        let mut ids = Ids::default();
        for (a, p) in pool_w.pools() {
            ids.set(a, format!("us-east-1_{:09}", p.name.len()));
        }
        for (from, to, creates, deletes) in [(&live.clone(), &account_w, 1, 3), (&account_w, &pool_w, 3, 1)] {
            live.items.retain(|_, i| i.kind != KIND);
            live.items.extend(from.items.iter().filter(|(_, i)| i.kind == KIND).map(|(a, i)| (a.clone(), i.clone())));
            let plan = plan_with(to, &live, &ids, &opts(&pool), &crate::kinds::rules()).unwrap();
            let ch: Vec<(Action, &str)> = plan
                .changes
                .iter()
                .filter(|c| c.resource.as_str() == KIND)
                .map(|c| (c.action, c.address.as_str()))
                .collect();
            let n = |a: Action| ch.iter().filter(|(x, _)| *x == a).count();
            assert_eq!(
                (n(Action::Create), n(Action::Delete), ch.len()),
                (creates, deletes, creates + deletes),
                "{ch:#?}"
            );
            // Every delete after every create (the plan's order).
            let last_create = ch.iter().rposition(|(a, _)| *a == Action::Create).unwrap();
            let first_delete = ch.iter().position(|(a, _)| *a == Action::Delete).unwrap();
            assert!(last_create < first_delete, "{ch:#?}");
        }
    }

    /// Issue 21: 80 silo pools sharing one trigger function, pool scope: the policy would pass
    /// Lambda's 20 KB, so the plan stops naming the size and `triggerScope: account`; account
    /// scope passes. The pools' ids are unknown (a fresh account).
    #[test]
    fn eighty_pools_on_one_function_are_refused_before_any_write_with_pool_scope() {
        let figures = AccountFigures::default();
        let (_t, f) = folder("pool", 80);
        let w = desired_world(&f, None);
        let plan = plan_with(&w, &World::default(), &Ids::default(), &opts(&f), &crate::kinds::rules()).unwrap();
        let sizes = policy_sizes(&plan, &w, &figures);
        // 81 pools (80 silo, the shared one), each statement with the longest pool id.
        assert_eq!(ours(&w).len(), 81);
        let size = sizes[PRE];
        assert!(size > FUNCTION_POLICY_BYTES, "{size}");
        let e = crate::plan::check_quotas(&plan, &w, &figures, &crate::kinds::rules()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{size} bytes")) && msg.contains("20 KB") && msg.contains("81 statements"),
            "{msg}"
        );
        assert!(e.hint().contains("userPool.triggerScope: account"), "{}", e.hint());
        let (_t, f) = folder("account", 80);
        let w = desired_world(&f, None);
        let plan = plan_with(&w, &World::default(), &Ids::default(), &opts(&f), &crate::kinds::rules()).unwrap();
        assert!(policy_sizes(&plan, &w, &figures)[PRE] < 1_000);
        crate::plan::check_quotas(&plan, &w, &figures, &crate::kinds::rules()).unwrap();
    }

    /// The function's other statements count; tenantctl's own live ones are replaced by the
    /// desired ones (or deleted), not counted twice.
    #[test]
    fn the_policy_size_counts_the_functions_other_statements() {
        let (_t, f) = folder("pool", 3);
        let w = desired_world(&f, None);
        let plan = plan_with(&w, &World::default(), &Ids::default(), &opts(&f), &crate::kinds::rules()).unwrap();
        let alone = policy_sizes(&plan, &w, &AccountFigures::default())[PRE];
        // One statement: exactly what Lambda would hold (the longest pool id is us-east-1's).
        let one = document(&state(&w.items["platform/pool/trigger_permission/pre"]).unwrap());
        assert_eq!(
            one["Condition"]["ArnLike"]["AWS:SourceArn"].as_str().unwrap().len(),
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEfGhI".len()
        );
        let mut figures = AccountFigures::default();
        let own = crate::state::minified_len(&one);
        figures
            .function_policies
            .insert(PRE.into(), vec![(statement_id("acmesaas"), own), ("someone-else".into(), 20_000)]);
        assert_eq!(policy_sizes(&plan, &w, &figures)[PRE], alone + 20_000 + 1);
        let e = crate::plan::check_quotas(&plan, &w, &figures, &crate::kinds::rules()).unwrap_err();
        assert!(e.to_string().contains("pre"), "{e}");
    }

    #[test]
    fn trigger_scope_is_pool_or_account() {
        let (_t, f) =
            folder_edited(&|p| p.replacen("  appClients:\n", "  triggerScope: region\n  appClients:\n", 1), &[]);
        let e = f.expect_err("refused").to_string();
        assert!(e.contains("triggerScope") || e.contains("region"), "{e}");
        assert!(e.contains("pool") && e.contains("account"), "{e}");
    }

    #[test]
    fn only_the_pools_statement_is_read_and_a_widened_one_differs() {
        let sid = statement_id("saas");
        let ours = json!({"Sid": sid, "Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Principal": {"Service": "cognito-idp.amazonaws.com"}, "Resource": "arn:f",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_x"},
                          "StringEquals": {"AWS:SourceAccount": "1"}}});
        let other = json!({"Sid": "someone-else", "Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Principal": {"Service": "cognito-idp.amazonaws.com"}, "Resource": "arn:f"});
        let p = statement(&json!({"Statement": [other.clone(), ours]}), "f", &sid, COGNITO_PRINCIPAL).unwrap();
        assert_eq!(p.source_arn, Some(Text::from("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_x")));
        assert_eq!(p.source_account.as_deref(), Some("1"));
        assert!(statement(&json!({"Statement": [other]}), "f", &sid, COGNITO_PRINCIPAL).is_none());

        // The same Sid without SourceArn (widened to any pool): compares as a change.
        let wide = PermissionState { source_arn: None, ..p.clone() };
        let item = |p: &PermissionState| Item {
            kind: KIND.into(),
            name: sid.clone(),
            tenant: None,
            parent: Some("platform/pool".into()),
            state: serde_json::to_value(p).unwrap(),
            after: vec![],
        };
        let f = TriggerPermission.compare("a", &item(&p), &item(&wide), &Ids::default()).unwrap();
        assert_eq!(f.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["source_arn"]);
        assert_eq!(
            address("platform/pool", "arn:aws:lambda:us-east-1:1:function:pre"),
            "platform/pool/trigger_permission/pre"
        );
    }
}
