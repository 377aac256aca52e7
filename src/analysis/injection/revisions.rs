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

use std::collections::BTreeMap;

use super::{do_not_inject, is_protected, mode_of, requested_revision};
use crate::analysis::references::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::injection::MeshMode;
use crate::mesh::webhook::Revisions;
use crate::mesh::{Kind, snapshot::Snapshot};

/// A revision a namespace asks for that no injector webhook serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnservedRevision {
    /// The revision (or tag) asked for: `default` for `istio-injection=enabled`.
    pub wanted: String,
    served: Vec<String>,
    first_served: Option<String>,
}

/// The revision a namespace with `mode` and `labels` asks for, when no injector webhook in
/// `served` serves it. `None` when it is served or the namespace asks for no sidecar. Shared by
/// DM0502 and `inject`, which warns before labelling.
pub fn unserved_revision(
    served: &Revisions,
    mode: &MeshMode,
    labels: &BTreeMap<String, String>,
) -> Option<UnservedRevision> {
    let wanted = requested_revision(mode, labels)?;
    if served.serves(&wanted) {
        return None;
    }
    let mut names: Vec<String> = served.revisions.iter().cloned().collect();
    names.extend(served.tags.iter().map(|(tag, rev)| format!("{tag} (tag of {rev})")));
    Some(UnservedRevision {
        wanted,
        served: names,
        first_served: served.revisions.first().cloned(),
    })
}

impl UnservedRevision {
    /// What is wrong, as DM0502 and `inject` say it.
    pub fn message(&self) -> String {
        let wanted = &self.wanted;
        let how = if wanted == "default" {
            "istio-injection=enabled asks for the default revision".to_string()
        } else {
            format!("istio.io/rev={wanted} asks for revision {wanted}")
        };
        format!(
            "{how}, which no injector webhook serves (served: {}), so new pods get no sidecar",
            listed(&self.served)
        )
    }

    /// What to do about it in namespace `ns`.
    pub fn fix(&self, ns: &str) -> String {
        let wanted = &self.wanted;
        match &self.first_served {
            Some(rev) => format!(
                "kubectl debatemesh inject {ns} --revision {rev} (a served revision), or install \
                 revision {wanted} or tag it: istioctl tag set {wanted} --revision {rev}"
            ),
            None => {
                format!(
                    "Install Istio (revision {wanted}), or remove the injection label from {ns}"
                )
            }
        }
    }
}

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
        for entry in snap.namespaces() {
            let ns = entry.metadata.name.as_str();
            let (mode, labels) = mode_of(snap, ns);
            let Some(unserved) = unserved_revision(snap.revisions(), &mode, &labels) else {
                continue;
            };
            let fix = match is_protected(snap, ns) {
                true => format!(
                    "{}: remove its injection label (kubectl label namespace {ns} \
                     istio-injection- istio.io/rev-)",
                    do_not_inject(ns)
                ),
                false => unserved.fix(ns),
            };
            let message = unserved.message();
            out.push(finding(&codes::INJECTION_REVISION_NOT_SERVED, entry, message).fix(fix));
        }
    }
}
