//! The question `can` asks: a caller, a destination and what the request
//! carries; and how both ends are found in a Snapshot.

use std::net::IpAddr;

use serde::Serialize;

use crate::mesh::host::{parse_service_host, service_fqdn};
use crate::mesh::meta::Labels;
use crate::mesh::snapshot::Snapshot;

/// Default ingress gateway namespace.
pub const INGRESS_NAMESPACE: &str = "istio-system";
/// Default ingress gateway service account.
pub const INGRESS_ACCOUNT: &str = "istio-ingressgateway-service-account";

/// Who sends the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Caller {
    /// A workload identity; `sidecar: false` means it cannot do Istio mTLS,
    /// so the server sees no peer identity.
    Identity {
        /// Namespace.
        namespace: String,
        /// Service account.
        service_account: String,
        /// Whether a sidecar sends the request.
        sidecar: bool,
    },
    /// A pod of the Snapshot: its account and sidecar decide.
    Pod {
        /// Namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// The Istio ingress gateway of the Snapshot.
    IngressGateway,
    /// A client without any mesh identity (outside the mesh).
    Plaintext,
}

/// Where the request goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Target {
    /// A Service port; `name` may also be a host (a Service FQDN or a
    /// ServiceEntry host).
    Service {
        /// Namespace.
        namespace: String,
        /// Service name or host.
        name: String,
        /// Service port.
        port: u16,
    },
    /// A pod's container port.
    Pod {
        /// Namespace.
        namespace: String,
        /// Pod name.
        name: String,
        /// Container port.
        port: u16,
    },
}

/// The protocol of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Protocol {
    /// HTTP (1.1, 2, gRPC).
    Http,
    /// Opaque TCP.
    Tcp,
}

/// A request to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// The caller.
    pub from: Caller,
    /// The destination.
    pub to: Target,
    /// The protocol; derived from the Service port when `None`.
    pub protocol: Option<Protocol>,
    /// HTTP method (upper-cased when evaluated).
    pub method: Option<String>,
    /// Raw HTTP path, normalized as the sidecar does.
    pub path: Option<String>,
    /// `Host` header; when `None`, the destination's host (with the port
    /// unless it is 80).
    pub host: Option<String>,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Source IP; the caller pod's IP when `None` and known.
    pub source_ip: Option<IpAddr>,
    /// Original client IP (`remote.ip`, from X-Forwarded-For or proxy
    /// protocol); the source IP when `None`.
    pub remote_ip: Option<IpAddr>,
}

impl Request {
    /// A request with no HTTP details.
    pub fn new(from: Caller, to: Target) -> Self {
        Request {
            from,
            to,
            protocol: None,
            method: None,
            path: None,
            host: None,
            headers: Vec::new(),
            source_ip: None,
            remote_ip: None,
        }
    }
}

/// A request that names something the Snapshot lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No such Service, Service host or ServiceEntry host.
    #[error("service {namespace}/{name} not found")]
    ServiceNotFound {
        /// Namespace.
        namespace: String,
        /// Name or host.
        name: String,
    },
    /// The Service has no such port.
    #[error("service {namespace}/{name} has no port {port} (ports: {available})")]
    PortNotFound {
        /// Namespace.
        namespace: String,
        /// Name or host.
        name: String,
        /// The port asked for.
        port: u16,
        /// The ports it has.
        available: String,
    },
    /// The destination exists but no workload serves it.
    #[error("{namespace}/{name} has no pods or workloads behind it")]
    NoEndpoints {
        /// Namespace.
        namespace: String,
        /// Name or host.
        name: String,
    },
    /// No such pod.
    #[error("pod {namespace}/{name} not found")]
    PodNotFound {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
}

/// The caller as resolved from the Snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedCaller {
    /// Namespace (empty for a client outside the mesh).
    pub namespace: String,
    /// Service account, if the caller has a mesh identity.
    pub service_account: Option<String>,
    /// Whether an Envoy proxy sends the request (so it can do Istio mTLS).
    pub has_proxy: bool,
    /// Labels (for DestinationRule workload selectors).
    pub labels: Labels,
    /// Source IP, if known.
    pub ip: Option<IpAddr>,
    /// A short description, such as `pod foo/sleep-0 (sa sleep)`.
    pub description: String,
    /// Whether something about the caller was assumed.
    pub inferred: bool,
}

impl ResolvedCaller {
    /// The SPIFFE URI the caller's sidecar presents.
    pub fn spiffe_uri(&self, trust_domain: &str) -> Option<String> {
        let sa = self.service_account.as_deref()?;
        self.has_proxy.then(|| format!("spiffe://{trust_domain}/ns/{}/sa/{sa}", self.namespace))
    }
}

/// Finds the caller in the Snapshot.
///
/// # Errors
///
/// Fails when a named pod does not exist.
pub fn resolve_caller(
    snapshot: &Snapshot,
    caller: &Caller,
) -> Result<ResolvedCaller, RequestError> {
    match caller {
        Caller::Identity { namespace, service_account, sidecar } => Ok(ResolvedCaller {
            namespace: namespace.clone(),
            service_account: Some(service_account.clone()),
            has_proxy: *sidecar,
            labels: Labels::new(),
            ip: None,
            description: format!(
                "{namespace}/{service_account}{}",
                if *sidecar { "" } else { " (no sidecar)" }
            ),
            inferred: false,
        }),
        Caller::Pod { namespace, name } => {
            let id = snapshot.pods().id(namespace, name).ok_or_else(|| {
                RequestError::PodNotFound { namespace: namespace.clone(), name: name.clone() }
            })?;
            let w = snapshot.workload_of_pod(id);
            Ok(ResolvedCaller {
                namespace: namespace.clone(),
                service_account: Some(w.service_account.to_string()),
                has_proxy: w.has_proxy(),
                labels: w.labels.clone().into_owned(),
                ip: w.ip,
                description: format!("pod {namespace}/{name} (sa {})", w.service_account),
                inferred: w.account_inferred,
            })
        }
        Caller::IngressGateway => Ok(ingress_gateway(snapshot)),
        Caller::Plaintext => Ok(ResolvedCaller {
            namespace: String::new(),
            service_account: None,
            has_proxy: false,
            labels: Labels::new(),
            ip: None,
            description: "a client outside the mesh".into(),
            inferred: false,
        }),
    }
}

