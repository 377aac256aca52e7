//! PeerAuthentication objects: a mode for the mesh, a namespace or one workload, with
//! port-level modes (keyed by container port) for a workload.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{metadata, selector, spec_mut};
use crate::mesh::validate::MtlsMode;

/// What a PeerAuthentication says.
#[derive(Debug, Clone, Copy)]
pub struct PeerSpec<'a> {
    /// The workload selector; `None` makes the policy namespace-wide (mesh-wide in the root
    /// namespace).
    pub selector: Option<&'a BTreeMap<String, String>>,
    /// The workload-level mode; `None` leaves `spec.mtls` out (an existing one is kept).
    pub mode: Option<MtlsMode>,
    /// Port-level modes by container port.
    pub ports: &'a [(u16, MtlsMode)],
}

/// A new PeerAuthentication.
pub fn build(api_version: &str, namespace: &str, name: &str, spec: &PeerSpec<'_>) -> Value {
    let mut object = json!({
        "apiVersion": api_version,
        "kind": "PeerAuthentication",
        "metadata": metadata(namespace, name, &[]),
        "spec": {},
    });
    let body = spec_mut(&mut object);
    if let Some(labels) = spec.selector {
        body.insert("selector".into(), selector(labels));
    }
    if let Some(mode) = spec.mode {
        body.insert("mtls".into(), json!({"mode": mode.as_str()}));
    }
    if !spec.ports.is_empty() {
        let ports: serde_json::Map<String, Value> = spec
            .ports
            .iter()
            .map(|(port, mode)| (port.to_string(), json!({"mode": mode.as_str()})))
            .collect();
        body.insert("portLevelMtls".into(), Value::Object(ports));
    }
    object
}

/// An existing PeerAuthentication with the mode and port modes of `spec` set, everything else
/// as it was: `spec.mtls.mode` is replaced when a mode is given, and each given port's entry in
/// `spec.portLevelMtls` is set (other ports stay). `None` when nothing changes. The selector is
/// not touched: callers check it matches first.
pub fn edit(live: &Value, spec: &PeerSpec<'_>) -> Option<Value> {
    let mut next = live.clone();
    let body = spec_mut(&mut next);
    if let Some(mode) = spec.mode {
        let mtls = body.entry("mtls").or_insert_with(|| json!({}));
        if !mtls.is_object() {
            *mtls = json!({});
        }
        mtls["mode"] = json!(mode.as_str());
    }
    if !spec.ports.is_empty() {
        let ports = body.entry("portLevelMtls").or_insert_with(|| json!({}));
        if !ports.is_object() {
            *ports = json!({});
        }
        for (port, mode) in spec.ports {
            let entry = ports
                .as_object_mut()
                .expect("portLevelMtls was just made a map")
                .entry(port.to_string())
                .or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            entry["mode"] = json!(mode.as_str());
        }
    }
    (next != *live).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn namespace_wide_strict_is_the_guide_policy() {
        let spec = PeerSpec { selector: None, mode: Some(MtlsMode::Strict), ports: &[] };
        let pa = build("security.istio.io/v1", "default", "default", &spec);
        assert_eq!(
            pa,
            json!({
                "apiVersion": "security.istio.io/v1",
                "kind": "PeerAuthentication",
                "metadata": {"name": "default", "namespace": "default",
                             "labels": {"app.kubernetes.io/managed-by": "kubectl-debatemesh"}},
                "spec": {"mtls": {"mode": "STRICT"}},
            })
        );
    }

    #[test]
    fn workload_policies_carry_selector_and_port_modes() {
        let sel = labels(&[("app", "web")]);
        let ports = [(9000, MtlsMode::Disable)];
        let spec = PeerSpec { selector: Some(&sel), mode: None, ports: &ports };
        let pa = build("security.istio.io/v1beta1", "shop", "web", &spec);
        assert_eq!(pa["spec"]["selector"], json!({"matchLabels": {"app": "web"}}));
        assert_eq!(pa["spec"]["portLevelMtls"], json!({"9000": {"mode": "DISABLE"}}));
        assert!(pa["spec"].get("mtls").is_none());
        assert_eq!(pa["apiVersion"], "security.istio.io/v1beta1");
    }

    #[test]
    fn edits_keep_other_ports_and_unknown_fields() {
        let live = json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "mtls": {"mode": "PERMISSIVE"},
                     "portLevelMtls": {"8080": {"mode": "DISABLE"}}, "future": 1},
        });
        let ports = [(9000, MtlsMode::Strict)];
        let spec = PeerSpec { selector: None, mode: Some(MtlsMode::Strict), ports: &ports };
        let next = edit(&live, &spec).unwrap();
        assert_eq!(next["spec"]["mtls"]["mode"], "STRICT");
        assert_eq!(next["spec"]["portLevelMtls"]["8080"]["mode"], "DISABLE");
        assert_eq!(next["spec"]["portLevelMtls"]["9000"]["mode"], "STRICT");
        assert_eq!(next["spec"]["future"], 1);
        assert!(edit(&next, &spec).is_none(), "a second edit changes nothing");
    }
}
