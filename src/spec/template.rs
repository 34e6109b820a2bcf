//! Policy template rendering (contract §1.3).
//!
//! Templates are parsed as JSON first; placeholders are substituted inside string values
//! only, one value at a time, so no substituted text can ever change the document's
//! structure. IAM policy variables (`${aws:PrincipalTag/tenant_id}`) pass through untouched.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Values a template may refer to.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub tenant_id: &'a str,
    pub vars: &'a BTreeMap<String, String>,
    pub platform: &'a str,
    pub role: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder `{{{{{name}}}}}` at {path}")]
    UnknownPlaceholder { name: String, path: String },
    #[error("placeholder in the object key `{key}` at {path}: placeholders may stand only inside string values")]
    PlaceholderInKey { key: String, path: String },
    #[error("unterminated placeholder in `{text}` at {path}")]
    Unterminated { text: String, path: String },
    #[error("tenant variable `{name}` is not set for this tenant (used at {path})")]
    MissingVar { name: String, path: String },
    #[error("`{{{{{name}}}}}` renders to {value:?}, which contains {reason}: it could widen access")]
    Widening { name: String, value: String, reason: &'static str },
}

/// Placeholder names the renderer knows, besides `tenant.vars.NAME`.
pub const KNOWN: &[&str] = &["tenant.id", "platform.name", "role", "aws.accountId", "aws.region"];

/// Why a rendered value could widen access, if it could.
pub fn widening_reason(value: &str) -> Option<&'static str> {
    if value.contains('*') {
        Some("`*` (an IAM wildcard)")
    } else if value.contains('?') {
        Some("`?` (an IAM wildcard)")
    } else if value.contains("${") {
        Some("`${` (an IAM policy variable)")
    } else if value.contains('"') || value.contains('\'') {
        Some("a quote")
    } else if value.contains('\\') {
        Some("a backslash")
    } else if value.chars().any(char::is_control) {
        Some("a control character")
    } else if value.is_empty() {
        Some("nothing (an empty value)")
    } else {
        None
    }
}

/// Wildcards and policy-variable openings in a string.
fn danger(s: &str) -> (usize, usize, usize) {
    (s.matches('*').count(), s.matches('?').count(), s.matches("${").count())
}

/// Splits a string into literal text and placeholders. Returns (is_placeholder, text) pieces.
fn pieces<'s>(s: &'s str, path: &str) -> Result<Vec<(bool, &'s str)>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push((false, &rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unterminated { text: s.to_string(), path: path.to_string() });
        };
        out.push((true, after[..end].trim()));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    Ok(out)
}

/// Every placeholder in a template, with its JSON path; errors for misplaced or unknown ones.
pub fn placeholders(doc: &Value) -> Result<Vec<(String, String)>, TemplateError> {
    let mut out = Vec::new();
    walk_placeholders(doc, "", &mut out)?;
    Ok(out)
}

