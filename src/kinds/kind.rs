//! The kind trait ([`Kind`]) and what every kind's module shares: the desired and observed
//! shapes, the observation scope, the helpers. Re-exported by `kinds/mod.rs`, the registry.

use std::collections::BTreeSet;

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::aws::{Aws, AwsError};
use crate::plan::quotas::AccountFigures;
use crate::plan::ItemRules;
use crate::spec::desired::RenderEnv;
use crate::spec::template::TemplateError;
use crate::spec::{Diagnostic, Folder};
use crate::state::{Ids, Item, World};

/// The AWS service a kind calls: the engine gives each its own concurrency slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Iam,
    Cognito,
    Lambda,
    ApiGateway,
    CloudWatch,
}

/// What a kind's observation found: (address, instance, physical id) each; an empty id: the
/// instance has none of its own (a custom attribute).
pub type Observed = Vec<(String, Item, String)>;

/// Where a parent kind's observation hands out each of its instances as soon as it is known,
/// (address, instance, physical id): see [`ObserveScope::found`].
pub type FoundFn<'a> = &'a (dyn Fn(&str, &Item, &str) + Sync);

/// What a kind's observation reads by: the folder, the desired world, the session's scope, and
/// what the kinds listed earlier in [`KINDS`] read (a kind read per parent instance,
/// [`Kind::read_per`]: only that instance).
pub struct ObserveScope<'a> {
    pub folder: &'a Folder,
    /// The desired world (in a `--tenant` session only the named tenants' resources: see
    /// [`scope`]).
    pub desired: &'a World,
    /// The tenants a `--tenant` session names (empty: every tenant): only their resources are
    /// read.
    pub tenants: &'a [String],
    /// What an `adopt` session takes over besides what tenantctl manages.
    pub adopt: Adopt,
    /// What was read so far, and its ids.
    pub observed: &'a World,
    pub ids: &'a Ids,
    /// What the reads learn of the account on the way.
    pub account: &'a std::sync::Mutex<AccountNotes>,
    /// Set by the registry for a kind that others are read per instance of ([`Kind::read_per`]):
    /// where its observation hands out each instance once it is known ([`ObserveScope::found`]).
    pub on_found: Option<FoundFn<'a>>,
}

impl ObserveScope<'_> {
    /// A `--tenant` session: only the named tenants' resources are read.
    pub fn scoped(&self) -> bool {
        !self.tenants.is_empty()
    }

    /// Hands out an instance as soon as the observation knows it (before its observation ends),
    /// so the registry reads the kinds that live in it meanwhile ([`Kind::read_per`]). It must
    /// also be in what the observation returns; an error of the observation still fails the
    /// whole. Optional: what is returned but was not handed out has its children read at the end.
    pub fn found(&self, address: &str, item: &Item, id: &str) {
        if let Some(f) = self.on_found {
            f(address, item, id);
        }
    }

    /// Records what a read learnt of the account.
    pub fn note(&self, edit: impl FnOnce(&mut AccountNotes)) {
        edit(&mut self.account.lock().expect("account notes"));
    }
}

/// What an `adopt` session takes over: resources with contract names that lack tenantctl's
/// tags, which every other session leaves alone (and, for pools, refuses to shadow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Adopt {
    /// Not an `adopt` session.
    #[default]
    Nothing,
    /// `adopt --tenant`: the named tenants' roles and silo pools.
    Tenant,
    /// `adopt --platform`: the shared pool.
    Platform,
}

/// What observation learns of the account on the way.
#[derive(Debug, Clone, Default)]
pub struct AccountNotes {
    /// The account id seen in an ARN (a role's): a `--tenant` session then needs no STS call.
    pub account_id: Option<String>,
    /// The account's figures for the count quotas (see `plan::quotas`).
    pub figures: AccountFigures,
}

/// What a session read: the live world, the ids, and what was learnt of the account.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub world: World,
    pub ids: Ids,
    pub account: AccountNotes,
}

/// What the kinds build their desired instances from besides the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredCtx {
    /// The AWS values templates and names need.
    pub env: RenderEnv,
    /// The base64 SHA-256 of the authorizer function's code zip (None: not read, or no such
    /// file).
    pub code_sha256: Option<String>,
    /// The emulator's endpoint in emulator mode (see [`lambda_function::jwks_endpoint`]): the
    /// authorizer then fetches keys from it, not from the issuers.
    pub jwks_endpoint: Option<String>,
}

impl DesiredCtx {
    /// Only the AWS values (no code hash, no emulator endpoint).
    pub fn of(env: RenderEnv) -> Self {
        DesiredCtx { env, code_sha256: None, jwks_endpoint: None }
    }
}

/// A desired instance that could not be built: a policy template that does not render.
#[derive(Debug, thiserror::Error)]
#[error("rendering `{policy}`: {source}")]
pub struct DesiredError {
    pub policy: String,
    #[source]
    pub source: TemplateError,
}

/// A kind's desired instances, by address.
pub type Desired = Result<Vec<(String, Item)>, DesiredError>;

/// A resource kind of the kind model (see the module docs).
pub trait Kind: ItemRules {
    /// The service its create, update and delete call.
    fn service(&self) -> Service {
        Service::Cognito
    }

