//! `trigger_permission`: the statement that lets Cognito invoke a pool's trigger function
//! (contract §1.4 `userPool.triggers`): `lambda:InvokeFunction` for
//! `cognito-idp.amazonaws.com`, only from that pool (`SourceArn` = the pool's ARN, a
//! reference to its id) and this account (`SourceAccount`). One per (pool, function), at
//! `<pool>/trigger_permission/<function name>`, Sid `tenantctl-cognito-<pool name>`.
//!
//! - Only tenantctl's statement is tenantctl's: the function is the user's, and its other
//!   statements are neither observed nor changed. A statement of tenantctl's Sid that allows
//!   more (no `SourceArn`, another principal) is changed drift, repaired by removing it and
//!   adding the desired one (a statement cannot be changed in place).
//! - Observed with one `GetPolicy` per trigger function the folder names (not per pool).
//! - Never deleted: a function the folder stops naming keeps the statement (left alone, as
//!   tenantctl does not read functions it is not told about).

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;

use super::lambda_permission::{state, statement, PermissionState};
use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{FieldChange, ItemRules, PlanError, Resource};
use crate::spec::{Diagnostic, Folder};
use crate::state::{Ids, Item, Text, World};

pub struct TriggerPermission;

pub const KIND: &str = "trigger_permission";

/// Cognito's service principal.
pub const COGNITO_PRINCIPAL: &str = "cognito-idp.amazonaws.com";

/// The statement id for a pool (its physical name).
pub fn statement_id(pool_name: &str) -> String {
    format!("tenantctl-cognito-{pool_name}")
}

/// The last segment of a function ARN (or the name itself).
fn function_name(function: &str) -> &str {
    function.rsplit(':').next().unwrap_or(function)
}

pub fn address(pool: &str, function: &str) -> String {
    format!("{pool}/trigger_permission/{}", function_name(function))
}

impl ItemRules for TriggerPermission {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    fn create_fields(&self, desired: &Item, ids: &Ids) -> Vec<FieldChange> {
        super::lambda_permission::LambdaPermission.create_fields(desired, ids)
    }

    fn compare(&self, address: &str, desired: &Item, live: &Item, ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        super::lambda_permission::LambdaPermission.compare(address, desired, live, ids)
    }
}

impl Kind for TriggerPermission {
    fn service(&self) -> super::Service {
        super::Service::Lambda
    }

    /// One per (pool, function) of the pools' triggers.
    fn desired(&self, _folder: &Folder, ctx: &DesiredCtx, world: &World) -> Desired {
        let env = &ctx.env;
        let mut out = Vec::new();
        for (address, pool) in world.pools() {
            let Some(triggers) = &pool.settings.triggers else { continue };
            let functions: std::collections::BTreeSet<&String> = triggers.values().collect();
            for function in functions {
                let p = PermissionState {
                    statement_id: statement_id(&pool.name),
                    copies: 1,
                    action: "lambda:InvokeFunction".into(),
                    principal: COGNITO_PRINCIPAL.into(),
                    source_arn: Some(
                        Text::lit(format!(
                            "arn:{}:cognito-idp:{}:{}:userpool/",
                            env.partition, env.region, env.account_id
                        ))
                        .id(&address),
                    ),
                    source_account: Some(env.account_id.clone()),
                    function: function.clone(),
                };
                let item = Item {
                    kind: KIND.into(),
                    name: p.statement_id.clone(),
                    tenant: pool.tenant.clone(),
                    parent: Some(address.clone()),
                    state: serde_json::to_value(&p).expect("state serializes"),
                    after: Vec::new(),
                };
                out.push((self::address(&address, function), item));
            }
        }
        Ok(out)
    }

    /// `GetPolicy` of each function the desired statements are on, once each.
    #[allow(clippy::too_many_arguments)]
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let desired = scope.desired;
        async move {
            let mut by_function: BTreeMap<String, Vec<(String, Item)>> = BTreeMap::new();
            for (address, item) in desired.items.iter().filter(|(_, i)| i.kind == KIND) {
                let Some(p) = state(item) else { continue };
                by_function.entry(p.function.clone()).or_default().push((address.clone(), item.clone()));
            }
            let mut out = Vec::new();
            for (function, wanted) in by_function {
                aws.limiter.acquire(Category::Lambda).await;
                let doc: Value = match aws.lambda.get_policy().function_name(&function).send().await {
                    Ok(p) => p.policy().and_then(|s| serde_json::from_str(s).ok()).ok_or_else(|| {
                        AwsError::Other(format!("lambda:GetPolicy of {function}: the policy is not JSON"))
                    })?,
                    Err(e) => {
                        let e = call_err("lambda:GetPolicy", e);
                        if e.is_not_found() {
                            continue;
                        }
                        return Err(e);
                    }
                };
                for (address, d) in wanted {
                    if let Some(p) = statement(&doc, &function, &d.name, COGNITO_PRINCIPAL) {
                        let item = Item { state: serde_json::to_value(&p).expect("state serializes"), ..d.clone() };
                        out.push((address, item, p.statement_id.clone()));
                    }
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

    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(AwsError::Other(format!("trigger permission `{}`: tenantctl does not delete it", live.name))) }
            .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
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
    use serde_json::json;

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