fn walk_placeholders(v: &Value, path: &str, out: &mut Vec<(String, String)>) -> Result<(), TemplateError> {
    match v {
        Value::String(s) => {
            for (is_ph, text) in pieces(s, path)? {
                if is_ph {
                    if !(KNOWN.contains(&text)
                        || text.strip_prefix("tenant.vars.").is_some_and(|n| !n.is_empty() && !n.contains('.')))
                    {
                        return Err(TemplateError::UnknownPlaceholder {
                            name: text.to_string(),
                            path: path.to_string(),
                        });
                    }
                    out.push((path.to_string(), text.to_string()));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_placeholders(item, &format!("{path}/{i}"), out)?;
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{path}/{k}");
                if k.contains("{{") {
                    return Err(TemplateError::PlaceholderInKey { key: k.clone(), path: path.to_string() });
                }
                walk_placeholders(item, &p, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn resolve<'c>(name: &str, ctx: &'c Context<'_>, path: &str) -> Result<&'c str, TemplateError> {
    let v = match name {
        "tenant.id" => ctx.tenant_id,
        "platform.name" => ctx.platform,
        "role" => ctx.role,
        "aws.accountId" => ctx.account_id,
        "aws.region" => ctx.region,
        other => match other.strip_prefix("tenant.vars.") {
            Some(var) => ctx
                .vars
                .get(var)
                .map(String::as_str)
                .ok_or_else(|| TemplateError::MissingVar { name: var.to_string(), path: path.to_string() })?,
            None => return Err(TemplateError::UnknownPlaceholder { name: other.to_string(), path: path.to_string() }),
        },
    };
    if let Some(reason) = widening_reason(v) {
        return Err(TemplateError::Widening { name: name.to_string(), value: v.to_string(), reason });
    }
    Ok(v)
}

/// Renders a template for one (tenant, role).
pub fn render(doc: &Value, ctx: &Context<'_>) -> Result<Value, TemplateError> {
    render_at(doc, ctx, "")
}

fn render_at(v: &Value, ctx: &Context<'_>, path: &str) -> Result<Value, TemplateError> {
    Ok(match v {
        Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            let mut literal = String::with_capacity(s.len());
            let mut substituted = Vec::new();
            for (is_ph, text) in pieces(s, path)? {
                if is_ph {
                    let v = resolve(text, ctx, path)?;
                    out.push_str(v);
                    substituted.push((text, v));
                } else {
                    out.push_str(text);
                    literal.push_str(text);
                }
                if is_ph {
                    literal.push('\u{1}');
                }
            }
            // Values are safe one by one; their joins with each other and with the literal
            // text must not make a wildcard or a policy variable either (`$` + `{aws:...}`).
            let (o, l) = (danger(&out), danger(&literal));
            if !substituted.is_empty() && (o.0 > l.0 || o.1 > l.1 || o.2 > l.2) {
                let (name, value) = substituted[substituted.len() - 1];
                return Err(TemplateError::Widening {
                    name: name.to_string(),
                    value: value.to_string(),
                    reason: "text that joins with its neighbours into a wildcard or a policy variable",
                });
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| render_at(item, ctx, &format!("{path}/{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, item) in map {
                if k.contains("{{") {
                    return Err(TemplateError::PlaceholderInKey { key: k.clone(), path: path.to_string() });
                }
                out.insert(k.clone(), render_at(item, ctx, &format!("{path}/{k}"))?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx<'a>(vars: &'a BTreeMap<String, String>) -> Context<'a> {
        Context {
            tenant_id: "acme",
            vars,
            platform: "saas",
            role: "admin",
            account_id: "123456789012",
            region: "us-east-1",
        }
    }

    #[test]
    fn substitutes_value_by_value_and_keeps_policy_variables() {
        let vars = BTreeMap::from([("bucket".to_string(), "acme-data".to_string())]);
        let doc = json!({"Resource": "arn:aws:s3:::{{tenant.vars.bucket}}/${aws:PrincipalTag/tenant_id}/*",
                         "Sid": "{{ platform.name }}{{role}}"});
        let out = render(&doc, &ctx(&vars)).unwrap();
        assert_eq!(out["Resource"], "arn:aws:s3:::acme-data/${aws:PrincipalTag/tenant_id}/*");
        assert_eq!(out["Sid"], "saasadmin");
    }

    #[test]
    fn refuses_widening_values_unknown_and_keyed_placeholders() {
        for bad in ["*", "a?b", "${aws:username}", "x\"y", "a\nb", ""] {
            let vars = BTreeMap::from([("bucket".to_string(), bad.to_string())]);
            let doc = json!({"Resource": "arn:aws:s3:::{{tenant.vars.bucket}}"});
            assert!(matches!(render(&doc, &ctx(&vars)), Err(TemplateError::Widening { .. })));
        }
        let vars = BTreeMap::new();
        assert!(matches!(
            placeholders(&json!({"a": "{{tenant.name}}"})),
            Err(TemplateError::UnknownPlaceholder { .. })
        ));
        assert!(matches!(placeholders(&json!({"{{tenant.id}}": "x"})), Err(TemplateError::PlaceholderInKey { .. })));
        assert!(matches!(
            render(&json!({"a": "{{tenant.vars.nope}}"}), &ctx(&vars)),
            Err(TemplateError::MissingVar { .. })
        ));
        // Safe values that join into a policy variable.
        let vars =
            BTreeMap::from([("a".to_string(), "$".to_string()), ("b".to_string(), "{aws:username}".to_string())]);
        assert!(matches!(
            render(&json!({"r": "{{tenant.vars.a}}{{tenant.vars.b}}"}), &ctx(&vars)),
            Err(TemplateError::Widening { .. })
        ));
        let vars = BTreeMap::from([("b".to_string(), "{".to_string())]);
        assert!(matches!(
            render(&json!({"r": "${{tenant.vars.b}}"}), &ctx(&vars)),
            Err(TemplateError::Widening { .. })
        ));
    }
}
