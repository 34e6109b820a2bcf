//! Runs a plan as a dependency graph: a change starts as soon as the changes it waits for
//! ([`waits`], from each change's declared dependencies, [`Op::deps`]) are done, so IAM,
//! Cognito and the authorizer's services work at the same time (a tenant's group starts once
//! its role and the pool exist, not after every role). Creates and updates follow
//! references; deletions run in reverse (a pool's groups, clients and servers before the
//! pool, a role's policies and the groups naming it before the role). The changes run in
//! three lanes, each with its own `parallelism` slots: IAM, Cognito, and one for Lambda, API
//! Gateway and CloudWatch ([`Kind::service`](crate::kinds::Kind::service)), so IAM waiting for
//! its rate limit never holds up Cognito's ready work. Rates are kept under the quotas by the
//! adapters' limiter (the SDK's standard retries handle throttling and slow the limiter down);
//! IAM propagation is retried by the adapters. On a failure the changes in flight finish, the
//! changes that depend on the failed one (directly or not) are not attempted, and independent
//! ones go on, so the report says exactly what was done and what was not; a re-run converges.
//! Changes that wait for each other in a cycle are an error before anything runs.

use std::collections::BTreeSet;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Mutex;

use crate::aws::{slots, Aws, AwsError};
use crate::kinds::Service;
use crate::plan::{Change, Op, PlanError};
use crate::state::Ids;

/// Progress events for the CLI's renderers.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    Started { index: usize, change: &'a Change },
    Done { index: usize, change: &'a Change },
    Failed { index: usize, change: &'a Change, error: &'a AwsError },
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<usize>,
    pub failed: Vec<(usize, AwsError)>,
    pub not_attempted: Vec<usize>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }
}

/// Executes one op with its kind. A create that finds its resource already there (another
/// apply won the race) becomes a clear conflict.
pub async fn execute(aws: &Aws, op: &Op, ids: &Mutex<Ids>) -> Result<(), AwsError> {
    crate::kinds::execute(aws, op, ids).await.map_err(|e| match &e {
        AwsError::Call { operation, message, code }
            if code == "GroupExistsException" || code == "ResourceConflictException" || message.contains("already exists") =>
        {
            AwsError::Conflict(format!(
                "{operation}: {message} (created by another tenantctl run while this apply ran? run apply again once it has finished)"
            ))
        }
        _ => e,
    })
}

/// For each change, the other changes (by index) it waits for: those that provide a key it
/// needs ([`Op::deps`], with the kinds' ordering hooks). See [`crate::plan::order::waits`].
pub fn waits(changes: &[Change]) -> Vec<BTreeSet<usize>> {
    crate::plan::order::waits(changes, &crate::kinds::rules())
}

/// The lane of an op, from the service its kind calls: IAM, Cognito, or the others (Lambda,
/// API Gateway, CloudWatch), each lane with its own concurrency slots.
fn lane(change: &Change) -> usize {
    let Op::Item { desired, live, .. } = &change.op;
    let service = desired
        .as_ref()
        .or(live.as_ref())
        .and_then(|i| crate::kinds::of(&i.kind))
        .map_or(Service::Cognito, |k| k.service());
    match service {
        Service::Iam => 0,
        Service::Cognito => 1,
        Service::Lambda | Service::ApiGateway | Service::CloudWatch => 2,
    }
}

const LANES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Running,
    Done,
    Failed,
    NotAttempted,
}

/// The pure part of [`run`]: which change may start, given what is done and what failed.
/// Each change counts the changes it still waits for; one whose count reaches 0 joins its
/// service's ready set (so a large plan costs its edges once, not a scan per event).
#[derive(Debug)]
pub struct Schedule {
    /// For each change, the changes that wait for it.
    dependants: Vec<Vec<usize>>,
    /// For each change, how many of the changes it waits for are not done yet.
    remaining: Vec<usize>,
    lanes: Vec<usize>,
    status: Vec<Status>,
    ready: [BTreeSet<usize>; LANES],
    running: [usize; LANES],
    parallelism: usize,
}

