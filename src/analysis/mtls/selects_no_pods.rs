//! `DM0306` PeerAuthenticationSelectsNoPods: a PeerAuthentication's selector matches no
//! workload, or sits in the root namespace, where istiod ignores selectors.
//!
//! Istio rule: IST0127 NoMatchingWorkloadsFound
//! (<https://istio.io/latest/docs/reference/config/analysis/ist0127/>); a policy with a
//! selector applies to the workloads of its own namespace whose labels include the selector,
//! and a selector policy in the root namespace is never a workload-level policy (istio/istio
//! `pilot/pkg/security/authn/policy_applier.go`, `ComposePeerAuthentication`).
//!
//! Limitations: workloads are the pods of the input, or the pod templates of controllers whose
//! pods it lacks; pods created later by other controllers are not known.

use super::workloads::{Workloads, short_list};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::Kind;
use crate::mesh::selector::is_selectorless;
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct PeerAuthenticationSelectsNoPods;

impl Analyzer for PeerAuthenticationSelectsNoPods {
    fn name(&self) -> &'static str {
        "mtls-peer-authentication-selects-no-pods"
    }

    fn description(&self) -> &'static str {
        "PeerAuthentication selectors that match no workload"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::PeerAuthentication, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::PA_SELECTS_NO_PODS]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        let root = snapshot.root_namespace();
        for pa in snapshot.peer_authentications() {
            let Some(selector) =
                pa.spec.selector.as_ref().filter(|_| !is_selectorless(pa.spec.selector.as_ref()))
            else {
                continue;
            };
            let ns = pa.metadata.namespace.as_str();
            let wanted = format_selector(selector);
            let (message, fix) = if ns == root {
                (
                    format!(
                        "has selector {wanted} in the root namespace {root}, where istiod ignores \
                         workload selectors: it applies to no workload"
                    ),
                    "move it to the namespace of the workloads it selects, or drop the selector \
                     to make it mesh-wide"
                        .to_string(),
                )
            } else if workloads.in_namespace(ns).any(|w| selector.matches(&w.labels)) {
                continue;
            } else {
                let mut apps: Vec<String> = workloads
                    .in_namespace(ns)
                    .filter_map(|w| w.labels.get("app").map(|a| format!("app={a}")))
                    .collect();
                apps.sort();
                apps.dedup();
                let hint = if apps.is_empty() {
                    format!("namespace {ns} has no workloads")
                } else {
                    format!("workloads in {ns} carry {}", short_list(&apps, 4))
                };
                (
                    format!("selector {wanted} matches no workload in namespace {ns}"),
                    format!("correct spec.selector.matchLabels ({hint})"),
                )
            };
            out.push(finding(&codes::PA_SELECTS_NO_PODS, pa, message).fix(fix));
        }
    }
}

/// `app=web,version=v1`.
pub fn format_selector(selector: &crate::mesh::selector::WorkloadSelector) -> String {
    let pairs: Vec<String> =
        selector.match_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}
