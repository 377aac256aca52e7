//! Which workloads a policy governs (the mesh, a namespace, or the pods a selector picks), the
//! Services in front of them, and pods grouped by the workload that owns them for reports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::mesh::{Snapshot, meta::Labels, selector::is_subset};

/// Namespaces whose pods are taken not to call application Services.
pub const SYSTEM_NAMESPACES: &[&str] = crate::analysis::injection::PROTECTED_NAMESPACES;

/// The workloads a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every workload (a policy in the root namespace without a selector).
    Mesh,
    /// Every workload of a namespace.
    Namespace(String),
    /// The pods of a namespace whose labels contain the selector.
    Workload { namespace: String, selector: BTreeMap<String, String> },
}

impl Scope {
    /// The selector as Snapshot labels, for workload scopes.
    pub fn labels(&self) -> Option<Labels> {
        match self {
            Scope::Workload { selector, .. } => {
                Some(selector.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            _ => None,
        }
    }

    /// The namespace the scope lies in (`None` for the mesh).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Scope::Mesh => None,
            Scope::Namespace(ns) | Scope::Workload { namespace: ns, .. } => Some(ns),
        }
    }

    /// The pods in scope that have not finished, by index.
    pub fn pods(&self, snap: &Snapshot) -> Vec<u32> {
        let pods = snap.pods();
        let ids: Vec<u32> = match self {
            Scope::Mesh => (0..pods.len() as u32).collect(),
            Scope::Namespace(ns) => pods.ids_in(ns).to_vec(),
            Scope::Workload { namespace, .. } => {
                let labels = self.labels().unwrap_or_default();
                pods.ids_in(namespace)
                    .iter()
                    .copied()
                    .filter(|&id| is_subset(&labels, &pods.at(id).metadata.labels))
                    .collect()
            }
        };
        ids.into_iter().filter(|&id| !pods.at(id).is_finished()).collect()
    }

    /// The Services that send traffic to pods in scope: for the mesh and a namespace, every
    /// Service with a selector there; for a workload, those selecting one of its pods.
    pub fn services(&self, snap: &Snapshot) -> Vec<u32> {
        let services = snap.services();
        let with_selector = |id: &u32| services.at(*id).has_selector();
        match self {
            Scope::Mesh => (0..services.len() as u32).filter(with_selector).collect(),
            Scope::Namespace(ns) => {
                services.ids_in(ns).iter().copied().filter(with_selector).collect()
            }
            Scope::Workload { .. } => {
                let ids: BTreeSet<u32> = self
                    .pods(snap)
                    .into_iter()
                    .flat_map(|p| snap.services_for_pod(p).iter().copied())
                    .collect();
                ids.into_iter().collect()
            }
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Mesh => f.write_str("the mesh"),
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
            Scope::Workload { namespace, selector } => {
                let sel: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "pods {} in namespace {namespace}", sel.join(","))
            }
        }
    }
}

/// Pods of one workload: a controller's pods, or one bare pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodGroup {
    pub namespace: String,
    /// `deployment web`, `statefulset db`, or `pod debug`.
    pub workload: String,
    /// Pod indexes, the first one standing for all.
    pub pods: Vec<u32>,
}

impl PodGroup {
    /// The pod whose account, labels and sidecar stand for the group.
    pub fn representative(&self) -> u32 {
        self.pods[0]
    }
}

impl fmt::Display for PodGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.workload)?;
        if !self.workload.starts_with("pod ") {
            let n = self.pods.len();
            write!(f, " ({n} pod{})", if n == 1 { "" } else { "s" })?;
        }
        Ok(())
    }
}

/// Groups pods by namespace, owning controller, service account and sidecar, so one pod can
/// stand for each group; groups are sorted.
pub fn group_pods(snap: &Snapshot, pods: impl IntoIterator<Item = u32>) -> Vec<PodGroup> {
    let mut groups: BTreeMap<(String, String, String, bool), Vec<u32>> = BTreeMap::new();
    for id in pods {
        let pod = snap.pods().at(id);
        let workload = match &pod.resolved.controller {
            Some(c) => match c.split_once('/') {
                Some((kind, name)) => format!("{} {name}", kind.to_ascii_lowercase()),
                None => c.clone(),
            },
            None => format!("pod {}", pod.metadata.name),
        };
        let key = (
            pod.metadata.namespace.clone(),
            workload,
            pod.service_account().to_string(),
            snap.workload_of_pod(id).has_proxy(),
        );
        groups.entry(key).or_default().push(id);
    }
    groups
        .into_iter()
        .map(|((namespace, workload, _, _), pods)| PodGroup { namespace, workload, pods })
        .collect()
}

pub(crate) use crate::analysis::injection::why_no_sidecar;
