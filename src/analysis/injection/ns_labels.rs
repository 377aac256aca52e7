//! `namespace-injection-labels`: namespaces whose injection labels contradict each other.
//!
//! Codes: DM0501 (IST0123).
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0123/>, istio/istio
//! `pkg/config/analysis/analyzers/injection/injection.go`): `istio-injection=enabled` together
//! with `istio.io/rev` or `istio.io/dataplane-mode=ambient`, or `istio.io/rev` together with
//! ambient mode. `istio-injection=disabled` overrides the rest, so it contradicts nothing. The
//! control plane namespace is skipped, as istioctl skips it. What wins is said in the message
//! (`mesh::injection::namespace_mode`).
//!
//! Decision: istioctl counts `istio.io/dataplane-mode` with any value; we count it only as
//! `ambient`, since `none` asks for nothing that contradicts sidecar injection.
//!
//! Limitations: pod-level labels (`istio.io/rev` on a pod in a labelled namespace) are not
//! compared with the namespace's.

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::injection::{MeshMode, namespace_mode};
use crate::mesh::{Kind, snapshot::Snapshot};

use super::{is_protected, label_map};

/// See the module documentation.
pub struct NamespaceInjectionLabels;

impl Analyzer for NamespaceInjectionLabels {
    fn name(&self) -> &'static str {
        "namespace-injection-labels"
    }

    fn description(&self) -> &'static str {
        "Namespaces carry one injection label, not contradicting ones"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Namespace]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::NS_MULTIPLE_INJECTION_LABELS]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.namespaces() {
            let ns = entry.metadata.name.as_str();
            if ns == snap.control_plane_namespace() {
                continue;
            }
            let MeshMode::Conflicting(why) = namespace_mode(&label_map(&entry.metadata.labels))
            else {
                continue;
            };
            let message = format!("carries contradicting mesh labels: {why}");
            let fix = match is_protected(snap, ns) {
                true => format!(
                    "{}: remove its mesh labels (kubectl label namespace {ns} istio-injection- \
                     istio.io/rev- istio.io/dataplane-mode-)",
                    super::do_not_inject(ns)
                ),
                false => format!(
                    "Keep one: kubectl debatemesh inject {ns} (sidecars, default revision), kubectl \
                     debatemesh inject {ns} --revision REV, or kubectl debatemesh inject {ns} \
                     --ambient"
                ),
            };
            out.push(finding(&codes::NS_MULTIPLE_INJECTION_LABELS, entry, message).fix(fix));
        }
    }
}
