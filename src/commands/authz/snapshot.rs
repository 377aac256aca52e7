//! Reads what the security commands check from the cluster into a Snapshot: one paginated LIST
//! per kind across all namespaces, the kinds listed concurrently, Pods, Namespaces,
//! ServiceAccounts and ReplicaSets as metadata only, and the mesh config ConfigMap.
//!
//! This is the one place `mtls`, `allow` and `deny` read the cluster; it stands in until a
//! shared live Snapshot loader exists, and is meant to be replaced by it whole.

use serde::de::DeserializeOwned;

use crate::{
    cluster::{Cluster, ClusterError, ListOptions, Scope, kinds},
    mesh::{
        Kind, Origin, Snapshot, SnapshotBuilder,
        authorization_policy::AuthorizationPolicy,
        core::{Namespace, ServiceAccount},
        destination_rule::DestinationRule,
        gateway::Gateway,
        gateway_api::{HttpRoute, K8sGateway},
        peer_authentication::PeerAuthentication,
        pod::Pod,
        service::Service,
        snapshot::Stored,
        virtual_service::VirtualService,
        workload::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
    },
};

/// The Snapshot and what could not be read (said as notes; the checks run without it).
pub struct Loaded {
    pub snapshot: Snapshot,
    pub notes: Vec<String>,
}

/// Lists every kind the checks read. Kinds the cluster does not serve (Gateway API, Istio
/// networking) are left out of the Snapshot; a failed list of a served kind is an error.
pub async fn list_snapshot(cluster: &Cluster, control_plane: &str) -> anyhow::Result<Loaded> {
    let meta = ListOptions::metadata;
    let full = ListOptions::default;
    let (namespaces, pods, services, accounts, deployments, stateful_sets) = futures::try_join!(
        list::<Namespace>(cluster, &kinds::NAMESPACE, meta()),
        list::<Pod>(cluster, &kinds::POD, meta()),
        list::<Service>(cluster, &kinds::SERVICE, full()),
        list::<ServiceAccount>(cluster, &kinds::SERVICE_ACCOUNT, meta()),
        list::<Deployment>(cluster, &kinds::DEPLOYMENT, full()),
        list::<StatefulSet>(cluster, &kinds::STATEFUL_SET, full()),
    )?;
    let (daemon_sets, replica_sets, gateways, virtual_services, destination_rules) = futures::try_join!(
        list::<DaemonSet>(cluster, &kinds::DAEMON_SET, full()),
        list::<ReplicaSet>(cluster, &kinds::REPLICA_SET, meta()),
        list::<Gateway>(cluster, &kinds::GATEWAY, full()),
        list::<VirtualService>(cluster, &kinds::VIRTUAL_SERVICE, full()),
        list::<DestinationRule>(cluster, &kinds::DESTINATION_RULE, full()),
    )?;
    let (peer_authentications, authorization_policies, k8s_gateways, http_routes) = futures::try_join!(
        list::<PeerAuthentication>(cluster, &kinds::PEER_AUTHENTICATION, full()),
        list::<AuthorizationPolicy>(cluster, &kinds::AUTHORIZATION_POLICY, full()),
        list::<K8sGateway>(cluster, &kinds::K8S_GATEWAY, full()),
        list::<HttpRoute>(cluster, &kinds::HTTP_ROUTE, full()),
    )?;

    let mut builder = SnapshotBuilder::new()
        .default_namespace(cluster.namespace())
        .control_plane_namespace(control_plane);
    add(&mut builder, namespaces);
    add(&mut builder, pods);
    add(&mut builder, services);
    add(&mut builder, accounts);
    add(&mut builder, deployments);
    add(&mut builder, stateful_sets);
    add(&mut builder, daemon_sets);
    add(&mut builder, replica_sets);
    add(&mut builder, gateways);
    add(&mut builder, virtual_services);
    add(&mut builder, destination_rules);
    add(&mut builder, peer_authentications);
    add(&mut builder, authorization_policies);
    add(&mut builder, k8s_gateways);
    add(&mut builder, http_routes);

    let mut notes = Vec::new();
    let config_maps = cluster.resource(&kinds::CONFIG_MAP).await?;
    match cluster.get(&config_maps, Some(control_plane), "istio").await {
        Ok(Some(cm)) => {
            if let Err(e) = builder.add_item(Kind::ConfigMap, cm, Origin::Cluster) {
                notes.push(format!("cannot read mesh config: {e}; using Istio's defaults"));
            }
        }
        Ok(None) => builder.mark_loaded(Kind::ConfigMap),
        Err(e) => notes.push(format!(
            "cannot read ConfigMap {control_plane}/istio ({}); using Istio's mesh config defaults \
             (root namespace istio-system, trust domain cluster.local)",
            e.failure()
        )),
    }
    let snapshot = builder.finish();
    if let Some(e) = snapshot.mesh_error() {
        notes.push(format!(
            "cannot parse mesh config in {control_plane}/istio: {e}; using defaults"
        ));
    }
    Ok(Loaded { snapshot, notes })
}

/// Lists one kind in every namespace; `None` when the cluster does not serve it.
async fn list<T: DeserializeOwned>(
    cluster: &Cluster,
    kind: &'static kinds::Kind,
    options: ListOptions,
) -> Result<Option<Vec<T>>, ClusterError> {
    let Some(resource) = cluster.try_resource(kind).await? else {
        tracing::debug!(kind = kind.kind, "not served; left out of the checks");
        return Ok(None);
    };
    cluster.list(&resource, Scope::All, &options).await.map(Some)
}

/// Adds listed objects, marking the kind read even when there were none.
fn add<T: Stored>(builder: &mut SnapshotBuilder, items: Option<Vec<T>>) {
    let Some(items) = items else { return };
    builder.mark_loaded(T::KIND);
    for item in items {
        builder.add(item, Origin::Cluster);
    }
}
