//! Host names as Istio reads them: short names resolved against the object's
//! namespace, wildcard hosts, and the match and subset tests between hosts.
//!
//! Rules follow istio/istio `pkg/config/host` and
//! `pilot/pkg/model/config.go` (`ResolveShortnameToFQDN`): a name without a
//! dot becomes `name.<namespace>.svc.<domain>`; a name with a dot is taken as
//! written; `*` and `*.suffix` are wildcards. Host names compare without
//! regard to case.

use std::net::IpAddr;

/// The default Kubernetes cluster DNS domain.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// `name.namespace.svc.domain`, the host of a Kubernetes Service.
pub fn service_fqdn(name: &str, namespace: &str, domain: &str) -> String {
    format!("{name}.{namespace}.svc.{domain}")
}

/// Resolves a host as written in an Istio object in `namespace` to the name
/// istiod compares: short names (no dot) gain `.<namespace>.svc.<domain>`;
/// `*`, IP addresses and dotted names are kept as they are (lower-cased).
pub fn resolve_host(host: &str, namespace: &str, domain: &str) -> String {
    let host = host.trim();
    let lower = host.to_ascii_lowercase();
    if host.is_empty() || host == "*" || host.parse::<IpAddr>().is_ok() || host.contains('.') {
        return lower;
    }
    if namespace.is_empty() {
        return lower;
    }
    format!("{lower}.{namespace}.svc.{domain}")
}

/// Whether a host is a wildcard (`*` or `*.example.com`).
pub fn is_wildcard(host: &str) -> bool {
    host.starts_with('*')
}

/// Whether `wildcard` (which starts with `*`) covers `host`: `*` covers
/// everything, `*.example.com` covers `a.example.com` and `*.b.example.com`
/// but not `example.com`.
fn covers(wildcard: &str, host: &str) -> bool {
    let suffix = &wildcard[1..];
    let host = host.strip_prefix('*').unwrap_or(host);
    ends_with_ignore_case(host, suffix)
}

/// ASCII case-insensitive suffix test, safe for any UTF-8 input.
pub fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    let (s, suffix) = (s.as_bytes(), suffix.as_bytes());
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Whether two hosts can name the same thing: equal, or one wildcard covers
/// the other (Istio's `host.Name.Matches`, symmetric).
pub fn hosts_match(a: &str, b: &str) -> bool {
    match (is_wildcard(a), is_wildcard(b)) {
        (false, false) => a.eq_ignore_ascii_case(b),
        (true, false) => covers(a, b),
        (false, true) => covers(b, a),
        (true, true) => covers(a, b) || covers(b, a),
    }
}

/// Whether every name `a` can stand for is also covered by `b` (Istio's
/// `host.Name.SubsetOf`).
pub fn host_subset_of(a: &str, b: &str) -> bool {
    if is_wildcard(b) {
        if is_wildcard(a) {
            // `*.a.example.com` is within `*.example.com`, `*` only within `*`.
            let (sa, sb) = (&a[1..], &b[1..]);
            ends_with_ignore_case(sa, sb)
        } else {
            covers(b, a)
        }
    } else {
        !is_wildcard(a) && a.eq_ignore_ascii_case(b)
    }
}

/// Picks the candidate that matches `host` most specifically: an exact name
/// first, otherwise the longest wildcard that covers it (Istio's
/// `MostSpecificHostMatch`).
pub fn most_specific_match<'a, I>(host: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<&'a str> = None;
    for c in candidates {
        if !is_wildcard(c) {
            if c.eq_ignore_ascii_case(host) {
                return Some(c);
            }
            continue;
        }
        if covers(c, host) && best.is_none_or(|b| c.len() > b.len()) {
            best = Some(c);
        }
    }
    best
}

/// Splits an HTTP authority into host and port (`a.b:8080`, `[::1]:80`).
pub fn split_authority(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[')
        && let Some((h, tail)) = rest.split_once(']')
    {
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
        return (h, port);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (authority, None),
        },
        _ => (authority, None),
    }
}

/// For a cluster host `name.namespace.svc.domain`, the Service name and
/// namespace.
pub fn parse_service_host<'a>(host: &'a str, domain: &str) -> Option<(&'a str, &'a str)> {
    let rest = host.strip_suffix(domain)?.strip_suffix(".svc.")?;
    let (name, namespace) = rest.split_once('.')?;
    (!name.is_empty() && !namespace.is_empty() && !namespace.contains('.'))
        .then_some((name, namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_short_names() {
        let d = DEFAULT_CLUSTER_DOMAIN;
        assert_eq!(resolve_host("reviews", "bookinfo", d), "reviews.bookinfo.svc.cluster.local");
        assert_eq!(resolve_host("reviews.bookinfo", "x", d), "reviews.bookinfo");
        assert_eq!(resolve_host("*", "x", d), "*");
        assert_eq!(resolve_host("*.example.com", "x", d), "*.example.com");
        assert_eq!(resolve_host("10.0.0.1", "x", d), "10.0.0.1");
        assert_eq!(resolve_host("API.Example.com", "x", d), "api.example.com");
    }

    #[test]
    fn wildcard_matching() {
        assert!(hosts_match("*.example.com", "api.example.com"));
        assert!(hosts_match("api.example.com", "*.example.com"));
        assert!(!hosts_match("*.example.com", "example.com"));
        assert!(hosts_match("*", "anything.at.all"));
        assert!(hosts_match("*.a.example.com", "*.example.com"));
        assert!(!hosts_match("a.example.com", "b.example.com"));
        assert!(hosts_match("A.example.com", "a.EXAMPLE.com"));
    }

    #[test]
    fn subsets() {
        assert!(host_subset_of("a.example.com", "*.example.com"));
        assert!(host_subset_of("*.a.example.com", "*.example.com"));
        assert!(!host_subset_of("*.example.com", "*.a.example.com"));
        assert!(!host_subset_of("*.example.com", "a.example.com"));
        assert!(host_subset_of("a.example.com", "a.example.com"));
        assert!(host_subset_of("*.example.com", "*"));
        assert!(!host_subset_of("*", "*.example.com"));
    }

    #[test]
    fn most_specific() {
        let c = ["*", "*.svc.cluster.local", "*.foo.svc.cluster.local", "a.foo.svc.cluster.local"];
        let pick = |h| most_specific_match(h, c.iter().copied());
        assert_eq!(pick("a.foo.svc.cluster.local"), Some("a.foo.svc.cluster.local"));
        assert_eq!(pick("b.foo.svc.cluster.local"), Some("*.foo.svc.cluster.local"));
        assert_eq!(pick("b.bar.svc.cluster.local"), Some("*.svc.cluster.local"));
        assert_eq!(pick("example.com"), Some("*"));
    }

    #[test]
    fn authority_and_service_hosts() {
        assert_eq!(split_authority("a.b:8080"), ("a.b", Some(8080)));
        assert_eq!(split_authority("a.b"), ("a.b", None));
        assert_eq!(split_authority("[::1]:80"), ("::1", Some(80)));
        let d = DEFAULT_CLUSTER_DOMAIN;
        assert_eq!(
            parse_service_host("httpbin.foo.svc.cluster.local", d),
            Some(("httpbin", "foo"))
        );
        assert_eq!(parse_service_host("api.example.com", d), None);
    }
}
