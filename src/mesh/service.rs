//! Kubernetes Service: selector, ports with their Istio protocol, type and
//! addresses.

use serde::{Deserialize, Serialize};

use super::de::{IntOrString, nullable};
use super::meta::{Labels, ObjectMeta};
use super::protocol::{PortProtocol, port_protocol};

/// A Service.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Service {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: ServiceSpec,
    /// Status (load balancer ingress).
    #[serde(default, deserialize_with = "nullable")]
    pub status: ServiceStatus,
}

/// `Service.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Pod selector; a Service without one selects no pods.
    #[serde(default, deserialize_with = "nullable")]
    pub selector: Labels,
    /// Ports.
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<ServicePort>,
    /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// `clusterIP` (`None` for headless Services).
    #[serde(default, rename = "clusterIP", skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    /// `externalName` for `ExternalName` Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
}

/// One Service port.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// Port name; its prefix can select the protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Service port number.
    #[serde(default)]
    pub port: u16,
    /// Target port: a number or a container port name; absent means `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    /// Transport protocol (`TCP`, `UDP`, `SCTP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Application protocol, which wins over the name prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// Node port for `NodePort` and `LoadBalancer` Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<u16>,
}

impl ServicePort {
    /// The protocol Istio assigns to the port.
    pub fn istio_protocol(&self) -> PortProtocol {
        port_protocol(self.name.as_deref(), self.protocol.as_deref(), self.app_protocol.as_deref())
    }

    /// The port name, or an empty string.
    pub fn name_or_empty(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// `Service.status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Load balancer status.
    #[serde(default, deserialize_with = "nullable")]
    pub load_balancer: LoadBalancerStatus,
}

/// `status.loadBalancer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct LoadBalancerStatus {
    /// Ingress points.
    #[serde(default, deserialize_with = "nullable")]
    pub ingress: Vec<LoadBalancerIngress>,
}

/// One load balancer ingress point.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct LoadBalancerIngress {
    /// IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

impl Service {
    /// The port with this number.
    pub fn port(&self, number: u16) -> Option<&ServicePort> {
        self.spec.ports.iter().find(|p| p.port == number)
    }

    /// Whether the Service has a pod selector.
    pub fn has_selector(&self) -> bool {
        !self.spec.selector.is_empty()
    }
}
