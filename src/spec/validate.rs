//! The folder-wide rules, checked offline: names (platform, roles, tenant ids), references
//! between documents (roles, policy templates, tiers), YAML 1.1 readings, tags and their count,
//! tenant variables and the policy templates (placeholders, the lint, rendered sizes). Each
//! finding names file, line and column. What one resource kind accepts is that kind's own
//! rule (`kinds::Kind::validate`); `check::validate` runs both.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;

use super::desired;
use super::lint;
use super::model::{Isolation, Tenant};
use super::template::{self, TemplateError};
use super::{Diagnostic, Folder, Located};

/// IAM: the inline policies of one role, in characters (minified).
pub const MAX_INLINE_POLICY_TOTAL: usize = 10_240;
/// Tags per resource (AWS).
pub const MAX_TAGS: usize = 50;

/// A regex compiled once, in `cell`.
pub(crate) fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
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
fn tag_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$")
}
/// An ARN (no wildcards).
pub(crate) fn arn_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:[A-Za-z0-9+=,.@_/:-]+$")
}
/// An environment variable's name.
pub(crate) fn env_name_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Z_][A-Z0-9_]*$")
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
/// Runs the folder-wide rules. An empty result means the folder is valid as far as they go;
/// `check::validate` adds every kind's rules.
pub fn validate(folder: &Folder) -> Vec<Diagnostic> {
    validate_with(folder, Vec::new())
}

/// Runs the folder-wide rules on top of `found` (the kinds' findings): the rendered policy
/// sizes are checked only when nothing else was found. Every finding gets a hint; the result
/// is sorted, without duplicates.
pub fn validate_with(folder: &Folder, found: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut v = V { folder, out: found };
    platform_rules(&mut v);
    tenant_rules(&mut v);
    tier_rules(&mut v);
    tenancy_rules(&mut v);
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
                shared_role_placeholders(v, name, tpl, &phs);
                // A tenant variable used by a template must be set by every tenant using it.
                for (_, ph) in phs.iter().filter(|_| !desired::shared_roles(pl)) {
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
    if desired::shared_roles(pl) {
        shared_role_sizes(v, &ctx);
        return;
    }
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

/// Contract §1.7: a shared role is no single tenant's; its policies reach tenant data only
/// through `${aws:PrincipalTag/tenant_id}`, so a `{{tenant.*}}` placeholder in a policy of a
/// shared role is an error at the placeholder.
fn shared_role_placeholders(v: &mut V<'_>, name: &str, tpl: &super::PolicyTemplate, phs: &[(String, String)]) {
    let pl = &v.folder.platform.value;
    if desired::shared_roles(pl) {
        let roles: Vec<&str> =
            pl.roles.iter().filter(|(_, r)| r.policies.iter().any(|p| p == name)).map(|(n, _)| n.as_str()).collect();
        if let Some((_, ph)) = phs.iter().find(|(_, ph)| ph.starts_with("tenant.")) {
            v.push(
                tpl.at(
                    ph,
                    format!(
                        "policy template `{name}` uses {{{{{ph}}}}}, but with `tenancy.roles: shared` its role{} `{}` {} no single tenant's",
                        if roles.len() == 1 { "" } else { "s" },
                        roles.join("`, `"),
                        if roles.len() == 1 { "is" } else { "are" }
                    ),
                )
                .hint("a shared role reaches tenant data only through ${aws:PrincipalTag/tenant_id} (the session tag); replace the placeholder with it, or set `tenancy.roles: per-tenant`"),
            );
        }
    }
}

/// The rendered inline policies of each shared role (rendered once, without a tenant) against
/// IAM's per-role total.
fn shared_role_sizes(v: &mut V<'_>, ctx: &desired::RenderEnv) {
    let folder = v.folder;
    let pl = &folder.platform.value;
    for (role, rs) in &pl.roles {
        let mut total = 0usize;
        for pol in &rs.policies {
            let Some(tpl) = folder.policies.get(pol) else { continue };
            match desired::render_shared_policy(tpl, pl, role, ctx) {
                Ok(doc) => total += desired::minified_len(&doc),
                Err(e) => {
                    v.push(folder.platform.at_key(
                        &format!("roles.{role}"),
                        format!("rendering `{pol}` for the shared role `{role}`: {e}"),
                    ))
                }
            }
        }
        if total > MAX_INLINE_POLICY_TOTAL {
            v.push(
                folder.platform.at_key(&format!("roles.{role}"), format!("role `{role}`'s inline policies total {total} characters; IAM allows {MAX_INLINE_POLICY_TOTAL} per role"))
                    .hint("shorten the templates or split the role"),
            );
        }
    }
}

/// Contract §1.7 `tenancy`: with shared roles no platform role is named `authorizer` (the
/// shared role `<platform>-authorizer` would be the managed execution role's name); with shared
/// groups and `authorizer.tokenUse: access` the pools declare a `preTokenGeneration` trigger
/// (an access token carries the tenant attribute only when that trigger adds it, and shared
/// groups name no tenant).
fn tenancy_rules(v: &mut V<'_>) {
    let p = &v.folder.platform;
    let pl = &p.value;
    if desired::shared_roles(pl) && pl.roles.contains_key("authorizer") {
        v.push(
            p.at_key(
                "roles.authorizer",
                format!(
                    "with `tenancy.roles: shared` a platform role may not be named `authorizer`: its shared role `{}` would be the authorizer's managed execution role's name",
                    desired::names::authorizer_role(&pl.name)
                ),
            )
            .hint("rename the role, or set `tenancy.roles: per-tenant`"),
        );
    }
    let access = pl.authorizer.as_ref().is_some_and(|a| a.token_use == "access");
    if desired::shared_groups(pl) && access && !pl.user_pool.triggers.contains_key("preTokenGeneration") {
        v.push(
            p.at(
                "tenancy.groups",
                "`tenancy.groups: shared` with `authorizer.tokenUse: access` needs a `userPool.triggers.preTokenGeneration`: shared groups name no tenant, and an access token carries the tenant attribute only when that trigger adds it",
            )
            .hint(format!(
                "declare `userPool.triggers.preTokenGeneration` (a function that adds custom:{} to the access token), use `tokenUse: id`, or set `tenancy.groups: per-tenant`",
                pl.user_pool.tenant_attribute
            )),
        );
    }
}

/// Contract §1.6: a tenant's `tier` is declared by the platform, and an explicit `isolation`
/// agrees with it.
fn tier_rules(v: &mut V<'_>) {
    let folder = v.folder;
    let pl = &folder.platform.value;
    for t in &folder.tenants {
        let tv = &t.value;
        let Some(tier) = &tv.tier else { continue };
        match pl.tiers.get(tier) {
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
        }
    }
}
