//! Release plumbing: the setup action (`action.yml`) run against a local stand-in for GitHub's
//! release downloads, the asset names the workflow, the action and `cargo binstall` agree on,
//! and (ignored unless built) the static Linux archive `scripts/build-release` produces.
//!
//!     cargo test --test release
//!     scripts/build-release && cargo test --test release -- --ignored    (the built archive)

use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every target the release workflow builds, with its archive extension.
const TARGETS: [(&str, &str); 5] = [
    ("x86_64-unknown-linux-musl", "tar.gz"),
    ("aarch64-unknown-linux-musl", "tar.gz"),
    ("x86_64-apple-darwin", "tar.gz"),
    ("aarch64-apple-darwin", "tar.gz"),
    ("x86_64-pc-windows-msvc", "zip"),
];

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> yaml_rust2::Yaml {
    yaml_rust2::YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")).remove(0)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves `dir`'s files under `/<repo>/releases/download/<tag>/` (the path of GitHub's release
/// downloads) on 127.0.0.1; anything else is 404. Returns the base URL.
fn release_server(dir: PathBuf, repo: &str, tag: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let prefix = format!("/{repo}/releases/download/{tag}/");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).map(|n| n == 0).unwrap_or(true) || header == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let file = path.strip_prefix(&prefix).filter(|f| !f.contains('/')).map(|f| dir.join(f));
            let (status, body) = match file.and_then(|f| std::fs::read(f).ok()) {
                Some(body) => ("200 OK", body),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
        }
    });
    base
}

/// The runner's (os, arch) names for this host, and the release target they select.
fn runner_platform() -> (&'static str, &'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        _ => ("Linux", "X64", "x86_64-unknown-linux-musl"),
    }
}

struct ActionRun {
    ok: bool,
    log: String,
    github_path: String,
    github_output: String,
}

/// Runs the setup action's script as GitHub's runner would, against `server`.
fn run_action(server: &str, version: &str, temp: &Path, platform: (&str, &str)) -> ActionRun {
    let action = yaml("action.yml");
    let steps = action["runs"]["steps"].as_vec().expect("runs.steps");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    assert_eq!(steps.len(), 1);
    let script = steps[0]["run"].as_str().expect("run");
    let runner_temp = temp.join("runner");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let (github_path, github_output) = (temp.join("GITHUB_PATH"), temp.join("GITHUB_OUTPUT"));
    std::fs::write(&github_path, "").unwrap();
    std::fs::write(&github_output, "").unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("TENANTCTL_VERSION", version)
        .env("TENANTCTL_REPOSITORY", "acme/tenantctl")
        .env("TENANTCTL_TOKEN", "")
        .env("RUNNER_OS_NAME", platform.0)
        .env("RUNNER_ARCH_NAME", platform.1)
        .env("GITHUB_SERVER_URL", server)
        .env("RUNNER_TEMP", &runner_temp)
        .env("GITHUB_PATH", &github_path)
        .env("GITHUB_OUTPUT", &github_output)
        .output()
        .expect("bash");
    ActionRun {
        ok: out.status.success(),
        log: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        github_path: std::fs::read_to_string(&github_path).unwrap(),
        github_output: std::fs::read_to_string(&github_output).unwrap(),
    }
}

/// A release folder with a stand-in `tenantctl` (a script printing `tenantctl <says>`) packed as
/// the target's archive, and its .sha256 file (`checksum` replaces the right one when given).
fn fake_release(dir: &Path, target: &str, says: &str, checksum: Option<&str>) {
    let stage = dir.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    let exe = stage.join("tenantctl");
    std::fs::write(&exe, format!("#!/bin/sh\necho 'tenantctl {says}'\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(stage.join("README.md"), "readme").unwrap();
    let asset = format!("tenantctl-{target}.tar.gz");
    let status = Command::new("tar")
        .args(["-C"])
        .arg(&stage)
        .args(["-czf"])
        .arg(dir.join(&asset))
        .args(["tenantctl", "README.md"])
        .status()
        .unwrap();
    assert!(status.success());
    let hash = sha256_hex(&std::fs::read(dir.join(&asset)).unwrap());
    std::fs::write(dir.join(format!("{asset}.sha256")), format!("{}  {asset}\n", checksum.unwrap_or(&hash))).unwrap();
}

#[test]
fn setup_action_installs_the_verified_binary_on_path() {
    let (os, arch, target) = runner_platform();
    let tmp = tempfile::tempdir().unwrap();
    let release = tmp.path().join("release");
    fake_release(&release, target, "9.9.9", None);
    let server = release_server(release, "acme/tenantctl", "v9.9.9");
    for version in ["9.9.9", "v9.9.9"] {
        let run = run_action(&server, version, tmp.path(), (os, arch));
        assert!(run.ok, "{}", run.log);
        assert!(run.log.contains("SHA-256 verified"), "{}", run.log);
        let bin_dir = run.github_path.trim();
        assert!(bin_dir.ends_with(&format!("tenantctl-9.9.9-{target}/bin")), "{bin_dir}");
        let exe = Path::new(bin_dir).join("tenantctl");
        let says = Command::new(&exe).arg("--version").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&says.stdout).trim(), "tenantctl 9.9.9");
        assert!(run.github_output.contains("version=9.9.9\n"), "{}", run.github_output);
        assert!(run.github_output.contains(&format!("path={}\n", exe.display())), "{}", run.github_output);
    }
}

