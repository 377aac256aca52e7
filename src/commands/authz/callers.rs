//! Who calls a Service, as far as configuration tells.
//!
//! Kubernetes and Istio keep no record of callers, so this is an approximation from config
//! alone. A caller is *seen* when (the Service's own pods are never taken as its callers):
//! - it is a pod in the Service's own namespace;
//! - a VirtualService bound to the mesh routes to the Service: the pods of the
//!   VirtualService's namespace, and the pods its `sourceLabels` and `sourceNamespace`
//!   matches name;
//! - a VirtualService bound to an Istio Gateway routes to it: the pods that Gateway selects;
//! - an HTTPRoute sends to it: the pods of its parent Gateway API gateway (or, for a Service
//!   parent, the pods of the route's namespace);
//! - the Service is of type LoadBalancer or NodePort: clients outside the mesh.
//!
//! A pod without a proxy anywhere else (outside [`SYSTEM_NAMESPACES`]) *may* call the Service:
//! nothing in config stops a plaintext client from reaching a cluster IP, so such pods are
//! reported as possible callers where the question is who sends plaintext. Not seen: callers
//! that use pod IPs, Ingress objects of other controllers, and clients outside the cluster
//! reaching ClusterIP Services through a proxy of their own.

use std::collections::{BTreeMap, BTreeSet};

use super::scope::{PodGroup, SYSTEM_NAMESPACES, group_pods};
use crate::mesh::{
    Snapshot,
    host::{resolve_host, service_fqdn},
    kind::GROUP_GATEWAY_API,
    meta::LABEL_GATEWAY_NAME,
    selector::is_subset,
    virtual_service::{HttpRouteDestination, MESH_GATEWAY, VirtualService},
};

/// One caller of some of the Services asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub who: Who,
    /// Why it is taken as a caller, one reason per line of evidence.
    pub reasons: BTreeSet<String>,
    /// Whether config names it as a caller (`false`: it only may call).
    pub seen: bool,
    /// The Services it calls (indexes).
    pub services: BTreeSet<u32>,
}

/// A caller.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    /// Pods of one workload.
    Pods(PodGroup),
    /// Clients outside the mesh, through a LoadBalancer or NodePort Service.
    Outside,
}

impl Who {
    /// The verb that goes with the caller: `calls` or `call`.
    pub fn calls(&self) -> &'static str {
        match self {
            Who::Pods(_) => "calls",
            Who::Outside => "call",
        }
    }
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Who::Pods(group) => group.fmt(f),
            Who::Outside => f.write_str("clients outside the mesh"),
        }
    }
}

#[derive(Default)]
struct Evidence {
    reasons: BTreeSet<String>,
    services: BTreeSet<u32>,
}

/// The callers of `services`: those config names, then (with `may_call`) every other pod
/// without a proxy outside the system namespaces, which may call any of them.
pub fn callers(snap: &Snapshot, services: &[u32], may_call: bool) -> Vec<Caller> {
    let mut pods: BTreeMap<u32, Evidence> = BTreeMap::new();
    let mut outside = Evidence::default();
    let mut note = |pod: u32, service: u32, reason: String| {
        // A Service's own pods are not taken as its callers.
        if snap.pods_for_service(service).contains(&pod) {
            return;
        }
        let e = pods.entry(pod).or_default();
        e.reasons.insert(reason);
        e.services.insert(service);
    };
    for &service in services {
        let svc = snap.services().at(service);
        let key = svc.metadata.key();
        for &pod in snap.pods().ids_in(&svc.metadata.namespace) {
            note(pod, service, format!("in the namespace of Service {key}"));
        }
        for vs in snap.virtual_services() {
            if routes_to(snap, vs, service) {
                for (pod, reason) in virtual_service_callers(snap, vs, &key) {
                    note(pod, service, reason);
                }
            }
        }
        for (pod, reason) in http_route_callers(snap, service) {
            note(pod, service, reason);
        }
        if matches!(svc.spec.type_.as_deref(), Some("LoadBalancer" | "NodePort")) {
            let kind = svc.spec.type_.as_deref().unwrap_or_default();
            outside.reasons.insert(format!("Service {key} is of type {kind}"));
            outside.services.insert(service);
        }
    }

    let mut out = Vec::new();
    let seen: BTreeSet<u32> = pods.keys().copied().collect();
    for group in group_pods(snap, seen.iter().copied()) {
        let mut caller = Caller {
            who: Who::Pods(group.clone()),
            reasons: BTreeSet::new(),
            seen: true,
            services: BTreeSet::new(),
        };
        for pod in &group.pods {
            let e = &pods[pod];
            caller.reasons.extend(e.reasons.iter().cloned());
            caller.services.extend(e.services.iter().copied());
        }
        out.push(caller);
    }
    if !outside.services.is_empty() {
        out.push(Caller {
            who: Who::Outside,
            reasons: outside.reasons,
            seen: true,
            services: outside.services,
        });
    }
    if may_call {
        let others = (0..snap.pods().len() as u32).filter(|&id| {
            let pod = snap.pods().at(id);
            !seen.contains(&id)
                && !pod.is_finished()
                && !SYSTEM_NAMESPACES.contains(&pod.metadata.namespace.as_str())
                && !snap.workload_of_pod(id).has_proxy()
        });
        for group in group_pods(snap, others) {
            out.push(Caller {
                who: Who::Pods(group),
                reasons: ["has no sidecar, and nothing keeps plaintext clients from a Service"
                    .to_string()]
                .into(),
                seen: false,
                services: services.iter().copied().collect(),
            });
        }
    }
    out
}

