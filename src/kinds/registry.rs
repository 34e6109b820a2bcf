//! What goes through every kind of the registry ([`KINDS`], in `kinds/mod.rs`): their desired
//! instances, their observation, the execution of a change by its kind. Apart from the kinds'
//! trait (`kinds/kind.rs`): a kind's module imports the trait, never the list.

use std::collections::BTreeSet;

use futures::channel::mpsc;
use futures::stream::{StreamExt, TryStreamExt};
use tokio::sync::Mutex;

use super::*;
use crate::aws::{Aws, AwsError};
use crate::plan::{ItemRules, Op};
use crate::spec::desired::RenderEnv;
use crate::spec::Folder;
use crate::state::refs::resolve_value;
use crate::state::{Ids, Item, World};

/// The kind of this name.
pub fn of(kind: &str) -> Option<&'static dyn Kind> {
    KINDS.iter().copied().find(|k| k.resource().as_str() == kind)
}

/// Every kind's planning rules (for `plan::plan_with`).
pub fn rules() -> Vec<&'static dyn ItemRules> {
    KINDS.iter().map(|&k| k as &dyn ItemRules).collect()
}

impl DesiredCtx {
    /// For a session: the code hash of the folder's authorizer function, and the emulator's
    /// endpoint when `TENANTCTL_EMULATOR=1` (`endpoint` being the one tenantctl talks to); an
    /// error names a wrong `TENANTCTL_EMULATOR` (read only when the folder has an authorizer).
    pub fn for_session(folder: &Folder, env: RenderEnv, endpoint: Option<&str>) -> Result<Self, String> {
        let Some(authorizer) = &folder.platform.value.authorizer else { return Ok(DesiredCtx::of(env)) };
        let code = authorizer.function.as_ref();
        let code_sha256 = code.and_then(|f| lambda_function::code_sha256(&folder.root.join(&f.code)));
        let emulator = std::env::var(lambda_function::EMULATOR_ENV).ok();
        let jwks_endpoint = lambda_function::jwks_endpoint(emulator.as_deref(), endpoint)?;
        Ok(DesiredCtx { env, code_sha256, jwks_endpoint })
    }
}

/// The desired world: every kind's desired instances, in registry order.
pub fn desired(folder: &Folder, ctx: &DesiredCtx) -> Result<World, DesiredError> {
    let mut world = World::default();
    for k in KINDS {
        let items = k.desired(folder, ctx, &world)?;
        world.items.extend(items);
    }
    Ok(world)
}

/// Reads every kind's live instances, in registry order (a `--tenant` session: only the named
/// tenants', and of what is platform-wide only what [`Kind::read_when_scoped`]). A kind read
/// per parent instance ([`Kind::read_per`]) is read with its parent kind: per instance, as
/// soon as the parent's observation hands it out ([`observe_family`]).
pub async fn observe(
    aws: &Aws,
    folder: &Folder,
    desired: &World,
    tenants: &[String],
    adopt: Adopt,
) -> Result<Observation, AwsError> {
    let account = std::sync::Mutex::new(AccountNotes::default());
    let mut world = World::default();
    let mut ids = Ids::default();
    let read: Vec<&dyn Kind> = KINDS.iter().copied().filter(|k| tenants.is_empty() || k.read_when_scoped()).collect();
    for &k in read.iter().filter(|k| k.read_per().is_none()) {
        let children: Vec<&dyn Kind> =
            read.iter().copied().filter(|c| c.read_per() == Some(k.resource().as_str())).collect();
        let scope = ObserveScope {
            folder,
            desired,
            tenants,
            adopt,
            observed: &world,
            ids: &ids,
            account: &account,
            on_found: None,
        };
        let found = observe_family(aws, k, &children, &scope).await?;
        for (address, item, id) in found.into_iter().flatten() {
            if !id.is_empty() {
                ids.set(address.clone(), id);
            }
            world.items.insert(address, item);
        }
    }
    Ok(Observation { world, ids, account: account.into_inner().expect("account notes") })
}

