//! The objects `expose` writes and the edits it makes, as pure functions over
//! `serde_json::Value`: Istio Gateway and VirtualService in [`istio`], Gateway API Gateway and
//! HTTPRoute in [`gateway_api`], and the URLs to print in [`urls`].
//!
//! Edits work on objects as the server returned them and touch only the paths they own, so
//! fields this tool does not model survive. Every object created here carries
//! `app.kubernetes.io/managed-by: kubectl-debatemesh`.

pub mod gateway_api;
pub mod istio;
pub mod urls;

use serde_json::{Value, json};

use crate::cluster::ownership::{MANAGED_BY_LABEL, MANAGED_BY_US};

/// The HTTP port every gateway this tool sets up listens on.
pub const HTTP_PORT: u16 = 80;
/// The HTTPS port.
pub const HTTPS_PORT: u16 = 443;

/// How requests are matched on their path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRule {
    /// Paths starting with this.
    Prefix(String),
    /// Exactly this path.
    Exact(String),
}

impl PathRule {
    /// The path or prefix.
    pub fn path(&self) -> &str {
        match self {
            PathRule::Prefix(p) | PathRule::Exact(p) => p,
        }
    }

    /// Whether this is an exact match.
    pub fn is_exact(&self) -> bool {
        matches!(self, PathRule::Exact(_))
    }
}

/// HTTPS for the exposed hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// The Secret holding the certificate and key.
    pub secret: String,
    /// Whether plain HTTP requests are redirected to HTTPS.
    pub redirect: bool,
}

/// The Service a route sends to, and how its name may be written in a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub service: String,
    pub namespace: String,
    /// `SVC.NS.svc.DOMAIN`.
    pub fqdn: String,
}

impl Backend {
    /// The Service `service` in `namespace`, under the cluster DNS domain `domain`.
    pub fn new(service: &str, namespace: &str, domain: &str) -> Self {
        Self {
            service: service.to_string(),
            namespace: namespace.to_string(),
            fqdn: format!("{service}.{namespace}.svc.{}", domain.trim_end_matches('.')),
        }
    }

    /// Whether a destination `host`, written in a route in namespace `route_namespace`, names
    /// this Service: the FQDN, `SVC.NS`, `SVC.NS.svc`, or `SVC` from its own namespace.
    pub fn is_host(&self, host: &str, route_namespace: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let svc = &self.service;
        let ns = &self.namespace;
        host == self.fqdn
            || host == format!("{svc}.{ns}")
            || host == format!("{svc}.{ns}.svc")
            || (host == *svc && route_namespace == ns)
    }
}

/// Everything `expose` wants, checked and resolved against the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub backend: Backend,
    /// The Service port number to send to.
    pub port: u16,
    /// Host names, lower case, without duplicates; `*` for every host.
    pub hosts: Vec<String>,
    pub path: PathRule,
    pub rewrite: Option<String>,
    pub tls: Option<Tls>,
}

impl Exposure {
    /// The name of the route (and route rule) this tool adds: the Service name.
    pub fn route_name(&self) -> &str {
        &self.backend.service
    }

    /// The namespace routes are written in: the Service's.
    pub fn namespace(&self) -> &str {
        &self.backend.namespace
    }

    /// The Gateway this tool creates when none can be reused: `SVC-gateway`.
    pub fn gateway_name(&self) -> String {
        format!("{}-gateway", self.backend.service)
    }
}

/// Whether a gateway host `gateway` (no namespace part) takes requests for the route host
/// `host`: `*` takes everything, `*.example.com` takes names below example.com (and narrower
/// wildcards), anything else only itself. Case does not matter.
pub fn host_covers(gateway: &str, host: &str) -> bool {
    let gateway = gateway.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if gateway == "*" || gateway == host {
        return true;
    }
    match gateway.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => {
            let bare = host.strip_prefix('*').unwrap_or(&host);
            bare.len() > suffix.len() && bare.ends_with(suffix)
        }
        _ => false,
    }
}

/// The metadata of an object this tool creates.
pub fn new_metadata(name: &str, namespace: &str) -> Value {
    json!({
        "name": name,
        "namespace": namespace,
        "labels": {MANAGED_BY_LABEL: MANAGED_BY_US},
    })
}

/// A copy of `object` with the labels this tool sets on its own objects.
pub fn with_our_label(object: &Value) -> Value {
    let mut out = object.clone();
    if !out["metadata"]["labels"].is_object() {
        out["metadata"]["labels"] = json!({});
    }
    out["metadata"]["labels"][MANAGED_BY_LABEL] = json!(MANAGED_BY_US);
    out
}

/// The string at `pointer`, or "".
pub(crate) fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The array at `pointer`, or an empty slice.
pub(crate) fn array<'a>(object: &'a Value, pointer: &str) -> &'a [Value] {
    object.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// The strings of the array at `pointer`.
pub(crate) fn strings(object: &Value, pointer: &str) -> Vec<String> {
    array(object, pointer).iter().filter_map(Value::as_str).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_names_below_them() {
        assert!(host_covers("*", "shop.example.com"));
        assert!(host_covers("*", "*"));
        assert!(host_covers("*.example.com", "shop.example.com"));
        assert!(host_covers("*.example.com", "*.eu.example.com"));
        assert!(host_covers("*.example.com", "*.example.com"));
        assert!(host_covers("Shop.Example.com", "shop.example.com."));
        assert!(!host_covers("*.example.com", "example.com"));
        assert!(!host_covers("*.example.com", "*"));
        assert!(!host_covers("shop.example.com", "*"));
        assert!(!host_covers("shop.example.com", "api.example.com"));
        assert!(!host_covers("*.example.com", "shop.example.org"));
    }

    #[test]
    fn destinations_name_a_service_in_every_short_form() {
        let b = Backend::new("my-service", "default", "cluster.local");
        assert_eq!(b.fqdn, "my-service.default.svc.cluster.local");
        assert!(b.is_host("my-service.default.svc.cluster.local", "shop"));
        assert!(b.is_host("my-service.default", "shop"));
        assert!(b.is_host("my-service.default.svc", "shop"));
        assert!(b.is_host("my-service", "default"));
        assert!(!b.is_host("my-service", "shop"));
        assert!(!b.is_host("other.default.svc.cluster.local", "default"));
        assert_eq!(Backend::new("a", "b", "corp.local.").fqdn, "a.b.svc.corp.local");
    }
}
