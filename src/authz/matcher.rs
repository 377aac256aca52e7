//! Istio's string matching for AuthorizationPolicy values, and the matchers
//! built on it for principals, namespaces, service accounts and IP blocks.
//!
//! Follows istio/istio `pilot/pkg/security/authz/matcher` and
//! `pilot/pkg/security/authz/model/generator.go`: a value `*` is a presence
//! match (any non-empty value), `abc*` a prefix, `*abc` a suffix, anything
//! else exact. Principals match the peer's SPIFFE URI (`spiffe://` plus the
//! value); namespaces use the regex `.*/ns/<value>/.*` over that URI with `*`
//! turned into `.*`; service accounts use `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?`.

use std::net::IpAddr;

/// Matches `actual` against a policy value with Istio's exact, prefix,
/// suffix and presence forms. `ignore_case` is used for hosts.
pub fn is_string_match(pattern: &str, actual: &str, ignore_case: bool) -> bool {
    // Compared as bytes, so no index can fall inside a UTF-8 character.
    let eq = |a: &[u8], b: &[u8]| if ignore_case { a.eq_ignore_ascii_case(b) } else { a == b };
    let a = actual.as_bytes();
    if pattern == "*" {
        return !a.is_empty();
    }
    if let Some(suffix) = pattern.strip_prefix('*').map(str::as_bytes) {
        return a.len() >= suffix.len() && eq(&a[a.len() - suffix.len()..], suffix);
    }
    if let Some(prefix) = pattern.strip_suffix('*').map(str::as_bytes) {
        return a.len() >= prefix.len() && eq(&a[..prefix.len()], prefix);
    }
    eq(pattern.as_bytes(), a)
}

/// Matches a header value: `*` is presence (the header exists, even empty),
/// otherwise [`is_string_match`].
pub fn is_header_match(pattern: &str, actual: &str) -> bool {
    pattern == "*" || is_string_match(pattern, actual, false)
}

/// Matches a host (`:authority`): `*` is presence, otherwise a
/// case-insensitive exact, prefix or suffix match. A port in the header is
/// part of the compared value.
pub fn is_host_match(pattern: &str, authority: &str) -> bool {
    pattern == "*" || is_string_match(pattern, authority, true)
}

/// Matches a principal value (after trust domain migration) against a peer
/// SPIFFE URI (`spiffe://td/ns/x/sa/y`).
pub fn is_principal_match(pattern: &str, spiffe_uri: &str) -> bool {
    if pattern == "*" {
        return !spiffe_uri.is_empty();
    }
    let Some(id) = spiffe_uri.strip_prefix("spiffe://") else { return false };
    if let Some(suffix) = pattern.strip_prefix('*') {
        // Istio builds the regex `spiffe://.*<suffix>`.
        return id.ends_with(suffix);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return id.starts_with(prefix);
    }
    id == pattern
}

/// Matches a namespaces value against a peer SPIFFE URI: Istio's regex
/// `.*/ns/<value>/.*`, with each `*` in the value standing for any text.
pub fn is_namespace_match(pattern: &str, spiffe_uri: &str) -> bool {
    let glob = format!("*/ns/{pattern}/*");
    is_glob_match(&glob, spiffe_uri)
}

/// Matches a serviceAccounts value (`ns/sa`, or `sa` in the policy's own
/// namespace) against a peer SPIFFE URI, in any trust domain.
pub fn is_service_account_match(pattern: &str, policy_namespace: &str, spiffe_uri: &str) -> bool {
    let (ns, sa) = pattern.split_once('/').unwrap_or((policy_namespace, pattern));
    let Some(id) = spiffe_uri.strip_prefix("spiffe://") else { return false };
    // spiffe://<td>/ns/<ns>/(<k>/<v>/)*sa/<sa>(/<rest>)?
    let Some((td, rest)) = id.split_once("/ns/") else { return false };
    if td.is_empty() {
        return false;
    }
    let Some(rest) = rest.strip_prefix(ns).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    segments.windows(2).any(|w| w[0] == "sa" && w[1] == sa)
}

/// `*` matches any run of characters (including none); everything else is
/// literal. The whole text must match.
pub fn is_glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
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
    p[pi..].iter().all(|&c| c == b'*')
}

