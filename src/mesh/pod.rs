//! Pod: labels, sidecar presence, service account and container ports.
//!
//! Live reads fetch Pods as metadata only, so `spec` may be absent. The
//! Snapshot then resolves the service account and ports from the
//! controller's pod template (see `snapshot::resolve`) and records where
//! they came from in [`PodResolved`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::{ANNOTATION_SIDECAR_STATUS, LABEL_GATEWAY_NAME, ObjectMeta};

/// A Pod.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Pod {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec; `None` for metadata-only reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
    /// Status, when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
    /// Account and ports, filled in when the Snapshot is finished.
    #[serde(skip)]
    pub resolved: PodResolved,
}

/// The pod spec fields analysis reads (also used for pod templates).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// `serviceAccountName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Deprecated `serviceAccount`, read when the name is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Containers.
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<Container>,
    /// `hostNetwork`: such pods are never injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
}

impl PodSpec {
    /// The service account the spec names, if any.
    pub fn account(&self) -> Option<&str> {
        self.service_account_name
            .as_deref()
            .or(self.service_account.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// All container ports, in container order.
    pub fn ports(&self) -> Vec<ContainerPort> {
        self.containers.iter().flat_map(|c| c.ports.iter().cloned()).collect()
    }
}

/// A container, reduced to its name and ports.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Container {
    /// Container name (`istio-proxy` for the sidecar).
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Declared ports.
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<ContainerPort>,
}

/// A declared container port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// Port name, which a Service `targetPort` can refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Port number.
    #[serde(default)]
    pub container_port: u16,
    /// Transport protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// The pod status fields analysis reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Pod IP.
    #[serde(default, rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    /// Conditions (`Ready` among them).
    #[serde(default, deserialize_with = "nullable")]
    pub conditions: Vec<PodCondition>,
}

/// One pod condition.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PodCondition {
    /// Condition type.
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
}

/// Where a resolved pod attribute came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub enum Source {
    /// The pod's own spec.
    Spec,
    /// The pod template of the controller named (`Deployment/web`).
    Template(String),
    /// Nothing said: the Kubernetes default was assumed.
    #[default]
    Inferred,
}

/// Service account and container ports as resolved by the Snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodResolved {
    /// The service account; `default` when nothing names one.
    pub service_account: String,
    /// Where the account came from; `Inferred` means it was assumed.
    pub account_source: Source,
    /// Container ports.
    pub ports: Vec<ContainerPort>,
    /// Where the ports came from; `Inferred` means they are unknown.
    pub ports_source: Source,
    /// The top controller, such as `Deployment/web`.
    pub controller: Option<String>,
}

impl Pod {
    /// Whether the pod carries an injected sidecar: true iff the injector's
    /// `sidecar.istio.io/status` annotation is present.
    pub fn has_sidecar(&self) -> bool {
        self.metadata.annotations.contains_key(ANNOTATION_SIDECAR_STATUS)
    }

    /// Whether the pod is an Istio gateway proxy (an ingress or egress
    /// gateway, or a Gateway API deployment): it runs Envoy without a
    /// sidecar annotation.
    pub fn is_gateway(&self) -> bool {
        let runs_proxy = self
            .spec
            .as_ref()
            .is_some_and(|s| s.containers.iter().any(|c| c.name == "istio-proxy"));
        is_gateway_labels(&self.metadata.labels) || (runs_proxy && !self.has_sidecar())
    }

    /// Whether an Envoy proxy runs in the pod (sidecar or gateway).
    pub fn has_proxy(&self) -> bool {
        self.has_sidecar() || self.is_gateway()
    }

    /// The pod IP, when the status carries a valid one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.status.as_ref()?.pod_ip.as_deref()?.parse().ok()
    }

    /// Whether the pod reports `Ready=True`; `None` when no status was read.
    pub fn is_ready(&self) -> Option<bool> {
        let status = self.status.as_ref()?;
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready")?;
        Some(ready.status == "True")
    }

    /// Whether the pod has run to completion (`Succeeded` or `Failed`).
    pub fn is_finished(&self) -> bool {
        let phase = self.status.as_ref().and_then(|s| s.phase.as_deref());
        matches!(phase, Some("Succeeded" | "Failed"))
    }

    /// The resolved service account.
    pub fn service_account(&self) -> &str {
        &self.resolved.service_account
    }
}

/// Whether labels mark an Istio gateway proxy deployment.
pub fn is_gateway_labels(labels: &super::meta::Labels) -> bool {
    matches!(labels.get("istio").map(String::as_str), Some("ingressgateway" | "egressgateway"))
        || labels.contains_key(LABEL_GATEWAY_NAME)
        || labels.contains_key("istio.io/gateway-name")
}
