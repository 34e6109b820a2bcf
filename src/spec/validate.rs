//! Every rule the contract implies, checked offline. Each finding names file, line and column.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;

use super::desired::{self, names};
use super::lint;
use super::model::{duration_minutes, AttributeType, Isolation, Tenant};
use super::template::{self, TemplateError};
use super::{Diagnostic, Folder, Located};

pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;
pub const MAX_ATTRIBUTE_NAME: usize = 20;
pub const MAX_RESOURCE_SERVERS: usize = 25;
pub const MAX_SCOPES_PER_SERVER: usize = 100;
pub const MAX_SCOPES_PER_CLIENT: usize = 50;
pub const MAX_APP_CLIENTS: usize = 1000;
pub const MAX_IAM_ROLE_NAME: usize = 64;
pub const MAX_POOL_NAME: usize = 128;
pub const MAX_IDP_NAME: usize = 32;
pub const MAX_DOMAIN_PREFIX: usize = 63;
pub const MAX_LAMBDA_NAME: usize = 64;
pub const MAX_GROUP_NAME: usize = 128;
pub const MAX_INLINE_POLICY_TOTAL: usize = 10_240;
pub const MAX_TRUST_POLICY: usize = 2_048;
pub const MAX_TAGS: usize = 50;
/// Usage plans per account and Region (API Gateway quota, default).
pub const MAX_USAGE_PLANS: usize = 300;
/// API keys per account and Region (API Gateway quota, default).
pub const MAX_API_KEYS: usize = 10_000;
/// Usage plans one API key can be in (API Gateway quota): tenantctl puts a key in one.
pub const MAX_PLANS_PER_KEY: usize = 10;
/// Groups per user pool (Cognito quota, cannot be raised).
pub const MAX_GROUPS_PER_POOL: usize = 10_000;

/// A character IAM accepts in a role description (CreateRole `Description` pattern).
pub fn iam_description_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{a}' | '\u{d}' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}')
}

/// Scopes every app client may ask for without a resource server.
pub const STANDARD_SCOPES: &[&str] = &["openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"];

const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

const AUTH_FLOWS: &[&str] = &[
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "CUSTOM_AUTH",
    "USER_PASSWORD_AUTH",
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "USER_AUTH",
];

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("static regex"))
}

pub fn tenant_id_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
}
pub fn platform_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[a-z][a-z0-9]{0,19}$")
}
pub fn role_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[a-z][a-z0-9]{0,15}$")
}
fn attr_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Za-z0-9_]+$")
}
fn tag_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$")
}
fn scope_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+$")
}
fn env_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Z_][A-Z0-9_]*$")
}
fn arn_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:[A-Za-z0-9+=,.@_/:-]+$")
}

/// Why `id` is not a valid tenant id, if it is not.
pub fn tenant_id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("a tenant id may not be empty".into());
    }
    if !tenant_id_re().is_match(id) {
        let len = id.chars().count();
        return Some(if len > 32 {
            format!("tenant id `{}` is {len} characters; at most 32", id.escape_debug())
        } else {
            format!(
                "tenant id `{}` must match ^[a-z0-9](?:[a-z0-9-]{{0,30}}[a-z0-9])?$ (lowercase letters, digits, inner hyphens)",
                id.escape_debug()
            )
        });
    }
    if id.starts_with("aws") {
        return Some(format!("tenant id `{id}` starts with `aws`, which AWS reserves in tag values and names"));
    }
    None
}

struct V<'f> {
    folder: &'f Folder,
    out: Vec<Diagnostic>,
}

impl V<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }
}

fn check_tags<T>(v: &mut V<'_>, loc: &Located<T>, tags: &BTreeMap<String, String>, base: &str) {
    for (k, val) in tags {
        let path = format!("{base}.{k}");
        let key_lower = k.to_ascii_lowercase();
        if k.is_empty() || k.chars().count() > 128 || !tag_re().is_match(k) {
            v.push(loc.at_key(&path, format!("tag key `{}` is not a valid AWS tag key (1-128 characters of letters, digits, spaces and _ . : / = + - @)", k.escape_debug())));
        } else if key_lower.starts_with("aws:") {
            v.push(
                loc.at_key(&path, format!("tag key `{k}` starts with `aws:`, which AWS reserves"))
                    .hint("rename the tag key"),
            );
        } else if key_lower.starts_with("tenantctl:") || key_lower == "tenant_id" {
            v.push(
                loc.at_key(&path, format!("tag key `{k}` is set by tenantctl itself"))
                    .hint("tenantctl:managed, tenantctl:platform and tenant_id are reserved"),
            );
        }
        if val.chars().count() > 256 || !tag_re().is_match(val) {
            v.push(loc.at(&path, format!("tag value `{}` is not a valid AWS tag value (at most 256 characters of letters, digits, spaces and _ . : / = + - @)", val.escape_debug())));
        }
    }
}

/// Runs every check. An empty result means the folder is valid.
pub fn validate(folder: &Folder) -> Vec<Diagnostic> {
    let mut v = V { folder, out: Vec::new() };
    platform_rules(&mut v);
    tenant_rules(&mut v);
    tier_rules(&mut v);
    identity_rules(&mut v);
    group_count_rules(&mut v);
    template_rules(&mut v);
    let mut out = v.out;
    for d in &mut out {
        if d.hint.is_none() {
            d.hint = Some("see the file format and limits in README.md (Reference)".into());
        }
    }
    out.sort();
    out.dedup();
    out
}

