//! Cognito adapter: reads managed pools into the observed world; executes pool ops.
//! (Being written: see the module docs in the final version.)

use tokio::sync::Mutex;

use super::{Aws, AwsError};
use crate::plan::Op;
use crate::state::{Ids, World};

/// Reads every pool this platform manages (identified by its tags) into `world.pools`,
/// keyed by address, and their ids into `ids`. When `scoped`, reads only the pools and the
/// groups named in `desired` (for `--tenant`).
pub async fn observe(_aws: &Aws, _desired: &World, _scoped: bool, _world: &mut World, _ids: &mut Ids) -> Result<(), AwsError> {
    Err(AwsError::Other("cognito observe: not implemented yet".into()))
}

/// Executes one pool-related op.
pub async fn execute(_aws: &Aws, op: &Op, _ids: &Mutex<Ids>) -> Result<(), AwsError> {
    Err(AwsError::Other(format!("cognito execute {op:?}: not implemented yet")))
}
