//! `alarm`: CloudWatch alarms on each managed user pool (contract §1.4 `monitoring`), notifying
//! `monitoring.snsTopicArn`:
//!
//! - `<pool name>-sign-in-throttles`: sign-in requests Cognito throttled in one period, the
//!   `Sum` of `SignInThrottles` over the pool's app clients, `>= threshold`;
//! - `<pool name>-failed-sign-in-ratio`: failed sign-ins / all sign-ins in one period, metric
//!   math over `SignInSuccesses` (1 per successful sign-in, 0 per failed or throttled one):
//!   `1 - SUM(Sum) / SUM(SampleCount)` over the pool's app clients, `> threshold`.
//!
//! Cognito publishes both metrics in namespace `AWS/Cognito` with the dimensions `UserPool` and
//! `UserPoolClient` (one series per app client; "Admin" for admin-initiated sign-ins, which
//! these alarms do not watch), every 5 minutes ("User pool metrics in CloudWatch", Amazon
//! Cognito Developer Guide). A metric-math alarm holds at most 10 metrics, so validation caps
//! the app clients (10 for throttles, 5 for the ratio). Missing data (no sign-ins) is not
//! breaching.
//!
//! - Tagged with the pool's tags (managed tags, the platform's, a silo tenant's); tags are set
//!   at creation by PutMetricAlarm and changed with TagResource/UntagResource.
//! - Observed only when the folder declares `monitoring`: DescribeAlarms with the alarm-name
//!   prefix `<platform>` in pages of 100, keeping the alarms whose names end in one of the two
//!   suffixes and whose tags say this platform manages them; ListTagsForResource for each.
//!   A folder without `monitoring` leaves live alarms alone (like domains).
//! - An update is a PutMetricAlarm of the whole alarm (it replaces the configuration).

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::{Desired, DesiredCtx, Kind, ObserveScope, Observed};
use crate::aws::{Aws, AwsError, Call};
use crate::plan::{ItemRules, Resource};
use crate::spec::desired::{names, platform_tags, tenant_tags, TAG_MANAGED, TAG_PLATFORM};
use crate::spec::model::AlarmSpec;
use crate::spec::validate::arn_re;
use crate::spec::Diagnostic;
use crate::spec::Folder;
use crate::state::wiring::client_address;
use crate::state::{Ids, Item, Tags, Text, World};

pub struct PoolAlarm;

pub const KIND: &str = "alarm";
pub const NAMESPACE: &str = "AWS/Cognito";
pub const THROTTLES: &str = "sign-in-throttles";
pub const FAILED_RATIO: &str = "failed-sign-in-ratio";
const SUFFIXES: [&str; 2] = [THROTTLES, FAILED_RATIO];

/// `<pool address>/alarm/<suffix>`
pub fn address(pool: &str, suffix: &str) -> String {
    format!("{pool}/alarm/{suffix}")
}

/// The alarm's name: `<pool name>-<suffix>` (contract addition, CHANGELOG).
pub fn alarm_name(pool_name: &str, suffix: &str) -> String {
    format!("{pool_name}-{suffix}")
}

/// One metric of an alarm's metric math, in the shape both sides compare.
fn metric(id: &str, name: &str, stat: &str, period: u32, pool: &str, client: &str) -> Value {
    json!({
        "id": id,
        "metric": name,
        "namespace": NAMESPACE,
        "dimensions": {"UserPool": Text::default().id(pool), "UserPoolClient": Text::default().id(client_address(pool, client))},
        "stat": stat,
        "period": period,
        "return_data": false,
    })
}

fn expression(id: &str, expr: &str, label: &str) -> Value {
    json!({"id": id, "expression": expr, "label": label, "return_data": true})
}

