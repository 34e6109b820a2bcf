//! `usage_plan_key`: a tenant's API key in its tier's usage plan (contract §1.6), at
//! `tenant/<tenant>/usage_plan_key`; its parent is the tier's usage plan, its id the key id.
//!
//! - One per tenant, whatever its tier: a tier change is an `update` of this one item, which
//!   takes the key out of the old plan and puts it in the new one in that order (API Gateway
//!   refuses a key in two plans of the same API stage). The key itself (`api_key`) is
//!   untouched: its id, value and usage history stay.
//! - Observed with `GetUsagePlanKeys` of each of the platform's plans (by pages; only ids and
//!   names are kept, never values). A tenant's key found in its declared tier's plan is its
//!   membership; any other key in a tier's plan (another tenant's key in a second plan, a key
//!   someone added by hand) is undeclared, at `<plan address>/key/<key id>`, and taken out of
//!   the plan by `apply` (`drift`: unexpected).
//! - Created with `CreateUsagePlanKey`, deleted with `DeleteUsagePlanKey`; memberships go with
//!   their plan, and are deleted before their key (`destroy`, `--prune`).

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{api_key, fc, rest_api, typed, usage_plan, Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{call_err, Aws, AwsError, Category};
use crate::plan::{FieldChange, ItemRules, PlanError, Resource};
use crate::spec::Folder;
use crate::state::refs::resolve_value;
use crate::state::{Ids, Item, Text, World};

pub struct UsagePlanKey;

pub const KIND: &str = "usage_plan_key";

/// Usage plans one API key can be in (API Gateway quota): tenantctl puts a key in one.
pub const MAX_PLANS_PER_KEY: usize = 10;

/// `tenant/<tenant>/usage_plan_key`
pub fn address(tenant: &str) -> String {
    format!("tenant/{tenant}/usage_plan_key")
}

/// A membership: the plan's name and the key (desired: a reference to the tenant's key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Membership<T = Text> {
    pub usage_plan: String,
    pub api_key: T,
    /// Observed: the id of the plan the key is in (an update takes it out of this one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
}

pub fn item(tenant: Option<&str>, plan_address: &str, m: &Membership) -> Item {
    Item {
        kind: KIND.to_string(),
        name: m.usage_plan.clone(),
        tenant: tenant.map(str::to_string),
        parent: Some(plan_address.to_string()),
        state: serde_json::to_value(m).expect("state serializes"),
        after: Vec::new(),
    }
}

/// The compared fields: plan and key, resolved.
fn shown(item: &Item, ids: &Ids) -> (Value, Value) {
    let (v, _) = resolve_value(&item.state, ids);
    (v.get("usage_plan").cloned().unwrap_or(Value::Null), v.get("api_key").cloned().unwrap_or(Value::Null))
}

impl ItemRules for UsagePlanKey {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }

    fn goes_with_parent(&self) -> bool {
        true
    }

    fn create_fields(&self, desired: &Item, ids: &Ids) -> Vec<FieldChange> {
        let (plan, key) = shown(desired, ids);
        vec![fc("usage_plan", Value::Null, plan), fc("api_key", Value::Null, key)]
    }

    /// The plan's name and the key id (never the plan id the live side carries).
    fn compare(&self, _address: &str, desired: &Item, live: &Item, ids: &Ids) -> Result<Vec<FieldChange>, PlanError> {
        let (dp, dk) = shown(desired, ids);
        let (lp, lk) = shown(live, ids);
        let mut f = Vec::new();
        if dp != lp {
            f.push(fc("usage_plan", lp, dp));
        }
        if dk != lk {
            f.push(fc("api_key", lk, dk));
        }
        Ok(f)
    }
}

/// The tiers' plans' keys: (plan address, plan name, plan id, key id), by pages.
async fn plan_keys(
    aws: &Aws,
    plans: &[(String, String, String)],
) -> Result<Vec<(String, String, String, String)>, AwsError> {
    let mut out = Vec::new();
    for (addr, name, plan_id) in plans {
        let mut position: Option<String> = None;
        loop {
            aws.limiter.acquire(Category::ApiGateway).await;
            let page = aws
                .apigw
                .get_usage_plan_keys()
                .usage_plan_id(plan_id)
                .limit(rest_api::PAGE)
                .set_position(position.clone())
                .send()
                .await
                .map_err(|e| call_err("apigateway:GetUsagePlanKeys", e))?;
            // Ids only: the values in this answer are dropped here.
            out.extend(
                page.items()
                    .iter()
                    .filter_map(|k| Some((addr.clone(), name.clone(), plan_id.clone(), k.id()?.to_string()))),
            );
            position = page.position().map(str::to_string);
            if position.is_none() || page.items().is_empty() {
                break;
            }
        }
    }
    Ok(out)
}

