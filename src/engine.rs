//! Runs a plan as a dependency graph: a change starts as soon as the changes it depends on
//! ([`Op::deps`]) are done, so IAM, Cognito and the authorizer's services work at the same
//! time (a tenant's group starts once its role and the pool exist, not after every role).
//! Creates and updates follow references; deletions run in reverse (a pool's groups, clients
//! and servers before the pool, a role's policies and groups before the role). Each service
//! (IAM, Cognito, Lambda and API Gateway) has its own `parallelism` slots, so one service
//! waiting for its rate limit never holds up another's ready work. Rates are kept under the
//! quotas by the adapters' limiter (the SDK's standard retries handle throttling and slow the
//! limiter down); IAM propagation is retried by the adapters. On a failure the changes in
//! flight finish, the changes that depend on the failed one (directly or not) are not
//! attempted, and independent ones go on, so the report says exactly what was done and what
//! was not; a re-run converges.

use std::collections::{BTreeSet, HashMap};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Mutex;

use crate::aws::{Aws, AwsError};
use crate::kinds::Service;
use crate::plan::{Change, Op};
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

/// For each change, the earlier changes (by index) it waits for: those that provide a key
/// it needs ([`Op::deps`]). Only earlier changes count: the plan's order (by phase) is a
/// valid order, so the graph has no cycle, and an edge the phases would not honour either is
/// never added.
pub fn waits(changes: &[Change]) -> Vec<BTreeSet<usize>> {
    let deps: Vec<Option<crate::plan::Deps>> = changes.iter().map(|c| Some(c.op.deps())).collect();
    let mut providers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in deps.iter().enumerate() {
        for key in d.iter().flat_map(|d| &d.provides) {
            providers.entry(key.as_str()).or_default().push(i);
        }
    }
    deps.iter()
        .enumerate()
        .map(|(i, d)| {
            d.iter()
                .flat_map(|d| &d.needs)
                .flat_map(|need| providers.get(need.as_str()).into_iter().flatten())
                .copied()
                .filter(|&j| j < i)
                .collect()
        })
        .collect()
}

