//! `virtualservice-destinations`: route destinations that reach nothing, or reach a
//! Service without naming one of its ports.
//!
//! Codes: DM0102 (IST0101 "host"), DM0103 (IST0112), DM0104 (IST0101 "host:port").
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/virtualservice/destinationhosts.go`
//! and <https://istio.io/latest/docs/reference/config/analysis/ist0112/>): a destination host
//! is resolved as istiod resolves it (a short name in the VirtualService's namespace, a dotted
//! name as written) and must be a Kubernetes Service or a ServiceEntry host (exact, or covered
//! by a wildcard entry) visible from the VirtualService's namespace or a namespace it is
//! exported to. Without `port`, the destination must have exactly one port; with one, the port
//! must be one of the destination's. Destinations of `http`, `tcp` and `tls` routes and HTTP
//! mirrors are checked.
//!
//! Limitations: `mirrors` lists and delegate VirtualServices are not read; visibility is
//! judged from the VirtualService's namespaces, not from each gateway workload's.

use super::registry::{Registry, client_namespaces};
use super::{listed, route_destinations};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::host::{is_wildcard, resolve_host};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct VirtualServiceDestinations;

impl Analyzer for VirtualServiceDestinations {
    fn name(&self) -> &'static str {
        "virtualservice-destinations"
    }

    fn description(&self) -> &'static str {
        "Route destinations name a visible Service or ServiceEntry, and one of its ports"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::VirtualService, Kind::Service, Kind::ServiceEntry]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[
            &codes::VS_DESTINATION_NOT_FOUND,
            &codes::VS_DESTINATION_PORT_REQUIRED,
            &codes::VS_DESTINATION_PORT_NOT_FOUND,
        ]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let registry = Registry::new(snap);
        let domain = snap.cluster_domain();
        for entry in snap.virtual_services() {
            let ns = entry.metadata.namespace.as_str();
            let export_to = if entry.spec.export_to.is_empty() {
                &snap.mesh().default_virtual_service_export_to
            } else {
                &entry.spec.export_to
            };
            let clients = client_namespaces(ns, export_to);
            for d in route_destinations(&entry.spec) {
                let written = d.destination.host.trim();
                let host = resolve_host(written, ns, domain);
                if host.is_empty() || is_wildcard(&host) {
                    continue;
                }
                let Some(backend) = registry.lookup(&host, &clients) else {
                    let message = format!(
                        "{} sends to {host}, which is no Service or ServiceEntry host visible \
                         from namespace {}",
                        d.path,
                        listed(&clients)
                    );
                    let fix = format!(
                        "Correct {}.destination.host (a Service in another namespace is \
                         NAME.NAMESPACE.svc.{domain}), or create the Service or a ServiceEntry \
                         for {host}",
                        d.path
                    );
                    out.push(finding(&codes::VS_DESTINATION_NOT_FOUND, entry, message).fix(fix));
                    continue;
                };
                let ports = registry.ports(backend);
                let target = registry.describe(backend);
                match d.destination.port.map(|p| p.number) {
                    None if ports.len() > 1 => {
                        let message = format!(
                            "{} sends to {target} without a port, but it exposes ports {}",
                            d.path,
                            listed(&ports)
                        );
                        let fix = format!(
                            "Set {}.destination.port.number to one of {}",
                            d.path,
                            listed(&ports)
                        );
                        let code = &codes::VS_DESTINATION_PORT_REQUIRED;
                        out.push(finding(code, entry, message).fix(fix));
                    }
                    Some(port) if !ports.is_empty() && !ports.contains(&port) => {
                        let message = format!(
                            "{} sends to port {port} of {target}, which exposes {}",
                            d.path,
                            listed(&ports)
                        );
                        let fix = format!(
                            "Set {}.destination.port.number to one of {}, or add port {port} \
                             to {target}",
                            d.path,
                            listed(&ports)
                        );
                        let code = &codes::VS_DESTINATION_PORT_NOT_FOUND;
                        out.push(finding(code, entry, message).fix(fix));
                    }
                    _ => {}
                }
            }
        }
    }
}
