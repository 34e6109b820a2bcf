//! `lambda_permission`: tenantctl's statement ([`STATEMENT_ID`]) in the authorizer function's
//! resource policy, letting API Gateway invoke it from this REST API's authorizer only
//! (`SourceArn` names the REST API's and the authorizer's ids: references). At
//! [`PERMISSION_ADDRESS`]; its id is the statement id.
//!
//! Only tenantctl's own statement is tenantctl's: other statements, `apigateway.amazonaws.com`
//! ones included (another REST API that uses the same function), are never observed, so they
//! are neither drift nor deleted. When tenantctl's Sid appears several times (an emulator
//! accepts duplicates), the observed `copies` counts them; the update removes them all and adds
//! the one statement again (a statement cannot be changed in place).

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::lambda_function::FUNCTION_ADDRESS;
use super::{fc, opt_json, typed, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{FieldChange, ItemRules, PlanError, Resource};
use crate::spec::desired::RenderEnv;
use crate::spec::model::AuthorizerType;
use crate::spec::Folder;
pub use crate::state::wiring::{APIGW_PRINCIPAL, PERMISSION_ADDRESS, STATEMENT_ID};
use crate::state::wiring::{AUTHORIZER_ADDRESS, INVOKE_ACTION, REST_API_ADDRESS};
use crate::state::{Ids, Item, Text, World};

pub struct LambdaPermission;

pub const KIND: &str = "lambda_permission";

/// The statement; `T` is [`Text`] in plans (references) and `String` once they are resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PermissionState<T = Text> {
    pub statement_id: String,
    /// How many statements of the function's policy carry `statement_id` (observed; an
    /// emulator accepts duplicates). Desired: 1.
    #[serde(default = "one")]
    pub copies: usize,
    pub action: String,
    pub principal: String,
    /// The REST API's and the authorizer's ids (references).
    pub source_arn: Option<T>,
    pub source_account: Option<String>,
    /// The function whose resource policy holds the statement.
    pub function: String,
}

fn one() -> usize {
    1
}

pub fn item(p: &PermissionState) -> Item {
    Item {
        kind: KIND.to_string(),
        name: p.statement_id.clone(),
        tenant: None,
        parent: None,
        state: serde_json::to_value(p).expect("state serializes"),
        after: vec![FUNCTION_ADDRESS.to_string()],
    }
}

/// The statement of an item (desired or observed) of this kind.
pub fn state(item: &Item) -> Option<PermissionState> {
    serde_json::from_value(item.state.clone()).ok()
}

impl ItemRules for LambdaPermission {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn owns_undeclared(&self) -> bool {
        false
    }

    fn create_fields(&self, desired: &Item, ids: &Ids) -> Vec<FieldChange> {
        let Some(d) = state(desired) else { return Vec::new() };
        let source_arn = d.source_arn.as_ref().map(|s| s.shown(ids));
        vec![
            fc("statement_id", Value::Null, json!(d.statement_id)),
            fc("action", Value::Null, json!(d.action)),
            fc("principal", Value::Null, json!(d.principal)),
            fc("source_arn", Value::Null, opt_json(source_arn.as_ref())),
            fc("source_account", Value::Null, opt_json(d.source_account.as_ref())),
        ]
    }

    fn compare(&self, _address: &str, desired: &Item, live: &Item, ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        let (Some(d), Some(o)) = (state(desired), state(live)) else {
            return Ok(Vec::new());
        };
        let source_arn = d.source_arn.as_ref().map(|s| s.resolve(ids));
        let source_arn_shown = d.source_arn.as_ref().map(|s| s.shown(ids));
        let live_arn = o.source_arn.as_ref().map(|s| s.shown(ids));
        let sids: Vec<String> = vec![o.statement_id.clone(); o.copies];
        let mut f = Vec::new();
        if o.statement_id != d.statement_id || o.copies != 1 {
            f.push(fc("statement_ids", json!(sids), json!([d.statement_id])));
        }
        if d.action != o.action {
            f.push(fc("action", json!(o.action), json!(d.action)));
        }
        if d.principal != o.principal {
            f.push(fc("principal", json!(o.principal), json!(d.principal)));
        }
        let arn_same = match &source_arn {
            None => o.source_arn.is_none(),
            Some(resolved) => resolved.is_some() && *resolved == live_arn,
        };
        if !arn_same {
            f.push(fc("source_arn", opt_json(live_arn.as_ref()), opt_json(source_arn_shown.as_ref())));
        }
        if d.source_account != o.source_account {
            f.push(fc("source_account", opt_json(o.source_account.as_ref()), opt_json(d.source_account.as_ref())));
        }
        Ok(f)
    }
}