    /// Platform-wide, no tenant's (the authorizer wiring): a `--tenant` session does not read
    /// it (unless [`Kind::read_when_scoped`]), and `destroy` never changes it.
    fn platform_wide(&self) -> bool {
        false
    }

    /// Platform-wide, but its instance names every tenant (the authorizer's function and its
    /// configuration): a `--tenant` session reads and plans it too, so that onboarding a tenant
    /// updates it in the same run, and `destroy --tenant` updates it (the tenant leaves it).
    /// Default: no.
    fn names_every_tenant(&self) -> bool {
        false
    }

    /// Whether a `--tenant` session reads it: what is not platform-wide, and what
    /// [`Kind::names_every_tenant`].
    fn read_when_scoped(&self) -> bool {
        !self.platform_wide() || self.names_every_tenant()
    }

    /// A `--tenant` session, once observed: settles a desired instance of this kind that names
    /// other tenants' resources (which the session did not read, so their ids are unknown)
    /// from its live instance (`live`; None: missing). `desired` is the session's desired
    /// world (what it may create), `ids` what it read. Default: nothing to settle.
    fn settle_scoped(&self, item: &mut Item, live: Option<&Item>, desired: &World, ids: &Ids) {
        let _ = (item, live, desired, ids);
    }

    /// The desired instances, by address, from the folder, the context and the desired world
    /// built so far by the kinds listed earlier in [`KINDS`] (the pools a pool's domain
    /// belongs to).
    fn desired(&self, folder: &Folder, ctx: &DesiredCtx, world: &World) -> Desired;

    /// The kind in whose instances this kind's instances live, and which they are read per
    /// (its parent kind, e.g. `user_pool` for a pool's groups), or None (default): then it is
    /// observed once, in registry order, after the kinds listed before it.
    ///
    /// A kind read per parent is observed once per parent instance, as soon as the parent's
    /// observation hands it out ([`ObserveScope::found`]), while the parent's observation goes on
    /// and alongside the other kinds read per that parent (the limiter paces each category), a
    /// few parent instances at a time. Its scope's `observed` and `ids` then hold only that
    /// instance: such a kind reads nothing else observed. Its observation must make the same
    /// calls, per parent instance, as over all of them at once (`--tenant` sessions' call
    /// counts are fixed). Listed in [`KINDS`] after its parent.
    fn read_per(&self) -> Option<&'static str> {
        None
    }

    /// The live instances, by address, with their physical ids (see [`ObserveScope`]).
    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        // Default: nothing of its own: read with another kind (a role's policies with the role,
        // the REST API with its authorizers, a usage plan's stage with the plan).
        let _ = (aws, scope);
        async { Ok(Vec::new()) }.boxed()
    }

    /// Whether a `--tenant` session of `tenants` keeps this desired instance (see [`scope`]).
    /// Default: the instance is one of theirs.
    fn in_scope(&self, address: &str, item: &Item, desired: &World, tenants: &BTreeSet<&str>) -> bool {
        let _ = (address, desired);
        item.tenant.as_deref().is_some_and(|t| tenants.contains(t))
    }

    /// Whether a live instance shows that its tenant exists in AWS (`destroy --tenant` of a
    /// tenant the folder no longer declares). Default: no.
    fn shows_tenant(&self) -> bool {
        false
    }

    /// The instance's row in `tenantctl inventory` (None: not listed): by default its kind,
    /// address, name, tenant and id.
    fn inventory(&self, address: &str, item: &Item, ids: &Ids, ctx: &crate::aws::Ctx) -> Option<serde_json::Value> {
        let _ = ctx;
        // An id that is an ARN (a function's, a role's) shows as `arn`, as the contract's
        // "ARN or id" reads.
        let id = ids.id(address);
        let key = if id.is_some_and(|i| i.starts_with("arn:")) { "arn" } else { "id" };
        let mut row =
            serde_json::json!({"resource": item.kind, "address": address, "name": item.name, "tenant": item.tenant});
        row[key] = serde_json::json!(id);
        Some(row)
    }

    /// What this kind's part of the folder must satisfy beyond the folder-wide rules
    /// (`spec::validate`): its problems, each at its file, line and column. `check::validate`
    /// runs it for every kind before anything reads AWS.
    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        let _ = folder;
        Vec::new()
    }

    /// Creates the instance; returns its physical id (empty: it has none of its own). `parent` is
    /// the id of `item.parent`.
    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>>;

    /// Makes the live instance (`id`) match `item`.
    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>>;

    /// Deletes the live instance (`id`); gone already is fine.
    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        live: &'a Item,
        id: &'a str,
        parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
}

/// A field change (`before` live, `after` desired), for kinds that compare field by field.
pub(crate) fn fc(
    path: impl Into<String>,
    before: serde_json::Value,
    after: serde_json::Value,
) -> crate::plan::FieldChange {
    crate::plan::FieldChange { path: path.into(), before, after }
}

/// An optional string as a field value (`null` when absent).
pub(crate) fn opt_json(v: Option<&String>) -> serde_json::Value {
    v.map_or(serde_json::Value::Null, |s| serde_json::json!(s))
}

/// An item's state as its kind's typed struct.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, AwsError> {
    serde_json::from_value(item.state.clone())
        .map_err(|e| AwsError::Other(format!("{} `{}`: unexpected state: {e}", item.kind, item.name)))
}
