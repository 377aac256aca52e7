//! Gateway API `Gateway` and `HTTPRoute` for `expose`: the objects it creates, whether an
//! existing Gateway has listeners for what is needed, and the rule it adds to (or removes
//! from) an HTTPRoute.
//!
//! Rules of an HTTPRoute are ordered by the API itself (exact paths first, then the longest
//! prefix: <https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule>), so an added rule
//! goes at the end. HTTPS redirects are routes on the HTTP listener, so with a redirect the
//! rule attaches to the HTTPS listener and a second route redirects on the HTTP one.

use serde_json::{Map, Value, json};

use super::{
    Backend, Exposure, HTTP_PORT, HTTPS_PORT, PathRule, array, host_covers, new_metadata, strings,
    text,
};

/// The GatewayClass of the Gateways this tool creates: Istio's.
pub const GATEWAY_CLASS: &str = "istio";
/// The label Istio puts on the Deployment, pods and Service it runs for a Gateway.
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

/// Where a route attaches: a Gateway, and optionally one of its listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub namespace: String,
    pub name: String,
    /// The listener name (`sectionName`); `None` attaches to every listener.
    pub section: Option<String>,
}

/// The Gateway this tool creates: class `istio`, an HTTP listener on port 80 and, with TLS,
/// an HTTPS listener on 443 terminating with the Secret. A single named host becomes the
/// listeners' hostname; otherwise the routes' hostnames decide.
pub fn gateway(api_version: &str, name: &str, exposure: &Exposure) -> Value {
    let hostname = match exposure.hosts.as_slice() {
        [one] if one != "*" => Some(one.clone()),
        _ => None,
    };
    let listener = |name: &str, port: u16, protocol: &str| {
        let mut l = json!({"name": name, "port": port, "protocol": protocol});
        if let Some(h) = &hostname {
            l["hostname"] = json!(h);
        }
        l
    };
    let mut listeners = vec![listener("http", HTTP_PORT, "HTTP")];
    if let Some(tls) = &exposure.tls {
        let mut https = listener("https", HTTPS_PORT, "HTTPS");
        https["tls"] = json!({"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": tls.secret}]});
        listeners.push(https);
    }
    json!({
        "apiVersion": api_version,
        "kind": "Gateway",
        "metadata": new_metadata(name, exposure.namespace()),
        "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": listeners},
    })
}

/// The name of a listener of `gateway` that takes every host of `exposure` on `port` with
/// `protocol` (for HTTPS, with the exposure's Secret) and admits routes from its namespace.
pub fn listener_for(
    gateway: &Value,
    exposure: &Exposure,
    port: u16,
    protocol: &str,
) -> Option<String> {
    let gateway_ns = text(gateway, "/metadata/namespace");
    array(gateway, "/spec/listeners")
        .iter()
        .find(|l| {
            l.get("port").and_then(Value::as_u64) == Some(u64::from(port))
                && text(l, "/protocol").eq_ignore_ascii_case(protocol)
                && exposure.hosts.iter().all(|h| match l.get("hostname").and_then(Value::as_str) {
                    None => true,
                    Some(name) => host_covers(name, h),
                })
                && admits(l, gateway_ns, exposure.namespace())
                && (protocol != "HTTPS" || terminates_with(l, gateway_ns, exposure))
        })
        .map(|l| text(l, "/name").to_string())
}

fn terminates_with(listener: &Value, gateway_ns: &str, exposure: &Exposure) -> bool {
    let Some(tls) = &exposure.tls else { return false };
    matches!(text(listener, "/tls/mode"), "" | "Terminate")
        && array(listener, "/tls/certificateRefs").iter().any(|r| {
            matches!(text(r, "/kind"), "" | "Secret")
                && text(r, "/group").is_empty()
                && text(r, "/name") == tls.secret
                && matches!(text(r, "/namespace"), ns if ns.is_empty() || ns == gateway_ns)
        })
}