fn platform_rules(v: &mut V<'_>) {
    let p = &v.folder.platform;
    let pl = &p.value;
    if !platform_re().is_match(&pl.name) {
        v.push(
            p.at("name", format!("platform name `{}` must match ^[a-z][a-z0-9]{{0,19}}$", pl.name.escape_debug()))
                .hint("no hyphens: physical names join platform, tenant and role with hyphens"),
        );
    }
    check_tags(v, p, &pl.tags, "tags");
    if pl.tags.len() + 2 > MAX_TAGS {
        v.push(p.at(
            "tags",
            format!("{} platform tags plus tenantctl's own exceed AWS's 50 tags per resource", pl.tags.len()),
        ));
    }
    if pl.roles.is_empty() {
        v.push(
            p.at("roles", "the platform declares no roles")
                .hint("declare at least one role, e.g. `roles: {member: {policies: [...]}}`"),
        );
    }
    for (name, role) in &pl.roles {
        let path = format!("roles.{name}");
        if !role_re().is_match(name) {
            v.push(
                p.at_key(&path, format!("role name `{}` must match ^[a-z][a-z0-9]{{0,15}}$", name.escape_debug()))
                    .hint("no hyphens: keeps `<platform>-<tenant>-<role>` unambiguous"),
            );
        }
        if let Some(d) = role.max_session_duration {
            if !(3600..=43200).contains(&d) {
                v.push(
                    p.at(
                        &format!("{path}.maxSessionDuration"),
                        format!("maxSessionDuration {d} is outside IAM's 3600..43200 seconds"),
                    )
                    .hint("use a number of seconds between 3600 (1 h) and 43200 (12 h)"),
                );
            }
        }
        if let Some(desc) = &role.description {
            if desc.chars().count() > 1000 {
                v.push(p.at(&format!("{path}.description"), "role description is over IAM's 1000 characters"));
            }
            // IAM CreateRole/UpdateRole `Description`: pattern [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*
            if let Some(c) = desc.chars().find(|c| !iam_description_char(*c)) {
                v.push(
                    p.at(
                        &format!("{path}.description"),
                        format!("role description contains `{}` (U+{:04X}), which IAM refuses: descriptions are Latin-1 only", c.escape_debug(), c as u32),
                    )
                    .hint("use plain Latin-1 text (no emoji, em dashes or curly quotes)"),
                );
            }
        }
        if let Some(n) = role.precedence {
            if n < 0 {
                v.push(
                    p.at(
                        &format!("{path}.precedence"),
                        format!("precedence {n} is negative; Cognito group precedence is a number >= 0"),
                    )
                    .hint("lower numbers win; use 0 for the highest precedence"),
                );
            }
        }
        let mut seen = HashSet::new();
        for (i, pol) in role.policies.iter().enumerate() {
            let ppath = format!("{path}.policies[{i}]");
            if !seen.insert(pol) {
                v.push(p.at(&ppath, format!("policy `{pol}` is listed twice")));
            }
            if !v.folder.policies.contains_key(pol) {
                let hint = match super::schema::did_you_mean(pol, v.folder.policies.keys().map(String::as_str)) {
                    Some(m) => format!("did you mean `{m}`? (or create policies/{pol}.json)"),
                    None => format!("create policies/{pol}.json, or fix the name"),
                };
                v.push(p.at(&ppath, format!("policy template `{pol}` not found")).hint(hint));
            }
        }
    }
    for (i, pr) in pl.trust.principals.iter().enumerate() {
        if pr.contains('*') || pr.contains('?') || !arn_re().is_match(pr) {
            v.push(
                p.at(
                    &format!("trust.principals[{i}]"),
                    format!("trust principal `{}` must be a full IAM ARN without wildcards", pr.escape_debug()),
                )
                .hint("e.g. arn:aws:iam::123456789012:role/backend"),
            );
        }
    }
    if pl.trust.principals.is_empty() && pl.authorizer.is_none() {
        v.push(
            p.at("trust", "no trust principals: nothing could assume the tenant roles")
                .hint("list the backend roles in trust.principals"),
        );
    }
    if let Some(b) = &pl.permissions_boundary {
        if !arn_re().is_match(b) || !b.contains(":policy/") {
            v.push(p.at(
                "permissionsBoundary",
                format!("permissions boundary `{}` must be a managed policy ARN", b.escape_debug()),
            ));
        }
    }
    pool_rules(v);
    authorizer_rules(v);
}

