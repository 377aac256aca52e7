//! `virtualservice-subsets`: route destinations naming a subset that no DestinationRule for
//! the host defines, as the proxies that route by the VirtualService look it up.
//!
//! Codes: DM0105 (IST0101 "host+subset").
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/virtualservice/destinationrules.go`,
//! and the lookup of `pilot/pkg/model/push_context.go` described in `mesh::dr_lookup`): the
//! subset must be defined by the DestinationRule the routing proxy applies to the destination
//! host: rules in the proxy's namespace first, then rules the Service's namespace exports to
//! it, then rules the root namespace exports; the most specific host wins and rules for one
//! host in one namespace merge their subsets. Without the subset's cluster the proxy answers
//! 503. The routing proxies (`routers`) are the pods of each bound Gateway, in their own
//! namespaces (often `istio-system`, which a rule exported only to `.` of another namespace
//! does not reach), and for `mesh` the sidecars of the VirtualService's namespace and the
//! namespaces it is exported to. A subset defined only by a rule with a `workloadSelector`
//! counts for the clients it selects.
//!
//! Decision: istioctl accepts a subset from any namespace's rule for the host, whatever its
//! `exportTo`; we report what istiod's lookup gives.

use super::routers::{Router, Routers};
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
        let all_routers = Routers::new(snap);
        for entry in snap.virtual_services() {
            let ns = entry.metadata.namespace.as_str();
            // Only routes that name a subset need to know who routes by them.
            let mut routers: Option<Vec<Router>> = None;
            for d in route_destinations(&entry.spec) {
                let Some(subset) = d.destination.subset.as_deref().filter(|s| !s.is_empty()) else {
                    continue;
                };
                let routers = routers.get_or_insert_with(|| all_routers.of(entry));
                let host = resolve_host(&d.destination.host, ns, domain);
                let service_ns = parse_service_host(&host, domain).map(|(_, n)| n);
                let missing: Vec<&Router> = routers
                    .iter()
                    .filter(|r| !sees_subset(snap, r, &host, service_ns, subset))
                    .collect();
                let Some(first) = missing.first() else { continue };
                let from: Vec<String> = missing.iter().map(|r| r.describe()).collect();
                let hidden = hidden_definers(snap, &host, subset, &missing);
                let message = format!(
                    "{} sends to subset {subset} of {host}, but no DestinationRule that {} \
                     apply to {host} defines it{}, so they answer 503",
                    d.path,
                    listed(&from),
                    if hidden.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} defines it but is not exported there)", listed(&hidden))
                    }
                );
                let fix = match hidden.first() {
                    Some(rule) => format!(
                        "Add namespace {} to spec.exportTo of {rule} (or remove exportTo), or \
                         define subset {subset} in a DestinationRule in namespace {}",
                        first.namespace, first.namespace
                    ),
                    None => format!(
                        "Add subset {subset}, with labels the pods it should reach carry, to a \
                         DestinationRule for {host} visible from namespace {}, or remove \
                         {}.destination.subset",
                        first.namespace, d.path
                    ),
                };
                out.push(finding(&codes::VS_SUBSET_NOT_FOUND, entry, message).fix(fix));
            }
        }
    }
}

/// Whether `router` finds `subset` in the DestinationRule it applies to `host`.
fn sees_subset(
    snap: &Snapshot,
    router: &Router,
    host: &str,
    service_ns: Option<&str>,
    subset: &str,
) -> bool {
    let none = Labels::new();
    let labels = router.labels.as_deref().unwrap_or(&none);
    let rule = effective_destination_rule(snap, router.namespace, labels, host, service_ns);
    if rule.is_some_and(|r| r.subsets.iter().any(|s| s.name == subset)) {
        return true;
    }
    // Sidecars of a namespace: some of them may be selected by a rule with a selector.
    router.labels.is_none() && selector_rule_defines(snap, router.namespace, host, subset)
}

/// `DestinationRule ns/name` of the rules for `host` that define `subset` but that none of
/// `routers` applies (hidden by `exportTo`, or outside their lookup path).
fn hidden_definers(snap: &Snapshot, host: &str, subset: &str, routers: &[&Router]) -> Vec<String> {
    let domain = snap.cluster_domain();
    snap.destination_rules()
        .iter()
        .filter(|dr| {
            let own = dr.metadata.namespace.as_str();
            dr.spec.workload_selector.is_none()
                && dr.subset(subset).is_some()
                && hosts_match(&resolve_host(&dr.spec.host, own, domain), host)
                && !routers.iter().any(|r| r.namespace == own)
        })
        .map(|dr| format!("DestinationRule {}", dr.metadata.key()))
        .collect()
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
