//! The effective PeerAuthentication mode of a workload port, composed as
//! istiod composes it.
//!
//! Follows istio/istio `pilot/pkg/model/authentication.go`
//! (`getConfigsForWorkload`) and `pilot/pkg/security/authn/policy_applier.go`
//! (`ComposePeerAuthentication`): policies come from the workload's
//! namespace and the root namespace; a selector-less policy in the root
//! namespace is the mesh level, one in the workload's namespace the
//! namespace level; a policy with a selector in the workload's namespace
//! (never the root namespace) is the workload level. Within a level the
//! oldest policy wins (creation time, then name). The mode starts
//! PERMISSIVE and each level that is not UNSET overrides it; a port-level
//! entry of the workload policy (keyed by container port) overrides that,
//! UNSET taking the workload's resolved mode. A workload without a sidecar
//! enforces nothing; a gateway takes what its Gateway servers say, so it
//! is reported PERMISSIVE without a deciding policy.

use std::fmt;

use serde::Serialize;

use crate::mesh::peer_authentication::{PeerAuthentication, PeerMode};
use crate::mesh::selector::is_selectorless;
use crate::mesh::snapshot::{Snapshot, Workload};

/// The mTLS mode a workload port accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum MtlsMode {
    /// mTLS only.
    Strict,
    /// mTLS and plaintext.
    Permissive,
    /// Plaintext only.
    Disable,
    /// No proxy: nothing is enforced, the application sees raw traffic.
    NoSidecar,
}

impl MtlsMode {
    /// Istio's name (`NO_SIDECAR` for workloads without a proxy).
    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Strict => "STRICT",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Disable => "DISABLE",
            MtlsMode::NoSidecar => "NO_SIDECAR",
        }
    }

    fn of(mode: PeerMode) -> Option<MtlsMode> {
        match mode {
            PeerMode::Strict => Some(MtlsMode::Strict),
            PeerMode::Permissive => Some(MtlsMode::Permissive),
            PeerMode::Disable => Some(MtlsMode::Disable),
            PeerMode::Unset | PeerMode::Unknown => None,
        }
    }
}

impl fmt::Display for MtlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What decided the mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MtlsDecider {
    /// No policy set a mode: Istio's PERMISSIVE default.
    Default,
    /// A PeerAuthentication, by index in the Snapshot's table, and the port
    /// entry when a port-level setting decided.
    Policy {
        /// Index in the PeerAuthentication table.
        id: u32,
        /// Namespace of the policy.
        namespace: String,
        /// Name of the policy.
        name: String,
        /// The port whose entry decided.
        port: Option<u16>,
    },
    /// The workload has no sidecar.
    NoSidecar,
    /// The workload is a gateway: its ports are configured by Gateway
    /// servers, and PeerAuthentication (which governs sidecars) does not
    /// apply.
    Gateway,
}

