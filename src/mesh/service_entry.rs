//! Istio ServiceEntry: hosts added to the mesh's registry, with ports,
//! location, resolution and endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::{Labels, ObjectMeta};
use super::selector::LabelsSelector;

/// A ServiceEntry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ServiceEntry {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: ServiceEntrySpec,
}

/// `ServiceEntry.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntrySpec {
    /// Hosts.
    #[serde(default, deserialize_with = "nullable")]
    pub hosts: Vec<String>,
    /// Virtual IPs.
    #[serde(default, deserialize_with = "nullable")]
    pub addresses: Vec<String>,
    /// Ports.
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<ServiceEntryPort>,
    /// `MESH_EXTERNAL` (default) or `MESH_INTERNAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `NONE`, `STATIC`, `DNS` or `DNS_ROUND_ROBIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Endpoints.
    #[serde(default, deserialize_with = "nullable")]
    pub endpoints: Vec<WorkloadEntrySpec>,
    /// Workloads (pods, WorkloadEntries) that back the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<LabelsSelector>,
    /// Namespaces the entry is visible to.
    #[serde(default, deserialize_with = "nullable")]
    pub export_to: Vec<String>,
    /// SANs for the endpoints' certificates.
    #[serde(default, deserialize_with = "nullable")]
    pub subject_alt_names: Vec<String>,
}

/// A ServiceEntry port.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntryPort {
    /// Port number.
    #[serde(default)]
    pub number: u32,
    /// Protocol (`HTTP`, `HTTPS`, `TLS`, `TCP`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Port name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Port on the endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u32>,
}

/// An inline endpoint.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadEntrySpec {
    /// Address.
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
    /// Port name to number.
    #[serde(default, deserialize_with = "nullable")]
    pub ports: BTreeMap<String, u32>,
    /// Labels.
    #[serde(default, deserialize_with = "nullable")]
    pub labels: Labels,
    /// Service account of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

impl ServiceEntry {
    /// Whether the entry is outside the mesh (the default location).
    pub fn is_mesh_external(&self) -> bool {
        self.spec.location.as_deref() != Some("MESH_INTERNAL")
    }

    /// The port with this number.
    pub fn port(&self, number: u16) -> Option<&ServiceEntryPort> {
        self.spec.ports.iter().find(|p| p.number == u32::from(number))
    }
}