/// Whether a host written in an object of `namespace` names the Service: its FQDN, or the
/// `name.namespace` and `name.namespace.svc` forms cluster DNS also answers.
fn names_service(snap: &Snapshot, host: &str, namespace: &str, service: u32) -> bool {
    let m = &snap.services().at(service).metadata;
    let fqdn = service_fqdn(&m.name, &m.namespace, snap.cluster_domain());
    let host = resolve_host(host, namespace, snap.cluster_domain());
    host == fqdn
        || host == format!("{}.{}", m.name, m.namespace)
        || host == format!("{}.{}.svc", m.name, m.namespace)
}

fn routes_to(snap: &Snapshot, vs: &VirtualService, service: u32) -> bool {
    let ns = &vs.metadata.namespace;
    let spec = &vs.spec;
    let hit = |d: &HttpRouteDestination| names_service(snap, &d.destination.host, ns, service);
    spec.http.iter().any(|r| {
        r.route.iter().any(hit)
            || r.mirror.as_ref().is_some_and(|m| names_service(snap, &m.host, ns, service))
    }) || spec.tcp.iter().any(|r| r.route.iter().any(hit))
        || spec.tls.iter().any(|r| r.route.iter().any(hit))
}

/// The pods a VirtualService that routes to a Service stands for: its namespace's pods for the
/// mesh gateway (and pods its source matches name), the selected pods of its Istio Gateways.
fn virtual_service_callers(
    snap: &Snapshot,
    vs: &VirtualService,
    service: &str,
) -> Vec<(u32, String)> {
    let vs_key = vs.metadata.key();
    let ns = vs.metadata.namespace.as_str();
    let mut out = Vec::new();
    for gateway in vs.spec.effective_gateways() {
        if gateway == MESH_GATEWAY {
            let reason = format!("VirtualService {vs_key} routes the mesh to Service {service}");
            out.extend(snap.pods().ids_in(ns).iter().map(|&p| (p, reason.clone())));
            continue;
        }
        let (gw_ns, gw_name) = gateway.split_once('/').unwrap_or((ns, gateway));
        let Some(gw) = snap.gateways().get(gw_ns, gw_name) else { continue };
        let reason = format!(
            "gateway of Gateway {gw_ns}/{gw_name}, which VirtualService {vs_key} routes to \
             Service {service}"
        );
        for id in 0..snap.pods().len() as u32 {
            if gw.selects(&snap.pods().at(id).metadata.labels) {
                out.push((id, reason.clone()));
            }
        }
    }
    let sources =
        vs.spec.http.iter().flat_map(|r| {
            r.matches.iter().map(|m| (&m.source_labels, m.source_namespace.as_deref()))
        });
    let l4 =
        vs.spec.tcp.iter().flat_map(|r| {
            r.matches.iter().map(|m| (&m.source_labels, m.source_namespace.as_deref()))
        });
    let tls =
        vs.spec.tls.iter().flat_map(|r| {
            r.matches.iter().map(|m| (&m.source_labels, m.source_namespace.as_deref()))
        });
    for (labels, source_ns) in sources.chain(l4).chain(tls) {
        if labels.is_empty() && source_ns.is_none() {
            continue;
        }
        let reason = format!("named as a source by VirtualService {vs_key}");
        let pods = snap.pods();
        let candidates: Vec<u32> = match source_ns {
            Some(n) => pods.ids_in(n).to_vec(),
            None => (0..pods.len() as u32).collect(),
        };
        for id in candidates {
            if is_subset(labels, &pods.at(id).metadata.labels) {
                out.push((id, reason.clone()));
            }
        }
    }
    out
}

/// The gateway pods of HTTPRoutes that send to a Service.
fn http_route_callers(snap: &Snapshot, service: u32) -> Vec<(u32, String)> {
    let m = &snap.services().at(service).metadata;
    let mut out = Vec::new();
    for route in snap.http_routes() {
        let route_ns = route.metadata.namespace.as_str();
        let sends = route.spec.rules.iter().flat_map(|r| &r.backend_refs).any(|b| {
            b.kind.as_deref().is_none_or(|k| k == "Service")
                && b.group.as_deref().is_none_or(str::is_empty)
                && b.name == m.name
                && b.namespace.as_deref().unwrap_or(route_ns) == m.namespace
        });
        if !sends {
            continue;
        }
        let route_key = route.metadata.key();
        for parent in &route.spec.parent_refs {
            let parent_ns = parent.namespace.as_deref().unwrap_or(route_ns);
            let is_service = parent.kind.as_deref() == Some("Service");
            let is_gateway = parent.kind.as_deref().is_none_or(|k| k == "Gateway")
                && parent.group.as_deref().is_none_or(|g| g == GROUP_GATEWAY_API);
            let pods = snap.pods();
            if is_service {
                let reason =
                    format!("HTTPRoute {route_key} routes the mesh to Service {}", m.key());
                out.extend(pods.ids_in(route_ns).iter().map(|&p| (p, reason.clone())));
            } else if is_gateway {
                let reason = format!(
                    "gateway {parent_ns}/{}, which HTTPRoute {route_key} sends to Service {}",
                    parent.name,
                    m.key()
                );
                for &id in pods.ids_in(parent_ns) {
                    if pods.at(id).metadata.label(LABEL_GATEWAY_NAME) == Some(parent.name.as_str())
                    {
                        out.push((id, reason.clone()));
                    }
                }
            }
        }
    }
    out
}
