//! Evaluating one AuthorizationPolicy rule against a request, as the RBAC
//! filter istiod generates would.
//!
//! A rule matches when one `from` entry, one `to` entry and every `when`
//! condition match; fields inside a source or operation are ANDed, values
//! ORed, `not` values excluded. istiod's generation step is modelled too:
//! an unknown `when` key drops the rule; a value it cannot turn into a
//! matcher (an HTTP-only field on a TCP port, a bad port or IP) drops the
//! whole rule of an ALLOW policy but only that value of a DENY, AUDIT or
//! CUSTOM policy (`checkError` in `pilot/pkg/security/authz/model/model.go`),
//! which makes such a rule wider.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::attrs::{Attr, ValueError};
use super::matcher::{
    Cidr, is_header_match, is_host_match, is_namespace_match, is_principal_match,
    is_service_account_match, is_string_match, parse_port,
};
use super::path::{is_path_template, is_template_match};
use crate::mesh::authorization_policy::{Condition, Operation, Rule, Source};
use crate::mesh::mesh_config::DEFAULT_TRUST_DOMAIN;

/// What the proxy knows about a request when it evaluates policies.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    /// Whether the port is handled by a TCP filter chain.
    pub tcp: bool,
    /// The peer's SPIFFE URI when mTLS was established.
    pub peer: Option<&'a str>,
    /// Direct peer address.
    pub source_ip: Option<IpAddr>,
    /// Original client address.
    pub remote_ip: Option<IpAddr>,
    /// Destination address.
    pub destination_ip: Option<IpAddr>,
    /// Destination (container) port.
    pub destination_port: u16,
    /// TLS server name the client sent.
    pub sni: Option<&'a str>,
    /// HTTP method.
    pub method: Option<&'a str>,
    /// Normalized path without query.
    pub path: Option<&'a str>,
    /// `:authority`.
    pub host: Option<&'a str>,
    /// Headers, names lower-cased, repeated headers joined with commas.
    pub headers: &'a [(String, String)],
    /// Mesh trust domain followed by its aliases.
    pub trust_domains: &'a [String],
}

/// Which generation rules apply: ALLOW drops a rule on any bad value; DENY,
/// AUDIT and CUSTOM drop just the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// ALLOW policies.
    Allow,
    /// DENY, AUDIT and CUSTOM policies.
    DenyLike,
}

/// Where in a rule a field sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Part {
    /// `from[i].source`.
    From(usize),
    /// `to[i].operation`.
    To(usize),
    /// `when[i]`.
    When(usize),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::From(i) => write!(f, "from[{i}].source"),
            Part::To(i) => write!(f, "to[{i}].operation"),
            Part::When(i) => write!(f, "when[{i}]"),
        }
    }
}

/// Why a field did not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Miss {
    /// The field needs the peer's mTLS identity and the request has none.
    NoPeerIdentity,
    /// The field needs a JWT; `can` requests carry none.
    NoJwt,
    /// The attribute is not known for this request (an IP, Envoy metadata).
    Unknown(&'static str),
    /// The request has no such header (or method, path, host).
    Absent,
    /// The request's value is none of the listed values.
    NotListed(String),
    /// The request's value matches a `not` value.
    Excluded {
        /// The request's value.
        actual: String,
        /// The `not` value it matched.
        value: String,
    },
}

/// The first field of a rule that did not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldMiss {
    /// Where the field is.
    pub part: Part,
    /// Field name (`principals`, `notPaths`, or the `when` key).
    pub field: String,
    /// Why it did not match.
    pub miss: Miss,
}

/// Why istiod drops a rule before any request sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Skip {
    /// A `when` key Istio does not know.
    UnknownAttribute(String),
    /// A value istiod cannot build a matcher for (ALLOW policies only).
    Unbuildable {
        /// Where the value is.
        part: Part,
        /// The field.
        field: String,
        /// The value.
        value: String,
        /// Why.
        #[serde(skip)]
        error: ValueError,
    },
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RuleOutcome {
    /// The rule matched.
    Matched,
    /// The rule did not match; the first failing field.
    Missed(FieldMiss),
    /// istiod dropped the rule.
    Skipped(Skip),
}