/// The service an op calls: each has its own concurrency slots.
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
    pub fn new(changes: &[Change], parallelism: usize) -> Schedule {
        let waits = waits(changes);
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
        Schedule {
            dependants,
            remaining: waits.iter().map(BTreeSet::len).collect(),
            lanes,
            status: vec![Status::Pending; changes.len()],
            ready,
            running: [0; LANES],
            parallelism: parallelism.max(1),
        }
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
/// finishes, what depends on the failed change is not attempted, the rest goes on.
pub async fn run<F>(aws: &Aws, changes: &[Change], ids: Ids, parallelism: usize, on_event: F) -> (Outcome, Ids)
where
    F: Fn(Event<'_>) + Sync,
{
    let ids = Mutex::new(ids);
    let mut outcome = Outcome::default();
    let mut schedule = Schedule::new(changes, parallelism);
    let exec = |i: usize| {
        let change = &changes[i];
        let ids = &ids;
        let on_event = &on_event;
        async move {
            on_event(Event::Started { index: i, change });
            let r = execute(aws, &change.op, ids).await;
            match &r {
                Ok(()) => on_event(Event::Done { index: i, change }),
                Err(e) => on_event(Event::Failed { index: i, change, error: e }),
            }
            (i, r)
        }
    };
    let mut running = FuturesUnordered::new();
    loop {
        for i in schedule.start() {
            running.push(exec(i));
        }
        match running.next().await {
            None => break,
            Some((i, Ok(()))) => {
                schedule.finish(i, true);
                outcome.done.push(i);
            }
            Some((i, Err(e))) => {
                schedule.finish(i, false);
                outcome.failed.push((i, e));
            }
        }
    }
    drop(running);
    outcome.not_attempted = schedule.not_attempted();
    outcome.done.sort_unstable();
    (outcome, ids.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::app_client::{self, ClientState};
    use crate::kinds::authorizer::{self as authorizer_kind, AuthorizerConfig};
    use crate::kinds::group::{self, GroupState};
    use crate::kinds::lambda_function::{self, FunctionState};
    use crate::kinds::lambda_permission::{self, PermissionState};
    use crate::kinds::method_auth::{self, MethodAuth};
    use crate::kinds::resource_server::{self, ResourceServerState};
    use crate::kinds::stage_deployment::{self, StageState};
    use crate::kinds::{iam_role, role_policy};
    use crate::plan::{Action, ItemRules, Resource};
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

    fn item_op(address: String, desired: Option<Item>, live: Option<Item>, rules: &dyn ItemRules) -> Op {
        let i = desired.as_ref().or(live.as_ref()).unwrap().clone();
        let phase = rules.phase(&i, desired.is_none());
        Op::Item { address, desired, live, replace: false, phase }
    }

    fn create_role(r: RoleState) -> Op {
        item_op(r.address.clone(), Some(role_items(&r).0), None, &iam_role::IamRole)
    }

    fn delete_role(name: &str) -> Op {
        let r = role(name, json!({}));
        item_op(r.address.clone(), None, Some(role_items(&r).0), &iam_role::IamRole)
    }

    fn put_policy(role_name: &str) -> Op {
        let r = role(role_name, json!({}));
        item_op(format!("{}/policy/p", r.address), Some(role_items(&r).1), None, &role_policy::RolePolicy)
    }

    fn delete_policy(role_name: &str) -> Op {
        let r = role(role_name, json!({}));
        item_op(format!("{}/policy/p", r.address), None, Some(role_items(&r).1), &role_policy::RolePolicy)
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
        let kind = crate::kinds::of(&item.kind).unwrap();
        item_op(address.to_string(), None, Some(item), kind.rules())
    }

    /// A create of the kind-model item `item` (its kind's phase).
    fn create(address: &str, item: Item) -> Op {
        let kind = crate::kinds::of(&item.kind).unwrap();
        item_op(address.to_string(), Some(item), None, kind.rules())
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
            tags: Default::default(),
            code: Some("authorizer.zip".into()),
            code_file: None,
        };
        create(lambda_function::FUNCTION_ADDRESS, lambda_function::item(&f))
    }

    /// Changes labelled by their `name`, in the plan's order (phase, then address), as the
    /// planner sorts them.
    fn plan(ops: Vec<(&str, Op)>) -> (Vec<Change>, impl Fn(&str) -> usize) {
        let mut changes: Vec<Change> = ops
            .into_iter()
            .map(|(label, op)| Change {
                action: if op.is_delete() { Action::Delete } else { Action::Create },
                resource: Resource::Group,
                address: label.into(),
                name: label.into(),
                tenant: None,
                fields: vec![],
                op,
            })
            .collect();
        changes.sort_by(|a, b| (a.op.phase(), &a.address).cmp(&(b.op.phase(), &b.address)));
        let names: Vec<String> = changes.iter().map(|c| c.name.clone()).collect();
        (changes, move |l: &str| names.iter().position(|n| n == l).unwrap_or_else(|| panic!("no change {l}")))
    }

    fn set<'a>(at: &impl Fn(&str) -> usize, labels: impl IntoIterator<Item = &'a str>) -> BTreeSet<usize> {
        labels.into_iter().map(at).collect()
    }

    /// A tenant's group waits for its pool and its own role, not for every role of the plan
    /// nor for role policies (the phased engine ran all of IAM before any of Cognito); the
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
                item_op(silo.into(), Some(off.item()), Some(on), &crate::kinds::user_pool::UserPool)
            }),
            ("del-group", delete(&group::address(silo, "s-admin"), group_item(silo, "s-admin", None))),
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
            ops.push((
                g.as_str(),
                delete(&group::address("platform/pool", &name), group_item("platform/pool", &name, None)),
            ));
            ops.push((r.as_str(), delete_role(&format!("saas-t{t}-admin"))));
        }
        let (c, at) = plan(ops);
        let w = waits(&c);
        assert_eq!(w[at("r7")], set(&at, ["g7"]));
        assert!(w.iter().map(BTreeSet::len).sum::<usize>() <= 1000);
        let mut s = Schedule::new(&c, 8);
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
        let mut s = Schedule::new(&c, 1);
        // One slot per service: a role (IAM) and the pool (Cognito) start together.
        assert_eq!(s.start(), vec![at("role-a"), at("pool")]);
        s.finish(at("role-a"), false);
        assert_eq!(s.start(), vec![at("role-b")]);
        s.finish(at("pool"), true);
        s.finish(at("role-b"), true);
        // group-a is not attempted (its role failed); group-b and the function go on.
        assert_eq!(s.start(), vec![at("group-b"), at("function")]);
        s.finish(at("function"), false);
        s.finish(at("group-b"), true);
        assert_eq!(s.start(), Vec::<usize>::new());
        assert_eq!(s.not_attempted(), set(&at, ["group-a", "authorizer", "method"]).into_iter().collect::<Vec<_>>());
    }
}
