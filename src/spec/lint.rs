//! Isolation lint for policy templates (contract §3): refuses statements that would let one
//! tenant's role reach another tenant's data, or escalate out of its role.
//!
//! The lint reads the template before rendering, so `{{tenant.id}}` still shows where the
//! author scoped by tenant. Tenant variables (`{{tenant.vars.*}}`) never count as scoping:
//! the tenant file controls them.

use serde_json::Value;

/// One finding: which rule, what is wrong, and a piece of the raw text to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub message: String,
    pub hint: &'static str,
    /// Text to search for in the template to place the finding.
    pub needle: String,
}

/// Services whose actions read or write tenant data.
const DATA_SERVICES: &[&str] = &[
    "s3",
    "dynamodb",
    "sqs",
    "sns",
    "kinesis",
    "firehose",
    "secretsmanager",
    "ssm",
    "kms",
    "rds-data",
    "rds-db",
    "es",
    "aoss",
    "athena",
    "glue",
    "timestream",
    "elasticfilesystem",
    "events",
    "states",
    "logs",
    "cloudwatch",
    "appsync",
    "execute-api",
];

/// The generated IAM data-action catalogue (scripts/gen-data-actions).
const DATA_ACTIONS: &str = include_str!("data_actions.txt");

/// Stub: the old hand-written list (to show the new tests failing before the fix).
pub fn is_data_action(action: &str) -> bool {
    DATA_SERVICES.contains(&service(action))
}

const TENANT_MARKERS: &[&str] = &["${aws:PrincipalTag/tenant_id}", "{{tenant.id}}", "{{ tenant.id }}"];

/// IAM action pattern match: `*` any run, `?` one character, case-insensitive.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

fn mentions_tenant(v: &Value) -> bool {
    match v {
        Value::String(s) => TENANT_MARKERS.iter().any(|m| s.contains(m)),
        Value::Array(a) => a.iter().any(mentions_tenant),
        Value::Object(o) => o.values().any(mentions_tenant),
        _ => false,
    }
}

fn service(action: &str) -> &str {
    action.split(':').next().unwrap_or("")
}

/// The statements of a policy document, with their index.
pub fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

