//! What `resilience` and `resilience show` read: the Service, every VirtualService and
//! DestinationRule (one list each, in all namespaces when allowed, else in the Service's), the
//! Service's pods as metadata and, when it has none, its namespace's Deployments and
//! StatefulSets (one list each), to count endpoints as `check` does; and the mesh config when it
//! is readable.

use anyhow::Context;
use serde_json::Value;

use crate::cluster::{Cluster, ClusterError, ListOptions, Resource, Scope, kinds};
use crate::error::UsageError;
use crate::mesh::mesh_config::MeshConfig;
use crate::mesh::meta::Labels;
use crate::mesh::resilience::Target;
use crate::mesh::service::Service;
use crate::mesh::{Origin, Snapshot};
use crate::output::Ui;

/// The live state around one Service.
pub struct Live {
    pub service: Service,
    pub vs_resource: Resource,
    pub virtual_services: Vec<Value>,
    pub dr_resource: Resource,
    pub destination_rules: Vec<Value>,
    /// What the Service's endpoints are counted from.
    pub endpoints: Endpoints,
    pub mesh: MeshConfig,
    /// Whether the mesh config was read from the cluster (else Istio's defaults).
    pub mesh_read: bool,
}

/// Reads everything, failing with a usage error when the Service does not exist.
pub async fn collect(cluster: &Cluster, target: &Target, ui: &mut Ui) -> anyhow::Result<Live> {
    let services = cluster.resource(&kinds::SERVICE).await?;
    let Some(service) = cluster.get(&services, Some(&target.namespace), &target.name).await? else {
        return Err(UsageError::new(format!(
            "service {} not found; nothing was changed",
            target.display()
        ))
        .with_hint(format!("list services with: kubectl get services -n {}", target.namespace))
        .into());
    };
    let service: Service =
        serde_json::from_value(service).context("cannot read the Service the server returned")?;
    let vs_resource = cluster.resource(&kinds::VIRTUAL_SERVICE).await?;
    let dr_resource = cluster.resource(&kinds::DESTINATION_RULE).await?;
    let (virtual_services, destination_rules) = futures::future::join(
        list_everywhere(cluster, &vs_resource, &target.namespace),
        list_everywhere(cluster, &dr_resource, &target.namespace),
    )
    .await;
    let (virtual_services, vs_all) = virtual_services?;
    let (destination_rules, dr_all) = destination_rules?;
    if !(vs_all && dr_all) {
        ui.note(&format!(
            "cannot list VirtualServices and DestinationRules in every namespace (forbidden); \
             only namespace {} was searched",
            target.namespace
        ));
    }
    let endpoints = list_endpoints(cluster, &service).await?;
    let (mesh, mesh_read) = read_mesh(cluster).await;
    Ok(Live {
        service,
        vs_resource,
        virtual_services,
        dr_resource,
        destination_rules,
        endpoints,
        mesh,
        mesh_read,
    })
}

/// One list in every namespace, or in `namespace` when listing everywhere is forbidden. List
/// items carry no `apiVersion` and `kind`; they are filled in, so the objects can be written
/// and printed as they are.
async fn list_everywhere(
    cluster: &Cluster,
    resource: &Resource,
    namespace: &str,
) -> Result<(Vec<Value>, bool), ClusterError> {
    let options = ListOptions::default();
    let (mut items, all): (Vec<Value>, bool) =
        match cluster.list(resource, Scope::All, &options).await {
            Ok(items) => (items, true),
            Err(e) if e.code() == Some(403) => {
                (cluster.list(resource, Scope::Namespace(namespace), &options).await?, false)
            }
            Err(e) => return Err(e),
        };
    for item in &mut items {
        if let Some(fields) = item.as_object_mut() {
            fields.insert("apiVersion".into(), Value::String(resource.api_version()));
            fields.insert("kind".into(), Value::String(resource.kind.kind.to_string()));
        }
    }
    Ok((items, all))
}

/// The Service with its pods, or the controllers that would run them: the Snapshot `check`
/// counts endpoints from ([`Snapshot::endpoint_count`]), so both give the same number.
pub struct Endpoints {
    snapshot: Snapshot,
}

impl Endpoints {
    /// From the Service and objects read around it (pods, Deployments, StatefulSets).
    pub fn new(service: &Service, objects: Vec<Value>) -> Self {
        let mut builder = Snapshot::builder();
        builder.add(service.clone(), Origin::Cluster);
        for object in objects {
            // Items the snapshot cannot read count nothing, as in `check`.
            let _ = builder.add_value(object, Origin::Cluster);
        }
        Self { snapshot: builder.finish() }
    }

    /// How many endpoints the Service has, or the subset with `labels`.
    pub fn count(&self, labels: Option<&Labels>) -> usize {
        match self.snapshot.services().all().first() {
            Some(_) => self.snapshot.endpoint_count(0, labels),
            None => 0,
        }
    }
}

/// The pods the Service selects that are not being deleted, as metadata; when there are none,
/// the Deployments and StatefulSets of its namespace, whose replicas `check` counts instead.
async fn list_endpoints(cluster: &Cluster, service: &Service) -> Result<Endpoints, ClusterError> {
    if !service.has_selector() {
        return Ok(Endpoints::new(service, Vec::new()));
    }
    let selector: Vec<String> =
        service.spec.selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let options =
        ListOptions { label_selector: Some(selector.join(",")), ..ListOptions::metadata() };
    let pods = cluster.resource(&kinds::POD).await?;
    let namespace = &service.metadata.namespace;
    let items: Vec<Value> = cluster.list(&pods, Scope::Namespace(namespace), &options).await?;
    let mut objects: Vec<Value> = items
        .into_iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .map(|mut p| {
            p["apiVersion"] = Value::String("v1".into());
            p["kind"] = Value::String("Pod".into());
            p
        })
        .collect();
    if objects.is_empty() {
        for kind in [&kinds::DEPLOYMENT, &kinds::STATEFUL_SET] {
            let resource = cluster.resource(kind).await?;
            let mut items: Vec<Value> = cluster
                .list(&resource, Scope::Namespace(namespace), &ListOptions::default())
                .await?;
            for item in &mut items {
                item["apiVersion"] = Value::String(resource.api_version());
                item["kind"] = Value::String(resource.kind.kind.to_string());
            }
            objects.extend(items);
        }
    }
    Ok(Endpoints::new(service, objects))
}

/// The mesh config from the `istio` ConfigMap in `istio-system`; Istio's defaults when it
/// cannot be read (many users may not read the control plane's namespace).
async fn read_mesh(cluster: &Cluster) -> (MeshConfig, bool) {
    let read = async {
        let config_maps = cluster.resource(&kinds::CONFIG_MAP).await.ok()?;
        let cm = cluster.get(&config_maps, Some("istio-system"), "istio").await.ok()??;
        let text = cm.pointer("/data/mesh").and_then(Value::as_str)?.to_string();
        MeshConfig::from_yaml(&text).ok()
    };
    match read.await {
        Some(mesh) => (mesh, true),
        None => {
            tracing::debug!("mesh config not readable; using Istio's defaults");
            (MeshConfig::default(), false)
        }
    }
}
