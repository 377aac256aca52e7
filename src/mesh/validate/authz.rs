//! AuthorizationPolicy values, and the `--from` forms the CLI offers.
//!
//! Istio's webhook (`ValidateAuthorizationPolicy` with `pkg/config/security`) refuses empty
//! strings everywhere, checks `ipBlocks` as IPs or CIDRs, `ports` as numbers 0 to 65535,
//! `serviceAccounts` as `[namespace/]name` without wildcards, `paths` that use the `{*}` and
//! `{**}` templates, and `when` keys against its attribute list. The documented match forms of
//! every string field are exact, prefix (`abc*`), suffix (`*abc`) and presence (`*`); a value
//! with a `*` in any other place is none of them and is refused here, as are principals,
//! namespaces, methods and paths that could never match a request:
//! principals must be `TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT`, methods the standard HTTP
//! names (gRPC calls are always `POST`), and paths must start with `/`.

use super::error::{ValidationError, quoted};
use super::ip::parse_ip_block;
use super::k8s::{is_dns1123_label, is_dns1123_subdomain, is_label_shape};
use super::numbers::parse_decimal;

/// The HTTP methods Istio knows (Go's `net/http` method constants).
pub const HTTP_METHODS: [&str; 9] =
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"];

/// The longest `serviceAccounts` entry the CRD and webhook allow.
pub const MAX_SERVICE_ACCOUNT_LEN: usize = 320;

/// How a string field of a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchShape<'a> {
    /// `*`: the value is present.
    Presence,
    /// `abc*`: the value starts with the part given.
    Prefix(&'a str),
    /// `*abc`: the value ends with the part given.
    Suffix(&'a str),
    /// No `*`: the value equals the string.
    Exact(&'a str),
}

/// Reads the match shape of a rule value, refusing a `*` anywhere but alone or at one end.
pub fn match_shape(s: &str) -> Result<MatchShape<'_>, String> {
    if s == "*" {
        return Ok(MatchShape::Presence);
    }
    match s.matches('*').count() {
        0 => Ok(MatchShape::Exact(s)),
        1 if s.starts_with('*') => Ok(MatchShape::Suffix(&s[1..])),
        1 if s.ends_with('*') => Ok(MatchShape::Prefix(&s[..s.len() - 1])),
        _ => Err("'*' matches only alone, as a prefix (abc*) or as a suffix (*abc)".into()),
    }
}

fn check_plain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty values are not allowed".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("values must not contain spaces or control characters".into());
    }
    Ok(())
}

/// Is `s` a trust domain: dot-separated DNS labels, a trailing dot allowed (Istio
/// `ValidateTrustDomain`).
fn is_trust_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.split('.').all(|l| l.len() <= 63 && is_label_shape(l, |c| c.is_ascii_alphanumeric()))
}

const PRINCIPAL_FORM: &str = "principals are TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT, e.g. \
                              cluster.local/ns/default/sa/sleep";

/// Checks a `principals` entry (a peer identity from the mTLS certificate).
pub fn validate_principal(s: &str) -> Result<(), ValidationError> {
    principal_problem(s).map_or(Ok(()), |why| Err(ValidationError::new("principal", s, why)))
}

fn principal_problem(s: &str) -> Option<String> {
    if let Err(why) = check_plain(s) {
        return Some(why);
    }
    if s.starts_with("spiffe://") {
        return Some("leave out \"spiffe://\": Istio adds it".into());
    }
    let shape = match match_shape(s) {
        Ok(shape) => shape,
        Err(why) => return Some(why),
    };
    match shape {
        MatchShape::Presence => None,
        MatchShape::Prefix(part) | MatchShape::Suffix(part) => {
            let ok = part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/".contains(&b));
            (!ok).then(|| PRINCIPAL_FORM.to_owned())
        }
        MatchShape::Exact(_) => {
            let parts: Vec<&str> = s.split('/').collect();
            match parts.as_slice() {
                [td, "ns", ns, "sa", sa] => {
                    if !is_trust_domain(td) {
                        Some(format!("trust domain {} must be a DNS name", quoted(td)))
                    } else if !is_dns1123_label(ns) {
                        Some(format!("namespace {} is not a valid namespace name", quoted(ns)))
                    } else if !is_dns1123_subdomain(sa) {
                        Some(format!("service account {} is not a valid name", quoted(sa)))
                    } else {
                        None
                    }
                }
                _ => Some(PRINCIPAL_FORM.to_owned()),
            }
        }
    }
}