/// The desired state of one alarm of one pool.
pub fn state(
    suffix: &str,
    spec: &AlarmSpec,
    pool: &str,
    pool_name: &str,
    clients: &[String],
    topic: &str,
    tags: &Tags,
) -> Value {
    let mut metrics = Vec::new();
    let (expr, label, comparison, description) = if suffix == THROTTLES {
        for (i, c) in clients.iter().enumerate() {
            metrics.push(metric(&format!("t{i}"), "SignInThrottles", "Sum", spec.period_seconds, pool, c));
        }
        let ids: Vec<String> = (0..clients.len()).map(|i| format!("t{i}")).collect();
        (
            format!("SUM([{}])", ids.join(", ")),
            "Throttled sign-ins",
            "GreaterThanOrEqualToThreshold",
            format!("tenantctl: sign-in requests Cognito throttled in user pool {pool_name}"),
        )
    } else {
        for (i, c) in clients.iter().enumerate() {
            metrics.push(metric(&format!("s{i}"), "SignInSuccesses", "Sum", spec.period_seconds, pool, c));
            metrics.push(metric(&format!("n{i}"), "SignInSuccesses", "SampleCount", spec.period_seconds, pool, c));
        }
        let s: Vec<String> = (0..clients.len()).map(|i| format!("s{i}")).collect();
        let n: Vec<String> = (0..clients.len()).map(|i| format!("n{i}")).collect();
        (
            format!("1 - SUM([{}]) / SUM([{}])", s.join(", "), n.join(", ")),
            "Failed sign-in ratio",
            "GreaterThanThreshold",
            format!("tenantctl: failed sign-ins / all sign-ins in user pool {pool_name}"),
        )
    };
    metrics.push(expression("e", &expr, label));
    json!({
        "description": description,
        "actions": [topic],
        "comparison": comparison,
        "threshold": spec.threshold,
        "evaluation_periods": 1,
        "treat_missing_data": "notBreaching",
        "metrics": metrics,
        "tags": tags,
    })
}

impl ItemRules for PoolAlarm {
    fn resource(&self) -> Resource {
        Resource::new(KIND)
    }
}

/// The managed pool names by address, from the folder (shared pool: `<platform>`).
fn pool_name(folder: &Folder, tenant: Option<&str>) -> String {
    let pl = &folder.platform.value.name;
    match tenant {
        Some(t) => names::silo_pool(pl, t),
        None => names::shared_pool(pl),
    }
}

/// (pool address, tenant) of an alarm name of this platform, and its suffix.
pub fn parse_name(platform: &str, name: &str) -> Option<(String, Option<String>, &'static str)> {
    let suffix = SUFFIXES.iter().copied().find(|s| name.ends_with(&format!("-{s}")))?;
    let pool = &name[..name.len() - suffix.len() - 1];
    if pool == names::shared_pool(platform) {
        return Some((names::shared_pool_address(), None, suffix));
    }
    let tenant = pool.strip_prefix(&format!("{platform}-")).filter(|t| !t.is_empty())?;
    Some((names::silo_pool_address(tenant), Some(tenant.to_string()), suffix))
}

/// The comparable state of a live alarm.
fn observed_state(a: &aws_sdk_cloudwatch::types::MetricAlarm, tags: Tags) -> Value {
    let metrics: Vec<Value> = a
        .metrics()
        .iter()
        .map(|q| {
            let mut m = serde_json::Map::new();
            m.insert("id".into(), json!(q.id()));
            if let Some(e) = q.expression() {
                m.insert("expression".into(), json!(e));
                m.insert("label".into(), json!(q.label()));
            }
            if let Some(ms) = q.metric_stat() {
                let metric = ms.metric();
                m.insert("metric".into(), json!(metric.and_then(|x| x.metric_name())));
                m.insert("namespace".into(), json!(metric.and_then(|x| x.namespace())));
                let dims: BTreeMap<String, String> = metric
                    .map(|x| x.dimensions())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                    .collect();
                m.insert("dimensions".into(), json!(dims));
                m.insert("stat".into(), json!(ms.stat()));
                m.insert("period".into(), json!(ms.period()));
            }
            m.insert("return_data".into(), json!(q.return_data().unwrap_or(true)));
            Value::Object(m)
        })
        .collect();
    json!({
        "description": a.alarm_description(),
        "actions": a.alarm_actions(),
        "comparison": a.comparison_operator().map(|c| c.as_str()),
        "threshold": a.threshold(),
        "evaluation_periods": a.evaluation_periods(),
        "treat_missing_data": a.treat_missing_data(),
        "metrics": metrics,
        "tags": tags,
    })
}

fn tags_of(item: &Item) -> Tags {
    serde_json::from_value(item.state["tags"].clone()).unwrap_or_default()
}

