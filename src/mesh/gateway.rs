//! Istio `networking.istio.io` Gateway: which gateway workloads it selects
//! and the servers (ports, hosts, TLS) it opens.

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::{Labels, ObjectMeta};
use super::selector::is_subset;

/// An Istio Gateway.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Gateway {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: GatewaySpec,
}

/// `Gateway.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct GatewaySpec {
    /// Labels of the gateway pods this Gateway configures.
    #[serde(default, deserialize_with = "nullable")]
    pub selector: Labels,
    /// Servers.
    #[serde(default, deserialize_with = "nullable")]
    pub servers: Vec<Server>,
}

/// One Gateway server.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Server {
    /// The port to listen on.
    #[serde(default)]
    pub port: GatewayPort,
    /// Hosts served, optionally `namespace/host`.
    #[serde(default, deserialize_with = "nullable")]
    pub hosts: Vec<String>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServerTls>,
    /// Server name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Bind address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
}

/// A Gateway server port.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPort {
    /// Port number.
    #[serde(default)]
    pub number: u32,
    /// Protocol: `HTTP`, `HTTPS`, `GRPC`, `HTTP2`, `MONGO`, `TCP` or `TLS`.
    #[serde(default, deserialize_with = "nullable")]
    pub protocol: String,
    /// Port name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Target port on the gateway workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u32>,
}

/// Gateway server TLS settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTls {
    /// Redirect HTTP to HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_redirect: Option<bool>,
    /// `PASSTHROUGH`, `SIMPLE`, `MUTUAL`, `AUTO_PASSTHROUGH`, `ISTIO_MUTUAL`
    /// or `OPTIONAL_MUTUAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Secret holding the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_name: Option<String>,
    /// File path of the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_certificate: Option<String>,
    /// File path of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// File path of the CA bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificates: Option<String>,
    /// Minimum TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_protocol_version: Option<String>,
}

impl Gateway {
    /// Whether the Gateway configures a workload with these labels. An empty
    /// selector configures every gateway workload.
    pub fn selects(&self, labels: &Labels) -> bool {
        is_subset(&self.spec.selector, labels)
    }
}
