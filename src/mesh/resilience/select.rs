//! Which VirtualServices and DestinationRules are for a Service: those whose hosts name it by
//! its short name (from its own namespace), `name.namespace`, `name.namespace.svc` or its FQDN,
//! compared without regard to case. Wildcard hosts that merely cover the Service are reported
//! apart, since editing them would change other Services too.

use serde_json::Value;

use crate::mesh::host::{hosts_match, is_wildcard, service_fqdn};

/// The Service a run of `resilience` is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub namespace: String,
    /// The cluster DNS domain, `cluster.local` unless told otherwise.
    pub domain: String,
}

impl Target {
    pub fn new(name: &str, namespace: &str, domain: &str) -> Self {
        Self { name: name.into(), namespace: namespace.into(), domain: domain.into() }
    }

    /// `name.namespace.svc.domain`.
    pub fn fqdn(&self) -> String {
        service_fqdn(&self.name, &self.namespace, &self.domain)
    }

    /// `namespace/name`, for messages.
    pub fn display(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether `host`, written in an object in `namespace`, names this Service.
    pub fn is_named_by(&self, host: &str, namespace: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = self.name.to_ascii_lowercase();
        let ns = self.namespace.to_ascii_lowercase();
        if !host.contains('.') {
            return host == name && namespace.eq_ignore_ascii_case(&self.namespace);
        }
        let fqdn = self.fqdn().to_ascii_lowercase();
        host == format!("{name}.{ns}") || host == format!("{name}.{ns}.svc") || host == fqdn
    }

    /// Whether `host` is a wildcard that covers this Service's FQDN.
    pub fn is_covered_by(&self, host: &str) -> bool {
        is_wildcard(host.trim()) && hosts_match(host.trim(), &self.fqdn())
    }
}

/// The namespace of a listed object.
pub fn namespace_of(object: &Value) -> &str {
    object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default()
}

/// The name of a listed object.
pub fn name_of(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

/// `namespace/name` of a listed object.
pub fn qualified(object: &Value) -> String {
    format!("{}/{}", namespace_of(object), name_of(object))
}

fn hosts(object: &Value) -> Vec<&str> {
    match object.pointer("/spec/hosts") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a VirtualService's hosts name `target`.
pub fn names(vs: &Value, target: &Target) -> bool {
    let ns = namespace_of(vs);
    hosts(vs).iter().any(|h| target.is_named_by(h, ns))
}

/// Whether a VirtualService is bound to gateways only, not to the mesh: its routes serve the
/// requests those gateways receive, never calls between workloads.
pub fn is_gateway_only(vs: &Value) -> bool {
    match vs.pointer("/spec/gateways") {
        Some(Value::Array(items)) => {
            !items.is_empty() && !items.iter().any(|g| g.as_str() == Some("mesh"))
        }
        _ => false,
    }
}

/// Whether an HTTP route of a VirtualService in `namespace` sends to `target` and nothing else.
pub fn sends_only_to(route: &Value, target: &Target, namespace: &str) -> bool {
    let destinations = match route.get("route") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    !destinations.is_empty()
        && destinations.iter().all(|d| {
            let host = d.pointer("/destination/host").and_then(Value::as_str).unwrap_or_default();
            target.is_named_by(host, namespace)
        })
}

fn routes_to(vs: &Value, target: &Target) -> bool {
    let ns = namespace_of(vs);
    match vs.pointer("/spec/http") {
        Some(Value::Array(routes)) => routes.iter().any(|r| sends_only_to(r, target, ns)),
        _ => false,
    }
}

/// VirtualServices found for a Service.
#[derive(Debug, Default)]
pub struct Found<'a> {
    /// Objects whose hosts name the Service.
    pub named: Vec<&'a Value>,
    /// Objects bound only to gateways, for other hosts, with routes that send to the Service
    /// alone (such as those `expose` writes): the Service's traffic from outside the mesh.
    pub gateway: Vec<&'a Value>,
    /// Objects that apply inside the mesh whose only hold on the Service is a wildcard host,
    /// with that host.
    pub wildcards: Vec<(&'a Value, String)>,
}

/// The VirtualServices among `items` whose hosts name `target`, those that route to it from
/// gateways, and those that only cover it with a wildcard.
pub fn virtual_services<'a>(target: &Target, items: &'a [Value]) -> Found<'a> {
    let mut found = Found::default();
    for item in items {
        if names(item, target) {
            found.named.push(item);
        } else if is_gateway_only(item) && routes_to(item, target) {
            found.gateway.push(item);
        } else if is_gateway_only(item) {
            // Bound to gateways alone, its hosts are those requests to the gateway carry: a
            // wildcard there does not cover the Service's mesh host.
        } else if let Some(h) = hosts(item).iter().find(|h| target.is_covered_by(h)) {
            found.wildcards.push((item, (*h).to_string()));
        }
    }
    found
}

/// The DestinationRules among `items` whose host names `target`, and those whose wildcard host
/// covers it.
pub fn destination_rules<'a>(target: &Target, items: &'a [Value]) -> Found<'a> {
    let mut found = Found::default();
    for item in items {
        let host = item.pointer("/spec/host").and_then(Value::as_str).unwrap_or_default();
        if target.is_named_by(host, namespace_of(item)) {
            found.named.push(item);
        } else if target.is_covered_by(host) {
            found.wildcards.push((item, host.to_string()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vs(ns: &str, name: &str, hosts: &[&str]) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}, "spec": {"hosts": hosts}})
    }

    #[test]
    fn every_spelling_of_the_service_host_is_found() {
        let t = Target::new("cart", "shop", "cluster.local");
        assert!(t.is_named_by("cart", "shop"));
        assert!(!t.is_named_by("cart", "other"));
        assert!(t.is_named_by("cart.shop", "other"));
        assert!(t.is_named_by("cart.shop.svc", "other"));
        assert!(t.is_named_by("Cart.Shop.svc.cluster.local", "other"));
        assert!(!t.is_named_by("cart.shop.svc.example.org", "shop"));
        assert!(!t.is_named_by("carts", "shop"));
        assert!(!t.is_named_by("*.shop.svc.cluster.local", "shop"));
        assert!(t.is_covered_by("*.shop.svc.cluster.local"));
        assert!(t.is_covered_by("*"));
        assert!(!t.is_covered_by("*.other.svc.cluster.local"));
    }

    #[test]
    fn named_and_wildcard_objects_are_told_apart() {
        let t = Target::new("cart", "shop", "cluster.local");
        let items = vec![
            vs("shop", "a", &["cart"]),
            vs("web", "b", &["cart.shop.svc.cluster.local", "x.example.com"]),
            vs("web", "c", &["cart"]),
            vs("shop", "d", &["*.shop.svc.cluster.local"]),
            vs("shop", "e", &["shop.example.com"]),
        ];
        let mut ingress = vs("shop", "f", &["*"]);
        ingress["spec"]["gateways"] = json!(["shop-gateway"]);
        ingress["spec"]["http"] = json!([
            {"name": "cart", "route": [{"destination": {"host": "cart.shop.svc.cluster.local"}}]},
            {"name": "web", "route": [{"destination": {"host": "web"}}]}
        ]);
        let mut mesh_too = ingress.clone();
        mesh_too["metadata"]["name"] = json!("g");
        mesh_too["spec"]["gateways"] = json!(["shop-gateway", "mesh"]);
        let mut elsewhere = ingress.clone();
        elsewhere["metadata"]["name"] = json!("h");
        elsewhere["spec"]["http"] = json!([{"route": [{"destination": {"host": "web"}}]}]);
        let items = [items, vec![ingress, mesh_too, elsewhere]].concat();
        let found = virtual_services(&t, &items);
        let names: Vec<String> = found.named.iter().map(|v| qualified(v)).collect();
        assert_eq!(names, ["shop/a", "web/b"]);
        let gateway: Vec<String> = found.gateway.iter().map(|v| qualified(v)).collect();
        assert_eq!(gateway, ["shop/f"], "bound to gateways only, with a route to cart alone");
        let wildcards: Vec<String> = found.wildcards.iter().map(|(v, _)| qualified(v)).collect();
        assert_eq!(wildcards, ["shop/d", "shop/g"], "shop/h is for the gateway alone");

        let rules = vec![
            json!({"metadata": {"namespace": "shop", "name": "r"}, "spec": {"host": "cart"}}),
            json!({"metadata": {"namespace": "web", "name": "s"}, "spec": {"host": "cart"}}),
        ];
        let found = destination_rules(&t, &rules);
        assert_eq!(found.named.len(), 1);
        assert_eq!(qualified(found.named[0]), "shop/r");
    }
}
