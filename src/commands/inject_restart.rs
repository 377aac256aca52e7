//! The pods side of `inject`: which running pods no longer match their namespace's mesh mode,
//! grouped by the workload that owns them, and restarting those workloads as
//! `kubectl rollout restart` does.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use crate::{
    analysis::injection::UnservedRevision,
    cli::DryRun,
    cluster::{Cluster, ClusterError, ListOptions, Resource, Scope, WriteMode, kinds},
    mesh::injection::{self, MeshMode, PodInjection},
    output::{
        Ui,
        changes::{Change, Verb},
    },
};

/// The metadata of a listed object: all `inject` needs of pods and ReplicaSets.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    pub metadata: ObjectMeta,
}

/// The fields of `metadata` that matter here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub owner_references: Vec<OwnerReference>,
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
}

/// An owner reference.
#[derive(Debug, Clone, Deserialize)]
pub struct OwnerReference {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub controller: Option<bool>,
}

/// A workload whose pods need a restart, or a pod nobody can restart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mismatch {
    pub namespace: String,
    /// `Deployment`, `StatefulSet`, `DaemonSet`, or `Pod` for pods without such an owner.
    pub kind: String,
    pub name: String,
    pub pods: usize,
    pub reason: String,
}

pub async fn list_pods(
    cluster: &Cluster,
    namespaces: &[String],
) -> Result<Vec<Meta>, ClusterError> {
    let resource = cluster.resource(&kinds::POD).await?;
    list_in(cluster, &resource, namespaces).await
}

/// ReplicaSet name to the Deployment that owns it, per namespace.
pub async fn list_replica_set_owners(
    cluster: &Cluster,
    namespaces: &[String],
) -> Result<BTreeMap<(String, String), String>, ClusterError> {
    let resource = cluster.resource(&kinds::REPLICA_SET).await?;
    let sets = list_in(cluster, &resource, namespaces).await?;
    Ok(sets
        .into_iter()
        .filter_map(|rs| {
            let owner = controller(&rs.metadata)?;
            (owner.kind == "Deployment").then(|| {
                ((rs.metadata.namespace.clone(), rs.metadata.name.clone()), owner.name.clone())
            })
        })
        .collect())
}

/// One metadata-only list: in the one namespace, or across all of them for several.
async fn list_in(
    cluster: &Cluster,
    resource: &Resource,
    namespaces: &[String],
) -> Result<Vec<Meta>, ClusterError> {
    let scope = match namespaces {
        [one] => Scope::Namespace(one),
        _ => Scope::All,
    };
    let items: Vec<Meta> = cluster.list(resource, scope, &ListOptions::metadata()).await?;
    Ok(items.into_iter().filter(|i| namespaces.contains(&i.metadata.namespace)).collect())
}

fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| meta.owner_references.first())
}

/// Groups the pods that do not match their namespace's mode by the workload that owns them.
pub fn find_mismatches(
    pods: &[Meta],
    replica_set_owners: &BTreeMap<(String, String), String>,
    modes: &BTreeMap<&str, MeshMode>,
) -> Vec<Mismatch> {
    let mut grouped: BTreeMap<(String, String, String), (usize, String)> = BTreeMap::new();
    for pod in pods {
        let meta = &pod.metadata;
        if meta.deletion_timestamp.is_some() {
            continue;
        }
        let Some(mode) = modes.get(meta.namespace.as_str()) else { continue };
        let view = PodInjection {
            labels: &meta.labels,
            annotations: &meta.annotations,
            has_proxy_container: false,
        };
        let Some(reason) = injection::restart_reason(mode, view) else { continue };
        let (kind, name) = match controller(meta) {
            Some(o) if o.kind == "ReplicaSet" => {
                match replica_set_owners.get(&(meta.namespace.clone(), o.name.clone())) {
                    Some(deployment) => ("Deployment".to_string(), deployment.clone()),
                    None => ("Pod".to_string(), meta.name.clone()),
                }
            }
            Some(o) if o.kind == "StatefulSet" || o.kind == "DaemonSet" => {
                (o.kind.clone(), o.name.clone())
            }
            _ => ("Pod".to_string(), meta.name.clone()),
        };
        let entry = grouped.entry((meta.namespace.clone(), kind, name)).or_insert((0, reason));
        entry.0 += 1;
    }
    grouped
        .into_iter()
        .map(|((namespace, kind, name), (pods, reason))| Mismatch {
            namespace,
            kind,
            name,
            pods,
            reason,
        })
        .collect()
}

/// Names the workloads whose pods do not match their namespace, and how to restart them, unless
/// the revision the namespaces ask for is not served: restarted pods would then come back
/// without a sidecar.
pub fn report_mismatches(
    mismatches: &[Mismatch],
    unserved: Option<&UnservedRevision>,
    ui: &mut Ui,
) {
    let rows: Vec<String> = mismatches
        .iter()
        .map(|m| {
            let what = if m.kind == "Pod" {
                format!("pod {}", m.name)
            } else {
                let pods = crate::output::count(m.pods, "pod", "pods");
                format!("{} {} ({pods})", m.kind.to_ascii_lowercase(), m.name)
            };
            format!("  {}/{what}: {}", m.namespace, m.reason)
        })
        .collect();
    let runs = match mismatches.len() {
        1 => "1 workload runs".to_string(),
        n => format!("{n} workloads run"),
    };
    let advice = match unserved {
        Some(u) => format!(
            "do not restart them until revision {} is served: restarted pods would come back \
             without a sidecar",
            u.wanted
        ),
        None => "restart them with --restart (or kubectl rollout restart)".to_string(),
    };
    ui.warn(&format!(
        "{runs} pods that do not match their namespace; {advice}:\n{}",
        rows.join("\n")
    ));
}

/// Restarts Deployments, StatefulSets and DaemonSets by stamping their pod template, as
/// `kubectl rollout restart` does.
pub async fn restart(
    cluster: &Cluster,
    mismatches: &[Mismatch],
    dry_run: DryRun,
    mode: WriteMode,
    ui: &mut Ui,
) -> anyhow::Result<Vec<Change>> {
    let now = rfc3339_now();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now
    }}}}});
    let mut changes = Vec::new();
    for m in mismatches.iter().filter(|m| m.kind != "Pod") {
        let kind = match m.kind.as_str() {
            "Deployment" => &kinds::DEPLOYMENT,
            "StatefulSet" => &kinds::STATEFUL_SET,
            _ => &kinds::DAEMON_SET,
        };
        if dry_run == DryRun::Client {
            changes.push(Change::new(kind, Some(&m.namespace), &m.name, Verb::Restarted));
            continue;
        }
        let resource = cluster.resource(kind).await?;
        let verb =
            match cluster.merge_patch(&resource, Some(&m.namespace), &m.name, &patch, mode).await {
                Ok(_) => Verb::Restarted,
                Err(e) => {
                    ui.warn(&format!("cannot restart {} {}/{}: {e}", m.kind, m.namespace, m.name));
                    Verb::Failed(e.failure().to_string())
                }
            };
        changes.push(Change::new(kind, Some(&m.namespace), &m.name, verb));
    }
    Ok(changes)
}

/// The current time as RFC 3339, UTC, to the second.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_timestamps_are_rfc3339() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_426), (2025, 12, 4));
        let now = rfc3339_now();
        assert_eq!(now.len(), 20);
        assert!(now.ends_with('Z'));
    }
}
