//! Route coverage: whether one match condition accepts every request another accepts, and
//! which routes of an ordered list can never be reached. Used by the shadowed-route and the
//! gateway VirtualService merge checks.
//!
//! A match covers another when each condition it sets is implied by the other's condition on
//! the same field: an exact value by the same exact value, a prefix by a longer prefix or an
//! exact value starting with it, a regex only by the same regex (or `.*`), headers and query
//! parameters key by key (a presence match `{}` covers any match of the key), source labels
//! by a superset, gateways by a subset, `withoutHeaders` by the same entries. A case-sensitive
//! URI match never covers a case-insensitive one. Conservative: when unsure, not covered.

use std::collections::BTreeMap;

use crate::mesh::host::host_subset_of;
use crate::mesh::virtual_service::{HttpMatchRequest, HttpRoute, L4Match, StringMatch, TlsMatch};

/// Whether string match `a` (absent: anything) accepts every value `b` accepts.
fn string_covers(a: Option<&StringMatch>, b: Option<&StringMatch>, a_ci: bool, b_ci: bool) -> bool {
    let Some(a) = a else { return true };
    if a.exact.is_none() && a.prefix.is_none() && a.regex.is_none() {
        // A presence match: any value.
        return true;
    }
    if a.regex.as_deref() == Some(".*") {
        return true;
    }
    let Some(b) = b else { return false };
    if b_ci && !a_ci {
        return false;
    }
    let fold = |s: &str| if a_ci { s.to_ascii_lowercase() } else { s.to_string() };
    match (&a.exact, &a.prefix, &a.regex) {
        (Some(x), _, _) => b.exact.as_deref().is_some_and(|y| fold(x) == fold(y)),
        (_, Some(p), _) => {
            let p = fold(p);
            b.exact.as_deref().or(b.prefix.as_deref()).is_some_and(|y| fold(y).starts_with(&p))
        }
        (_, _, Some(r)) => b.regex.as_deref() == Some(r.as_str()),
        _ => true,
    }
}

/// Whether every key of `a` is matched by `b` in a way `a` covers.
fn map_covers(a: &BTreeMap<String, StringMatch>, b: &BTreeMap<String, StringMatch>) -> bool {
    a.iter().all(|(k, am)| string_covers(Some(am), b.get(k), false, false))
}

/// Whether HTTP match `a` accepts every request HTTP match `b` accepts.
pub(crate) fn http_match_covers(a: &HttpMatchRequest, b: &HttpMatchRequest) -> bool {
    let (a_ci, b_ci) = (a.ignore_uri_case == Some(true), b.ignore_uri_case == Some(true));
    string_covers(a.uri.as_ref(), b.uri.as_ref(), a_ci, b_ci)
        && string_covers(a.scheme.as_ref(), b.scheme.as_ref(), false, false)
        && string_covers(a.method.as_ref(), b.method.as_ref(), false, false)
        && string_covers(a.authority.as_ref(), b.authority.as_ref(), false, false)
        && map_covers(&a.headers, &b.headers)
        && map_covers(&a.query_params, &b.query_params)
        && a.without_headers.iter().all(|(k, m)| b.without_headers.get(k) == Some(m))
        && a.port.is_none_or(|p| b.port == Some(p))
        && a.source_labels.iter().all(|(k, v)| b.source_labels.get(k) == Some(v))
        && (a.gateways.is_empty()
            || (!b.gateways.is_empty() && b.gateways.iter().all(|g| a.gateways.contains(g))))
        && a.source_namespace.as_ref().is_none_or(|ns| b.source_namespace.as_ref() == Some(ns))
}

/// Istio's `isCatchAllMatch`: a URI prefix `/` (or regex `*`) and no other condition. istiod
/// stops building a VirtualService's routes after such a match.
pub(crate) fn is_istio_catch_all(m: &HttpMatchRequest) -> bool {
    let uri = m
        .uri
        .as_ref()
        .is_some_and(|u| u.prefix.as_deref() == Some("/") || u.regex.as_deref() == Some("*"));
    uri && m.headers.is_empty()
        && m.query_params.is_empty()
        && m.source_labels.is_empty()
        && m.without_headers.is_empty()
        && m.gateways.is_empty()
        && m.method.is_none()
        && m.scheme.is_none()
        && m.port.is_none()
        && m.authority.is_none()
        && m.source_namespace.is_none()
}

