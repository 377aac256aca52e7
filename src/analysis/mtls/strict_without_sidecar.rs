//! `DM0301` StrictMtlsWithoutSidecar: a PeerAuthentication makes mTLS STRICT for a workload that
//! runs without a sidecar, so nothing enforces it and the workload still accepts plaintext.
//!
//! Istio rule: PeerAuthentication is enforced by the workload's sidecar (or ztunnel in ambient
//! mode); a pod without a proxy receives whatever its clients send
//! (<https://istio.io/latest/docs/concepts/security/#peer-authentication>, and istio/istio
//! `pilot/pkg/xds/endpoints/mtls_checker.go`, where auto mTLS sends plaintext to endpoints
//! without the `security.istio.io/tlsMode: istio` label). The mode the policies would give is
//! resolved as for a sidecar (`authz::effective_mtls`).
//!
//! Limitations: a mesh-wide STRICT policy is reported only in namespaces that take part in the
//! mesh (injection enabled, or some pod there has a sidecar; a gateway is no sidecar), so
//! namespaces outside the mesh such as `kube-system`, or istio-system beside its gateway, stay
//! quiet. Pods of one controller are reported once. Gateways and
//! ambient workloads have a proxy and are never reported.

use std::collections::BTreeMap;

use super::workloads::{
    Workloads, effective_modes, selector_hint, sidecar_advice, workload_finding,
};
use crate::analysis::injection::{do_not_inject, is_protected};
use crate::analysis::{Analyzer, Finding, codes};
use crate::authz::{MtlsDecider, MtlsMode};
use crate::mesh::Kind;
use crate::mesh::core::{LABEL_ISTIO_INJECTION, LABEL_ISTIO_REV};
use crate::mesh::snapshot::{Snapshot, Workload, WorkloadRef};

/// See the module docs.
pub struct StrictWithoutSidecar;

impl Analyzer for StrictWithoutSidecar {
    fn name(&self) -> &'static str {
        "mtls-strict-without-sidecar"
    }

    fn description(&self) -> &'static str {
        "STRICT mTLS on workloads that run without a sidecar"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::PeerAuthentication]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::STRICT_WITHOUT_SIDECAR]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        let mut by_controller: BTreeMap<(String, String), Vec<&Workload<'_>>> = BTreeMap::new();
        for w in workloads.all.iter().filter(|w| !w.has_proxy()) {
            let key = match w.reference {
                WorkloadRef::Pod(id) => snapshot.pods().at(id).resolved.controller.clone(),
                _ => None,
            };
            let key = key.unwrap_or_else(|| w.name.to_string());
            by_controller.entry((w.namespace.to_string(), key)).or_default().push(w);
        }
        for ((ns, controller), group) in by_controller {
            let first = group[0];
            let Some(policy) = strict_policy(snapshot, &workloads, first) else { continue };
            let others = match group.len() - 1 {
                0 => String::new(),
                n => format!(" (and {n} more pods of {controller})"),
            };
            let what = match first.reference {
                WorkloadRef::Pod(_) => format!("pod {}{others}, which runs", first.name),
                _ => format!("the pods of {}, which run", first.name),
            };
            let message = format!(
                "STRICT mTLS from {policy} applies to {what} without a sidecar: nothing enforces \
                 it and plaintext gets through"
            );
            let selector = selector_hint(&first.labels).unwrap_or_else(|| "app=NAME".into());
            let exception =
                format!("kubectl debatemesh mtls {ns} --mode PERMISSIVE --selector {selector}");
            // A pod of a system namespace is told not to inject, with the exception to state;
            // the others how to get a sidecar (a bare pod is recreated), or the exception.
            let fix = match (first.reference, is_protected(snapshot, &ns)) {
                (WorkloadRef::Pod(_), true) => sidecar_advice(snapshot, first),
                (_, true) => {
                    format!("{}: state the exception with {exception}", do_not_inject(&ns))
                }
                _ => format!(
                    "{}, or state the exception with {exception}",
                    sidecar_advice(snapshot, first)
                ),
            };
            let code = &codes::STRICT_WITHOUT_SIDECAR;
            out.extend(workload_finding(snapshot, first, code, message).map(|f| f.fix(fix)));
        }
    }
}

/// The PeerAuthentication that would make the workload (or one of its ports) STRICT if it had
/// a sidecar, as `PeerAuthentication NS/NAME[ port P]`.
fn strict_policy(
    snapshot: &Snapshot,
    workloads: &Workloads<'_>,
    w: &Workload<'_>,
) -> Option<String> {
    let mut as_sidecar = w.clone();
    as_sidecar.has_sidecar = true;
    let modes = effective_modes(snapshot, &as_sidecar);
    let (_, strict) = modes.iter().find(|(_, m)| m.mode == MtlsMode::Strict)?;
    let MtlsDecider::Policy { id, namespace, name, port } = &strict.decider else { return None };
    let mesh_level = strict.selected.mesh == Some(*id);
    if mesh_level && !is_meshed_namespace(snapshot, workloads, w.namespace) {
        return None;
    }
    let port = port.map(|p| format!(" port {p}")).unwrap_or_default();
    Some(format!("PeerAuthentication {namespace}/{name}{port}"))
}

/// Whether a namespace takes part in the mesh: labelled for injection (or ambient), or some
/// workload there has a sidecar. A gateway's proxy does not count: gateways run beside
/// workloads outside the mesh, as istiod does in istio-system.
fn is_meshed_namespace(snapshot: &Snapshot, workloads: &Workloads<'_>, ns: &str) -> bool {
    let labelled = snapshot.namespaces().get("", ns).is_some_and(|n| {
        n.metadata.label(LABEL_ISTIO_INJECTION) == Some("enabled")
            || n.metadata.label(LABEL_ISTIO_REV).is_some()
    });
    labelled
        || snapshot.is_ambient(ns, &Default::default())
        || workloads.in_namespace(ns).any(|w| w.has_sidecar && !w.is_gateway)
}
