//! Istio mesh config, read from the `mesh` key of the `istio` ConfigMap in
//! the control plane namespace, with Istio's defaults for what it leaves out.
//!
//! Fields follow istio/api `mesh/v1alpha1/config.proto`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::nullable;
use super::virtual_service::HttpRetry;

/// Default root namespace.
pub const DEFAULT_ROOT_NAMESPACE: &str = "istio-system";
/// Default trust domain.
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";
/// Default `connectTimeout` (istio/istio `pkg/config/mesh/mesh.go`, `DefaultMeshConfig`).
pub const DEFAULT_CONNECT_TIMEOUT: &str = "10s";

/// The mesh config fields analysis reads, defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshConfig {
    /// `rootNamespace`: mesh-wide policies live here.
    pub root_namespace: String,
    /// `trustDomain`.
    pub trust_domain: String,
    /// `trustDomainAliases`.
    pub trust_domain_aliases: Vec<String>,
    /// `enableAutoMtls` (default true).
    pub enable_auto_mtls: bool,
    /// `pathNormalization.normalization`.
    pub path_normalization: PathNormalization,
    /// `extensionProviders`.
    pub extension_providers: Vec<ExtensionProvider>,
    /// `outboundTrafficPolicy.mode` (`ALLOW_ANY` by default).
    pub outbound_traffic_policy: String,
    /// `defaultDestinationRuleExportTo` (empty means `*`).
    pub default_destination_rule_export_to: Vec<String>,
    /// `defaultVirtualServiceExportTo` (empty means `*`).
    pub default_virtual_service_export_to: Vec<String>,
    /// `defaultServiceExportTo` (empty means `*`).
    pub default_service_export_to: Vec<String>,
    /// `defaultHttpRetryPolicy`: the retries of HTTP routes that set none; unset means Istio's
    /// built-in policy (2 retries).
    pub default_http_retry_policy: Option<HttpRetry>,
    /// `connectTimeout`: the TCP connect timeout of clusters whose DestinationRule sets none.
    pub connect_timeout: String,
}

impl Default for MeshConfig {
    fn default() -> Self {
        Self {
            root_namespace: DEFAULT_ROOT_NAMESPACE.to_string(),
            trust_domain: DEFAULT_TRUST_DOMAIN.to_string(),
            trust_domain_aliases: Vec::new(),
            enable_auto_mtls: true,
            path_normalization: PathNormalization::Base,
            extension_providers: Vec::new(),
            outbound_traffic_policy: "ALLOW_ANY".to_string(),
            default_destination_rule_export_to: Vec::new(),
            default_virtual_service_export_to: Vec::new(),
            default_service_export_to: Vec::new(),
            default_http_retry_policy: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT.to_string(),
        }
    }
}

/// How sidecars normalize request paths before authorization and routing
/// (<https://istio.io/latest/docs/reference/config/security/normalization/>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PathNormalization {
    /// No normalization.
    None,
    /// RFC 3986 normalization plus backslash to slash; the default
    /// (`DEFAULT` in mesh config means this).
    Base,
    /// `Base`, then merge repeated slashes.
    MergeSlashes,
    /// Decode `%2F` and `%5C`, then `MergeSlashes`.
    DecodeAndMergeSlashes,
}

impl PathNormalization {
    /// Parses a mesh config value; unknown values mean the default.
    pub fn parse(s: &str) -> Self {
        match s {
            "NONE" => Self::None,
            "MERGE_SLASHES" => Self::MergeSlashes,
            "DECODE_AND_MERGE_SLASHES" => Self::DecodeAndMergeSlashes,
            _ => Self::Base,
        }
    }
}

/// An `extensionProviders` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionProvider {
    /// Provider name, referred to by CUSTOM AuthorizationPolicies.
    pub name: String,
    /// What kind of provider it is.
    pub kind: ProviderKind,
    /// For ext authz providers: `service` as written.
    pub service: Option<String>,
    /// For ext authz providers: `port`.
    pub port: Option<u32>,
}

