//! Istio `Gateway` and `VirtualService` for `expose`: the objects it creates, whether an
//! existing Gateway already serves what is needed, and the route it adds to (or removes from)
//! a VirtualService.
//!
//! Istio evaluates a VirtualService's `http` routes in order and the first match wins
//! (<https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute>), so
//! an added route goes before the first route that would catch the same requests with a
//! shorter prefix or no match at all; routes with more specific conditions keep precedence.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{
    Backend, Exposure, HTTP_PORT, HTTPS_PORT, PathRule, array, host_covers, new_metadata, strings,
    text,
};

/// The Gateway this tool creates: an HTTP server on port 80 for the hosts and, with TLS, an
/// HTTPS server on 443 that terminates with the Secret (`credentialName`).
pub fn gateway(
    api_version: &str,
    name: &str,
    exposure: &Exposure,
    selector: &BTreeMap<String, String>,
) -> Value {
    let mut http = json!({
        "port": {"number": HTTP_PORT, "name": "http", "protocol": "HTTP"},
        "hosts": exposure.hosts,
    });
    let mut servers = Vec::new();
    if let Some(tls) = &exposure.tls {
        if tls.redirect {
            http["tls"] = json!({"httpsRedirect": true});
        }
        servers.push(http);
        servers.push(json!({
            "port": {"number": HTTPS_PORT, "name": "https", "protocol": "HTTPS"},
            "hosts": exposure.hosts,
            "tls": {"mode": "SIMPLE", "credentialName": tls.secret},
        }));
    } else {
        servers.push(http);
    }
    json!({
        "apiVersion": api_version,
        "kind": "Gateway",
        "metadata": new_metadata(name, exposure.namespace()),
        "spec": {"selector": selector, "servers": servers},
    })
}

/// The workload labels a Gateway selects.
pub fn selector_of(gateway: &Value) -> BTreeMap<String, String> {
    gateway
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// What `gateway` does not yet serve for `exposure`, one phrase each; empty when it serves
/// every host on every port needed (and the redirect, when asked for).
pub fn gateway_gaps(gateway: &Value, exposure: &Exposure) -> Vec<String> {
    let gateway_ns = text(gateway, "/metadata/namespace");
    let servers = array(gateway, "/spec/servers");
    let takes = |server: &Value, host: &str| {
        strings(server, "/hosts").iter().any(|entry| {
            let (ns, name) = entry.split_once('/').unwrap_or(("*", entry));
            let ns_ok = ns == "*"
                || ns == exposure.namespace()
                || (ns == "." && gateway_ns == exposure.namespace());
            ns_ok && host_covers(name, host)
        })
    };
    let on = |server: &Value, port: u16, protocol: &str| {
        server.pointer("/port/number").and_then(Value::as_u64) == Some(u64::from(port))
            && text(server, "/port/protocol").eq_ignore_ascii_case(protocol)
    };

    let mut gaps = Vec::new();
    for host in &exposure.hosts {
        let http: Vec<&Value> =
            servers.iter().filter(|s| on(s, HTTP_PORT, "HTTP") && takes(s, host)).collect();
        if http.is_empty() {
            gaps.push(format!("host {host:?} on port {HTTP_PORT} (HTTP)"));
        }
        let Some(tls) = &exposure.tls else { continue };
        let redirects = |s: &&Value| s.pointer("/tls/httpsRedirect") == Some(&json!(true));
        if tls.redirect && !http.is_empty() && !http.iter().any(redirects) {
            gaps.push(format!("an HTTPS redirect for host {host:?} on port {HTTP_PORT}"));
        }
        let https = servers.iter().any(|s| {
            on(s, HTTPS_PORT, "HTTPS")
                && takes(s, host)
                && matches!(text(s, "/tls/mode"), "" | "SIMPLE")
                && text(s, "/tls/credentialName") == tls.secret
        });
        if !https {
            gaps.push(format!(
                "host {host:?} on port {HTTPS_PORT} (HTTPS with credentialName {})",
                tls.secret
            ));
        }
    }
    gaps
}

/// How a VirtualService in `route_namespace` names the Gateway `namespace/name`.
pub fn gateway_reference(route_namespace: &str, namespace: &str, name: &str) -> String {
    if route_namespace == namespace { name.to_string() } else { format!("{namespace}/{name}") }
}

/// Whether the VirtualService is bound to the Gateway `namespace/name`.
pub fn binds_gateway(vs: &Value, namespace: &str, name: &str) -> bool {
    let vs_ns = text(vs, "/metadata/namespace");
    strings(vs, "/spec/gateways").iter().any(|g| match g.split_once('/') {
        Some((ns, gw)) => ns == namespace && gw == name,
        None => vs_ns == namespace && g == name,
    })
}

/// The Gateways a VirtualService is bound to, as `(namespace, name)`; `mesh` is left out.
pub fn bound_gateways(vs: &Value) -> Vec<(String, String)> {
    let vs_ns = text(vs, "/metadata/namespace");
    strings(vs, "/spec/gateways")
        .into_iter()
        .filter(|g| g != "mesh")
        .map(|g| match g.split_once('/') {
            Some((ns, name)) => (ns.to_string(), name.to_string()),
            None => (vs_ns.to_string(), g),
        })
        .collect()
}

/// Whether the VirtualService lists every one of `hosts` (case does not matter).
pub fn routes_hosts(vs: &Value, hosts: &[String]) -> bool {
    let have: Vec<String> =
        strings(vs, "/spec/hosts").iter().map(|h| h.to_ascii_lowercase()).collect();
    hosts.iter().all(|h| have.contains(h))
}

/// The VirtualService this tool creates: the hosts, bound to one Gateway, with one route.
pub fn virtual_service(
    api_version: &str,
    name: &str,
    exposure: &Exposure,
    gateway_ref: &str,
) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": "VirtualService",
        "metadata": new_metadata(name, exposure.namespace()),
        "spec": {
            "hosts": exposure.hosts,
            "gateways": [gateway_ref],
            "http": [route(exposure)],
        },
    })
}

