//! The order of a plan's changes, from the dependencies each one declares ([`Op::deps`]): the
//! generic edges of every item (its parent, `after`, the addresses its references name and the
//! roles whose ARNs it holds; deletes in reverse) and its kind's own
//! ([`ItemRules::order`], [`ItemRules::delete_order`]). The engine starts a change once every
//! change it waits for ([`waits`]) is done; the plan lists them in a topological order of the
//! same graph ([`sort`]), ties broken by the kinds' registry order, then the address. A cycle
//! is an error ([`PlanError::Cycle`]), never an edge dropped.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use serde_json::Value;

use super::deps::role_name;
use super::{Change, Deps, ItemRules, Key, Op, PlanError, Resource};

/// The role names of every role ARN in a JSON value (a trust policy's principals).
fn role_names_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(role_name(s).map(str::to_string)),
        Value::Array(a) => a.iter().for_each(|x| role_names_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| role_names_in(x, out)),
        _ => {}
    }
}

impl Op {
    /// The dependency edges of this op, as keys: the engine waits for every change of the plan
    /// that provides a key this op needs. A create or update provides its address, its kind's
    /// `Named` and `Kind` keys and `In` its parent; it needs its parent, its `after` entries,
    /// the addresses its references name and the roles whose ARNs it holds. A delete runs in
    /// reverse: it provides `Gone` of what it depended on (which the delete of that waits
    /// for) and `In` its parent, and needs the deletes of its dependants (`Gone` of its
    /// address), its own update (a pool's deletion protection turned off first) and the
    /// changes that may stop naming its kind (`Releases`). `rules` (its kind's) add the
    /// kind's own edges.
    pub fn deps(&self, rules: Option<&dyn ItemRules>) -> Deps {
        let Op::Item { address, desired, live, .. } = self;
        let mut deps = Deps::default();
        match (desired, live) {
            (Some(d), live) => {
                let kind = Resource::named(&d.kind);
                deps.provides = vec![Key::Address(address.clone()), Key::Named(kind, d.name.clone()), Key::Kind(kind)];
                deps.provides.extend(d.parent.iter().map(|p| Key::In(kind, p.clone())));
                deps.needs.extend(d.parent.iter().cloned().map(Key::Address));
                deps.needs.extend(d.after.iter().map(|a| Key::after(a)));
                let mut roles = Vec::new();
                role_names_in(&d.state, &mut roles);
                deps.needs.extend(roles.into_iter().map(Key::Role));
                deps.needs.extend(crate::state::refs::refs_in(&d.state).into_iter().map(Key::Address));
                if let Some(r) = rules {
                    r.order(d, live.as_ref(), &mut deps);
                }
            }
            (None, Some(o)) => {
                let kind = Resource::named(&o.kind);
                deps.provides = o.depends_on().into_iter().map(Key::Gone).collect();
                deps.provides.extend(o.parent.iter().map(|p| Key::In(kind, p.clone())));
                deps.needs = vec![Key::Gone(address.clone()), Key::Address(address.clone()), Key::Releases(kind)];
                if let Some(r) = rules {
                    r.delete_order(o, &mut deps);
                }
            }
            (None, None) => {}
        }
        deps.needs.sort();
        deps.needs.dedup();
        deps
    }

    /// The item this op changes: its desired state, or the live one it deletes.
    pub fn item(&self) -> Option<&crate::state::Item> {
        let Op::Item { desired, live, .. } = self;
        desired.as_ref().or(live.as_ref())
    }
}

/// For each change, the other changes (by index) it waits for: those that provide a key it
/// needs ([`Op::deps`], with the rules of its kind among `kinds`). Every edge is kept,
/// whatever the changes' order: [`check`] finds a cycle.
pub fn waits(changes: &[Change], kinds: &[&dyn ItemRules]) -> Vec<BTreeSet<usize>> {
    let rules = |op: &Op| op.item().and_then(|i| kinds.iter().copied().find(|k| k.resource().as_str() == i.kind));
    let deps: Vec<Deps> = changes.iter().map(|c| c.op.deps(rules(&c.op))).collect();
    let mut providers: HashMap<&Key, Vec<usize>> = HashMap::new();
    for (i, d) in deps.iter().enumerate() {
        for key in &d.provides {
            providers.entry(key).or_default().push(i);
        }
    }
    deps.iter()
        .enumerate()
        .map(|(i, d)| {
            d.needs
                .iter()
                .flat_map(|need| providers.get(need).into_iter().flatten())
                .copied()
                .filter(|&j| j != i)
                .collect()
        })
        .collect()
}

/// The changes in a topological order of `waits`: of the changes whose waits are all placed,
/// the one with the lowest `key` comes next. Err: the changes left, which wait for each other
/// in a cycle.
fn topological<K: Ord>(waits: &[BTreeSet<usize>], key: impl Fn(usize) -> K) -> Result<Vec<usize>, Vec<usize>> {
    let mut dependants = vec![Vec::new(); waits.len()];
    for (i, w) in waits.iter().enumerate() {
        for &j in w {
            dependants[j].push(i);
        }
    }
    let mut remaining: Vec<usize> = waits.iter().map(BTreeSet::len).collect();
    let mut ready: BinaryHeap<Reverse<(K, usize)>> =
        (0..waits.len()).filter(|&i| remaining[i] == 0).map(|i| Reverse((key(i), i))).collect();
    let mut out = Vec::with_capacity(waits.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        out.push(i);
        for &k in &dependants[i] {
            remaining[k] -= 1;
            if remaining[k] == 0 {
                ready.push(Reverse((key(k), k)));
            }
        }
    }
    if out.len() == waits.len() {
        return Ok(out);
    }
    let placed: BTreeSet<usize> = out.into_iter().collect();
    Err((0..waits.len()).filter(|i| !placed.contains(i)).collect())
}

