//! Runs a plan: phase by phase in dependency order (roles before the groups that point at
//! them, pools before their clients, the function before the authorizer before the methods),
//! each phase with bounded concurrency. Rates are kept under the quotas by the adapters'
//! limiter (the SDK's standard retries handle throttling and slow the limiter down); IAM
//! propagation is retried by the adapters. On a failure the current phase finishes and later phases are not started, so the
//! report says exactly what was done and what was not; a re-run converges.

use std::path::Path;

use futures::stream::{self, StreamExt};
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
        Op::CreatePool { .. } | Op::UpdatePool { .. } | Op::AddAttribute { .. } | Op::DeletePool { .. } => {
            aws::cognito::execute(aws, op, ids).await
        }
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
        Op::Item { .. } => crate::kinds::execute(aws, op, ids).await,
    }
}

/// Runs `changes` (already in order) with at most `parallelism` calls in flight per phase.
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
    let mut phases: Vec<(u8, Vec<usize>)> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let phase = c.op.as_ref().map_or(u8::MAX, Op::phase);
        match phases.last_mut() {
            Some((p, v)) if *p == phase => v.push(i),
            _ => phases.push((phase, vec![i])),
        }
    }
    let mut stopped = false;
    for (_, indices) in phases {
        if stopped {
            outcome.not_attempted.extend(indices);
            continue;
        }
        let results: Vec<(usize, Result<(), AwsError>)> = stream::iter(indices)
            .map(|i| {
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
            })
            .buffer_unordered(parallelism.max(1))
            .collect()
            .await;
        for (i, r) in results {
            match r {
                Ok(()) => outcome.done.push(i),
                Err(e) => {
                    outcome.failed.push((i, e));
                    stopped = true;
                }
            }
        }
    }
    outcome.done.sort_unstable();
    (outcome, ids.into_inner())
}