fn put_alarm<'a>(aws: &'a Aws, item: &'a Item, with_tags: bool) -> BoxFuture<'a, Result<(), AwsError>> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Tag};
    async move {
        let st = &item.state;
        let s = |v: &Value| v.as_str().map(str::to_string);
        let mut queries = Vec::new();
        for q in st["metrics"].as_array().cloned().unwrap_or_default() {
            let mut b = MetricDataQuery::builder()
                .id(s(&q["id"]).unwrap_or_default())
                .return_data(q["return_data"].as_bool().unwrap_or(false));
            if let Some(e) = s(&q["expression"]) {
                b = b.expression(e).set_label(s(&q["label"]));
            } else {
                let dims = q["dimensions"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| Dimension::builder().name(k).value(v.as_str().unwrap_or_default()).build())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                let metric = Metric::builder()
                    .set_namespace(s(&q["namespace"]))
                    .set_metric_name(s(&q["metric"]))
                    .set_dimensions(Some(dims))
                    .build();
                let stat = MetricStat::builder()
                    .metric(metric)
                    .period(q["period"].as_i64().unwrap_or(300) as i32)
                    .stat(s(&q["stat"]).unwrap_or_default())
                    .build();
                b = b.metric_stat(stat);
            }
            queries.push(b.build());
        }
        let tags: Vec<Tag> = tags_of(item).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        aws.cloudwatch
            .put_metric_alarm()
            .alarm_name(&item.name)
            .set_alarm_description(s(&st["description"]))
            .set_alarm_actions(serde_json::from_value(st["actions"].clone()).ok())
            .actions_enabled(true)
            .comparison_operator(ComparisonOperator::from(st["comparison"].as_str().unwrap_or_default()))
            .threshold(st["threshold"].as_f64().unwrap_or_default())
            .evaluation_periods(st["evaluation_periods"].as_i64().unwrap_or(1) as i32)
            .set_treat_missing_data(s(&st["treat_missing_data"]))
            .set_metrics(Some(queries))
            .set_tags(with_tags.then_some(tags))
            .send()
            .call(aws, "monitoring:PutMetricAlarm", None)
            .await?;
        Ok(())
    }
    .boxed()
}

fn alarm_arn(aws: &Aws, name: &str) -> String {
    format!("arn:{}:cloudwatch:{}:{}:alarm:{name}", aws.ctx.partition, aws.ctx.region, aws.ctx.account_id)
}

impl Kind for PoolAlarm {
    fn service(&self) -> super::Service {
        super::Service::CloudWatch
    }

    fn desired(&self, folder: &Folder, _ctx: &DesiredCtx, world: &World) -> Desired {
        let pl = &folder.platform.value;
        let Some(m) = &pl.monitoring else { return Ok(Vec::new()) };
        let clients: Vec<String> = pl.user_pool.app_clients.iter().map(|c| c.name.clone()).collect();
        if clients.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (pool, p) in &world.pools() {
            let pool_name = pool_name(folder, p.tenant.as_deref());
            let tags = match p.tenant.as_deref().and_then(|t| folder.tenant(t)) {
                Some(t) => tenant_tags(pl, &t.value),
                None => platform_tags(pl),
            };
            for (suffix, spec) in
                [(THROTTLES, &m.alarms.sign_in_throttles), (FAILED_RATIO, &m.alarms.failed_sign_in_ratio)]
            {
                let Some(spec) = spec else { continue };
                let name = alarm_name(&pool_name, suffix);
                let state = state(suffix, spec, pool, &pool_name, &clients, &m.sns_topic_arn, &tags);
                let item = Item {
                    kind: KIND.to_string(),
                    name,
                    tenant: p.tenant.clone(),
                    // Not a child in the engine's sense (an alarm needs no pool id to be
                    // deleted): created after its pool and clients through the references in
                    // its metrics, deleted before the pool.
                    parent: None,
                    state,
                    after: vec![pool.clone()],
                };
                out.push((address(pool, suffix), item));
            }
        }
        Ok(out)
    }