/// Whether a listener admits routes from `route_ns`. Routes come from the Gateway's own
/// namespace unless `allowedRoutes` says `All`; a namespace `Selector` is taken to admit
/// (this function does not read namespace labels).
pub fn admits(listener: &Value, gateway_ns: &str, route_ns: &str) -> bool {
    match text(listener, "/allowedRoutes/namespaces/from") {
        "All" | "Selector" => true,
        _ => gateway_ns == route_ns,
    }
}

/// What `gateway` does not yet serve for `exposure`, one phrase each.
pub fn gateway_gaps(gateway: &Value, exposure: &Exposure) -> Vec<String> {
    let hosts = exposure.hosts.join(", ");
    let mut gaps = Vec::new();
    if listener_for(gateway, exposure, HTTP_PORT, "HTTP").is_none() {
        gaps.push(format!(
            "an HTTP listener on port {HTTP_PORT} for {hosts} that admits routes from namespace {}",
            exposure.namespace()
        ));
    }
    if let Some(tls) = &exposure.tls
        && listener_for(gateway, exposure, HTTPS_PORT, "HTTPS").is_none()
    {
        gaps.push(format!(
            "an HTTPS listener on port {HTTPS_PORT} for {hosts} terminating with Secret {}",
            tls.secret
        ));
    }
    gaps
}

/// The HTTPRoute this tool creates: the hosts, attached to `parent`, with one rule.
pub fn http_route(api_version: &str, name: &str, exposure: &Exposure, parent: &Parent) -> Value {
    route_object(api_version, name, exposure, parent, rule(exposure))
}

/// The HTTPRoute that redirects plain HTTP to HTTPS for the exposure's path.
pub fn redirect_route(
    api_version: &str,
    name: &str,
    exposure: &Exposure,
    parent: &Parent,
) -> Value {
    let rule = json!({
        "name": exposure.route_name(),
        "matches": [path_match(&exposure.path)],
        "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}],
    });
    route_object(api_version, name, exposure, parent, rule)
}

fn route_object(
    api_version: &str,
    name: &str,
    exposure: &Exposure,
    parent: &Parent,
    rule: Value,
) -> Value {
    let mut parent_ref = json!({"name": parent.name});
    if parent.namespace != exposure.namespace() {
        parent_ref["namespace"] = json!(parent.namespace);
    }
    if let Some(section) = &parent.section {
        parent_ref["sectionName"] = json!(section);
    }
    let mut spec = json!({"parentRefs": [parent_ref]});
    if exposure.hosts != ["*"] {
        spec["hostnames"] = json!(exposure.hosts);
    }
    spec["rules"] = json!([rule]);
    json!({
        "apiVersion": api_version,
        "kind": "HTTPRoute",
        "metadata": new_metadata(name, exposure.namespace()),
        "spec": spec,
    })
}

/// The rule this tool adds: named after the Service, matching the path, to the Service port.
pub fn rule(exposure: &Exposure) -> Value {
    let mut rule = json!({"name": exposure.route_name(), "matches": [path_match(&exposure.path)]});
    if let Some(filter) = rewrite_filter(exposure) {
        rule["filters"] = json!([filter]);
    }
    rule["backendRefs"] = json!([{"name": exposure.backend.service, "port": exposure.port}]);
    rule
}

fn path_match(path: &PathRule) -> Value {
    match path {
        PathRule::Prefix(p) => json!({"path": {"type": "PathPrefix", "value": p}}),
        PathRule::Exact(p) => json!({"path": {"type": "Exact", "value": p}}),
    }
}

fn rewrite_filter(exposure: &Exposure) -> Option<Value> {
    let to = exposure.rewrite.as_ref()?;
    let path = match exposure.path {
        PathRule::Prefix(_) => json!({"type": "ReplacePrefixMatch", "replacePrefixMatch": to}),
        PathRule::Exact(_) => json!({"type": "ReplaceFullPath", "replaceFullPath": to}),
    };
    Some(json!({"type": "URLRewrite", "urlRewrite": {"path": path}}))
}