/// How many parent instances a kind read per parent reads at a time. The limiter paces each
/// category (and, for a pool's children, each pool's own buckets); this only keeps enough
/// requests waiting for the categories' rates to be the bound.
const PER_PARENT_READS: usize = 8;

/// One parent instance handed out: (address, instance, physical id).
type FoundOne = (String, Item, String);

/// `kind`'s observation, then that of each of `children` (the kinds read per instance of it,
/// [`Kind::read_per`]), in registry order. Each child is read per parent instance as soon as
/// the parent's observation hands it out ([`ObserveScope::found`]), or, when it did not, once
/// the parent's observation returned it; the children's reads run alongside the parent's and
/// each other's. What comes out is what reading them one kind after the other over every
/// parent instance would give: a child's instances by parent address, only under the parent
/// instances the observation returned; an error of any fails the whole.
async fn observe_family(
    aws: &Aws,
    kind: &dyn Kind,
    children: &[&dyn Kind],
    scope: &ObserveScope<'_>,
) -> Result<Vec<Observed>, AwsError> {
    if children.is_empty() {
        return Ok(vec![kind.observe(aws, scope).await?]);
    }
    let (senders, receivers): (Vec<_>, Vec<_>) = children.iter().map(|_| mpsc::unbounded::<FoundOne>()).unzip();
    // None once the parent's observation returned: the children's streams end then.
    let senders = std::sync::Mutex::new(Some(senders));
    let handed = std::sync::Mutex::new(BTreeSet::<String>::new());
    let hand_out = |address: &str, item: &Item, id: &str| {
        if !handed.lock().expect("handed out").insert(address.to_string()) {
            return;
        }
        if let Some(senders) = senders.lock().expect("senders").as_ref() {
            for tx in senders {
                // A closed receiver: its stream failed, and so does the observation.
                let _ = tx.unbounded_send((address.to_string(), item.clone(), id.to_string()));
            }
        }
    };
    let parent = async {
        let found = kind.observe(aws, &ObserveScope { on_found: Some(&hand_out), ..*scope }).await?;
        // What was not handed out on the way (a pool adopted at the end): its children now.
        for (address, item, id) in &found {
            hand_out(address, item, id);
        }
        senders.lock().expect("senders").take();
        Ok::<_, AwsError>(found)
    };
    let reads = children.iter().zip(receivers).map(|(&child, rx)| {
        rx.map(move |(address, item, id): FoundOne| async move {
            let mut observed = World::default();
            observed.items.insert(address.clone(), item);
            let mut ids = Ids::default();
            if !id.is_empty() {
                ids.set(address.clone(), id);
            }
            let one = ObserveScope { observed: &observed, ids: &ids, on_found: None, ..*scope };
            Ok::<_, AwsError>((address, child.observe(aws, &one).await?))
        })
        .buffer_unordered(PER_PARENT_READS)
        .try_collect::<Vec<(String, Observed)>>()
    });
    let (found, per_child) = futures::try_join!(parent, futures::future::try_join_all(reads))?;
    let returned: BTreeSet<&str> = found.iter().map(|(address, ..)| address.as_str()).collect();
    let children_found: Vec<Observed> = per_child
        .into_iter()
        .map(|mut per_parent| {
            per_parent.retain(|(parent, _)| returned.contains(parent.as_str()));
            per_parent.sort_by(|a, b| a.0.cmp(&b.0));
            per_parent.into_iter().flat_map(|(_, items)| items).collect()
        })
        .collect();
    Ok(std::iter::once(found).chain(children_found).collect())
}

/// Keeps only what a `--tenant` session of `tenants` plans: each kind says what it keeps
/// ([`Kind::in_scope`]).
pub fn scope(world: &mut World, tenants: &[String]) {
    let keep: BTreeSet<&str> = tenants.iter().map(String::as_str).collect();
    let kept: BTreeSet<String> = world
        .items
        .iter()
        .filter(|(address, i)| of(&i.kind).is_some_and(|k| k.in_scope(address, i, world, &keep)))
        .map(|(address, _)| address.clone())
        .collect();
    world.items.retain(|address, _| kept.contains(address));
}

