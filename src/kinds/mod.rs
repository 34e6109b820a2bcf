//! The kind model: each resource kind in one module, listed in one registry ([`KINDS`]).
//!
//! A kind's module holds everything about it: how its desired instances are derived from the
//! folder ([`Kind::desired`]), how live ones are read ([`Kind::observe`], by pages), how a
//! desired and a live instance compare and which changes AWS cannot make in place
//! ([`ItemRules`], pure, used by `plan`), which tenant an instance belongs to and what it lives
//! in (`Item::tenant`, `Item::parent`), and how it is created, updated and deleted. Its
//! instances live in `World::items`; `plan`, the engine, `destroy`, `--prune`, `--tenant`
//! and `inventory` handle them through this registry, so adding a kind touches three files:
//! its module (which also declares its checks, [`Kind::validate`], and its ordering,
//! [`ItemRules::order`]), this file (its `pub mod` line and its line in [`KINDS`]), and its
//! fields in the spec model (`spec/model.rs`). The trait and what the kinds share are in
//! `kind.rs`; what goes through every kind (desired, observe, execute) in `registry.rs`.
//!
//! The authorizer wiring is here: the REST API it guards (`rest_api`, a data source: read,
//! never changed), the function (`lambda_function`), its invoke permission
//! (`lambda_permission`), the authorizer, the methods' authorization (`method_auth`) and the
//! stage deployment (`stage_deployment`, planned by [`ItemRules::finish`] after the others).
//!
//! Every resource tenantctl manages is here: the pools (`user_pool`) and what lives in them
//! (`custom_attribute`, `group`, `resource_server`, `app_client`, `pool_domain`), the IAM
//! roles (`iam_role`, `role_policy`) and the authorizer wiring. `World` has no typed place
//! for any of them, and the engine executes only [`Op::Item`](crate::plan::Op::Item).

mod kind;
pub(crate) use kind::{fc, opt_json, typed};
pub use kind::{
    AccountNotes, Adopt, Desired, DesiredCtx, DesiredError, FoundFn, Kind, Observation, ObserveScope, Observed, Service,
};

pub mod api_key;
pub mod api_key_source;
pub mod app_client;
pub mod authorizer;
pub mod custom_attribute;
pub mod group;
pub mod iam_role;
pub mod identity_provider;
pub mod lambda_function;
pub mod lambda_permission;
pub mod method_auth;
pub mod pool_alarm;
pub mod pool_domain;
pub mod resource_server;
pub mod rest_api;
pub mod role_policy;
pub mod stage_deployment;
#[cfg(test)]
pub(crate) mod test_support;
pub mod trigger_permission;
pub mod usage_plan;
pub mod usage_plan_key;
pub mod usage_plan_stage;
pub mod user_pool;

mod registry;
pub use registry::{desired, execute, observe, of, rules, scope, settle_scoped, shows_tenant};

/// The registry: every kind of the kind model, in observation order (a kind whose instances
/// live in another kind's after that kind; the tiers' kinds after the REST API, whose id
/// names them; a kind's desired instances after those of the kinds they name, e.g. the
/// authorizer after the pools it trusts); a kind read per instance of another
/// ([`Kind::read_per`], what lives in a pool) is read with it, per instance, as soon as each is
/// known, and alongside the other kinds read per that parent. It is also the plan's display
/// order where dependencies leave a choice ([`crate::plan::order::sort`]): the roles and the tiers' plans and keys first, then the
/// pools and what lives in them, then the authorizer wiring.
pub static KINDS: &[&dyn Kind] = &[
    &rest_api::RestApi,
    &iam_role::IamRole,
    &usage_plan::UsagePlan,
    &api_key::ApiKey,
    &role_policy::RolePolicy,
    &usage_plan_key::UsagePlanKey,
    &user_pool::UserPool,
    &custom_attribute::CustomAttribute,
    &identity_provider::IdentityProvider,
    &pool_domain::PoolDomain,
    &resource_server::ResourceServer,
    &app_client::AppClient,
    &group::Group,
    &lambda_function::LambdaFunction,
    &authorizer::Authorizer,
    &pool_alarm::PoolAlarm,
    &lambda_permission::LambdaPermission,
    &trigger_permission::TriggerPermission,
    &method_auth::MethodAuthKind,
    &api_key_source::ApiKeySource,
    &stage_deployment::StageDeployment,
    &usage_plan_stage::UsagePlanStage,
];