/// The route this tool adds: named after the Service, matching the path, to the Service port.
pub fn route(exposure: &Exposure) -> Value {
    let mut route = json!({
        "name": exposure.route_name(),
        "match": uri_matches(exposure),
    });
    if let Some(rewrite) = rewrite_uri(exposure) {
        route["rewrite"] = json!({"uri": rewrite});
    }
    route["route"] = json!([{"destination": {
        "host": exposure.backend.fqdn,
        "port": {"number": exposure.port},
    }}]);
    route
}

/// The route's matches. Istio's `rewrite.uri` replaces the matched prefix as a string
/// (<https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRewrite>),
/// so prefix `/v1` rewritten to `/` would turn `/v1/foo` into `//foo`. When the rewrite ends
/// in `/` and the prefix does not, the route matches the prefix with its slash (`/v1/`, the
/// separator then being replaced too) and the bare path exactly (`/v1`), which gives `/foo`
/// and `/`.
pub fn uri_matches(exposure: &Exposure) -> Vec<Value> {
    match (&exposure.path, rewrite_uri(exposure)) {
        (PathRule::Prefix(p), Some(r)) if r.ends_with('/') && !p.ends_with('/') => {
            vec![json!({"uri": {"prefix": format!("{p}/")}}), json!({"uri": {"exact": p}})]
        }
        (path, _) => vec![uri_match(path)],
    }
}

/// The `rewrite.uri` written for `exposure`: `--rewrite` as given, except that after a prefix
/// ending in `/` a rewrite gets the `/` the prefix took (prefix `/` rewritten to `/x` would
/// turn `/foo` into `/xfoo`; `/x/` gives `/x/foo`).
pub fn rewrite_uri(exposure: &Exposure) -> Option<String> {
    let rewrite = exposure.rewrite.as_ref()?;
    match &exposure.path {
        PathRule::Prefix(p) if p.ends_with('/') && !rewrite.ends_with('/') => {
            Some(format!("{rewrite}/"))
        }
        _ => Some(rewrite.clone()),
    }
}