impl Schedule {
    /// The schedule of `changes`; an error when they wait for each other in a cycle (none
    /// would ever start).
    pub fn new(changes: &[Change], parallelism: usize) -> Result<Schedule, PlanError> {
        let waits = waits(changes);
        crate::plan::order::check(changes, &waits)?;
        let mut dependants = vec![Vec::new(); changes.len()];
        for (i, w) in waits.iter().enumerate() {
            for &j in w {
                dependants[j].push(i);
            }
        }
        let lanes: Vec<usize> = changes.iter().map(lane).collect();
        let mut ready: [BTreeSet<usize>; LANES] = Default::default();
        for i in (0..waits.len()).filter(|&i| waits[i].is_empty()) {
            ready[lanes[i]].insert(i);
        }
        Ok(Schedule {
            dependants,
            remaining: waits.iter().map(BTreeSet::len).collect(),
            lanes,
            status: vec![Status::Pending; changes.len()],
            ready,
            running: [0; LANES],
            parallelism: parallelism.max(1),
        })
    }

    /// The changes that may start now (marked running): every change they wait for is done,
    /// and their service has a free slot; lowest index (plan order) first in each service.
    pub fn start(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        for lane in 0..LANES {
            while self.running[lane] < self.parallelism {
                let Some(i) = self.ready[lane].pop_first() else { break };
                self.status[i] = Status::Running;
                self.running[lane] += 1;
                out.push(i);
            }
        }
        out.sort_unstable();
        out
    }

    /// A running change of `lane` stepped out of its slot ([`crate::aws::slots`]).
    pub fn step_out(&mut self, lane: usize) {
        self.running[lane] -= 1;
    }

    /// A change of `lane` that stepped out takes a slot again, when one is free.
    pub fn step_in(&mut self, lane: usize) -> bool {
        let free = self.running[lane] < self.parallelism;
        if free {
            self.running[lane] += 1;
        }
        free
    }

    /// The lane of change `i`.
    pub fn lane(&self, i: usize) -> usize {
        self.lanes[i]
    }

    /// Records the end of a running change; a failure marks every change that depends on it,
    /// directly or not, as not attempted.
    pub fn finish(&mut self, i: usize, ok: bool) {
        self.running[self.lanes[i]] -= 1;
        self.status[i] = if ok { Status::Done } else { Status::Failed };
        if ok {
            for &k in &self.dependants[i] {
                self.remaining[k] -= 1;
                if self.remaining[k] == 0 && self.status[k] == Status::Pending {
                    self.ready[self.lanes[k]].insert(k);
                }
            }
            return;
        }
        let mut stack = self.dependants[i].clone();
        while let Some(k) = stack.pop() {
            if self.status[k] == Status::Pending {
                self.status[k] = Status::NotAttempted;
                self.ready[self.lanes[k]].remove(&k);
                stack.extend(self.dependants[k].iter().copied());
            }
        }
    }

    /// The changes never started (after the run: those that depend on a failed one).
    pub fn not_attempted(&self) -> Vec<usize> {
        (0..self.status.len()).filter(|&i| matches!(self.status[i], Status::Pending | Status::NotAttempted)).collect()
    }
}

