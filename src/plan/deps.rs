//! The keys of the plan's dependency graph ([`Key`]) and what one change provides and needs
//! ([`Deps`]); [`crate::plan::order`] builds the graph from them.

use super::Resource;

/// What a change provides, or waits for (see [`Deps`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// The create or update of the resource at this address.
    Address(String),
    /// The create or update of a kind's instance, by its physical name.
    Named(Resource, String),
    /// Every create or update of a kind.
    Kind(Resource),
    /// Every change (create, update or delete) of a kind's instances that live in the resource
    /// at this address (`after: ["<kind>@<address>"]`).
    In(Resource, String),
    /// The deletes of what depended on the resource at this address.
    Gone(String),
    /// The create or update of the IAM role of this name: what a role ARN in a state names.
    Role(String),
    /// The changes that stop naming the IAM role of this name (the update or delete of a group
    /// that pointed at it).
    RoleReleased(String),
    /// The changes that may stop naming instances of a kind: every delete of the kind waits
    /// for them.
    Releases(Resource),
}

impl Key {
    /// An entry of `Item::after`: `kind:<kind>` (every create or update of the kind),
    /// `<kind>@<address>` (what of the kind lives there), or an address.
    pub fn after(entry: &str) -> Key {
        let is_kind = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if let Some(kind) = entry.strip_prefix("kind:").filter(|k| is_kind(k)) {
            return Key::Kind(Resource::named(kind));
        }
        match entry.split_once('@') {
            Some((kind, parent)) if is_kind(kind) => Key::In(Resource::named(kind), parent.to_string()),
            _ => Key::Address(entry.to_string()),
        }
    }
}

/// What one op makes exist (or changes) and what must be done before it: see [`Op::deps`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deps {
    /// Keys this op provides: every op needing one of them waits for it.
    pub provides: Vec<Key>,
    /// Keys this op waits for (those no change of the plan provides are already there).
    pub needs: Vec<Key>,
}

/// The name of the IAM role an ARN names (`arn:...:role/path/name` -> `name`).
pub fn role_name(arn: &str) -> Option<&str> {
    arn.contains(":role/").then(|| arn.rsplit('/').next()).flatten().filter(|n| !n.is_empty())
}
