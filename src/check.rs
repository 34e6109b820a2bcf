//! Validation of the whole folder: the folder-wide rules (`spec::validate`) and every kind's
//! own (`kinds::Kind::validate`). It sits above both, so that `spec` never imports `kinds`.

use std::path::Path;

use crate::kinds::KINDS;
use crate::spec::{self, Diagnostic, Folder, SpecErrors};

/// Every problem of the folder, each at its file, line and column: every kind's and the
/// folder-wide ones, sorted, each once. An empty result means the folder is valid.
pub fn validate(folder: &Folder) -> Vec<Diagnostic> {
    let found = KINDS.iter().flat_map(|k| k.validate(folder)).collect();
    spec::validate::validate_with(folder, found)
}

/// Loads and validates: the folder is good to render and plan.
///
/// Every problem of every file is reported in one run: the folder-wide rules and the kinds'
/// also run on what could be read when some documents have problems.
pub fn load_valid(root: &Path) -> Result<Folder, SpecErrors> {
    let (folder, mut diags) = spec::load_all(root);
    let Some(folder) = folder else {
        return Err(SpecErrors(diags));
    };
    diags.extend(validate(&folder));
    if diags.is_empty() {
        Ok(folder)
    } else {
        diags.sort();
        diags.dedup();
        Err(SpecErrors(diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Kind;

    /// The example folder in a scratch directory, its platform edited by `edit`, with
    /// `policies/tenant-data-rw.json` replaced by `rw` when given.
    fn example(edit: &dyn Fn(&str) -> String, rw: Option<&str>) -> (tempfile::TempDir, Folder) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let tmp = tempfile::tempdir().unwrap();
        for dir in ["tenants", "policies"] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = e.unwrap().path();
                std::fs::copy(&p, tmp.path().join(dir).join(p.file_name().unwrap())).unwrap();
            }
        }
        let platform = tmp.path().join("tenants/platform.yaml");
        std::fs::write(&platform, edit(&std::fs::read_to_string(&platform).unwrap())).unwrap();
        if let Some(rw) = rw {
            std::fs::write(tmp.path().join("policies/tenant-data-rw.json"), rw).unwrap();
        }
        let (folder, diags) = spec::load_all(tmp.path());
        assert_eq!(diags, vec![]);
        (tmp, folder.unwrap())
    }

    fn messages(diags: &[Diagnostic]) -> Vec<String> {
        diags.iter().map(|d| format!("{}: {}", d.location(), d.message)).collect()
    }

    const BAD_DOMAIN: &str = "tenants/platform.yaml:8:11: domain prefix `aws-login` must be lowercase letters, digits and hyphens and may not contain aws, amazon or cognito";

    fn bad_domain(p: &str) -> String {
        p.replacen("userPool:\n", "userPool:\n  domain: aws-login\n", 1)
    }

    /// A rule of one kind is that kind's (`pool_domain`): `check::validate` reports it, the
    /// folder-wide rules alone do not.
    #[test]
    fn a_kinds_rule_is_checked_by_its_kind() {
        let (_tmp, folder) = example(&bad_domain, None);
        assert_eq!(messages(&validate(&folder)), [BAD_DOMAIN]);
        assert_eq!(messages(&crate::kinds::pool_domain::PoolDomain.validate(&folder)), [BAD_DOMAIN]);
        assert_eq!(messages(&spec::validate::validate(&folder)), Vec::<String>::new());
        let (_tmp, folder) = example(&|p| p.to_string(), None);
        assert_eq!(validate(&folder), vec![]);
    }

    /// The rendered policy sizes are checked only when nothing else was found, the kinds'
    /// findings included (as before the kinds' rules left `spec/validate.rs`).
    #[test]
    fn rendered_sizes_wait_for_the_kinds_rules() {
        let long = "x".repeat(11_000);
        let rw = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/{{{{tenant.id}}}}/{long}/*"}}]}}"#
        );
        let too_long = |diags: &[Diagnostic]| diags.iter().any(|d| d.message.contains("inline policies total"));
        let (_tmp, folder) = example(&|p| p.to_string(), Some(&rw));
        assert!(too_long(&validate(&folder)), "{:?}", messages(&validate(&folder)));
        let (_tmp, folder) = example(&bad_domain, Some(&rw));
        assert_eq!(messages(&validate(&folder)), [BAD_DOMAIN]);
    }
}
