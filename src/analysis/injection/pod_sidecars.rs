//! `pod-sidecars`: pods without a sidecar in namespaces that inject one, and pods with a
//! sidecar in namespaces that no longer do.
//!
//! Codes: DM0503 (IST0103), DM0504.
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0103/>,
//! <https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/>, istio/istio
//! `pkg/config/analysis/analyzers/injection/injection.go`): whether a pod gets a sidecar comes
//! from its namespace's labels and its own `sidecar.istio.io/inject` and `istio.io/rev`
//! (`Snapshot::is_injected`); a sidecar is present when the injector's
//! `sidecar.istio.io/status` annotation (or an `istio-proxy` container) is. The injector only
//! acts when a pod is created, so a mismatch means the pod predates the label change. Skipped
//! as istioctl skips them: pods that opt out, host-network pods, pods in namespaces the
//! injector ignores (kube-system, kube-public, kube-node-lease, local-path-storage) or the
//! control plane namespace, and control plane and gateway pods (label `istio`).
//!
//! Limitations: a pod injected by hand (`istioctl kube-inject`) in a namespace without
//! injection is reported by DM0504; native sidecars (`initContainers`) are seen only through
//! the status annotation.

use super::{IGNORED_NAMESPACES, is_istio_own, mode_of, restart_command};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::injection::POD_INJECT;
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct PodSidecars;

impl Analyzer for PodSidecars {
    fn name(&self) -> &'static str {
        "pod-sidecars"
    }

    fn description(&self) -> &'static str {
        "Pods run a sidecar exactly when their namespace injects one"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Namespace, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::POD_MISSING_SIDECAR, &codes::POD_SIDECAR_NOT_INJECTED]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.pods() {
            let meta = &entry.metadata;
            let ns = meta.namespace.as_str();
            let opted_out = [meta.label(POD_INJECT), meta.annotation(POD_INJECT)]
                .iter()
                .any(|v| v.is_some_and(|v| v.eq_ignore_ascii_case("false")));
            let host_network = entry.spec.as_ref().and_then(|s| s.host_network) == Some(true);
            // Without its Namespace the labels that decide injection are unknown.
            let known = snap.namespaces().get("", ns).is_some();
            if !known
                || entry.is_finished()
                || opted_out
                || host_network
                || IGNORED_NAMESPACES.contains(&ns)
                || ns == snap.control_plane_namespace()
                || is_istio_own(entry)
            {
                continue;
            }
            let proxy_container = entry
                .spec
                .as_ref()
                .is_some_and(|s| s.containers.iter().any(|c| c.name == "istio-proxy"));
            let has = entry.has_sidecar() || proxy_container;
            let expected = snap.is_injected(ns, &meta.labels, &meta.annotations);
            let (mode, _) = mode_of(snap, ns);
            let restart = restart_command(entry);
            if expected && !has {
                let asked = if mode.injects() {
                    format!("namespace {ns} injects one (mode {})", mode.describe())
                } else {
                    "its own sidecar.istio.io/inject=true or istio.io/rev label asks for one"
                        .to_string()
                };
                let message = format!(
                    "runs without a sidecar although {asked}: it was created before injection \
                     was enabled, or while the injector was down"
                );
                let fix = format!("{restart} so the injector adds the sidecar");
                out.push(finding(&codes::POD_MISSING_SIDECAR, entry, message).fix(fix));
            } else if has && !expected {
                let message = format!(
                    "runs a sidecar although namespace {ns} no longer injects one (mode {})",
                    mode.describe()
                );
                let fix = format!(
                    "{restart} to drop the sidecar, or re-enable injection: kubectl debatemesh \
                     inject {ns}"
                );
                out.push(finding(&codes::POD_SIDECAR_NOT_INJECTED, entry, message).fix(fix));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::references::findings_of;

    #[test]
    fn pods_of_namespaces_not_read_are_left_alone() {
        let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: old}\n---\n\
                    apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: old\n  \
                    annotations: {sidecar.istio.io/status: '{}'}\n---\n\
                    apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  namespace: ghost\n  \
                    annotations: {sidecar.istio.io/status: '{}'}\n";
        let found: Vec<String> =
            findings_of(&PodSidecars, yaml).iter().map(|f| f.resource.to_string()).collect();
        assert_eq!(found, ["Pod old/a"]);
    }
}