/// The ingress gateway: a pod labelled `istio: ingressgateway` (preferring
/// the control plane namespace), else Istio's default identity.
fn ingress_gateway(snapshot: &Snapshot) -> ResolvedCaller {
    let pods = snapshot.pods();
    let is_ingress = |id: &u32| pods.at(*id).metadata.label("istio") == Some("ingressgateway");
    let cp = snapshot.control_plane_namespace();
    let found = pods
        .ids_in(cp)
        .iter()
        .copied()
        .find(|id| is_ingress(id))
        .or_else(|| (0..pods.len() as u32).find(is_ingress));
    match found {
        Some(id) => {
            let w = snapshot.workload_of_pod(id);
            ResolvedCaller {
                namespace: w.namespace.to_string(),
                service_account: Some(w.service_account.to_string()),
                has_proxy: true,
                labels: w.labels.clone().into_owned(),
                ip: w.ip,
                description: format!("ingress gateway {} (sa {})", w.key(), w.service_account),
                inferred: w.account_inferred,
            }
        }
        None => ResolvedCaller {
            namespace: INGRESS_NAMESPACE.into(),
            service_account: Some(INGRESS_ACCOUNT.into()),
            has_proxy: true,
            labels: [("istio".to_string(), "ingressgateway".to_string())].into(),
            ip: None,
            description: format!("ingress gateway {INGRESS_NAMESPACE}/{INGRESS_ACCOUNT} (assumed)"),
            inferred: true,
        },
    }
}

/// The destination as resolved from the Snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// A Service (table index) and the index of its port.
    Service {
        /// Index in the Service table.
        service: u32,
        /// Index in `spec.ports`.
        port_index: usize,
    },
    /// A pod (table index) and container port.
    Pod {
        /// Index in the Pod table.
        pod: u32,
        /// Container port.
        port: u16,
    },
    /// A ServiceEntry (table index) and its port number.
    External {
        /// Index in the ServiceEntry table.
        entry: u32,
        /// Port number.
        port: u16,
    },
}

/// Finds the destination in the Snapshot: a Service by name, by its FQDN,
/// or a ServiceEntry host.
///
/// # Errors
///
/// Fails when nothing by that name exists or the port is not declared.
pub fn resolve_target(snapshot: &Snapshot, target: &Target) -> Result<Destination, RequestError> {
    match target {
        Target::Pod { namespace, name, port } => {
            let pod = snapshot.pods().id(namespace, name).ok_or_else(|| {
                RequestError::PodNotFound { namespace: namespace.clone(), name: name.clone() }
            })?;
            Ok(Destination::Pod { pod, port: *port })
        }
        Target::Service { namespace, name, port } => {
            let services = snapshot.services();
            let by_host = parse_service_host(name, snapshot.cluster_domain());
            let id = services
                .id(namespace, name)
                .or_else(|| by_host.and_then(|(n, ns)| services.id(ns, n)));
            if let Some(id) = id {
                let svc = services.at(id);
                return match svc.spec.ports.iter().position(|p| p.port == *port) {
                    Some(port_index) => Ok(Destination::Service { service: id, port_index }),
                    None => Err(port_error(
                        namespace,
                        name,
                        *port,
                        svc.spec.ports.iter().map(|p| p.port),
                    )),
                };
            }
            let entries = snapshot.service_entries();
            let has_host =
                |id: &u32| entries.at(*id).spec.hosts.iter().any(|h| h.eq_ignore_ascii_case(name));
            let entry = entries
                .ids_in(namespace)
                .iter()
                .copied()
                .find(has_host)
                .or_else(|| (0..entries.len() as u32).find(has_host));
            match entry {
                Some(id) => {
                    let se = entries.at(id);
                    if se.port(*port).is_some() {
                        Ok(Destination::External { entry: id, port: *port })
                    } else {
                        let ports =
                            se.spec.ports.iter().filter_map(|p| u16::try_from(p.number).ok());
                        Err(port_error(namespace, name, *port, ports))
                    }
                }
                None => Err(RequestError::ServiceNotFound {
                    namespace: namespace.clone(),
                    name: name.clone(),
                }),
            }
        }
    }
}

fn port_error(ns: &str, name: &str, port: u16, ports: impl Iterator<Item = u16>) -> RequestError {
    let available: Vec<String> = ports.map(|p| p.to_string()).collect();
    RequestError::PortNotFound {
        namespace: ns.into(),
        name: name.into(),
        port,
        available: if available.is_empty() { "none".into() } else { available.join(", ") },
    }
}

/// The host a client addresses for a destination.
pub fn destination_host(snapshot: &Snapshot, destination: Destination) -> String {
    match destination {
        Destination::Service { service, .. } => {
            let m = &snapshot.services().at(service).metadata;
            service_fqdn(&m.name, &m.namespace, snapshot.cluster_domain())
        }
        Destination::Pod { pod, .. } => {
            let p = snapshot.pods().at(pod);
            p.ip().map_or_else(|| p.metadata.name.clone(), |ip| ip.to_string())
        }
        Destination::External { entry, .. } => {
            snapshot.service_entries().at(entry).spec.hosts.first().cloned().unwrap_or_default()
        }
    }
}
