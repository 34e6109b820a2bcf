//! The deployment package tenantctl uploads (contract §1.7): the folder's code zip
//! (`authorizer.function.code`) plus the authorizer's configuration, `tenantctl-authorizer.json`
//! beside `bootstrap`.
//!
//! Built deterministically: the code zip's entries are copied as they are (raw, in their
//! order; a `tenantctl-authorizer.json` already there is dropped), then the configuration is
//! stored (not compressed, so no compressor's version changes the bytes) with a fixed time
//! (1980-01-01) and mode (0644). An unchanged folder gives the same bytes, so the same
//! `CodeSha256`: nothing to upload.
//!
//! The configuration is held as entries per field ([`Entries`]), the unit `plan` shows
//! changes in (tenants added and removed, issuers, clients...):
//!
//! | field | entry | in the file |
//! | --- | --- | --- |
//! | `issuers` | `ISSUER=TENANT` or `ISSUER=*` | `{"ISSUER": "TENANT"}` |
//! | `clients` | `CLIENT_ID:POOL_ID` | `{"CLIENT_ID": "POOL_ID"}` |
//! | `identityProviders` | `PROVIDER:TENANT` or `PROVIDER:*` | `{"PROVIDER": "TENANT"}` |
//! | `tenants` | a declared tenant id | `["TENANT", ...]` |
//! | `roles` | `ROLE:PRECEDENCE` | `{"ROLE": PRECEDENCE}` |
//! | `usagePlans` | a usage plan id | `["ID", ...]` |
//! | `methodScopes` | `["METHOD /path", ["scope", ...]]` (JSON) | `{"METHOD /path": ["scope", ...]}` |
//! | `tenancy` | `roles=per-tenant\|shared`, `groups=per-tenant\|shared` | `{"roles": "shared", "groups": "shared"}` |

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// The configuration's file name in the package (the authorizer's `CONFIG_FILE`).
pub const CONFIG_FILE: &str = "tenantctl-authorizer.json";

/// The file's `format`.
pub const FORMAT: u64 = 1;

/// The configuration's fields, in the file's order.
pub const FIELDS: [&str; 8] =
    ["issuers", "clients", "identityProviders", "tenants", "roles", "usagePlans", "methodScopes", "tenancy"];

/// The configuration: each field's entries (see the module's table).
pub type Entries = BTreeMap<String, Vec<String>>;

/// The file's bytes: compact JSON, fields in [`FIELDS`] order, each map's keys and each list
/// sorted, every field present (empty when it lists nothing).
pub fn config_json(config: &Entries) -> Result<Vec<u8>, String> {
    let mut out = Map::new();
    out.insert("format".into(), Value::from(FORMAT));
    for field in FIELDS {
        let mut entries: Vec<&String> = config.get(field).map(|e| e.iter().collect()).unwrap_or_default();
        entries.sort();
        entries.dedup();
        let bad = |e: &str| format!("{CONFIG_FILE}: {field}: entry {e:?} is not in its form");
        let value = match field {
            "tenants" | "usagePlans" => Value::Array(entries.iter().map(|e| Value::from(e.as_str())).collect()),
            "methodScopes" => {
                let mut m = BTreeMap::new();
                for e in entries {
                    let (k, v): (String, Vec<String>) = serde_json::from_str(e).map_err(|_| bad(e))?;
                    m.insert(k, Value::from(v));
                }
                Value::Object(m.into_iter().collect())
            }
            _ => {
                let mut m = BTreeMap::new();
                for e in entries {
                    let (k, v) = match field {
                        "issuers" => e.rsplit_once('='),
                        "tenancy" => e.split_once('='),
                        "clients" => e.split_once(':'),
                        _ => e.rsplit_once(':'),
                    }
                    .ok_or_else(|| bad(e))?;
                    let v = if field == "roles" {
                        Value::from(v.parse::<u64>().map_err(|_| bad(e))?)
                    } else {
                        Value::from(v)
                    };
                    m.insert(k.to_string(), v);
                }
                Value::Object(m.into_iter().collect())
            }
        };
        out.insert(field.into(), value);
    }
    serde_json::to_vec(&Value::Object(out)).map_err(|e| e.to_string())
}

