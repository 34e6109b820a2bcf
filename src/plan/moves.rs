//! A tenant's isolation cannot change (contract §1.6): its users live in one user pool (the
//! shared pool when pooled, its own when silo), and Cognito cannot move a user (password,
//! MFA, `sub`) to another pool. A tier change that changes the isolation, or a changed
//! `isolation`, is a plan error that says so, before anything is compared.

use super::PlanError;
use crate::state::{parse_group, World};

/// The first tenant whose isolation the desired world changes against the live one.
pub fn check_isolation_moves(desired: &World, observed: &World) -> Result<(), PlanError> {
    let in_shared = |w: &World, tenant: &str| {
        w.pools
            .values()
            .filter(|p| p.tenant.is_none())
            .any(|p| p.groups.keys().any(|g| parse_group(g).is_some_and(|(t, _)| t == tenant)))
    };
    let silo = |w: &World, tenant: &str| w.pools.values().any(|p| p.tenant.as_deref() == Some(tenant));
    let mut tenants: Vec<&str> = desired.pools.values().filter_map(|p| p.tenant.as_deref()).collect();
    for p in desired.pools.values().filter(|p| p.tenant.is_none()) {
        tenants.extend(p.groups.keys().filter_map(|g| parse_group(g).map(|(t, _)| t)));
    }
    tenants.sort_unstable();
    tenants.dedup();
    for t in tenants {
        let (from, to) = if silo(desired, t) && in_shared(observed, t) && !silo(observed, t) {
            ("pooled", "silo")
        } else if in_shared(desired, t) && silo(observed, t) && !silo(desired, t) {
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
    use crate::state::{GroupState, PoolState};

    fn pool(address: &str, tenant: Option<&str>, groups: &[&str]) -> PoolState {
        PoolState {
            address: address.into(),
            name: address.into(),
            tenant: tenant.map(str::to_string),
            settings: Default::default(),
            attributes: Default::default(),
            groups: groups
                .iter()
                .map(|g| (g.to_string(), GroupState { description: None, precedence: None, role_arn: None }))
                .collect(),
            resource_servers: Default::default(),
            clients: Default::default(),
            usernames: None,
        }
    }

    fn world(pools: Vec<PoolState>) -> World {
        World { pools: pools.into_iter().map(|p| (p.address.clone(), p)).collect(), ..World::default() }
    }

    #[test]
    fn pooled_to_silo_and_back_are_refused_with_the_reason() {
        let pooled = world(vec![pool("platform/pool", None, &["acme-admin", "globex-admin"])]);
        let silo = world(vec![
            pool("platform/pool", None, &["globex-admin"]),
            pool("tenant/acme/pool", Some("acme"), &["acme-admin"]),
        ]);
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
