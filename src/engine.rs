//! Runs a plan as a dependency graph: a change starts when the changes it depends on are done
//! (a group after its pool and its role, a client after its pool's attributes and resource
//! servers, the function after the pools and clients whose ids it carries, the authorizer
//! after the function, the methods after the authorizer; deletions last, dependants first),
//! with bounded concurrency. Rates are kept under the quotas by the adapters' limiter (the
//! SDK's standard retries handle throttling, and slow the limiter down); IAM propagation is
//! retried by the adapters. On a failure nothing new starts, so the report says exactly what
//! was done and what was not; a re-run converges.

use std::path::Path;

use std::collections::{BTreeSet, HashMap};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Mutex;

use crate::aws::{self, Aws, AwsError};
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

/// Executes one op with the adapter that owns it. A create that finds its resource already
/// there (another apply won the race) becomes a clear conflict.
pub async fn execute(aws: &Aws, op: &Op, ids: &Mutex<Ids>, config_dir: &Path) -> Result<(), AwsError> {
    execute_op(aws, op, ids, config_dir).await.map_err(|e| match &e {
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

async fn execute_op(aws: &Aws, op: &Op, ids: &Mutex<Ids>, config_dir: &Path) -> Result<(), AwsError> {
    match op {
        Op::CreatePool { .. }
        | Op::UpdatePool { .. }
        | Op::AddAttribute { .. }
        | Op::PutGroup { .. }
        | Op::DeleteGroup { .. }
        | Op::PutResourceServer { .. }
        | Op::DeleteResourceServer { .. }
        | Op::PutClient { .. }
        | Op::DeleteClient { .. }
        | Op::DeletePool { .. } => aws::cognito::execute(aws, op, ids).await,
        Op::CreateRole { .. }
        | Op::UpdateRole { .. }
        | Op::DeleteRole { .. }
        | Op::PutRolePolicy { .. }
        | Op::DeleteRolePolicy { .. }
        | Op::DetachRolePolicy { .. } => aws::iam::execute(aws, op).await,
        Op::PutFunction { .. }
        | Op::PutAuthorizer { .. }
        | Op::PutPermission { .. }
        | Op::SetMethodAuth { .. }
        | Op::DeployStage { .. } => aws::authorizer::execute(aws, op, ids, config_dir).await,
    }
}

/// For each change, the changes it waits for. Non-deletions follow their dependencies
/// ([`Op::deps`]): a group waits for its pool and its role, not for every role of the plan,
/// so IAM and Cognito work overlap. Deletions run after every other change, dependants first
/// (in phase order among themselves).
pub fn waits(changes: &[Change]) -> Vec<BTreeSet<usize>> {
    let n = changes.len();
    let is_delete = |c: &Change| c.op.as_ref().is_some_and(Op::is_delete);
    let mut providers: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in changes.iter().enumerate().filter(|(_, c)| !is_delete(c)) {
        if let Some(op) = &c.op {
            for key in op.deps().0 {
                providers.entry(key).or_default().push(i);
            }
        }
    }
    let mut waits = vec![BTreeSet::new(); n];
    for (i, c) in changes.iter().enumerate() {
        let Some(op) = &c.op else { continue };
        if op.is_delete() {
            for (j, d) in changes.iter().enumerate() {
                let earlier_delete = d.op.as_ref().is_some_and(|o| o.is_delete() && o.phase() < op.phase());
                if j != i && (!is_delete(d) || earlier_delete) {
                    waits[i].insert(j);
                }
            }
        } else {
            for need in op.deps().1 {
                for &j in providers.get(&need).into_iter().flatten() {
                    if j != i {
                        waits[i].insert(j);
                    }
                }
            }
        }
    }
    waits
}

/// Runs `changes` with at most `parallelism` calls in flight: a change starts as soon as the
/// changes it waits for ([`waits`]) are done. After a failure nothing new starts; what is in
/// flight finishes, and the rest is reported as not attempted (a re-run converges).
pub async fn run<F>(
    aws: &Aws,
    changes: &[Change],
    ids: Ids,
    parallelism: usize,
    config_dir: &Path,
    on_event: F,
) -> (Outcome, Ids)
where
    F: Fn(Event<'_>) + Sync,
{
    let ids = Mutex::new(ids);
    let mut outcome = Outcome::default();
    let waits = waits(changes);
    let parallelism = parallelism.max(1);
    let exec = |i: usize| {
        let change = &changes[i];
        let ids = &ids;
        let on_event = &on_event;
        async move {
            on_event(Event::Started { index: i, change });
            let r = match &change.op {
                Some(op) => execute(aws, op, ids, config_dir).await,
                None => Err(AwsError::Other("change has no operation (plan file without ops?)".into())),
            };
            match &r {
                Ok(()) => on_event(Event::Done { index: i, change }),
                Err(e) => on_event(Event::Failed { index: i, change, error: e }),
            }
            (i, r)
        }
    };
    let mut pending: BTreeSet<usize> = (0..changes.len()).collect();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    let mut stopped = false;
    loop {
        if !stopped {
            let free = parallelism.saturating_sub(running.len());
            let ready: Vec<usize> =
                pending.iter().copied().filter(|i| waits[*i].iter().all(|j| done.contains(j))).take(free).collect();
            for i in ready {
                pending.remove(&i);
                running.push(exec(i));
            }
        }
        match running.next().await {
            None => break,
            Some((i, Ok(()))) => {
                done.insert(i);
                outcome.done.push(i);
            }
            Some((i, Err(e))) => {
                outcome.failed.push((i, e));
                stopped = true;
            }
        }
    }
    drop(running);
    outcome.not_attempted = pending.into_iter().collect();
    outcome.done.sort_unstable();
    (outcome, ids.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Resource};
    use crate::state::{GroupState, PoolState, RoleState};

    fn change(op: Op) -> Change {
        Change {
            action: Action::Create,
            resource: Resource::Group,
            address: String::new(),
            name: String::new(),
            tenant: None,
            fields: vec![],
            op: Some(op),
        }
    }

    fn role(name: &str) -> RoleState {
        RoleState {
            address: format!("tenant/{name}/role/admin"),
            name: name.into(),
            path: "/tenantctl/saas/".into(),
            tenant: None,
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            trust_policy: serde_json::json!({}),
            tags: Default::default(),
            policies: Default::default(),
            attached_policies: Default::default(),
        }
    }

    /// A tenant's group waits for its own role and the pool, not for every role of the plan
    /// (the phased engine ran all of IAM before any of Cognito); deletions wait for the rest.
    #[test]
    fn groups_wait_for_their_own_role_only() {
        let pool = PoolState {
            address: "platform/pool".into(),
            name: "saas".into(),
            tenant: None,
            settings: Default::default(),
            attributes: Default::default(),
            groups: Default::default(),
            resource_servers: Default::default(),
            clients: Default::default(),
            usernames: None,
        };
        let group = |t: &str| {
            change(Op::PutGroup {
                pool: "platform/pool".into(),
                name: format!("{t}-admin"),
                group: GroupState {
                    description: None,
                    precedence: Some(1),
                    role_arn: Some(format!("arn:aws:iam::123456789012:role/tenantctl/saas/saas-{t}-admin")),
                },
                create: true,
            })
        };
        let changes = vec![
            change(Op::CreateRole { role: role("saas-a-admin") }),
            change(Op::CreateRole { role: role("saas-b-admin") }),
            change(Op::PutRolePolicy { role: "saas-a-admin".into(), name: "p".into(), document: serde_json::json!({}) }),
            change(Op::CreatePool { pool }),
            group("a"),
            group("b"),
            change(Op::DeleteRole { name: "saas-old-admin".into() }),
        ];
        let w = waits(&changes);
        assert_eq!(w[0], BTreeSet::new());
        assert_eq!(w[2], BTreeSet::from([0]));
        assert_eq!(w[3], BTreeSet::new(), "the pool does not wait for IAM");
        assert_eq!(w[4], BTreeSet::from([0, 3]));
        assert_eq!(w[5], BTreeSet::from([1, 3]));
        assert_eq!(w[6], (0..6).collect::<BTreeSet<_>>());
    }
}
