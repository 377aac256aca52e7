//! Ports: Service ports whose protocol Istio cannot tell, and workload ports given different
//! protocols by different Services (DM0601-DM0602). Protocol selection itself is
//! `mesh::protocol::port_protocol`.

mod port_conflicts;
mod port_names;

pub use port_conflicts::WorkloadPortProtocols;
pub use port_names::ServicePortProtocols;

use crate::mesh::service::ServicePort;

/// Whether a Service port carries TCP (Kubernetes' default when `protocol` is unset).
pub(crate) fn is_tcp(port: &ServicePort) -> bool {
    port.protocol.as_deref().is_none_or(|p| p.eq_ignore_ascii_case("TCP"))
}

/// `80 (http-web)` or `80`.
pub(crate) fn describe(port: &ServicePort) -> String {
    match port.name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => format!("{} ({name})", port.port),
        None => port.port.to_string(),
    }
}