/// Runs `changes` with at most `parallelism` calls in flight per service: a change starts as
/// soon as the changes it waits for ([`waits`]) are done. After a failure, what is in flight
/// finishes, what depends on the failed change is not attempted, the rest goes on. Changes
/// that wait for each other in a cycle are an error, before anything runs.
pub async fn run<F>(
    aws: &Aws,
    changes: &[Change],
    ids: Ids,
    parallelism: usize,
    on_event: F,
) -> Result<(Outcome, Ids), PlanError>
where
    F: Fn(Event<'_>) + Sync,
{
    let ids = Mutex::new(ids);
    let schedule = Schedule::new(changes, parallelism)?;
    let outcome = run_schedule(schedule, |i| {
        let change = &changes[i];
        let (ids, on_event) = (&ids, &on_event);
        async move {
            on_event(Event::Started { index: i, change });
            let r = execute(aws, &change.op, ids).await;
            match &r {
                Ok(()) => on_event(Event::Done { index: i, change }),
                Err(e) => on_event(Event::Failed { index: i, change, error: e }),
            }
            r
        }
    })
    .await;
    Ok((outcome, ids.into_inner()))
}

/// [`run`]'s loop: starts what `schedule` lets start (`exec` of its index), each holding a
/// slot of its lane ([`slots`]). Changes that step out of their slot while they wait say so
/// here; those stepping back in take the next free slots of their lane before any new change
/// starts.
async fn run_schedule<E, Fut>(mut schedule: Schedule, exec: E) -> Outcome
where
    E: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), AwsError>>,
{
    let mut outcome = Outcome::default();
    let (slot_tx, mut slot_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut returning: [std::collections::VecDeque<tokio::sync::oneshot::Sender<()>>; LANES] = Default::default();
    let mut running = FuturesUnordered::new();
    loop {
        for (lane, queue) in returning.iter_mut().enumerate() {
            while !queue.is_empty() && schedule.step_in(lane) {
                // A change dropped meanwhile (never while the run goes on) gives its slot back.
                if queue.pop_front().is_some_and(|back| back.send(()).is_err()) {
                    schedule.step_out(lane);
                }
            }
        }
        for i in schedule.start() {
            let slot = slots::Slot { lane: schedule.lane(i), tx: slot_tx.clone() };
            let fut = exec(i);
            running.push(slots::scope(slot, async move { (i, fut.await) }));
        }
        tokio::select! {
            biased;
            Some(msg) = slot_rx.recv() => match msg {
                slots::SlotMsg::Out(lane) => schedule.step_out(lane),
                slots::SlotMsg::In(lane, back) => returning[lane].push_back(back),
            },
            next = running.next() => match next {
                None => break,
                Some((i, Ok(()))) => {
                    schedule.finish(i, true);
                    outcome.done.push(i);
                }
                Some((i, Err(e))) => {
                    schedule.finish(i, false);
                    outcome.failed.push((i, e));
                }
            },
        }
    }
    drop(running);
    outcome.not_attempted = schedule.not_attempted();
    outcome.done.sort_unstable();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::app_client::{self, ClientState};
    use crate::kinds::authorizer::{self as authorizer_kind, AuthorizerConfig};
    use crate::kinds::group::{self, GroupState};
    use crate::kinds::iam_role;
    use crate::kinds::lambda_function::{self, FunctionState};
    use crate::kinds::lambda_permission::{self, PermissionState};
    use crate::kinds::method_auth::{self, MethodAuth};
    use crate::kinds::resource_server::{self, ResourceServerState};
    use crate::kinds::stage_deployment::{self, StageState};
    use crate::plan::{Action, Resource};
    use crate::state::wiring::{client_address, AUTHORIZER_ADDRESS, REST_API_ADDRESS};
    use crate::state::{AttributeState, Item, PoolState, RoleState, Text};
    use serde_json::json;

    const ACCT: &str = "123456789012";

    fn role(name: &str, trust: serde_json::Value) -> RoleState {
        RoleState {
            address: format!("role/{name}"),
            name: name.into(),
            path: "/tenantctl/saas/".into(),
            tenant: (!name.contains("authorizer")).then(|| "t".to_string()),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            trust_policy: trust,
            tags: Default::default(),
            policies: Default::default(),
            attached_policies: Default::default(),
        }
    }

    /// The kind-model items of a role with one inline policy `p`: (role, policy).
    fn role_items(r: &RoleState) -> (Item, Item) {
        let r = RoleState { policies: [("p".to_string(), json!({}))].into(), ..r.clone() };
        let mut items = iam_role::items(&r).into_iter().map(|(_, i)| i);
        (items.next().unwrap(), items.next().unwrap())
    }

    fn item_op(address: String, desired: Option<Item>, live: Option<Item>) -> Op {
        Op::Item { address, desired, live, replace: false }
    }

    fn create_role(r: RoleState) -> Op {
        item_op(r.address.clone(), Some(role_items(&r).0), None)
    }

    fn delete_role(name: &str) -> Op {
        let r = role(name, json!({}));
        item_op(r.address.clone(), None, Some(role_items(&r).0))
    }

    fn put_policy(role_name: &str) -> Op {
        let r = role(role_name, json!({}));
        item_op(format!("{}/policy/p", r.address), Some(role_items(&r).1), None)
    }

    fn delete_policy(role_name: &str) -> Op {
        let r = role(role_name, json!({}));
        item_op(format!("{}/policy/p", r.address), None, Some(role_items(&r).1))
    }

    fn role_arn(name: &str) -> String {
        format!("arn:aws:iam::{ACCT}:role/tenantctl/saas/{name}")
    }

    fn pool(address: &str) -> PoolState {
        PoolState {
            address: address.into(),
            name: address.replace('/', "-"),
            tenant: None,
            settings: Default::default(),
            attributes: Default::default(),
            usernames: None,
        }
    }

    fn create_pool(address: &str) -> Op {
        create(address, pool(address).item())
    }

    fn group_item(pool: &str, name: &str, role: Option<&str>) -> Item {
        group::item(
            pool,
            None,
            name,
            &GroupState { description: None, precedence: Some(1), role_arn: role.map(role_arn) },
        )
    }

    fn group(pool: &str, name: &str, role: Option<&str>) -> Op {
        create(&group::address(pool, name), group_item(pool, name, role))
    }

    fn server_item(pool: &str) -> Item {
        resource_server::item(
            pool,
            None,
            "https://api",
            &ResourceServerState { name: "api".into(), scopes: Default::default() },
        )
    }

    fn client_item(pool: &str) -> Item {
        app_client::item(pool, None, "web", &ClientState::default())
    }

    /// A delete of the live kind-model item `item`.
    fn delete(address: &str, item: Item) -> Op {
        item_op(address.to_string(), None, Some(item))
    }

    /// A create of the kind-model item `item`.
    fn create(address: &str, item: Item) -> Op {
        item_op(address.to_string(), Some(item), None)
    }

    fn function(role: &str, env: &[(&str, Text)]) -> Op {
        let f = FunctionState {
            name: "authorizer".into(),
            runtime: "provided.al2023".into(),
            handler: "bootstrap".into(),
            role: role_arn(role),
            memory_mb: 128,
            timeout_seconds: 5,
            architecture: "x86_64".into(),
            code_sha256: String::new(),
            environment: env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            config: Default::default(),
            tags: Default::default(),
            code: Some("authorizer.zip".into()),
            code_file: None,
        };
        create(lambda_function::FUNCTION_ADDRESS, lambda_function::item(&f))
    }

    /// Changes labelled by their `name`, in the plan's order ([`crate::plan::order::sort`]).
    fn plan(ops: Vec<(&str, Op)>) -> (Vec<Change>, impl Fn(&str) -> usize) {
        let changes: Vec<Change> = ops
            .into_iter()
            .map(|(label, op)| Change {
                action: if op.is_delete() { Action::Delete } else { Action::Create },
                resource: Resource::new("group"),
                address: label.into(),
                name: label.into(),
                tenant: None,
                fields: vec![],
                op,
            })
            .collect();
        let changes = crate::plan::order::sort(changes, &crate::kinds::rules()).expect("no cycle");
        let names: Vec<String> = changes.iter().map(|c| c.name.clone()).collect();
        (changes, move |l: &str| names.iter().position(|n| n == l).unwrap_or_else(|| panic!("no change {l}")))
    }

    fn set<'a>(at: &impl Fn(&str) -> usize, labels: impl IntoIterator<Item = &'a str>) -> BTreeSet<usize> {
        labels.into_iter().map(at).collect()
    }

    /// A tenant's group waits for its pool and its own role, not for every role of the plan
    /// nor for role policies (an engine by phases would run all of IAM before any of Cognito); the
    /// pool waits for nothing; a tenant role waits for the role its trust policy names.
    #[test]
    fn creates_follow_references() {
        let pooled = "platform/pool";
        let trusting = json!({"Statement": [{"Principal": {"AWS": role_arn("saas-authorizer")}}]});
        let (c, at) = plan(vec![
            ("role-authz", create_role(role("saas-authorizer", json!({})))),
            ("role-a", create_role(role("saas-a-admin", trusting.clone()))),
            ("role-b", create_role(role("saas-b-admin", trusting))),
            ("policy-a", put_policy("saas-a-admin")),
            ("pool", create_pool(pooled)),
            ("attr", {
                let mut p = pool(pooled);
                let tier = AttributeState {
                    data_type: "String".into(),
                    mutable: true,
                    min_length: None,
                    max_length: None,
                    min_value: None,
                    max_value: None,
                };
                p.attributes.insert("tier".into(), tier);
                let (address, item) = p.attribute_items().remove(0);
                create(&address, item)
            }),
            ("server", create(&resource_server::address(pooled, "https://api"), server_item(pooled))),
            ("client", create(&client_address(pooled, "web"), client_item(pooled))),
            ("silo-pool", create_pool("tenant/s/pool")),
            ("group-a", group(pooled, "a-admin", Some("saas-a-admin"))),
            ("group-b", group(pooled, "b-admin", Some("saas-b-admin"))),
            ("group-c", group(pooled, "c-admin", None)),
            (
                "function",
                function(
                    "saas-authorizer",
                    &[
                        ("ISSUERS", Text::default().id("platform/pool").s(",").id("tenant/s/pool")),
                        ("AUD", Text::default().id(client_address("platform/pool", "web"))),
                    ],
                ),
            ),
            (
                "authorizer",
                create(
                    AUTHORIZER_ADDRESS,
                    authorizer_kind::item(&AuthorizerConfig {
                        name: "authz".into(),
                        auth_type: "COGNITO_USER_POOLS".into(),
                        authorizer_uri: None,
                        identity_source: "method.request.header.Authorization".into(),
                        identity_validation_expression: None,
                        result_ttl_seconds: 300,
                        provider_arns: [
                            Text::lit(format!("arn:aws:cognito-idp:us-east-1:{ACCT}:userpool/")).id("tenant/s/pool")
                        ]
                        .into(),
                    }),
                ),
            ),
            (
                "permission",
                create(
                    lambda_permission::PERMISSION_ADDRESS,
                    lambda_permission::item(&PermissionState {
                        statement_id: "tenantctl".into(),
                        copies: 1,
                        action: "lambda:InvokeFunction".into(),
                        principal: "apigateway.amazonaws.com".into(),
                        source_arn: Some(
                            Text::lit("arn:aws:execute-api:us-east-1:1:")
                                .id(REST_API_ADDRESS)
                                .s("/authorizers/")
                                .id(AUTHORIZER_ADDRESS),
                        ),
                        source_account: None,
                        function: "authorizer".into(),
                    }),
                ),
            ),
            (
                "method",
                create(
                    &crate::state::wiring::method_address("GET /orders"),
                    method_auth::item(
                        "GET /orders",
                        &MethodAuth {
                            authorization_type: "CUSTOM".into(),
                            authorizer: Some("authz".into()),
                            authorizer_id: None,
                            api_key_required: None,
                        },
                    ),
                ),
            ),
            (
                "deploy",
                create(
                    &crate::state::wiring::stage_address("prod"),
                    stage_deployment::item(&StageState { name: "prod".into(), ..StageState::default() }),
                ),
            ),
        ]);
        let w = waits(&c);
        let none = BTreeSet::new();
        assert_eq!(w[at("role-authz")], none);
        assert_eq!(w[at("role-a")], set(&at, ["role-authz"]), "the role its trust policy names");
        assert_eq!(w[at("policy-a")], set(&at, ["role-a"]));
        assert_eq!(w[at("pool")], none, "the pool does not wait for IAM");
        assert_eq!(w[at("attr")], set(&at, ["pool"]));
        assert_eq!(w[at("server")], set(&at, ["pool"]));
        assert_eq!(w[at("client")], set(&at, ["pool", "attr", "server"]));
        assert_eq!(w[at("group-a")], set(&at, ["pool", "role-a"]), "its own role, not policies nor other roles");
        assert_eq!(w[at("group-b")], set(&at, ["pool", "role-b"]));
        assert_eq!(w[at("group-c")], set(&at, ["pool"]));
        assert_eq!(w[at("function")], set(&at, ["role-authz", "pool", "silo-pool", "client"]), "the ids it carries");
        assert_eq!(w[at("authorizer")], set(&at, ["function", "silo-pool"]));
        assert_eq!(w[at("permission")], set(&at, ["function", "authorizer"]));
        assert_eq!(w[at("method")], set(&at, ["authorizer"]));
        assert_eq!(w[at("deploy")], set(&at, ["authorizer", "permission", "method"]));
    }

    /// Deletions run in reverse: what points at a resource goes first.
    #[test]
    fn deletes_run_in_reverse() {
        let silo = "tenant/s/pool";
        let (c, at) = plan(vec![
            ("pool-off", {
                let (on, off) = (pool(silo), pool(silo));
                let mut on = on.item();
                on.state["deletion_protection"] = json!(true);
                item_op(silo.into(), Some(off.item()), Some(on))
            }),
            ("del-group", delete(&group::address(silo, "s-admin"), group_item(silo, "s-admin", Some("saas-s-admin")))),
            ("del-client", delete(&client_address(silo, "web"), client_item(silo))),
            ("del-server", delete(&resource_server::address(silo, "https://api"), server_item(silo))),
            ("del-pool", delete(silo, pool(silo).item())),
            (
                "del-other-group",
                delete(&group::address("platform/pool", "t-admin"), group_item("platform/pool", "t-admin", None)),
            ),
            ("del-policy", delete_policy("saas-s-admin")),
            ("del-policy-other", delete_policy("saas-x-admin")),
            ("del-role", delete_role("saas-s-admin")),
            ("function", function("saas-authorizer", &[("ISSUERS", Text::default().id("platform/pool"))])),
            ("role-new", create_role(role("saas-n-admin", json!({})))),
        ]);
        let w = waits(&c);
        assert_eq!(w[at("del-group")], BTreeSet::new());
        assert_eq!(w[at("del-client")], set(&at, ["function"]), "the function stops naming the client first");
        assert_eq!(w[at("del-server")], set(&at, ["del-client"]));
        assert_eq!(
            w[at("del-pool")],
            set(&at, ["pool-off", "del-group", "del-client", "del-server", "function"]),
            "its children, its own update (protection off) and the function first"
        );
        assert_eq!(
            w[at("del-role")],
            set(&at, ["del-policy", "del-group", "function", "role-new"]),
            "its policies and its tenant's group (`<tenant>-<role>` names `<platform>-<tenant>-<role>`) first"
        );
        assert!(!w[at("del-role")].contains(&at("del-policy-other")));
        assert!(!w[at("del-pool")].contains(&at("del-other-group")), "another pool's group");
        assert!(!w[at("del-role")].contains(&at("del-other-group")), "another tenant's group");
    }

    /// Offboarding 1,000 pooled tenants (2,000 groups and roles): each role waits for its
    /// own tenant's group only, and the whole schedule runs through.
    #[test]
    fn a_large_destroy_has_few_edges() {
        let mut ops = Vec::new();
        let labels: Vec<(String, String)> = (0..1000).map(|t| (format!("g{t}"), format!("r{t}"))).collect();
        for (t, (g, r)) in labels.iter().enumerate() {
            let name = format!("t{t}-admin");
            let role = format!("saas-t{t}-admin");
            ops.push((
                g.as_str(),
                delete(&group::address("platform/pool", &name), group_item("platform/pool", &name, Some(&role))),
            ));
            ops.push((r.as_str(), delete_role(&role)));
        }
        let (c, at) = plan(ops);
        let w = waits(&c);
        assert_eq!(w[at("r7")], set(&at, ["g7"]));
        assert!(w.iter().map(BTreeSet::len).sum::<usize>() <= 1000);
        let mut s = Schedule::new(&c, 8).unwrap();
        let mut done = 0;
        loop {
            let started = s.start();
            if started.is_empty() {
                break;
            }
            for i in started {
                s.finish(i, true);
                done += 1;
            }
        }
        assert_eq!(done, 2000);
        assert!(s.not_attempted().is_empty());
    }

    /// Changes that wait for each other never start: the schedule refuses them.
    #[test]
    fn a_cycle_is_refused_before_anything_runs() {
        let mut a = pool("tenant/a/pool").item();
        a.after = vec!["tenant/b/pool".into()];
        let mut b = pool("tenant/b/pool").item();
        b.after = vec!["tenant/a/pool".into()];
        let (c, _) = plan(vec![("a", create("tenant/a/pool", a.clone())), ("other", create_pool("tenant/c/pool"))]);
        assert!(Schedule::new(&c, 1).is_ok());
        let changes: Vec<Change> = [("tenant/a/pool", a), ("tenant/b/pool", b)]
            .into_iter()
            .map(|(address, item)| Change {
                action: Action::Create,
                resource: Resource::new("user_pool"),
                address: address.into(),
                name: item.name.clone(),
                tenant: None,
                fields: vec![],
                op: create(address, item),
            })
            .collect();
        let e = Schedule::new(&changes, 1).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    /// A failure marks what depends on it (directly or not) as not attempted; independent
    /// changes go on; each service has its own slots.
    #[test]
    fn a_failure_marks_its_dependants_not_attempted() {
        let pooled = "platform/pool";
        let (c, at) = plan(vec![
            ("role-a", create_role(role("saas-a-admin", json!({})))),
            ("role-b", create_role(role("saas-b-admin", json!({})))),
            ("pool", create_pool(pooled)),
            ("group-a", group(pooled, "a-admin", Some("saas-a-admin"))),
            ("group-b", group(pooled, "b-admin", Some("saas-b-admin"))),
            ("function", function("saas-authorizer", &[("ISSUERS", Text::default().id("platform/pool"))])),
            (
                "method",
                create(
                    &crate::state::wiring::method_address("GET /"),
                    method_auth::item(
                        "GET /",
                        &MethodAuth {
                            authorization_type: "NONE".into(),
                            authorizer: None,
                            authorizer_id: None,
                            api_key_required: None,
                        },
                    ),
                ),
            ),
            (
                "authorizer",
                create(
                    AUTHORIZER_ADDRESS,
                    authorizer_kind::item(&AuthorizerConfig {
                        name: "authz".into(),
                        auth_type: "TOKEN".into(),
                        authorizer_uri: None,
                        identity_source: "method.request.header.Authorization".into(),
                        identity_validation_expression: None,
                        result_ttl_seconds: 300,
                        provider_arns: Default::default(),
                    }),
                ),
            ),
        ]);
        let mut s = Schedule::new(&c, 1).unwrap();
        // One slot per service: a role (IAM) and the pool (Cognito) start together.
        assert_eq!(s.start().into_iter().collect::<BTreeSet<_>>(), set(&at, ["role-a", "pool"]));
        s.finish(at("role-a"), false);
        assert_eq!(s.start(), vec![at("role-b")]);
        s.finish(at("pool"), true);
        s.finish(at("role-b"), true);
        // group-a is not attempted (its role failed); group-b and the function go on.
        assert_eq!(s.start().into_iter().collect::<BTreeSet<_>>(), set(&at, ["group-b", "function"]));
        s.finish(at("function"), false);
        s.finish(at("group-b"), true);
        assert_eq!(s.start(), Vec::<usize>::new());
        assert_eq!(s.not_attempted(), set(&at, ["group-a", "authorizer", "method"]).into_iter().collect::<Vec<_>>());
    }

    /// A change that waits outside its calls (a twin check's settle time) steps out of its
    /// slot: with one Cognito slot, three independent pools still create while the first one
    /// sleeps, and it steps back in before anything new starts. Before, the slot was held
    /// through the sleep and the three ran one after another.
    #[tokio::test]
    async fn a_change_waiting_outside_its_calls_frees_its_slot() {
        use std::time::{Duration, Instant};
        let (c, at) = plan(vec![
            ("a", create_pool("tenant/a/pool")),
            ("b", create_pool("tenant/b/pool")),
            ("c", create_pool("tenant/c/pool")),
        ]);
        let log: std::sync::Mutex<Vec<(usize, &str, Instant)>> = std::sync::Mutex::new(Vec::new());
        let (a, log) = (at("a"), &log);
        let outcome = run_schedule(Schedule::new(&c, 1).unwrap(), |i| async move {
            log.lock().unwrap().push((i, "start", Instant::now()));
            if i == a {
                slots::pause(Duration::from_millis(300)).await;
            } else {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            log.lock().unwrap().push((i, "end", Instant::now()));
            Ok(())
        })
        .await;
        assert!(outcome.ok(), "{outcome:?}");
        let log = log.lock().unwrap();
        let when = |i: usize, what: &str| log.iter().find(|(j, w, _)| *j == i && *w == what).unwrap().2;
        for other in [at("b"), at("c")] {
            assert!(when(other, "end") < when(a, "end"), "{other} waited for the sleeping change: {log:?}");
        }
        // One slot: never two changes running their own calls at once.
        assert!(when(at("b"), "end") <= when(at("c"), "start") || when(at("c"), "end") <= when(at("b"), "start"));
    }

    // ---- Every reference is an edge: the example platform, created and destroyed ----------

    /// The repository's example platform (`tenants/`, `policies/`), rendered as
    /// `Session::open` does, with a fixed environment; `without`: one tenant's file removed.
    fn example_platform(without: Option<&str>) -> (crate::spec::Folder, crate::state::World) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut folder = crate::check::load_valid(root).expect("the example folder is valid");
        folder.tenants.retain(|t| Some(t.value.id.as_str()) != without);
        let env = crate::spec::desired::RenderEnv {
            account_id: ACCT.into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        };
        let ctx = crate::kinds::DesiredCtx { env, code_sha256: Some("c2hhMjU2".into()), jwks_endpoint: None };
        let world = crate::kinds::desired(&folder, &ctx).expect("the example renders");
        (folder, world)
    }

    /// The changes each reference of `item` designates: its parent, its `after` entries, the
    /// addresses its references (`state::Text`) name and the roles whose ARNs it holds.
    fn references(item: &Item, changes: &[Change]) -> Vec<(String, Vec<usize>)> {
        use crate::plan::Key;
        let designated = |f: &dyn Fn(&str, &Item) -> bool| -> Vec<usize> {
            (0..changes.len()).filter(|&j| changes[j].op.item().is_some_and(|i| f(&changes[j].address, i))).collect()
        };
        let mut out = Vec::new();
        for a in item.parent.iter().chain(crate::state::refs::refs_in(&item.state).iter()) {
            out.push((a.clone(), designated(&|addr, _| addr == a)));
        }
        for a in &item.after {
            let found = match Key::after(a) {
                Key::Address(a) => designated(&|addr, _| addr == a),
                Key::Kind(k) => designated(&|_, i| i.kind == k.as_str()),
                Key::In(k, p) => designated(&|_, i| i.kind == k.as_str() && i.parent.as_deref() == Some(p.as_str())),
                other => panic!("{other:?}"),
            };
            out.push((a.clone(), found));
        }
        let mut strings = Vec::new();
        fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match v {
                serde_json::Value::String(s) => out.push(s),
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(&item.state, &mut strings);
        for role in strings.into_iter().filter_map(crate::plan::deps::role_name) {
            out.push((format!("role {role}"), designated(&|_, i| i.kind == iam_role::KIND && i.name == role)));
        }
        out
    }

    /// Every change `i` waits for, directly or not.
    fn before(waits: &[BTreeSet<usize>], i: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = waits[i].iter().copied().collect();
        while let Some(j) = stack.pop() {
            if seen.insert(j) {
                stack.extend(waits[j].iter().copied());
            }
        }
        seen
    }

    /// The references no edge honours: a create or update runs after what its desired state
    /// designates; a delete, or an update, runs before the deletes of what its live state
    /// designated (an update stops naming it).
    fn unhonoured(changes: &[Change], waits: &[BTreeSet<usize>]) -> Vec<String> {
        let mut missing = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let Op::Item { desired, live, .. } = &c.op;
            let mut check = |item: &Item, after_it: bool| {
                for (reference, targets) in references(item, changes) {
                    for t in targets.into_iter().filter(|&t| t != i) {
                        let ok = match after_it {
                            true => !changes[t].op.is_delete() || before(waits, t).contains(&i),
                            false => before(waits, i).contains(&t),
                        };
                        if !ok {
                            let (a, t) = (&c.address, &changes[t].address);
                            missing.push(format!("{} {a} -> {reference} ({t})", c.action.as_str()));
                        }
                    }
                }
            };
            if let Some(d) = desired {
                check(d, false);
            }
            if let Some(l) = live {
                check(l, true);
            }
        }
        missing
    }

    /// The example platform created from nothing (only the REST API exists), destroyed (what
    /// it declares is live, with ids; the folder declares nothing) and without each of its
    /// tenants in turn (`destroy --tenant`: a pooled tenant's groups, a silo tenant's pool).
    fn example_plans() -> Vec<(String, Vec<Change>)> {
        use crate::plan::{plan_with, PlanOptions};
        let (folder, world) = example_platform(None);
        let tenants: BTreeSet<String> = folder.tenants.iter().map(|t| t.value.id.clone()).collect();
        let opts =
            PlanOptions { tenants: tenants.clone(), prune: true, force_delete_users: true, ..PlanOptions::default() };
        let rest_api = |w: &crate::state::World| crate::state::World {
            items: w
                .items
                .iter()
                .filter(|(_, i)| i.kind == crate::kinds::rest_api::KIND)
                .map(|(a, i)| (a.clone(), i.clone()))
                .collect(),
        };
        let plan = |d: &crate::state::World, o: &crate::state::World, ids: &Ids| {
            plan_with(d, o, ids, &opts, &crate::kinds::rules()).expect("a plan").changes
        };
        let mut ids = Ids::default();
        ids.set(REST_API_ADDRESS, "a1b2c3");
        let mut plans = vec![("create".to_string(), plan(&world, &rest_api(&world), &ids))];
        for (n, a) in world.items.keys().enumerate() {
            ids.set(a.clone(), format!("id{n}"));
        }
        plans.push(("destroy".into(), plan(&rest_api(&world), &world, &ids)));
        for t in &tenants {
            let (_, without) = example_platform(Some(t));
            plans.push((format!("destroy --tenant {t}"), plan(&without, &world, &ids)));
        }
        plans
    }

    /// Each reference a change carries is an edge of the engine's graph: creating the example
    /// platform, each change runs after what it names; destroying it, each delete runs before
    /// the deletes of what it named. A kind that forgot an edge fails here.
    #[test]
    fn every_reference_of_the_example_platform_is_an_edge() {
        let plans = example_plans();
        let kinds = |c: &[Change]| c.iter().map(|c| c.resource.as_str()).collect::<BTreeSet<_>>();
        let (_, create) = &plans[0];
        assert!(kinds(create).len() >= 10, "{:?}", kinds(create));
        assert!(create.iter().all(|c| !c.op.is_delete()), "{create:#?}");
        // What lives in a pool or a role goes with it; the wiring is left alone.
        assert_eq!(kinds(&plans[1].1), BTreeSet::from(["iam_role", "user_pool"]), "{:#?}", plans[1]);
        let deleted = |c: &[Change], kind: &str| c.iter().any(|c| c.op.is_delete() && c.resource.as_str() == kind);
        assert!(plans[2..].iter().any(|(_, c)| deleted(c, "group")), "a pooled tenant's groups go");
        for (what, changes) in &plans {
            let w = waits(changes);
            assert_eq!(unhonoured(changes, &w), Vec::<String>::new(), "{what}");
        }
    }
}