/// The entries of a configuration file (the inverse of [`config_json`]).
pub fn config_entries(json: &[u8]) -> Result<Entries, String> {
    let v: Value = serde_json::from_slice(json).map_err(|e| format!("{CONFIG_FILE}: {e}"))?;
    let Value::Object(m) = v else { return Err(format!("{CONFIG_FILE}: not a JSON object")) };
    let mut out = Entries::new();
    for field in FIELDS {
        let bad = || format!("{CONFIG_FILE}: {field} is not in its form");
        let entries: Vec<String> = match (field, m.get(field)) {
            (_, None) => Vec::new(),
            ("tenants" | "usagePlans", Some(Value::Array(a))) => {
                a.iter().map(|x| x.as_str().map(str::to_string).ok_or_else(bad)).collect::<Result<_, _>>()?
            }
            ("methodScopes", Some(Value::Object(o))) => o
                .iter()
                .map(|(k, v)| {
                    let scopes: Vec<String> = serde_json::from_value(v.clone()).map_err(|_| bad())?;
                    Ok(serde_json::to_string(&(k, scopes)).expect("strings serialize"))
                })
                .collect::<Result<_, String>>()?,
            ("issuers" | "clients" | "identityProviders" | "roles" | "tenancy", Some(Value::Object(o))) => {
                let sep = if matches!(field, "issuers" | "tenancy") { "=" } else { ":" };
                o.iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok(format!("{k}{sep}{s}")),
                        Value::Number(n) if field == "roles" => Ok(format!("{k}{sep}{n}")),
                        _ => Err(bad()),
                    })
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(bad()),
        };
        out.insert(field.to_string(), entries);
    }
    Ok(out)
}

/// The package: the code zip's entries, then the configuration file.
pub fn build(code: &[u8], config_json: &[u8]) -> Result<Vec<u8>, String> {
    let mut src = ZipArchive::new(Cursor::new(code)).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(code.len() + config_json.len() + 256)));
    for i in 0..src.len() {
        let entry = src.by_index_raw(i).map_err(|e| format!("entry {i}: {e}"))?;
        if entry.name() == CONFIG_FILE {
            continue;
        }
        out.raw_copy_file(entry).map_err(|e| format!("entry {i}: {e}"))?;
    }
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(config_json.len() >= u32::MAX as usize);
    out.start_file(CONFIG_FILE, options).map_err(|e| e.to_string())?;
    out.write_all(config_json).map_err(|e| e.to_string())?;
    Ok(out.finish().map_err(|e| e.to_string())?.into_inner())
}

/// The configuration file inside a package; None when the package holds none (a function
/// deployed before the configuration moved into the package).
pub fn config_file_of(package: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut zip = ZipArchive::new(Cursor::new(package)).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut file = match zip.by_name(CONFIG_FILE) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("{CONFIG_FILE}: {e}")),
    };
    let mut bytes = Vec::with_capacity(file.size() as usize);
    file.read_to_end(&mut bytes).map_err(|e| format!("{CONFIG_FILE}: {e}"))?;
    Ok(Some(bytes))
}