    fn observe<'a>(&'a self, aws: &'a Aws, scope: &'a ObserveScope<'a>) -> BoxFuture<'a, Result<Observed, AwsError>> {
        let folder = scope.folder;
        async move {
            if folder.platform.value.monitoring.is_none() {
                return Ok(Vec::new());
            }
            let platform = &folder.platform.value.name;
            let mut alarms = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = aws
                    .cloudwatch
                    .describe_alarms()
                    .alarm_name_prefix(platform)
                    .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
                    .max_records(100)
                    .set_next_token(token.take())
                    .send()
                    .call(aws, "monitoring:DescribeAlarms", None)
                    .await?;
                alarms.extend(page.metric_alarms().iter().cloned());
                match page.next_token().filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
            let mut out = Vec::new();
            for a in alarms {
                let Some(name) = a.alarm_name().map(str::to_string) else { continue };
                let Some((pool, tenant, suffix)) = parse_name(platform, &name) else { continue };
                let arn = a.alarm_arn().map(str::to_string).unwrap_or_else(|| alarm_arn(aws, &name));
                let tags: Tags = aws
                    .cloudwatch
                    .list_tags_for_resource()
                    .resource_arn(&arn)
                    .send()
                    .call(aws, "monitoring:ListTagsForResource", None)
                    .await?
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect();
                let managed = tags.get(TAG_MANAGED).map(String::as_str) == Some("true")
                    && tags.get(TAG_PLATFORM) == Some(platform);
                if !managed {
                    continue;
                }
                let item = Item {
                    kind: KIND.to_string(),
                    name: name.clone(),
                    tenant,
                    parent: None,
                    state: observed_state(&a, tags),
                    after: vec![pool.clone()],
                };
                out.push((address(&pool, suffix), item, name));
            }
            Ok(out)
        }
        .boxed()
    }

    fn inventory(&self, address: &str, item: &Item, ids: &Ids, ctx: &crate::aws::Ctx) -> Option<Value> {
        let _ = ids;
        let arn = format!("arn:{}:cloudwatch:{}:{}:alarm:{}", ctx.partition, ctx.region, ctx.account_id, item.name);
        Some(json!({"resource": item.kind, "address": address, "name": item.name, "tenant": item.tenant, "arn": arn}))
    }

    fn create<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, AwsError>> {
        async move {
            put_alarm(aws, item, true).await?;
            Ok(item.name.clone())
        }
        .boxed()
    }