/// A `--tenant` session, once observed: each desired instance settled by its kind
/// ([`Kind::settle_scoped`]) with its live instance, the ids read, and what the session plans
/// (the desired instances whose kind a `--tenant` plan compares, [`ItemRules::scoped_item`]).
pub fn settle_scoped(desired: &mut World, observed: &World, ids: &Ids) {
    let planned = World {
        items: desired
            .items
            .iter()
            .filter(|(_, i)| of(&i.kind).is_some_and(|k| k.scoped_item(i)))
            .map(|(a, i)| (a.clone(), i.clone()))
            .collect(),
    };
    for (address, item) in desired.items.iter_mut() {
        if let Some(kind) = of(&item.kind) {
            kind.settle_scoped(item, observed.items.get(address), &planned, ids);
        }
    }
}

/// Whether `observed` shows that `tenant` exists in AWS ([`Kind::shows_tenant`]).
pub fn shows_tenant(observed: &World, tenant: &str) -> bool {
    observed
        .items
        .values()
        .any(|i| i.tenant.as_deref() == Some(tenant) && of(&i.kind).is_some_and(|k| k.shows_tenant()))
}

/// Executes an [`Op::Item`] with its kind, keeping `ids` current.
pub async fn execute(aws: &Aws, op: &Op, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    let Op::Item { address, desired, live, replace, .. } = op;
    let item = desired.as_ref().or(live.as_ref()).ok_or_else(|| AwsError::Other(format!("{address}: empty change")))?;
    let kind = of(&item.kind).ok_or_else(|| AwsError::Other(format!("{address}: unknown kind `{}`", item.kind)))?;
    let parent = match &item.parent {
        Some(p) => Some(ids.lock().await.id(p).map(str::to_string).ok_or_else(|| {
            AwsError::Other(format!("{address}: the id of `{p}`, which it lives in, is not known (was it created?)"))
        })?),
        None => None,
    };
    let parent = parent.as_deref();
    let id = ids.lock().await.id(address).map(str::to_string);
    let missing = || AwsError::Other(format!("{address}: its id is not known (observe first)"));
    // References in the desired state, resolved with the ids known now (an earlier change
    // of this apply may have created what they name).
    let desired = match desired {
        Some(d) => {
            let (state, known) = resolve_value(&d.state, &*ids.lock().await);
            if !known {
                return Err(AwsError::Other(format!(
                    "{address}: it names an id that is not known (a resource that was not created): {state}"
                )));
            }
            Some(Item { state, ..d.clone() })
        }
        None => None,
    };
    let desired = &desired;
    match (desired, live) {
        (Some(d), None) => {
            let id = kind.create(aws, d, parent).await?;
            // An empty id: the kind's instances have none of their own (a custom attribute).
            if !id.is_empty() {
                ids.lock().await.set(address.clone(), id);
            }
        }
        (Some(d), Some(o)) if *replace => {
            kind.delete(aws, o, id.as_deref().ok_or_else(missing)?, parent).await?;
            ids.lock().await.remove(address);
            let id = kind.create(aws, d, parent).await?;
            ids.lock().await.set(address.clone(), id);
        }
        (Some(d), Some(o)) => kind.update(aws, d, o, id.as_deref().ok_or_else(missing)?, parent).await?,
        (None, Some(o)) => {
            kind.delete(aws, o, id.as_deref().ok_or_else(missing)?, parent).await?;
            ids.lock().await.forget(address);
        }
        (None, None) => unreachable!("checked above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::future::BoxFuture;
    use futures::FutureExt;

    use super::*;
    use crate::plan::Resource;

    /// The REST API's id is read first (by the `rest_api` kind): the tiers' kinds name their
    /// stages by it (else a converged folder plans to re-create every usage plan's stage:
    /// tests/tiers.rs), and the authorizer reads its authorizers in it. The authorizer's
    /// desired instance names the pools (a cognito authorizer's provider ARNs): after them.
    #[test]
    fn the_rest_api_id_is_read_before_the_kinds_that_name_it() {
        let at = |k: &str| KINDS.iter().position(|x| x.resource().as_str() == k).unwrap();
        assert_eq!(at(rest_api::KIND), 0);
        assert!(at(user_pool::KIND) < at(authorizer::KIND));
        for k in [usage_plan::KIND, usage_plan_stage::KIND, api_key::KIND, usage_plan_key::KIND, method_auth::KIND] {
            assert!(at(rest_api::KIND) < at(k), "{k} is observed before the REST API's id is known");
        }
    }

    /// A kind read per parent names a kind listed before it, itself read once (no chains).
    #[test]
    fn kinds_read_per_parent_follow_their_parent() {
        let at = |k: &str| KINDS.iter().position(|x| x.resource().as_str() == k);
        let children: Vec<&dyn Kind> = KINDS.iter().copied().filter(|k| k.read_per().is_some()).collect();
        for c in &children {
            let parent = c.read_per().unwrap();
            let (Some(p), Some(me)) = (at(parent), at(c.resource().as_str())) else { panic!("{parent}: no such kind") };
            assert!(p < me, "{} is listed before {parent}, which it is read per", c.resource().as_str());
            assert!(KINDS[p].read_per().is_none(), "{parent} is itself read per another kind");
        }
        // What lives in a pool (and is read per pool); CloudWatch's alarms and Lambda's
        // permissions are read once for every pool.
        let mut names: Vec<&str> = children.iter().map(|k| k.resource().as_str()).collect();
        names.sort_unstable();
        let pool_children =
            ["app_client", "custom_attribute", "group", "identity_provider", "pool_domain", "resource_server"];
        assert_eq!(names, pool_children);
        assert!(children.iter().all(|k| k.read_per() == Some(user_pool::KIND)));
    }

    /// The fake kinds below only observe: their writes are never called.
    macro_rules! no_writes {
        () => {
            fn create<'a>(
                &'a self,
                _: &'a Aws,
                _: &'a Item,
                _: Option<&'a str>,
            ) -> BoxFuture<'a, Result<String, AwsError>> {
                unreachable!()
            }
            fn update<'a>(
                &'a self,
                _: &'a Aws,
                _: &'a Item,
                _: &'a Item,
                _: &'a str,
                _: Option<&'a str>,
            ) -> BoxFuture<'a, Result<(), AwsError>> {
                unreachable!()
            }
            fn delete<'a>(
                &'a self,
                _: &'a Aws,
                _: &'a Item,
                _: &'a str,
                _: Option<&'a str>,
            ) -> BoxFuture<'a, Result<(), AwsError>> {
                unreachable!()
            }
        };
    }

    /// An instance of the fake kinds below.
    fn fake_item(kind: &str, parent: Option<&str>) -> Item {
        Item {
            kind: kind.into(),
            name: kind.into(),
            tenant: None,
            parent: parent.map(str::to_string),
            state: serde_json::Value::Null,
            after: Vec::new(),
        }
    }

    /// A parent kind for [`observe_family`]: hands out `p/a` and `p/b`, then waits until a
    /// child has read `p/a` (so it fails unless its children are read while it runs), hands
    /// out `p/gone` (which it then does not return) and returns `p/late` too (never handed out).
    struct FakeParent(Arc<tokio::sync::Notify>);
    /// A kind read per `FakeParent`: one instance per parent instance; wakes the parent when
    /// it reads `p/a`.
    struct FakeChild(&'static str, Arc<tokio::sync::Notify>);

    impl ItemRules for FakeParent {
        fn resource(&self) -> Resource {
            Resource::new("fake_parent")
        }
    }
    impl ItemRules for FakeChild {
        fn resource(&self) -> Resource {
            Resource::new(self.0)
        }
    }

    impl Kind for FakeParent {
        fn desired(&self, _f: &Folder, _c: &DesiredCtx, _w: &World) -> Desired {
            Ok(Vec::new())
        }
        fn observe<'a>(
            &'a self,
            _aws: &'a Aws,
            scope: &'a ObserveScope<'a>,
        ) -> BoxFuture<'a, Result<Observed, AwsError>> {
            async move {
                let p = fake_item("fake_parent", None);
                scope.found("p/b", &p, "id-p/b");
                scope.found("p/a", &p, "id-p/a");
                let waited = tokio::time::timeout(std::time::Duration::from_secs(10), self.0.notified()).await;
                assert!(waited.is_ok(), "p/a's children were not read while its parent's observation ran");
                scope.found("p/gone", &p, "id-p/gone");
                Ok(["p/a", "p/b", "p/late"].map(|a| (a.to_string(), p.clone(), format!("id-{a}"))).to_vec())
            }
            .boxed()
        }
        no_writes!();
    }

    impl Kind for FakeChild {
        fn read_per(&self) -> Option<&'static str> {
            Some("fake_parent")
        }
        fn desired(&self, _f: &Folder, _c: &DesiredCtx, _w: &World) -> Desired {
            Ok(Vec::new())
        }
        fn observe<'a>(
            &'a self,
            _aws: &'a Aws,
            scope: &'a ObserveScope<'a>,
        ) -> BoxFuture<'a, Result<Observed, AwsError>> {
            async move {
                // One parent instance, with its id.
                assert_eq!(scope.observed.items.len(), 1);
                let (parent, _) = scope.observed.items.iter().next().unwrap();
                assert_eq!(scope.ids.id(parent), Some(format!("id-{parent}").as_str()));
                let address = format!("{parent}/{}", self.0);
                if parent == "p/a" {
                    self.1.notify_one();
                }
                Ok(vec![(address.clone(), fake_item(self.0, Some(parent)), format!("{address}-id"))])
            }
            .boxed()
        }
        no_writes!();
    }

    /// Issue 21: the kinds read per parent are read per instance as soon as it is handed out,
    /// while the parent's observation still runs; what comes out is in registry order (the
    /// parent's, then each child's by parent address), children of the instances returned only
    /// (those of `p/late`, returned but never handed out, too).
    #[tokio::test]
    async fn children_are_read_per_parent_while_the_parent_is_read() {
        let aws = crate::aws::connect(
            "p",
            Some("us-east-1".into()),
            None,
            Some("http://127.0.0.1:9".into()),
            Default::default(),
        )
        .await
        .unwrap();
        let folder = super::super::test_support::example_folder();
        let account = std::sync::Mutex::default();
        let (world, ids) = (World::default(), Ids::default());
        let scope = ObserveScope {
            folder: &folder,
            desired: &world,
            tenants: &[],
            adopt: Adopt::Nothing,
            observed: &world,
            ids: &ids,
            account: &account,
            on_found: None,
        };
        let read_a = Arc::new(tokio::sync::Notify::new());
        let parent = FakeParent(read_a.clone());
        let (one, two) = (FakeChild("one", read_a.clone()), FakeChild("two", read_a));
        let found = observe_family(&aws, &parent, &[&one, &two], &scope).await.unwrap();
        let addresses: Vec<Vec<&str>> = found.iter().map(|o| o.iter().map(|(a, _, _)| a.as_str()).collect()).collect();
        assert_eq!(
            addresses,
            [
                vec!["p/a", "p/b", "p/late"],
                vec!["p/a/one", "p/b/one", "p/late/one"],
                vec!["p/a/two", "p/b/two", "p/late/two"]
            ]
        );
        assert_eq!(found[1][2].2, "p/late/one-id");
        assert_eq!(found[2][0].1.parent.as_deref(), Some("p/a"));
    }
}
