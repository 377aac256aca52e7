//! `injection-revisions`: namespaces that ask for a revision (or revision tag) no injector
//! webhook serves, so new pods get no sidecar.
//!
//! Codes: DM0502.
//!
//! Istio rule (<https://istio.io/latest/docs/setup/upgrade/canary/>,
//! <https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/>): `istio.io/rev=REV`
//! is served by the injector webhook labelled `istio.io/rev=REV`, or by a revision tag webhook
//! labelled `istio.io/tag=REV`; `istio-injection=enabled` by the default revision (a webhook
//! labelled `istio.io/rev=default`, or the `default` tag). Served revisions come from
//! `Snapshot::revisions`.
//!
//! Limitations: skipped when MutatingWebhookConfigurations were not read (nothing can be said
//! about what is served); a pod's own `istio.io/rev` label is not checked.

use super::{mode_of, requested_revision};
use crate::analysis::references::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct InjectionRevisions;

impl Analyzer for InjectionRevisions {
    fn name(&self) -> &'static str {
        "injection-revisions"
    }

    fn description(&self) -> &'static str {
        "Namespaces ask for revisions an injector webhook serves"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Namespace, Kind::MutatingWebhookConfiguration]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::INJECTION_REVISION_NOT_SERVED]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let served = snap.revisions();
        let mut names: Vec<String> = served.revisions.iter().cloned().collect();
        names.extend(served.tags.iter().map(|(tag, rev)| format!("{tag} (tag of {rev})")));
        for entry in snap.namespaces() {
            let ns = entry.metadata.name.as_str();
            let (mode, labels) = mode_of(snap, ns);
            let Some(wanted) = requested_revision(&mode, &labels) else { continue };
            if served.serves(&wanted) {
                continue;
            }
            let how = if wanted == "default" {
                "istio-injection=enabled asks for the default revision".to_string()
            } else {
                format!("istio.io/rev={wanted} asks for revision {wanted}")
            };
            let message = format!(
                "{how}, which no injector webhook serves (served: {}), so new pods get no sidecar",
                listed(&names)
            );
            let fix = match served.revisions.iter().next() {
                Some(rev) => format!(
                    "kubectl debatemesh inject {ns} --revision {rev} (a served revision), or \
                     install revision {wanted} or tag it: istioctl tag set {wanted} --revision {rev}"
                ),
                None => format!(
                    "Install Istio (revision {wanted}), or remove the injection label from {ns}"
                ),
            };
            out.push(finding(&codes::INJECTION_REVISION_NOT_SERVED, entry, message).fix(fix));
        }
    }
}
