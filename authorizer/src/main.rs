//! The Lambda: `provided.al2023` custom runtime, packaged as `bootstrap` by scripts/build-authorizer,
//! with its configuration `tenantctl-authorizer.json` beside it (see `config`). Without a valid
//! configuration it stays up and answers every request `Unauthorized` (fails closed, no crash loop).

use std::sync::Arc;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use tenantctl_authorizer::apigw::{allow_log_line, deny_log_line, INIT_FETCH_BUDGET};
use tenantctl_authorizer::{
    decide_until, fetch_deadline, AuthorizerResponse, Config, Decision, HttpJwksFetcher, SystemClock,
    TokenAuthorizerEvent, Verifier,
};

fn unauthorized() -> Diagnostic {
    // API Gateway answers 401 when a TOKEN authorizer fails with exactly "Unauthorized".
    Diagnostic { error_type: "Unauthorized".into(), error_message: "Unauthorized".into() }
}

/// Any error but `Unauthorized`: API Gateway answers 500 and caches nothing.
fn failure() -> Diagnostic {
    Diagnostic { error_type: "AuthorizerError".into(), error_message: "the authorizer cannot decide now".into() }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Once per cold start: the environment's small variables and tenantctl-authorizer.json
    // beside bootstrap (no fallback to the environment for the file's settings).
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "{}",
                serde_json::json!({"level": "ERROR", "msg": "invalid configuration", "detail": e.to_string()})
            );
            // Fail closed without exiting (an exit would crash-loop the container): every
            // request is Unauthorized (401), never Allow.
            return lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
                eprintln!(
                    "{}",
                    serde_json::json!({"level": "ERROR", "msg": "unauthorized", "reason": "invalid_configuration",
                                       "request_id": event.context.request_id})
                );
                Err::<serde_json::Value, Diagnostic>(unauthorized())
            }))
            .await;
        }
    };
    let verifier = Arc::new(Verifier::new(config, Arc::new(HttpJwksFetcher::default()), Arc::new(SystemClock)));
    // Cold start: the tenants' API keys are read now, not on the first request. A failure is
    // logged and remembered (requests answer 500 until a read succeeds).
    if let Some(keys) = verifier.api_keys() {
        if let Err(e) = keys.load(Some(std::time::Instant::now() + INIT_FETCH_BUDGET)) {
            eprintln!(
                "{}",
                serde_json::json!({"level": "ERROR", "msg": "api keys unavailable at init", "detail": e.0})
            );
        }
    }
    lambda_runtime::run(service_fn(move |event: LambdaEvent<TokenAuthorizerEvent>| {
        let verifier = verifier.clone();
        async move {
            let request_id = event.context.request_id.clone();
            // The key set fetch and the key reads share one deadline, before the function's.
            let deadline = fetch_deadline(event.context.deadline);
            // A JWKS fetch blocks: keep it off the runtime's thread.
            let decision =
                tokio::task::spawn_blocking(move || decide_until(&verifier, &event.payload, Some(deadline))).await;
            match decision {
                Ok(Decision::Allow(resp, v)) => {
                    eprintln!("{}", allow_log_line(&v, &request_id));
                    Ok::<AuthorizerResponse, Diagnostic>(resp)
                }
                // An authentic token failing its tenant or role check: explicit Deny (403).
                Ok(Decision::Deny(resp, deny)) => {
                    eprintln!("{}", deny_log_line(&deny, &request_id));
                    Ok(resp)
                }
                // Authentication failed: 401.
                Ok(Decision::Unauthorized(deny)) => {
                    eprintln!("{}", deny_log_line(&deny, &request_id));
                    Err(unauthorized())
                }
                // No decision now (the key store fails): 500, which API Gateway does not cache.
                Ok(Decision::Error(deny)) => {
                    eprintln!("{}", deny_log_line(&deny, &request_id));
                    Err(failure())
                }
                Err(join) => {
                    eprintln!("{}", serde_json::json!({"level": "ERROR", "msg": "unauthorized", "reason": "internal", "detail": join.to_string(), "request_id": request_id}));
                    Err(unauthorized())
                }
            }
        }
    }))
    .await
}
