//! Cold start: `Config::from_env_and_file` on a large platform's tenantctl-authorizer.json,
//! 100,000 pooled tenants plus 1,000 silo tenants (each its own pool, issuer and app client).
//!
//!   cargo bench -p tenantctl-authorizer --bench config

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Map};
use tenantctl_authorizer::Config;

const POOLED: usize = 100_000;
const SILOS: usize = 1_000;

fn iss(pool: &str) -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_{pool}")
}

/// The file as `tenantctl apply` writes it (maps and lists sorted).
fn large_file() -> Vec<u8> {
    let mut issuers = Map::new();
    let mut clients = Map::new();
    issuers.insert(iss("shared"), json!("*"));
    clients.insert("sharedclient".into(), json!("us-east-1_shared"));
    let mut tenants: Vec<String> = (0..POOLED).map(|i| format!("tenant-{i:06}")).collect();
    for i in 0..SILOS {
        let tenant = format!("silo-{i:04}");
        issuers.insert(iss(&format!("silo{i:04}")), json!(tenant));
        clients.insert(format!("siloclient{i:04}"), json!(format!("us-east-1_silo{i:04}")));
        tenants.push(tenant);
    }
    tenants.sort();
    json!({
        "format": 1,
        "issuers": issuers,
        "clients": clients,
        "identityProviders": {"acme-okta": "tenant-000001", "Google": "*"},
        "tenants": tenants,
        "roles": {"admin": 1, "member": 10, "viewer": 20},
        "usagePlans": ["basic", "premium"],
        "methodScopes": {"GET /reports": ["api/reports.read"]},
    })
    .to_string()
    .into_bytes()
}

fn small_env() -> HashMap<String, String> {
    [
        ("TENANTCTL_PLATFORM", "acmesaas"),
        ("TENANTCTL_ACCOUNT_ID", "123456789012"),
        ("TENANTCTL_REGION", "us-east-1"),
        ("TENANTCTL_TOKEN_USE", "id"),
        ("TENANTCTL_TENANT_ATTRIBUTE", "tenant_id"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn load_large_config(c: &mut Criterion) {
    let file = large_file();
    let env = small_env();
    let config = Config::from_env_and_file(&env, &file).expect("valid file");
    assert_eq!(config.tenants.len(), POOLED + SILOS);
    assert_eq!(config.issuers.len(), SILOS + 1);
    // Roughly the heap the tenants take: a BTreeSet node per ~11 keys, a String (24 bytes)
    // and its allocation (rounded to 16) per tenant.
    let tenant_bytes: usize = config.tenants.iter().map(|t| 24 + t.len().div_ceil(16) * 16).sum();
    eprintln!(
        "file {} KB; {} tenants, {} issuers, {} clients; tenants ~{} KB in memory",
        file.len() / 1024,
        config.tenants.len(),
        config.issuers.len(),
        config.client_ids.len(),
        tenant_bytes / 1024
    );
    let mut g = c.benchmark_group("config");
    g.sample_size(20);
    g.bench_function("from_env_and_file_100k_tenants_1k_silos", |b| {
        b.iter(|| Config::from_env_and_file(black_box(&env), black_box(&file)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, load_large_config);
criterion_main!(benches);
