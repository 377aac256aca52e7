//! The fields of Services, Endpoints, Pods and ConfigMaps that `dashboard` reads.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;

/// `metadata`, as far as it is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub creation_timestamp: Option<String>,
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
}

/// A Service: its selector and ports.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Service {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceSpec {
    #[serde(default)]
    pub selector: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    #[serde(default)]
    pub name: Option<String>,
    pub port: i32,
    #[serde(default)]
    pub target_port: Option<IntOrString>,
}

/// Endpoints: the ready and not-ready pods behind a Service without a selector.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Endpoints {
    #[serde(default)]
    pub subsets: Vec<EndpointSubset>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EndpointSubset {
    #[serde(default)]
    pub addresses: Vec<EndpointAddress>,
    #[serde(default)]
    pub ports: Vec<EndpointPort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointAddress {
    #[serde(default)]
    pub target_ref: Option<ObjectRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ObjectRef {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EndpointPort {
    #[serde(default)]
    pub name: Option<String>,
    pub port: i32,
}

/// A Pod: where it runs, its containers, and whether it is ready.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default)]
    pub status: PodStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Container {
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvVar {
    pub name: String,
    /// `None` when the value comes from elsewhere (`valueFrom`).
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(default)]
    pub name: Option<String>,
    pub container_port: i32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(default)]
    pub config_map: Option<ConfigMapVolume>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigMapVolume {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub conditions: Vec<PodCondition>,
    #[serde(default)]
    pub container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodCondition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(default)]
    pub restart_count: i32,
}

/// A ConfigMap's string data.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigMap {
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

impl Pod {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }

    /// Running, not being deleted, and its `Ready` condition true: what puts a pod behind its
    /// Service.
    pub fn is_ready(&self) -> bool {
        self.metadata.deletion_timestamp.is_none()
            && self.status.phase.as_deref() == Some("Running")
            && self.status.conditions.iter().any(|c| c.kind == "Ready" && c.status == "True")
    }

    /// Why the pod is not ready, in a few words: `Pending`, `Running, not ready`, `terminating`.
    pub fn state(&self) -> String {
        if self.metadata.deletion_timestamp.is_some() {
            return "terminating".into();
        }
        let phase = self.status.phase.as_deref().unwrap_or("Unknown");
        if self.is_ready() {
            "ready".into()
        } else if phase == "Running" {
            "Running, not ready".into()
        } else {
            phase.to_string()
        }
    }

    /// Container restarts, summed.
    pub fn restarts(&self) -> i64 {
        self.status.container_statuses.iter().map(|c| i64::from(c.restart_count)).sum()
    }

    /// The number of a named container port.
    pub fn named_port(&self, name: &str) -> Option<u16> {
        self.spec
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok())
    }

    /// The container serving `port`, else the first one.
    pub fn container_for(&self, port: u16) -> Option<&Container> {
        let serves = |c: &&Container| c.ports.iter().any(|p| p.container_port == i32::from(port));
        self.spec.containers.iter().find(serves).or_else(|| self.spec.containers.first())
    }

    /// The ConfigMap mounted from the volume called `volume`.
    pub fn config_map_volume(&self, volume: &str) -> Option<&str> {
        self.spec
            .volumes
            .iter()
            .find(|v| v.name == volume)
            .and_then(|v| v.config_map.as_ref())
            .map(|c| c.name.as_str())
            .filter(|n| !n.is_empty())
    }
}

impl Container {
    /// A literal environment variable.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.iter().find(|e| e.name == name).and_then(|e| e.value.as_deref())
    }

    /// The value of a `--flag=value` or `--flag value` in the command or arguments; Go flags
    /// also accept a single dash.
    pub fn flag(&self, flag: &str) -> Option<&str> {
        let words: Vec<&str> = self.command.iter().chain(&self.args).map(String::as_str).collect();
        let bare = flag.trim_start_matches('-');
        let names = [format!("--{bare}"), format!("-{bare}")];
        words.iter().enumerate().find_map(|(i, word)| {
            names.iter().find_map(|name| match word.strip_prefix(name.as_str()) {
                Some(rest) if rest.starts_with('=') => Some(&rest[1..]),
                Some("") => words.get(i + 1).copied(),
                _ => None,
            })
        })
    }
}