/// Whether the Envoy route a match becomes is a catch-all (path prefix `/` and no header or
/// query matcher), which gateways move behind every other route of the host when they merge
/// VirtualServices (Istio's `CombineVHostRoutes`).
pub(crate) fn is_envoy_catch_all(m: &HttpMatchRequest) -> bool {
    let uri = m
        .uri
        .as_ref()
        .is_none_or(|u| u.prefix.as_deref() == Some("/") || u.regex.as_deref() == Some("*"));
    uri && m.headers.is_empty()
        && m.query_params.is_empty()
        && m.without_headers.is_empty()
        && m.method.is_none()
        && m.scheme.is_none()
        && m.authority.is_none()
}

/// For each HTTP route that can never match, `(its index, the index of an earlier route that
/// takes its requests)`. A route without matches takes everything after it. On gateways
/// (`gateways_only`), a catch-all match that is not Istio's catch-all is moved last, so it
/// takes nothing from later routes.
pub(crate) fn shadowed_http(routes: &[HttpRoute], gateways_only: bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (j, route) in routes.iter().enumerate() {
        let earlier = &routes[..j];
        let takes_all = |i: usize| {
            let r = &earlier[i];
            r.matches.is_empty()
                || r.matches.iter().any(|m| {
                    is_istio_catch_all(m)
                        || (!gateways_only && http_match_covers(m, &HttpMatchRequest::default()))
                })
        };
        if route.matches.is_empty() {
            if let Some(i) = (0..j).find(|&i| takes_all(i)) {
                out.push((j, i));
            }
            continue;
        }
        let coverer = |m: &HttpMatchRequest| {
            (0..j).find(|&i| {
                takes_all(i)
                    || earlier[i].matches.iter().any(|a| {
                        !(gateways_only && is_envoy_catch_all(a) && !is_istio_catch_all(a))
                            && http_match_covers(a, m)
                    })
            })
        };
        let found: Vec<Option<usize>> = route.matches.iter().map(coverer).collect();
        if found.iter().all(Option::is_some) {
            out.push((j, found[0].unwrap_or(0)));
        }
    }
    out
}

/// Whether L4 match `a` accepts every connection `b` accepts.
pub(crate) fn l4_match_covers(a: &L4Match, b: &L4Match) -> bool {
    (a.destination_subnets.is_empty() || a.destination_subnets == b.destination_subnets)
        && a.port.is_none_or(|p| b.port == Some(p))
        && a.source_labels.iter().all(|(k, v)| b.source_labels.get(k) == Some(v))
        && (a.gateways.is_empty()
            || (!b.gateways.is_empty() && b.gateways.iter().all(|g| a.gateways.contains(g))))
        && a.source_namespace.as_ref().is_none_or(|ns| b.source_namespace.as_ref() == Some(ns))
}

/// Whether TLS match `a` accepts every connection `b` accepts: each SNI host of `b` within
/// one of `a`'s, and the L4 attributes covered.
pub(crate) fn tls_match_covers(a: &TlsMatch, b: &TlsMatch) -> bool {
    let sni = a.sni_hosts.is_empty()
        || (!b.sni_hosts.is_empty()
            && b.sni_hosts.iter().all(|h| a.sni_hosts.iter().any(|g| host_subset_of(h, g))));
    let l4 = |m: &TlsMatch| L4Match {
        destination_subnets: m.destination_subnets.clone(),
        port: m.port,
        source_labels: m.source_labels.clone(),
        gateways: m.gateways.clone(),
        source_namespace: m.source_namespace.clone(),
    };
    sni && l4_match_covers(&l4(a), &l4(b))
}

