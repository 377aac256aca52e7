//! Istio Sidecar resource (minimal): which workloads it selects and the
//! egress hosts it makes visible.

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::ObjectMeta;
use super::selector::LabelsSelector;

/// A Sidecar.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Sidecar {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: SidecarSpec,
}

/// `Sidecar.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarSpec {
    /// Workloads the Sidecar applies to; absent means the whole namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<LabelsSelector>,
    /// Egress listeners.
    #[serde(default, deserialize_with = "nullable")]
    pub egress: Vec<EgressListener>,
    /// Outbound traffic policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_traffic_policy: Option<OutboundPolicy>,
}

/// An egress listener.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct EgressListener {
    /// Visible hosts as `namespace/dnsName`.
    #[serde(default, deserialize_with = "nullable")]
    pub hosts: Vec<String>,
}

/// `outboundTrafficPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct OutboundPolicy {
    /// `REGISTRY_ONLY` or `ALLOW_ANY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}