fn uri_match(path: &PathRule) -> Value {
    match path {
        PathRule::Prefix(p) => json!({"uri": {"prefix": p}}),
        PathRule::Exact(p) => json!({"uri": {"exact": p}}),
    }
}

/// Whether `route` is one this tool added for `backend`: named after the Service, sending
/// only to it.
pub fn is_our_route(route: &Value, backend: &Backend, route_namespace: &str) -> bool {
    text(route, "/name") == backend.service && sends_only_to(route, backend, route_namespace)
}

fn sends_only_to(route: &Value, backend: &Backend, route_namespace: &str) -> bool {
    let destinations = array(route, "/route");
    !destinations.is_empty()
        && destinations
            .iter()
            .all(|d| backend.is_host(text(d, "/destination/host"), route_namespace))
}

/// A route already in a VirtualService that takes the path of `exposure`, for a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConflict {
    /// Where the route sends: its destination hosts.
    pub destinations: Vec<String>,
}

/// `vs` with the route of `exposure` added, or updated in place when there is one; `None`
/// when the VirtualService already routes as asked. A route someone else wrote for the same
/// path and Service counts as this one; for the same path and another destination it is a
/// conflict.
pub fn add_route(vs: &Value, exposure: &Exposure) -> Result<Option<Value>, RouteConflict> {
    let ns = text(vs, "/metadata/namespace");
    let backend = &exposure.backend;
    let mut routes = array(vs, "/spec/http").to_vec();
    let ours = routes.iter().position(|r| is_our_route(r, backend, ns));
    let same_path = routes
        .iter()
        .enumerate()
        .find(|(i, r)| Some(*i) != ours && has_only_match(r, &exposure.path))
        .map(|(i, _)| i);

    if let Some(i) = same_path {
        if !sends_only_to(&routes[i], backend, ns) {
            let destinations = array(&routes[i], "/route")
                .iter()
                .map(|d| text(d, "/destination/host").to_string())
                .collect();
            return Err(RouteConflict { destinations });
        }
        // Someone's route for this path and Service: keep it, drop our duplicate.
        routes[i] = merged(&routes[i], exposure, false);
        if let Some(o) = ours {
            routes.remove(o);
        }
    } else {
        let next = match ours {
            Some(o) => merged(&routes.remove(o), exposure, true),
            None => route(exposure),
        };
        let at = routes.iter().position(|r| shadows(r, &exposure.path)).unwrap_or(routes.len());
        routes.insert(at, next);
    }
    Ok(with_routes(vs, routes))
}

/// `vs` without the routes this tool added for `backend`; `None` when it has none.
pub fn remove_route(vs: &Value, backend: &Backend) -> Option<Value> {
    let ns = text(vs, "/metadata/namespace");
    let routes: Vec<Value> =
        array(vs, "/spec/http").iter().filter(|r| !is_our_route(r, backend, ns)).cloned().collect();
    with_routes(vs, routes)
}

/// Whether the VirtualService routes any traffic (HTTP, TLS or TCP).
pub fn has_routes(vs: &Value) -> bool {
    ["/spec/http", "/spec/tls", "/spec/tcp"].iter().any(|p| !array(vs, p).is_empty())
}

/// Whether the VirtualService holds nothing but the routes this tool added for `backend`.
pub fn holds_only(vs: &Value, backend: &Backend) -> bool {
    let ns = text(vs, "/metadata/namespace");
    array(vs, "/spec/tls").is_empty()
        && array(vs, "/spec/tcp").is_empty()
        && array(vs, "/spec/http").iter().all(|r| is_our_route(r, backend, ns))
}

/// The names (or positions) of routes that send to `backend` but were not added by this tool.
pub fn other_routes_to(vs: &Value, backend: &Backend) -> Vec<String> {
    let ns = text(vs, "/metadata/namespace");
    array(vs, "/spec/http")
        .iter()
        .enumerate()
        .filter(|(_, r)| !is_our_route(r, backend, ns))
        .filter(|(_, r)| {
            array(r, "/route").iter().any(|d| backend.is_host(text(d, "/destination/host"), ns))
        })
        .map(|(i, r)| match text(r, "/name") {
            "" => format!("http[{i}]"),
            name => name.to_string(),
        })
        .collect()
}

