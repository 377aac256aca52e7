//! The gateway workload behind a Gateway: its running pods, the Service in front of them, the
//! ports that Service exposes and how they are reached from outside, and the TLS Secret the
//! gateway reads.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::Notes;
use crate::{
    cluster::{Cluster, ListOptions, Scope, kinds},
    error::UsageError,
    mesh::expose::urls::Reach,
};

/// The namespace Istio installs its ingress gateway in by default.
pub const DEFAULT_GATEWAY_NAMESPACE: &str = "istio-system";

/// The fields of a pod that tell where the gateway runs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub status: PodStatus,
}

impl Pod {
    /// The pod as an API object, with the fields read.
    pub fn to_value(&self) -> Value {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": self.metadata.name, "namespace": self.metadata.namespace,
            "labels": self.metadata.labels}, "status": {"phase": self.status.phase}})
    }
}

/// Name, namespace and labels.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
}

/// A pod's phase and node address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default)]
    pub phase: String,
    #[serde(default, rename = "hostIP")]
    pub host_ip: Option<String>,
}

/// The fields of a Service that say how it is reached.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Service {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: ServiceSpec,
    #[serde(default)]
    pub status: Value,
}

/// Type, selector and ports.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceSpec {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    #[serde(default)]
    pub ports: Vec<ServicePort>,
}

/// One Service port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub node_port: Option<u16>,
}

impl Service {
    fn is_load_balancer(&self) -> bool {
        self.spec.kind.as_deref() == Some("LoadBalancer")
    }

    /// The first load-balancer IP or host name, once the cloud has assigned one.
    fn load_balancer_address(&self) -> Option<String> {
        let ingress = self.status.pointer("/loadBalancer/ingress")?.as_array()?;
        ingress.iter().find_map(|i| {
            ["ip", "hostname"].iter().find_map(|k| i.get(*k)?.as_str()).map(str::to_string)
        })
    }

    /// Whether the Service exposes `port`.
    pub fn exposes(&self, port: u16) -> bool {
        self.spec.ports.iter().any(|p| p.port == port)
    }

    /// `namespace/name`.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }

    /// How `port` of this Service is reached from outside: the load-balancer address, else a
    /// node port on the node of `node` (a gateway pod's host), else a port-forward.
    pub fn reach(&self, port: u16, node: Option<&str>) -> Option<Reach> {
        let sp = self.spec.ports.iter().find(|p| p.port == port)?;
        if self.is_load_balancer()
            && let Some(host) = self.load_balancer_address()
        {
            return Some(Reach::Address { host, port });
        }
        if let Some(node_port) = sp.node_port.filter(|p| *p != 0) {
            return Some(Reach::NodePort { node: node.map(str::to_string), port: node_port });
        }
        Some(Reach::PortForward {
            namespace: self.metadata.namespace.clone(),
            service: self.metadata.name.clone(),
            port,
        })
    }
}

/// Where a gateway's pods run and the Service in front of them.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// The namespace of the gateway pods (or of a Service selecting them).
    pub namespace: Option<String>,
    pub running: Vec<Pod>,
    pub service: Option<Service>,
}

impl Workload {
    /// The namespace the gateway reads TLS Secrets from.
    pub fn secret_namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(DEFAULT_GATEWAY_NAMESPACE)
    }

    /// A node address of a running gateway pod.
    pub fn node(&self) -> Option<&str> {
        self.running.iter().find_map(|p| p.status.host_ip.as_deref())
    }
}