/// A rule's outcome with the fields istiod ignored while generating it
/// (HTTP-only or invalid values of a DENY-like rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleResult {
    /// The outcome.
    pub outcome: RuleOutcome,
    /// Fields ignored, as `part field`.
    pub ignored: Vec<String>,
}

/// One condition of a rule, borrowed from the policy.
struct Cond<'r> {
    part: Part,
    field: Cow<'r, str>,
    not_field: Cow<'r, str>,
    attr: Attr,
    values: &'r [String],
    not_values: &'r [String],
}

fn source_conds(i: usize, s: &Source) -> [Cond<'_>; 6] {
    let part = Part::From(i);
    [
        cond(
            part,
            "principals",
            "notPrincipals",
            Attr::SourcePrincipal,
            &s.principals,
            &s.not_principals,
        ),
        cond(
            part,
            "requestPrincipals",
            "notRequestPrincipals",
            Attr::RequestPrincipal,
            &s.request_principals,
            &s.not_request_principals,
        ),
        cond(
            part,
            "serviceAccounts",
            "notServiceAccounts",
            Attr::SourceServiceAccount,
            &s.service_accounts,
            &s.not_service_accounts,
        ),
        cond(
            part,
            "namespaces",
            "notNamespaces",
            Attr::SourceNamespace,
            &s.namespaces,
            &s.not_namespaces,
        ),
        cond(
            part,
            "remoteIpBlocks",
            "notRemoteIpBlocks",
            Attr::RemoteIp,
            &s.remote_ip_blocks,
            &s.not_remote_ip_blocks,
        ),
        cond(part, "ipBlocks", "notIpBlocks", Attr::SourceIp, &s.ip_blocks, &s.not_ip_blocks),
    ]
}

fn operation_conds(i: usize, o: &Operation) -> [Cond<'_>; 4] {
    let part = Part::To(i);
    [
        cond(part, "hosts", "notHosts", Attr::Host, &o.hosts, &o.not_hosts),
        cond(part, "methods", "notMethods", Attr::Method, &o.methods, &o.not_methods),
        cond(part, "paths", "notPaths", Attr::Path, &o.paths, &o.not_paths),
        cond(part, "ports", "notPorts", Attr::DestinationPort, &o.ports, &o.not_ports),
    ]
}

fn cond<'r>(
    part: Part,
    field: &'static str,
    not_field: &'static str,
    attr: Attr,
    values: &'r [String],
    not_values: &'r [String],
) -> Cond<'r> {
    Cond {
        part,
        field: Cow::Borrowed(field),
        not_field: Cow::Borrowed(not_field),
        attr,
        values,
        not_values,
    }
}

fn when_cond(i: usize, c: &Condition, attr: Attr) -> Cond<'_> {
    Cond {
        part: Part::When(i),
        field: Cow::Borrowed(c.key.as_str()),
        not_field: Cow::Owned(format!("{} notValues", c.key)),
        attr,
        values: &c.values,
        not_values: &c.not_values,
    }
}

/// Evaluates a rule of a policy in `policy_namespace`.
pub fn evaluate_rule(
    rule: &Rule,
    policy_namespace: &str,
    generation: Generation,
    attrs: &Attributes<'_>,
) -> RuleResult {
    let mut when = Vec::with_capacity(rule.when.len());
    for (i, c) in rule.when.iter().enumerate() {
        match Attr::of_when_key(&c.key) {
            Some(attr) => when.push(when_cond(i, c, attr)),
            None => return skipped(Skip::UnknownAttribute(c.key.clone())),
        }
    }
    let froms =
        || rule.from.iter().enumerate().map(|(i, f)| f.source.as_ref().map(|s| source_conds(i, s)));
    let tos = || {
        rule.to.iter().enumerate().map(|(i, t)| t.operation.as_ref().map(|o| operation_conds(i, o)))
    };

    // Generation: find values istiod cannot build.
    let mut ignored = Vec::new();
    let mut generate = |c: &Cond<'_>| -> Option<Skip> {
        for (values, field) in [(c.values, &c.field), (c.not_values, &c.not_field)] {
            for v in values {
                let Some(error) = c.attr.value_error(v, attrs.tcp) else { continue };
                if generation == Generation::Allow {
                    let (part, field, value) = (c.part, field.to_string(), v.clone());
                    return Some(Skip::Unbuildable { part, field, value, error });
                }
                let label = format!("{} {field}", c.part);
                if !ignored.contains(&label) {
                    ignored.push(label);
                }
            }
        }
        None
    };
    let from_conds = froms().flatten().flat_map(|a| a.into_iter());
    let to_conds = tos().flatten().flat_map(|a| a.into_iter());
    for c in from_conds.chain(to_conds) {
        if let Some(skip) = generate(&c) {
            return skipped(skip);
        }
    }
    for c in &when {
        if let Some(skip) = generate(c) {
            return skipped(skip);
        }
    }

    let ctx = Ctx { attrs, policy_namespace };
    let outcome = match first_miss(&ctx, froms())
        .or_else(|| first_miss(&ctx, tos()))
        .or_else(|| when.iter().find_map(|c| ctx.check(c).err()))
    {
        Some(miss) => RuleOutcome::Missed(miss),
        None => RuleOutcome::Matched,
    };
    RuleResult { outcome, ignored }
}

