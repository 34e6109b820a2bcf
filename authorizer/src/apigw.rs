//! The API Gateway TOKEN authorizer event and response, and the handler logic.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::ScopedMethod;
use crate::verify::{Deny, DenyClass, DenyReason, Verified, Verifier};

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

/// `Debug` shows no API key value (see [`AuthorizerResponse::usage_identifier_key`]).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub principal_id: String,
    pub policy_document: PolicyDocument,
    /// Present on `Allow` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<AuthorizerContext>,
    /// Contract §1.6: the tenant's API key value (Allow only, with usage plans: the file's `usagePlans`):
    /// API Gateway meters the request against the key's usage plan (`apiKeySource`
    /// `AUTHORIZER`). Never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_identifier_key: Option<String>,
}

impl std::fmt::Debug for AuthorizerResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizerResponse")
            .field("principal_id", &self.principal_id)
            .field("policy_document", &self.policy_document)
            .field("context", &self.context)
            .field("usage_identifier_key", &self.usage_identifier_key.as_ref().map(|_| "** redacted **"))
            .finish()
    }
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
    api_stage(method_arn).map(|(_, r)| r)
}

/// The partition of `method_arn` and [`api_stage_resource`].
pub fn api_stage(method_arn: &str) -> Option<(&str, String)> {
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
    Some((partition, format!("arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/*/*")))
}

/// The verb and the path (without its leading `/`) of a methodArn checked by [`api_stage`].
fn request_method(method_arn: &str) -> (&str, &str) {
    let rest = method_arn.splitn(6, ':').nth(5).unwrap_or("");
    let mut p = rest.splitn(4, '/').skip(2);
    (p.next().unwrap_or(""), p.next().unwrap_or(""))
}

/// Strips an optional `Bearer ` prefix (any case).
pub fn bearer_token(header: &str) -> &str {
    let h = header.trim();
    match h.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => h[7..].trim_start(),
        _ => h,
    }
}

fn policy(principal_id: String, effect: &str, resource: String) -> (String, PolicyDocument) {
    (
        principal_id,
        PolicyDocument {
            version: "2012-10-17".into(),
            statement: vec![Statement {
                action: "execute-api:Invoke".into(),
                effect: effect.into(),
                resource: vec![resource],
            }],
        },
    )
}

/// Builds the Allow response for a verified token.
pub fn allow(v: &Verified, resource: String) -> AuthorizerResponse {
    allow_except(v, resource, Vec::new())
}

/// The Allow response for the API stage `resource`, with an explicit Deny of `denied` (the
/// execute-api resources of the scoped methods the token lacks a scope for) when not empty.
pub fn allow_except(v: &Verified, resource: String, denied: Vec<String>) -> AuthorizerResponse {
    let (principal_id, mut policy_document) = policy(v.sub.clone(), "Allow", resource);
    if !denied.is_empty() {
        policy_document.statement.push(Statement {
            action: "execute-api:Invoke".into(),
            effect: "Deny".into(),
            resource: denied,
        });
    }
    AuthorizerResponse {
        principal_id,
        policy_document,
        context: Some(AuthorizerContext {
            tenant_id: v.tenant_id.clone(),
            role: v.role.clone(),
            role_arn: v.role_arn.clone(),
            sub: v.sub.clone(),
        }),
        usage_identifier_key: None,
    }
}

/// The explicit Deny for an authentic token (on the same API-stage wildcard an Allow would
/// cover, so the cached answer is the same for every method), no context.
pub fn deny_policy(principal_id: &str, resource: String) -> AuthorizerResponse {
    let (principal_id, policy_document) = policy(principal_id.to_string(), "Deny", resource);
    AuthorizerResponse { principal_id, policy_document, context: None, usage_identifier_key: None }
}

/// What the Lambda answers for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An Allow policy with the tenant context.
    Allow(AuthorizerResponse, Verified),
    /// An authentic token whose tenant or role check failed ([`DenyClass::Forbidden`]): an
    /// explicit Deny policy; API Gateway answers 403 and caches it.
    Deny(AuthorizerResponse, Deny),
    /// Authentication failed ([`DenyClass::Unauthorized`]): the Lambda fails with the error
    /// `Unauthorized`; API Gateway answers 401.
    Unauthorized(Deny),
    /// No decision now ([`DenyClass::Error`]: the tenants' API keys cannot be read): the
    /// Lambda fails with another error; API Gateway answers 500 and caches nothing.
    Error(Deny),
}

/// Time kept back from the invocation's deadline for answering and logging.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(500);
/// The deadline of the fetches during init (cold start), well within Lambda's 10 s init phase.
pub const INIT_FETCH_BUDGET: Duration = Duration::from_secs(4);

