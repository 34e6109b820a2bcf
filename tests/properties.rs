//! Property: for any tenant id validation accepts, no rendered policy mentions another
//! tenant's id, and no wildcard or policy variable in the output came from tenant input.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::Value;
use tenantctl::spec::{template, validate};

fn templates() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    let mut out: Vec<Value> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    // A template that puts every tenant-controlled value into a resource.
    out.push(serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::{{tenant.vars.bucket}}/{{tenant.id}}/${aws:PrincipalTag/tenant_id}/*"}]}));
    out
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn danger(s: &str) -> (usize, usize, usize) {
    (s.matches('*').count(), s.matches('?').count(), s.matches("${").count())
}

fn tokens(s: &str) -> Vec<&str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).filter(|t| !t.is_empty()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rendering_never_leaks_or_widens(
        a in "[a-z0-9][a-z0-9-]{0,30}[a-z0-9]|[a-z0-9]",
        b in "[a-z0-9][a-z0-9-]{0,30}[a-z0-9]|[a-z0-9]",
        bucket in "\\PC{0,24}",
    ) {
        prop_assume!(validate::tenant_id_problem(&a).is_none());
        prop_assume!(validate::tenant_id_problem(&b).is_none());
        prop_assume!(a != b);
        let vars = BTreeMap::from([("bucket".to_string(), bucket.clone())]);
        let ctx = template::Context { tenant_id: &a, vars: &vars, platform: "saas", role: "admin",
                                      account_id: "123456789012", region: "us-east-1" };
        for tpl in templates() {
            let mut before = Vec::new();
            strings(&tpl, &mut before);
            match template::render(&tpl, &ctx) {
                Err(_) => {
                    // Refused input must be input that could widen access.
                    prop_assert!(template::widening_reason(&bucket).is_some());
                }
                Ok(doc) => {
                    let mut after = Vec::new();
                    strings(&doc, &mut after);
                    prop_assert_eq!(before.len(), after.len());
                    for (t, r) in before.iter().zip(&after) {
                        // Wildcards and variables in the output are exactly the template's.
                        prop_assert_eq!(danger(t), danger(r), "{} -> {}", t, r);
                        // Another tenant's id appears only if this tenant's own inputs or the
                        // template text carry it.
                        if tokens(r).contains(&b.as_str()) {
                            prop_assert!(tokens(t).contains(&b.as_str()) || a.contains(&b) || bucket.contains(&b),
                                "{} leaked into {}", b, r);
                        }
                    }
                }
            }
        }
    }
}