fn pool_rules(v: &mut V<'_>) {
    let p = &v.folder.platform;
    let up = &p.value.user_pool;
    let ta = &up.tenant_attribute;
    let ta_full = format!("custom:{ta}");
    if let Some(u) = &up.usernames {
        for (j, a) in u.sign_in_with.iter().enumerate() {
            if !["email", "phone_number"].contains(&a.as_str()) {
                v.push(
                    p.at(
                        &format!("userPool.usernames.signInWith[{j}]"),
                        format!("`{a}` cannot be a sign-in attribute"),
                    )
                    .hint("signInWith takes email and/or phone_number ([] for free user names)"),
                );
            }
        }
        for (j, a) in u.aliases.iter().enumerate() {
            if !["email", "phone_number", "preferred_username"].contains(&a.as_str()) {
                v.push(
                    p.at(&format!("userPool.usernames.aliases[{j}]"), format!("`{a}` cannot be an alias"))
                        .hint("aliases take email, phone_number and/or preferred_username"),
                );
            }
        }
        if !u.aliases.is_empty() && !u.sign_in_with.is_empty() {
            v.push(
                p.at(
                    "userPool.usernames.aliases",
                    "aliases need free user names: Cognito refuses AliasAttributes next to UsernameAttributes",
                )
                .hint("set `signInWith: []` to use aliases, or drop `aliases`"),
            );
        }
    }
    if ta.is_empty() || ta.chars().count() > MAX_ATTRIBUTE_NAME || !attr_name_re().is_match(ta) {
        v.push(p.at(
            "userPool.tenantAttribute",
            format!(
                "tenant attribute `{}` must be 1-{MAX_ATTRIBUTE_NAME} characters of letters, digits and _",
                ta.escape_debug()
            ),
        ));
    }
    let pp = &up.password_policy;
    if !(6..=99).contains(&pp.min_length) {
        v.push(p.at("userPool.passwordPolicy.minLength", "minLength must be 6..99"));
    }
    if !(0..=365).contains(&pp.temporary_password_validity_days) {
        v.push(p.at(
            "userPool.passwordPolicy.temporaryPasswordValidityDays",
            "temporaryPasswordValidityDays must be 0..365",
        ));
    }
    if up.custom_attributes.len() + 1 > MAX_CUSTOM_ATTRIBUTES {
        v.push(
            p.at(
                "userPool.customAttributes",
                format!(
                    "{} custom attributes plus the tenant attribute exceed Cognito's {MAX_CUSTOM_ATTRIBUTES} per pool",
                    up.custom_attributes.len()
                ),
            )
            .hint("custom attributes can never be removed from a pool; keep the list short"),
        );
    }
    let mut names = HashMap::new();
    for (i, a) in up.custom_attributes.iter().enumerate() {
        let path = format!("userPool.customAttributes[{i}]");
        let n = a.name.strip_prefix("custom:").unwrap_or(&a.name);
        if n.chars().count() > MAX_ATTRIBUTE_NAME {
            v.push(
                p.at(
                    &format!("{path}.name"),
                    format!(
                        "custom attribute name `{n}` is {} characters; Cognito allows {MAX_ATTRIBUTE_NAME}",
                        n.chars().count()
                    ),
                )
                .hint("choose a shorter name: custom attributes can never be renamed or removed"),
            );
        } else if n.is_empty() || !attr_name_re().is_match(n) {
            v.push(p.at(
                &format!("{path}.name"),
                format!("custom attribute name `{}` must be letters, digits and _", n.escape_debug()),
            ));
        }
        if let Some(prev) = names.insert(n.to_ascii_lowercase(), i) {
            v.push(p.at(
                &format!("{path}.name"),
                format!("custom attribute `{n}` is declared twice (also customAttributes[{prev}])"),
            ));
        }
        if n.eq_ignore_ascii_case(ta) {
            if a.mutable {
                v.push(
                    p.at(&format!("{path}.mutable"), format!("the tenant attribute `{ta_full}` must be immutable"))
                        .hint("a mutable tenant attribute lets a user move themselves into another tenant; remove this entry: tenantAttribute declares it, immutable"),
                );
            } else {
                v.push(
                    p.at(
                        &format!("{path}.name"),
                        format!("custom attribute `{n}` clashes with the tenant attribute `{ta_full}`"),
                    )
                    .hint("tenantAttribute declares it already; remove this entry or rename it"),
                );
            }
        }
        match a.attr_type {
            AttributeType::String => {
                if a.min.is_some() || a.max.is_some() {
                    v.push(p.at(&path, format!("string attribute `{n}` takes minLength/maxLength, not min/max")));
                }
                let (lo, hi) = (a.min_length.unwrap_or(0), a.max_length.unwrap_or(2048));
                if lo > hi || hi > 2048 {
                    v.push(
                        p.at(&path, format!("attribute `{n}`: length bounds {lo}..{hi} are invalid (at most 2048)")),
                    );
                }
            }
            AttributeType::Number => {
                if a.min_length.is_some() || a.max_length.is_some() {
                    v.push(p.at(&path, format!("number attribute `{n}` takes min/max, not minLength/maxLength")));
                }
                if let (Some(lo), Some(hi)) = (a.min, a.max) {
                    if lo > hi {
                        v.push(p.at(&path, format!("attribute `{n}`: min {lo} is above max {hi}")));
                    }
                }
            }
        }
    }
    if up.resource_servers.len() > MAX_RESOURCE_SERVERS {
        v.push(
            p.at(
                "userPool.resourceServers",
                format!(
                    "{} resource servers exceed Cognito's {MAX_RESOURCE_SERVERS} per pool",
                    up.resource_servers.len()
                ),
            )
            .hint("group scopes under fewer resource servers"),
        );
    }
    let mut declared_scopes: HashSet<String> = HashSet::new();
    let mut rs_ids = HashSet::new();
    for (i, rs) in up.resource_servers.iter().enumerate() {
        let path = format!("userPool.resourceServers[{i}]");
        if !rs_ids.insert(rs.identifier.clone()) {
            v.push(
                p.at(&format!("{path}.identifier"), format!("resource server `{}` is declared twice", rs.identifier)),
            );
        }
        if rs.identifier.is_empty()
            || rs.identifier.len() > 256
            || rs.identifier.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            v.push(p.at(
                &format!("{path}.identifier"),
                "resource server identifier must be 1-256 characters without spaces",
            ));
        }
        if rs.scopes.len() > MAX_SCOPES_PER_SERVER {
            v.push(
                p.at(
                    &format!("{path}.scopes"),
                    format!("{} scopes exceed Cognito's {MAX_SCOPES_PER_SERVER} per resource server", rs.scopes.len()),
                )
                .hint("split the scopes across resource servers"),
            );
        }
        let mut seen = HashSet::new();
        for (j, s) in rs.scopes.iter().enumerate() {
            if !scope_name_re().is_match(&s.name) || s.name.len() > 256 {
                v.push(p.at(
                    &format!("{path}.scopes[{j}].name"),
                    format!("scope name `{}` is not valid", s.name.escape_debug()),
                ));
            }
            if !seen.insert(&s.name) {
                v.push(p.at(&format!("{path}.scopes[{j}].name"), format!("scope `{}` is declared twice", s.name)));
            }
            declared_scopes.insert(format!("{}/{}", rs.identifier, s.name));
        }
    }
    if up.app_clients.len() > MAX_APP_CLIENTS {
        v.push(p.at(
            "userPool.appClients",
            format!("{} app clients exceed Cognito's {MAX_APP_CLIENTS} per pool", up.app_clients.len()),
        ));
    }
    let custom: HashSet<String> = up
        .custom_attributes
        .iter()
        .map(|a| format!("custom:{}", a.name.strip_prefix("custom:").unwrap_or(&a.name)))
        .chain(std::iter::once(ta_full.clone()))
        .collect();
    let mut client_names = HashSet::new();
    for (i, c) in up.app_clients.iter().enumerate() {
        let path = format!("userPool.appClients[{i}]");
        if !client_names.insert(c.name.clone()) {
            v.push(p.at(&format!("{path}.name"), format!("app client `{}` is declared twice", c.name)));
        }
        if c.name.is_empty() || c.name.len() > 128 || c.name.ends_with("-sso") {
            v.push(p.at(&format!("{path}.name"), format!("app client name `{}` must be 1-128 characters and not end in -sso (reserved for tenant SSO clients)", c.name.escape_debug())));
        }
        for (j, f) in c.auth_flows.iter().enumerate() {
            if !AUTH_FLOWS.contains(&f.as_str()) {
                v.push(
                    p.at(&format!("{path}.authFlows[{j}]"), format!("unknown auth flow `{f}`"))
                        .hint("e.g. USER_SRP_AUTH, REFRESH_TOKEN_AUTH, USER_PASSWORD_AUTH"),
                );
            }
        }
        if !c.auth_flows.is_empty()
            && !c.auth_flows.iter().any(|f| f == "REFRESH_TOKEN_AUTH" || f == "ALLOW_REFRESH_TOKEN_AUTH")
        {
            v.push(
                p.at(
                    &format!("{path}.authFlows"),
                    format!("app client `{}`: Cognito refuses a list of auth flows without REFRESH_TOKEN_AUTH", c.name),
                )
                .hint("add REFRESH_TOKEN_AUTH to authFlows (or leave authFlows out: USER_SRP_AUTH and REFRESH_TOKEN_AUTH)"),
            );
        }
        for (field, list) in [("readAttributes", &c.read_attributes), ("writeAttributes", &c.write_attributes)] {
            for (j, a) in list.iter().enumerate() {
                let known = STANDARD_ATTRIBUTES.contains(&a.as_str()) || custom.contains(a);
                if !known {
                    v.push(
                        p.at(
                            &format!("{path}.{field}[{j}]"),
                            format!("attribute `{a}` is neither a standard attribute nor a declared custom attribute"),
                        )
                        .hint("custom attributes are written `custom:<name>`"),
                    );
                }
            }
        }
        if let Some(j) = c.write_attributes.iter().position(|a| *a == ta_full) {
            if up.self_sign_up {
                v.push(
                    p.at(&format!("{path}.writeAttributes[{j}]"), format!("self sign-up is on and app client `{}` may write the tenant attribute `{ta_full}`: anyone could sign up into any tenant", c.name))
                        .hint("remove the tenant attribute from writeAttributes; set it with admin calls only"),
                );
            } else {
                v.push(
                    p.at(
                        &format!("{path}.writeAttributes[{j}]"),
                        format!("app client `{}` may not write the tenant attribute `{ta_full}`", c.name),
                    )
                    .hint("the tenant attribute is set by administrators only; remove it from writeAttributes"),
                );
            }
        }
        if let Some(o) = &c.oauth {
            if o.scopes.len() > MAX_SCOPES_PER_CLIENT {
                v.push(p.at(
                    &format!("{path}.oauth.scopes"),
                    format!("{} scopes exceed Cognito's {MAX_SCOPES_PER_CLIENT} per app client", o.scopes.len()),
                ));
            }
            for (j, s) in o.scopes.iter().enumerate() {
                if !STANDARD_SCOPES.contains(&s.as_str()) && !declared_scopes.contains(s) {
                    v.push(
                        p.at(
                            &format!("{path}.oauth.scopes[{j}]"),
                            format!("scope `{s}` is declared by no resource server"),
                        )
                        .hint("declare it under userPool.resourceServers, as <identifier>/<scope>"),
                    );
                }
            }
            for (j, f) in o.flows.iter().enumerate() {
                if !["code", "implicit", "client_credentials"].contains(&f.as_str()) {
                    v.push(p.at(
                        &format!("{path}.oauth.flows[{j}]"),
                        format!("unknown OAuth flow `{f}` (code, implicit, client_credentials)"),
                    ));
                }
            }
            for (j, u) in o.callback_urls.iter().enumerate() {
                if !(u.starts_with("https://") || is_loopback_http(u)) || u.contains('#') || u.contains('*') {
                    v.push(p.at(&format!("{path}.oauth.callbackUrls[{j}]"), format!("callback URL `{u}` must be an https URL without fragment or wildcard (http only for localhost or 127.0.0.1)")));
                }
            }
        }
        if let Some(tv) = &c.token_validity {
            for (field, val, lo, hi) in [
                ("access", &tv.access, 5, 24 * 60),
                ("id", &tv.id, 5, 24 * 60),
                ("refresh", &tv.refresh, 60, 3650 * 24 * 60),
            ] {
                if let Some(s) = val {
                    match duration_minutes(s) {
                        Some(m) if (lo..=hi).contains(&m) => {}
                        Some(_) => v.push(p.at(
                            &format!("{path}.tokenValidity.{field}"),
                            format!("{field} token validity `{s}` is outside Cognito's limits"),
                        )),
                        None => v.push(p.at(
                            &format!("{path}.tokenValidity.{field}"),
                            format!("token validity `{s}` must be a number with m, h or d, e.g. 60m"),
                        )),
                    }
                }
            }
        }
    }
    // What the feature plan allows (Cognito's feature plans): threat protection needs plus;
    // a pre-token-generation trigger (event version 2) needs essentials or plus. An absent
    // plan is Cognito's default, essentials.
    let plan = up.feature_plan.unwrap_or(super::model::FeaturePlan::Essentials);
    let plan_name = format!("{plan:?}").to_lowercase();
    if up.threat_protection != super::model::ThreatProtection::Off && plan != super::model::FeaturePlan::Plus {
        v.push(
            p.at(
                "userPool.threatProtection",
                format!(
                    "threat protection `{}` needs the plus feature plan; userPool.featurePlan is {plan_name}",
                    format!("{:?}", up.threat_protection).to_lowercase()
                ),
            )
            .hint("set userPool.featurePlan: plus, or threatProtection: off"),
        );
    }
    if up.triggers.contains_key("preTokenGeneration") && plan == super::model::FeaturePlan::Lite {
        v.push(
            p.at(
                "userPool.triggers.preTokenGeneration",
                format!("a pre-token-generation trigger (event version 2) needs the essentials or plus feature plan; userPool.featurePlan is {plan_name}"),
            )
            .hint("set userPool.featurePlan: essentials (or plus)"),
        );
    }
    if let Some(d) = &up.domain {
        static R: OnceLock<Regex> = OnceLock::new();
        if !re(&R, r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$").is_match(d)
            || d.contains("aws")
            || d.contains("cognito")
            || d.contains("amazon")
        {
            v.push(p.at("userPool.domain", format!("domain prefix `{d}` must be lowercase letters, digits and hyphens and may not contain aws, amazon or cognito")));
        }
    }
    for (k, fnname) in &up.triggers {
        const TRIGGERS: &[&str] = &[
            "preSignUp",
            "postConfirmation",
            "preAuthentication",
            "postAuthentication",
            "preTokenGeneration",
            "customMessage",
            "defineAuthChallenge",
            "createAuthChallenge",
            "verifyAuthChallengeResponse",
            "userMigration",
        ];
        if !TRIGGERS.contains(&k.as_str()) {
            v.push(
                p.at(&format!("userPool.triggers.{k}"), format!("unknown trigger `{k}`"))
                    .hint(format!("one of {}", TRIGGERS.join(", "))),
            );
        }
        if fnname.is_empty() || fnname.contains('*') {
            v.push(p.at(&format!("userPool.triggers.{k}"), "a trigger names a Lambda function or its ARN"));
        }
    }
}