fn skipped(skip: Skip) -> RuleResult {
    RuleResult { outcome: RuleOutcome::Skipped(skip), ignored: Vec::new() }
}

/// `None` when some entry matches (an entry without a source or operation
/// matches anything) or there is no entry; otherwise the first entry's
/// first failing field.
fn first_miss<'r, const N: usize>(
    ctx: &Ctx<'_, '_>,
    entries: impl Iterator<Item = Option<[Cond<'r>; N]>>,
) -> Option<FieldMiss> {
    let mut first = None;
    for entry in entries {
        let conds = entry?;
        match conds.iter().find_map(|c| ctx.check(c).err()) {
            None => return None,
            Some(miss) => {
                if first.is_none() {
                    first = Some(miss);
                }
            }
        }
    }
    first
}

struct Ctx<'a, 'b> {
    attrs: &'b Attributes<'a>,
    policy_namespace: &'b str,
}

/// The request's value of an attribute.
enum Actual<'a> {
    Text(Cow<'a, str>),
    Port(u16),
    Ip(IpAddr),
    Missing(Miss),
}

impl Ctx<'_, '_> {
    fn check(&self, c: &Cond<'_>) -> Result<(), FieldMiss> {
        let tcp = self.attrs.tcp;
        let usable = |v: &&String| c.attr.value_error(v, tcp).is_none();
        let mut values = c.values.iter().filter(usable).peekable();
        let mut not_values = c.not_values.iter().filter(usable).peekable();
        let has_values = values.peek().is_some();
        if !has_values && not_values.peek().is_none() {
            return Ok(());
        }
        let actual = self.actual(&c.attr);
        if has_values && !values.any(|v| self.is_match(&c.attr, v, &actual)) {
            let miss = match actual {
                Actual::Missing(m) => m,
                other => Miss::NotListed(display(&other)),
            };
            return Err(FieldMiss { part: c.part, field: c.field.to_string(), miss });
        }
        if let Some(v) = not_values.find(|v| self.is_match(&c.attr, v, &actual)) {
            let miss = Miss::Excluded { actual: display(&actual), value: v.clone() };
            return Err(FieldMiss { part: c.part, field: c.not_field.to_string(), miss });
        }
        Ok(())
    }