#[test]
fn setup_action_refuses_a_wrong_checksum_a_wrong_version_and_a_missing_release() {
    let (os, arch, target) = runner_platform();
    let tmp = tempfile::tempdir().unwrap();
    let tampered = tmp.path().join("tampered");
    fake_release(&tampered, target, "9.9.9", Some(&"0".repeat(64)));
    let server = release_server(tampered, "acme/tenantctl", "v9.9.9");
    let run = run_action(&server, "9.9.9", tmp.path(), (os, arch));
    assert!(!run.ok && run.log.contains("SHA-256 mismatch"), "{}", run.log);
    assert_eq!(run.github_path, "", "nothing on PATH");

    let other = tmp.path().join("other");
    fake_release(&other, target, "9.9.8", None);
    let server = release_server(other, "acme/tenantctl", "v9.9.9");
    let run = run_action(&server, "9.9.9", tmp.path(), (os, arch));
    assert!(!run.ok && run.log.contains("expected tenantctl 9.9.9"), "{}", run.log);
    assert_eq!(run.github_path, "");

    // No such release: curl -f fails, the action fails.
    let run = run_action(&server, "1.0.0", tmp.path(), (os, arch));
    assert!(!run.ok, "{}", run.log);
    assert_eq!(run.github_path, "");

    let run = run_action(&server, "9.9.9", tmp.path(), ("Linux", "ARM"));
    assert!(!run.ok && run.log.contains("no release build for Linux/ARM"), "{}", run.log);
}

#[test]
fn workflow_action_binstall_and_build_script_agree_on_asset_names() {
    let workflow = yaml(".github/workflows/release.yml");
    let built: Vec<String> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .expect("build matrix")
        .iter()
        .map(|m| m["target"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = TARGETS.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(built, expected, "the release workflow's targets");
    let authorizer: Vec<&str> = workflow["jobs"]["authorizer"]["strategy"]["matrix"]["arch"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(authorizer, ["x86_64", "arm64"]);

    let action = read("action.yml");
    for (target, ext) in TARGETS {
        assert!(action.contains(&format!("target={target}; ext={ext};")), "action.yml lacks {target}");
    }
    assert!(action.contains(r#"asset="tenantctl-$target.$ext""#));

    let script = read("scripts/build-release");
    assert!(
        script.contains(r#"ARCHIVE="tenantctl-$TARGET.tar.gz""#)
            && script.contains(r#"ARCHIVE="tenantctl-$TARGET.zip""#)
    );

    let manifest: toml_lite::Table = toml_lite::parse(&read("Cargo.toml"));
    let url = |key: &str| manifest.get(key).unwrap_or_else(|| panic!("Cargo.toml: {key}")).to_string();
    let base = "{ repo }/releases/download/v{ version }/";
    assert_eq!(url("package.metadata.binstall.pkg-url"), format!("{base}{{ name }}-{{ target }}.tar.gz"));
    assert_eq!(url("package.metadata.binstall.bin-dir"), "{ bin }{ binary-ext }");
    assert_eq!(
        url("package.metadata.binstall.overrides.x86_64-pc-windows-msvc.pkg-url"),
        format!("{base}{{ name }}-{{ target }}.zip")
    );
    for arch in ["x86_64", "aarch64"] {
        assert_eq!(
            url(&format!("package.metadata.binstall.overrides.{arch}-unknown-linux-gnu.pkg-url")),
            format!("{base}{{ name }}-{arch}-unknown-linux-musl.tar.gz")
        );
    }
}

/// Just enough TOML for the checks above: `key = "string"` lines under `[table]` headers.
mod toml_lite {
    pub type Table = std::collections::BTreeMap<String, String>;

    pub fn parse(text: &str) -> Table {
        let mut out = Table::new();
        let mut table = String::new();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                table = name.trim_matches(|c| c == '[' || c == ']').to_string();
            } else if let Some((key, value)) = line.split_once(" = ") {
                if let Some(s) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    out.insert(format!("{table}.{}", key.trim()), s.to_string());
                }
            }
        }
        out
    }
}

/// The host's static Linux archive from `scripts/build-release` (TENANTCTL_RELEASE_DIR, default
/// target/dist): its checksum file matches, the binary is static (no ELF interpreter), prints
/// this crate's version and validates the repository's example platform.
#[test]
#[ignore = "needs the archive of scripts/build-release (run it, then: cargo test --test release -- --ignored)"]
fn the_built_static_linux_binary_runs() {
    let (_, _, target) = runner_platform();
    let dir = std::env::var_os("TENANTCTL_RELEASE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("target/dist"));
    let asset = format!("tenantctl-{target}.tar.gz");
    let archive = std::fs::read(dir.join(&asset)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(&asset).display()));
    let listed = std::fs::read_to_string(dir.join(format!("{asset}.sha256"))).unwrap();
    assert_eq!(listed, format!("{}  {asset}\n", sha256_hex(&archive)));

    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new("tar").arg("-xzf").arg(dir.join(&asset)).arg("-C").arg(tmp.path()).status().unwrap();
    assert!(status.success());
    for file in ["tenantctl", "README.md", "CHANGELOG.md"] {
        assert!(tmp.path().join(file).is_file(), "{file} missing from {asset}");
    }
    let exe = tmp.path().join("tenantctl");
    assert!(!has_elf_interpreter(&std::fs::read(&exe).unwrap()), "{asset}: dynamically linked (has PT_INTERP)");

    let out = Command::new(&exe).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("tenantctl {}", env!("CARGO_PKG_VERSION")));
    let out = Command::new(&exe).args(["--no-color", "validate", "-C", ROOT]).output().unwrap();
    assert!(
        out.status.success(),
        "validate -C {ROOT}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether a 64-bit little-endian ELF file has a PT_INTERP program header (a dynamic loader).
fn has_elf_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!((elf[4], elf[5]), (2, 1), "not a 64-bit little-endian ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}
