//! The whole plan ([`plan_with`]): each kind's items planned ([`super::items`]), put in
//! their order ([`super::order`]), and the contract's last guard (no user pool replaced).

use super::items::{plan_items, ItemRules, PlanOptions};
use super::quotas::AccountFigures;
use super::{Plan, PlanError};
use crate::state::{Ids, World};

/// Plans the changes that make `observed` match `desired`: each kind (`kinds`: their rules,
/// `kinds::rules()`, in the registry's order) plans its items; the changes come in the
/// plan's order ([`super::order::sort`]).
pub fn plan_with(
    desired: &World,
    observed: &World,
    ids: &Ids,
    opts: &PlanOptions,
    kinds: &[&dyn ItemRules],
) -> Result<Plan, PlanError> {
    let mut changes = Vec::new();
    let mut orphans = Vec::new();
    let kept = |parent: &str| desired.items.contains_key(parent);
    let parent_name = |parent: &str| desired.items.get(parent).map(|i| i.name.clone()).unwrap_or_default();
    plan_items(desired, observed, ids, opts, kinds, &kept, &parent_name, &mut changes, &mut orphans)?;
    let changes = super::order::sort(changes, kinds)?;
    super::check_no_pool_replace(&changes)?;
    orphans.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Plan { changes, orphans })
}

/// Fails on the first count quota ([`super::quotas`]) the plan would cross: each kind checks its own
/// ([`ItemRules::check_quotas`]), in the order of `kinds` (the registry's).
pub fn check_quotas(
    plan: &Plan,
    desired: &World,
    figures: &AccountFigures,
    kinds: &[&dyn ItemRules],
) -> Result<(), PlanError> {
    kinds.iter().try_for_each(|k| k.check_quotas(plan, desired, figures))
}
