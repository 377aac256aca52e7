//! The workloads the mTLS and authorization checks look at, and their effective PeerAuthentication
//! mode at the workload level and at each port a port-level setting names.
//!
//! A workload is a pod of the Snapshot, or, for a Deployment, StatefulSet or DaemonSet whose
//! pods the input does not hold (manifest files), its pod template, with the sidecar the
//! injector would add. Finished pods (`Succeeded`, `Failed`) are left out.

use std::collections::HashMap;

use crate::analysis::injection::{do_not_inject, is_protected, why_no_sidecar};
use crate::analysis::{Finding, codes::Code, finding};
use crate::authz::{EffectiveMtls, effective_mtls};
use crate::mesh::kind::Kind;
use crate::mesh::meta::Labels;
use crate::mesh::pod::is_gateway_labels;
use crate::mesh::selector::is_subset;
use crate::mesh::snapshot::{DEFAULT_SERVICE_ACCOUNT, Snapshot, Workload, WorkloadRef};
use crate::mesh::workload::Controller;

/// Every workload, pods first, grouped by namespace for cheap policy scoping.
pub struct Workloads<'a> {
    pub all: Vec<Workload<'a>>,
    by_namespace: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Workloads<'a> {
    /// Collects the pods, then the templates of controllers with no pod in the input.
    pub fn of(snapshot: &'a Snapshot) -> Self {
        let mut all = Vec::new();
        let pods = snapshot.pods();
        for id in 0..pods.len() as u32 {
            if !pods.at(id).is_finished() {
                all.push(snapshot.workload_of_pod(id));
            }
        }
        let mut add = |kind: Kind, id: u32, c: &'a Controller| {
            let Some(t) = c.template() else { return };
            let ns = c.metadata.namespace.as_str();
            let has_pod =
                pods.in_namespace(ns).any(|p| is_subset(&t.metadata.labels, &p.metadata.labels));
            if !has_pod {
                all.push(template_workload(snapshot, kind, id, c));
            }
        };
        for (id, d) in snapshot.deployments().iter().enumerate() {
            add(Kind::Deployment, id as u32, &d.obj.0);
        }
        for (id, s) in snapshot.stateful_sets().iter().enumerate() {
            add(Kind::StatefulSet, id as u32, &s.obj.0);
        }
        for (id, d) in snapshot.daemon_sets().iter().enumerate() {
            add(Kind::DaemonSet, id as u32, &d.obj.0);
        }
        let mut by_namespace: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, w) in all.iter().enumerate() {
            by_namespace.entry(w.namespace).or_default().push(i);
        }
        Workloads { all, by_namespace }
    }

    /// The workloads of one namespace.
    pub fn in_namespace<'s>(
        &'s self,
        namespace: &str,
    ) -> impl Iterator<Item = &'s Workload<'a>> + use<'s, 'a> {
        let ids = self.by_namespace.get(namespace).map_or(&[][..], Vec::as_slice);
        ids.iter().map(|&i| &self.all[i])
    }

    /// The workloads a policy in `namespace` can select: every workload for the root
    /// namespace, else those of the namespace.
    pub fn in_scope<'s>(
        &'s self,
        snapshot: &Snapshot,
        namespace: &str,
    ) -> Box<dyn Iterator<Item = &'s Workload<'a>> + 's> {
        if namespace == snapshot.root_namespace() {
            Box::new(self.all.iter())
        } else {
            Box::new(self.in_namespace(namespace))
        }
    }
}

