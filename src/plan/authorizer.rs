//! The authorizer wiring, pure: its desired state (from the folder, the pools' ids and the
//! code's hash) and its diff. (Being written.)

use crate::plan::Change;
use crate::state::{Ids, World};

/// Changes for the function, permission, authorizer and method authorization.
pub fn diff(_desired: &World, _observed: &World, _ids: &Ids, _out: &mut Vec<Change>) {}
