//! The service registry as a client sees it: Kubernetes Services (`name.ns.svc.<domain>`)
//! and ServiceEntry hosts, exact or wildcard, each visible only to the namespaces its
//! `exportTo` (or the Service's `networking.istio.io/exportTo` annotation, or the mesh
//! `defaultServiceExportTo`) allows.
//!
//! Follows istio/istio `pkg/config/analysis/analyzers/util/service_lookup.go`
//! (`InitServiceEntryHostMap`, `GetDestinationHost`): exact hosts first, then the wildcard
//! ServiceEntry hosts that cover the name. ServiceEntry hosts without a dot resolve in the
//! entry's namespace, as istiod resolves them.

use std::collections::HashMap;

use crate::mesh::dr_lookup::is_exported_to;
use crate::mesh::host::{hosts_match, is_wildcard, resolve_host, service_fqdn};
use crate::mesh::snapshot::Snapshot;

/// The Service annotation that sets its visibility.
pub(crate) const SERVICE_EXPORT_TO: &str = "networking.istio.io/exportTo";

/// A registry entry, by index in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Service(u32),
    Entry(u32),
}

/// Hosts of the registry, indexed once per run.
pub(crate) struct Registry<'a> {
    snap: &'a Snapshot,
    exact: HashMap<String, Vec<Backend>>,
    wildcards: Vec<(String, Backend)>,
}

impl<'a> Registry<'a> {
    /// Indexes every Service and ServiceEntry host.
    pub(crate) fn new(snap: &'a Snapshot) -> Self {
        let domain = snap.cluster_domain();
        let mut exact: HashMap<String, Vec<Backend>> = HashMap::new();
        let mut wildcards = Vec::new();
        for (id, svc) in snap.services().iter().enumerate() {
            let meta = &svc.metadata;
            let host = service_fqdn(&meta.name, &meta.namespace, domain).to_ascii_lowercase();
            exact.entry(host).or_default().push(Backend::Service(id as u32));
        }
        for (id, se) in snap.service_entries().iter().enumerate() {
            for h in &se.spec.hosts {
                let host = resolve_host(h, &se.metadata.namespace, domain);
                let backend = Backend::Entry(id as u32);
                if is_wildcard(&host) {
                    wildcards.push((host, backend));
                } else {
                    exact.entry(host).or_default().push(backend);
                }
            }
        }
        Self { snap, exact, wildcards }
    }

    /// The entry a destination `host` (an FQDN) reaches from any of `clients`: an exact
    /// host first, else the most specific wildcard ServiceEntry host covering it.
    pub(crate) fn lookup(&self, host: &str, clients: &[&str]) -> Option<Backend> {
        let host = host.to_ascii_lowercase();
        let visible = |b: &Backend| clients.iter().any(|c| self.is_visible(*b, c));
        if let Some(found) = self.exact.get(&host).and_then(|bs| bs.iter().find(|b| visible(b))) {
            return Some(*found);
        }
        self.wildcards
            .iter()
            .filter(|(w, b)| hosts_match(w, &host) && visible(b))
            .max_by_key(|(w, _)| w.len())
            .map(|(_, b)| *b)
    }

    /// Whether some registry host could be named by `pattern` (which may be a wildcard),
    /// whoever the client.
    pub(crate) fn matches_any(&self, pattern: &str) -> bool {
        let pattern = pattern.to_ascii_lowercase();
        if !is_wildcard(&pattern) && self.exact.contains_key(&pattern) {
            return true;
        }
        let exact = is_wildcard(&pattern) && self.exact.keys().any(|h| hosts_match(&pattern, h));
        exact || self.wildcards.iter().any(|(w, _)| hosts_match(w, &pattern))
    }

    /// Whether `backend` is visible from namespace `client`.
    pub(crate) fn is_visible(&self, backend: Backend, client: &str) -> bool {
        let default = &self.snap.mesh().default_service_export_to;
        match backend {
            Backend::Service(id) => {
                let svc = self.snap.services().at(id);
                let list: Vec<String> = svc
                    .metadata
                    .annotation(SERVICE_EXPORT_TO)
                    .map(|a| a.split(',').map(|s| s.trim().to_string()).collect())
                    .unwrap_or_default();
                is_exported_to(&list, default, &svc.metadata.namespace, client)
            }
            Backend::Entry(id) => {
                let se = self.snap.service_entries().at(id);
                is_exported_to(&se.spec.export_to, default, &se.metadata.namespace, client)
            }
        }
    }

    /// The port numbers the entry exposes.
    pub(crate) fn ports(&self, backend: Backend) -> Vec<u32> {
        match backend {
            Backend::Service(id) => {
                self.snap.services().at(id).spec.ports.iter().map(|p| u32::from(p.port)).collect()
            }
            Backend::Entry(id) => {
                self.snap.service_entries().at(id).spec.ports.iter().map(|p| p.number).collect()
            }
        }
    }

    /// `Service shop/cart` or `ServiceEntry shop/payments`.
    pub(crate) fn describe(&self, backend: Backend) -> String {
        match backend {
            Backend::Service(id) => {
                format!("Service {}", self.snap.services().at(id).metadata.key())
            }
            Backend::Entry(id) => {
                format!("ServiceEntry {}", self.snap.service_entries().at(id).metadata.key())
            }
        }
    }
}

/// The namespaces whose clients use a VirtualService (or DestinationRule) in `namespace`
/// with this `exportTo`: its own namespace and the namespaces it names.
pub(crate) fn client_namespaces<'a>(namespace: &'a str, export_to: &'a [String]) -> Vec<&'a str> {
    let mut out = vec![namespace];
    for e in export_to {
        let e = e.as_str();
        if !matches!(e, "*" | "." | "~") && !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_the_own_namespace_and_named_ones() {
        let list = ["*".to_string(), ".".to_string(), "web".to_string(), "shop".to_string()];
        assert_eq!(client_namespaces("shop", &list), vec!["shop", "web"]);
        assert_eq!(client_namespaces("shop", &[]), vec!["shop"]);
    }
}
