//! The API Gateway TOKEN authorizer event and response, and the handler logic.

use serde::{Deserialize, Serialize};

use crate::verify::{Deny, DenyReason, Verified, Verifier};

/// A `TOKEN` authorizer event.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenAuthorizerEvent {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub authorization_token: String,
    #[serde(default)]
    pub method_arn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub principal_id: String,
    pub policy_document: PolicyDocument,
    pub context: AuthorizerContext,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: String,
    pub statement: Vec<Statement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub action: String,
    pub effect: String,
    pub resource: Vec<String>,
}

/// What the backend receives in `requestContext.authorizer`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizerContext {
    pub tenant_id: String,
    pub role: String,
    pub role_arn: String,
    pub sub: String,
}

/// `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/*/*` for the API and stage
/// of `method_arn`: a cached result then covers every method and path of that stage.
pub fn api_stage_resource(method_arn: &str) -> Option<String> {
    let mut f = method_arn.splitn(6, ':');
    let (arn, partition, service, region, account, rest) =
        (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    if arn != "arn" || service != "execute-api" || !partition.starts_with("aws") {
        return None;
    }
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !plain(partition) || !plain(region) || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut p = rest.splitn(4, '/');
    let (api, stage, method) = (p.next()?, p.next()?, p.next()?);
    if !plain(api) || !plain(stage) || method.is_empty() {
        return None;
    }
    Some(format!("arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/*/*"))
}

/// Strips an optional `Bearer ` prefix (any case).
pub fn bearer_token(header: &str) -> &str {
    let h = header.trim();
    match h.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => h[7..].trim_start(),
        _ => h,
    }
}

/// Builds the Allow response for a verified token.
pub fn allow(v: &Verified, resource: String) -> AuthorizerResponse {
    AuthorizerResponse {
        principal_id: v.sub.clone(),
        policy_document: PolicyDocument {
            version: "2012-10-17".into(),
            statement: vec![Statement {
                action: "execute-api:Invoke".into(),
                effect: "Allow".into(),
                resource: vec![resource],
            }],
        },
        context: AuthorizerContext {
            tenant_id: v.tenant_id.clone(),
            role: v.role.clone(),
            role_arn: v.role_arn.clone(),
            sub: v.sub.clone(),
        },
    }
}

/// The whole decision for one event. `Err` means 401 Unauthorized.
pub fn authorize(verifier: &Verifier, event: &TokenAuthorizerEvent) -> Result<(AuthorizerResponse, Verified), Deny> {
    if event.type_ != "TOKEN" {
        return Err(Deny { reason: DenyReason::BadEvent, detail: format!("type {:?}", truncate(&event.type_)) });
    }
    let resource = api_stage_resource(&event.method_arn).ok_or_else(|| Deny {
        reason: DenyReason::BadMethodArn,
        detail: format!("methodArn {:?}", truncate(&event.method_arn)),
    })?;
    let v = verifier.verify(bearer_token(&event.authorization_token))?;
    Ok((allow(&v, resource.clone()), v))
}

fn truncate(s: &str) -> &str {
    let mut cut = s.len().min(120);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// The one structured log line for a denial (no token, no claims beyond the detail).
pub fn deny_log_line(d: &Deny, request_id: &str) -> String {
    serde_json::json!({
        "level": "WARN",
        "msg": "unauthorized",
        "reason": d.reason.as_str(),
        "detail": d.detail,
        "request_id": request_id,
    })
    .to_string()
}

/// The one structured log line for an allowed request.
pub fn allow_log_line(v: &Verified, request_id: &str) -> String {
    serde_json::json!({
        "level": "INFO",
        "msg": "authorized",
        "tenant_id": v.tenant_id,
        "role": v.role,
        "sub": v.sub,
        "request_id": request_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_covers_the_stage() {
        assert_eq!(
            api_stage_resource("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42").as_deref(),
            Some("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*")
        );
        for bad in [
            "",
            "arn:aws:execute-api:us-east-1:123456789012:abc123",
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod",
            "arn:aws:lambda:us-east-1:123456789012:abc123/prod/GET/",
            "arn:aws:execute-api:us-east-1:1234:abc123/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:*/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x",
        ] {
            assert_eq!(api_stage_resource(bad), None, "{bad}");
        }
    }

    #[test]
    fn bearer() {
        assert_eq!(bearer_token("Bearer abc"), "abc");
        assert_eq!(bearer_token("bearer  abc "), "abc");
        assert_eq!(bearer_token("abc"), "abc");
    }
}
