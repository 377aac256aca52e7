//! The Snapshot: every object analysis reads, from a cluster or from files,
//! with origins and the indexes queries need.
//!
//! Build one with [`SnapshotBuilder`], then [`SnapshotBuilder::finish`]: that
//! resolves pod accounts from controller chains, reads the mesh config and
//! indexes Services against Pods once, so queries stay cheap.

mod builder;
mod defaults;
mod resolve;
mod store;
mod topology;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use builder::{AddError, Added, Invalid, Replaced, SnapshotBuilder};
pub use defaults::{DefaultAdded, add_offline_defaults};
pub use resolve::DEFAULT_SERVICE_ACCOUNT;
pub use store::{Store, Stored, Table};
pub use topology::{Workload, WorkloadRef, target_port};

use crate::mesh::authorization_policy::AuthorizationPolicy;
use crate::mesh::core::{Namespace, Secret, ServiceAccount};
use crate::mesh::destination_rule::DestinationRule;
use crate::mesh::gateway::Gateway;
use crate::mesh::gateway_api::{HttpRoute, K8sGateway};
use crate::mesh::kind::Kind;
use crate::mesh::mesh_config::MeshConfig;
use crate::mesh::peer_authentication::PeerAuthentication;
use crate::mesh::pod::Pod;
use crate::mesh::request_authentication::RequestAuthentication;
use crate::mesh::resource::Origin;
use crate::mesh::selector::is_subset;
use crate::mesh::service::Service;
use crate::mesh::service_entry::ServiceEntry;
use crate::mesh::sidecar::Sidecar;
use crate::mesh::virtual_service::VirtualService;
use crate::mesh::webhook::Revisions;
use crate::mesh::workload::{DaemonSet, Deployment, ReplicaSet, StatefulSet};

/// A finished, indexed set of objects.
#[derive(Debug, Clone)]
pub struct Snapshot {
    store: Store,
    loaded: BTreeSet<Kind>,
    skipped: BTreeMap<String, usize>,
    replaced: Vec<Replaced>,
    invalid: BTreeMap<(Kind, String, String), Invalid>,
    default_namespace: String,
    cluster_domain: String,
    control_plane_namespace: String,
    mesh: MeshConfig,
    mesh_origin: Option<Origin>,
    mesh_error: Option<String>,
    revisions: Revisions,
    service_pods: Vec<Vec<u32>>,
    pod_services: Vec<Vec<u32>>,
}

impl SnapshotBuilder {
    /// Resolves pod accounts and ports, reads the mesh config, and builds
    /// the indexes.
    pub fn finish(mut self) -> Snapshot {
        resolve::resolve_pods(&mut self.store);
        let (mesh, mesh_origin, mesh_error) = read_mesh(&self.store, &self.control_plane_namespace);
        let revisions = Revisions::from_webhooks(self.store.webhooks.iter().map(|w| &w.obj));
        let (service_pods, pod_services) = index_service_pods(&self.store);
        Snapshot {
            store: self.store,
            loaded: self.loaded,
            skipped: self.skipped,
            replaced: self.replaced,
            invalid: self.invalid,
            default_namespace: self.default_namespace,
            cluster_domain: self.cluster_domain,
            control_plane_namespace: self.control_plane_namespace,
            mesh,
            mesh_origin,
            mesh_error,
            revisions,
            service_pods,
            pod_services,
        }
    }
}

/// Picks the mesh config: `istio` in the control plane namespace, else any
/// `istio` ConfigMap, else Istio's defaults.
fn read_mesh(store: &Store, cp_ns: &str) -> (MeshConfig, Option<Origin>, Option<String>) {
    let cms = &store.config_maps;
    let chosen =
        cms.get(cp_ns, "istio").or_else(|| cms.iter().find(|c| c.metadata.name == "istio"));
    let Some(cm) = chosen else { return (MeshConfig::default(), None, None) };
    let text = cm.data.get("mesh").map(String::as_str).unwrap_or("");
    match MeshConfig::from_yaml(text) {
        Ok(mesh) => (mesh, Some(cm.origin.clone()), None),
        Err(e) => (MeshConfig::default(), Some(cm.origin.clone()), Some(e.to_string())),
    }
}

/// Which pods each Service selects (same namespace, selector a subset of
/// the pod labels, not finished: phase `Succeeded` or `Failed` pods are no
/// endpoints), and the reverse.
fn index_service_pods(store: &Store) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let mut service_pods = vec![Vec::new(); store.services.len()];
    let mut pod_services = vec![Vec::new(); store.pods.len()];
    for (sid, svc) in store.services.iter().enumerate() {
        if !svc.has_selector() {
            continue;
        }
        for &pid in store.pods.ids_in(&svc.metadata.namespace) {
            let pod = store.pods.at(pid);
            if !pod.is_finished() && is_subset(&svc.spec.selector, &pod.metadata.labels) {
                service_pods[sid].push(pid);
                pod_services[pid as usize].push(sid as u32);
            }
        }
    }
    (service_pods, pod_services)
}

impl Snapshot {
    /// A new builder.
    pub fn builder() -> SnapshotBuilder {
        SnapshotBuilder::new()
    }

    /// Turns the Snapshot back into a builder, to lay more objects over it.
    pub fn into_builder(self) -> SnapshotBuilder {
        SnapshotBuilder {
            store: self.store,
            loaded: self.loaded,
            skipped: self.skipped,
            replaced: self.replaced,
            invalid: self.invalid,
            default_namespace: self.default_namespace,
            cluster_domain: self.cluster_domain,
            control_plane_namespace: self.control_plane_namespace,
        }
    }

