//! `namespace-not-injected`: namespaces with running pods and no injection label, so their
//! workloads are outside the mesh.
//!
//! Codes: DM0505 (IST0102).
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0102/>, istio/istio
//! `pkg/config/analysis/analyzers/injection/injection.go`): a namespace with neither
//! `istio-injection` (any value: `disabled` marks it as deliberately outside) nor
//! `istio.io/rev`, and not in ambient mode, is not enabled for injection. The control plane
//! and root namespaces and the namespaces the injector ignores are skipped.
//!
//! Decision: istioctl reports every such namespace; we report only those with running pods,
//! since an empty namespace puts nothing outside the mesh.
//!
//! Limitations: the injector's `enableNamespacesByDefault` setting (which injects unlabelled
//! namespaces) is not read; pods that opt in one by one still leave the namespace reported.

use super::{IGNORED_NAMESPACES, label_map};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::injection::{DATAPLANE_MODE_LABEL, INJECTION_LABEL, REVISION_LABEL};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct NamespaceNotInjected;

impl Analyzer for NamespaceNotInjected {
    fn name(&self) -> &'static str {
        "namespace-not-injected"
    }

    fn description(&self) -> &'static str {
        "Namespaces with workloads say whether they are in the mesh"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Namespace, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::NAMESPACE_NOT_INJECTED]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.namespaces() {
            let ns = entry.metadata.name.as_str();
            if IGNORED_NAMESPACES.contains(&ns)
                || ns == snap.control_plane_namespace()
                || ns == snap.root_namespace()
            {
                continue;
            }
            let labels = label_map(&entry.metadata.labels);
            let ambient = labels.get(DATAPLANE_MODE_LABEL).map(String::as_str) == Some("ambient");
            let has_rev = labels.get(REVISION_LABEL).is_some_and(|r| !r.is_empty());
            if labels.contains_key(INJECTION_LABEL) || has_rev || ambient {
                continue;
            }
            let running: Vec<_> =
                snap.pods().in_namespace(ns).filter(|p| !p.is_finished()).collect();
            let pods = running.len();
            let bare = running.iter().filter(|p| p.resolved.controller.is_none()).count();
            if pods == 0 {
                continue;
            }
            let message = format!(
                "has {} but no injection label, so they run outside the mesh",
                crate::output::count(pods, "running pod", "running pods")
            );
            // `--restart` restarts controllers only: bare pods are recreated by hand.
            let bare = match bare {
                0 => String::new(),
                n => format!(
                    " ({} no controller restarts: delete and recreate {})",
                    crate::output::count(n, "pod", "pods"),
                    if n == 1 { "it" } else { "them" }
                ),
            };
            let fix = format!(
                "kubectl debatemesh inject {ns} --restart{bare}, or kubectl label namespace {ns} \
                 istio-injection=disabled to mark it as outside the mesh on purpose"
            );
            out.push(finding(&codes::NAMESPACE_NOT_INJECTED, entry, message).fix(fix));
        }
    }
}
