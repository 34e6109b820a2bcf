//! The state model shared by the desired side (rendered from the folder) and the observed side
//! (read from AWS). Both are normalised to the same shape, so an unchanged folder compares
//! equal to what it created. No AWS types here.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The one region -> partition table, shared with the authorizer and `tenant-credentials`
/// (included as a module: a crate dependency would change the SDK crates' features).
#[path = "../../tenant-credentials/src/partition.rs"]
pub mod partition;
pub mod refs;
pub mod wiring;

pub use refs::{Ids, Ref, Text, UNKNOWN};

pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct PasswordState {
    pub min_length: i32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub temporary_password_validity_days: i32,
}

/// The pool-level settings tenantctl manages (everything else on the pool is left alone).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct PoolSettings {
    pub deletion_protection: bool,
    /// OFF | OPTIONAL | ON
    pub mfa: String,
    pub allow_admin_create_user_only: bool,
    pub password_policy: PasswordState,
    pub tags: Tags,
    /// `UserPoolTier` (LITE | ESSENTIALS | PLUS), when the folder declares `featurePlan`
    /// (None: not managed; Cognito's default is ESSENTIALS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_plan: Option<String>,
    /// `UserPoolAddOns.AdvancedSecurityMode` (AUDIT | ENFORCED); None: OFF (a live pool
    /// without add-ons reads as None too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat_protection: Option<String>,
    /// The pool's `LambdaConfig` by the contract's trigger names (`preSignUp`, ...), function
    /// ARNs as values, when the folder names any trigger (None: not managed, live triggers
    /// are left alone). `preTokenGeneration` is event version 2; a live one of another
    /// version reads as `<arn> (V1_0)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttributeState {
    /// String | Number
    pub data_type: String,
    pub mutable: bool,
    pub min_length: Option<String>,
    pub max_length: Option<String>,
    pub min_value: Option<String>,
    pub max_value: Option<String>,
}

/// How users sign in; set when a pool is created, never changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UsernamesState {
    pub case_sensitive: bool,
    /// UsernameAttributes: email | phone_number
    pub sign_in_with: BTreeSet<String>,
    /// AliasAttributes: email | phone_number | preferred_username
    pub aliases: BTreeSet<String>,
}

impl Default for UsernamesState {
    /// What tenantctl creates when the folder says nothing: case-insensitive, sign-in with
    /// email (the API's own default would be case-sensitive user names).
    fn default() -> Self {
        UsernamesState {
            case_sensitive: false,
            sign_in_with: BTreeSet::from(["email".to_string()]),
            aliases: BTreeSet::new(),
        }
    }
}

/// A user pool, desired or observed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PoolState {
    pub address: String,
    pub name: String,
    /// The silo tenant owning this pool; None for the shared pool.
    pub tenant: Option<String>,
    pub settings: PoolSettings,
    /// name without the `custom:` prefix
    pub attributes: BTreeMap<String, AttributeState>,
    /// Desired: as declared (None: not managed; a new pool gets the default). Observed: live.
    #[serde(default)]
    pub usernames: Option<UsernamesState>,
}

/// An IAM role with its inline and attached policies, as rendered (`spec::desired`) and read
/// (`kinds::iam_role`); in a [`World`] it is items of the `iam_role` and `role_policy` kinds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleState {
    pub address: String,
    pub name: String,
    pub path: String,
    pub tenant: Option<String>,
    pub description: Option<String>,
    pub max_session_duration: i32,
    pub permissions_boundary: Option<String>,
    pub trust_policy: Value,
    pub tags: Tags,
    pub policies: BTreeMap<String, Value>,
    pub attached_policies: BTreeSet<String>,
}

/// An instance of a resource kind that lives in the kind model (`crate::kinds`): the
/// registry's kinds keep their state here, as the normalised fields they compare and show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Item {
    /// The kind's name in plans, drift and inventory (`pool_domain`).
    pub kind: String,
    /// The physical name shown next to the address.
    pub name: String,
    pub tenant: Option<String>,
    /// The resource this one lives in (a pool for a pool's domain): its id is needed to act on
    /// this one, it is created before and deleted after this one.
    pub parent: Option<String>,
    /// The kind's fields; a [`Text`] in them refers to other resources by address.
    pub state: Value,
    /// Other resources this one is created after (and deleted before), besides `parent` and
    /// the ones its state refers to: a group after the role whose ARN it names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
}

impl Item {
    /// Every address this item depends on: its parent, `after`, and its state's references.
    pub fn depends_on(&self) -> Vec<String> {
        let mut out: Vec<String> = self.parent.iter().cloned().collect();
        out.extend(self.after.iter().cloned());
        out.extend(refs::refs_in(&self.state));
        out.sort();
        out.dedup();
        out
    }
}

/// The whole managed world, desired or observed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct World {
    /// Instances of the kind model's kinds, by address.
    #[serde(default)]
    pub items: BTreeMap<String, Item>,
}

/// The kind of a user pool's items (`kinds::user_pool`).
pub const POOL_KIND: &str = "user_pool";
/// The kind of a pool's custom attributes (`kinds::custom_attribute`).
pub const ATTRIBUTE_KIND: &str = "custom_attribute";

/// A user pool's item state: its settings (flattened: their field paths are the plan's), the
/// custom attributes it is created with (each also an item of its own kind, which compares
/// them), and how users sign in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PoolItemState {
    #[serde(flatten)]
    pub settings: PoolSettings,
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeState>,
    #[serde(default)]
    pub usernames: Option<UsernamesState>,
}

