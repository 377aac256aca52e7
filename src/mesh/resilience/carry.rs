//! The route settings `resilience` wrote for a Service, carried to a route another command
//! adds for it. Istio applies to a request the VirtualService of the context it arrives in: a
//! gateway's requests get the routes of VirtualServices bound to that gateway, calls between
//! workloads those bound to the mesh. So the retries and timeout set on the Service's mesh
//! routes do not reach a route `expose` writes on a gateway; `expose` copies them there and
//! records them as `resilience` records its own, so that `resilience --clear` takes them back
//! and a later `resilience` run changes them with the rest.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::record::{Key, Record};
use super::routes::route_at;
use super::select::{self, Target};

/// The route fields that are carried.
pub const CARRIED: [&str; 2] = ["retries", "timeout"];

/// For `retries` and `timeout`: the value `resilience` set for `target` on the mesh
/// VirtualServices among `items`, when every route it set holds the same one still. A field
/// set differently on different routes (per path, with `--route`) is left out.
pub fn recorded(target: &Target, items: &[Value]) -> Map<String, Value> {
    let mut seen: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mesh = items.iter().filter(|v| select::names(v, target) && !select::is_gateway_only(v));
    for vs in mesh {
        for entry in Record::read(vs).entries {
            let field = entry.key.field.as_str();
            let Some(set) = entry.set.filter(|_| CARRIED.contains(&field)) else { continue };
            let route = route_at(vs, entry.key.route.as_deref(), entry.key.index);
            if route.and_then(|r| r.get(field)) == Some(&set) {
                seen.entry(field.to_string()).or_default().push(set);
            }
        }
    }
    seen.into_iter()
        .filter(|(_, values)| values.windows(2).all(|w| w[0] == w[1]))
        .filter_map(|(field, mut values)| Some((field, values.pop()?)))
        .collect()
}

/// `vs` with `settings` on its HTTP route named `route`, for each field that route lacks,
/// noted in the record; `None` when nothing changes.
pub fn carry(vs: &Value, route: &str, settings: &Map<String, Value>) -> Option<Value> {
    let mut object = vs.clone();
    let mut record = Record::read(vs);
    let routes = object.pointer_mut("/spec/http")?.as_array_mut()?;
    let (index, fields) = routes
        .iter_mut()
        .enumerate()
        .find(|(_, r)| r.get("name").and_then(Value::as_str) == Some(route))?;
    let fields = fields.as_object_mut()?;
    let mut changed = false;
    for (field, value) in settings {
        if fields.contains_key(field) {
            continue;
        }
        record.note(Key::route(Some(route), index, field), None, Some(value));
        fields.insert(field.clone(), value.clone());
        changed = true;
    }
    if !changed {
        return None;
    }
    record.write(&mut object);
    Some(object)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mesh::resilience::RouteSettings;
    use crate::mesh::resilience::routes::{self, Routes};
    use crate::mesh::validate::{DurationField, parse_mesh_duration};

    fn cart() -> Target {
        Target::new("cart", "shop", "cluster.local")
    }

    /// The mesh VirtualService `resilience cart --timeout 2s --retries 3` creates.
    fn mesh_vs() -> Value {
        let skeleton =
            crate::mesh::resilience::build::virtual_service(&cart(), "cart", "v1", &json!({}));
        let timeout = parse_mesh_duration("2s", DurationField::Timeout).unwrap();
        let s =
            RouteSettings { timeout: Some(timeout), attempts: Some(3), ..RouteSettings::default() };
        routes::set(&skeleton, &s, &Routes::default()).unwrap().object
    }

    #[test]
    fn the_settings_resilience_wrote_are_found_and_carried_with_a_record() {
        let settings = recorded(&cart(), &[mesh_vs()]);
        assert_eq!(
            Value::Object(settings.clone()),
            json!({"retries": {"attempts": 3}, "timeout": "2s"})
        );

        let ingress = json!({"metadata": {"name": "cart-ingress", "namespace": "shop"},
            "spec": {"hosts": ["*"], "gateways": ["cart-gateway"], "http": [
                {"name": "cart", "route": [{"destination": {"host": "cart.shop.svc.cluster.local"}}]}]}});
        let carried = carry(&ingress, "cart", &settings).unwrap();
        assert_eq!(carried["spec"]["http"][0]["timeout"], "2s");
        assert_eq!(carried["spec"]["http"][0]["retries"], json!({"attempts": 3}));
        assert!(carry(&carried, "cart", &settings).is_none(), "carried once");

        // resilience --clear on the gateway route takes them back.
        let cleared = routes::clear(&carried, &Routes::of(&carried, &cart(), None)).object;
        assert_eq!(cleared, ingress);
    }

    #[test]
    fn settings_that_differ_between_routes_or_were_changed_since_are_not_carried() {
        let mut changed = mesh_vs();
        changed["spec"]["http"][0]["timeout"] = json!("9s");
        assert_eq!(
            Value::Object(recorded(&cart(), &[changed])),
            json!({"retries": {"attempts": 3}})
        );

        let mut other = mesh_vs();
        other["metadata"]["name"] = json!("cart-2");
        let timeout = parse_mesh_duration("5s", DurationField::Timeout).unwrap();
        let s = RouteSettings { timeout: Some(timeout), ..RouteSettings::default() };
        let other = routes::set(&other, &s, &Routes::default()).unwrap().object;
        assert_eq!(
            Value::Object(recorded(&cart(), &[mesh_vs(), other])),
            json!({"retries": {"attempts": 3}})
        );
        assert!(recorded(&Target::new("web", "shop", "cluster.local"), &[mesh_vs()]).is_empty());
    }
}