fn authorizer_rules(v: &mut V<'_>) {
    let p = &v.folder.platform;
    let Some(a) = &p.value.authorizer else {
        return;
    };
    if !(0..=3600).contains(&a.result_ttl_seconds) {
        v.push(p.at("authorizer.resultTtlSeconds", "resultTtlSeconds must be 0..3600"));
    } else if let Some((minutes, what)) = shortest_token_validity(&p.value.user_pool.app_clients) {
        // A cached Allow must not outlive the token it was computed from.
        let cap = minutes.saturating_mul(60);
        if i64::from(a.result_ttl_seconds) > cap {
            v.push(
                p.at(
                    "authorizer.resultTtlSeconds",
                    format!(
                        "resultTtlSeconds {} is longer than the {what} ({minutes} minutes = {} s): API Gateway would keep allowing an expired token from its cache",
                        a.result_ttl_seconds, cap
                    ),
                )
                .hint(format!("set resultTtlSeconds to at most {cap}")),
            );
        }
    }
    if a.token_use != "id" && a.token_use != "access" {
        v.push(p.at("authorizer.tokenUse", format!("tokenUse `{}` must be id or access", a.token_use.escape_debug())));
    }
    if let Some(stage) = &a.stage {
        static S: OnceLock<Regex> = OnceLock::new();
        if !re(&S, r"^[A-Za-z0-9_]{1,128}$").is_match(stage) {
            v.push(p.at(
                "authorizer.stage",
                format!("stage name `{}` must be 1-128 letters, digits and _", stage.escape_debug()),
            ));
        }
    }
    if a.name.is_empty() || a.rest_api.is_empty() {
        v.push(p.at("authorizer", "authorizer needs a name and a restApi"));
    }
    if !a.identity_source.starts_with("method.request.") {
        v.push(p.at("authorizer.identitySource", "identitySource must look like method.request.header.Authorization"));
    }
    use super::model::AuthorizerType;
    match (a.auth_type, &a.function) {
        (AuthorizerType::Lambda, None) => v.push(p.at("authorizer", "a lambda authorizer needs `function`")),
        (AuthorizerType::Cognito, Some(_)) => {
            v.push(p.at("authorizer.function", "a cognito authorizer takes no `function`"))
        }
        (AuthorizerType::Lambda, Some(f)) => {
            static R: OnceLock<Regex> = OnceLock::new();
            if f.name.len() > MAX_LAMBDA_NAME || !re(&R, r"^[A-Za-z0-9_-]+$").is_match(&f.name) {
                v.push(p.at(
                    "authorizer.function.name",
                    format!("function name `{}` must be 1-64 letters, digits, - and _", f.name.escape_debug()),
                ));
            }
            if !(128..=10240).contains(&f.memory_mb) {
                v.push(p.at("authorizer.function.memoryMb", "memoryMb must be 128..10240"));
            }
            if !(1..=30).contains(&f.timeout_seconds) {
                v.push(p.at(
                    "authorizer.function.timeoutSeconds",
                    "an authorizer's timeoutSeconds must be 1..30 (API Gateway waits 29 s at most)",
                ));
            }
            if let Some(r) = &f.role {
                if !arn_re().is_match(r) || !r.contains(":role/") {
                    v.push(p.at("authorizer.function.role", "role must be an IAM role ARN"));
                }
            }
            if f.code.contains("..") || f.code.starts_with('/') {
                v.push(p.at("authorizer.function.code", "code is a path inside the config folder"));
            }
            if f.architecture != "x86_64" && f.architecture != "arm64" {
                v.push(p.at(
                    "authorizer.function.architecture",
                    format!("architecture `{}` must be x86_64 or arm64", f.architecture.escape_debug()),
                ));
            }
        }
        _ => {}
    }
    let mut seen = HashSet::new();
    for (i, m) in a.methods.iter().enumerate() {
        const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
        if !METHODS.contains(&m.method.as_str()) {
            v.push(p.at(&format!("authorizer.methods[{i}].method"), format!("unknown HTTP method `{}`", m.method)));
        }
        if !m.path.starts_with('/') {
            v.push(p.at(&format!("authorizer.methods[{i}].path"), "a resource path starts with /"));
        }
        if !seen.insert((m.path.clone(), m.method.clone())) {
            v.push(
                p.at(&format!("authorizer.methods[{i}]"), format!("method {} {} is listed twice", m.method, m.path)),
            );
        }
    }
}