/// Lints one template. An empty result means the template passes.
pub fn lint(doc: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    if statements(doc).is_empty() {
        out.push(Finding {
            rule: "no-statement",
            message: "the template has no `Statement`".into(),
            hint: "a policy template is an IAM policy document with a Statement list",
            needle: "{".into(),
        });
    }
    for (i, st) in statements(doc).into_iter().enumerate() {
        let sid = st
            .get("Sid")
            .and_then(Value::as_str)
            .map(|s| format!("statement `{s}`"))
            .unwrap_or_else(|| format!("statement {i}"));
        let sid_needle = st.get("Sid").and_then(Value::as_str).map(|s| format!("\"{s}\""));
        let allow = st.get("Effect").and_then(Value::as_str) == Some("Allow");
        let actions = strings(st.get("Action"));
        let resources = strings(st.get("Resource"));
        let condition = st.get("Condition");

        for a in &actions {
            if a.contains("${") {
                out.push(Finding {
                    rule: "variable-in-action",
                    message: format!("{sid}: policy variable in Action `{a}`"),
                    hint: "IAM allows policy variables only in Resource and Condition values",
                    needle: format!("\"{a}\""),
                });
            }
        }
        if !allow {
            continue;
        }
        for key in ["NotAction", "NotResource"] {
            if st.get(key).is_some() {
                out.push(Finding {
                    rule: "allow-with-not",
                    message: format!("{sid}: `Allow` with `{key}` grants everything not listed"),
                    hint: "list the actions and resources the role may use instead",
                    needle: format!("\"{key}\""),
                });
            }
        }
        let cond_scoped = condition.is_some_and(mentions_tenant);
        let res_scoped =
            !resources.is_empty() && resources.iter().all(|r| TENANT_MARKERS.iter().any(|m| r.contains(m)));

        for a in &actions {
            let svc = service(a);
            if a == "*" || svc == "*" {
                out.push(Finding {
                    rule: "action-star",
                    message: format!("{sid}: `Action: \"{a}\"` allows every action of every service"),
                    hint: "list the actions the role needs",
                    needle: format!("\"{a}\""),
                });
                continue;
            }
            if svc.eq_ignore_ascii_case("iam")
                && a.contains('*')
                && ["iam:PassRole", "iam:PutRolePolicy", "iam:CreateRole"].iter().any(|x| glob_match(a, x))
            {
                out.push(Finding {
                    rule: "iam-star",
                    message: format!("{sid}: `{a}` lets a tenant role administer IAM"),
                    hint: "tenant roles must not manage IAM; drop the iam actions",
                    needle: format!("\"{a}\""),
                });
                continue;
            }
            let escalation = glob_match(a, "iam:PassRole") || glob_match(a, "sts:AssumeRole");
            if escalation && resources.iter().any(|r| r == "*") {
                out.push(Finding {
                    rule: "escalation-on-star",
                    message: format!("{sid}: `{a}` on `Resource: \"*\"` lets a tenant role become any role"),
                    hint: "name the exact role ARNs, scoped to this tenant",
                    needle: format!("\"{a}\""),
                });
                continue;
            }
            if DATA_SERVICES.contains(&svc) && !cond_scoped && !res_scoped {
                let star = resources.iter().any(|r| r == "*");
                out.push(Finding {
                    rule: "unscoped-data",
                    message: if star {
                        format!("{sid}: `Resource: \"*\"` on the data action `{a}` without a `${{aws:PrincipalTag/tenant_id}}` condition reaches every tenant's data")
                    } else {
                        format!("{sid}: the data action `{a}` is not scoped to the tenant (no `${{aws:PrincipalTag/tenant_id}}` in its resources or conditions)")
                    },
                    hint: "scope the statement by ${aws:PrincipalTag/tenant_id} in the Resource (e.g. an S3 prefix) or a Condition (e.g. dynamodb:LeadingKeys)",
                    needle: sid_needle.clone().unwrap_or_else(|| format!("\"{a}\"")),
                });
                break;
            }
        }

        if let Some(Value::Object(ops)) = condition {
            let leading_keys = ops.values().any(|m| {
                m.as_object().is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case("dynamodb:LeadingKeys")))
            });
            if leading_keys {
                for a in &actions {
                    if glob_match(a, "dynamodb:Scan") {
                        out.push(Finding {
                            rule: "scan-with-leading-keys",
                            message: format!("{sid}: `{a}` in a statement scoped by dynamodb:LeadingKeys: Scan reads every partition, so the leading-key condition does not confine it"),
                            hint: "list the item actions (GetItem, Query, PutItem...) instead of dynamodb:* or Scan",
                            needle: format!("\"{a}\""),
                        });
                    }
                }
            }
            let null_guarded: Vec<String> = ops
                .iter()
                .filter(|(op, _)| op.as_str() == "Null")
                .filter_map(|(_, m)| m.as_object())
                .flat_map(|m| {
                    m.iter()
                        .filter(|(_, v)| v.as_str() == Some("false") || v == &&Value::Bool(false))
                        .map(|(k, _)| k.to_ascii_lowercase())
                })
                .collect();
            for (op, m) in ops {
                if !op.starts_with("ForAllValues:") {
                    continue;
                }
                for key in m.as_object().into_iter().flat_map(|m| m.keys()) {
                    if !null_guarded.contains(&key.to_ascii_lowercase()) {
                        out.push(Finding {
                            rule: "forallvalues-without-null",
                            message: format!("{sid}: `{op}` on `{key}` under Allow is true when the key is absent"),
                            hint: "add a `\"Null\": {\"<key>\": \"false\"}` condition for the same key",
                            needle: format!("\"{op}\""),
                        });
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(doc: Value) -> Vec<&'static str> {
        lint(&doc).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn glob() {
        assert!(glob_match("dynamodb:*", "dynamodb:Scan"));
        assert!(glob_match("dynamodb:S*", "dynamodb:Scan"));
        assert!(glob_match("DynamoDB:scan", "dynamodb:Scan"));
        assert!(!glob_match("dynamodb:Get*", "dynamodb:Scan"));
        assert!(glob_match("sts:Assume?ole", "sts:AssumeRole"));
    }

    #[test]
    fn scoped_templates_pass() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Items", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
             "Resource": "arn:aws:dynamodb:{{aws.region}}:{{aws.accountId}}:table/orders",
             "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/tenant_id}"]},
                           "Null": {"dynamodb:LeadingKeys": "false"}}},
            {"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/tenant_id}/*"}]});
        assert!(rules(doc).is_empty());
    }

    #[test]
    fn each_rule_fires() {
        let st = |s: Value| json!({"Statement": [s]});
        assert_eq!(rules(st(json!({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))), ["allow-with-not"]);
        assert_eq!(rules(st(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))), ["unscoped-data"]);
        assert_eq!(rules(st(json!({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:x"}))), ["iam-star"]);
        assert_eq!(
            rules(st(json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}))),
            ["escalation-on-star"]
        );
        assert_eq!(
            rules(st(json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))),
            ["escalation-on-star"]
        );
        assert_eq!(rules(st(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}))), ["action-star"]);
        assert_eq!(
            rules(st(json!({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:t",
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/tenant_id}"]}}}))),
            ["forallvalues-without-null"]
        );
        assert_eq!(
            rules(st(json!({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:t",
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/tenant_id}"]},
                              "Null": {"dynamodb:LeadingKeys": "false"}}}))),
            ["scan-with-leading-keys"]
        );
        // Deny statements are never a widening.
        assert!(rules(st(json!({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}))).is_empty());
    }

    const T: &str = "${aws:PrincipalTag/tenant_id}";

    fn one(s: Value) -> Vec<&'static str> {
        rules(json!({"Statement": [s]}))
    }

    fn s3_list(cond: Value) -> Value {
        json!({"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::shared", "Condition": cond})
    }

    // Item 9: a tenant value followed by a tenant-id character or a wildcard lets `beta` reach `beta-co`.
    #[test]
    fn prefix_collision_in_resources_is_refused() {
        for r in [
            format!("arn:aws:s3:::shared/{T}-*"),
            format!("arn:aws:s3:::shared/{T}*"),
            format!("arn:aws:s3:::shared/{T}?/*"),
            format!("arn:aws:s3:::shared/{T}x*"),
            "arn:aws:dynamodb:{{aws.region}}:{{aws.accountId}}:table/{{tenant.id}}-*".to_string(),
            format!("arn:aws:sqs:us-east-1:123456789012:{T}{{{{role}}}}*"),
        ] {
            let rs = one(json!({"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": r}));
            assert_eq!(rs, ["tenant-prefix-collision"], "{r}");
        }
        let f = lint(&json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::shared/{T}-*")}]}));
        assert_eq!(f[0].needle, format!("\"arn:aws:s3:::shared/{T}-*\""));
        assert!(f[0].hint.contains(&format!("arn:aws:s3:::shared/{T}/*")), "{}", f[0].hint);
    }

    #[test]
    fn prefix_collision_in_leading_keys_is_refused() {
        let st = json!({"Sid": "Items", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": "arn:aws:dynamodb:{{aws.region}}:{{aws.accountId}}:table/orders",
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [format!("{T}-*")]},
                          "Null": {"dynamodb:LeadingKeys": "false"}}});
        assert_eq!(one(st), ["tenant-prefix-collision"]);
        // The same value under StringEquals is the literal `beta-*`: no wildcard, no collision.
        let st = json!({"Sid": "Items", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:t",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [format!("{T}-*")]},
                          "Null": {"dynamodb:LeadingKeys": "false"}}});
        assert!(one(st).is_empty());
        // Any other StringLike on a tenant value collides the same way.
        let st = json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:123456789012:jobs",
            "Condition": {"StringLike": {"aws:ResourceTag/tenant_id": format!("{T}*")}}});
        assert_eq!(one(st), ["tenant-prefix-collision"]);
    }

    #[test]
    fn s3_prefix_collision_is_refused() {
        for cond in [
            json!({"StringEquals": {"s3:prefix": T}}),
            json!({"StringLike": {"s3:prefix": [T]}}),
            json!({"StringLike": {"s3:prefix": [format!("{T}*")]}}),
            json!({"StringLike": {"s3:prefix": [format!("tenants/{T}-*")]}}),
        ] {
            assert_eq!(one(s3_list(cond.clone())), ["tenant-prefix-collision"], "{cond}");
        }
    }

    #[test]
    fn exact_values_and_delimited_prefixes_pass() {
        for r in [
            format!("arn:aws:s3:::shared/{T}/*"),
            format!("arn:aws:s3:::shared/{T}"),
            format!("arn:aws:dynamodb:us-east-1:123456789012:table/{T}_*"),
            format!("arn:aws:dynamodb:us-east-1:123456789012:table/{T}-orders"),
            format!("arn:aws:s3:::shared/{T}-data/*"),
            format!("arn:aws:s3:::shared/{T}${{*}}"),
            "arn:aws:s3:::shared/{{tenant.id}}/*".to_string(),
        ] {
            assert!(one(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": r})).is_empty(), "{r}");
        }
        for cond in [
            json!({"StringLike": {"s3:prefix": [format!("{T}/*")]}}),
            json!({"StringEquals": {"s3:prefix": [format!("{T}/"), format!("tenants/{T}/")]}}),
            json!({"StringLike": {"s3:prefix": [format!("{T}/*"), "public/*"]}}),
        ] {
            assert!(one(s3_list(cond.clone())).is_empty(), "{cond}");
        }
        let st = json!({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:t",
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [format!("{T}#*")]},
                          "Null": {"dynamodb:LeadingKeys": "false"}}});
        assert!(one(st).is_empty());
    }

    #[test]
    fn listing_the_parent_of_all_tenants_is_refused() {
        for cond in [
            // AWS's "home folder" console example, with the tenant for the user name.
            json!({"StringLike": {"s3:prefix": ["", "tenants/", format!("tenants/{T}/*")]}}),
            json!({"StringEquals": {"s3:prefix": ["", format!("{T}/")]}}),
            json!({"StringLike": {"s3:prefix": ["tenants/*", format!("tenants/{T}/*")]}}),
            json!({"StringEquals": {"s3:prefix": ["tenants/"]}, "StringLike": {"s3:prefix": [format!("tenants/{T}/*")]}}),
            // No prefix at all lists the whole bucket.
            json!({"StringLikeIfExists": {"s3:prefix": [format!("{T}/*")]}}),
        ] {
            assert_eq!(one(s3_list(cond.clone())), ["list-all-tenants"], "{cond}");
        }
    }

    // Item 10: data actions come from the generated IAM catalogue.
    #[test]
    fn catalogue_data_actions_are_recognised() {
        for a in ["dax:Scan", "dax:GetItem", "dax:*", "dynamodb:Get*", "ssm:GetParameter", "ssm:GetParam*",
                  "qldb:SendCommand", "glacier:GetJobOutput", "backup:StartRestoreJob", "kafka-cluster:ReadData",
                  "s3:PutBucketPolicy", "kms:CreateGrant", "dynamodb:SomeActionNewerThanTheCatalogue"] {
            assert!(is_data_action(a), "{a}");
            assert_eq!(one(json!({"Sid": "X", "Effect": "Allow", "Action": a, "Resource": "*"})), ["unscoped-data"], "{a}");
        }
        for a in ["ssm:GetDocument", "ssm:*Document*", "glue:StartJobRun", "ec2:DescribeInstances", "lambda:InvokeFunction",
                  "elasticache:DescribeCacheClusters"] {
            assert!(!is_data_action(a), "{a}");
        }
    }

    #[test]
    fn catalogue_file_is_the_generated_one() {
        assert!(DATA_ACTIONS.starts_with("# GENERATED by scripts/gen-data-actions"));
        assert!(DATA_ACTIONS.lines().any(|l| l == "dax:Scan"));
    }

    // Item 11: ForAllValues limiting another key in a tenant-scoped statement is AWS's idiom.
    #[test]
    fn forallvalues_limiting_other_keys_in_a_scoped_statement_passes() {
        // DynamoDB fine-grained access: leading keys (guarded) and the attributes returned.
        let st = json!({"Sid": "Items", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": "arn:aws:dynamodb:{{aws.region}}:{{aws.accountId}}:table/orders",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [T],
                                                        "dynamodb:Attributes": ["pk", "sk", "status"]},
                          "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
                          "Null": {"dynamodb:LeadingKeys": "false"}}});
        assert!(one(st).is_empty());
        // Tagging own objects with a fixed set of tag keys.
        let st = json!({"Sid": "Tags", "Effect": "Allow", "Action": "s3:PutObjectTagging",
            "Resource": format!("arn:aws:s3:::shared/{T}/*"),
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["project", "owner"]}}});
        assert!(one(st).is_empty());
    }

    #[test]
    fn forallvalues_scoping_the_tenant_still_needs_null() {
        let st = json!({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:t",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [T], "dynamodb:Attributes": ["pk"]}}});
        assert_eq!(one(st), ["forallvalues-without-null"]);
        // Not scoped by anything else either: the ForAllValues is vacuous without its key.
        let st = json!({"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["project"]}}});
        assert_eq!(one(st), ["forallvalues-without-null"]);
    }
}