/// Which observed membership is whose (module docs): `found` is (plan address, plan name,
/// plan id, key id); `keys` the tenants' key ids; `tiers` each tenant's declared tier.
pub fn assign(
    found: &[(String, String, String, String)],
    keys: &BTreeMap<String, String>,
    tiers: &BTreeMap<String, String>,
) -> Vec<(String, Item, String)> {
    let tenant_of: BTreeMap<&str, &str> = keys.iter().map(|(t, k)| (k.as_str(), t.as_str())).collect();
    // A tenant's membership: the one in its declared tier's plan, else the first found.
    let mut chosen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (addr, _, _, key)) in found.iter().enumerate() {
        let Some(t) = tenant_of.get(key.as_str()) else { continue };
        let declared = tiers.get(*t).is_some_and(|tier| usage_plan::address(tier) == *addr);
        match chosen.get(t) {
            None => {
                chosen.insert(t, i);
            }
            Some(&j) => {
                let j_declared = tiers.get(*t).is_some_and(|tier| usage_plan::address(tier) == found[j].0);
                if declared && !j_declared {
                    chosen.insert(t, i);
                }
            }
        }
    }
    found
        .iter()
        .enumerate()
        .map(|(i, (addr, name, plan_id, key))| {
            // Observed: plain strings (the key id), as a resolved desired state reads.
            let m = Membership { usage_plan: name.clone(), api_key: key.clone(), plan_id: Some(plan_id.clone()) };
            let observed = |tenant: Option<&str>| Item {
                state: serde_json::to_value(&m).expect("state serializes"),
                ..item(tenant, addr, &Membership { usage_plan: name.clone(), api_key: Text::default(), plan_id: None })
            };
            match tenant_of.get(key.as_str()).filter(|t| chosen.get(*t) == Some(&i)) {
                Some(t) => (address(t), observed(Some(t)), key.clone()),
                None => (format!("{addr}/key/{key}"), observed(None), key.clone()),
            }
        })
        .collect()
}

impl Kind for UsagePlanKey {
    fn service(&self) -> super::Service {
        super::Service::ApiGateway
    }

    /// Each keyed tenant's key in its tier's plan.
    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, _world: &World) -> Desired {
        let pl = &folder.platform.value;
        if pl.api_usage.is_none() {
            return Ok(Vec::new());
        }
        Ok(folder
            .tenants
            .iter()
            .map(|t| &t.value)
            .filter_map(|t| Some((t, t.tier.as_ref().filter(|tier| pl.tiers.contains_key(*tier))?)))
            .map(|(t, tier)| {
                let m = Membership {
                    usage_plan: usage_plan::name(&pl.name, tier),
                    api_key: Text::default().id(api_key::address(&t.id)),
                    plan_id: None,
                };
                (address(&t.id), item(Some(&t.id), &usage_plan::address(tier), &m))
            })
            .collect())
    }

    /// After `usage_plan` and `api_key` (module docs).
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        let observed = scope.observed;
        let ids = scope.ids;
        async move {
            let pl = &folder.platform.value;
            if pl.api_usage.is_none() {
                return Ok(Vec::new());
            }
            let plans: Vec<(String, String, String)> = observed
                .items
                .iter()
                .filter(|(_, i)| i.kind == usage_plan::KIND)
                .filter_map(|(a, i)| Some((a.clone(), i.name.clone(), ids.id(a)?.to_string())))
                .collect();
            let keys: BTreeMap<String, String> = observed
                .items
                .iter()
                .filter(|(a, i)| i.kind == api_key::KIND && !a.contains('#'))
                .filter_map(|(a, i)| Some((i.tenant.clone()?, ids.id(a)?.to_string())))
                .collect();
            let tiers: BTreeMap<String, String> =
                folder.tenants.iter().filter_map(|t| Some((t.value.id.clone(), t.value.tier.clone()?))).collect();
            let found = plan_keys(aws, &plans).await?;
            Ok(assign(&found, &keys, &tiers))
        }
        .boxed()
    }

    fn inventory(&self, _address: &str, _item: &Item, _ids: &Ids, _ctx: &crate::aws::Ctx) -> Option<Value> {
        None
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            let m: Membership<String> = typed(item)?;
            let plan = parent.ok_or_else(|| AwsError::Other(format!("{}: no usage plan id", item.name)))?;
            add(aws, plan, &m.api_key).await?;
            Ok(m.api_key)
        }
        .boxed()
    }

    /// Out of the old plan, into the new one (API Gateway refuses a key in two plans of one
    /// stage).
    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let want: Membership<String> = typed(item)?;
            let have: Membership<String> = typed(live)?;
            let plan = parent.ok_or_else(|| AwsError::Other(format!("{}: no usage plan id", item.name)))?;
            if let Some(old) = have.plan_id.as_deref() {
                remove(aws, old, id).await?;
            }
            add(aws, plan, &want.api_key).await
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let have: Membership<String> = typed(live)?;
            let Some(plan) = have.plan_id.as_deref().or(parent) else {
                return Err(AwsError::Other(format!("{}: no usage plan id", live.name)));
            };
            remove(aws, plan, id).await
        }
        .boxed()
    }
}