/// The shortest access or ID token validity of the app clients, in minutes, with what it is
/// (Cognito's default is 60 minutes for both); None without clients.
fn shortest_token_validity(clients: &[super::model::AppClientSpec]) -> Option<(i64, String)> {
    const COGNITO_DEFAULT_MINUTES: i64 = 60;
    let mut best: Option<(i64, String)> = None;
    for c in clients {
        let tv = c.token_validity.clone().unwrap_or_default();
        for (kind, val) in [("access", &tv.access), ("ID", &tv.id)] {
            let minutes = match val {
                Some(s) => match duration_minutes(s) {
                    Some(m) => m,
                    None => continue, // reported by the pool rules
                },
                None => COGNITO_DEFAULT_MINUTES,
            };
            if best.as_ref().is_none_or(|(m, _)| minutes < *m) {
                best = Some((minutes, format!("{kind} token validity of app client `{}`", c.name)));
            }
        }
    }
    best
}

fn tenant_rules(v: &mut V<'_>) {
    let folder = v.folder;
    let pl = &folder.platform.value;
    let mut by_lower: HashMap<String, &Located<Tenant>> = HashMap::new();
    for t in &folder.tenants {
        let tv = &t.value;
        if let Some(why) = t.ambiguous("id") {
            v.push(
                t.at("id", format!("tenant id `{}` is written unquoted; YAML 1.1 tools read it as {why}", tv.id))
                    .hint(format!("quote it: id: \"{}\"", tv.id)),
            );
        }
        if let Some(problem) = tenant_id_problem(&tv.id) {
            v.push(
                t.at("id", problem)
                    .hint("tenant ids end up in IAM names, tags and ARNs; use lowercase letters, digits and hyphens"),
            );
        }
        let lower = tv.id.to_lowercase();
        if let Some(prev) = by_lower.get(&lower) {
            let what =
                if prev.value.id == tv.id { "duplicate tenant id" } else { "tenant id differs only in case from" };
            v.push(
                t.at("id", format!("{what} `{}` in {}:{}", prev.value.id, prev.file, prev.doc.pos_of("id").line))
                    .hint("each tenant is declared once; ids are compared without case"),
            );
        } else {
            by_lower.insert(lower, t);
        }
        if let Some(roles) = &tv.roles {
            let mut seen = HashSet::new();
            for (i, r) in roles.iter().enumerate() {
                if !pl.roles.contains_key(r) {
                    let declared = pl.roles.keys().cloned().collect::<Vec<_>>().join(", ");
                    let hint = match super::schema::did_you_mean(r, pl.roles.keys().map(String::as_str)) {
                        Some(m) => format!("did you mean `{m}`? (declared roles: {declared})"),
                        None => format!("declared roles: {declared}"),
                    };
                    v.push(
                        t.at(&format!("roles[{i}]"), format!("role `{r}` is not declared by the platform")).hint(hint),
                    );
                }
                if !seen.insert(r) {
                    v.push(t.at(&format!("roles[{i}]"), format!("role `{r}` is listed twice")));
                }
            }
        }
        check_tags(v, t, &tv.tags, "tags");
        if pl.tags.len() + tv.tags.len() + 3 > MAX_TAGS {
            v.push(t.at("tags", "platform and tenant tags plus tenantctl's own exceed AWS's 50 tags per resource"));
        }
        for (k, val) in &tv.vars {
            static R: OnceLock<Regex> = OnceLock::new();
            if !re(&R, r"^[A-Za-z_][A-Za-z0-9_]*$").is_match(k) {
                v.push(t.at_key(
                    &format!("vars.{k}"),
                    format!("variable name `{}` must be letters, digits and _", k.escape_debug()),
                ));
            }
            if let Some(reason) = template::widening_reason(val) {
                v.push(
                    t.at(
                        &format!("vars.{k}"),
                        format!("variable `{k}` = {val:?} contains {reason}: it could widen access in a policy"),
                    )
                    .hint("tenant variables are substituted into IAM policies; use plain names"),
                );
            }
        }
        if tenant_id_problem(&tv.id).is_none() && platform_re().is_match(&pl.name) {
            for role in desired::tenant_roles(pl, tv) {
                if !role_re().is_match(role) {
                    continue;
                }
                let name = names::iam_role(&pl.name, &tv.id, role);
                if name.len() > MAX_IAM_ROLE_NAME {
                    v.push(
                        t.at(
                            "id",
                            format!(
                                "IAM role name `{name}` is {} characters; IAM allows {MAX_IAM_ROLE_NAME}",
                                name.len()
                            ),
                        )
                        .hint("shorten the tenant id, the platform name or the role name; tenantctl never cuts names"),
                    );
                }
            }
            if tv.isolation == Isolation::Silo {
                let pool = names::silo_pool(&pl.name, &tv.id);
                if pool.len() > MAX_POOL_NAME {
                    v.push(t.at("id", format!("pool name `{pool}` is over Cognito's {MAX_POOL_NAME} characters")));
                }
                if let Some(d) = &pl.user_pool.domain {
                    let dom = names::silo_domain(d, &tv.id);
                    if dom.len() > MAX_DOMAIN_PREFIX {
                        v.push(t.at(
                            "id",
                            format!("hosted UI domain prefix `{dom}` is over Cognito's {MAX_DOMAIN_PREFIX} characters"),
                        ));
                    }
                }
            }
        }
        let ta_full = format!("custom:{}", pl.user_pool.tenant_attribute);
        let mut idp_names = HashSet::new();
        for (i, idp) in tv.identity_providers.iter().enumerate() {
            let path = format!("identityProviders[{i}]");
            let phys = format!("{}-{}", tv.id, idp.name);
            if !role_re().is_match(&idp.name) {
                v.push(t.at(
                    &format!("{path}.name"),
                    format!("identity provider name `{}` must match ^[a-z][a-z0-9]{{0,15}}$", idp.name.escape_debug()),
                ));
            } else if phys.len() > MAX_IDP_NAME {
                v.push(t.at(
                    &format!("{path}.name"),
                    format!("identity provider name `{phys}` is over Cognito's {MAX_IDP_NAME} characters"),
                ));
            }
            if !idp_names.insert(&idp.name) {
                v.push(t.at(&format!("{path}.name"), format!("identity provider `{}` is declared twice", idp.name)));
            }
            for (k, val) in &idp.attribute_mapping {
                if *k == ta_full || *k == pl.user_pool.tenant_attribute {
                    v.push(
                        t.at(&format!("{path}.attributeMapping.{k}"), format!("mapping an IdP attribute onto the tenant attribute `{ta_full}` lets the IdP choose the tenant"))
                            .hint("a federated user's tenant comes from the provider they sign in through; remove this mapping"),
                    );
                }
                if val.is_empty() {
                    v.push(
                        t.at(&format!("{path}.attributeMapping.{k}"), "an attribute mapping needs a source attribute"),
                    );
                }
            }
            use super::model::IdpType;
            match idp.idp_type {
                IdpType::Oidc => {
                    if !idp.issuer.as_deref().is_some_and(|i| i.starts_with("https://")) {
                        v.push(t.at(path.as_str(), "an oidc provider needs an https `issuer`"));
                    }
                    if idp.client_id.is_none() {
                        v.push(t.at(path.as_str(), "an oidc provider needs `clientId`"));
                    }
                }
                IdpType::Saml => {
                    if !idp.metadata_url.as_deref().is_some_and(|i| i.starts_with("https://")) {
                        v.push(t.at(path.as_str(), "a saml provider needs an https `metadataUrl`"));
                    }
                }
            }
            if let Some(e) = &idp.client_secret_env {
                if !env_name_re().is_match(e) {
                    v.push(
                        t.at(&format!("{path}.clientSecretEnv"), format!("`{e}` is not an environment variable name")),
                    );
                }
            }
            if idp.idp_type == IdpType::Saml && idp.client_secret_env.is_some() {
                v.push(t.at(&format!("{path}.clientSecretEnv"), "a saml provider takes no client secret"));
            }
        }
    }
}

