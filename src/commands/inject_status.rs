//! `inject status [NS | -A]`: each namespace's mesh mode, how many of its pods run in the mesh,
//! and how many need a restart to match it. Pods are read as metadata only.

use std::collections::BTreeMap;

use serde::Serialize;

use super::inject_restart::{Meta, find_mismatches};
use crate::{
    cli::{GlobalArgs, InjectStatusArgs},
    cluster::{Cluster, ListOptions, Scope, kinds},
    error::{ExitStatus, UsageError},
    mesh::injection::{self, MeshMode, PodInjection},
    output::{Format, Ui, table},
};

/// One row of the status table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceStatus {
    pub namespace: String,
    pub mode: String,
    pub meshed_pods: usize,
    pub total_pods: usize,
    pub needs_restart: usize,
}

/// Runs `inject status`.
pub async fn run(
    global: &GlobalArgs,
    args: InjectStatusArgs,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Json, Format::Yaml])?;
    let wanted = match (&args.namespace, &global.namespace) {
        (Some(ns), _) => Some(ns.clone()),
        (None, Some(ns)) if !args.all_namespaces => Some(ns.clone()),
        _ => None,
    };
    if let Some(ns) = &wanted {
        let flag = if args.namespace.is_some() { "NS" } else { "--namespace" };
        crate::mesh::validate::validate_namespace(ns).map_err(|e| e.for_flag(flag))?;
    }

    let cluster = Cluster::connect(global).await?;
    let wanted = match wanted {
        Some(ns) => Some(ns),
        None if args.all_namespaces => None,
        None => Some(cluster.namespace().to_string()),
    };
    let ns_resource = cluster.resource(&kinds::NAMESPACE).await?;
    let pod_resource = cluster.resource(&kinds::POD).await?;
    let rs_resource = cluster.resource(&kinds::REPLICA_SET).await?;
    let metadata = ListOptions { page_size: args.page_size, ..ListOptions::metadata() };
    let (ns_options, scope) = match &wanted {
        Some(ns) => (
            ListOptions { field_selector: Some(format!("metadata.name={ns}")), ..metadata.clone() },
            Scope::Namespace(ns.as_str()),
        ),
        None => (metadata.clone(), Scope::All),
    };
    let (namespaces, pods, sets) = tokio::try_join!(
        cluster.list::<Meta>(&ns_resource, Scope::All, &ns_options),
        cluster.list::<Meta>(&pod_resource, scope, &metadata),
        cluster.list::<Meta>(&rs_resource, scope, &metadata),
    )?;
    if let Some(ns) = &wanted
        && namespaces.iter().all(|n| n.metadata.name != *ns)
    {
        return Err(UsageError::new(format!("namespace {ns} not found"))
            .with_hint("list namespaces with: kubectl get namespaces")
            .into());
    }

    let rows = summarize(&namespaces, &pods, &sets);
    match format {
        Format::Json => ui.json(&rows)?,
        Format::Yaml => ui.yaml(&rows)?,
        _ => {
            let table_rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.namespace.clone(),
                        r.mode.clone(),
                        format!("{}/{}", r.meshed_pods, r.total_pods),
                        r.needs_restart.to_string(),
                    ]
                })
                .collect();
            ui.text(&table::render(&["NAMESPACE", "MODE", "MESHED", "RESTART"], &table_rows))?;
        }
    }
    Ok(ExitStatus::Success)
}

/// The status of every namespace, from metadata alone.
pub fn summarize(namespaces: &[Meta], pods: &[Meta], sets: &[Meta]) -> Vec<NamespaceStatus> {
    let modes: BTreeMap<&str, MeshMode> = namespaces
        .iter()
        .map(|n| (n.metadata.name.as_str(), injection::namespace_mode(&n.metadata.labels)))
        .collect();
    let owners: BTreeMap<(String, String), String> = sets
        .iter()
        .filter_map(|rs| {
            let o = rs.metadata.owner_references.iter().find(|o| o.kind == "Deployment")?;
            Some(((rs.metadata.namespace.clone(), rs.metadata.name.clone()), o.name.clone()))
        })
        .collect();
    let mismatched = find_mismatches(pods, &owners, &modes);

    let mut rows: Vec<NamespaceStatus> = modes
        .iter()
        .map(|(ns, mode)| NamespaceStatus {
            namespace: ns.to_string(),
            mode: mode.describe(),
            meshed_pods: 0,
            total_pods: 0,
            needs_restart: mismatched.iter().filter(|m| m.namespace == *ns).map(|m| m.pods).sum(),
        })
        .collect();
    for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
        let Some(row) = rows.iter_mut().find(|r| r.namespace == pod.metadata.namespace) else {
            continue;
        };
        row.total_pods += 1;
        let view = PodInjection {
            labels: &pod.metadata.labels,
            annotations: &pod.metadata.annotations,
            has_proxy_container: false,
        };
        let ambient_captured = pod
            .metadata
            .annotations
            .get("ambient.istio.io/redirection")
            .is_some_and(|v| v == "enabled");
        if view.has_sidecar() || ambient_captured {
            row.meshed_pods += 1;
        }
    }
    rows
}
