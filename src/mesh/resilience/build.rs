//! The objects `resilience` creates when a Service has none: a mesh VirtualService named after
//! the Service, for its FQDN, with one route to it; a DestinationRule named after the Service
//! for its FQDN. The caller adds its `managed-by` label, so `--clear` can tell them from objects
//! someone else wrote and delete them once nothing but the skeleton is left.

use serde_json::{Value, json};

use super::select::Target;

fn metadata(name: &str, target: &Target, labels: &Value) -> Value {
    json!({"name": name, "namespace": target.namespace, "labels": labels})
}

fn virtual_service_spec(target: &Target) -> Value {
    let fqdn = target.fqdn();
    json!({"hosts": [fqdn], "http": [{"route": [{"destination": {"host": fqdn}}]}]})
}

fn destination_rule_spec(target: &Target) -> Value {
    json!({"host": target.fqdn()})
}

/// A VirtualService named `name` for the Service's FQDN with one route to it: the routing
/// Istio does without one, so creating it changes nothing until retries or a timeout are
/// added.
pub fn virtual_service(target: &Target, name: &str, api_version: &str, labels: &Value) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": "VirtualService",
        "metadata": metadata(name, target, labels),
        "spec": virtual_service_spec(target),
    })
}

/// A DestinationRule for the Service's FQDN with no policy yet.
pub fn destination_rule(target: &Target, api_version: &str, labels: &Value) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": "DestinationRule",
        "metadata": metadata(&target.name, target, labels),
        "spec": destination_rule_spec(target),
    })
}

/// Whether `object` holds nothing but the skeleton this module creates for `target`, so
/// deleting an object this tool created loses nothing.
pub fn is_bare(object: &Value, target: &Target) -> bool {
    let spec = object.get("spec");
    match object.get("kind").and_then(Value::as_str) {
        Some("VirtualService") => spec == Some(&virtual_service_spec(target)),
        Some("DestinationRule") => spec == Some(&destination_rule_spec(target)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_objects_are_bare_until_someone_adds_to_them() {
        let t = Target::new("cart", "shop", "cluster.local");
        let labels = json!({"team": "web"});
        let vs = virtual_service(&t, "cart", "networking.istio.io/v1", &labels);
        assert_eq!(vs["spec"]["hosts"], json!(["cart.shop.svc.cluster.local"]));
        assert_eq!(vs["metadata"]["labels"], labels);
        assert!(is_bare(&vs, &t));
        let mut more = vs.clone();
        more["spec"]["http"][0]["timeout"] = json!("1s");
        assert!(!is_bare(&more, &t));
        let dr = destination_rule(&t, "networking.istio.io/v1", &labels);
        assert!(is_bare(&dr, &t));
        assert!(!is_bare(&dr, &Target::new("cart", "web", "cluster.local")));
    }
}