/// The shared pool holds one group per pooled tenant and role: at most 10,000 (fixed quota).
fn group_count_rules(v: &mut V<'_>) {
    let folder = v.folder;
    let pl = &folder.platform.value;
    let mut count = 0usize;
    for t in &folder.tenants {
        if t.value.isolation == super::model::Isolation::Pooled {
            count += t.value.roles.as_ref().map_or(pl.roles.len(), Vec::len);
            if count > MAX_GROUPS_PER_POOL {
                v.push(
                    t.at("id", format!("tenant `{}` takes the shared pool past Cognito's {MAX_GROUPS_PER_POOL} groups per pool (one group per pooled tenant and role); the quota cannot be raised", t.value.id))
                        .hint("make tenants silo (a pool each) or give pooled tenants fewer roles"),
                );
                return;
            }
        }
    }
}

fn template_rules(v: &mut V<'_>) {
    let folder = v.folder;
    let pl = &folder.platform.value;
    let referenced: HashSet<&String> = pl.roles.values().flat_map(|r| r.policies.iter()).collect();
    for (name, tpl) in &folder.policies {
        if !referenced.contains(name) {
            continue;
        }
        match template::placeholders(&tpl.doc) {
            Err(e) => {
                let needle = match &e {
                    TemplateError::UnknownPlaceholder { name, .. } => name.clone(),
                    TemplateError::PlaceholderInKey { key, .. } => key.clone(),
                    TemplateError::Unterminated { text, .. } => text.clone(),
                    _ => "{{".into(),
                };
                v.push(tpl.at(&needle, e.to_string()).hint("placeholders: {{tenant.id}}, {{tenant.vars.NAME}}, {{platform.name}}, {{role}}, {{aws.accountId}}, {{aws.region}}, inside string values only"));
                continue;
            }
            Ok(phs) => {
                // A tenant variable used by a template must be set by every tenant using it.
                for (_, ph) in &phs {
                    if let Some(var) = ph.strip_prefix("tenant.vars.") {
                        for t in &folder.tenants {
                            let uses = desired::tenant_roles(pl, &t.value)
                                .iter()
                                .any(|r| pl.roles.get(*r).is_some_and(|rs| rs.policies.contains(name)));
                            if uses && !t.value.vars.contains_key(var) {
                                v.push(
                                    t.at(if t.value.vars.is_empty() { "id" } else { "vars" }, format!("policy template `{name}` uses {{{{tenant.vars.{var}}}}}, which this tenant does not set"))
                                        .hint(format!("add `vars: {{{var}: ...}}` to the tenant")),
                                );
                            }
                        }
                    }
                }
            }
        }
        for f in lint::lint(&tpl.doc) {
            v.push(tpl.at(&f.needle, format!("[{}] {}", f.rule, f.message)).hint(f.hint));
        }
    }
    // Rendered sizes: IAM limits the total inline policy size per role.
    if !v.out.is_empty() {
        return;
    }
    let ctx = desired::RenderEnv::offline(pl);
    for t in &folder.tenants {
        for role in desired::tenant_roles(pl, &t.value) {
            let Some(rs) = pl.roles.get(role) else { continue };
            let mut total = 0usize;
            for pol in &rs.policies {
                let Some(tpl) = folder.policies.get(pol) else { continue };
                match desired::render_policy(tpl, pl, &t.value, role, &ctx) {
                    Ok(doc) => total += desired::minified_len(&doc),
                    Err(TemplateError::Widening { name, value, .. })
                        if name.starts_with("tenant.vars.") && template::widening_reason(&value).is_some() =>
                    {
                        // Reported on the tenant's vars above.
                    }
                    Err(e @ TemplateError::Widening { .. }) => {
                        let var = match &e {
                            TemplateError::Widening { name, .. } => {
                                name.strip_prefix("tenant.vars.").map(|v| format!("vars.{v}"))
                            }
                            _ => None,
                        };
                        v.push(
                            t.at(var.as_deref().unwrap_or("id"), format!("rendering `{pol}` for role `{role}`: {e}"))
                                .hint("tenant variables are substituted into IAM policies; use plain names"),
                        );
                    }
                    Err(e) => v.push(t.at("id", format!("rendering `{pol}` for role `{role}`: {e}"))),
                }
            }
            if total > MAX_INLINE_POLICY_TOTAL {
                v.push(
                    t.at("id", format!("role `{role}`'s inline policies total {total} characters; IAM allows {MAX_INLINE_POLICY_TOTAL} per role"))
                        .hint("shorten the templates or split the role"),
                );
            }
        }
    }
}

fn tier_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[a-z][a-z0-9]{0,15}$")
}

fn stage_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Za-z0-9_]{1,128}$")
}

