//! `virtualservice-gateway-merges`: VirtualServices merged for one host on one Gateway,
//! where an older one's route takes the requests of a younger one's route.
//!
//! Codes: DM0202 (IST0109 covers only the mesh; this is the gateway side of one host claimed
//! twice).
//!
//! Istio rule (<https://istio.io/latest/docs/ops/best-practices/traffic-management/#split-virtual-services>,
//! istio/istio `pilot/pkg/networking/core/route/route.go` `CombineVHostRoutes` and
//! `BuildHTTPRoutesForVirtualService`): on a Gateway, VirtualServices for one host are merged,
//! not rejected: their routes are joined oldest first (creation time, then name), each
//! VirtualService's routes ending at its first Istio catch-all (`isCatchAllMatch`), and every
//! catch-all route (path prefix `/`, no header or query condition) moved behind the others.
//! A younger VirtualService's route loses the requests an older one's route, earlier in that
//! order, already matches; a route shadowed by its own VirtualService is left to DM0204.
//!
//! Limitations: hosts merge only when equal (a wildcard VirtualService host that the server
//! narrows is not followed); VirtualServices bound to different Gateways on one gateway
//! workload and port (which Istio also merges) are not compared.

use std::collections::{BTreeMap, BTreeSet};

use super::routes::{http_match_covers, is_envoy_catch_all, is_istio_catch_all};
use crate::analysis::references::gateway_ref;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::host::resolve_host;
use crate::mesh::virtual_service::{HttpMatchRequest, VirtualService};
use crate::mesh::{Entry, Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct VirtualServiceGatewayMerges;

impl Analyzer for VirtualServiceGatewayMerges {
    fn name(&self) -> &'static str {
        "virtualservice-gateway-merges"
    }

    fn description(&self) -> &'static str {
        "VirtualServices merged on one Gateway do not take each other's requests"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::VirtualService]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::VS_HOST_CONFLICT]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let table = snap.virtual_services();
        let domain = snap.cluster_domain();
        let mut gateways: BTreeMap<((String, String), String), Vec<u32>> = BTreeMap::new();
        for (id, vs) in table.iter().enumerate() {
            let ns = vs.metadata.namespace.as_str();
            let hosts: BTreeSet<String> =
                vs.spec.hosts.iter().map(|h| resolve_host(h, ns, domain)).collect();
            for gw in vs.spec.gateways.iter().filter_map(|g| gateway_ref(g, ns)) {
                for h in &hosts {
                    gateways.entry((gw.clone(), h.clone())).or_default().push(id as u32);
                }
            }
        }
        for ((gw, host), mut ids) in gateways {
            ids.sort_by(|a, b| {
                table.at(*a).metadata.age_key().cmp(&table.at(*b).metadata.age_key())
            });
            ids.dedup();
            if ids.len() > 1 {
                merged_gateway_routes(table.all(), &ids, &gw, &host, out);
            }
        }
    }
}

/// One Envoy route of a merged gateway host: which VirtualService and route it came from,
/// and its match (`None`: the route had none).
struct Unit {
    vs: u32,
    route: usize,
    matched: Option<HttpMatchRequest>,
}

/// Reports routes of younger VirtualServices that an older one's route shadows once the
/// VirtualServices for `host` on Gateway `gw` are merged.
fn merged_gateway_routes(
    all: &[Entry<VirtualService>],
    ids: &[u32],
    gw: &(String, String),
    host: &str,
    out: &mut Vec<Finding>,
) {
    // The routes istiod builds for this gateway, in merge order, catch-alls last.
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for &id in ids {
        let vs = &all[id as usize];
        let ns = vs.metadata.namespace.as_str();
        'routes: for (r, route) in vs.spec.http.iter().enumerate() {
            if route.matches.is_empty() {
                last.push(Unit { vs: id, route: r, matched: None });
                break;
            }
            for m in &route.matches {
                let here = m.gateways.is_empty()
                    || m.gateways.iter().any(|g| gateway_ref(g, ns).as_ref() == Some(gw));
                if !here {
                    continue;
                }
                let mut m = m.clone();
                m.gateways.clear();
                let catch_all = is_envoy_catch_all(&m);
                let stop = is_istio_catch_all(&m);
                let unit = Unit { vs: id, route: r, matched: Some(m) };
                if catch_all {
                    last.push(unit)
                } else {
                    first.push(unit)
                }
                if stop {
                    break 'routes;
                }
            }
        }
    }
    first.extend(last);

    let mut reported = BTreeSet::new();
    for (k, unit) in first.iter().enumerate() {
        let empty = HttpMatchRequest::default();
        let later = unit.matched.as_ref().unwrap_or(&empty);
        let Some(earlier) = first[..k].iter().find(|e| {
            e.vs != unit.vs && e.matched.as_ref().is_none_or(|m| http_match_covers(m, later))
        }) else {
            continue;
        };
        if !reported.insert((unit.vs, unit.route)) {
            continue;
        }
        let (this, other) = (&all[unit.vs as usize], &all[earlier.vs as usize]);
        let message = format!(
            "on Gateway {}/{}, host {host} merges this VirtualService's routes with those of {}, \
             whose spec.http[{}] comes first and matches every request spec.http[{}] here would, \
             so that route never matches there",
            gw.0,
            gw.1,
            other.metadata.key(),
            earlier.route,
            unit.route
        );
        let fix = format!(
            "Put the routes for {host} on Gateway {}/{} in one VirtualService in the order they \
             must match, or narrow spec.http[{}] of {}",
            gw.0,
            gw.1,
            earlier.route,
            other.metadata.key()
        );
        out.push(finding(&codes::VS_HOST_CONFLICT, this, message).fix(fix));
    }
}