/// Base64 SHA-256, as Lambda's `CodeSha256`.
pub fn sha256(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// Per path: the code zip's `CodeSha256` and bytes.
type Cache = Mutex<HashMap<PathBuf, (String, Arc<Vec<u8>>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Tests: the code zip at `path` with hash `sha` holds `bytes` (no file is written).
#[cfg(test)]
pub(crate) fn seed(path: &Path, sha: &str, bytes: Vec<u8>) {
    cache().lock().expect("cache lock").insert(path.to_path_buf(), (sha.to_string(), Arc::new(bytes)));
}

/// A small code zip (one `bootstrap`), for tests.
#[cfg(test)]
pub(crate) fn test_code_zip() -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("bootstrap", SimpleFileOptions::default().unix_permissions(0o755)).unwrap();
    w.write_all(b"#!/bin/sh\n").unwrap();
    w.finish().unwrap().into_inner()
}

/// The bytes of the code zip at `path` whose hash the plan read as `sha` (plan and apply
/// build the package from them more than once: read once per process and hash). A zip that
/// changed since (its hash differs) is an error: the plan no longer says what it holds.
pub fn code(path: &Path, sha: &str) -> Result<Arc<Vec<u8>>, String> {
    let cache = cache();
    if let Some((known, bytes)) = cache.lock().expect("cache lock").get(path) {
        if known == sha {
            return Ok(bytes.clone());
        }
    }
    let bytes = Arc::new(
        std::fs::read(path).map_err(|e| format!("authorizer.function.code: cannot read {}: {e}", path.display()))?,
    );
    let now = sha256(&bytes);
    if now != sha {
        return Err(format!(
            "authorizer.function.code: {} changed since it was read (CodeSha256 {sha}, now {now}): plan again",
            path.display()
        ));
    }
    cache.lock().expect("cache lock").insert(path.to_path_buf(), (now, bytes.clone()));
    Ok(bytes)
}

/// The package of the code zip at `path` (hash `sha`) with `config`, and its `CodeSha256`.
pub fn package(path: &Path, sha: &str, config: &Entries) -> Result<(Vec<u8>, String), String> {
    let bytes = build(&code(path, sha)?, &config_json(config)?)?;
    let sha = sha256(&bytes);
    Ok((bytes, sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_zip() -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let o = SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("bootstrap", o).unwrap();
        w.write_all(b"#!/bin/sh\necho hi\n").unwrap();
        w.start_file(CONFIG_FILE, o).unwrap();
        w.write_all(b"{\"stale\": true}").unwrap();
        w.finish().unwrap().into_inner()
    }

    fn config() -> Entries {
        let e = |f: &str, v: &[&str]| (f.to_string(), v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        [
            e(
                "issuers",
                &[
                    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_B=initech",
                    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A=*",
                ],
            ),
            e("clients", &["c2:us-east-1_B", "c1:us-east-1_A"]),
            e("identityProviders", &["acme-okta:acme", "Google:*"]),
            e("tenants", &["initech", "acme", "globex"]),
            e("roles", &["member:10", "admin:1"]),
            e("usagePlans", &[]),
            e("methodScopes", &[r#"["GET /reports",["api/reports.read"]]"#]),
            e("tenancy", &["roles=shared", "groups=per-tenant"]),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn the_file_lists_every_field_in_order_sorted_and_reads_back() {
        let json = config_json(&config()).unwrap();
        let text = String::from_utf8(json.clone()).unwrap();
        assert_eq!(
            text,
            r#"{"format":1,"issuers":{"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A":"*","https://cognito-idp.us-east-1.amazonaws.com/us-east-1_B":"initech"},"clients":{"c1":"us-east-1_A","c2":"us-east-1_B"},"identityProviders":{"Google":"*","acme-okta":"acme"},"tenants":["acme","globex","initech"],"roles":{"admin":1,"member":10},"usagePlans":[],"methodScopes":{"GET /reports":["api/reports.read"]},"tenancy":{"groups":"per-tenant","roles":"shared"}}"#
        );
        let mut sorted = config();
        sorted.values_mut().for_each(|v| v.sort());
        assert_eq!(config_entries(&json).unwrap(), sorted);
    }

    #[test]
    fn an_unchanged_folder_gives_the_same_package_and_the_old_file_is_replaced() {
        let code = code_zip();
        let json = config_json(&config()).unwrap();
        let a = build(&code, &json).unwrap();
        let b = build(&code, &json).unwrap();
        assert_eq!(sha256(&a), sha256(&b));
        assert_eq!(config_file_of(&a).unwrap().unwrap(), json);
        let mut zip = ZipArchive::new(Cursor::new(&a)).unwrap();
        let names: Vec<String> = (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().to_string()).collect();
        assert_eq!(names, ["bootstrap", CONFIG_FILE]);
        let mut boot = String::new();
        zip.by_name("bootstrap").unwrap().read_to_string(&mut boot).unwrap();
        assert_eq!(boot, "#!/bin/sh\necho hi\n");
        // One more tenant: another package.
        let mut more = config();
        more.get_mut("tenants").unwrap().push("hooli".into());
        assert_ne!(sha256(&build(&code, &config_json(&more).unwrap()).unwrap()), sha256(&a));
    }

    #[test]
    fn a_package_without_the_file_has_no_configuration() {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file("bootstrap", SimpleFileOptions::default()).unwrap();
        w.write_all(b"x").unwrap();
        let zip = w.finish().unwrap().into_inner();
        assert_eq!(config_file_of(&zip).unwrap(), None);
        assert!(config_file_of(b"not a zip").is_err());
    }
}
