//! `virtualservice-shadowed-routes`: routes that can never match because an earlier route
//! of the same VirtualService takes every request they would.
//!
//! Codes: DM0204 (IST0130).
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0130/>, istio/istio
//! `pkg/config/validation/virtualservice.go` `analyzeUnreachableHTTPRules`): routes are tried
//! in order and the first match wins. A route without `match` takes everything after it;
//! so does a match that sets no condition. A route is unreachable when every one of its
//! matches is covered by an earlier match: identical (names aside), or broader on each field
//! it sets (`conflicts::routes`). TCP and TLS routes follow the same rule.
//!
//! Decision: istioctl reports a route as unreachable only for identical matches or a route
//! without matches; an earlier prefix that covers a later one it reports match by match as
//! IST0131. We report a route when all its matches are covered either way. On a Gateway-only
//! VirtualService a match with no path or header condition is not taken as catch-all, since
//! gateways move such routes behind the others (`CombineVHostRoutes`).
//!
//! Limitations: regular expressions cover only themselves (or `.*`); delegate
//! VirtualServices are not followed; fields this tool does not model are ignored.

use super::routes::{l4_match_covers, shadowed_by, shadowed_http, tls_match_covers};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::virtual_service::{HttpRoute, MESH_GATEWAY};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct ShadowedRoutes;

/// `spec.http[2] ("reviews-v2")`.
fn http_name(routes: &[HttpRoute], i: usize) -> String {
    match routes[i].name.as_deref() {
        Some(name) => format!("spec.http[{i}] ({name:?})"),
        None => format!("spec.http[{i}]"),
    }
}

impl Analyzer for ShadowedRoutes {
    fn name(&self) -> &'static str {
        "virtualservice-shadowed-routes"
    }

    fn description(&self) -> &'static str {
        "No route is unreachable behind an earlier, broader route"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::VirtualService]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::ROUTE_SHADOWED]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.virtual_services() {
            let spec = &entry.spec;
            let gateways_only = !spec.effective_gateways().contains(&MESH_GATEWAY);
            let mut report = |later: String, earlier: String| {
                let message = format!(
                    "{later} can never match: {earlier} comes first and matches every request it \
                     would"
                );
                let fix = format!(
                    "Move {later} before {earlier}, or narrow {earlier}'s match (a route without \
                     match belongs last)"
                );
                out.push(finding(&codes::ROUTE_SHADOWED, entry, message).fix(fix));
            };
            for (j, i) in shadowed_http(&spec.http, gateways_only) {
                report(http_name(&spec.http, j), http_name(&spec.http, i));
            }
            let tcp: Vec<&[_]> = spec.tcp.iter().map(|r| r.matches.as_slice()).collect();
            for (j, i) in shadowed_by(&tcp, l4_match_covers) {
                report(format!("spec.tcp[{j}]"), format!("spec.tcp[{i}]"));
            }
            let tls: Vec<&[_]> = spec.tls.iter().map(|r| r.matches.as_slice()).collect();
            for (j, i) in shadowed_by(&tls, tls_match_covers) {
                report(format!("spec.tls[{j}]"), format!("spec.tls[{i}]"));
            }
        }
    }
}