/// Checks a `namespaces` entry.
pub fn validate_namespace_match(s: &str) -> Result<(), ValidationError> {
    let err = |why: String| Err(ValidationError::new("namespace", s, why));
    if let Err(why) = check_plain(s) {
        return err(why);
    }
    match match_shape(s) {
        Err(why) => err(why),
        Ok(MatchShape::Presence) => Ok(()),
        Ok(MatchShape::Exact(ns)) if is_dns1123_label(ns) => Ok(()),
        Ok(MatchShape::Prefix(p) | MatchShape::Suffix(p))
            if p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            Ok(())
        }
        Ok(_) => err("namespaces are RFC 1123 labels: lowercase letters, digits and '-'".into()),
    }
}

/// A `serviceAccounts` entry: `name` (in the policy's namespace) or `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountRef {
    /// The namespace, when given.
    pub namespace: Option<String>,
    /// The service account name.
    pub name: String,
}

/// Parses a `serviceAccounts` entry (Istio `CheckServiceAccount`, plus Kubernetes name rules).
pub fn parse_service_account(s: &str) -> Result<ServiceAccountRef, ValidationError> {
    let err = |why: String| Err(ValidationError::new("service account", s, why));
    if let Err(why) = check_plain(s) {
        return err(why);
    }
    if s.contains('*') {
        return err("service accounts take no wildcards".into());
    }
    if s.len() > MAX_SERVICE_ACCOUNT_LEN {
        return err("service accounts are at most 320 characters".into());
    }
    let (namespace, name) = match s.split_once('/') {
        Some((_, rest)) if rest.contains('/') => {
            return err("service accounts are NAME or NAMESPACE/NAME".into());
        }
        Some((ns, name)) => (Some(ns), name),
        None => (None, s),
    };
    if let Some(ns) = namespace
        && !is_dns1123_label(ns)
    {
        return err(format!("namespace {} is not a valid namespace name", quoted(ns)));
    }
    if !is_dns1123_subdomain(name) {
        return err(format!("service account {} is not a valid name", quoted(name)));
    }
    Ok(ServiceAccountRef { namespace: namespace.map(str::to_owned), name: name.to_owned() })
}

/// Parses a `methods` entry: a standard HTTP method name in capitals, or `*`.
pub fn parse_method(s: &str) -> Result<&'static str, ValidationError> {
    if s == "*" {
        return Ok("*");
    }
    if let Some(&m) = HTTP_METHODS.iter().find(|m| **m == s) {
        return Ok(m);
    }
    let why = if let Some(&m) = HTTP_METHODS.iter().find(|m| m.eq_ignore_ascii_case(s)) {
        format!("methods match case-sensitively; write {m:?}")
    } else if s.starts_with('/') {
        "gRPC methods are matched by path (/package.Service/Method); their HTTP method is \
         always POST"
            .into()
    } else {
        format!("methods are one of {} or *", HTTP_METHODS.join(", "))
    };
    Err(ValidationError::new("method", s, why))
}

/// Checks a `paths` entry.
pub fn validate_authz_path(s: &str) -> Result<(), ValidationError> {
    path_problem(s).map_or(Ok(()), |why| Err(ValidationError::new("path", s, why)))
}

fn path_problem(s: &str) -> Option<String> {
    if let Err(why) = check_plain(s) {
        return Some(why);
    }
    if s.contains(['?', '#']) {
        return Some("paths are matched without the query string or fragment".into());
    }
    if s.contains("{*}") || s.contains("{**}") {
        return template_problem(s);
    }
    if s.contains(['{', '}']) {
        return Some("the only templates are {*} and {**}, each a whole path segment".into());
    }
    let shape = match match_shape(s) {
        Ok(shape) => shape,
        Err(_) => {
            return Some(
                "'*' matches only alone, as a prefix (/api/*) or a suffix (*.html); use \
                         {*} or {**} templates to match segments"
                    .into(),
            );
        }
    };
    match shape {
        MatchShape::Presence | MatchShape::Suffix(_) => None,
        MatchShape::Prefix(p) | MatchShape::Exact(p) if p.starts_with('/') => None,
        _ => Some("paths must start with '/'".into()),
    }
}

