//! What the kinds' tests share: the example folder, edited copies of it, and the desired world
//! of a folder as a session builds it.

use std::path::Path;

use super::DesiredCtx;
use crate::check::load_valid;
use crate::spec::desired::RenderEnv;
use crate::spec::{Folder, SpecErrors};
use crate::state::World;

/// The AWS values the tests render with.
pub(crate) fn env() -> RenderEnv {
    RenderEnv { account_id: "123456789012".into(), region: "us-east-1".into(), partition: "aws".into() }
}

/// The example folder (the repository's `tenants/` and `policies/`).
pub(crate) fn example_folder() -> Folder {
    load_valid(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("example folder is valid")
}

/// The example folder with its platform file edited by `edit`, and these tenant files (each
/// `id` with `extra` appended to a minimal tenant).
pub(crate) fn folder_edited(
    edit: &dyn Fn(&str) -> String,
    tenants: &[(&str, &str)],
) -> (tempfile::TempDir, Result<Folder, SpecErrors>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("tenants")).unwrap();
    std::fs::create_dir_all(tmp.path().join("policies")).unwrap();
    for p in ["tenant-data-rw.json", "tenant-data-ro.json"] {
        std::fs::copy(root.join("policies").join(p), tmp.path().join("policies").join(p)).unwrap();
    }
    let platform = std::fs::read_to_string(root.join("tenants/platform.yaml")).unwrap();
    std::fs::write(tmp.path().join("tenants/platform.yaml"), edit(&platform)).unwrap();
    for (id, extra) in tenants {
        std::fs::write(
            tmp.path().join(format!("tenants/{id}.yaml")),
            format!("apiVersion: tenantctl/v1\nkind: Tenant\nid: {id}\nvars: {{bucket: data}}\n{extra}"),
        )
        .unwrap();
    }
    let f = load_valid(tmp.path());
    (tmp, f)
}

/// The desired world of `f` (every kind's instances), with the authorizer code's hash `c2hh`
/// and, in emulator mode, the emulator's endpoint `jwks`.
pub(crate) fn desired_world(f: &Folder, jwks: Option<&str>) -> World {
    let ctx = DesiredCtx { env: env(), code_sha256: Some("c2hh".into()), jwks_endpoint: jwks.map(str::to_string) };
    super::desired(f, &ctx).expect("desired world")
}