async fn add(aws: &Aws, plan: &str, key: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::ApiGateway).await;
    match aws.apigw.create_usage_plan_key().usage_plan_id(plan).key_id(key).key_type("API_KEY").send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = call_err("apigateway:CreateUsagePlanKey", e);
            // Already in that plan (a concurrent apply): done.
            if e.code() == Some("ConflictException") && e.to_string().contains(plan) {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

async fn remove(aws: &Aws, plan: &str, key: &str) -> Result<(), AwsError> {
    aws.limiter.acquire(Category::ApiGateway).await;
    crate::aws::done_if_gone(
        aws.apigw
            .delete_usage_plan_key()
            .usage_plan_id(plan)
            .key_id(key)
            .send()
            .await
            .map_err(|e| call_err("apigateway:DeleteUsagePlanKey", e)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{plan_with, Action, PlanOptions};
    use serde_json::json;

    fn found(plan_tier: &str, key: &str) -> (String, String, String, String) {
        (usage_plan::address(plan_tier), format!("saas-{plan_tier}"), format!("id-{plan_tier}"), key.to_string())
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    fn desired(tenant: &str, tier: &str) -> (String, Item) {
        let m = Membership {
            usage_plan: format!("saas-{tier}"),
            api_key: Text::default().id(api_key::address(tenant)),
            plan_id: None,
        };
        (address(tenant), item(Some(tenant), &usage_plan::address(tier), &m))
    }

    fn world(items: Vec<(String, Item)>) -> World {
        World { items: items.into_iter().collect() }
    }

    fn ids() -> Ids {
        let mut ids = Ids::default();
        ids.set(api_key::address("acme"), "k-acme");
        ids.set(usage_plan::address("basic"), "id-basic");
        ids.set(usage_plan::address("gold"), "id-gold");
        ids
    }

    #[test]
    fn a_tenants_key_in_its_tier_plan_is_its_membership_others_are_extra() {
        let keys = map(&[("acme", "k-acme"), ("globex", "k-globex")]);
        let tiers = map(&[("acme", "gold"), ("globex", "basic")]);
        // acme's key in both plans (someone added it to basic too); a foreign key in basic.
        let got = assign(
            &[found("basic", "k-acme"), found("basic", "k-globex"), found("basic", "k-other"), found("gold", "k-acme")],
            &keys,
            &tiers,
        );
        let addrs: Vec<(&str, Option<&str>)> = got.iter().map(|(a, i, _)| (a.as_str(), i.tenant.as_deref())).collect();
        assert_eq!(
            addrs,
            [
                ("platform/usage_plan/basic/key/k-acme", None),
                ("tenant/globex/usage_plan_key", Some("globex")),
                ("platform/usage_plan/basic/key/k-other", None),
                ("tenant/acme/usage_plan_key", Some("acme")),
            ]
        );
    }

    #[test]
    fn converged_when_the_key_is_in_its_tier_plan() {
        let o = assign(&[found("gold", "k-acme")], &map(&[("acme", "k-acme")]), &map(&[("acme", "gold")]));
        let d = world(vec![desired("acme", "gold")]);
        let o = World { items: o.into_iter().map(|(a, i, _)| (a, i)).collect() };
        let p = plan_with(&d, &o, &ids(), &PlanOptions::default(), &[&UsagePlanKey]).unwrap();
        assert!(p.changes.is_empty(), "{:?}", p.changes);
    }

    #[test]
    fn a_tier_change_moves_the_key_in_one_update() {
        let o = assign(&[found("basic", "k-acme")], &map(&[("acme", "k-acme")]), &map(&[("acme", "gold")]));
        let o = World { items: o.into_iter().map(|(a, i, _)| (a, i)).collect() };
        let d = world(vec![desired("acme", "gold")]);
        let p = plan_with(&d, &o, &ids(), &PlanOptions::default(), &[&UsagePlanKey]).unwrap();
        assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
        let c = &p.changes[0];
        assert_eq!((c.action, c.address.as_str()), (Action::Update, "tenant/acme/usage_plan_key"));
        assert_eq!(c.fields, vec![fc("usage_plan", json!("saas-basic"), json!("saas-gold"))]);
    }

    #[test]
    fn an_extra_key_in_a_tier_plan_is_taken_out() {
        let o = assign(
            &[found("gold", "k-acme"), found("gold", "k-other")],
            &map(&[("acme", "k-acme")]),
            &map(&[("acme", "gold")]),
        );
        let mut o = World { items: o.into_iter().map(|(a, i, _)| (a, i)).collect() };
        // The tier's plan stays (an undeclared membership of a plan that goes goes with it).
        let plan = usage_plan::item(&usage_plan::PlanState {
            name: "saas-gold".into(),
            throttle: None,
            quota: None,
            tags: Default::default(),
        });
        o.items.insert(usage_plan::address("gold"), plan.clone());
        let mut d = world(vec![desired("acme", "gold")]);
        d.items.insert(usage_plan::address("gold"), plan);
        let p = plan_with(&d, &o, &ids(), &PlanOptions::default(), &[&UsagePlanKey, &usage_plan::UsagePlan]).unwrap();
        let got: Vec<(Action, &str)> = p.changes.iter().map(|c| (c.action, c.address.as_str())).collect();
        assert_eq!(got, [(Action::Delete, "platform/usage_plan/gold/key/k-other")]);
    }
}