    fn actual(&self, attr: &Attr) -> Actual<'_> {
        let a = self.attrs;
        fn text(v: Option<&str>, missing: Miss) -> Actual<'_> {
            match v {
                Some(s) => Actual::Text(Cow::Borrowed(s)),
                None => Actual::Missing(missing),
            }
        }
        let ip = |v: Option<IpAddr>, what: &'static str| match v {
            Some(ip) => Actual::Ip(ip),
            None => Actual::Missing(Miss::Unknown(what)),
        };
        match attr {
            Attr::SourcePrincipal | Attr::SourceNamespace | Attr::SourceServiceAccount => {
                text(a.peer, Miss::NoPeerIdentity)
            }
            Attr::RequestPrincipal
            | Attr::RequestAudiences
            | Attr::RequestPresenter
            | Attr::RequestClaim(_) => Actual::Missing(Miss::NoJwt),
            Attr::SourceIp => ip(a.source_ip, "source IP"),
            Attr::RemoteIp => ip(a.remote_ip, "remote IP"),
            Attr::DestinationIp => ip(a.destination_ip, "destination IP"),
            Attr::DestinationPort => Actual::Port(a.destination_port),
            Attr::ConnectionSni => text(a.sni, Miss::Absent),
            Attr::Host => text(a.host, Miss::Absent),
            Attr::Method => text(a.method, Miss::Absent),
            Attr::Path => text(a.path, Miss::Absent),
            Attr::RequestHeader(name) => {
                let name = name.as_deref().unwrap_or("");
                text(header(a, name), Miss::Absent)
            }
            Attr::EnvoyFilter(_) => Actual::Missing(Miss::Unknown("Envoy filter metadata")),
        }
    }

    fn is_match(&self, attr: &Attr, value: &str, actual: &Actual<'_>) -> bool {
        match (attr, actual) {
            (Attr::SourcePrincipal, Actual::Text(uri)) => {
                is_principal_with_aliases(value, uri, self.attrs.trust_domains)
            }
            (Attr::SourceNamespace, Actual::Text(uri)) => is_namespace_match(value, uri),
            (Attr::SourceServiceAccount, Actual::Text(uri)) => {
                is_service_account_match(value, self.policy_namespace, uri)
            }
            (Attr::SourceIp | Attr::RemoteIp | Attr::DestinationIp, Actual::Ip(ip)) => {
                Cidr::parse(value).is_some_and(|c| c.contains(*ip))
            }
            (Attr::DestinationPort, Actual::Port(p)) => parse_port(value) == Some(*p),
            (Attr::Host, Actual::Text(h)) => is_host_match(value, h),
            (Attr::Method | Attr::RequestHeader(_), Actual::Text(v)) => is_header_match(value, v),
            (Attr::Path, Actual::Text(p)) => {
                if is_path_template(value) {
                    is_template_match(value, p)
                } else {
                    is_string_match(value, p, false)
                }
            }
            (Attr::ConnectionSni, Actual::Text(s)) => is_string_match(value, s, false),
            _ => false,
        }
    }
}

fn header<'a>(a: &'a Attributes<'_>, name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        ":authority" | "host" => return a.host,
        ":method" => return a.method,
        ":path" => return a.path,
        _ => {}
    }
    a.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

fn display(actual: &Actual<'_>) -> String {
    match actual {
        Actual::Text(t) => t.to_string(),
        Actual::Port(p) => p.to_string(),
        Actual::Ip(ip) => ip.to_string(),
        Actual::Missing(_) => String::new(),
    }
}

/// Matches a principal value against a peer URI after istiod's trust domain
/// migration (`pilot/pkg/security/trustdomain/bundle.go`): a value in the
/// form `<td>/ns/<ns>/sa/<sa>` whose trust domain is the mesh's, one of its
/// aliases, or `cluster.local` stands for the same identity in every one of
/// them; other values are matched as written.
pub fn is_principal_with_aliases(value: &str, peer_uri: &str, trust_domains: &[String]) -> bool {
    let parts: Vec<&str> = value.split('/').collect();
    if parts.len() != 5 || parts[0] == "*" {
        return is_principal_match(value, peer_uri);
    }
    let td = parts[0];
    let known = trust_domains.iter().any(|t| t == td || t == "*" || td_pattern(t, td))
        || td == DEFAULT_TRUST_DOMAIN;
    if !known {
        return is_principal_match(value, peer_uri);
    }
    let rest = &value[td.len()..];
    trust_domains.iter().any(|t| {
        let variant = if td_suffix_match(t, td) { value.to_string() } else { format!("{t}{rest}") };
        is_principal_match(&variant, peer_uri)
    })
}

/// Istio's `stringMatch` of a trust domain against a list entry `pattern`.
fn td_pattern(pattern: &str, td: &str) -> bool {
    pattern.strip_suffix('*').is_some_and(|p| td.starts_with(p))
        || pattern.strip_prefix('*').is_some_and(|s| td.ends_with(s))
}

/// Istio's `suffixMatch(trustDomain, trustDomainFromPrincipal)`.
fn td_suffix_match(td: &str, principal_td: &str) -> bool {
    principal_td.strip_prefix('*').is_some_and(|s| td.ends_with(s))
}
