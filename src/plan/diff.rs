use super::{Plan, PlanError};
use crate::state::World;

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub prune: bool,
    pub scoped: bool,
}

pub fn plan(_desired: &World, _observed: &World, _opts: &PlanOptions) -> Result<Plan, PlanError> {
    Ok(Plan::default())
}
