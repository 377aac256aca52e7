//! `workload-port-protocols`: a workload port that several Services, each selecting the
//! workload, give different protocols.
//!
//! Codes: DM0602 (IST0116).
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0116/>,
//! <https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/>):
//! a sidecar builds one inbound listener per workload port, with one protocol; when Services
//! selecting the pod map their ports to that target port with different protocols (by name or
//! `appProtocol`, `mesh::protocol`), only one of them can hold. Pods with a sidecar (or that
//! would get one) are checked; the finding names their Deployment, StatefulSet or DaemonSet
//! when the pod has one.
//!
//! Decision: istioctl's IST0116 compares the Kubernetes transport protocol (TCP against UDP)
//! of equal Service port numbers; TCP and UDP on one number are separate sockets that never
//! share a listener, so we compare Istio's application protocol of TCP ports that reach the
//! same target port instead.
//!
//! Limitations: pods are needed (pod templates alone are not read); a named `targetPort`
//! the pod does not declare is skipped.

use std::collections::{BTreeMap, BTreeSet};

use super::{describe, is_tcp};
use crate::analysis::references::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::Kind;
use crate::mesh::snapshot::{Snapshot, target_port};

/// See the module documentation.
pub struct WorkloadPortProtocols;

impl Analyzer for WorkloadPortProtocols {
    fn name(&self) -> &'static str {
        "workload-port-protocols"
    }

    fn description(&self) -> &'static str {
        "Services that select one workload agree on each port's protocol"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Service, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::PORT_PROTOCOL_CONFLICT]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let mut reported = BTreeSet::new();
        for (pid, pod) in snap.pods().iter().enumerate() {
            let pid = pid as u32;
            let meta = &pod.metadata;
            let meshed = pod.has_sidecar()
                || snap.is_injected(&meta.namespace, &meta.labels, &meta.annotations);
            let services = snap.services_for_pod(pid);
            if !meshed || services.len() < 2 {
                continue;
            }
            // Target port -> protocol -> "Service ns/x port 80 (http)".
            let mut ports: BTreeMap<u16, BTreeMap<&'static str, Vec<String>>> = BTreeMap::new();
            let mut owners: BTreeMap<u16, BTreeSet<u32>> = BTreeMap::new();
            for &sid in services {
                let svc = snap.services().at(sid);
                for port in svc.spec.ports.iter().filter(|p| is_tcp(p)) {
                    let Some(target) = target_port(port, &pod.resolved.ports) else { continue };
                    let shown = format!("Service {} port {}", svc.metadata.key(), describe(port));
                    let protocol = port.istio_protocol().as_str();
                    ports.entry(target).or_default().entry(protocol).or_default().push(shown);
                    owners.entry(target).or_default().insert(sid);
                }
            }
            for (target, protocols) in ports {
                if protocols.len() < 2 || owners[&target].len() < 2 {
                    continue;
                }
                let workload =
                    pod.resolved.controller.clone().unwrap_or_else(|| format!("Pod/{}", meta.name));
                if !reported.insert((meta.namespace.clone(), workload.clone(), target)) {
                    continue;
                }
                let said: Vec<String> = protocols
                    .iter()
                    .map(|(p, users)| format!("{p} in {}", listed(users)))
                    .collect();
                let message = format!(
                    "workload port {target} of {} is {}; its sidecar can serve it with one \
                     protocol only",
                    meta.key(),
                    said.join(" but ")
                );
                let fix = format!(
                    "Give port {target} one protocol in every Service that selects {}: rename the \
                     ports <protocol>[-suffix] alike or set the same appProtocol",
                    workload
                );
                let f = controller_finding(snap, pod, &workload, message);
                out.push(f.fix(fix));
            }
        }
    }
}

/// A finding about the pod's controller when the Snapshot holds it, else about the pod.
fn controller_finding(
    snap: &Snapshot,
    pod: &crate::mesh::Entry<crate::mesh::pod::Pod>,
    workload: &str,
    message: String,
) -> Finding {
    let ns = pod.metadata.namespace.as_str();
    let code = &codes::PORT_PROTOCOL_CONFLICT;
    let (kind, name) = workload.split_once('/').unwrap_or(("", ""));
    let found = match kind {
        "Deployment" => snap.deployments().get(ns, name).map(|d| finding(code, d, message.clone())),
        "StatefulSet" => {
            snap.stateful_sets().get(ns, name).map(|s| finding(code, s, message.clone()))
        }
        "DaemonSet" => snap.daemon_sets().get(ns, name).map(|d| finding(code, d, message.clone())),
        _ => None,
    };
    found.unwrap_or_else(|| finding(code, pod, message))
}
