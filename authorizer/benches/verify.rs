//! One warm verification: JWKS cached, RS256 signature check and every claim check.
//!
//!   cargo bench -p tenantctl-authorizer --bench verify

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tenantctl_authorizer::apigw::{authorize, TokenAuthorizerEvent};

#[path = "../tests/common/mod.rs"]
mod common;

fn warm_verify(c: &mut Criterion) {
    let (verifier, fetcher, _clock) = common::verifier();
    let token = common::sign(&common::good_claims());
    verifier.verify(&token).expect("good token");
    c.bench_function("verify_warm", |b| b.iter(|| verifier.verify(black_box(&token)).unwrap()));
    let event = TokenAuthorizerEvent {
        type_: "TOKEN".into(),
        authorization_token: format!("Bearer {token}"),
        method_arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders".into(),
    };
    c.bench_function("authorize_warm", |b| b.iter(|| authorize(&verifier, black_box(&event)).unwrap()));
    assert_eq!(fetcher.count(), 1);
}

criterion_group!(benches, warm_verify);
criterion_main!(benches);