/// The kind of an extension provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ProviderKind {
    /// `envoyExtAuthzHttp`: checks HTTP requests only.
    ExtAuthzHttp,
    /// `envoyExtAuthzGrpc`: checks HTTP requests and TCP connections.
    ExtAuthzGrpc,
    /// Another provider (tracing, logging), named by its key.
    Other(String),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMesh {
    root_namespace: Option<String>,
    trust_domain: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    trust_domain_aliases: Vec<String>,
    enable_auto_mtls: Option<bool>,
    path_normalization: Option<RawPathNormalization>,
    #[serde(default, deserialize_with = "nullable")]
    extension_providers: Vec<Value>,
    outbound_traffic_policy: Option<RawOutbound>,
    #[serde(default, deserialize_with = "nullable")]
    default_destination_rule_export_to: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    default_virtual_service_export_to: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    default_service_export_to: Vec<String>,
    default_http_retry_policy: Option<HttpRetry>,
    connect_timeout: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawPathNormalization {
    normalization: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawOutbound {
    mode: Option<String>,
}

/// An error reading the `mesh` text of the mesh config ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mesh config: {0}")]
pub struct MeshConfigError(pub String);

impl MeshConfig {
    /// Parses the YAML text of the `mesh` key. Empty text gives the defaults.
    pub fn from_yaml(text: &str) -> Result<Self, MeshConfigError> {
        let raw: Option<RawMesh> = serde_saphyr::from_str(text)
            .map_err(|e| MeshConfigError(e.without_snippet().to_string()))?;
        let raw = raw.unwrap_or_default();
        let mut mesh = MeshConfig::default();
        if let Some(ns) = raw.root_namespace.filter(|s| !s.is_empty()) {
            mesh.root_namespace = ns;
        }
        if let Some(td) = raw.trust_domain.filter(|s| !s.is_empty()) {
            mesh.trust_domain = td;
        }
        mesh.trust_domain_aliases = raw.trust_domain_aliases;
        if let Some(auto) = raw.enable_auto_mtls {
            mesh.enable_auto_mtls = auto;
        }
        if let Some(n) = raw.path_normalization.and_then(|p| p.normalization) {
            mesh.path_normalization = PathNormalization::parse(&n);
        }
        if let Some(mode) = raw.outbound_traffic_policy.and_then(|o| o.mode) {
            mesh.outbound_traffic_policy = mode;
        }
        mesh.extension_providers = raw.extension_providers.iter().filter_map(provider).collect();
        mesh.default_destination_rule_export_to = raw.default_destination_rule_export_to;
        mesh.default_virtual_service_export_to = raw.default_virtual_service_export_to;
        mesh.default_service_export_to = raw.default_service_export_to;
        mesh.default_http_retry_policy = raw.default_http_retry_policy;
        if let Some(timeout) = raw.connect_timeout.filter(|s| !s.is_empty()) {
            mesh.connect_timeout = timeout;
        }
        Ok(mesh)
    }

    /// The provider with this name.
    pub fn provider(&self, name: &str) -> Option<&ExtensionProvider> {
        self.extension_providers.iter().find(|p| p.name == name)
    }

    /// The trust domain followed by its aliases.
    pub fn trust_domains(&self) -> Vec<&str> {
        std::iter::once(self.trust_domain.as_str())
            .chain(self.trust_domain_aliases.iter().map(String::as_str))
            .collect()
    }
}

fn provider(v: &Value) -> Option<ExtensionProvider> {
    let obj = v.as_object()?;
    let name = obj.get("name")?.as_str()?.to_string();
    let (kind, body) = if let Some(b) = obj.get("envoyExtAuthzHttp") {
        (ProviderKind::ExtAuthzHttp, Some(b))
    } else if let Some(b) = obj.get("envoyExtAuthzGrpc") {
        (ProviderKind::ExtAuthzGrpc, Some(b))
    } else {
        let key = obj.keys().find(|k| *k != "name").cloned().unwrap_or_default();
        (ProviderKind::Other(key), None)
    };
    let service = body.and_then(|b| b.get("service")).and_then(Value::as_str).map(str::to_string);
    let port = body.and_then(|b| b.get("port")).and_then(|p| match p {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    Some(ExtensionProvider { name, kind, service, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(MeshConfig::from_yaml("").unwrap(), MeshConfig::default());
        let m = MeshConfig::from_yaml(
            "rootNamespace: istio-config\ntrustDomain: new-td\ntrustDomainAliases: [old-td]\n\
             enableAutoMtls: false\npathNormalization:\n  normalization: MERGE_SLASHES\n\
             extensionProviders:\n- name: authz\n  envoyExtAuthzGrpc:\n    service: a.b.svc.cluster.local\n    port: 9000\n\
             - name: zipkin\n  zipkin:\n    service: z\n",
        )
        .unwrap();
        assert_eq!(m.root_namespace, "istio-config");
        assert_eq!(m.trust_domains(), ["new-td", "old-td"]);
        assert!(!m.enable_auto_mtls);
        assert_eq!(m.path_normalization, PathNormalization::MergeSlashes);
        assert_eq!(m.provider("authz").unwrap().kind, ProviderKind::ExtAuthzGrpc);
        assert_eq!(m.provider("authz").unwrap().port, Some(9000));
        assert_eq!(m.provider("zipkin").unwrap().kind, ProviderKind::Other("zipkin".into()));
        assert!(MeshConfig::from_yaml("rootNamespace: [").is_err());
    }

    #[test]
    fn retry_policy_and_connect_timeout() {
        let m =
            MeshConfig::from_yaml("defaultHttpRetryPolicy:\n  attempts: 0\nconnectTimeout: 3s\n")
                .unwrap();
        assert_eq!(m.default_http_retry_policy.unwrap().attempts, Some(0));
        assert_eq!(m.connect_timeout, "3s");
        let d = MeshConfig::default();
        assert!(d.default_http_retry_policy.is_none());
        assert_eq!(d.connect_timeout, "10s");
    }
}
