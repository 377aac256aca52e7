//! The Snapshot `mtls`, `allow` and `deny` check: the cluster's, read with the shared live
//! loader, and what it could not read, said as notes.

use crate::{
    cluster::{Cluster, snapshot::LoadOptions},
    mesh::Snapshot,
};

/// The Snapshot and what could not be read (the checks run without it).
pub struct Loaded {
    pub snapshot: Snapshot,
    pub notes: Vec<String>,
}

/// Reads the Snapshot, with the mesh config from `control_plane`.
pub async fn list_snapshot(cluster: &Cluster, control_plane: &str) -> anyhow::Result<Loaded> {
    let options = LoadOptions {
        control_plane_namespace: control_plane.to_string(),
        ..LoadOptions::default()
    };
    let (builder, report) = cluster.collect_snapshot(&options).await?;
    let mut notes = report.notes();
    let snapshot = builder.default_namespace(cluster.namespace()).finish();
    // Who would lose access depends on each caller's account, so learn the unknown ones.
    let snapshot = cluster.resolve_pod_accounts(snapshot, options.page_size).await?;
    if let Some(e) = snapshot.mesh_error() {
        notes.push(format!(
            "cannot parse mesh config in {control_plane}/istio: {e}; using Istio's defaults"
        ));
    }
    Ok(Loaded { snapshot, notes })
}
