//! `sidecar-revisions`: pods whose sidecar was injected by another revision than the one
//! their namespace asks for.
//!
//! Codes: DM0506.
//!
//! Istio rule (<https://istio.io/latest/docs/setup/upgrade/canary/>): the injector records its
//! revision in the pod's `sidecar.istio.io/status` annotation; a namespace asks for its
//! `istio.io/rev` (a revision or a tag, resolved through the tag webhooks) or, with
//! `istio-injection=enabled`, for the default revision. A pod injected by another revision
//! keeps it until it is recreated. Control plane and gateway pods are skipped.
//!
//! Limitations: skipped when MutatingWebhookConfigurations were not read (tags cannot be
//! resolved); a pod's own `istio.io/rev` label is not considered.

use super::{is_istio_own, mode_of, requested_revision, restart_command};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::injection::{SIDECAR_STATUS_ANNOTATION, injected_revision};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct SidecarRevisions;

impl Analyzer for SidecarRevisions {
    fn name(&self) -> &'static str {
        "sidecar-revisions"
    }

    fn description(&self) -> &'static str {
        "Sidecars come from the revision their namespace asks for"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Namespace, Kind::Pod, Kind::MutatingWebhookConfiguration]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::POD_SIDECAR_REVISION_MISMATCH]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let tags = &snap.revisions().tags;
        for entry in snap.pods() {
            if entry.is_finished() || is_istio_own(entry) {
                continue;
            }
            let Some(got) =
                entry.metadata.annotation(SIDECAR_STATUS_ANNOTATION).and_then(injected_revision)
            else {
                continue;
            };
            let ns = entry.metadata.namespace.as_str();
            let (mode, labels) = mode_of(snap, ns);
            let Some(wanted) = requested_revision(&mode, &labels) else { continue };
            let resolved = tags.get(&wanted).cloned().unwrap_or_else(|| wanted.clone());
            if got == wanted || got == resolved {
                continue;
            }
            let asked = if resolved == wanted {
                format!("revision {wanted}")
            } else {
                format!("{wanted} (revision {resolved})")
            };
            let message = format!(
                "its sidecar was injected by revision {got}, but namespace {ns} asks for {asked}"
            );
            let fix = format!("{} so the pod is injected by {asked}", restart_command(entry));
            out.push(finding(&codes::POD_SIDECAR_REVISION_MISMATCH, entry, message).fix(fix));
        }
    }
}
