//! `httproute-parents`: HTTPRoutes attached to a Gateway API Gateway, or a listener of one,
//! that does not exist.
//!
//! Codes: DM0112.
//!
//! Rule (Gateway API, <https://gateway-api.sigs.k8s.io/reference/spec/#parentreference>): a
//! parent reference defaults to group `gateway.networking.k8s.io`, kind `Gateway` and the
//! route's namespace; `sectionName` must name a listener and `port` must be a listener's
//! port, or the route is not accepted by that parent (`NoMatchingParent`). Istio implements
//! these rules (<https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/>).
//!
//! Limitations: parents of other kinds (a Service for mesh routes) are not checked;
//! `allowedRoutes` and hostname intersection are not evaluated.

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::kind::GROUP_GATEWAY_API;
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct HttpRouteParents;

impl Analyzer for HttpRouteParents {
    fn name(&self) -> &'static str {
        "httproute-parents"
    }

    fn description(&self) -> &'static str {
        "HTTPRoutes attach to Gateways and listeners that exist"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::HttpRoute, Kind::K8sGateway]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::HTTPROUTE_PARENT_NOT_FOUND]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.http_routes() {
            let route_ns = entry.metadata.namespace.as_str();
            for (i, parent) in entry.spec.parent_refs.iter().enumerate() {
                let group = parent.group.as_deref().unwrap_or(GROUP_GATEWAY_API);
                let kind = parent.kind.as_deref().unwrap_or("Gateway");
                if group != GROUP_GATEWAY_API || kind != "Gateway" {
                    continue;
                }
                let ns = parent.namespace.as_deref().unwrap_or(route_ns);
                let name = parent.name.as_str();
                let path = format!("spec.parentRefs[{i}]");
                let Some(gateway) = snap.k8s_gateways().get(ns, name) else {
                    let message = format!("{path} names Gateway {ns}/{name}, which does not exist");
                    let fix = format!(
                        "Create Gateway {ns}/{name}, or correct {path} (set namespace: for a \
                         Gateway in another namespace)"
                    );
                    out.push(finding(&codes::HTTPROUTE_PARENT_NOT_FOUND, entry, message).fix(fix));
                    continue;
                };
                let listeners = &gateway.spec.listeners;
                let missing = match (parent.section_name.as_deref(), parent.port) {
                    (Some(section), port) => {
                        let found = listeners
                            .iter()
                            .any(|l| l.name == section && port.is_none_or(|p| p == l.port));
                        (!found).then(|| match port {
                            Some(p) => format!("a listener named {section} on port {p}"),
                            None => format!("a listener named {section}"),
                        })
                    }
                    (None, Some(port)) => (!listeners.iter().any(|l| l.port == port))
                        .then(|| format!("a listener on port {port}")),
                    (None, None) => None,
                };
                if let Some(missing) = missing {
                    let names: Vec<String> =
                        listeners.iter().map(|l| format!("{} ({})", l.name, l.port)).collect();
                    let message = format!(
                        "{path} asks Gateway {ns}/{name} for {missing}, which it lacks \
                         (listeners: {})",
                        super::listed(&names)
                    );
                    let fix = format!(
                        "Set {path}.sectionName/port to one of the Gateway's listeners, or add \
                         the listener to Gateway {ns}/{name}"
                    );
                    out.push(finding(&codes::HTTPROUTE_PARENT_NOT_FOUND, entry, message).fix(fix));
                }
            }
        }
    }
}
