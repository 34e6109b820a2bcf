//! API Gateway + Lambda adapter for the tenant authorizer. (Being written.)

use std::path::Path;

use tokio::sync::Mutex;

use super::{Aws, AwsError};
use crate::plan::Op;
use crate::spec::model::AuthorizerSpec;
use crate::state::{Ids, World};

/// Reads the REST API's authorizer, its function, permission and the listed methods.
pub async fn observe(_aws: &Aws, _spec: &AuthorizerSpec, _world: &mut World, _ids: &mut Ids) -> Result<(), AwsError> {
    Err(AwsError::Other("authorizer observe: not implemented yet".into()))
}

/// Executes one authorizer-related op (`PutFunction`, `PutAuthorizer`, `PutPermission`, `SetMethodAuth`).
pub async fn execute(_aws: &Aws, op: &Op, _ids: &Mutex<Ids>, _config_dir: &Path) -> Result<(), AwsError> {
    Err(AwsError::Other(format!("authorizer execute {op:?}: not implemented yet")))
}
