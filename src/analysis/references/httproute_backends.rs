//! `httproute-backends`: HTTPRoute backends naming a Service that does not exist, or a port
//! the Service lacks.
//!
//! Codes: DM0113.
//!
//! Rule (Gateway API, <https://gateway-api.sigs.k8s.io/reference/spec/#backendref>): a backend
//! defaults to the core group, kind `Service` and the route's namespace; a Service backend
//! must set `port`, and the port must be one of the Service's. A missing backend gets the
//! `ResolvedRefs=False` condition and its share of requests fails with 500.
//!
//! Limitations: other backend kinds (Istio's `Hostname`, ServiceEntry) are not checked; a
//! cross-namespace backend is not checked for the ReferenceGrant that must allow it.

use super::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct HttpRouteBackends;

impl Analyzer for HttpRouteBackends {
    fn name(&self) -> &'static str {
        "httproute-backends"
    }

    fn description(&self) -> &'static str {
        "HTTPRoute backends name Services and ports that exist"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::HttpRoute, Kind::Service]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::HTTPROUTE_BACKEND_NOT_FOUND]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.http_routes() {
            let route_ns = entry.metadata.namespace.as_str();
            for (i, rule) in entry.spec.rules.iter().enumerate() {
                for (j, backend) in rule.backend_refs.iter().enumerate() {
                    let group = backend.group.as_deref().unwrap_or("");
                    let kind = backend.kind.as_deref().unwrap_or("Service");
                    if !group.is_empty() || kind != "Service" {
                        continue;
                    }
                    let ns = backend.namespace.as_deref().unwrap_or(route_ns);
                    let name = backend.name.as_str();
                    let path = format!("spec.rules[{i}].backendRefs[{j}]");
                    let Some(svc) = snap.services().get(ns, name) else {
                        let message =
                            format!("{path} names Service {ns}/{name}, which does not exist");
                        let fix = format!(
                            "Create Service {ns}/{name}, or correct {path}.name (set namespace: \
                             for a Service in another namespace)"
                        );
                        out.push(
                            finding(&codes::HTTPROUTE_BACKEND_NOT_FOUND, entry, message).fix(fix),
                        );
                        continue;
                    };
                    let ports: Vec<u16> = svc.spec.ports.iter().map(|p| p.port).collect();
                    let problem = match backend.port {
                        None => Some(format!("{path} names Service {ns}/{name} without a port")),
                        Some(p) if !ports.iter().any(|&q| u32::from(q) == p) => Some(format!(
                            "{path} sends to port {p} of Service {ns}/{name}, which exposes {}",
                            listed(&ports)
                        )),
                        Some(_) => None,
                    };
                    if let Some(message) = problem {
                        let fix = format!("Set {path}.port to one of {}", listed(&ports));
                        out.push(
                            finding(&codes::HTTPROUTE_BACKEND_NOT_FOUND, entry, message).fix(fix),
                        );
                    }
                }
            }
        }
    }
}
