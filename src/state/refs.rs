//! References between resources: one resource naming another by its physical id (a pool's
//! id in the authorizer's environment, the REST API's id in the invoke permission's
//! SourceArn). The desired state holds a [`Ref`] to the other resource's address; the id is
//! looked up in [`Ids`] when it is known (observed, or created earlier in the same apply).
//! Until then a plan shows [`UNKNOWN`] in its place, and the reference is an edge the apply
//! order follows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a plan shows for an id that exists only once apply has created its resource.
pub const UNKNOWN: &str = "(known after apply)";

/// Physical ids by address: a pool's id, an app client's id, the REST API's and the
/// authorizer's ids, a method's resource id, the function's ARN. The one place ids are
/// looked up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct Ids(BTreeMap<String, String>);

impl Ids {
    /// The id of the resource at `address`, when known.
    pub fn id(&self, address: &str) -> Option<&str> {
        self.0.get(address).map(String::as_str)
    }

    pub fn get(&self, r: &Ref) -> Option<&str> {
        self.id(&r.0)
    }

    pub fn set(&mut self, address: impl Into<String>, id: impl Into<String>) {
        self.0.insert(address.into(), id.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn remove(&mut self, address: &str) {
        self.0.remove(address);
    }

    /// Forgets the resource at `address` and everything under it (`<address>/...`).
    pub fn forget(&mut self, address: &str) {
        let prefix = format!("{address}/");
        self.0.retain(|k, _| k != address && !k.starts_with(&prefix));
    }

    pub fn extend(&mut self, other: Ids) {
        self.0.extend(other.0);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

/// The longest id AWS issues for a resource of `kind` (an item kind) in `region`, for sizes
/// counted before the ids exist; None for a kind not listed here. The ids AWS issues today:
/// a user pool id is `<region>_` and 9 letters or digits (`us-east-1_AbCdEfGhI`), an app
/// client id 26 characters, an API Gateway usage plan id 10 (the API references bound them
/// more loosely: Cognito's `UserPoolId` up to 55 characters, `ClientId` up to 128).
pub fn longest_id(kind: &str, region: &str) -> Option<usize> {
    match kind {
        "user_pool" => Some(region.len() + 1 + 9),
        "app_client" => Some(26),
        "usage_plan" => Some(10),
        _ => None,
    }
}

/// A reference to the resource at an address (it resolves to that resource's physical id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ref(pub String);

impl Ref {
    pub fn to(address: impl Into<String>) -> Ref {
        Ref(address.into())
    }

    pub fn address(&self) -> &str {
        &self.0
    }
}

/// A piece of a [`Text`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Part {
    Lit(String),
    /// The physical id of the referenced resource.
    Id {
        id_of: Ref,
    },
}

/// A string value that may embed other resources' ids, e.g. a Cognito pool ARN
/// `arn:aws:cognito-idp:us-east-1:123456789012:userpool/` + the pool's id. As JSON (in an
/// `Item`'s state) it is `{"$text": [parts]}`, which [`resolve_value`] turns into the string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Text {
    #[serde(rename = "$text")]
    parts: Vec<Part>,
}

impl Text {
    pub fn lit(s: impl Into<String>) -> Text {
        Text { parts: vec![Part::Lit(s.into())] }
    }

    /// Appends literal text.
    pub fn s(mut self, s: impl AsRef<str>) -> Text {
        let s = s.as_ref();
        if s.is_empty() {
            return self;
        }
        match self.parts.last_mut() {
            Some(Part::Lit(l)) => l.push_str(s),
            _ => self.parts.push(Part::Lit(s.to_string())),
        }
        self
    }

    /// Appends another text.
    pub fn append(mut self, other: Text) -> Text {
        for p in other.parts {
            self = match p {
                Part::Lit(s) => self.s(s),
                Part::Id { id_of } => self.id(id_of.0),
            };
        }
        self
    }

    /// Appends the id of the resource at `address`.
    pub fn id(mut self, address: impl Into<String>) -> Text {
        self.parts.push(Part::Id { id_of: Ref::to(address) });
        self
    }

    /// The references this text holds.
    pub fn refs(&self) -> impl Iterator<Item = &Ref> {
        self.parts.iter().filter_map(|p| match p {
            Part::Id { id_of } => Some(id_of),
            Part::Lit(_) => None,
        })
    }

    /// The string with every id filled in; None while one is not known.
    pub fn resolve(&self, ids: &Ids) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Id { id_of } => out.push_str(ids.get(id_of)?),
            }
        }
        Some(out)
    }

    /// What a plan shows: known ids filled in, [`UNKNOWN`] for the others.
    pub fn shown(&self, ids: &Ids) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Id { id_of } => out.push_str(ids.get(id_of).unwrap_or(UNKNOWN)),
            }
        }
        out
    }

    /// The string with known ids filled in and each unknown one stood for by `unknown(ref)`
    /// characters (`_`): for sizes that must hold before the ids exist (see [`longest_id`]).
    pub fn filled(&self, ids: &Ids, unknown: impl Fn(&Ref) -> usize) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Id { id_of } => match ids.get(id_of) {
                    Some(id) => out.push_str(id),
                    None => out.push_str(&"_".repeat(unknown(id_of))),
                },
            }
        }
        out
    }

    /// The string, when it holds no reference.
    pub fn as_literal(&self) -> Option<String> {
        self.resolve(&Ids::default())
    }
}