/// Whether the route attaches to the Gateway `namespace/name` exactly at `section` (`None`:
/// to the whole Gateway).
pub fn attaches_to(route: &Value, namespace: &str, name: &str, section: Option<&str>) -> bool {
    let route_ns = text(route, "/metadata/namespace");
    array(route, "/spec/parentRefs").iter().any(|p| {
        let ns = match text(p, "/namespace") {
            "" => route_ns,
            ns => ns,
        };
        matches!(text(p, "/kind"), "" | "Gateway")
            && matches!(text(p, "/group"), "" | "gateway.networking.k8s.io")
            && ns == namespace
            && text(p, "/name") == name
            && p.get("sectionName").and_then(Value::as_str) == section
    })
}

/// The Gateways a route attaches to, as `(namespace, name)`.
pub fn parent_gateways(route: &Value) -> Vec<(String, String)> {
    let route_ns = text(route, "/metadata/namespace");
    array(route, "/spec/parentRefs")
        .iter()
        .filter(|p| matches!(text(p, "/kind"), "" | "Gateway"))
        .map(|p| {
            let ns = match text(p, "/namespace") {
                "" => route_ns,
                ns => ns,
            };
            (ns.to_string(), text(p, "/name").to_string())
        })
        .collect()
}

/// Whether the route serves exactly the requested hosts' scope: no hostnames for `*`, else a
/// superset of them.
pub fn routes_hostnames(route: &Value, hosts: &[String]) -> bool {
    let have: Vec<String> =
        strings(route, "/spec/hostnames").iter().map(|h| h.to_ascii_lowercase()).collect();
    if hosts == ["*"] { have.is_empty() } else { hosts.iter().all(|h| have.contains(h)) }
}

fn is_backend(r: &Value, backend: &Backend, route_ns: &str) -> bool {
    let ns = match text(r, "/namespace") {
        "" => route_ns,
        ns => ns,
    };
    matches!(text(r, "/kind"), "" | "Service")
        && text(r, "/group").is_empty()
        && text(r, "/name") == backend.service
        && ns == backend.namespace
}

fn redirects(rule: &Value) -> bool {
    array(rule, "/filters").iter().any(|f| text(f, "/type") == "RequestRedirect")
}

/// Whether `rule` is one this tool added for `backend`: named after the Service, sending only
/// to it (or, on the redirect route, redirecting).
pub fn is_our_rule(rule: &Value, backend: &Backend, route_ns: &str) -> bool {
    let refs = array(rule, "/backendRefs");
    text(rule, "/name") == backend.service
        && if refs.is_empty() {
            redirects(rule)
        } else {
            refs.iter().all(|r| is_backend(r, backend, route_ns))
        }
}

/// The rule's only match is exactly this path rule (`PathPrefix` is the default type).
fn has_only_match(rule: &Value, path: &PathRule) -> bool {
    let [only] = array(rule, "/matches") else { return false };
    let Some(entry) = only.as_object() else { return false };
    if entry.keys().any(|k| k != "path") {
        return false;
    }
    let kind = match text(only, "/path/type") {
        "" => "PathPrefix",
        t => t,
    };
    let want = path_match(path);
    kind == text(&want, "/path/type") && text(only, "/path/value") == path.path()
}

/// `route` with the rule of `exposure` added, or updated in place; `None` when it already
/// routes as asked. A rule someone else wrote for the same path and Service counts as this
/// one; for the same path and other backends it is a conflict, whose backends are returned.
pub fn add_rule(route: &Value, exposure: &Exposure) -> Result<Option<Value>, Vec<String>> {
    let ns = text(route, "/metadata/namespace");
    let backend = &exposure.backend;
    let mut rules = array(route, "/spec/rules").to_vec();
    let ours = rules.iter().position(|r| is_our_rule(r, backend, ns));
    let same_path = rules
        .iter()
        .enumerate()
        .find(|(i, r)| Some(*i) != ours && has_only_match(r, &exposure.path))
        .map(|(i, _)| i);

    if let Some(i) = same_path {
        let refs = array(&rules[i], "/backendRefs");
        if refs.is_empty() || !refs.iter().all(|r| is_backend(r, backend, ns)) {
            return Err(refs.iter().map(|r| text(r, "/name").to_string()).collect());
        }
        rules[i] = merged(&rules[i], exposure, false);
        if let Some(o) = ours {
            rules.remove(o);
        }
    } else {
        match ours {
            Some(o) => rules[o] = merged(&rules[o], exposure, true),
            None => rules.push(rule(exposure)),
        }
    }
    Ok(with_rules(route, rules))
}