/// For ordered routes given as their match lists (empty: match everything), each route that
/// can never match with an earlier route that takes its traffic.
pub(crate) fn shadowed_by<M>(
    routes: &[&[M]],
    covers: impl Fn(&M, &M) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (j, matches) in routes.iter().enumerate() {
        let takes = |i: usize, m: Option<&M>| {
            routes[i].is_empty() || m.is_some_and(|m| routes[i].iter().any(|a| covers(a, m)))
        };
        let found: Vec<Option<usize>> = if matches.is_empty() {
            vec![(0..j).find(|&i| routes[i].is_empty())]
        } else {
            matches.iter().map(|m| (0..j).find(|&i| takes(i, Some(m)))).collect()
        };
        if let Some(Some(first)) = found.first()
            && found.iter().all(Option::is_some)
        {
            out.push((j, *first));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(value: serde_json::Value) -> HttpMatchRequest {
        serde_json::from_value(value).unwrap()
    }

    fn routes(value: serde_json::Value) -> Vec<HttpRoute> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn prefixes_cover_longer_prefixes_and_exact_paths() {
        let api = m(serde_json::json!({"uri": {"prefix": "/api"}}));
        assert!(http_match_covers(&api, &m(serde_json::json!({"uri": {"prefix": "/api/v1"}}))));
        assert!(http_match_covers(&api, &m(serde_json::json!({"uri": {"exact": "/api/x"}}))));
        assert!(!http_match_covers(&api, &m(serde_json::json!({"uri": {"prefix": "/ap"}}))));
        assert!(!http_match_covers(&api, &m(serde_json::json!({"uri": {"regex": "/api.*"}}))));
        assert!(!http_match_covers(&api, &HttpMatchRequest::default()));
        let ci = m(serde_json::json!({"uri": {"prefix": "/api"}, "ignoreUriCase": true}));
        assert!(!http_match_covers(&api, &ci));
        assert!(http_match_covers(&ci, &m(serde_json::json!({"uri": {"prefix": "/API/v1"}}))));
    }

    #[test]
    fn extra_conditions_narrow_a_match() {
        let a = m(serde_json::json!({"uri": {"prefix": "/"}, "headers": {"x": {"exact": "1"}}}));
        let b = m(serde_json::json!({"uri": {"prefix": "/a"}}));
        assert!(!http_match_covers(&a, &b));
        let b2 = m(serde_json::json!({"uri": {"prefix": "/a"}, "headers": {"x": {"exact": "1"}}}));
        assert!(http_match_covers(&a, &b2));
        let present = m(serde_json::json!({"headers": {"x": {}}}));
        assert!(http_match_covers(&present, &b2));
        let named = m(serde_json::json!({"name": "n", "uri": {"prefix": "/a"}}));
        assert!(http_match_covers(&named, &b) && http_match_covers(&b, &named));
        let gw = m(serde_json::json!({"gateways": ["g1", "g2"]}));
        assert!(http_match_covers(&gw, &m(serde_json::json!({"gateways": ["g1"]}))));
        assert!(!http_match_covers(&gw, &HttpMatchRequest::default()));
    }

    #[test]
    fn catch_alls_shadow_what_follows_except_where_gateways_move_them() {
        let list = routes(serde_json::json!([
            {"route": []},
            {"match": [{"uri": {"prefix": "/a"}}], "route": []},
            {"route": []}
        ]));
        assert_eq!(shadowed_http(&list, false), vec![(1, 0), (2, 0)]);
        let bare = routes(serde_json::json!([
            {"match": [{"port": 80}], "route": []},
            {"match": [{"uri": {"prefix": "/a"}, "port": 80}], "route": []}
        ]));
        assert_eq!(shadowed_http(&bare, false), vec![(1, 0)]);
        assert_eq!(shadowed_http(&bare, true), Vec::<(usize, usize)>::new());
        let partial = routes(serde_json::json!([
            {"match": [{"uri": {"prefix": "/a"}}], "route": []},
            {"match": [{"uri": {"prefix": "/a/b"}}, {"uri": {"prefix": "/c"}}], "route": []}
        ]));
        assert!(shadowed_http(&partial, false).is_empty());
        assert!(is_istio_catch_all(&m(serde_json::json!({"uri": {"prefix": "/"}}))));
        assert!(!is_istio_catch_all(&HttpMatchRequest::default()));
        assert!(is_envoy_catch_all(&HttpMatchRequest::default()));
    }

    #[test]
    fn tls_and_tcp_routes() {
        let t = |hosts: &[&str]| TlsMatch {
            sni_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..TlsMatch::default()
        };
        assert!(tls_match_covers(&t(&["*.example.com"]), &t(&["a.example.com"])));
        assert!(!tls_match_covers(&t(&["a.example.com"]), &t(&["*.example.com"])));
        let port = |p: Option<u32>| L4Match { port: p, ..L4Match::default() };
        let any: &[L4Match] = &[];
        let p80 = [port(Some(80))];
        let p81 = [port(Some(81))];
        let list: Vec<&[L4Match]> = vec![&p80, &p81, any, &p80, any];
        assert_eq!(shadowed_by(&list, l4_match_covers), vec![(3, 0), (4, 2)]);
    }
}