fn with_routes(vs: &Value, routes: Vec<Value>) -> Option<Value> {
    if array(vs, "/spec/http") == routes.as_slice() {
        return None;
    }
    let mut next = vs.clone();
    if !next["spec"].is_object() {
        next["spec"] = json!({});
    }
    if routes.is_empty() {
        if let Some(spec) = next["spec"].as_object_mut() {
            spec.remove("http");
        }
    } else {
        next["spec"]["http"] = Value::Array(routes);
    }
    Some(next)
}

/// An existing route brought to what `exposure` asks for, keeping every other field (retries,
/// timeouts, headers, weights and subsets of its destinations).
fn merged(existing: &Value, exposure: &Exposure, ours: bool) -> Value {
    let mut next = existing.clone();
    let Some(route) = next.as_object_mut() else { return self::route(exposure) };
    if ours {
        route.insert("name".into(), json!(exposure.route_name()));
        route.insert("match".into(), json!(uri_matches(exposure)));
    }
    set_rewrite(route, rewrite_uri(exposure).as_deref());
    let destinations = route.get_mut("route").and_then(Value::as_array_mut);
    match destinations {
        Some(list) if !list.is_empty() => {
            for d in list {
                d["destination"]["port"] = json!({"number": exposure.port});
            }
        }
        _ => {
            route.insert("route".into(), self::route(exposure)["route"].clone());
        }
    }
    next
}

fn set_rewrite(route: &mut Map<String, Value>, uri: Option<&str>) {
    match uri {
        Some(uri) => {
            let rewrite = route.entry("rewrite").or_insert_with(|| json!({}));
            if !rewrite.is_object() {
                *rewrite = json!({});
            }
            rewrite["uri"] = json!(uri);
        }
        None => {
            let empty = route.get_mut("rewrite").and_then(Value::as_object_mut).is_some_and(|r| {
                r.remove("uri");
                r.is_empty()
            });
            if empty {
                route.remove("rewrite");
            }
        }
    }
}

/// Whether the route's only match is exactly this path rule, with no other condition.
fn has_only_match(route: &Value, path: &PathRule) -> bool {
    let [only] = array(route, "/match") else { return false };
    let Some(entry) = only.as_object() else { return false };
    let conditions: Vec<&String> = entry.keys().filter(|k| *k != "name").collect();
    conditions == ["uri"] && entry.get("uri") == Some(&uri_match(path)["uri"])
}

