//! A tenant's isolation cannot change (contract §1.6): its users live in one user pool (the
//! shared pool when pooled, its own when silo), and Cognito cannot move a user (password,
//! MFA, `sub`) to another pool. A tier change that changes the isolation, or a changed
//! `isolation`, is a plan error that says so, before anything is compared.

use std::collections::BTreeSet;

use super::PlanError;
use crate::kinds::group::KIND as GROUP;
use crate::kinds::user_pool::KIND as POOL;
use crate::state::World;

/// Tenants with a silo pool, and tenants with groups in the shared pool.
fn placement(w: &World) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let shared = crate::spec::desired::names::shared_pool_address();
    let mut silo = BTreeSet::new();
    let mut pooled = BTreeSet::new();
    for i in w.items.values() {
        match (i.kind.as_str(), i.tenant.as_deref()) {
            (POOL, Some(t)) => {
                silo.insert(t);
            }
            (GROUP, Some(t)) if i.parent.as_deref() == Some(shared.as_str()) => {
                pooled.insert(t);
            }
            _ => {}
        }
    }
    (silo, pooled)
}

/// The first tenant whose isolation the desired world changes against the live one: its
/// groups in the shared pool on one side, a silo pool of its own on the other.
pub fn check_isolation_moves(desired: &World, observed: &World) -> Result<(), PlanError> {
    let (want_silo, want_pooled) = placement(desired);
    let (have_silo, have_pooled) = placement(observed);
    for t in want_silo.union(&want_pooled) {
        let (from, to) = if want_silo.contains(t) && have_pooled.contains(t) && !have_silo.contains(t) {
            ("pooled", "silo")
        } else if want_pooled.contains(t) && have_silo.contains(t) && !want_silo.contains(t) {
            ("silo", "pooled")
        } else {
            continue;
        };
        return Err(PlanError::Refused {
            resource: "tenant".into(),
            address: format!("tenant/{t}"),
            message: format!(
                "its isolation would change from {from} to {to} (its `tier` or `isolation` changed): its users live in {}, and users cannot move between user pools (Cognito keeps a user's password, MFA and sub in one pool)",
                if from == "pooled" { "the shared pool" } else { "a pool of its own" }
            ),
            hint: "put the tier (or isolation) back, or move the tenant to a tier of the same isolation; to change isolation, onboard the tenant under a new id and migrate its users yourself".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::group::{self, GroupState};
    use crate::state::PoolState;

    fn world(pools: &[(&str, Option<&str>, &[&str])]) -> World {
        let mut w = World::default();
        for (address, tenant, groups) in pools {
            w.insert_pool(PoolState {
                address: address.to_string(),
                name: address.to_string(),
                tenant: tenant.map(str::to_string),
                settings: Default::default(),
                attributes: Default::default(),
                usernames: None,
            });
            for g in *groups {
                let st = GroupState { description: None, precedence: None, role_arn: None };
                w.items.insert(group::address(address, g), group::item(address, *tenant, g, &st));
            }
        }
        w
    }

    #[test]
    fn pooled_to_silo_and_back_are_refused_with_the_reason() {
        let pooled = world(&[("platform/pool", None, &["acme-admin", "globex-admin"])]);
        let silo =
            world(&[("platform/pool", None, &["globex-admin"]), ("tenant/acme/pool", Some("acme"), &["acme-admin"])]);
        let e = check_isolation_moves(&silo, &pooled).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("tenant/acme") && text.contains("from pooled to silo"), "{text}");
        assert!(text.contains("users cannot move between user pools"), "{text}");
        let e = check_isolation_moves(&pooled, &silo).unwrap_err();
        assert!(e.to_string().contains("from silo to pooled"), "{e}");
        // Unchanged, new tenants, and tenants leaving: fine.
        assert!(check_isolation_moves(&pooled, &pooled).is_ok());
        assert!(check_isolation_moves(&silo, &World::default()).is_ok());
        assert!(check_isolation_moves(&World::default(), &silo).is_ok());
    }
}