/// `k=v,k2=v2` for a label map.
pub fn selector_string(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

fn is_subset(small: &BTreeMap<String, String>, big: &BTreeMap<String, String>) -> bool {
    small.iter().all(|(k, v)| big.get(k) == Some(v))
}

/// Finds the pods `selector` picks in any namespace (one list), then the Service that selects
/// them (one list in their namespace). With no pods, a Service whose selector includes
/// `selector` stands in. Read failures become warnings: these are checks, not requirements.
pub async fn find_workload(
    cluster: &Cluster,
    selector: &BTreeMap<String, String>,
    notes: &mut Notes,
) -> Workload {
    let mut workload = Workload::default();
    let selector_text = selector_string(selector);
    if selector.is_empty() {
        notes.warn(
            "the gateway selects no labels, so it applies to every workload; give it a selector",
        );
        return workload;
    }
    let pods_resource = crate::cluster::Resource { kind: &kinds::POD, version: "v1" };
    let options = ListOptions { label_selector: Some(selector_text.clone()), ..Default::default() };
    let (pods, listed): (Vec<Pod>, bool) = match cluster
        .list(&pods_resource, Scope::All, &options)
        .await
    {
        Ok(pods) => (pods, true),
        Err(e) => {
            notes
                .warn(&format!("cannot check the gateway pods ({selector_text}): {}", e.failure()));
            (Vec::new(), false)
        }
    };
    workload.running = pods
        .iter()
        .filter(|p| p.status.phase == "Running" && p.metadata.deletion_timestamp.is_none())
        .cloned()
        .collect();
    if listed && workload.running.is_empty() {
        notes.warn(&format!(
            "no running pods match the gateway selector {selector_text}; the gateway serves no \
             traffic until an ingress gateway runs (check: kubectl get pods -A -l {selector_text})"
        ));
    }
    workload.namespace =
        workload.running.first().or(pods.first()).map(|p| p.metadata.namespace.clone());

    // The Service whose selector picks a gateway pod; without pods, one that includes ours.
    let services_resource = crate::cluster::Resource { kind: &kinds::SERVICE, version: "v1" };
    let scope = match &workload.namespace {
        Some(ns) => Scope::Namespace(ns),
        None => Scope::All,
    };
    let services: Vec<Service> =
        match cluster.list(&services_resource, scope, &ListOptions::default()).await {
            Ok(s) => s,
            Err(e) => {
                notes.warn(&format!("cannot read the gateway Service: {}", e.failure()));
                return workload;
            }
        };
    let labels: Vec<&BTreeMap<String, String>> =
        workload.running.iter().chain(pods.iter()).map(|p| &p.metadata.labels).collect();
    let mut matching: Vec<Service> = services
        .into_iter()
        .filter(|s| !s.spec.selector.is_empty())
        .filter(|s| {
            if labels.is_empty() {
                is_subset(selector, &s.spec.selector)
            } else {
                labels.iter().any(|l| is_subset(&s.spec.selector, l))
            }
        })
        .collect();
    matching.sort_by_key(|s| (!s.is_load_balancer(), s.qualified()));
    workload.service = matching.into_iter().next();
    match &workload.service {
        Some(s) if workload.namespace.is_none() => {
            workload.namespace = Some(s.metadata.namespace.clone());
        }
        Some(_) => {}
        None => notes.warn(&format!(
            "no Service selects the gateway pods ({selector_text}), so nothing outside the \
             cluster reaches them"
        )),
    }
    workload
}

/// Warns for each gateway port the gateway Service does not expose.
pub fn check_ports(workload: &Workload, ports: &[u16], notes: &mut Notes) {
    let Some(service) = &workload.service else { return };
    for port in ports.iter().filter(|p| !service.exposes(**p)) {
        let exposed: Vec<String> = service.spec.ports.iter().map(|p| p.port.to_string()).collect();
        notes.warn(&format!(
            "the gateway Service {} does not expose port {port} (it exposes {}); add the port to \
             it, or nothing outside the cluster reaches the gateway there",
            service.qualified(),
            if exposed.is_empty() { "none".to_string() } else { exposed.join(", ") }
        ));
    }
}

/// Secret data keys, read without keeping their values.
#[derive(Deserialize)]
struct SecretKeys {
    #[serde(default)]
    data: BTreeMap<String, serde::de::IgnoredAny>,
}

/// Checks that the TLS Secret exists in `namespace` with a certificate and key under the
/// names Istio reads (`tls.crt` and `tls.key`, or `cert` and `key`). Only the key names are
/// looked at; values are never printed.
pub async fn check_tls_secret(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> anyhow::Result<()> {
    let resource = cluster.resource(&kinds::SECRET).await?;
    let Some(secret) = cluster.get(&resource, Some(namespace), name).await? else {
        return Err(UsageError::new(format!(
            "invalid value {name:?} for --tls-secret: secret {namespace}/{name} not found; the \
             gateway reads TLS Secrets from its own namespace {namespace}; nothing was written"
        ))
        .with_hint(format!(
            "create it with: kubectl create secret tls {name} -n {namespace} --cert=CERT_FILE \
             --key=KEY_FILE"
        ))
        .into());
    };
    let keys: SecretKeys =
        serde_json::from_value(secret).unwrap_or(SecretKeys { data: BTreeMap::new() });
    let has = |k: &str| keys.data.contains_key(k);
    if (has("tls.crt") && has("tls.key")) || (has("cert") && has("key")) {
        return Ok(());
    }
    let present: Vec<&str> = keys.data.keys().map(String::as_str).collect();
    Err(UsageError::new(format!(
        "invalid value {name:?} for --tls-secret: secret {namespace}/{name} has {}; the gateway \
         needs tls.crt and tls.key (or cert and key); nothing was written",
        if present.is_empty() {
            "no data".to_string()
        } else {
            format!("keys {}", present.join(", "))
        }
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn service(value: Value) -> Service {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_load_balancer_address_wins_then_node_ports_then_port_forward() {
        let lb = service(json!({"metadata": {"name": "gw", "namespace": "istio-system"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 31380}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.net"}]}}}));
        assert_eq!(
            lb.reach(80, None),
            Some(Reach::Address { host: "lb.example.net".into(), port: 80 })
        );
        assert_eq!(lb.reach(443, None), None);
        let pending = service(json!({"metadata": {"name": "gw"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 31380}]}}));
        assert_eq!(
            pending.reach(80, Some("10.0.0.7")),
            Some(Reach::NodePort { node: Some("10.0.0.7".into()), port: 31380 })
        );
        let internal = service(json!({"metadata": {"name": "gw", "namespace": "gw"},
            "spec": {"ports": [{"port": 80}]}}));
        assert!(matches!(internal.reach(80, None), Some(Reach::PortForward { port: 80, .. })));
    }

    #[test]
    fn selectors_render_as_kubectl_takes_them() {
        let labels = BTreeMap::from([
            ("app".to_string(), "gw".to_string()),
            ("istio".to_string(), "ingressgateway".to_string()),
        ]);
        assert_eq!(selector_string(&labels), "app=gw,istio=ingressgateway");
        let small = BTreeMap::from([("istio".to_string(), "ingressgateway".to_string())]);
        assert!(is_subset(&small, &labels) && !is_subset(&labels, &small));
    }
}
