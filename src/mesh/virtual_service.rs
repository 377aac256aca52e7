//! Istio VirtualService: hosts, gateways and the HTTP, TCP and TLS routes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::{Labels, ObjectMeta};

/// The gateway name that stands for the sidecars of the mesh.
pub const MESH_GATEWAY: &str = "mesh";

/// A VirtualService.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct VirtualService {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: VirtualServiceSpec,
}

/// `VirtualService.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceSpec {
    /// Hosts the routes apply to.
    #[serde(default, deserialize_with = "nullable")]
    pub hosts: Vec<String>,
    /// Gateways (`namespace/name`, `name`, or `mesh`); empty means `mesh`.
    #[serde(default, deserialize_with = "nullable")]
    pub gateways: Vec<String>,
    /// HTTP routes, first match wins.
    #[serde(default, deserialize_with = "nullable")]
    pub http: Vec<HttpRoute>,
    /// TCP routes.
    #[serde(default, deserialize_with = "nullable")]
    pub tcp: Vec<TcpRoute>,
    /// TLS (SNI) routes.
    #[serde(default, deserialize_with = "nullable")]
    pub tls: Vec<TlsRoute>,
    /// Namespaces the VirtualService is visible to.
    #[serde(default, deserialize_with = "nullable")]
    pub export_to: Vec<String>,
}

impl VirtualServiceSpec {
    /// The gateways, with the implied `mesh` when none is listed.
    pub fn effective_gateways(&self) -> Vec<&str> {
        if self.gateways.is_empty() {
            vec![MESH_GATEWAY]
        } else {
            self.gateways.iter().map(String::as_str).collect()
        }
    }
}

/// An Istio `StringMatch`: exactly one of exact, prefix or regex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct StringMatch {
    /// Exact value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// Prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// RE2 regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// One HTTP route.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// Route name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Match conditions, ORed; empty matches everything.
    #[serde(default, rename = "match", deserialize_with = "nullable")]
    pub matches: Vec<HttpMatchRequest>,
    /// Destinations with weights.
    #[serde(default, deserialize_with = "nullable")]
    pub route: Vec<HttpRouteDestination>,
    /// Redirect instead of routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<HttpRedirect>,
    /// Rewrite before routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<HttpRewrite>,
    /// Request timeout, such as `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retry policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<HttpRetry>,
    /// Fault injection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<HttpFault>,
    /// Mirror destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Destination>,
    /// Mirror percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_percentage: Option<Percent>,
}

/// One HTTP match condition; its fields are ANDed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpMatchRequest {
    /// Name of the match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URI match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<StringMatch>,
    /// Scheme match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<StringMatch>,
    /// Method match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<StringMatch>,
    /// Authority match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<StringMatch>,
    /// Header matches.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: BTreeMap<String, StringMatch>,
    /// Query parameter matches.
    #[serde(default, deserialize_with = "nullable")]
    pub query_params: BTreeMap<String, StringMatch>,
    /// Headers that must be absent.
    #[serde(default, deserialize_with = "nullable")]
    pub without_headers: BTreeMap<String, StringMatch>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Source workload labels.
    #[serde(default, deserialize_with = "nullable")]
    pub source_labels: Labels,
    /// Gateways the match applies to.
    #[serde(default, deserialize_with = "nullable")]
    pub gateways: Vec<String>,
    /// Source namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    /// Case-insensitive URI matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_uri_case: Option<bool>,
}

/// A route destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Destination {
    /// Destination host (short names resolve in the VirtualService namespace).
    #[serde(default, deserialize_with = "nullable")]
    pub host: String,
    /// DestinationRule subset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
}

/// A port chosen by number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PortSelector {
    /// Port number.
    #[serde(default)]
    pub number: u32,
}

/// An HTTP destination with its weight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct HttpRouteDestination {
    /// Destination.
    #[serde(default)]
    pub destination: Destination,
    /// Weight (percent of traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// HTTP redirect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRedirect {
    /// New path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// New authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// New scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// New port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Status code (301 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_code: Option<u32>,
}

/// HTTP rewrite.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct HttpRewrite {
    /// New path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// New authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

/// Retry policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRetry {
    /// Number of retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    /// Timeout per try, such as `2s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    /// Conditions, comma separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<String>,
    /// Retry on other hosts' failures too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_remote_localities: Option<bool>,
}

/// A percentage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
pub struct Percent {
    /// Value in `[0, 100]`.
    #[serde(default)]
    pub value: f64,
}

/// Fault injection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct HttpFault {
    /// Delay injection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<FaultDelay>,
    /// Abort injection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<FaultAbort>,
}

/// Injected delay.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultDelay {
    /// Fixed delay, such as `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_delay: Option<String>,
    /// Share of requests delayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Percent>,
}

/// Injected abort.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultAbort {
    /// HTTP status returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i32>,
    /// Share of requests aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Percent>,
}

/// A TCP route.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TcpRoute {
    /// Match conditions.
    #[serde(default, rename = "match", deserialize_with = "nullable")]
    pub matches: Vec<L4Match>,
    /// Destinations.
    #[serde(default, deserialize_with = "nullable")]
    pub route: Vec<HttpRouteDestination>,
}

/// A TLS route, matched by SNI.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TlsRoute {
    /// Match conditions.
    #[serde(default, rename = "match", deserialize_with = "nullable")]
    pub matches: Vec<TlsMatch>,
    /// Destinations.
    #[serde(default, deserialize_with = "nullable")]
    pub route: Vec<HttpRouteDestination>,
}

/// L4 match attributes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct L4Match {
    /// Destination subnets.
    #[serde(default, deserialize_with = "nullable")]
    pub destination_subnets: Vec<String>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Source labels.
    #[serde(default, deserialize_with = "nullable")]
    pub source_labels: Labels,
    /// Gateways.
    #[serde(default, deserialize_with = "nullable")]
    pub gateways: Vec<String>,
    /// Source namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
}

/// TLS match attributes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsMatch {
    /// SNI hosts.
    #[serde(default, deserialize_with = "nullable")]
    pub sni_hosts: Vec<String>,
    /// Destination subnets.
    #[serde(default, deserialize_with = "nullable")]
    pub destination_subnets: Vec<String>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Source labels.
    #[serde(default, deserialize_with = "nullable")]
    pub source_labels: Labels,
    /// Gateways.
    #[serde(default, deserialize_with = "nullable")]
    pub gateways: Vec<String>,
    /// Source namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
}
