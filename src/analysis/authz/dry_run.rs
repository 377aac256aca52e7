//! `DM0411` AuthorizationPolicyDryRun: a policy carries `istio.io/dry-run`. When the value is
//! true the policy is evaluated and logged but never enforced; when it is not a boolean istiod
//! logs an error and enforces the policy, which is reported too.
//!
//! Istio rule: <https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/>
//! (the annotation, and its limit to ALLOW and DENY policies), istio/istio
//! `pilot/pkg/security/authz/builder/builder.go` (`isDryRun`, Go's `strconv.ParseBool`; shadow
//! rules). `AuthorizationPolicy::is_dry_run` reads the value as istiod does.
//!
//! Limitations: none known.

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::Kind;
use crate::mesh::authorization_policy::Action;
use crate::mesh::meta::ANNOTATION_DRY_RUN;
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct DryRun;

/// The values Go's `strconv.ParseBool` reads as false.
const FALSE: [&str; 6] = ["0", "f", "F", "false", "FALSE", "False"];

impl Analyzer for DryRun {
    fn name(&self) -> &'static str {
        "authz-dry-run"
    }

    fn description(&self) -> &'static str {
        "AuthorizationPolicies in dry-run mode"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_DRY_RUN]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        for ap in snapshot.authorization_policies() {
            let Some(value) = ap.metadata.annotation(ANNOTATION_DRY_RUN) else { continue };
            let action = ap.action();
            let (message, fix) = if ap.is_dry_run() {
                let note = match action {
                    Action::Allow | Action::Deny => "",
                    _ => " (Istio documents dry-run for ALLOW and DENY policies only)",
                };
                (
                    format!(
                        "the {action} policy is in dry-run mode: it is evaluated and logged but \
                         never enforced{note}"
                    ),
                    format!(
                        "remove the {ANNOTATION_DRY_RUN} annotation (kubectl annotate \
                         authorizationpolicy {} -n {} {ANNOTATION_DRY_RUN}-) to enforce it",
                        ap.metadata.name, ap.metadata.namespace
                    ),
                )
            } else if FALSE.contains(&value) {
                continue;
            } else {
                (
                    format!(
                        "{ANNOTATION_DRY_RUN}: {value:?} is not a boolean, so istiod enforces the \
                         {action} policy"
                    ),
                    format!("set {ANNOTATION_DRY_RUN} to \"true\" or \"false\""),
                )
            };
            out.push(finding(&codes::AP_DRY_RUN, ap, message).fix(fix));
        }
    }
}