impl fmt::Display for MtlsDecider {
    /// `default`, `NO_SIDECAR`, or `peerauthentication NS/NAME[ port P]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MtlsDecider::Default => f.write_str("default"),
            MtlsDecider::NoSidecar => f.write_str("NO_SIDECAR"),
            MtlsDecider::Gateway => f.write_str("gateway"),
            MtlsDecider::Policy { namespace, name, port, .. } => {
                write!(f, "peerauthentication {namespace}/{name}")?;
                match port {
                    Some(p) => write!(f, " port {p}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The PeerAuthentications selected at each level, by table index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SelectedLevels {
    /// The mesh-level policy.
    pub mesh: Option<u32>,
    /// The namespace-level policy.
    pub namespace: Option<u32>,
    /// The workload-level policy.
    pub workload: Option<u32>,
}

/// The effective mode of a workload port and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveMtls {
    /// The mode.
    pub mode: MtlsMode,
    /// What decided it.
    pub decider: MtlsDecider,
    /// The policies selected at each level.
    pub selected: SelectedLevels,
}

/// The PeerAuthentications that apply to a workload, one per level.
pub fn selected_peer_authentications(
    snapshot: &Snapshot,
    workload: &Workload<'_>,
) -> SelectedLevels {
    let root = snapshot.root_namespace();
    let table = snapshot.peer_authentications();
    let mut levels = SelectedLevels::default();
    let older = |cur: Option<u32>, id: u32| match cur {
        Some(c) if table.at(c).metadata.age_key() <= table.at(id).metadata.age_key() => Some(c),
        _ => Some(id),
    };
    let mut namespaces = vec![workload.namespace];
    if workload.namespace != root {
        namespaces.push(root);
    }
    for ns in namespaces {
        for &id in table.ids_in(ns) {
            let pa: &PeerAuthentication = table.at(id);
            let selector = pa.spec.selector.as_ref();
            if is_selectorless(selector) {
                if ns == root {
                    levels.mesh = older(levels.mesh, id);
                } else {
                    levels.namespace = older(levels.namespace, id);
                }
            } else if ns != root && selector.is_some_and(|s| s.matches(&workload.labels)) {
                levels.workload = older(levels.workload, id);
            }
        }
    }
    levels
}

/// The effective mode at a container port of a workload.
pub fn effective_mtls(snapshot: &Snapshot, workload: &Workload<'_>, port: u16) -> EffectiveMtls {
    let selected = selected_peer_authentications(snapshot, workload);
    if !workload.has_proxy() {
        return EffectiveMtls {
            mode: MtlsMode::NoSidecar,
            decider: MtlsDecider::NoSidecar,
            selected,
        };
    }
    if workload.is_gateway && !workload.has_sidecar {
        return EffectiveMtls {
            mode: MtlsMode::Permissive,
            decider: MtlsDecider::Gateway,
            selected,
        };
    }
    let table = snapshot.peer_authentications();
    let decider_of = |id: u32, port: Option<u16>| {
        let m = &table.at(id).metadata;
        MtlsDecider::Policy { id, namespace: m.namespace.clone(), name: m.name.clone(), port }
    };
    let mut mode = MtlsMode::Permissive;
    let mut decider = MtlsDecider::Default;
    for id in [selected.mesh, selected.namespace, selected.workload].into_iter().flatten() {
        if let Some(m) = MtlsMode::of(table.at(id).mode()) {
            mode = m;
            decider = decider_of(id, None);
        }
    }
    if let Some(id) = selected.workload
        && let Some(m) = table.at(id).port_mode(port).and_then(MtlsMode::of)
    {
        mode = m;
        decider = decider_of(id, Some(port));
    }
    EffectiveMtls { mode, decider, selected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::tests::fixture;

    fn pa(ns: &str, name: &str, created: &str, body: &str) -> String {
        format!(
            "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata:\n  name: {name}\n  namespace: {ns}\n  creationTimestamp: '{created}'\nspec:\n{body}"
        )
    }

    fn mode_of(snap: &Snapshot, port: u16) -> (MtlsMode, String) {
        let id = snap.pods().id("foo", "httpbin-0").unwrap();
        let m = effective_mtls(snap, &snap.workload_of_pod(id), port);
        (m.mode, m.decider.to_string())
    }

    #[test]
    fn levels_inherit_through_unset() {
        let mesh =
            pa("istio-system", "default", "2024-01-01T00:00:00Z", "  mtls: {mode: STRICT}\n");
        let ns = pa("foo", "default", "2024-01-01T00:00:00Z", "  mtls: {mode: UNSET}\n");
        let s = fixture(&format!("{mesh}---\n{ns}"));
        assert_eq!(
            mode_of(&s, 8080),
            (MtlsMode::Strict, "peerauthentication istio-system/default".into())
        );
        let wl = pa(
            "foo",
            "wl",
            "2024-01-01T00:00:00Z",
            "  selector: {matchLabels: {app: httpbin}}\n  portLevelMtls:\n    9000: {mode: DISABLE}\n",
        );
        let s = fixture(&format!("{mesh}---\n{ns}---\n{wl}"));
        assert_eq!(
            mode_of(&s, 9000),
            (MtlsMode::Disable, "peerauthentication foo/wl port 9000".into())
        );
        assert_eq!(
            mode_of(&s, 8080),
            (MtlsMode::Strict, "peerauthentication istio-system/default".into())
        );
    }

    #[test]
    fn oldest_wins_then_name() {
        let a = pa("foo", "b-newer", "2024-02-01T00:00:00Z", "  mtls: {mode: STRICT}\n");
        let b = pa("foo", "a-older", "2024-01-01T00:00:00Z", "  mtls: {mode: DISABLE}\n");
        let s = fixture(&format!("{a}---\n{b}"));
        assert_eq!(mode_of(&s, 8080), (MtlsMode::Disable, "peerauthentication foo/a-older".into()));
        let a = pa("foo", "b", "2024-01-01T00:00:00Z", "  mtls: {mode: STRICT}\n");
        let b = pa("foo", "a", "2024-01-01T00:00:00Z", "  mtls: {mode: DISABLE}\n");
        let s = fixture(&format!("{a}---\n{b}"));
        assert_eq!(mode_of(&s, 8080).1, "peerauthentication foo/a");
    }

    #[test]
    fn empty_selector_is_namespace_wide() {
        let p = pa(
            "foo",
            "ns",
            "2024-01-01T00:00:00Z",
            "  selector: {matchLabels: {}}\n  mtls: {mode: STRICT}\n",
        );
        let s = fixture(&p);
        assert_eq!(mode_of(&s, 8080), (MtlsMode::Strict, "peerauthentication foo/ns".into()));
        let sel = selected_peer_authentications(&s, &s.workload_of_pod(0));
        assert!(sel.namespace.is_some() && sel.workload.is_none());
    }

    #[test]
    fn gateways_take_their_mode_from_gateway_servers() {
        let gw = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ingress-0\n  namespace: foo\n  labels: {istio: ingressgateway}\nspec:\n  containers: [{name: istio-proxy}]\n";
        let p = pa("foo", "default", "2024-01-01T00:00:00Z", "  mtls: {mode: STRICT}\n");
        let s = fixture(&format!("{gw}---\n{p}"));
        let id = s.pods().id("foo", "ingress-0").unwrap();
        let m = effective_mtls(&s, &s.workload_of_pod(id), 8080);
        assert_eq!((m.mode, m.decider), (MtlsMode::Permissive, MtlsDecider::Gateway));
        assert!(m.selected.namespace.is_some(), "the policies are still reported as selected");
    }

    #[test]
    fn no_sidecar_enforces_nothing() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: httpbin-0\n  namespace: foo\n  labels: {app: httpbin}\nspec:\n  containers: [{name: app}]\n";
        let p = pa("foo", "default", "2024-01-01T00:00:00Z", "  mtls: {mode: STRICT}\n");
        let s = fixture(&format!("{pod}---\n{p}"));
        assert_eq!(mode_of(&s, 8080), (MtlsMode::NoSidecar, "NO_SIDECAR".into()));
    }
}
