//! Istio DestinationRule: host, subsets and traffic policy (connection pool,
//! outlier detection, client TLS) with port-level and subset overrides.

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::{Labels, ObjectMeta};
use super::selector::WorkloadSelector;
use super::virtual_service::PortSelector;

/// A DestinationRule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct DestinationRule {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: DestinationRuleSpec,
}

/// `DestinationRule.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRuleSpec {
    /// Destination host (short names resolve in the rule's namespace).
    #[serde(default, deserialize_with = "nullable")]
    pub host: String,
    /// Top-level traffic policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_policy: Option<TrafficPolicy>,
    /// Named subsets.
    #[serde(default, deserialize_with = "nullable")]
    pub subsets: Vec<Subset>,
    /// Namespaces the rule is visible to.
    #[serde(default, deserialize_with = "nullable")]
    pub export_to: Vec<String>,
    /// Client workloads the rule applies to (same namespace only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<WorkloadSelector>,
}

/// A subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subset {
    /// Subset name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Endpoint labels that form the subset.
    #[serde(default, deserialize_with = "nullable")]
    pub labels: Labels,
    /// Subset traffic policy, overriding the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_policy: Option<TrafficPolicy>,
}

/// A traffic policy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    /// Connection pool limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<ConnectionPool>,
    /// Outlier detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetection>,
    /// Client TLS towards the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
    /// Per-port overrides (keyed by Service port).
    #[serde(default, deserialize_with = "nullable")]
    pub port_level_settings: Vec<PortTrafficPolicy>,
}

/// A port-level traffic policy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortTrafficPolicy {
    /// The Service port this applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
    /// Connection pool limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<ConnectionPool>,
    /// Outlier detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetection>,
    /// Client TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
}

/// Connection pool settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ConnectionPool {
    /// TCP limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpPool>,
    /// HTTP limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpPool>,
}

/// TCP connection pool limits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpPool {
    /// Maximum connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<i64>,
    /// Connect timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
}

/// HTTP connection pool limits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpPool {
    /// Maximum pending HTTP/1.1 requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http1_max_pending_requests: Option<i64>,
    /// Maximum active HTTP/2 requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_max_requests: Option<i64>,
    /// Maximum requests per connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_connection: Option<i64>,
    /// Maximum outstanding retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i64>,
    /// Idle timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
}

/// Outlier detection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutlierDetection {
    /// Consecutive 5xx errors before ejection.
    #[serde(default, rename = "consecutive5xxErrors", skip_serializing_if = "Option::is_none")]
    pub consecutive_5xx_errors: Option<i64>,
    /// Consecutive gateway errors before ejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_gateway_errors: Option<i64>,
    /// Deprecated consecutive errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_errors: Option<i64>,
    /// Analysis interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Base ejection time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    /// Maximum percentage of hosts ejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<i64>,
    /// Minimum healthy percentage for ejection to happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_health_percent: Option<i64>,
}

/// Client TLS settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTls {
    /// TLS mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<TlsMode>,
    /// Client certificate file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// Client key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// CA bundle file used to verify the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificates: Option<String>,
    /// Secret with client certificate and/or CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_name: Option<String>,
    /// SANs to verify.
    #[serde(default, deserialize_with = "nullable")]
    pub subject_alt_names: Vec<String>,
    /// SNI to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Skip server verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// `ClientTLSSettings.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TlsMode {
    /// Plaintext.
    Disable,
    /// TLS, server verified.
    Simple,
    /// Mutual TLS with the given certificates.
    Mutual,
    /// Istio mutual TLS with the workload certificate.
    IstioMutual,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

impl TlsMode {
    /// Istio's name for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "DISABLE",
            Self::Simple => "SIMPLE",
            Self::Mutual => "MUTUAL",
            Self::IstioMutual => "ISTIO_MUTUAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl TrafficPolicy {
    /// The policy for a Service port: port-level settings override the top
    /// level field by field (Istio `MergeTrafficPolicy`).
    pub fn for_port(&self, port: u16) -> TrafficPolicy {
        let mut out = TrafficPolicy {
            connection_pool: self.connection_pool.clone(),
            outlier_detection: self.outlier_detection.clone(),
            tls: self.tls.clone(),
            port_level_settings: Vec::new(),
        };
        if let Some(p) = self
            .port_level_settings
            .iter()
            .find(|p| p.port.is_some_and(|s| s.number == u32::from(port)))
        {
            if p.connection_pool.is_some() {
                out.connection_pool = p.connection_pool.clone();
            }
            if p.outlier_detection.is_some() {
                out.outlier_detection = p.outlier_detection.clone();
            }
            if p.tls.is_some() {
                out.tls = p.tls.clone();
            }
        }
        out
    }
}

impl DestinationRule {
    /// The effective traffic policy for a Service port and optional subset:
    /// subset port-level, then subset, then top-level port-level, then top
    /// level (Istio `MergeTrafficPolicy`).
    pub fn effective_policy(&self, port: u16, subset: Option<&str>) -> TrafficPolicy {
        let top = self.spec.traffic_policy.as_ref().map(|t| t.for_port(port)).unwrap_or_default();
        let Some(sub) = subset
            .and_then(|name| self.spec.subsets.iter().find(|s| s.name == name))
            .and_then(|s| s.traffic_policy.as_ref())
        else {
            return top;
        };
        let sub = sub.for_port(port);
        TrafficPolicy {
            connection_pool: sub.connection_pool.or(top.connection_pool),
            outlier_detection: sub.outlier_detection.or(top.outlier_detection),
            tls: sub.tls.or(top.tls),
            port_level_settings: Vec::new(),
        }
    }

    /// The subset with this name.
    pub fn subset(&self, name: &str) -> Option<&Subset> {
        self.spec.subsets.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_and_port_precedence() {
        let dr: DestinationRule = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {
                "host": "r",
                "trafficPolicy": {
                    "tls": {"mode": "ISTIO_MUTUAL"},
                    "portLevelSettings": [{"port": {"number": 9000}, "tls": {"mode": "DISABLE"}}]
                },
                "subsets": [
                    {"name": "v1", "labels": {"version": "v1"}},
                    {"name": "v2", "labels": {"version": "v2"},
                     "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}
                ]
            }
        }))
        .unwrap();
        let mode = |port, subset| dr.effective_policy(port, subset).tls.and_then(|t| t.mode);
        assert_eq!(mode(8000, None), Some(TlsMode::IstioMutual));
        assert_eq!(mode(9000, None), Some(TlsMode::Disable));
        assert_eq!(mode(9000, Some("v1")), Some(TlsMode::Disable));
        assert_eq!(mode(9000, Some("v2")), Some(TlsMode::Simple));
        let odd: ClientTls = serde_json::from_value(serde_json::json!({"mode": "FANCY"})).unwrap();
        assert_eq!(odd.mode, Some(TlsMode::Unknown));
    }
}