/// One cycle among `left` (changes that wait, directly or not, for each other), as a path
/// that ends where it starts.
fn a_cycle(waits: &[BTreeSet<usize>], left: &[usize]) -> Vec<usize> {
    let left: BTreeSet<usize> = left.iter().copied().collect();
    let mut path = vec![*left.first().expect("a cycle has changes")];
    loop {
        let at = *path.last().expect("not empty");
        // Every change left waits for another change left (else it would have been placed).
        let next = waits[at].iter().copied().find(|j| left.contains(j)).expect("a change left waits for one left");
        if let Some(start) = path.iter().position(|&p| p == next) {
            let mut cycle = path.split_off(start);
            cycle.push(next);
            return cycle;
        }
        path.push(next);
    }
}

fn cycle_error(changes: &[Change], waits: &[BTreeSet<usize>], left: &[usize]) -> PlanError {
    let cycle = a_cycle(waits, left);
    PlanError::Cycle {
        changes: cycle
            .iter()
            .map(|&i| format!("{} {} {}", changes[i].action.as_str(), changes[i].resource.as_str(), changes[i].address))
            .collect(),
    }
}

/// Fails when the changes wait for each other in a cycle (a kind declared an edge that cannot
/// be honoured): the engine would never start them.
pub fn check(changes: &[Change], waits: &[BTreeSet<usize>]) -> Result<(), PlanError> {
    topological(waits, |i| i).map(|_| ()).map_err(|left| cycle_error(changes, waits, &left))
}

/// The plan's order: a topological order of [`waits`], ties broken by the kind's place in
/// `kinds` (the registry order), then the address.
pub fn sort(changes: Vec<Change>, kinds: &[&dyn ItemRules]) -> Result<Vec<Change>, PlanError> {
    let waits = waits(&changes, kinds);
    let rank: Vec<usize> =
        changes.iter().map(|c| kinds.iter().position(|k| k.resource() == c.resource).unwrap_or(kinds.len())).collect();
    let order = topological(&waits, |i| (rank[i], changes[i].address.clone()))
        .map_err(|left| cycle_error(&changes, &waits, &left))?;
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    Ok(order.into_iter().map(|i| slots[i].take().expect("each change once")).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{plan_with, Action, PlanOptions};
    use crate::state::{Ids, Item, World};

    /// A kind of items that each come after the one their `after` names.
    struct Chain(&'static str);

    impl ItemRules for Chain {
        fn resource(&self) -> Resource {
            Resource::named(self.0)
        }
    }

    fn item(kind: &str, name: &str, after: &[&str]) -> (String, Item) {
        let item = Item {
            kind: kind.into(),
            name: name.into(),
            tenant: None,
            parent: None,
            state: json!({}),
            after: after.iter().map(|a| a.to_string()).collect(),
        };
        (name.to_string(), item)
    }

    fn create(desired: &World, kinds: &[&dyn ItemRules]) -> Result<Vec<String>, PlanError> {
        let p = plan_with(desired, &World::default(), &Ids::default(), &PlanOptions::default(), kinds)?;
        assert!(p.changes.iter().all(|c| c.action == Action::Create));
        Ok(p.changes.into_iter().map(|c| c.address).collect())
    }

    /// Dependencies first, whatever the kinds' order; where they leave a choice, the kinds'
    /// order, then the address.
    #[test]
    fn a_topological_order_with_ties_by_kind_then_address() {
        let d = World {
            items: [
                item("first", "z", &["b"]),
                item("first", "y", &[]),
                item("second", "b", &[]),
                item("second", "a", &[]),
            ]
            .into(),
        };
        assert_eq!(create(&d, &[&Chain("first"), &Chain("second")]).unwrap(), ["y", "a", "b", "z"]);
        assert_eq!(create(&d, &[&Chain("second"), &Chain("first")]).unwrap(), ["a", "b", "y", "z"]);
    }

    /// Changes that wait for each other are an error naming the cycle, never an edge dropped.
    #[test]
    fn a_cycle_is_an_error_naming_it() {
        let d =
            World { items: [item("ring", "a", &["b"]), item("ring", "b", &["c"]), item("ring", "c", &["a"])].into() };
        let e = create(&d, &[&Chain("ring")]).unwrap_err();
        let PlanError::Cycle { changes } = &e else { panic!("{e}") };
        assert_eq!(changes.len(), 4, "{e}");
        assert_eq!(changes.first(), changes.last());
        assert!(e.to_string().contains("create ring a -> create ring b -> create ring c -> create ring a"), "{e}");
        assert!(e.hint().contains("report"), "{}", e.hint());
    }
}