    fn update<'a>(
        &'a self,
        aws: &'a Aws,
        item: &'a Item,
        live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            let (want, have) = (tags_of(item), tags_of(live));
            let mut rest_item = item.clone();
            rest_item.state["tags"] = Value::Null;
            let mut rest_live = live.clone();
            rest_live.state["tags"] = Value::Null;
            if rest_item.state != rest_live.state {
                // PutMetricAlarm ignores Tags on an existing alarm.
                put_alarm(aws, item, false).await?;
            }
            if want != have {
                let arn = alarm_arn(aws, id);
                let gone: Vec<String> = have.keys().filter(|k| !want.contains_key(*k)).cloned().collect();
                if !gone.is_empty() {
                    aws.cloudwatch
                        .untag_resource()
                        .resource_arn(&arn)
                        .set_tag_keys(Some(gone))
                        .send()
                        .call(aws, "monitoring:UntagResource", None)
                        .await?;
                }
                let tags: Vec<aws_sdk_cloudwatch::types::Tag> = want
                    .iter()
                    .filter(|(k, v)| have.get(*k) != Some(*v))
                    .map(|(k, v)| aws_sdk_cloudwatch::types::Tag::builder().key(k).value(v).build())
                    .collect();
                if !tags.is_empty() {
                    aws.cloudwatch
                        .tag_resource()
                        .resource_arn(&arn)
                        .set_tags(Some(tags))
                        .send()
                        .call(aws, "monitoring:TagResource", None)
                        .await?;
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        aws: &'a Aws,
        _live: &'a Item,
        id: &'a str,
        _parent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        async move {
            // DeleteAlarms of a name that does not exist succeeds.
            aws.cloudwatch.delete_alarms().alarm_names(id).send().call(aws, "monitoring:DeleteAlarms", None).await?;
            Ok(())
        }
        .boxed()
    }

    fn validate(&self, folder: &Folder) -> Vec<Diagnostic> {
        folder_rules(folder)
    }
}

// ---------------------------------------------------------------- validation

/// CloudWatch: an alarm on metric math holds at most 10 metrics.
pub const MAX_ALARM_METRICS: usize = 10;

/// The alarms' topic and settings (`Kind::validate`): CloudWatch's and Cognito's limits.
fn folder_rules(folder: &Folder) -> Vec<Diagnostic> {
    let p = &folder.platform;
    let pl = &p.value;
    let up = &pl.user_pool;
    let mut out = Vec::new();
    if let Some(m) = &pl.monitoring {
        if !arn_re().is_match(&m.sns_topic_arn) || !m.sns_topic_arn.contains(":sns:") {
            out.push(
                p.at("monitoring.snsTopicArn", format!("`{}` is not an SNS topic ARN", m.sns_topic_arn.escape_debug()))
                    .hint("e.g. arn:aws:sns:us-east-1:123456789012:security-alerts"),
            );
        }
        let clients = up.app_clients.len();
        for (name, a, per_client) in [
            ("signInThrottles", &m.alarms.sign_in_throttles, 1usize),
            ("failedSignInRatio", &m.alarms.failed_sign_in_ratio, 2),
        ] {
            let Some(a) = a else { continue };
            let path = format!("monitoring.alarms.{name}");
            if !(60..=86_400).contains(&a.period_seconds) || a.period_seconds % 60 != 0 {
                out.push(p.at(&format!("{path}.periodSeconds"), format!("periodSeconds {} must be a multiple of 60 between 60 and 86400 (Cognito publishes its metrics every 5 minutes)", a.period_seconds)));
            }
            if !a.threshold.is_finite() || a.threshold < 0.0 || (per_client == 2 && a.threshold >= 1.0) {
                out.push(p.at(
                    &format!("{path}.threshold"),
                    if per_client == 2 {
                        "a ratio threshold is at least 0 and below 1"
                    } else {
                        "a threshold is a number >= 0"
                    },
                ));
            }
            if clients == 0 {
                out.push(p.at(&path, "the pool declares no app clients: Cognito publishes sign-in metrics per app client, so there is nothing to watch").hint("declare userPool.appClients, or drop this alarm"));
            } else if clients * per_client > MAX_ALARM_METRICS {
                out.push(p.at(&path, format!("{clients} app clients need {} metrics in one alarm; a CloudWatch metric-math alarm holds at most {MAX_ALARM_METRICS}", clients * per_client)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::refs::resolve_value;

    #[test]
    fn names_parse_back_to_their_pool() {
        assert_eq!(parse_name("acme", "acme-sign-in-throttles"), Some(("platform/pool".into(), None, THROTTLES)));
        assert_eq!(
            parse_name("acme", "acme-sign-failed-sign-in-ratio"),
            Some(("tenant/sign/pool".into(), Some("sign".into()), FAILED_RATIO))
        );
        assert_eq!(parse_name("acme", "acme2-sign-in-throttles"), None);
        assert_eq!(parse_name("acme", "acme-cpu-high"), None);
    }

    #[test]
    fn ratio_alarm_is_metric_math_over_every_client() {
        let spec = AlarmSpec { threshold: 0.2, period_seconds: 300 };
        let st =
            state(FAILED_RATIO, &spec, "platform/pool", "acme", &["web".into(), "cli".into()], "arn:t", &Tags::new());
        let mut ids = Ids::default();
        ids.set("platform/pool", "us-east-1_p");
        ids.set("platform/pool/app_client/web", "cw");
        ids.set("platform/pool/app_client/cli", "cc");
        let (st, known) = resolve_value(&st, &ids);
        assert!(known);
        let metrics = st["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 5);
        assert_eq!(metrics[4]["expression"], "1 - SUM([s0, s1]) / SUM([n0, n1])");
        assert_eq!(metrics[1]["stat"], "SampleCount");
        assert_eq!(metrics[1]["dimensions"], json!({"UserPool": "us-east-1_p", "UserPoolClient": "cw"}));
        assert_eq!(metrics.iter().filter(|m| m["return_data"] == true).count(), 1);
        assert_eq!(st["comparison"], "GreaterThanThreshold");
    }
}
