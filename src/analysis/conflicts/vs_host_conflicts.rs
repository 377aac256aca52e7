//! `virtualservice-host-conflicts`: VirtualServices that claim one host for the sidecars of
//! one namespace.
//!
//! Codes: DM0202 (IST0109).
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0109/>, istio/istio
//! `pkg/config/analysis/analyzers/virtualservice/conflictingmeshgatewayhosts.go`): for the
//! `mesh` gateway a host gets the routes of one VirtualService only (sidecars drop the
//! duplicate domain); two mesh VirtualServices conflict when they share a host (short names
//! resolved in their namespaces) and are visible in a common namespace (`exportTo`, default
//! mesh `defaultVirtualServiceExportTo`). VirtualServices on ingress Gateways are merged
//! instead, which `virtualservice-gateway-merges` checks.
//!
//! Decision: istioctl also pairs a namespace-scoped host with a wildcard host exported
//! everywhere; sidecars then pick the most specific domain, so we report only equal hosts.
//!
//! Limitations: which of the two VirtualServices sidecars keep (their own namespace's first,
//! then the oldest) is not worked out; a Sidecar resource narrowing what a namespace imports
//! is not considered.

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::{Analyzer, Finding, codes, finding, references::listed};
use crate::mesh::host::resolve_host;
use crate::mesh::virtual_service::MESH_GATEWAY;
use crate::mesh::{Kind, snapshot::Snapshot};

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

/// The namespaces both see; `None` when they share none.
fn shared(a: &Visibility, b: &Visibility) -> Option<Visibility> {
    let both = match (a, b) {
        (Visibility::All, Visibility::All) => return Some(Visibility::All),
        (Visibility::All, Visibility::Some(s)) | (Visibility::Some(s), Visibility::All) => {
            s.clone()
        }
        (Visibility::Some(x), Visibility::Some(y)) => x.intersection(y).cloned().collect(),
    };
    (!both.is_empty()).then_some(Visibility::Some(both))
}

/// `every namespace` or `namespace a, b`.
fn describe(v: &Visibility) -> String {
    match v {
        Visibility::All => "every namespace".to_string(),
        Visibility::Some(s) => format!("namespace {}", listed(s)),
    }
}

impl Analyzer for VirtualServiceHostConflicts {
    fn name(&self) -> &'static str {
        "virtualservice-host-conflicts"
    }

    fn description(&self) -> &'static str {
        "No two mesh VirtualServices claim one host for the same namespace"
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
        for (id, vs) in table.iter().enumerate() {
            if !vs.spec.effective_gateways().contains(&MESH_GATEWAY) {
                continue;
            }
            let ns = vs.metadata.namespace.as_str();
            let hosts: BTreeSet<String> =
                vs.spec.hosts.iter().map(|h| resolve_host(h, ns, domain)).collect();
            for h in hosts {
                mesh.entry(h).or_default().push(id as u32);
            }
        }

        for (host, ids) in &mesh {
            for &a in ids {
                let va = table.at(a);
                let vis_a = visibility(&va.spec.export_to, default, &va.metadata.namespace);
                let mut others = Vec::new();
                let mut seen: Option<Visibility> = None;
                for &b in ids.iter().filter(|&&b| b != a) {
                    let vb = table.at(b);
                    let vis_b = visibility(&vb.spec.export_to, default, &vb.metadata.namespace);
                    let Some(both) = shared(&vis_a, &vis_b) else { continue };
                    others.push(vb.metadata.key());
                    seen = Some(match (seen, both) {
                        (Some(Visibility::All), _) | (_, Visibility::All) => Visibility::All,
                        (Some(Visibility::Some(x)), Visibility::Some(y)) => {
                            Visibility::Some(x.union(&y).cloned().collect())
                        }
                        (None, y) => y,
                    });
                }
                let Some(seen) = seen else { continue };
                let message = format!(
                    "claims host {host} for the mesh, as VirtualService {} also does; sidecars in \
                     {} use one of them and ignore the others' routes",
                    listed(&others),
                    describe(&seen)
                );
                let fix = format!(
                    "Merge the routes for {host} into one VirtualService (from {} and {}), or set \
                     exportTo so that each is visible in different namespaces",
                    va.metadata.key(),
                    listed(&others)
                );
                out.push(finding(&codes::VS_HOST_CONFLICT, va, message).fix(fix));
            }
        }
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
        let words = |a, b| shared(a, b).map(|v| describe(&v));
        assert_eq!(words(&all, &all).as_deref(), Some("every namespace"));
        assert_eq!(words(&all, &own_a).as_deref(), Some("namespace a"));
        assert_eq!(words(&own_a, &own_b), None);
        assert_eq!(words(&to_b, &own_b).as_deref(), Some("namespace b"));
        assert_eq!(words(&all, &none), None);
        assert_eq!(visibility(&[], &list(&["."]), "a"), own_a);
    }
}
