//! `virtualservice-subsets`: route destinations naming a subset that no DestinationRule for
//! the host defines, as the client namespace's DestinationRule lookup sees them.
//!
//! Codes: DM0105 (IST0101 "host+subset").
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/virtualservice/destinationrules.go`,
//! and the lookup of `pilot/pkg/model/push_context.go` described in `mesh::dr_lookup`): the
//! subset must be defined by the DestinationRule a client applies to the destination host:
//! rules in the client's namespace first, then rules the Service's namespace exports to it,
//! then rules the root namespace exports; the most specific host wins and rules for one host
//! in one namespace merge their subsets. Clients are the VirtualService's namespace and the
//! namespaces it is exported to. A subset defined only by a rule with a `workloadSelector`
//! counts, since the selected clients have it.
//!
//! Limitations: a gateway-bound VirtualService is judged from its own namespaces, not from
//! the gateway workload's namespace (whose lookup can differ); istioctl instead accepts a
//! subset from any namespace's rule for the host, whatever its `exportTo`.

use super::registry::client_namespaces;
use super::{listed, route_destinations};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::dr_lookup::effective_destination_rule;
use crate::mesh::host::{hosts_match, parse_service_host, resolve_host};
use crate::mesh::meta::Labels;
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct VirtualServiceSubsets;

impl Analyzer for VirtualServiceSubsets {
    fn name(&self) -> &'static str {
        "virtualservice-subsets"
    }

    fn description(&self) -> &'static str {
        "Route destinations name subsets their clients' DestinationRule defines"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::VirtualService, Kind::DestinationRule]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::VS_SUBSET_NOT_FOUND]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let domain = snap.cluster_domain();
        for entry in snap.virtual_services() {
            let ns = entry.metadata.namespace.as_str();
            let clients = client_namespaces(ns, &entry.spec.export_to);
            for d in route_destinations(&entry.spec) {
                let Some(subset) = d.destination.subset.as_deref().filter(|s| !s.is_empty()) else {
                    continue;
                };
                let host = resolve_host(&d.destination.host, ns, domain);
                let service_ns = parse_service_host(&host, domain).map(|(_, n)| n);
                let missing: Vec<&str> = clients
                    .iter()
                    .copied()
                    .filter(|client| {
                        let rule = effective_destination_rule(
                            snap,
                            client,
                            &Labels::new(),
                            &host,
                            service_ns,
                        );
                        let merged =
                            rule.is_some_and(|r| r.subsets.iter().any(|s| s.name == subset));
                        !merged && !selector_rule_defines(snap, client, &host, subset)
                    })
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                let message = format!(
                    "{} sends to subset {subset} of {host}, but no DestinationRule that clients in \
                     namespace {} apply to {host} defines it",
                    d.path,
                    listed(&missing)
                );
                let fix = format!(
                    "Add subset {subset} (with the pods' labels, e.g. version: {subset}) to the \
                     DestinationRule for {host} in namespace {}, or remove {}.destination.subset",
                    missing[0], d.path
                );
                out.push(finding(&codes::VS_SUBSET_NOT_FOUND, entry, message).fix(fix));
            }
        }
    }
}

/// Whether a DestinationRule with a workload selector in `namespace` defines `subset` for a
/// host matching `host`: the clients it selects have the subset.
fn selector_rule_defines(snap: &Snapshot, namespace: &str, host: &str, subset: &str) -> bool {
    let domain = snap.cluster_domain();
    snap.destination_rules().in_namespace(namespace).any(|dr| {
        dr.spec.workload_selector.is_some()
            && hosts_match(&resolve_host(&dr.spec.host, namespace, domain), host)
            && dr.subset(subset).is_some()
    })
}
