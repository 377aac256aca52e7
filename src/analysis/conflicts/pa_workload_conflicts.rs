//! `peerauthentication-workload-conflicts`: several PeerAuthentications with a selector that
//! select the same pod.
//!
//! Codes: DM0205.
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/security/peer_authentication/>,
//! istio/istio `pilot/pkg/security/authn/policy_applier.go` `ComposePeerAuthentication`): a
//! policy with `matchLabels` in the pod's namespace applies at the workload level; when
//! several select one pod, the oldest (creation time, then name) is used and the others are
//! ignored for it. Selector policies in the root namespace are ignored by Istio and not
//! compared. Each ignored policy is reported once, naming a pod and the policy used.
//!
//! Limitations: only pods are matched (pod templates of controllers without pods are not);
//! objects without a creation time count as oldest, ordered by name.

use std::collections::BTreeMap;

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::selector::is_selectorless;
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct PeerAuthenticationWorkloadConflicts;

impl Analyzer for PeerAuthenticationWorkloadConflicts {
    fn name(&self) -> &'static str {
        "peerauthentication-workload-conflicts"
    }

    fn description(&self) -> &'static str {
        "At most one selector PeerAuthentication selects each pod"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::PeerAuthentication, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::PA_SAME_LEVEL_CONFLICT]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let table = snap.peer_authentications();
        let root = snap.root_namespace();
        // For each ignored policy: the first pod found and the policy used for it.
        let mut ignored: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        for ns in table.namespaces().filter(|ns| *ns != root) {
            let mut selectors: Vec<u32> = table
                .ids_in(ns)
                .iter()
                .copied()
                .filter(|&id| !is_selectorless(table.at(id).spec.selector.as_ref()))
                .collect();
            if selectors.len() < 2 {
                continue;
            }
            selectors.sort_by(|a, b| {
                table.at(*a).metadata.age_key().cmp(&table.at(*b).metadata.age_key())
            });
            for &pod in snap.pods().ids_in(ns) {
                let labels = &snap.pods().at(pod).metadata.labels;
                let mut matching = selectors.iter().copied().filter(|&id| {
                    table.at(id).spec.selector.as_ref().is_some_and(|s| s.matches(labels))
                });
                let Some(used) = matching.next() else { continue };
                for id in matching {
                    ignored.entry(id).or_insert((pod, used));
                }
            }
        }
        for (id, (pod, used)) in ignored {
            let pa = table.at(id);
            let used = table.at(used);
            let pod = snap.pods().at(pod);
            let message = format!(
                "selects pod {}, as the older {} does; Istio uses {} (mode {}) for it and ignores \
                 this one (mode {})",
                pod.metadata.key(),
                used.metadata.key(),
                used.metadata.key(),
                used.mode(),
                pa.mode()
            );
            let fix = format!(
                "Give each workload one selector policy: narrow spec.selector.matchLabels of {} or \
                 of {}, or merge them",
                pa.metadata.key(),
                used.metadata.key()
            );
            out.push(finding(&codes::PA_SAME_LEVEL_CONFLICT, pa, message).fix(fix));
        }
    }
}