/// Contract §1.6: tiers, `apiUsage` and the tenants' `tier`.
fn tier_rules(v: &mut V<'_>) {
    let folder = v.folder;
    let p = &folder.platform;
    let pl = &p.value;
    for (name, tier) in &pl.tiers {
        let at = format!("tiers.{name}");
        if !tier_name_re().is_match(name) {
            v.push(p.at_key(&at, format!("tier name `{}` must match ^[a-z][a-z0-9]{{0,15}}$", name.escape_debug())));
        }
        if let Some(t) = &tier.throttle {
            if !(t.rate_limit.is_finite() && t.rate_limit >= 0.0) {
                v.push(p.at(&format!("{at}.throttle.rateLimit"), "rateLimit must be a number >= 0"));
            }
            if t.burst_limit < 0 {
                v.push(p.at(&format!("{at}.throttle.burstLimit"), "burstLimit must be >= 0"));
            }
        }
        if let Some(q) = &tier.quota {
            if q.limit < 1 {
                v.push(p.at(&format!("{at}.quota.limit"), "quota limit must be at least 1"));
            }
            let max_offset = match q.period {
                super::model::QuotaPeriod::Day => 0,
                super::model::QuotaPeriod::Week => 6,
                super::model::QuotaPeriod::Month => 27,
            };
            if !(0..=max_offset).contains(&q.offset) {
                v.push(p.at(
                    &format!("{at}.quota.offset"),
                    format!("quota offset for period {} must be 0..{max_offset}", q.period.aws_name()),
                ));
            }
        }
    }
    if pl.tiers.len() > MAX_USAGE_PLANS {
        v.push(
            p.at("tiers", format!("{} tiers: each is a usage plan, and an account holds at most {MAX_USAGE_PLANS} usage plans per Region", pl.tiers.len()))
                .hint("ask AWS to raise the usage plan quota, or use fewer tiers"),
        );
    }
    if let Some(u) = &pl.api_usage {
        if !stage_name_re().is_match(&u.stage) {
            v.push(p.at("apiUsage.stage", "stage name must be 1-128 letters, digits or _"));
        }
        if pl.tiers.is_empty() {
            v.push(p.at("apiUsage", "apiUsage needs `tiers`: each tier is a usage plan of the stage"));
        }
        match &pl.authorizer {
            None => v.push(
                p.at(
                    "apiUsage",
                    "apiUsage needs a Lambda `authorizer`: it returns each tenant's API key to API Gateway",
                )
                .hint("declare authorizer (type lambda) on the same REST API"),
            ),
            Some(a) => {
                if a.auth_type != super::model::AuthorizerType::Lambda {
                    v.push(p.at(
                        "apiUsage",
                        "apiUsage needs a Lambda authorizer (type lambda): a Cognito authorizer cannot name the tenant's API key",
                    ));
                }
                if a.rest_api != u.rest_api {
                    v.push(
                        p.at(
                            "apiUsage.restApi",
                            format!(
                                "apiUsage.restApi `{}` is not the authorizer's REST API `{}`",
                                u.rest_api, a.rest_api
                            ),
                        )
                        .hint("the guarded methods, whose callers are metered, are the authorizer's"),
                    );
                }
            }
        }
    }
    let mut keyed = 0usize;
    for t in &folder.tenants {
        let tv = &t.value;
        match &tv.tier {
            Some(tier) => match pl.tiers.get(tier) {
                None => {
                    let declared = pl.tiers.keys().cloned().collect::<Vec<_>>().join(", ");
                    let hint = match super::schema::did_you_mean(tier, pl.tiers.keys().map(String::as_str)) {
                        Some(m) => format!("did you mean `{m}`? (declared tiers: {declared})"),
                        None if declared.is_empty() => "the Platform declares no `tiers`; a tier removed from the Platform must first be left by its tenants".into(),
                        None => format!("declared tiers: {declared}; a tier removed from the Platform must first be left by its tenants"),
                    };
                    v.push(t.at("tier", format!("tier `{tier}` is not declared by the platform")).hint(hint));
                }
                Some(spec) => {
                    keyed += 1;
                    if t.doc.value.get("isolation").is_some() && tv.isolation != spec.isolation {
                        let name = |i: Isolation| if i == Isolation::Silo { "silo" } else { "pooled" };
                        v.push(
                            t.at(
                                "isolation",
                                format!(
                                    "isolation `{}` contradicts tier `{tier}`, whose isolation is `{}`",
                                    name(tv.isolation),
                                    name(spec.isolation)
                                ),
                            )
                            .hint("the tier decides the isolation: remove `isolation`, or choose another tier"),
                        );
                    }
                }
            },
            None if pl.api_usage.is_some() => v.push(
                t.at("id", format!("tenant `{}` has no `tier`; with apiUsage every tenant needs one (its API key is in its tier's usage plan, and guarded methods require a key)", tv.id))
                    .hint(format!("add `tier: {}`", pl.tiers.keys().next().map_or("<tier>", String::as_str))),
            ),
            None => {}
        }
    }
    if pl.api_usage.is_some() && keyed > MAX_API_KEYS {
        v.push(
            p.at(
                "apiUsage",
                format!("{keyed} tenants with an API key: an account holds at most {MAX_API_KEYS} API keys per Region"),
            )
            .hint("ask AWS to raise the API key quota"),
        );
    }
}

/// An `http://` URL whose host is exactly `localhost` or `127.0.0.1` (any port): the only
/// plain-http callback URLs Cognito accepts.
fn is_loopback_http(u: &str) -> bool {
    let Some(rest) = u.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return false,
        None => authority,
    };
    host == "localhost" || host == "127.0.0.1"
}

/// Identity providers per user pool (Cognito quota).
pub const MAX_IDPS_PER_POOL: usize = 300;
/// CloudWatch: an alarm on metric math holds at most 10 metrics.
pub const MAX_ALARM_METRICS: usize = 10;

