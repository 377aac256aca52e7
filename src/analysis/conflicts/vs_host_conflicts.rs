//! `virtualservice-host-conflicts`: VirtualServices that claim one host for the sidecars of
//! one namespace, and VirtualServices merged on one Gateway where the older one takes the
//! requests of the younger one's route.
//!
//! Codes: DM0202 (IST0109).
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0109/>, istio/istio
//! `pkg/config/analysis/analyzers/virtualservice/conflictingmeshgatewayhosts.go`): for the
//! `mesh` gateway a host gets the routes of one VirtualService only; two mesh VirtualServices
//! conflict when they share a host (short names resolved in their namespaces) and are visible
//! in a common namespace (`exportTo`, default mesh `defaultVirtualServiceExportTo`). On a
//! Gateway, VirtualServices for one host are merged instead (istio/istio
//! `pilot/pkg/networking/core/route/route.go` `CombineVHostRoutes`): their routes are joined
//! oldest first, with catch-all routes moved behind the others; a younger VirtualService loses
//! the requests an older one's route already matches.
//!
//! Decision: istioctl also pairs a namespace-scoped host with a wildcard host exported
//! everywhere; sidecars then pick the most specific domain, so we report only equal hosts.
//!
//! Limitations: hosts merge on a Gateway only when equal (a wildcard VirtualService host that
//! the server narrows is not followed); VirtualServices bound to different Gateways on one
//! gateway workload and port (which Istio also merges) are not compared.

use std::collections::{BTreeMap, BTreeSet};

use super::routes::{http_match_covers, is_envoy_catch_all, is_istio_catch_all};
use crate::analysis::references::gateway_ref;
use crate::analysis::{Analyzer, Finding, codes, finding, references::listed};
use crate::mesh::host::resolve_host;
use crate::mesh::virtual_service::{HttpMatchRequest, VirtualService};
use crate::mesh::{Entry, Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct VirtualServiceHostConflicts;

/// Where a VirtualService is visible: every namespace, or these.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Visibility {
    All,
    Some(BTreeSet<String>),
}

fn visibility(export_to: &[String], default: &[String], own: &str) -> Visibility {
    let list = if export_to.is_empty() { default } else { export_to };
    if list.is_empty() || list.iter().any(|e| e == "*") {
        return Visibility::All;
    }
    let set = list
        .iter()
        .filter(|e| e.as_str() != "~")
        .map(|e| if e == "." { own.to_string() } else { e.clone() })
        .collect();
    Visibility::Some(set)
}

/// The namespaces both see, as words; `None` when they share none.
fn shared(a: &Visibility, b: &Visibility) -> Option<String> {
    match (a, b) {
        (Visibility::All, Visibility::All) => Some("every namespace".to_string()),
        (Visibility::All, Visibility::Some(s)) | (Visibility::Some(s), Visibility::All) => {
            (!s.is_empty()).then(|| format!("namespace {}", listed(s)))
        }
        (Visibility::Some(x), Visibility::Some(y)) => {
            let both: Vec<&String> = x.intersection(y).collect();
            (!both.is_empty()).then(|| format!("namespace {}", listed(both)))
        }
    }
}

impl Analyzer for VirtualServiceHostConflicts {
    fn name(&self) -> &'static str {
        "virtualservice-host-conflicts"
    }

    fn description(&self) -> &'static str {
        "No two VirtualServices fight over one host on the mesh or on one Gateway"
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
        let default = &snap.mesh().default_virtual_service_export_to;
        let mut mesh: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut gateways: BTreeMap<((String, String), String), Vec<u32>> = BTreeMap::new();
        for (id, vs) in table.iter().enumerate() {
            let ns = vs.metadata.namespace.as_str();
            let hosts: BTreeSet<String> =
                vs.spec.hosts.iter().map(|h| resolve_host(h, ns, domain)).collect();
            for g in vs.spec.effective_gateways() {
                match gateway_ref(g, ns) {
                    None => hosts
                        .iter()
                        .for_each(|h| mesh.entry(h.clone()).or_default().push(id as u32)),
                    Some(gw) => hosts.iter().for_each(|h| {
                        gateways.entry((gw.clone(), h.clone())).or_default().push(id as u32)
                    }),
                }
            }
        }

        for (host, ids) in &mesh {
            for &a in ids {
                let va = table.at(a);
                let vis_a = visibility(&va.spec.export_to, default, &va.metadata.namespace);
                for &b in ids.iter().filter(|&&b| b != a) {
                    let vb = table.at(b);
                    let vis_b = visibility(&vb.spec.export_to, default, &vb.metadata.namespace);
                    let Some(where_) = shared(&vis_a, &vis_b) else { continue };
                    let message = format!(
                        "claims host {host} for the mesh, as VirtualService {} does; sidecars in \
                         {where_} use one of them and ignore the other",
                        vb.metadata.key()
                    );
                    let fix = format!(
                        "Merge the routes of {} and {} into one VirtualService for {host}, or \
                         set exportTo so that each is visible in different namespaces",
                        va.metadata.key(),
                        vb.metadata.key()
                    );
                    out.push(finding(&codes::VS_HOST_CONFLICT, va, message).fix(fix));
                }
            }
        }

        for ((gw, host), ids) in &gateways {
            let mut ids = ids.clone();
            ids.sort_by(|a, b| {
                table.at(*a).metadata.age_key().cmp(&table.at(*b).metadata.age_key())
            });
            ids.dedup();
            if ids.len() > 1 {
                merged_gateway_routes(table.all(), &ids, gw, host, out);
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
        let (young, old) = (&all[unit.vs as usize], &all[earlier.vs as usize]);
        let message = format!(
            "on Gateway {}/{}, host {host} merges {} (older) before this VirtualService; its \
             spec.http[{}] matches every request spec.http[{}] here would, so this route never \
             matches there",
            gw.0,
            gw.1,
            old.metadata.key(),
            earlier.route,
            unit.route
        );
        let fix = format!(
            "Put the routes for {host} on Gateway {}/{} in one VirtualService in the order they \
             must match, or narrow spec.http[{}] of {}",
            gw.0,
            gw.1,
            earlier.route,
            old.metadata.key()
        );
        out.push(finding(&codes::VS_HOST_CONFLICT, young, message).fix(fix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn visibility_overlaps_follow_export_to() {
        let all = visibility(&[], &[], "a");
        let own_a = visibility(&list(&["."]), &[], "a");
        let own_b = visibility(&list(&["."]), &[], "b");
        let to_b = visibility(&list(&["b"]), &[], "a");
        let none = visibility(&list(&["~"]), &[], "a");
        assert_eq!(shared(&all, &all).as_deref(), Some("every namespace"));
        assert_eq!(shared(&all, &own_a).as_deref(), Some("namespace a"));
        assert_eq!(shared(&own_a, &own_b), None);
        assert_eq!(shared(&to_b, &own_b).as_deref(), Some("namespace b"));
        assert_eq!(shared(&all, &none), None);
        assert_eq!(visibility(&[], &list(&["."]), "a"), own_a);
    }
}
