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
    let mut notes = Vec::new();
    let groups: std::collections::BTreeSet<&str> =
        report.not_served.iter().map(|k| k.group).collect();
    for group in groups {
        notes.push(format!("the cluster does not serve {group}; checks of its kinds are skipped"));
    }
    for (kind, why) in &report.forbidden {
        notes.push(format!(
            "cannot list {} ({why}); checks that need them are skipped",
            kind.resource_name()
        ));
    }
    let snapshot = builder.default_namespace(cluster.namespace()).finish();
    if let Some(e) = snapshot.mesh_error() {
        notes.push(format!(
            "cannot parse mesh config in {control_plane}/istio: {e}; using Istio's defaults"
        ));
    }
    Ok(Loaded { snapshot, notes })
}