/// An existing rule brought to what `exposure` asks for, keeping its other fields (timeouts,
/// retries, other filters, weights).
fn merged(existing: &Value, exposure: &Exposure, ours: bool) -> Value {
    let mut next = existing.clone();
    let Some(rule) = next.as_object_mut() else { return self::rule(exposure) };
    if ours {
        rule.insert("name".into(), json!(exposure.route_name()));
        rule.insert("matches".into(), json!([path_match(&exposure.path)]));
    }
    set_rewrite(rule, rewrite_filter(exposure));
    let backend = &exposure.backend;
    match rule.get_mut("backendRefs").and_then(Value::as_array_mut) {
        Some(refs) if !refs.is_empty() => {
            for r in refs.iter_mut().filter(|r| text(r, "/name") == backend.service) {
                r["port"] = json!(exposure.port);
            }
        }
        _ => {
            rule.insert("backendRefs".into(), self::rule(exposure)["backendRefs"].clone());
        }
    }
    next
}

fn set_rewrite(rule: &mut Map<String, Value>, filter: Option<Value>) {
    let mut filters: Vec<Value> = rule
        .get("filters")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter(|f| text(f, "/type") != "URLRewrite").cloned().collect())
        .unwrap_or_default();
    filters.extend(filter);
    if filters.is_empty() {
        rule.remove("filters");
    } else {
        rule.insert("filters".into(), Value::Array(filters));
    }
}

/// `route` without the rules this tool added for `backend`; `None` when it has none.
pub fn remove_rule(route: &Value, backend: &Backend) -> Option<Value> {
    let ns = text(route, "/metadata/namespace");
    let rules: Vec<Value> = array(route, "/spec/rules")
        .iter()
        .filter(|r| !is_our_rule(r, backend, ns))
        .cloned()
        .collect();
    with_rules(route, rules)
}

/// Whether the route holds nothing but rules this tool added for `backend`.
pub fn holds_only(route: &Value, backend: &Backend) -> bool {
    let ns = text(route, "/metadata/namespace");
    array(route, "/spec/rules").iter().all(|r| is_our_rule(r, backend, ns))
}

/// The names (or positions) of rules that send to `backend` but were not added by this tool.
pub fn other_rules_to(route: &Value, backend: &Backend) -> Vec<String> {
    let ns = text(route, "/metadata/namespace");
    array(route, "/spec/rules")
        .iter()
        .enumerate()
        .filter(|(_, r)| !is_our_rule(r, backend, ns))
        .filter(|(_, r)| array(r, "/backendRefs").iter().any(|b| is_backend(b, backend, ns)))
        .map(|(i, r)| match text(r, "/name") {
            "" => format!("rules[{i}]"),
            name => name.to_string(),
        })
        .collect()
}

