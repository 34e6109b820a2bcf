//! Shared plumbing of the AWS commands: runtime, session, stats, errors.

use std::future::Future;

use super::{Cli, CliError};
use crate::aws::Limiter;
use crate::ops::{AwsArgs, OpsError, Session};

pub fn block_on<F: Future<Output = Result<i32, CliError>>>(f: F) -> Result<i32, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::msg(format!("cannot start the async runtime: {e}")))?
        .block_on(f)
}

pub fn aws_args(cli: &Cli) -> AwsArgs {
    AwsArgs { region: cli.region.clone(), profile: cli.profile.clone(), endpoint: cli.endpoint_url.clone() }
}

pub async fn open(cli: &Cli, tenants: &[String]) -> Result<Session, CliError> {
    open_with(cli, tenants, Limiter::default()).await
}

pub async fn open_with(cli: &Cli, tenants: &[String], limiter: Limiter) -> Result<Session, CliError> {
    Ok(Session::open(&cli.config_dir, &aws_args(cli), tenants, limiter).await?)
}

/// Plans; on a plan error the stats still go out (a refused plan made no write).
pub fn plan(cli: &Cli, s: &Session, opts: &crate::plan::PlanOptions) -> Result<crate::plan::Plan, CliError> {
    s.plan(opts).map_err(|e| {
        print_stats(cli, s);
        e.into()
    })
}

pub fn print_stats(cli: &Cli, s: &Session) {
    if cli.stats {
        eprint!("{}", super::show::stats_text(&s.aws.stats, s.started.elapsed().as_millis()));
    }
}

impl From<OpsError> for CliError {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Spec(s) => CliError::Spec(s),
            OpsError::Plan(p) => CliError::hint(p.to_string(), p.hint()),
            // What tenantctl will not decide alone (two pools claiming one name, a managed pool
            // without its tags, a concurrent run): the message names the way forward.
            OpsError::Aws(a @ crate::aws::AwsError::Conflict(_)) => {
                CliError::hint(a.to_string(), "do what the message says, then run again")
            }
            OpsError::Aws(a) => {
                let hint = match a.code() {
                    Some("RequestFailed") => "check the network, the region and --endpoint-url",
                    Some(
                        "UnrecognizedClientException"
                        | "InvalidClientTokenId"
                        | "ExpiredToken"
                        | "AccessDenied"
                        | "AccessDeniedException",
                    ) => "check the AWS credentials and permissions (AWS_PROFILE, --profile)",
                    _ => "re-run to retry; tenantctl converges from any partial state",
                };
                CliError::hint(a.to_string(), hint)
            }
            OpsError::Other { message, hint } => CliError::Msg { message, hint },
        }
    }
}

impl From<crate::plan::PlanError> for CliError {
    fn from(p: crate::plan::PlanError) -> Self {
        CliError::hint(p.to_string(), p.hint())
    }
}
