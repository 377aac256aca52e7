//! Container ports, which PeerAuthentication `portLevelMtls` and AuthorizationPolicy `ports`
//! match, against Service ports, which users often type instead.

use std::collections::BTreeSet;

use crate::mesh::{Snapshot, snapshot::target_port};

/// The ports a pod serves on: its declared container ports and the target ports of the
/// Services in front of it. Port 0 stands for "any port" when none is known.
pub fn served_ports(snap: &Snapshot, pod: u32) -> Vec<u16> {
    let w = snap.workload_of_pod(pod);
    let mut ports: BTreeSet<u16> = w.ports.iter().map(|p| p.container_port).collect();
    for &service in snap.services_for_pod(pod) {
        for port in &snap.services().at(service).spec.ports {
            ports.extend(target_port(port, &w.ports));
        }
    }
    if ports.is_empty() {
        ports.insert(0);
    }
    ports.into_iter().collect()
}

/// What a port given for some pods is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortUse {
    /// A port the pods serve on.
    Container,
    /// Not served, but a port of a Service in front of the pods that sends elsewhere.
    ServicePort { service: String, targets: BTreeSet<u16> },
    /// Nothing known serves on it (or the pods' ports are not known).
    Unknown,
}

/// Classifies `port` for `pods`.
pub fn classify(snap: &Snapshot, pods: &[u32], port: u16) -> PortUse {
    if pods.iter().any(|&p| served_ports(snap, p).contains(&port)) {
        return PortUse::Container;
    }
    for &pod in pods {
        let w = snap.workload_of_pod(pod);
        for &service in snap.services_for_pod(pod) {
            let svc = snap.services().at(service);
            let Some(sp) = svc.port(port) else { continue };
            let targets: BTreeSet<u16> = pods
                .iter()
                .filter_map(|&p| target_port(sp, &snap.workload_of_pod(p).ports))
                .chain(target_port(sp, &w.ports))
                .filter(|&t| t != port)
                .collect();
            if !targets.is_empty() {
                return PortUse::ServicePort { service: svc.metadata.key(), targets };
            }
        }
    }
    PortUse::Unknown
}

/// The message for a Service port given where a container port is meant, e.g. `80 is a port of
/// Service shop/web that sends to container port 8080`.
pub fn service_port_message(port: u16, service: &str, targets: &BTreeSet<u16>) -> String {
    let list: Vec<String> = targets.iter().map(u16::to_string).collect();
    let s = if targets.len() == 1 { "" } else { "s" };
    format!(
        "{port} is a port of Service {service} that sends to container port{s} {}",
        list.join(", ")
    )
}