/// Istio `CheckValidPathTemplate`: `{*}` and `{**}` as whole segments, `{**}` the last
/// operator, and other segments plain RFC 3986 `pchar`s (no `*`, `{` or `}`).
fn template_problem(s: &str) -> Option<String> {
    if !s.starts_with('/') {
        return Some("paths must start with '/'".into());
    }
    let mut seen_any = false;
    for segment in s.trim_matches('/').split('/') {
        match segment {
            "{*}" | "{**}" if seen_any => {
                return Some("{**} must be the last template operator in a path".into());
            }
            "{*}" => {}
            "{**}" => seen_any = true,
            _ if segment.contains(['{', '}']) => {
                return Some("{*} and {**} must each be a whole path segment".into());
            }
            _ if !is_pchar_literal(segment) => {
                return Some(format!(
                    "segment {} of a path template may hold only letters, digits and \
                     -._~%!$&'()+,;:@= (no '*')",
                    quoted(segment)
                ));
            }
            _ => {}
        }
    }
    None
}

fn is_pchar_literal(segment: &str) -> bool {
    !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()+,;:@=".contains(&b))
}

/// Parses a `ports` entry: a decimal number from 0 to 65535 (Istio `ValidatePorts`).
pub fn parse_authz_port(s: &str) -> Result<u16, ValidationError> {
    parse_decimal(s, 65535).map(|p| p as u16).map_err(|_| {
        ValidationError::new(
            "port",
            s,
            "ports are whole numbers from 0 to 65535, written as strings",
        )
    })
}

/// Checks a `hosts` entry (matched case-insensitively against the request's Host, which may
/// carry a port).
pub fn validate_authz_host(s: &str) -> Result<(), ValidationError> {
    let err = |why: String| Err(ValidationError::new("host", s, why));
    if let Err(why) = check_plain(s) {
        return err(why);
    }
    if s.contains('/') {
        return err("hosts are names such as example.com or *.example.com, not URLs".into());
    }
    let shape = match match_shape(s) {
        Ok(shape) => shape,
        Err(why) => return err(why),
    };
    let part = match shape {
        MatchShape::Presence => return Ok(()),
        MatchShape::Prefix(p) | MatchShape::Suffix(p) | MatchShape::Exact(p) => p,
    };
    if part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b)) {
        Ok(())
    } else {
        err("hosts hold only letters, digits, '-', '.', and ':' before a port".into())
    }
}

/// Checks an `ipBlocks`, `notIpBlocks`, `remoteIpBlocks` or `notRemoteIpBlocks` entry.
pub fn validate_ip_block(s: &str) -> Result<(), ValidationError> {
    parse_ip_block(s).map(|_| ())
}

/// `a[b]` with something between the brackets (Istio `validateMapKey`).
fn is_map_key(key: &str) -> bool {
    key.ends_with(']') && key.find('[').is_some_and(|open| open > 0 && open + 2 < key.len())
}

/// Checks a `when` condition: its key against Istio's attribute list and its values for keys
/// that constrain them. At least one of `values` and `not_values` must be given.
pub fn validate_condition<V: AsRef<str>>(
    key: &str,
    values: &[V],
    not_values: &[V],
) -> Result<(), ValidationError> {
    let err = |why: String| Err(ValidationError::new("condition key", key, why));
    if key.is_empty() {
        return err("the key must not be empty".into());
    }
    if values.is_empty() && not_values.is_empty() {
        return err("give at least one of values or notValues".into());
    }
    let all = values.iter().chain(not_values).map(|v| v.as_ref());
    for value in all.clone() {
        if value.is_empty() {
            return err("empty values are not allowed".into());
        }
    }
    let map_key = |prefix: &str| {
        if is_map_key(key) { Ok(()) } else { err(format!("write the key as {prefix}[NAME]")) }
    };
    match key {
        _ if key.starts_with("request.headers") => map_key("request.headers"),
        _ if key.starts_with("request.experimental.inline.headers") => {
            map_key("request.experimental.inline.headers")
        }
        _ if key.starts_with("request.auth.claims") => map_key("request.auth.claims"),
        _ if key.starts_with("experimental.envoy.filters.") => map_key(key),
        "source.ip" | "remote.ip" | "destination.ip" => all.clone().try_for_each(validate_ip_block),
        "destination.port" => all.clone().try_for_each(|v| parse_authz_port(v).map(|_| ())),
        "source.serviceAccount" => {
            if values.len() > 16 || not_values.len() > 16 {
                return err("source.serviceAccount takes at most 16 values".into());
            }
            all.clone().try_for_each(|v| parse_service_account(v).map(|_| ()))
        }
        "source.namespace"
        | "source.principal"
        | "request.auth.principal"
        | "request.auth.audiences"
        | "request.auth.presenter"
        | "connection.sni" => Ok(()),
        "destination.namespace" => err("use the policy's own namespace instead".into()),
        _ if key.starts_with("destination.labels") => {
            err("use the policy's selector instead".into())
        }
        "destination.name" | "destination.user" => {
            err("this attribute is no longer supported".into())
        }
        _ => err("unknown attribute; see Istio's authorization policy conditions".into()),
    }
}