/// A JSON value (an `Item`'s state) with every [`Text`] in it turned into its string: ids
/// filled in where known, [`UNKNOWN`] elsewhere. The second value says whether every id was
/// known.
pub fn resolve_value(v: &serde_json::Value, ids: &Ids) -> (serde_json::Value, bool) {
    use serde_json::Value;
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("$text") => {
            match serde_json::from_value::<Text>(v.clone()) {
                Ok(t) => match t.resolve(ids) {
                    Some(s) => (Value::String(s), true),
                    None => (Value::String(t.shown(ids)), false),
                },
                Err(_) => (v.clone(), true),
            }
        }
        Value::Object(m) => {
            let mut all = true;
            let out = m
                .iter()
                .map(|(k, x)| {
                    let (x, ok) = resolve_value(x, ids);
                    all &= ok;
                    (k.clone(), x)
                })
                .collect();
            (Value::Object(out), all)
        }
        Value::Array(a) => {
            let mut all = true;
            let out = a
                .iter()
                .map(|x| {
                    let (x, ok) = resolve_value(x, ids);
                    all &= ok;
                    x
                })
                .collect();
            (Value::Array(out), all)
        }
        other => (other.clone(), true),
    }
}

/// The addresses the [`Text`]s of a JSON value refer to.
pub fn refs_in(v: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let mut out = Vec::new();
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("$text") => {
            if let Ok(t) = serde_json::from_value::<Text>(v.clone()) {
                out.extend(t.refs().map(|r| r.0.clone()));
            }
        }
        Value::Object(m) => m.values().for_each(|x| out.extend(refs_in(x))),
        Value::Array(a) => a.iter().for_each(|x| out.extend(refs_in(x))),
        _ => {}
    }
    out
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::lit(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::lit(s)
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::lit(s.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_counts_unknown_ids_at_the_length_given() {
        let t = Text::lit("arn:x:userpool/").id("tenant/a/pool").s(",").id("tenant/b/pool");
        let mut ids = Ids::default();
        ids.set("tenant/a/pool", "us-east-1_abc");
        assert_eq!(t.filled(&ids, |_| 19), format!("arn:x:userpool/us-east-1_abc,{}", "_".repeat(19)));
        assert_eq!(longest_id("user_pool", "us-east-1"), Some("us-east-1_AbCdEfGhI".len()));
        assert_eq!(longest_id("user_pool", "ap-southeast-1"), Some("ap-southeast-1_AbCdEfGhI".len()));
        assert_eq!(
            (longest_id("app_client", "x"), longest_id("usage_plan", "x"), longest_id("group", "x")),
            (Some(26), Some(10), None)
        );
    }

    #[test]
    fn text_resolves_when_every_id_is_known() {
        let t = Text::lit("arn:userpool/").id("platform/pool").s("=*");
        let mut ids = Ids::default();
        assert_eq!(t.resolve(&ids), None);
        assert_eq!(t.shown(&ids), format!("arn:userpool/{UNKNOWN}=*"));
        assert_eq!(t.refs().map(Ref::address).collect::<Vec<_>>(), ["platform/pool"]);
        ids.set("platform/pool", "us-east-1_abc");
        assert_eq!(t.resolve(&ids).as_deref(), Some("arn:userpool/us-east-1_abc=*"));
        assert_eq!(Text::from("plain").as_literal().as_deref(), Some("plain"));
        assert_eq!(t.as_literal(), None);
    }

    #[test]
    fn values_resolve_their_texts() {
        let t = Text::lit("arn:userpool/").id("platform/pool");
        let v = serde_json::json!({"arns": [t], "plain": ["a", "b"], "n": 1});
        assert_eq!(refs_in(&v), ["platform/pool"]);
        let mut ids = Ids::default();
        let (shown, known) = resolve_value(&v, &ids);
        assert!(!known);
        assert_eq!(
            shown,
            serde_json::json!({"arns": [format!("arn:userpool/{UNKNOWN}")], "plain": ["a", "b"], "n": 1})
        );
        ids.set("platform/pool", "p1");
        assert_eq!(
            resolve_value(&v, &ids),
            (serde_json::json!({"arns": ["arn:userpool/p1"], "plain": ["a", "b"], "n": 1}), true)
        );
    }

    #[test]
    fn forget_drops_an_address_and_what_is_under_it() {
        let mut ids = Ids::default();
        ids.set("tenant/a/pool", "p1");
        ids.set("tenant/a/pool/app_client/web", "c1");
        ids.set("tenant/ab/pool", "p2");
        ids.forget("tenant/a/pool");
        assert_eq!(ids.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["tenant/ab/pool"]);
    }
}