/// The deadline the fetches of one invocation share: Lambda's deadline (milliseconds since the
/// Unix epoch, `Lambda-Runtime-Deadline-Ms`) less [`ANSWER_MARGIN`].
pub fn fetch_deadline(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(ANSWER_MARGIN)
}

/// The whole decision for one event.
pub fn decide(verifier: &Verifier, event: &TokenAuthorizerEvent) -> Decision {
    decide_until(verifier, event, None)
}

/// [`decide`], the key set fetch and the key reads sharing `deadline` (the invocation's).
pub fn decide_until(verifier: &Verifier, event: &TokenAuthorizerEvent, deadline: Option<Instant>) -> Decision {
    let resource = match stage_resource(verifier, event) {
        Ok(r) => r,
        Err(d) => return Decision::Unauthorized(d),
    };
    match verifier.verify_until(bearer_token(&event.authorization_token), deadline) {
        Ok(v) => {
            // The answer is cached for the token and every method of the stage: it denies
            // each scoped method the token holds none of the scopes of.
            let scoped = &verifier.config().method_scopes;
            let lacking: Vec<&ScopedMethod> =
                scoped.iter().filter(|m| !m.scopes.iter().any(|s| v.scopes.contains(s))).collect();
            let stage = resource.strip_suffix("*/*").unwrap_or(&resource);
            let scoped_off = lacking.iter().map(|m| format!("{stage}{}", m.resource_suffix())).collect();
            let mut resp = allow_except(&v, resource.clone(), scoped_off);
            if let Some(keys) = verifier.api_keys() {
                // Not a Deny: API Gateway would cache it for the token.
                let failed =
                    |reason, detail: String| Decision::Error(Deny { reason, detail, sub: Some(v.sub.clone()) });
                match keys.key_until(&v.tenant_id, deadline) {
                    Ok(Some(key)) => resp.usage_identifier_key = Some(key),
                    Ok(None) => {
                        return failed(
                            DenyReason::NoApiKey,
                            format!("tenant {} has no API key in a tier plan", v.tenant_id),
                        )
                    }
                    Err(e) => return failed(DenyReason::ApiKeysUnavailable, e.0),
                }
            }
            let (verb, path) = request_method(&event.method_arn);
            if let Some(m) = lacking.iter().find(|m| m.matches(verb, path)) {
                let detail = format!("{} {} needs one of the scopes {:?}", m.method, m.path, m.scopes);
                let d = Deny { reason: DenyReason::MissingScope, detail, sub: Some(v.sub.clone()) };
                return Decision::Deny(resp, d);
            }
            Decision::Allow(resp, v)
        }
        Err(d) => match (d.class(), d.sub.as_deref()) {
            (DenyClass::Forbidden, Some(sub)) => Decision::Deny(deny_policy(sub, resource), d),
            _ => Decision::Unauthorized(d),
        },
    }
}

/// The decision as a `Result`: `Ok` is Allow; `Err` is either class of denial (see
/// [`Deny::class`] and [`decide`]).
pub fn authorize(verifier: &Verifier, event: &TokenAuthorizerEvent) -> Result<(AuthorizerResponse, Verified), Deny> {
    match decide(verifier, event) {
        Decision::Allow(resp, v) => Ok((resp, v)),
        Decision::Deny(_, d) | Decision::Unauthorized(d) | Decision::Error(d) => Err(d),
    }
}

/// The API-stage resource of the event's methodArn, which must be in the partition of the
/// configured region (the role ARN in the context is built in that partition too).
fn stage_resource(verifier: &Verifier, event: &TokenAuthorizerEvent) -> Result<String, Deny> {
    if event.type_ != "TOKEN" {
        return Err(Deny {
            reason: DenyReason::BadEvent,
            detail: format!("type {:?}", truncate(&event.type_)),
            sub: None,
        });
    }
    let bad_arn = || Deny {
        reason: DenyReason::BadMethodArn,
        detail: format!("methodArn {:?}", truncate(&event.method_arn)),
        sub: None,
    };
    let (partition, resource) = api_stage(&event.method_arn).ok_or_else(bad_arn)?;
    if partition != verifier.config().partition {
        return Err(bad_arn());
    }
    Ok(resource)
}

fn truncate(s: &str) -> &str {
    let mut cut = s.len().min(120);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// The one structured log line for a denial (no token, no claims beyond the detail): `msg` is
/// `unauthorized` (401), `denied` (Deny policy, 403) or `error` (500, level `ERROR`), `class`
/// likewise.
pub fn deny_log_line(d: &Deny, request_id: &str) -> String {
    let (level, msg) = match d.class() {
        DenyClass::Unauthorized => ("WARN", "unauthorized"),
        DenyClass::Forbidden => ("WARN", "denied"),
        DenyClass::Error => ("ERROR", "error"),
    };
    serde_json::json!({
        "level": level,
        "msg": msg,
        "class": d.class().as_str(),
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
