//! `gateway-workloads`: Gateways whose selector matches no pod, and Gateway servers on a
//! port no Service in front of the gateway pods exposes.
//!
//! Codes: DM0106 (IST0101 "selector"), DM0107 (IST0162).
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/gateway/gateway.go`,
//! <https://istio.io/latest/docs/reference/config/analysis/ist0162/>): a Gateway's selector is
//! matched against pods in every namespace (we follow istiod's default; with
//! `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` only the Gateway's namespace would count). A server
//! port is reachable when a Service selecting the gateway pods has it as a TCP `port` (istiod
//! then listens on that port's `targetPort`) or as a `targetPort` (istiod listens on the
//! server port itself when no Service port matches): `resolvePorts` in
//! `pilot/pkg/model/gateway.go`. A Service port without a protocol is TCP, as Kubernetes
//! defaults it.
//!
//! Decision: istioctl (since istio/istio#45726) accepts only target ports, so it reports the
//! usual port 80 server in front of an `80 -> 8080` Service (istio/istio#51257, fixed by
//! istio/istio#51278); we accept both, as istiod's listener does.
//!
//! Limitations: an empty selector is taken to select every gateway workload and is not
//! reported; pods are not required to run a gateway proxy, as with istioctl.

use std::collections::BTreeSet;

use super::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::snapshot::{Snapshot, target_port};
use crate::mesh::{Kind, pod::is_gateway_labels};

/// See the module documentation.
pub struct GatewayWorkloads;

impl Analyzer for GatewayWorkloads {
    fn name(&self) -> &'static str {
        "gateway-workloads"
    }

    fn description(&self) -> &'static str {
        "Gateways select gateway pods, and their servers use ports the pods' Services expose"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Gateway, Kind::Pod, Kind::Service]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::GATEWAY_SELECTOR_NO_PODS, &codes::GATEWAY_PORT_NOT_ON_SERVICE]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.gateways() {
            let selector = &entry.spec.selector;
            if selector.is_empty() {
                continue;
            }
            let shown = selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
            let pods: Vec<u32> = snap
                .pods_selected_by(None, selector)
                .filter(|&p| !snap.pods().at(p).is_finished())
                .collect();
            if pods.is_empty() {
                let message = format!(
                    "selector {} matches no pods in any namespace, so no gateway serves it \
                     (gateway pods carry {})",
                    listed(&shown),
                    listed(gateway_labels(snap))
                );
                let fix = "Set spec.selector to the labels of the gateway pods, e.g. istio: \
                           ingressgateway (list them with kubectl get pods -A -l istio)";
                out.push(finding(&codes::GATEWAY_SELECTOR_NO_PODS, entry, message).fix(fix));
                continue;
            }

            // What the Services in front of the gateway pods expose: ports and target ports.
            let mut reachable = BTreeSet::new();
            let mut services = BTreeSet::new();
            for &pid in &pods {
                let pod = snap.pods().at(pid);
                for &sid in snap.services_for_pod(pid) {
                    let svc = snap.services().at(sid);
                    let mut shown_ports = Vec::new();
                    for port in &svc.spec.ports {
                        let tcp =
                            port.protocol.as_deref().is_none_or(|p| p.eq_ignore_ascii_case("TCP"));
                        if !tcp {
                            continue;
                        }
                        reachable.insert(u32::from(port.port));
                        match target_port(port, &pod.resolved.ports) {
                            Some(t) => {
                                reachable.insert(u32::from(t));
                                shown_ports.push(format!("{}->{t}", port.port));
                            }
                            None => shown_ports.push(port.port.to_string()),
                        }
                    }
                    services.insert(format!("{} ({})", svc.metadata.key(), listed(shown_ports)));
                }
            }
            let mut reported = BTreeSet::new();
            for server in &entry.spec.servers {
                let number = server.port.number;
                if reachable.contains(&number) || !reported.insert(number) {
                    continue;
                }
                let message = if services.is_empty() {
                    format!(
                        "server port {number} is exposed by no Service: none selects the pods of selector {}",
                        listed(&shown)
                    )
                } else {
                    format!(
                        "server port {number} is neither a port nor a targetPort of the Services \
                         in front of its pods: {}",
                        listed(&services)
                    )
                };
                let fix = format!(
                    "Add port {number} to the gateway Service, or move the server to a port the \
                     Service exposes{}",
                    if reachable.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", listed(&reachable))
                    }
                );
                out.push(finding(&codes::GATEWAY_PORT_NOT_ON_SERVICE, entry, message).fix(fix));
            }
        }
    }
}

/// The `istio` label values (or Gateway API names) of the gateway pods there are.
fn gateway_labels(snap: &Snapshot) -> BTreeSet<String> {
    snap.pods()
        .iter()
        .filter(|p| is_gateway_labels(&p.metadata.labels))
        .filter_map(|p| p.metadata.label("istio").map(|v| format!("istio={v}")))
        .collect()
}
