//! The security policies `mtls`, `allow` and `deny` write: PeerAuthentication and
//! AuthorizationPolicy objects built as JSON ready to apply, and the in-place edits that change
//! an existing policy without dropping what it already says.
//!
//! Every object built here carries `app.kubernetes.io/managed-by: kubectl-debatemesh`. Edits of
//! existing objects change only the paths named in their doc and leave every other field, known
//! or not, as the server returned it.

pub mod authorization_policy;
pub mod peer_authentication;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::cluster::ownership::{MANAGED_BY_LABEL, MANAGED_BY_US};

/// `metadata` of an object this tool creates.
fn metadata(namespace: &str, name: &str, annotations: &[(&str, &str)]) -> Value {
    let mut meta = json!({
        "name": name,
        "namespace": namespace,
        "labels": {MANAGED_BY_LABEL: MANAGED_BY_US},
    });
    if !annotations.is_empty() {
        let map: Map<String, Value> =
            annotations.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        meta["annotations"] = Value::Object(map);
    }
    meta
}

/// `selector: {matchLabels: ...}`.
fn selector(labels: &BTreeMap<String, String>) -> Value {
    json!({"matchLabels": labels})
}

/// The `matchLabels` of an object's `spec.selector`, empty when it has none.
pub fn match_labels(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// The object's `spec` as a mutable map, created when absent or not a map.
fn spec_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("spec").is_some_and(Value::is_object) {
        object["spec"] = json!({});
    }
    object["spec"].as_object_mut().expect("spec was just made a map")
}