/// What a `--from` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// `ns/NAMESPACE`: every workload in a namespace.
    Namespace(String),
    /// `sa/NAMESPACE/NAME`: one service account.
    ServiceAccount {
        /// The namespace.
        namespace: String,
        /// The service account name.
        name: String,
    },
    /// A full principal, `TRUST_DOMAIN/ns/NAMESPACE/sa/NAME` (or a prefix/suffix form of one).
    Principal(String),
    /// `ingress`: the mesh's ingress gateway.
    Ingress,
    /// `any`: every caller, authenticated or not.
    Any,
}

const PEER_FORMS: &str = "use ns/NAMESPACE, sa/NAMESPACE/SERVICE_ACCOUNT, a principal such as \
                          cluster.local/ns/default/sa/sleep, ingress, or any";

/// Parses a `--from` value.
pub fn parse_peer(s: &str) -> Result<Peer, ValidationError> {
    let err = |why: String| Err(ValidationError::new("source", s, why));
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        _ if s.starts_with("spiffe://") => err("leave out \"spiffe://\": Istio adds it".into()),
        ["any"] => Ok(Peer::Any),
        ["ingress"] => Ok(Peer::Ingress),
        ["ns", ns] if is_dns1123_label(ns) => Ok(Peer::Namespace((*ns).to_owned())),
        ["ns", ns] => err(format!("namespace {} is not a valid namespace name", quoted(ns))),
        ["sa", ns, name] => match parse_service_account(&format!("{ns}/{name}")) {
            Ok(sa) => Ok(Peer::ServiceAccount { namespace: (*ns).to_owned(), name: sa.name }),
            Err(e) => err(e.allowed().to_owned()),
        },
        [_, _, _, _, _] => match principal_problem(s) {
            None => Ok(Peer::Principal(s.to_owned())),
            Some(why) => err(why),
        },
        _ if s.contains('*') && principal_problem(s).is_none() => Ok(Peer::Principal(s.to_owned())),
        _ => err(PEER_FORMS.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected verdicts: istio ValidateAuthorizationPolicy with pkg/config/security
    // (CheckEmptyValues, CheckServiceAccount, CheckValidPathTemplate, ValidatePorts,
    // ValidateIPs, ValidateAttribute) and the matching rules of the AuthorizationPolicy reference
    // (exact, prefix, suffix, presence; principal format; methods; path templates).
    #[test]
    fn principals_and_namespaces() {
        let principals: &[(&str, bool)] = &[
            ("cluster.local/ns/default/sa/sleep", true),
            ("example.com./ns/prod/sa/api.v1", true),
            ("*", true),
            ("cluster.local/ns/default/*", true),
            ("*/ns/default/sa/sleep", true),
            ("spiffe://cluster.local/ns/default/sa/sleep", false),
            ("cluster.local/ns/*/sa/sleep", false),
            ("*cluster.local/ns/default/sa/sleep*", false),
            ("cluster.local/default/sleep", false),
            ("cluster.local/ns/Default/sa/sleep", false),
            ("", false),
            ("cluster.local/ns/default/sa/sleep ", false),
        ];
        for (input, want) in principals {
            assert_eq!(validate_principal(input).is_ok(), *want, "{input:?}");
        }
        for (input, want) in [
            ("prod", true),
            ("*", true),
            ("prod-*", true),
            ("*-test", true),
            ("Prod", false),
            ("p*d", false),
            ("", false),
        ] {
            assert_eq!(validate_namespace_match(input).is_ok(), want, "{input:?}");
        }
    }

    #[test]
    fn service_accounts_methods_ports() {
        for (input, want) in [
            ("sleep", true),
            ("default/sleep", true),
            ("default/*", false),
            ("a/b/c", false),
            ("/sleep", false),
            ("default/", false),
        ] {
            assert_eq!(parse_service_account(input).is_ok(), want, "{input:?}");
        }
        assert!(parse_service_account(&format!("ns/{}", "a".repeat(330))).is_err());
        for (input, want) in [
            ("GET", true),
            ("*", true),
            ("OPTIONS", true),
            ("get", false),
            ("FETCH", false),
            ("/pkg.Svc/Call", false),
        ] {
            assert_eq!(parse_method(input).is_ok(), want, "{input:?}");
        }
        for (input, want) in [
            ("0", Some(0)),
            ("8080", Some(8080)),
            ("65535", Some(65535)),
            ("65536", None),
            ("+80", None),
            ("-1", None),
            ("http", None),
        ] {
            assert_eq!(parse_authz_port(input).ok(), want, "{input:?}");
        }
    }

    #[test]
    fn paths_table() {
        let rows: &[(&str, bool)] = &[
            ("/info", true),
            ("/info*", true),
            ("*.html", true),
            ("*", true),
            ("/foo/{*}", true),
            ("/foo/{**}/", true),
            ("/foo/{*}/bar/{**}", true),
            ("/{**}", true),
            ("info", false),
            ("info*", false),
            ("/a*b", false),
            ("/*/baz/{*}", false),
            ("/**/baz/{*}", false),
            ("/{**}/foo/{*}", false),
            ("/foo/{*}.txt", false),
            ("/foo/{bar}", false),
            ("/foo//{*}", false),
            ("/search?q=1", false),
            ("", false),
            ("/a b", false),
        ];
        for (input, want) in rows {
            assert_eq!(validate_authz_path(input).is_ok(), *want, "{input:?}");
        }
    }

    #[test]
    fn hosts_and_conditions() {
        for (input, want) in [
            ("example.com", true),
            ("*.example.com", true),
            ("example.com:8080", true),
            ("*", true),
            ("a*.b*", false),
            ("http://x", false),
            ("", false),
        ] {
            assert_eq!(validate_authz_host(input).is_ok(), want, "{input:?}");
        }
        let none: &[&str] = &[];
        let rows: &[(&str, &[&str], bool)] = &[
            ("request.headers[User-Agent]", &["curl*"], true),
            ("request.headers[]", &["x"], false),
            ("request.headers", &["x"], false),
            ("request.auth.claims[iss]", &["https://accounts.google.com"], true),
            ("source.ip", &["10.0.0.0/8", "10.1.2.3"], true),
            ("source.ip", &["10.0.0.0/33"], false),
            ("destination.port", &["8080"], true),
            ("destination.port", &["http"], false),
            ("source.serviceAccount", &["default/sleep"], true),
            ("source.namespace", &["prod"], true),
            ("connection.sni", &["*.example.com"], true),
            ("experimental.envoy.filters.network.mysql_proxy[db.table]", &["[update]"], true),
            ("destination.namespace", &["prod"], false),
            ("destination.labels[app]", &["web"], false),
            ("request.method", &["GET"], false),
            ("source.ip", &[""], false),
        ];
        for (key, values, want) in rows {
            assert_eq!(validate_condition(key, values, none).is_ok(), *want, "{key:?}");
        }
        assert!(validate_condition("source.ip", none, none).is_err());
    }

    #[test]
    fn peers() {
        assert_eq!(parse_peer("ns/prod").unwrap(), Peer::Namespace("prod".into()));
        assert_eq!(
            parse_peer("sa/prod/api").unwrap(),
            Peer::ServiceAccount { namespace: "prod".into(), name: "api".into() }
        );
        assert_eq!(parse_peer("any").unwrap(), Peer::Any);
        assert_eq!(parse_peer("ingress").unwrap(), Peer::Ingress);
        assert!(matches!(parse_peer("cluster.local/ns/prod/sa/api"), Ok(Peer::Principal(_))));
        assert!(matches!(parse_peer("cluster.local/ns/prod/*"), Ok(Peer::Principal(_))));
        for bad in ["ns/Prod", "sa/prod", "prod", "ns/", "sa/prod/*", "spiffe://td/ns/a/sa/b", ""] {
            assert!(parse_peer(bad).is_err(), "{bad:?}");
        }
    }
}
