//! Injection: namespace labels that contradict each other or ask for a revision nobody
//! serves, and pods whose sidecar does not match what their namespace asks for
//! (DM0501-DM0506). The injection rules themselves live in `mesh::injection` and
//! `Snapshot::is_injected`; this module holds what the analyzers share.

#[cfg(test)]
mod fix_tests;
mod ns_labels;
mod ns_not_injected;
mod pod_sidecars;
mod revisions;
mod sidecar_revisions;

pub use ns_labels::NamespaceInjectionLabels;
pub use ns_not_injected::NamespaceNotInjected;
pub use pod_sidecars::PodSidecars;
pub use revisions::{InjectionRevisions, UnservedRevision, unserved_revision};
pub use sidecar_revisions::SidecarRevisions;

use std::collections::BTreeMap;

use crate::mesh::injection::{INJECTION_LABEL, MeshMode, REVISION_LABEL, namespace_mode};
use crate::mesh::meta::Labels;
use crate::mesh::pod::Pod;
use crate::mesh::snapshot::Snapshot;

/// Namespaces the injector never injects (istio/istio `pkg/kube/inject` `IgnoredNamespaces`).
pub(crate) const IGNORED_NAMESPACES: &[&str] =
    &["kube-system", "kube-public", "kube-node-lease", "local-path-storage"];

/// Labels as the map `mesh::injection` reads.
pub(crate) fn label_map(labels: &Labels) -> BTreeMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The mode a namespace's labels give (`Off` for a namespace that was not read).
pub(crate) fn mode_of(snap: &Snapshot, namespace: &str) -> (MeshMode, BTreeMap<String, String>) {
    let labels = snap
        .namespaces()
        .get("", namespace)
        .map(|n| label_map(&n.metadata.labels))
        .unwrap_or_default();
    (namespace_mode(&labels), labels)
}

/// The revision (or tag) a namespace asks the injector for: `default` for
/// `istio-injection=enabled` (which wins over `istio.io/rev`), else its `istio.io/rev`.
pub(crate) fn requested_revision(
    mode: &MeshMode,
    labels: &BTreeMap<String, String>,
) -> Option<String> {
    match mode {
        MeshMode::Sidecar => Some("default".to_string()),
        MeshMode::Revision(r) => Some(r.clone()),
        MeshMode::Conflicting(_)
            if labels.get(INJECTION_LABEL).map(String::as_str) == Some("enabled") =>
        {
            Some("default".to_string())
        }
        MeshMode::Conflicting(_) => labels.get(REVISION_LABEL).cloned(),
        MeshMode::Ambient | MeshMode::Off => None,
    }
}

/// Whether a pod belongs to the control plane or is a gateway, which istioctl's injection
/// checks leave alone (label `istio` or `release: istio`, or a gateway proxy).
pub(crate) fn is_istio_own(pod: &Pod) -> bool {
    let labels = &pod.metadata.labels;
    labels.contains_key("istio")
        || pod.metadata.label("release") == Some("istio")
        || pod.is_gateway()
}

/// The command that recreates a pod's workload. A bare pod has no controller to restart it
/// (`inject --restart` leaves it alone): it must be deleted and created again.
pub(crate) fn restart_command(pod: &Pod) -> String {
    let ns = &pod.metadata.namespace;
    match pod.resolved.controller.as_deref() {
        Some(c) if !c.starts_with("ReplicaSet/") => {
            format!("kubectl rollout restart {} -n {ns}", c.to_ascii_lowercase())
        }
        None => bare_pod_recreate(ns, &pod.metadata.name),
        Some(_) => format!(
            "recreate pod {ns}/{} (kubectl debatemesh inject {ns} --restart)",
            pod.metadata.name
        ),
    }
}

/// How a bare pod gets a sidecar: nothing restarts it, so it is deleted and created again.
pub(crate) fn bare_pod_recreate(ns: &str, name: &str) -> String {
    format!(
        "recreate pod {ns}/{name}, which no controller restarts: kubectl delete pod {name} -n {ns}, \
         then create it again from its manifest"
    )
}

