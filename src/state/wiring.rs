//! Names and addresses of the authorizer wiring (function, invoke permission, authorizer,
//! methods, stage) and of the tiers' usage plans, shared by the desired side (`spec::desired`),
//! the kinds, the plan and the adapters.

/// Statement id of the invoke permission tenantctl manages.
pub const STATEMENT_ID: &str = "tenantctl-apigateway-invoke";
pub const APIGW_PRINCIPAL: &str = "apigateway.amazonaws.com";
pub const INVOKE_ACTION: &str = "lambda:InvokeFunction";
/// Desired-methods key meaning "every method of the REST API" (`methods: []`).
pub const ALL_METHODS: &str = "*";
/// The authorizer function's handler (custom runtime: the `bootstrap` executable).
pub const HANDLER: &str = "bootstrap";
/// Lambda's limit on the total size of a function's environment variables.
pub const MAX_ENV_BYTES: usize = 4096;
/// `TENANTCTL_ROLES` needs a precedence for every role; Cognito ranks a group without one
/// after every group that has one.
pub const DEFAULT_ROLE_PRECEDENCE: i32 = i32::MAX;

/// `identityValidationExpression` of a TOKEN authorizer: API Gateway answers 401 without
/// invoking the function unless the header is `Bearer ` and a JWT's three base64url parts.
pub const BEARER_JWT_EXPRESSION: &str = r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$";
/// The value a stage's `deployment_id` is planned to take: a deployment apply creates.
pub const NEW_DEPLOYMENT: &str = "(new deployment)";

/// The function; its id in [`super::Ids`] is its ARN.
pub const FUNCTION_ADDRESS: &str = "platform/authorizer/function";
pub const PERMISSION_ADDRESS: &str = "platform/authorizer/permission";
/// The authorizer; its id is the API Gateway authorizer id.
pub const AUTHORIZER_ADDRESS: &str = "platform/authorizer";
/// The REST API the authorizer guards: read, never created or deleted by tenantctl. Its id
/// is the REST API id.
pub const REST_API_ADDRESS: &str = "platform/rest_api";

pub fn stage_address(stage: &str) -> String {
    format!("platform/authorizer/stage/{stage}")
}

/// The method authorization of `"METHOD /path"`; its id is the method's resource id.
pub fn method_address(key: &str) -> String {
    format!("platform/authorizer/method/{key}")
}

/// `"GET /orders"`: the key of a method in `World::methods`.
pub fn method_key(method: &str, path: &str) -> String {
    format!("{} {}", method.to_ascii_uppercase(), path)
}

/// The address of an app client (its id is the client id).
pub fn client_address(pool_address: &str, client: &str) -> String {
    format!("{pool_address}/app_client/{client}")
}

/// A tier's usage plan: `platform/usage_plan/<tier>` (the `usage_plan` kind; its stage, the
/// `usage_plan_stage` kind, lives in it).
pub fn usage_plan_address(tier: &str) -> String {
    format!("platform/usage_plan/{tier}")
}