    /// Lays the objects of `layer` over this Snapshot as if they were
    /// applied: an object with the same kind, namespace and name replaces
    /// the one here (recorded in [`Snapshot::replaced`]); others are added.
    /// What the layer recorded of its own objects (replacements among them,
    /// field problems) carries over.
    pub fn overlay(self, layer: SnapshotBuilder) -> Snapshot {
        let mut base = self.into_builder();
        base.default_namespace.clone_from(&layer.default_namespace);
        base.replaced.extend(layer.replaced);
        for (kind, count) in layer.skipped {
            *base.skipped.entry(kind).or_default() += count;
        }
        base.loaded.extend(layer.loaded);
        let store = layer.store;
        macro_rules! lay {
            ($($field:ident),*) => {$(
                for e in store.$field.all() {
                    base.add(e.obj.clone(), e.origin.clone());
                }
            )*};
        }
        lay!(
            namespaces,
            services,
            pods,
            service_accounts,
            secrets,
            config_maps,
            deployments,
            stateful_sets,
            daemon_sets,
            replica_sets,
            webhooks,
            gateways,
            virtual_services,
            destination_rules,
            service_entries,
            sidecars,
            peer_authentications,
            authorization_policies,
            request_authentications,
            k8s_gateways,
            http_routes
        );
        base.invalid.extend(layer.invalid);
        base.finish()
    }

    /// The table of any kind.
    pub fn table<R: Stored>(&self) -> &Table<R> {
        R::table(&self.store)
    }

    /// All tables.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether the kind was read (objects added, or marked read).
    pub fn has_kind(&self, kind: Kind) -> bool {
        self.loaded.contains(&kind)
    }

    /// Kinds that were read.
    pub fn loaded_kinds(&self) -> &BTreeSet<Kind> {
        &self.loaded
    }

    /// Objects skipped because their kind is not modelled, by
    /// `apiVersion kind`.
    pub fn skipped(&self) -> &BTreeMap<String, usize> {
        &self.skipped
    }

    /// Total number of skipped objects.
    pub fn skipped_count(&self) -> usize {
        self.skipped.values().sum()
    }

    /// Objects that replaced others with the same kind, namespace and name.
    pub fn replaced(&self) -> &[Replaced] {
        &self.replaced
    }

    /// Objects with field values Istio would refuse, in kind, namespace and name order.
    pub fn invalid(&self) -> impl Iterator<Item = &Invalid> {
        self.invalid.values()
    }

    /// The mesh config in effect (Istio's defaults when none was read).
    pub fn mesh(&self) -> &MeshConfig {
        &self.mesh
    }

    /// Where the mesh config came from; `None` when defaults apply.
    pub fn mesh_origin(&self) -> Option<&Origin> {
        self.mesh_origin.as_ref()
    }

    /// Why the mesh config ConfigMap could not be read, if it could not.
    pub fn mesh_error(&self) -> Option<&str> {
        self.mesh_error.as_deref()
    }

    /// The root namespace from mesh config.
    pub fn root_namespace(&self) -> &str {
        &self.mesh.root_namespace
    }

    /// The cluster DNS domain.
    pub fn cluster_domain(&self) -> &str {
        &self.cluster_domain
    }

    /// The control plane namespace.
    pub fn control_plane_namespace(&self) -> &str {
        &self.control_plane_namespace
    }

    /// The namespace given to file objects that named none.
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// Revisions and tags served by Istio injector webhooks.
    pub fn revisions(&self) -> &Revisions {
        &self.revisions
    }

    /// Indexes of the pods a Service selects.
    pub fn pods_for_service(&self, service: u32) -> &[u32] {
        self.service_pods.get(service as usize).map_or(&[], Vec::as_slice)
    }

    /// Indexes of the Services that select a pod.
    pub fn services_for_pod(&self, pod: u32) -> &[u32] {
        self.pod_services.get(pod as usize).map_or(&[], Vec::as_slice)
    }

    /// Pods in `namespace` (or in every namespace) whose labels contain
    /// `selector`.
    pub fn pods_selected_by<'a>(
        &'a self,
        namespace: Option<&'a str>,
        selector: &'a crate::mesh::meta::Labels,
    ) -> impl Iterator<Item = u32> + 'a {
        let pods = &self.store.pods;
        let ids: Box<dyn Iterator<Item = u32> + 'a> = match namespace {
            Some(ns) => Box::new(pods.ids_in(ns).iter().copied()),
            None => Box::new(0..pods.len() as u32),
        };
        ids.filter(move |&id| is_subset(selector, &pods.at(id).metadata.labels))
    }
}

/// Named accessors for each table.
macro_rules! accessors {
    ($($name:ident: $ty:ty),* $(,)?) => {
        impl Snapshot {
            $(
                #[doc = concat!("The `", stringify!($ty), "` table.")]
                pub fn $name(&self) -> &Table<$ty> {
                    &self.store.$name
                }
            )*
        }
    };
}

accessors!(
    namespaces: Namespace,
    services: Service,
    pods: Pod,
    service_accounts: ServiceAccount,
    secrets: Secret,
    deployments: Deployment,
    stateful_sets: StatefulSet,
    daemon_sets: DaemonSet,
    replica_sets: ReplicaSet,
    gateways: Gateway,
    virtual_services: VirtualService,
    destination_rules: DestinationRule,
    service_entries: ServiceEntry,
    sidecars: Sidecar,
    peer_authentications: PeerAuthentication,
    authorization_policies: AuthorizationPolicy,
    request_authentications: RequestAuthentication,
    k8s_gateways: K8sGateway,
    http_routes: HttpRoute,
);
