//! Which DestinationRule a client applies to a host, with Istio's
//! namespace precedence, `exportTo`, workload selectors and the merge of
//! several rules for one host.
//!
//! Follows istio/istio `pilot/pkg/model/push_context.go`
//! (`destinationRule`, `SetDestinationRules`, `mergeDestinationRule`) and
//! `sidecar.go` (`SidecarScope.DestinationRule`): rules in the client's
//! namespace win (whatever their `exportTo`), then rules the Service's
//! namespace exports to the client, then rules the root namespace exports;
//! within a namespace the most specific host wins. Rules for the same host
//! in one namespace merge: the oldest rule's traffic policy stands (a later
//! one fills it only if the oldest has none) and subsets add up, first
//! definition winning. A rule with a workload selector applies only to
//! matching clients in its own namespace and beats the selector-less one.

use super::destination_rule::{DestinationRule, Subset, TrafficPolicy};
use super::host::{most_specific_match, resolve_host};
use super::meta::Labels;
use super::snapshot::Snapshot;

/// The DestinationRule configuration a client uses for a host.
#[derive(Debug, Clone)]
pub struct EffectiveRule<'a> {
    /// Table indexes of the rules merged, oldest first.
    pub ids: Vec<u32>,
    /// The top-level traffic policy.
    pub traffic_policy: Option<&'a TrafficPolicy>,
    /// Subsets, first definition of each name.
    pub subsets: Vec<&'a Subset>,
}

impl<'a> EffectiveRule<'a> {
    /// The merged traffic policy for a Service port and optional subset.
    pub fn policy_for(&self, port: u16, subset: Option<&str>) -> TrafficPolicy {
        let mut probe = DestinationRule::default();
        probe.spec.traffic_policy = self.traffic_policy.cloned();
        probe.spec.subsets = self.subsets.iter().map(|s| (*s).clone()).collect();
        probe.effective_policy(port, subset)
    }

    /// The first rule (which names the configuration in findings).
    pub fn primary(&self) -> u32 {
        self.ids[0]
    }
}

/// Whether an `exportTo` list (or the mesh default when empty) makes an
/// object in `own` namespace visible from `client` namespace.
pub fn is_exported_to(export_to: &[String], default: &[String], own: &str, client: &str) -> bool {
    let list = if export_to.is_empty() { default } else { export_to };
    if list.is_empty() {
        return true;
    }
    list.iter().any(|e| match e.as_str() {
        "*" => true,
        "." => own == client,
        "~" => false,
        ns => ns == client,
    })
}

/// The DestinationRule a client in `client_ns` with `client_labels` applies
/// to `host` (an FQDN), if any. `service_ns` is the namespace of the
/// Service behind the host, when it is a Kubernetes Service.
pub fn effective_destination_rule<'a>(
    snapshot: &'a Snapshot,
    client_ns: &str,
    client_labels: &Labels,
    host: &str,
    service_ns: Option<&str>,
) -> Option<EffectiveRule<'a>> {
    let root = snapshot.root_namespace();
    let default_export = &snapshot.mesh().default_destination_rule_export_to;
    let mut order: Vec<(&str, bool)> = vec![(client_ns, true)];
    if let Some(ns) = service_ns.filter(|ns| *ns != client_ns) {
        order.push((ns, false));
    }
    if root != client_ns {
        order.push((root, false));
    }
    for (ns, local) in order {
        let rules = rules_for_host(snapshot, ns, host, |dr| {
            local || is_exported_to(&dr.spec.export_to, default_export, ns, client_ns)
        });
        if rules.is_empty() {
            continue;
        }
        return select_for_client(snapshot, rules, client_ns, client_labels);
    }
    None
}

/// Rules in `ns` whose host is the most specific match for `host`, oldest
/// first, filtered by visibility.
fn rules_for_host(
    snapshot: &Snapshot,
    ns: &str,
    host: &str,
    visible: impl Fn(&DestinationRule) -> bool,
) -> Vec<u32> {
    let table = snapshot.destination_rules();
    let domain = snapshot.cluster_domain();
    let candidates: Vec<(u32, String)> = table
        .ids_in(ns)
        .iter()
        .filter(|&&id| visible(table.at(id)))
        .map(|&id| (id, resolve_host(&table.at(id).spec.host, ns, domain)))
        .collect();
    let Some(best) = most_specific_match(host, candidates.iter().map(|(_, h)| h.as_str())) else {
        return Vec::new();
    };
    let best = best.to_string();
    let mut ids: Vec<u32> =
        candidates.into_iter().filter(|(_, h)| *h == best).map(|(id, _)| id).collect();
    ids.sort_by(|a, b| table.at(*a).metadata.age_key().cmp(&table.at(*b).metadata.age_key()));
    ids
}

/// Picks the selector rule matching the client (same namespace only), else
/// the merge of the selector-less rules.
fn select_for_client<'a>(
    snapshot: &'a Snapshot,
    ids: Vec<u32>,
    client_ns: &str,
    client_labels: &Labels,
) -> Option<EffectiveRule<'a>> {
    let table = snapshot.destination_rules();
    let selected = ids.iter().copied().find(|&id| {
        let dr = table.at(id);
        dr.metadata.namespace == client_ns
            && dr.spec.workload_selector.as_ref().is_some_and(|s| s.matches(client_labels))
    });
    let chosen: Vec<u32> = match selected {
        Some(id) => vec![id],
        None => {
            ids.into_iter().filter(|&id| table.at(id).spec.workload_selector.is_none()).collect()
        }
    };
    let first = *chosen.first()?;
    let mut rule = EffectiveRule { ids: Vec::new(), traffic_policy: None, subsets: Vec::new() };
    for id in chosen {
        let dr = &table.at(id).spec;
        rule.ids.push(id);
        if rule.traffic_policy.is_none() {
            rule.traffic_policy = dr.traffic_policy.as_ref();
        }
        for s in &dr.subsets {
            if !rule.subsets.iter().any(|have| have.name == s.name) {
                rule.subsets.push(s);
            }
        }
    }
    debug_assert_eq!(rule.ids[0], first);
    Some(rule)
}