/// Namespaces `inject` refuses without --force: Kubernetes' own, whose workloads stay outside
/// the mesh (the control plane namespace is protected too: `is_protected`).
pub(crate) const PROTECTED_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// Whether fix texts must never tell the user to inject `ns`: a Kubernetes system namespace or
/// the control plane namespace, which `inject` refuses without --force.
pub(crate) fn is_protected(snap: &Snapshot, ns: &str) -> bool {
    PROTECTED_NAMESPACES.contains(&ns) || ns == snap.control_plane_namespace()
}

/// Says that a protected namespace is not to be injected.
pub(crate) fn do_not_inject(ns: &str) -> String {
    format!(
        "namespace {ns} is a system or control-plane namespace, whose workloads normally stay \
         outside the mesh: do not inject it"
    )
}

/// Why a pod has no sidecar, with what to do about it: `inject NS --restart` for workloads of
/// a controller, deleting and recreating a bare pod (nothing restarts it), and for system and
/// control-plane namespaces, which `inject` refuses and which normally stay outside the mesh,
/// an exception rather than injection.
pub(crate) fn why_no_sidecar(snap: &Snapshot, pod: u32) -> String {
    let p = snap.pods().at(pod);
    let ns = &p.metadata.namespace;
    let bare = p.resolved.controller.is_none();
    if is_protected(snap, ns) {
        return format!(
            "{}: leave them out of STRICT instead (a PERMISSIVE policy for the namespace: kubectl \
             debatemesh mtls {ns} --mode PERMISSIVE, or a port-level PERMISSIVE exception on the \
             workloads they call: --selector ... --port PORT=PERMISSIVE)",
            do_not_inject(ns)
        );
    }
    if snap.is_injected(ns, &p.metadata.labels, &p.metadata.annotations) {
        if bare {
            format!("started before sidecar injection: {}", bare_pod_recreate(ns, &p.metadata.name))
        } else {
            format!(
                "started before sidecar injection: restart it (kubectl debatemesh inject {ns} \
                 --restart)"
            )
        }
    } else if snap.is_injected(ns, &Labels::new(), &Labels::new()) {
        "opted out of sidecar injection (sidecar.istio.io/inject: \"false\")".to_string()
    } else if bare {
        format!(
            "namespace {ns} is not injected (kubectl debatemesh inject {ns}; then {})",
            bare_pod_recreate(ns, &p.metadata.name)
        )
    } else {
        format!("namespace {ns} is not injected (kubectl debatemesh inject {ns} --restart)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn namespaces_ask_for_the_revision_their_winning_label_names() {
        let ask = |pairs: &[(&str, &str)]| {
            let l = labels(pairs);
            requested_revision(&namespace_mode(&l), &l)
        };
        assert_eq!(ask(&[("istio-injection", "enabled")]).as_deref(), Some("default"));
        assert_eq!(ask(&[("istio.io/rev", "canary")]).as_deref(), Some("canary"));
        let both = [("istio-injection", "enabled"), ("istio.io/rev", "canary")];
        assert_eq!(ask(&both).as_deref(), Some("default"));
        let rev_ambient = [("istio.io/rev", "canary"), ("istio.io/dataplane-mode", "ambient")];
        assert_eq!(ask(&rev_ambient).as_deref(), Some("canary"));
        assert_eq!(ask(&[("istio-injection", "disabled"), ("istio.io/rev", "canary")]), None);
        assert_eq!(ask(&[]), None);
    }

    #[test]
    fn restart_commands_name_the_top_controller() {
        let mut pod = Pod::default();
        pod.metadata.namespace = "shop".into();
        pod.metadata.name = "web-1".into();
        pod.resolved.controller = Some("Deployment/web".into());
        assert_eq!(restart_command(&pod), "kubectl rollout restart deployment/web -n shop");
        pod.resolved.controller = None;
        assert_eq!(
            restart_command(&pod),
            "recreate pod shop/web-1, which no controller restarts: kubectl delete pod web-1 -n \
             shop, then create it again from its manifest"
        );
        assert!(!restart_command(&pod).contains("--restart"), "inject cannot restart bare pods");
    }
}