impl PoolState {
    /// The pool as an item of the `user_pool` kind (its address is `self.address`).
    pub fn item(&self) -> Item {
        let state = PoolItemState {
            settings: self.settings.clone(),
            attributes: self.attributes.clone(),
            usernames: self.usernames.clone(),
        };
        Item {
            kind: POOL_KIND.into(),
            name: self.name.clone(),
            tenant: self.tenant.clone(),
            parent: None,
            state: serde_json::to_value(state).expect("state serializes"),
            after: Vec::new(),
        }
    }

    /// The pool an item of the `user_pool` kind at `address` stands for.
    pub fn of_item(address: &str, item: &Item) -> Option<PoolState> {
        if item.kind != POOL_KIND {
            return None;
        }
        let s: PoolItemState = serde_json::from_value(item.state.clone()).ok()?;
        Some(PoolState {
            address: address.to_string(),
            name: item.name.clone(),
            tenant: item.tenant.clone(),
            settings: s.settings,
            attributes: s.attributes,
            usernames: s.usernames,
        })
    }

    /// The address of its custom attribute `name` (without `custom:`).
    pub fn attribute_address(&self, name: &str) -> String {
        format!("{}/attribute/{name}", self.address)
    }

    /// Its custom attributes as items of the `custom_attribute` kind, by address.
    pub fn attribute_items(&self) -> Vec<(String, Item)> {
        self.attributes
            .iter()
            .map(|(n, a)| {
                let item = Item {
                    kind: ATTRIBUTE_KIND.into(),
                    name: format!("custom:{n}"),
                    tenant: self.tenant.clone(),
                    parent: Some(self.address.clone()),
                    state: serde_json::to_value(a).expect("state serializes"),
                    after: Vec::new(),
                };
                (self.attribute_address(n), item)
            })
            .collect()
    }
}

impl World {
    /// A world of these pools (and their attributes).
    pub fn of_pools(pools: impl IntoIterator<Item = PoolState>) -> World {
        let mut w = World::default();
        for p in pools {
            w.insert_pool(p);
        }
        w
    }

    /// Adds a pool: its `user_pool` item and its attributes' `custom_attribute` items.
    pub fn insert_pool(&mut self, pool: PoolState) {
        self.items.extend(pool.attribute_items());
        self.items.insert(pool.address.clone(), pool.item());
    }

    /// The user pools (items of the `user_pool` kind), by address.
    pub fn pools(&self) -> BTreeMap<String, PoolState> {
        self.items.iter().filter_map(|(a, i)| Some((a.clone(), PoolState::of_item(a, i)?))).collect()
    }

    /// Changes the pool at `address` (and its attributes' items). Panics when it is not there.
    pub fn edit_pool(&mut self, address: &str, edit: impl FnOnce(&mut PoolState)) {
        let mut p = self.pool(address).unwrap_or_else(|| panic!("no pool `{address}`"));
        edit(&mut p);
        self.items.retain(|_, i| !(i.kind == ATTRIBUTE_KIND && i.parent.as_deref() == Some(address)));
        self.insert_pool(p);
    }

    /// The pool at `address`.
    pub fn pool(&self, address: &str) -> Option<PoolState> {
        self.items.get(address).and_then(|i| PoolState::of_item(address, i))
    }
}

/// The group name `<tenant>-<role>` (contract §2) read back as `(tenant, role)`: the one
/// parser of group names (the planner's orphans, destroy, inventory), the inverse of
/// `spec::desired::names::group`. Role names hold no hyphen, so the last hyphen splits (tenant
/// ids may hold hyphens); a name whose role part is not `[a-z0-9]+` is no tenant's group.
pub fn parse_group(name: &str) -> Option<(&str, &str)> {
    let (tenant, role) = name.rsplit_once('-')?;
    let role_like = !role.is_empty() && role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (!tenant.is_empty() && role_like).then_some((tenant, role))
}

/// Canonical form of an IAM policy document for comparison: keys sorted, string lists
/// sorted and de-duplicated, one-element lists as plain strings (IAM accepts both and
/// returns what it was given).
pub fn canonical_policy(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical_policy(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let mut s: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            s.sort_unstable();
            s.dedup();
            if s.len() == 1 {
                Value::String(s[0].to_string())
            } else {
                Value::Array(s.into_iter().map(|x| Value::String(x.to_string())).collect())
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical_policy).collect()),
        other => other.clone(),
    }
}

/// Length of a policy document as IAM counts it (no whitespace).
pub fn minified_len(v: &Value) -> usize {
    serde_json::to_string(v).map_or(0, |s| s.len())
}

/// Parses a policy document as IAM returns it: plain JSON, or URL-encoded JSON (AWS).
pub fn parse_policy_document(raw: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(raw) {
        return Some(v);
    }
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    serde_json::from_str(&decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_policy_ignores_order_and_list_shape() {
        let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["b", "a"]}]});
        let b = json!({"Statement": [{"Resource": ["a", "b"], "Action": "s3:GetObject", "Effect": "Allow"}], "Version": "2012-10-17"});
        assert_eq!(canonical_policy(&a), canonical_policy(&b));
    }

    #[test]
    fn group_names_parse_back_to_tenant_and_role() {
        assert_eq!(parse_group("acme-admin"), Some(("acme", "admin")));
        assert_eq!(parse_group("acme-corp-member2"), Some(("acme-corp", "member2")));
        for not_a_tenant_group in ["admins", "-admin", "acme-", "acme-Admin", "acme-ad_min", ""] {
            assert_eq!(parse_group(not_a_tenant_group), None, "{not_a_tenant_group}");
        }
    }

    #[test]
    fn url_encoded_documents_parse() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(parse_policy_document(raw).unwrap(), json!({"Version": "2012-10-17"}));
        assert_eq!(parse_policy_document("{\"a\":1}").unwrap(), json!({"a": 1}));
    }
}
