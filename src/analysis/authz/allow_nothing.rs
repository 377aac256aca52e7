//! `DM0406` AllowPolicyWithoutRules: an enforced ALLOW policy without rules is the only ALLOW
//! policy of workloads, so they refuse every request.
//!
//! Istio rule: an ALLOW policy with no rules matches nothing, and once any ALLOW policy applies
//! to a workload a request must match one of them
//! (<https://istio.io/latest/docs/concepts/security/#allow-nothing-deny-all-and-allow-all-policy>,
//! istio/istio `pilot/pkg/security/authz/builder/builder.go`, which generates a never-matching
//! policy for it). The documented "allow-nothing" baseline next to other ALLOW policies is
//! intended and not reported: only workloads with no other enforced ALLOW policy that has
//! rules are. Applicable policies are `authz::policy::applicable_policies`.
//!
//! Limitations: without workloads in the input the policy is reported when no other ALLOW
//! policy with rules exists in its namespace or the root namespace.

use super::applicable;
use crate::analysis::mtls::workloads::{Workloads, short_list};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::policy::applicable_policies;
use crate::mesh::Kind;
use crate::mesh::authorization_policy::{Action, AuthorizationPolicy};
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct AllowNothing;

impl Analyzer for AllowNothing {
    fn name(&self) -> &'static str {
        "authz-allow-nothing"
    }

    fn description(&self) -> &'static str {
        "ALLOW policies without rules that leave workloads denying everything"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_ALLOW_NOTHING]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        let table = snapshot.authorization_policies();
        let grants = |p: &AuthorizationPolicy| {
            p.action() == Action::Allow && !p.is_dry_run() && !p.spec.rules.is_empty()
        };
        for (id, ap) in table.iter().enumerate() {
            if ap.action() != Action::Allow || !ap.spec.rules.is_empty() || ap.is_dry_run() {
                continue;
            }
            let selected: Vec<_> = applicable(snapshot, &workloads, ap)
                .into_iter()
                .filter(|w| w.has_proxy())
                .collect();
            let shut: Vec<String> = selected
                .iter()
                .filter(|w| {
                    !applicable_policies(snapshot, w)
                        .into_iter()
                        .any(|other| other != id as u32 && grants(table.at(other)))
                })
                .map(|w| w.key())
                .collect();
            let message = if selected.is_empty() {
                let ns = ap.metadata.namespace.as_str();
                let others = [ns, snapshot.root_namespace()]
                    .iter()
                    .flat_map(|n| table.in_namespace(n))
                    .any(|p| grants(p));
                if others {
                    continue;
                }
                "has no rules and no other ALLOW policy grants access: every request to the \
                 workloads it selects is denied"
                    .to_string()
            } else if shut.is_empty() {
                continue;
            } else {
                format!(
                    "has no rules and is the only ALLOW policy of {}: every request there is \
                     denied",
                    short_list(&shut, 3)
                )
            };
            let fix = format!(
                "add rules for the callers that should get in (kubectl debatemesh allow {} --from \
                 ns/NAMESPACE), or delete the policy if denying everything is not intended",
                ap.spec
                    .selector
                    .as_ref()
                    .and_then(|s| s.match_labels.get("app").cloned())
                    .unwrap_or_else(|| "TARGET".into())
            );
            out.push(finding(&codes::AP_ALLOW_NOTHING, ap, message).fix(fix));
        }
    }
}