impl Kind for LambdaPermission {
    fn service(&self) -> super::Service {
        super::Service::Lambda
    }

    fn platform_wide(&self) -> bool {
        true
    }

    /// API Gateway's permission to invoke the folder's Lambda authorizer, from its authorizer
    /// only.
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, _world: &World) -> Desired {
        let Some(fs) = folder
            .platform
            .value
            .wired_authorizer()
            .filter(|s| s.auth_type == AuthorizerType::Lambda)
            .and_then(|s| s.function.as_ref())
        else {
            return Ok(Vec::new());
        };
        let RenderEnv { partition: p, region: r, account_id: a } = &ctx.env;
        let permission = PermissionState {
            statement_id: STATEMENT_ID.to_string(),
            copies: 1,
            action: INVOKE_ACTION.to_string(),
            principal: APIGW_PRINCIPAL.to_string(),
            source_arn: Some(
                Text::lit(format!("arn:{p}:execute-api:{r}:{a}:"))
                    .id(REST_API_ADDRESS)
                    .s("/authorizers/")
                    .id(AUTHORIZER_ADDRESS),
            ),
            source_account: Some(a.clone()),
            function: fs.name.clone(),
        };
        Ok(vec![(PERMISSION_ADDRESS.to_string(), item(&permission))])
    }

    /// `GetPolicy` of the function, when it exists.
    #[allow(clippy::too_many_arguments)]
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let observed = scope.observed;
        async move {
            let Some(fspec) = folder.platform.value.authorizer.as_ref().and_then(|a| a.function.as_ref()) else {
                return Ok(Vec::new());
            };
            if !observed.items.contains_key(FUNCTION_ADDRESS) {
                return Ok(Vec::new());
            }
            aws.limiter.acquire(Category::Lambda).await;
            match aws.lambda.get_policy().function_name(&fspec.name).send().await {
                Ok(p) => {
                    let doc: Value = p.policy().and_then(|s| serde_json::from_str(s).ok()).ok_or_else(|| {
                        AwsError::Other(format!("lambda:GetPolicy of {}: the policy is not JSON", fspec.name))
                    })?;
                    Ok(apigateway_permission(&doc, &fspec.name)
                        .map(|p| (PERMISSION_ADDRESS.to_string(), item(&p), p.statement_id.clone()))
                        .into_iter()
                        .collect())
                }
                Err(e) => {
                    let e = call_err("lambda:GetPolicy", e);
                    if e.is_not_found() {
                        Ok(Vec::new())
                    } else {
                        Err(e)
                    }
                }
            }
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        add(aws, item).boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        replace(aws, item, live).boxed()
    }

    fn delete<'a>(
        &'a self,
        _aws: &'a Aws,
        live: &'a Item,
        _id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move { Err(AwsError::Other(format!("invoke permission `{}`: tenantctl does not delete it", live.name))) }
            .boxed()
    }
}

/// Adds an item's statement (its references resolved); returns its Sid.
pub(crate) async fn add(aws: &Aws, item: &Item) -> Result<String, AwsError> {
    let p: PermissionState<String> = typed(item)?;
    put_permission(aws, &p, &[]).await?;
    Ok(p.statement_id)
}

/// Removes every copy of the live statement, adds the desired one (a statement cannot be
/// changed in place).
pub(crate) async fn replace(aws: &Aws, item: &Item, live: &Item) -> Result<(), AwsError> {
    let p: PermissionState<String> = typed(item)?;
    put_permission(aws, &p, &removed(&typed(live)?)).await
}

/// The statement ids an update removes before it adds the desired statement: every copy of
/// the live one.
pub fn removed(live: &PermissionState) -> Vec<String> {
    vec![live.statement_id.clone(); live.copies]
}

/// tenantctl's statement(s) of a function's resource policy (Sid [`STATEMENT_ID`]), folded
/// into one state (module docs); None when there is none. Every other statement, API
/// Gateway's included, is someone else's.
pub fn apigateway_permission(policy: &Value, function: &str) -> Option<PermissionState> {
    statement(policy, function, STATEMENT_ID, APIGW_PRINCIPAL)
}