/// Contract §1.4: the pool's own identity providers, tenant providers across tenants, the
/// feature plan's rules, monitoring.
fn identity_rules(v: &mut V<'_>) {
    use super::model::PoolIdpType;
    let folder = v.folder;
    let p = &folder.platform;
    let pl = &p.value;
    let up = &pl.user_pool;
    let ta = &up.tenant_attribute;
    let ta_full = format!("custom:{ta}");
    // The pool's own providers.
    if up.identity_providers.len() > MAX_IDPS_PER_POOL {
        v.push(p.at(
            "userPool.identityProviders",
            format!("{} identity providers exceed Cognito's {MAX_IDPS_PER_POOL} per pool", up.identity_providers.len()),
        ));
    }
    let mut pool_names: HashMap<String, usize> = HashMap::new();
    for (i, idp) in up.identity_providers.iter().enumerate() {
        let path = format!("userPool.identityProviders[{i}]");
        let fixed = match idp.idp_type {
            PoolIdpType::Google => Some("Google"),
            PoolIdpType::Facebook => Some("Facebook"),
            PoolIdpType::Amazon => Some("LoginWithAmazon"),
            PoolIdpType::Apple => Some("SignInWithApple"),
            PoolIdpType::Oidc | PoolIdpType::Saml => None,
        };
        match fixed {
            Some(n) if idp.name != n => v.push(
                p.at(
                    &format!("{path}.name"),
                    format!(
                        "a {} provider is named `{n}` in Cognito, not `{}`",
                        pool_idp_type_name(idp.idp_type),
                        idp.name.escape_debug()
                    ),
                )
                .hint(format!("name: {n}")),
            ),
            None => {
                static R: OnceLock<Regex> = OnceLock::new();
                if !re(&R, r"^[A-Za-z][A-Za-z0-9_.]{0,31}$").is_match(&idp.name)
                    || ["Google", "Facebook", "LoginWithAmazon", "SignInWithApple", "COGNITO"]
                        .contains(&idp.name.as_str())
                {
                    v.push(
                        p.at(&format!("{path}.name"), format!("identity provider name `{}` must be 1-32 letters, digits, _ and . (no hyphen: `<tenant>-<name>` is a tenant's provider), and not a social provider's name", idp.name.escape_debug())),
                    );
                }
            }
            _ => {}
        }
        if let Some(prev) = pool_names.insert(idp.name.clone(), i) {
            v.push(p.at(
                &format!("{path}.name"),
                format!("identity provider `{}` is declared twice (also identityProviders[{prev}])", idp.name),
            ));
        }
        if let Some(e) = &idp.client_secret_env {
            if !env_name_re().is_match(e) {
                v.push(p.at(&format!("{path}.clientSecretEnv"), format!("`{e}` is not an environment variable name")));
            }
        }
        let needs_client = idp.idp_type != PoolIdpType::Saml;
        if needs_client && idp.client_id.as_deref().is_none_or(str::is_empty) {
            v.push(p.at(path.as_str(), format!("a {} provider needs `clientId`", pool_idp_type_name(idp.idp_type))));
        }
        let needs_secret = matches!(
            idp.idp_type,
            PoolIdpType::Google | PoolIdpType::Facebook | PoolIdpType::Amazon | PoolIdpType::Apple
        );
        if needs_secret && idp.client_secret_env.is_none() {
            v.push(
                p.at(
                    path.as_str(),
                    format!(
                        "a {} provider needs `clientSecretEnv`{}",
                        pool_idp_type_name(idp.idp_type),
                        if idp.idp_type == PoolIdpType::Apple { " (the variable holding the private key)" } else { "" }
                    ),
                )
                .hint("name the environment variable that holds the secret at plan and apply"),
            );
        }
        let https = |u: &Option<String>| u.as_deref().is_some_and(|i| i.starts_with("https://"));
        if idp.idp_type == PoolIdpType::Oidc && !https(&idp.issuer) {
            v.push(p.at(path.as_str(), "an oidc provider needs an https `issuer`"));
        }
        if idp.idp_type == PoolIdpType::Saml {
            if !https(&idp.metadata_url) {
                v.push(p.at(path.as_str(), "a saml provider needs an https `metadataUrl`"));
            }
            if idp.client_secret_env.is_some() {
                v.push(p.at(&format!("{path}.clientSecretEnv"), "a saml provider takes no client secret"));
            }
        }
        if idp.idp_type == PoolIdpType::Apple && (idp.team_id.is_none() || idp.key_id.is_none()) {
            v.push(p.at(path.as_str(), "an apple provider needs `teamId` and `keyId`"));
        }
        if idp.idp_type != PoolIdpType::Oidc && idp.issuer.is_some() {
            v.push(p.at(&format!("{path}.issuer"), "`issuer` is for oidc providers only"));
        }
        if idp.idp_type != PoolIdpType::Saml && idp.metadata_url.is_some() {
            v.push(p.at(&format!("{path}.metadataUrl"), "`metadataUrl` is for saml providers only"));
        }
        if idp.idp_type != PoolIdpType::Apple && (idp.team_id.is_some() || idp.key_id.is_some()) {
            v.push(p.at(path.as_str(), "`teamId` and `keyId` are for apple providers only"));
        }
        for (k, val) in &idp.attribute_mapping {
            if *k == ta_full || k == ta {
                v.push(
                    p.at(&format!("{path}.attributeMapping.{k}"), format!("mapping an IdP attribute onto the tenant attribute `{ta_full}` lets the IdP choose the tenant"))
                        .hint("a federated user's tenant is set by administrators (or comes from a tenant's own provider); remove this mapping"),
                );
            }
            if val.is_empty() {
                v.push(p.at(&format!("{path}.attributeMapping.{k}"), "an attribute mapping needs a source attribute"));
            }
        }
    }
    // Tenant providers across tenants: one external identity provider (issuer or metadata
    // URL) serves one tenant, and physical names never meet the pool's own.
    let mut by_source: HashMap<String, (String, String)> = HashMap::new();
    let mut per_pool: BTreeMap<String, usize> = BTreeMap::new();
    let mut sso_clients: BTreeMap<String, usize> = BTreeMap::new();
    for t in &folder.tenants {
        let tv = &t.value;
        let pool = match tv.isolation {
            Isolation::Pooled => names::shared_pool(&pl.name),
            Isolation::Silo => names::silo_pool(&pl.name, &tv.id),
        };
        *per_pool.entry(pool.clone()).or_insert(up.identity_providers.len()) += tv.identity_providers.len();
        if per_pool[&pool] > MAX_IDPS_PER_POOL {
            v.push(
                t.at("identityProviders", format!("tenant `{}` takes pool `{pool}` past Cognito's {MAX_IDPS_PER_POOL} identity providers per pool (the pool's own {} and its tenants' providers)", tv.id, up.identity_providers.len()))
                    .hint("make some tenants silo (a pool each), or declare fewer providers"),
            );
            per_pool.insert(pool.clone(), usize::MIN);
        }
        if tv.identity_providers.len() > 1 {
            v.push(
                t.at(
                    "identityProviders[1].name",
                    format!(
                        "tenant `{}` declares {} identity providers; a tenant has one: its app client `{}-sso` is bound 1:1 to it",
                        tv.id,
                        tv.identity_providers.len(),
                        tv.id
                    ),
                )
                .hint("keep one provider per tenant (contract §1.4); federate further IdPs behind it"),
            );
        }
        if !tv.identity_providers.is_empty() {
            // The tenant's SSO client `<tenant>-sso` sits in its pool next to the folder's clients.
            let n = sso_clients.entry(pool.clone()).or_insert(up.app_clients.len());
            *n += 1;
            if *n == MAX_APP_CLIENTS + 1 {
                v.push(
                    t.at("identityProviders", format!("tenant `{}`'s SSO client `{}-sso` takes pool `{pool}` past Cognito's {MAX_APP_CLIENTS} app clients per pool", tv.id, tv.id))
                        .hint("make some tenants silo (a pool each), or declare fewer app clients"),
                );
            }
        }
        for (i, idp) in tv.identity_providers.iter().enumerate() {
            let path = format!("identityProviders[{i}]");
            let source = match idp.idp_type {
                super::model::IdpType::Oidc => idp
                    .issuer
                    .clone()
                    .map(|s| format!("{}|{}", s.trim_end_matches('/'), idp.client_id.clone().unwrap_or_default())),
                super::model::IdpType::Saml => idp.metadata_url.clone(),
            };
            let phys = format!("{}-{}", tv.id, idp.name);
            if let Some(source) = source {
                if let Some((other, other_name)) = by_source.get(&source).filter(|(o, _)| *o != tv.id) {
                    v.push(
                        t.at(&format!("{path}.name"), format!("identity provider `{phys}` is the same provider as tenant `{other}`'s `{other_name}`: one provider would sign users in to two tenants"))
                            .hint("each tenant federates with its own provider (its own issuer and client, or its own SAML metadata)"),
                    );
                } else {
                    by_source.insert(source, (tv.id.clone(), phys.clone()));
                }
            }
            if up.identity_providers.iter().any(|pi| pi.name == phys) {
                v.push(t.at(
                    &format!("{path}.name"),
                    format!("identity provider `{phys}` is also the name of one of the pool's own providers"),
                ));
            }
        }
    }
    // Monitoring.
    if let Some(m) = &pl.monitoring {
        if !arn_re().is_match(&m.sns_topic_arn) || !m.sns_topic_arn.contains(":sns:") {
            v.push(
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
                v.push(p.at(&format!("{path}.periodSeconds"), format!("periodSeconds {} must be a multiple of 60 between 60 and 86400 (Cognito publishes its metrics every 5 minutes)", a.period_seconds)));
            }
            if !a.threshold.is_finite() || a.threshold < 0.0 || (per_client == 2 && a.threshold >= 1.0) {
                v.push(p.at(
                    &format!("{path}.threshold"),
                    if per_client == 2 {
                        "a ratio threshold is at least 0 and below 1"
                    } else {
                        "a threshold is a number >= 0"
                    },
                ));
            }
            if clients == 0 {
                v.push(p.at(&path, "the pool declares no app clients: Cognito publishes sign-in metrics per app client, so there is nothing to watch").hint("declare userPool.appClients, or drop this alarm"));
            } else if clients * per_client > MAX_ALARM_METRICS {
                v.push(p.at(&path, format!("{clients} app clients need {} metrics in one alarm; a CloudWatch metric-math alarm holds at most {MAX_ALARM_METRICS}", clients * per_client)));
            }
        }
    }
}

fn pool_idp_type_name(t: super::model::PoolIdpType) -> &'static str {
    use super::model::PoolIdpType::*;
    match t {
        Google => "google",
        Facebook => "facebook",
        Amazon => "amazon",
        Apple => "apple",
        Oidc => "oidc",
        Saml => "saml",
    }
}
