//! Istio PeerAuthentication: the mTLS mode a workload accepts, with
//! port-level overrides keyed by container port.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::ObjectMeta;
use super::selector::WorkloadSelector;

/// A PeerAuthentication.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PeerAuthentication {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PeerAuthenticationSpec,
}

/// `PeerAuthentication.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerAuthenticationSpec {
    /// Workload selector; absent or empty makes the policy namespace-wide
    /// (mesh-wide in the root namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<WorkloadSelector>,
    /// The workload-level mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MutualTls>,
    /// Port-level modes keyed by container port (JSON keys are strings).
    #[serde(default, deserialize_with = "nullable")]
    pub port_level_mtls: BTreeMap<String, MutualTls>,
}

/// An mTLS setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct MutualTls {
    /// The mode; absent means `UNSET`.
    #[serde(default)]
    pub mode: PeerMode,
}

/// `PeerAuthentication.MutualTLS.Mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeerMode {
    /// Inherit from the parent level.
    #[default]
    Unset,
    /// Plaintext only.
    Disable,
    /// Plaintext and mTLS.
    Permissive,
    /// mTLS only.
    Strict,
    /// A value this version does not know; treated as `UNSET`.
    #[serde(other)]
    Unknown,
}

impl PeerMode {
    /// Whether the mode defers to the parent level.
    pub fn is_unset(self) -> bool {
        matches!(self, Self::Unset | Self::Unknown)
    }
}

impl fmt::Display for PeerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unset => "UNSET",
            Self::Disable => "DISABLE",
            Self::Permissive => "PERMISSIVE",
            Self::Strict => "STRICT",
            Self::Unknown => "UNKNOWN",
        })
    }
}

impl PeerAuthentication {
    /// The workload-level mode (`UNSET` when absent).
    pub fn mode(&self) -> PeerMode {
        self.spec.mtls.map(|m| m.mode).unwrap_or_default()
    }

    /// The port-level setting for a container port. Keys that are not port
    /// numbers are ignored.
    pub fn port_mode(&self, port: u16) -> Option<PeerMode> {
        self.spec
            .port_level_mtls
            .iter()
            .find(|(k, _)| k.trim().parse::<u16>() == Ok(port))
            .map(|(_, m)| m.mode)
    }

    /// Port numbers with port-level settings.
    pub fn port_level_ports(&self) -> Vec<u16> {
        self.spec.port_level_mtls.keys().filter_map(|k| k.trim().parse().ok()).collect()
    }
}
