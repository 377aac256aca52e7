//! `DM0401` AuthorizationPolicySelectsNoPods: a policy applies to no workload with a proxy, so
//! nothing enforces it.
//!
//! Istio rule: IST0127 NoMatchingWorkloadsFound, as istio/istio
//! `pkg/config/analysis/analyzers/authz/authorizationpolicies.go` checks it: a selector in the
//! root namespace must match a meshed pod in some namespace, a selector elsewhere one in its
//! own namespace, and a namespace-wide policy needs a meshed pod in its namespace
//! (<https://istio.io/latest/docs/reference/config/analysis/ist0127/>). Selection is
//! `authz::policy::is_applicable`, as the evaluator selects.
//!
//! Limitations: policies with `targetRefs` (gateways, waypoints) are not checked. Workloads
//! are the pods of the input, or the templates of controllers whose pods it lacks.

use super::applicable;
use crate::analysis::mtls::format_selector;
use crate::analysis::mtls::workloads::{Workloads, short_list};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::Kind;
use crate::mesh::selector::is_selectorless;
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct AuthorizationPolicySelectsNoPods;

impl Analyzer for AuthorizationPolicySelectsNoPods {
    fn name(&self) -> &'static str {
        "authz-policy-selects-no-pods"
    }

    fn description(&self) -> &'static str {
        "AuthorizationPolicies that apply to no workload with a proxy"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_SELECTS_NO_PODS]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        let root = snapshot.root_namespace();
        for ap in snapshot.authorization_policies() {
            let ns = ap.metadata.namespace.as_str();
            let selectorless = is_selectorless(ap.spec.selector.as_ref());
            if !ap.target_refs().is_empty() || (selectorless && ns == root) {
                continue;
            }
            let selected = applicable(snapshot, &workloads, ap);
            if selected.iter().any(|w| w.has_proxy()) {
                continue;
            }
            let scope =
                if ns == root { "any namespace".to_string() } else { format!("namespace {ns}") };
            let what = match ap.spec.selector.as_ref().filter(|_| !selectorless) {
                Some(s) => format!("selector {}", format_selector(s)),
                None => "the namespace-wide policy".to_string(),
            };
            let message = if selected.is_empty() {
                format!("{what} matches no workload in {scope}, so it applies to nothing")
            } else {
                let names: Vec<String> = selected.iter().map(|w| w.key()).collect();
                format!(
                    "{what} matches only workloads without a sidecar ({}), so nothing enforces it",
                    short_list(&names, 3)
                )
            };
            let fix = if selected.is_empty() {
                let mut apps: Vec<String> = workloads
                    .in_scope(snapshot, ns)
                    .filter(|w| w.has_proxy())
                    .filter_map(|w| w.labels.get("app").map(|a| format!("app={a}")))
                    .collect();
                apps.sort();
                apps.dedup();
                match apps.is_empty() {
                    true => format!(
                        "deploy the workloads first, or delete the policy ({scope} has no meshed workloads)"
                    ),
                    false => format!(
                        "correct spec.selector.matchLabels; meshed workloads{} carry {}",
                        if ns == root { String::new() } else { format!(" in {scope}") },
                        short_list(&apps, 4)
                    ),
                }
            } else {
                let target = selected[0].namespace;
                format!("inject the sidecar (kubectl debatemesh inject {target} --restart)")
            };
            out.push(finding(&codes::AP_SELECTS_NO_PODS, ap, message).fix(fix));
        }
    }
}