/// The workload view of a controller's pod template, as the Snapshot builds it for Services
/// without pods.
fn template_workload<'a>(
    snapshot: &'a Snapshot,
    kind: Kind,
    id: u32,
    c: &'a Controller,
) -> Workload<'a> {
    let ns = c.metadata.namespace.as_str();
    let t = c.template().expect("callers pass controllers with a template");
    let spec = t.spec.as_ref();
    let sidecar = snapshot.is_injected(ns, &t.metadata.labels, &t.metadata.annotations);
    Workload {
        reference: WorkloadRef::Template(kind, id),
        namespace: ns,
        name: format!("{}/{}", kind.kind_name(), c.metadata.name).into(),
        labels: std::borrow::Cow::Borrowed(&t.metadata.labels),
        service_account: spec.and_then(|s| s.account()).unwrap_or(DEFAULT_SERVICE_ACCOUNT),
        account_inferred: spec.is_none(),
        has_sidecar: sidecar,
        sidecar_inferred: true,
        is_gateway: is_gateway_labels(&t.metadata.labels),
        ambient: !sidecar && snapshot.is_ambient(ns, &t.metadata.labels),
        ports: spec.map_or(std::borrow::Cow::Borrowed(&[][..]), |s| s.ports().into()),
        ports_known: spec.is_some(),
        ip: None,
    }
}

/// How a workload without a sidecar gets one, for fix texts: `why_no_sidecar` for a pod (a
/// bare pod is recreated, not restarted), `inject NS --restart` for a controller's template, and
/// never injection for a system or control-plane namespace.
pub fn sidecar_advice(snapshot: &Snapshot, w: &Workload<'_>) -> String {
    match w.reference {
        WorkloadRef::Pod(id) => why_no_sidecar(snapshot, id),
        _ if is_protected(snapshot, w.namespace) => do_not_inject(w.namespace),
        _ => format!("inject the sidecar (kubectl debatemesh inject {} --restart)", w.namespace),
    }
}

/// A finding about a workload: on its Pod, or on the controller whose template stands in.
pub fn workload_finding(
    snapshot: &Snapshot,
    w: &Workload<'_>,
    code: &'static Code,
    message: String,
) -> Option<Finding> {
    Some(match w.reference {
        WorkloadRef::Pod(id) => finding(code, snapshot.pods().at(id), message),
        WorkloadRef::Template(Kind::Deployment, id) => {
            finding(code, snapshot.deployments().at(id), message)
        }
        WorkloadRef::Template(Kind::StatefulSet, id) => {
            finding(code, snapshot.stateful_sets().at(id), message)
        }
        WorkloadRef::Template(Kind::DaemonSet, id) => {
            finding(code, snapshot.daemon_sets().at(id), message)
        }
        WorkloadRef::Template(..) | WorkloadRef::Selector(_) => return None,
    })
}

/// The effective mode of a workload at the workload level (`None`) and at every container
/// port its workload-level PeerAuthentication names in `portLevelMtls`.
pub fn effective_modes(snapshot: &Snapshot, w: &Workload<'_>) -> Vec<(Option<u16>, EffectiveMtls)> {
    // Port 0 is never a valid portLevelMtls key, so it gives the workload-level mode.
    let base = effective_mtls(snapshot, w, 0);
    let ports = base
        .selected
        .workload
        .map(|id| snapshot.peer_authentications().at(id).port_level_ports())
        .unwrap_or_default();
    let mut out = vec![(None, base)];
    for port in ports.into_iter().filter(|p| *p != 0) {
        out.push((Some(port), effective_mtls(snapshot, w, port)));
    }
    out
}

/// The effective mode at specific container ports, or at every level when `ports` is empty.
pub fn modes_at(
    snapshot: &Snapshot,
    w: &Workload<'_>,
    ports: &[u16],
) -> Vec<(Option<u16>, EffectiveMtls)> {
    if ports.is_empty() {
        return effective_modes(snapshot, w);
    }
    ports.iter().map(|&p| (Some(p), effective_mtls(snapshot, w, p))).collect()
}

/// `a, b, c and 4 more`.
pub fn short_list<S: AsRef<str>>(items: &[S], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut text = shown.join(", ");
    if items.len() > max {
        text.push_str(&format!(" and {} more", items.len() - max));
    }
    text
}

/// A `key=value` selector for a workload, for fixes: its `app` label when it has one.
pub fn selector_hint(labels: &Labels) -> Option<String> {
    ["app", "app.kubernetes.io/name"]
        .iter()
        .find_map(|k| labels.get(k).map(|v| format!("{k}={v}")))
        .or_else(|| labels.iter().next().map(|(k, v)| format!("{k}={v}")))
}
