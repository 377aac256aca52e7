//! `destinationrule-conflicts`: DestinationRules that istiod merges for one host, where a
//! younger rule's traffic policy or subset is dropped.
//!
//! Codes: DM0203.
//!
//! Istio rule (istio/istio `pilot/pkg/model/destination_rule.go` `mergeDestinationRule`;
//! <https://istio.io/latest/docs/ops/best-practices/traffic-management/#split-virtual-services>):
//! rules in one namespace for the same host (short names resolved in that namespace), with the
//! same `exportTo` and the same `workloadSelector` (none, or equal labels), are merged oldest
//! first (creation time, then name): subsets add up, the first definition of a subset name
//! wins, and the oldest top-level `trafficPolicy` wins, a younger one filling in only when no
//! older rule has one. So a conflict is a younger rule whose `trafficPolicy` or subset is
//! ignored. Rules that differ in namespace, `exportTo` or selector are not merged; the lookup
//! picks one of them per client, which is not a conflict.
//!
//! Limitations: a rule whose `exportTo` is a superset of another's is also merged by istiod
//! into that one; this partial merge is not reported.

use std::collections::BTreeMap;

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::host::resolve_host;
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct DestinationRuleConflicts;

/// What decides whether istiod merges two rules.
type MergeKey = (String, String, Vec<String>, Option<Vec<(String, String)>>);

impl Analyzer for DestinationRuleConflicts {
    fn name(&self) -> &'static str {
        "destinationrule-conflicts"
    }

    fn description(&self) -> &'static str {
        "DestinationRules merged for one host do not drop each other's settings"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::DestinationRule]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::DR_HOST_CONFLICT]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let table = snap.destination_rules();
        let domain = snap.cluster_domain();
        let default = &snap.mesh().default_destination_rule_export_to;
        let mut groups: BTreeMap<MergeKey, Vec<u32>> = BTreeMap::new();
        for (id, dr) in table.iter().enumerate() {
            let ns = dr.metadata.namespace.clone();
            let host = resolve_host(&dr.spec.host, &ns, domain);
            let mut export = if dr.spec.export_to.is_empty() {
                default.clone()
            } else {
                dr.spec.export_to.clone()
            };
            if export.is_empty() {
                export.push("*".to_string());
            }
            export.sort();
            export.dedup();
            let selector = dr
                .spec
                .workload_selector
                .as_ref()
                .map(|s| s.match_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            groups.entry((ns, host, export, selector)).or_default().push(id as u32);
        }

        for ((_, host, _, _), mut ids) in groups {
            if ids.len() < 2 {
                continue;
            }
            ids.sort_by(|a, b| {
                table.at(*a).metadata.age_key().cmp(&table.at(*b).metadata.age_key())
            });
            let mut policy_from: Option<u32> = None;
            let mut subsets: BTreeMap<&str, u32> = BTreeMap::new();
            for &id in &ids {
                let dr = table.at(id);
                let mut lost = Vec::new();
                if dr.spec.traffic_policy.is_some() {
                    match policy_from {
                        Some(first) => lost.push(format!(
                            "its trafficPolicy is ignored for that of {}",
                            table.at(first).metadata.key()
                        )),
                        None => policy_from = Some(id),
                    }
                }
                for s in &dr.spec.subsets {
                    match subsets.get(s.name.as_str()) {
                        Some(&first) if first != id => lost.push(format!(
                            "its subset {} is ignored for the one in {}",
                            s.name,
                            table.at(first).metadata.key()
                        )),
                        Some(_) => {}
                        None => {
                            subsets.insert(&s.name, id);
                        }
                    }
                }
                if lost.is_empty() {
                    continue;
                }
                let message = format!(
                    "is merged with older DestinationRules for {host} in namespace {} and {}",
                    dr.metadata.namespace,
                    lost.join("; ")
                );
                let fix = format!(
                    "Keep one DestinationRule for {host} in namespace {}: move this rule's \
                     settings into the older one and delete it",
                    dr.metadata.namespace
                );
                out.push(finding(&codes::DR_HOST_CONFLICT, dr, message).fix(fix));
            }
        }
    }
}