/// The statement(s) with Sid `sid` of a function's resource policy, folded into one state
/// (their count in `copies`); `principal`: the service principal expected (one the
/// statement does not name shows as what it names). None when there is none.
pub fn statement(policy: &Value, function: &str, sid: &str, principal: &str) -> Option<PermissionState> {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => return None,
    };
    let as_list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let condition = |s: &Value, key: &str| -> Option<String> {
        let conds = s.get("Condition")?.as_object()?;
        conds.values().filter_map(Value::as_object).find_map(|m| {
            m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| as_list(Some(v)).into_iter().next())
        })
    };
    let mut states: Vec<PermissionState> = Vec::new();
    for s in statements {
        let principals = match s.get("Principal") {
            Some(Value::Object(p)) => as_list(p.get("Service")),
            _ => Vec::new(),
        };
        if s.get("Sid").and_then(Value::as_str) != Some(sid) {
            continue;
        }
        states.push(PermissionState {
            statement_id: sid.to_string(),
            copies: 1,
            action: as_list(s.get("Action")).join(","),
            // What the statement really allows (a changed principal is drift).
            principal: if principals.iter().any(|p| p == principal) || principals.is_empty() {
                principal.to_string()
            } else {
                principals.join(",")
            },
            source_arn: condition(s, "AWS:SourceArn").map(Text::from),
            source_account: condition(s, "AWS:SourceAccount"),
            function: function.to_string(),
        });
    }
    let copies = states.len();
    let mut state = states.into_iter().next()?;
    state.copies = copies;
    Some(state)
}

async fn put_permission(aws: &Aws, p: &PermissionState<String>, remove: &[String]) -> Result<(), AwsError> {
    let function = p.function.as_str();
    for sid in remove {
        remove_statement(aws, function, sid).await?;
    }
    for attempt in 0..2 {
        aws.limiter.acquire(Category::Lambda).await;
        let res = aws
            .lambda
            .add_permission()
            .function_name(function)
            .statement_id(&p.statement_id)
            .action(&p.action)
            .principal(&p.principal)
            .set_source_arn(p.source_arn.clone())
            .set_source_account(p.source_account.clone())
            .send()
            .await
            .map_err(|e| call_err("lambda:AddPermission", e));
        match res {
            // Our Sid is there already (an interrupted apply): replace it.
            Err(e) if attempt == 0 && e.code() == Some("ResourceConflictException") => {
                remove_statement(aws, function, &p.statement_id).await?;
            }
            other => return other.map(|_| ()),
        }
    }
    Ok(())
}

pub(crate) async fn remove_statement(aws: &Aws, function: &str, sid: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::Lambda).await;
    crate::aws::done_if_gone(
        aws.lambda
            .remove_permission()
            .function_name(function)
            .statement_id(sid)
            .send()
            .await
            .map_err(|e| call_err("lambda:RemovePermission", e)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn permission_from_policy() {
        let policy = json!({"Version": "2012-10-17", "Id": "default", "Statement": [
            {"Sid": "tenantctl-apigateway-invoke", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Principal": {"Service": "apigateway.amazonaws.com"}, "Resource": "arn:f",
             "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:a/authorizers/b"},
                           "StringEquals": {"AWS:SourceAccount": "1"}}},
            {"Sid": "other-service", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Principal": {"Service": "events.amazonaws.com"}, "Resource": "arn:f"}
        ]});
        let p = apigateway_permission(&policy, "f").unwrap();
        assert_eq!(p.statement_id, STATEMENT_ID);
        assert_eq!(p.source_arn, Some(Text::from("arn:aws:execute-api:us-east-1:1:a/authorizers/b")));
        assert_eq!(p.source_account.as_deref(), Some("1"));
        assert_eq!(p.action, "lambda:InvokeFunction");

        // Another REST API using the same function, and a statement without SourceArn that
        // someone else added: not tenantctl's, not observed (so never drift, never deleted).
        let mut shared = policy.clone();
        let st = shared["Statement"].as_array_mut().unwrap();
        st.insert(
            0,
            json!({"Sid": "other-api", "Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Principal": {"Service": "apigateway.amazonaws.com"}, "Resource": "arn:f",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:other/authorizers/x"}}}),
        );
        st.push(json!({"Sid": "wide", "Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Principal": {"Service": "apigateway.amazonaws.com"}, "Resource": "arn:f"}));
        assert_eq!(apigateway_permission(&shared, "f"), Some(p.clone()));
        let only_others: Vec<Value> =
            shared["Statement"].as_array().unwrap().iter().filter(|s| s["Sid"] != STATEMENT_ID).cloned().collect();
        assert_eq!(apigateway_permission(&json!({"Statement": only_others}), "f"), None);

        // tenantctl's Sid twice: folded, so the diff replaces both.
        let mut dup = policy.clone();
        let ours = dup["Statement"][0].clone();
        dup["Statement"].as_array_mut().unwrap().push(ours);
        let twice = apigateway_permission(&dup, "f").unwrap();
        assert_eq!((twice.statement_id.as_str(), twice.copies), (STATEMENT_ID, 2));

        assert_eq!(apigateway_permission(&json!({"Statement": []}), "f"), None);
    }
}
