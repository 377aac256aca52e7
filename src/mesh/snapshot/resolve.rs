//! Resolving what metadata-only Pods leave out: the service account and
//! container ports, from the controller chain (Pod -> ReplicaSet ->
//! Deployment, or Pod -> StatefulSet / DaemonSet) and its pod template.

use super::store::{Store, Table};
use crate::mesh::meta::ObjectMeta;
use crate::mesh::pod::{PodResolved, PodSpec, Source};
use crate::mesh::workload::{Controller, PodTemplate};

/// The account Kubernetes assigns when a pod names none.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// Fills in `Pod::resolved` for every pod.
pub(super) fn resolve_pods(store: &mut Store) {
    let Store { pods, replica_sets, deployments, stateful_sets, daemon_sets, .. } = store;
    let chain = Chain { replica_sets, deployments, stateful_sets, daemon_sets };
    for pod in pods.items_mut() {
        let top = chain.top_controller(&pod.metadata);
        let mut resolved = PodResolved {
            service_account: DEFAULT_SERVICE_ACCOUNT.to_string(),
            controller: top.as_ref().map(|(label, _)| label.clone()),
            ..PodResolved::default()
        };
        if let Some(spec) = &pod.spec {
            // A pod spec without an account gets `default` from the API
            // server, so that is known, not assumed.
            apply_spec(&mut resolved, spec, Source::Spec);
        } else if let Some((label, template)) = &top
            && let Some(spec) = template.spec.as_ref()
        {
            apply_spec(&mut resolved, spec, Source::Template(label.clone()));
        }
        pod.obj.resolved = resolved;
    }
}

fn apply_spec(resolved: &mut PodResolved, spec: &PodSpec, source: Source) {
    if let Some(sa) = spec.account() {
        resolved.service_account = sa.to_string();
    }
    resolved.account_source = source.clone();
    resolved.ports = spec.ports();
    resolved.ports_source = source;
}

struct Chain<'a> {
    replica_sets: &'a Table<crate::mesh::workload::ReplicaSet>,
    deployments: &'a Table<crate::mesh::workload::Deployment>,
    stateful_sets: &'a Table<crate::mesh::workload::StatefulSet>,
    daemon_sets: &'a Table<crate::mesh::workload::DaemonSet>,
}

impl<'a> Chain<'a> {
    /// The top controller of a pod (`Deployment/web`) and its pod template.
    fn top_controller(&self, meta: &ObjectMeta) -> Option<(String, &'a PodTemplate)> {
        let owner = meta.controller().or_else(|| meta.owner_references.first())?;
        let ns = meta.namespace.as_str();
        let found = |c: &'a Controller, kind: &str| {
            c.template().map(|t| (format!("{kind}/{}", c.metadata.name), t))
        };
        match owner.kind.as_str() {
            "ReplicaSet" => {
                let rs = self.replica_sets.get(ns, &owner.name)?;
                let deployment = rs
                    .metadata
                    .controller()
                    .filter(|o| o.kind == "Deployment")
                    .and_then(|o| self.deployments.get(ns, &o.name));
                match deployment {
                    Some(d) => found(d, "Deployment").or_else(|| found(rs, "ReplicaSet")),
                    None => found(rs, "ReplicaSet"),
                }
            }
            "StatefulSet" => found(self.stateful_sets.get(ns, &owner.name)?, "StatefulSet"),
            "DaemonSet" => found(self.daemon_sets.get(ns, &owner.name)?, "DaemonSet"),
            _ => None,
        }
    }
}