/// An IP address or CIDR block as written in a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.1`, `10.0.0.0/8` or an IPv6 form (Istio's
    /// `AddrStrToCidrRange`). `None` when invalid.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = s.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether the block contains an address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses a port value as Istio does: base 10, at most 65535.
pub fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u32>().ok().and_then(|p| u16::try_from(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLEEP: &str = "spiffe://cluster.local/ns/foo/sa/sleep";

    #[test]
    fn string_forms() {
        assert!(is_string_match("abc", "abc", false));
        assert!(!is_string_match("abc", "abcd", false));
        assert!(is_string_match("abc*", "abc", false));
        assert!(is_string_match("abc*", "abcd", false));
        assert!(is_string_match("*abc", "xabc", false));
        assert!(is_string_match("*abc", "abc", false));
        assert!(is_string_match("*", "x", false));
        assert!(!is_string_match("*", "", false));
        assert!(is_string_match("GET", "GET", false) && !is_string_match("get", "GET", false));
        assert!(is_host_match("*.EXAMPLE.com", "api.example.com"));
        assert!(!is_host_match(
            "httpbin.foo.svc.cluster.local",
            "httpbin.foo.svc.cluster.local:8000"
        ));
        assert!(is_host_match("httpbin.foo*", "httpbin.foo:8000"));
        assert!(is_header_match("*", ""));
        assert!(!is_string_match("*x", "ü", false) && !is_string_match("x*", "ü", true));
        assert!(is_host_match("*.Ü.example", "a.Ü.EXAMPLE"));
    }

    #[test]
    fn principals() {
        assert!(is_principal_match("cluster.local/ns/foo/sa/sleep", SLEEP));
        assert!(is_principal_match("*/sa/sleep", SLEEP));
        assert!(is_principal_match("cluster.local/ns/foo/*", SLEEP));
        assert!(is_principal_match("*", SLEEP));
        assert!(!is_principal_match("cluster.local/ns/bar/sa/sleep", SLEEP));
        assert!(!is_principal_match("*", ""));
    }

    #[test]
    fn namespaces_and_accounts() {
        assert!(is_namespace_match("foo", SLEEP));
        assert!(is_namespace_match("f*", SLEEP));
        assert!(is_namespace_match("*", SLEEP));
        assert!(!is_namespace_match("bar", SLEEP));
        assert!(!is_namespace_match("fo", SLEEP));
        assert!(is_service_account_match("foo/sleep", "x", SLEEP));
        assert!(is_service_account_match("sleep", "foo", SLEEP));
        assert!(!is_service_account_match("sleep", "bar", SLEEP));
        assert!(!is_service_account_match("foo/sle", "x", SLEEP));
        assert!(is_service_account_match("foo/sleep", "x", "spiffe://other-td/ns/foo/sa/sleep"));
        assert!(!is_service_account_match("foo/sleep", "x", ""));
    }

    #[test]
    fn cidrs_and_ports() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(Cidr::parse("10.0.0.0/8").unwrap().contains(ip("10.1.2.3")));
        assert!(!Cidr::parse("10.0.0.0/8").unwrap().contains(ip("11.1.2.3")));
        assert!(Cidr::parse("10.1.2.3").unwrap().contains(ip("10.1.2.3")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("1.2.3.4")));
        assert!(Cidr::parse("2001:db8::/32").unwrap().contains(ip("2001:db8::1")));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("nope").is_none());
        assert_eq!(parse_port("9000"), Some(9000));
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port("http"), None);
    }

    #[test]
    fn odd_input_never_panics() {
        let samples = [
            "",
            "*",
            "**",
            "ü",
            "*ü",
            "ü*",
            "a/ns/ü/sa/é",
            "spiffe://",
            "spiffe://ü/ns/é/sa/x",
            "/",
            "%",
            "[]",
        ];
        for p in samples {
            for v in samples {
                let _ = is_string_match(p, v, true);
                let _ = is_string_match(p, v, false);
                let _ = is_principal_match(p, v);
                let _ = is_namespace_match(p, v);
                let _ = is_service_account_match(p, "ns", v);
                let _ = is_glob_match(p, v);
                let _ = Cidr::parse(p);
            }
        }
    }

    #[test]
    fn globs() {
        assert!(is_glob_match("*/ns/foo/*", SLEEP));
        assert!(is_glob_match("a*b*c", "aXXbYYc"));
        assert!(!is_glob_match("a*b", "aXXc"));
    }
}
