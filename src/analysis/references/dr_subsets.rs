//! `destinationrule-subsets`: DestinationRule subsets whose labels select none of the pods
//! behind the rule's host.
//!
//! Codes: DM0111 (istioctl reports the same as IST0173, DestinationRuleSubsetNotSelectPods).
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/destinationrule/subset.go`,
//! <https://istio.io/latest/docs/reference/config/networking/destination-rule/#Subset>): a
//! subset is the host's endpoints whose labels contain the subset's labels. For a Service host
//! the endpoints are the running pods its selector picks (istioctl matches against every pod
//! in the cluster; we use the Service's own pods, which is what istiod builds the subset
//! cluster from). Files without pods are judged by the pod templates of the Deployments,
//! StatefulSets and DaemonSets the Service selects, the pods a cluster running them would
//! have.
//!
//! Limitations: only Kubernetes Service hosts are checked (wildcard hosts and ServiceEntry
//! endpoints are not); a host with neither pods nor pod templates is not reported; subsets using the
//! topology labels istiod adds from Nodes and networks (`topology.kubernetes.io/*`,
//! `topology.istio.io/*`, `kubernetes.io/hostname`) are skipped, since Nodes are not read.

use std::collections::BTreeSet;

use super::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::host::{parse_service_host, resolve_host};
use crate::mesh::selector::is_subset;
use crate::mesh::snapshot::{Workload, WorkloadRef};
use crate::mesh::{Kind, snapshot::Snapshot};
use crate::output::count;

/// See the module documentation.
pub struct DestinationRuleSubsets;

/// Whether istiod adds this label to endpoints from the Node or network.
fn is_topology_label(key: &str) -> bool {
    key.starts_with("topology.kubernetes.io/")
        || key.starts_with("topology.istio.io/")
        || key == "kubernetes.io/hostname"
}

impl Analyzer for DestinationRuleSubsets {
    fn name(&self) -> &'static str {
        "destinationrule-subsets"
    }

    fn description(&self) -> &'static str {
        "DestinationRule subsets select some of the host's pods"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::DestinationRule, Kind::Service, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::DR_SUBSET_NO_PODS]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let domain = snap.cluster_domain();
        for entry in snap.destination_rules() {
            if entry.spec.subsets.is_empty() {
                continue;
            }
            let host = resolve_host(&entry.spec.host, &entry.metadata.namespace, domain);
            let Some((name, ns)) = parse_service_host(&host, domain) else { continue };
            let Some(sid) = snap.services().id(ns, name) else { continue };
            // Its pods; from files without pods, the pod templates of its controllers.
            let workloads: Vec<Workload> = snap
                .workloads_for_service(sid)
                .into_iter()
                .filter(|w| !matches!(w.reference, WorkloadRef::Selector(_)))
                .collect();
            if workloads.is_empty() {
                continue;
            }
            let templates =
                workloads.iter().all(|w| matches!(w.reference, WorkloadRef::Template(..)));
            let what = if templates {
                let names: Vec<&str> = workloads.iter().map(|w| w.name.as_ref()).collect();
                let n = count(workloads.len(), "pod template", "pod templates");
                format!("{n} ({})", listed(names))
            } else {
                count(workloads.len(), "pod", "pods")
            };
            for (i, subset) in entry.spec.subsets.iter().enumerate() {
                if subset.labels.keys().any(|k| is_topology_label(k)) {
                    continue;
                }
                if workloads.iter().any(|w| is_subset(&subset.labels, &w.labels)) {
                    continue;
                }
                let wanted: Vec<String> =
                    subset.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let seen: BTreeSet<String> = subset
                    .labels
                    .keys()
                    .flat_map(|k| {
                        workloads.iter().filter_map(move |w| {
                            let value = w.labels.get(k)?;
                            Some(format!("{k}={value}"))
                        })
                    })
                    .collect();
                let message = format!(
                    "subset {} ({}) selects none of the pods of Service {ns}/{name}: {what}, \
                     carrying {}",
                    subset.name,
                    listed(&wanted),
                    listed(&seen)
                );
                let fix = match seen.iter().next() {
                    Some(example) => format!(
                        "Set spec.subsets[{i}].labels to labels the pods carry (e.g. {example}), \
                         or deploy pods labelled {}",
                        listed(&wanted)
                    ),
                    None => format!(
                        "Label the pods of Service {ns}/{name} with {}, or correct \
                         spec.subsets[{i}].labels",
                        listed(&wanted)
                    ),
                };
                out.push(finding(&codes::DR_SUBSET_NO_PODS, entry, message).fix(fix));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_labels_are_recognised() {
        assert!(is_topology_label("topology.kubernetes.io/zone"));
        assert!(is_topology_label("topology.istio.io/subzone"));
        assert!(is_topology_label("kubernetes.io/hostname"));
        assert!(!is_topology_label("version"));
    }
}