/// Whether `route`, placed before ours, would take requests ours should get: it has no match
/// (it takes everything), or a match entry with only a path condition that is a shorter
/// prefix of ours, or a regex (which may match anything).
fn shadows(route: &Value, ours: &PathRule) -> bool {
    let matches = array(route, "/match");
    if matches.is_empty() {
        return true;
    }
    matches.iter().any(|m| {
        let Some(entry) = m.as_object() else { return false };
        if entry.keys().any(|k| k != "name" && k != "uri") {
            return false;
        }
        let Some(uri) = entry.get("uri") else { return true };
        if let Some(prefix) = uri.get("prefix").and_then(Value::as_str) {
            return ours.path().starts_with(prefix)
                && (prefix.len() < ours.path().len() || ours.is_exact());
        }
        uri.get("regex").is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::expose::Tls;

    fn exposure(hosts: &[&str], path: PathRule) -> Exposure {
        Exposure {
            backend: Backend::new("my-service", "default", "cluster.local"),
            port: 8080,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            path,
            rewrite: None,
            tls: None,
        }
    }

    fn prefix(p: &str) -> PathRule {
        PathRule::Prefix(p.into())
    }

    fn vs(http: Value) -> Value {
        json!({"metadata": {"name": "shop", "namespace": "default"},
               "spec": {"hosts": ["shop.example.com"], "gateways": ["public"], "http": http}})
    }

    #[test]
    fn the_guide_gateway_and_route() {
        let e = exposure(&["*"], prefix("/my-service"));
        let gw = gateway("networking.istio.io/v1", "my-service-gateway", &e, &BTreeMap::new());
        assert_eq!(
            gw["spec"]["servers"][0]["port"],
            json!({"number": 80, "name": "http", "protocol": "HTTP"})
        );
        assert_eq!(gw["spec"]["servers"][0]["hosts"], json!(["*"]));
        let vs = virtual_service("networking.istio.io/v1", "my-service", &e, "my-service-gateway");
        assert_eq!(
            vs["spec"]["http"][0]["route"][0]["destination"],
            json!({"host": "my-service.default.svc.cluster.local", "port": {"number": 8080}})
        );
        assert_eq!(vs["spec"]["http"][0]["match"], json!([{"uri": {"prefix": "/my-service"}}]));
    }

    #[test]
    fn gaps_name_missing_hosts_ports_and_tls() {
        let mut e = exposure(&["shop.example.com"], prefix("/"));
        let gw = json!({"metadata": {"namespace": "istio-system"}, "spec": {"servers": [
            {"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["*/*.example.com"]},
            {"port": {"number": 443, "protocol": "HTTPS"}, "hosts": ["default/shop.example.com"],
             "tls": {"mode": "SIMPLE", "credentialName": "shop-cert"}}]}});
        assert!(gateway_gaps(&gw, &e).is_empty());
        e.tls = Some(Tls { secret: "shop-cert".into(), redirect: false });
        assert!(gateway_gaps(&gw, &e).is_empty());
        e.tls = Some(Tls { secret: "other".into(), redirect: true });
        let gaps = gateway_gaps(&gw, &e);
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(gaps[0].contains("redirect"), "{gaps:?}");
        e.tls = None;
        e.hosts = vec!["*".into()];
        assert_eq!(gateway_gaps(&gw, &e), ["host \"*\" on port 80 (HTTP)"]);
        // `./host` only takes VirtualServices from the Gateway's own namespace.
        let own = json!({"metadata": {"namespace": "istio-system"}, "spec": {"servers": [
            {"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["./*"]}]}});
        assert_eq!(gateway_gaps(&own, &e).len(), 1);
    }

    #[test]
    fn routes_go_before_the_routes_that_would_catch_their_requests() {
        let e = exposure(&["shop.example.com"], prefix("/my-service"));
        let live = vs(json!([
            {"name": "admin", "match": [{"uri": {"prefix": "/my-service/admin"}}], "route": [{"destination": {"host": "admin"}}]},
            {"name": "canary", "match": [{"uri": {"prefix": "/"}, "headers": {"x-canary": {"exact": "1"}}}], "route": [{"destination": {"host": "canary"}}]},
            {"name": "frontend", "match": [{"uri": {"prefix": "/"}}], "route": [{"destination": {"host": "frontend"}}], "x-future": 1}
        ]));
        let next = add_route(&live, &e).unwrap().unwrap();
        let names: Vec<&str> =
            array(&next, "/spec/http").iter().map(|r| text(r, "/name")).collect();
        assert_eq!(names, ["admin", "canary", "my-service", "frontend"]);
        assert_eq!(next["spec"]["http"][3]["x-future"], 1);
        assert_eq!(add_route(&next, &e).unwrap(), None, "a second add changes nothing");
    }

    #[test]
    fn our_route_is_updated_in_place_keeping_fields_we_do_not_own() {
        let mut e = exposure(&["shop.example.com"], prefix("/old"));
        let first = add_route(&vs(json!([])), &e).unwrap().unwrap();
        let mut with_retries = first.clone();
        with_retries["spec"]["http"][0]["retries"] = json!({"attempts": 3});
        e.path = prefix("/new");
        e.rewrite = Some("/".into());
        let next = add_route(&with_retries, &e).unwrap().unwrap();
        let routes = array(&next, "/spec/http");
        assert_eq!(routes.len(), 1);
        assert_eq!(
            routes[0]["match"],
            json!([{"uri": {"prefix": "/new/"}}, {"uri": {"exact": "/new"}}])
        );
        assert_eq!(routes[0]["rewrite"], json!({"uri": "/"}));
        assert_eq!(routes[0]["retries"], json!({"attempts": 3}));
        e.rewrite = None;
        let back = add_route(&next, &e).unwrap().unwrap();
        assert!(back["spec"]["http"][0].get("rewrite").is_none());
    }

    /// The path Istio forwards for `request` through `route`: the first matching entry, its
    /// matched prefix (or the whole path, for `exact`) replaced by `rewrite.uri`.
    fn forwarded(route: &Value, request: &str) -> Option<String> {
        let uri = route["rewrite"]["uri"].as_str();
        array(route, "/match").iter().find_map(|m| {
            let rest = if let Some(e) = m["uri"]["exact"].as_str() {
                (request == e).then_some("")
            } else {
                request.strip_prefix(m["uri"]["prefix"].as_str()?)
            }?;
            Some(match uri {
                Some(r) => format!("{r}{rest}"),
                None => request.to_string(),
            })
        })
    }

    #[test]
    fn rewrites_give_the_paths_a_user_means() {
        let cases = [
            ("/v1", "/", "/v1/foo", Some("/foo")),
            ("/v1", "/", "/v1", Some("/")),
            ("/v1", "/", "/v1foo", None),
            ("/v1", "/v2", "/v1/foo", Some("/v2/foo")),
            ("/", "/x", "/foo", Some("/x/foo")),
            ("/api/", "/v2", "/api/foo", Some("/v2/foo")),
            ("/api/", "/v2/", "/api/foo", Some("/v2/foo")),
        ];
        for (path, rewrite, request, want) in cases {
            let mut e = exposure(&["*"], prefix(path));
            e.rewrite = Some(rewrite.into());
            let r = route(&e);
            assert_eq!(forwarded(&r, request).as_deref(), want, "{path} -> {rewrite}: {r}");
        }
    }

    #[test]
    fn a_route_someone_wrote_for_the_same_path_is_used_or_conflicts() {
        let e = exposure(&["*"], prefix("/my-service"));
        let guide = vs(json!([{"match": [{"uri": {"prefix": "/my-service"}}], "route": [
            {"destination": {"host": "my-service.default.svc.cluster.local", "port": {"number": 8080}}}]}]));
        assert_eq!(add_route(&guide, &e).unwrap(), None);
        let other = vs(json!([{"match": [{"uri": {"prefix": "/my-service"}}], "route": [
            {"destination": {"host": "legacy"}}]}]));
        assert_eq!(add_route(&other, &e).unwrap_err().destinations, ["legacy"]);
    }

    #[test]
    fn removing_takes_only_our_routes() {
        let e = exposure(&["*"], prefix("/my-service"));
        let backend = &e.backend;
        let live = vs(json!([
            {"name": "my-service", "match": [{"uri": {"prefix": "/x"}}], "route": [{"destination": {"host": "my-service"}}]},
            {"name": "hand", "route": [{"destination": {"host": "my-service.default"}}]},
            {"name": "my-service", "route": [{"destination": {"host": "other"}}]}
        ]));
        let next = remove_route(&live, backend).unwrap();
        assert_eq!(array(&next, "/spec/http").len(), 2);
        assert_eq!(other_routes_to(&next, backend), ["hand"]);
        assert!(remove_route(&next, backend).is_none());
        let only = add_route(&vs(json!([])), &e).unwrap().unwrap();
        assert!(holds_only(&only, backend));
        let empty = remove_route(&only, backend).unwrap();
        assert!(!has_routes(&empty) && empty["spec"].get("http").is_none());
    }

    #[test]
    fn gateway_references_resolve_against_the_route_namespace() {
        let v = json!({"metadata": {"namespace": "default"},
                       "spec": {"gateways": ["public", "istio-system/shared", "mesh"]}});
        assert!(binds_gateway(&v, "default", "public"));
        assert!(binds_gateway(&v, "istio-system", "shared"));
        assert!(!binds_gateway(&v, "istio-system", "public"));
        assert_eq!(bound_gateways(&v).len(), 2);
        assert_eq!(gateway_reference("default", "istio-system", "gw"), "istio-system/gw");
        assert_eq!(gateway_reference("default", "default", "gw"), "gw");
    }
}