fn with_rules(route: &Value, rules: Vec<Value>) -> Option<Value> {
    if array(route, "/spec/rules") == rules.as_slice() {
        return None;
    }
    let mut next = route.clone();
    if !next["spec"].is_object() {
        next["spec"] = json!({});
    }
    if rules.is_empty() {
        if let Some(spec) = next["spec"].as_object_mut() {
            spec.remove("rules");
        }
    } else {
        next["spec"]["rules"] = Value::Array(rules);
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::expose::Tls;

    fn exposure(hosts: &[&str]) -> Exposure {
        Exposure {
            backend: Backend::new("my-service", "default", "cluster.local"),
            port: 8080,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            path: PathRule::Prefix("/my-service".into()),
            rewrite: None,
            tls: None,
        }
    }

    fn parent() -> Parent {
        Parent { namespace: "default".into(), name: "gw".into(), section: None }
    }

    #[test]
    fn created_objects_follow_the_gateway_api() {
        let mut e = exposure(&["shop.example.com"]);
        e.tls = Some(Tls { secret: "cert".into(), redirect: true });
        e.rewrite = Some("/".into());
        let gw = gateway("gateway.networking.k8s.io/v1", "gw", &e);
        assert_eq!(gw["spec"]["gatewayClassName"], "istio");
        assert_eq!(gw["spec"]["listeners"][0]["hostname"], "shop.example.com");
        assert_eq!(gw["spec"]["listeners"][1]["tls"]["certificateRefs"][0]["name"], "cert");
        assert!(gateway_gaps(&gw, &e).is_empty());
        assert_eq!(listener_for(&gw, &e, HTTPS_PORT, "HTTPS").as_deref(), Some("https"));

        let route = http_route("v", "my-service", &e, &parent());
        assert_eq!(route["spec"]["hostnames"], json!(["shop.example.com"]));
        assert_eq!(route["spec"]["parentRefs"], json!([{"name": "gw"}]));
        let rule = &route["spec"]["rules"][0];
        assert_eq!(rule["backendRefs"], json!([{"name": "my-service", "port": 8080}]));
        assert_eq!(rule["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"], "/");
        let redirect = redirect_route("v", "r", &e, &parent());
        assert!(is_our_rule(&redirect["spec"]["rules"][0], &e.backend, "default"));
        assert!(
            http_route("v", "x", &exposure(&["*"]), &parent())["spec"].get("hostnames").is_none()
        );
    }

    #[test]
    fn listeners_must_take_the_hosts_and_admit_the_namespace() {
        let e = exposure(&["shop.example.com"]);
        let gw = |from: &str, hostname: &str| {
            json!({"metadata": {"namespace": "infra"}, "spec": {"listeners": [{"name": "web",
                "port": 80, "protocol": "HTTP", "hostname": hostname,
                "allowedRoutes": {"namespaces": {"from": from}}}]}})
        };
        assert_eq!(
            listener_for(&gw("All", "*.example.com"), &e, 80, "HTTP").as_deref(),
            Some("web")
        );
        assert!(listener_for(&gw("Same", "*.example.com"), &e, 80, "HTTP").is_none());
        assert!(listener_for(&gw("All", "api.example.com"), &e, 80, "HTTP").is_none());
        assert_eq!(gateway_gaps(&gw("Same", "*.example.com"), &e).len(), 1);
    }

    #[test]
    fn rules_are_added_once_updated_in_place_and_removed() {
        let mut e = exposure(&["*"]);
        let live = json!({"metadata": {"namespace": "default"}, "spec": {"rules": [
            {"name": "web", "matches": [{"path": {"value": "/"}}], "backendRefs": [{"name": "web", "port": 80}], "x-future": true}]}});
        let added = add_rule(&live, &e).unwrap().unwrap();
        assert_eq!(array(&added, "/spec/rules").len(), 2);
        assert_eq!(added["spec"]["rules"][0]["x-future"], true);
        assert_eq!(add_rule(&added, &e).unwrap(), None);
        e.port = 9090;
        let moved = add_rule(&added, &e).unwrap().unwrap();
        assert_eq!(moved["spec"]["rules"][1]["backendRefs"][0]["port"], 9090);
        let back = remove_rule(&moved, &e.backend).unwrap();
        assert_eq!(back, live);
        assert!(!holds_only(&back, &e.backend));

        e.path = PathRule::Prefix("/".into());
        assert_eq!(add_rule(&live, &e).unwrap_err(), ["web"], "the same path to another backend");
    }

    #[test]
    fn attachment_is_per_gateway_and_listener() {
        let route = json!({"metadata": {"namespace": "default"}, "spec": {"parentRefs": [
            {"name": "gw"}, {"name": "shared", "namespace": "infra", "sectionName": "https"}]}});
        assert!(attaches_to(&route, "default", "gw", None));
        assert!(!attaches_to(&route, "default", "gw", Some("http")));
        assert!(attaches_to(&route, "infra", "shared", Some("https")));
        assert_eq!(parent_gateways(&route).len(), 2);
        assert!(routes_hostnames(&route, &["*".to_string()]));
    }
}
