//! The callers of the matrix: every workload of the Snapshot grouped by its identity
//! (namespace and service account) and by whether a proxy sends its requests, since a workload
//! without one calls as a client outside the mesh does.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::mesh::snapshot::Snapshot;

/// The workloads that share an identity and a proxy status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub namespace: String,
    pub service_account: String,
    /// Whether a proxy (sidecar, gateway or ztunnel) sends their requests.
    pub proxy: bool,
    /// How many workloads (pods, or pod templates from files) share it.
    pub workloads: usize,
    /// Index of the namespace in [`Identities::namespaces`].
    pub ns: u32,
}

impl Identity {
    /// `ns/sa`, with ` (no sidecar)` for workloads without a proxy.
    pub fn id(&self) -> String {
        let bare = if self.proxy { "" } else { " (no sidecar)" };
        format!("{}/{}{bare}", self.namespace, self.service_account)
    }
}

/// Every identity that runs a workload, sorted by namespace, service account, proxy first.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    pub list: Vec<Identity>,
    /// Namespaces that run a workload, sorted.
    pub namespaces: Vec<String>,
    /// The identities of each namespace, as a range of `list`.
    pub ranges: Vec<Range<u32>>,
    by_account: HashMap<(String, String), Vec<u32>>,
    ns_ids: HashMap<String, u32>,
}

impl Identities {
    /// The identities of every workload in the Snapshot.
    pub fn of(snapshot: &Snapshot) -> Identities {
        let mut grouped: BTreeMap<(&str, &str, bool), usize> = BTreeMap::new();
        for w in snapshot.workloads() {
            // `false` sorts first: proxied workloads come before the bare ones of an account.
            *grouped.entry((w.namespace, w.service_account, !w.has_proxy())).or_default() += 1;
        }
        let mut ids = Identities::default();
        for ((namespace, account, bare), workloads) in grouped {
            if ids.namespaces.last().map(String::as_str) != Some(namespace) {
                let at = ids.list.len() as u32;
                ids.ns_ids.insert(namespace.to_string(), ids.namespaces.len() as u32);
                ids.namespaces.push(namespace.to_string());
                ids.ranges.push(at..at);
            }
            let ns = ids.namespaces.len() as u32 - 1;
            let index = ids.list.len() as u32;
            ids.by_account
                .entry((namespace.to_string(), account.to_string()))
                .or_default()
                .push(index);
            ids.list.push(Identity {
                namespace: namespace.to_string(),
                service_account: account.to_string(),
                proxy: !bare,
                workloads,
                ns,
            });
            ids.ranges[ns as usize].end = index + 1;
        }
        ids
    }

    /// The identity with a proxy for this account, if one runs.
    pub fn proxied(&self, namespace: &str, account: &str) -> Option<u32> {
        let key = (namespace.to_string(), account.to_string());
        self.by_account.get(&key)?.iter().copied().find(|&i| self.list[i as usize].proxy)
    }

    /// The index of a namespace that runs a workload.
    pub fn ns_id(&self, namespace: &str) -> Option<u32> {
        self.ns_ids.get(namespace).copied()
    }

    /// The identities with a proxy in namespace `ns`.
    pub fn proxied_in(&self, ns: u32) -> impl Iterator<Item = u32> + '_ {
        self.ranges[ns as usize].clone().filter(|&i| self.list[i as usize].proxy)
    }
}

/// Who a row of the matrix stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// One identity (index into [`Identities::list`]).
    Identity(u32),
    /// Identities outside the namespace that get the same answers as `rep` everywhere.
    Others { rep: u32, count: usize },
    /// The ingress gateway, as `can ingress` resolves it.
    Ingress,
    /// A client without any mesh identity.
    Plaintext,
}

/// One row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Stable id: `ns/sa`, `ns/sa (no sidecar)`, `others`, `ingress`, `plaintext`.
    pub id: String,
    /// What the table shows: the id, or `others (N)`.
    pub label: String,
    pub caller: Caller,
}

impl Row {
    /// The row of an identity.
    pub fn identity(ids: &Identities, i: u32) -> Row {
        let id = ids.list[i as usize].id();
        Row { label: id.clone(), id, caller: Caller::Identity(i) }
    }

    /// The rows every matrix ends with.
    pub fn outside() -> [Row; 2] {
        [
            Row { id: "ingress".into(), label: "ingress".into(), caller: Caller::Ingress },
            Row { id: "plaintext".into(), label: "plaintext".into(), caller: Caller::Plaintext },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::manifest::load_manifest;

    #[test]
    fn workloads_group_by_account_and_proxy() {
        let yaml = "\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-1, namespace: shop, annotations: {sidecar.istio.io/status: '{}'}}
spec: {serviceAccountName: cart, containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-2, namespace: shop, annotations: {sidecar.istio.io/status: '{}'}}
spec: {serviceAccountName: cart, containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-old, namespace: shop}
spec: {serviceAccountName: cart, containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: done, namespace: shop}
spec: {serviceAccountName: batch, containers: [{name: app}]}
status: {phase: Succeeded}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: alpha}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec: {serviceAccountName: sleep, containers: [{name: app}]}
";
        let mut b = Snapshot::builder();
        let (_, errors) = load_manifest(&mut b, "t.yaml", yaml.as_bytes()).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let ids = Identities::of(&b.finish());
        let names: Vec<(String, usize)> = ids.list.iter().map(|i| (i.id(), i.workloads)).collect();
        assert_eq!(
            names,
            [
                ("alpha/sleep (no sidecar)".to_string(), 1),
                ("shop/cart".to_string(), 2),
                ("shop/cart (no sidecar)".to_string(), 1)
            ]
        );
        assert_eq!(ids.namespaces, ["alpha", "shop"]);
        assert_eq!(ids.proxied("shop", "cart"), Some(1));
        assert_eq!(ids.proxied("alpha", "sleep"), None);
        assert_eq!(ids.proxied_in(1).collect::<Vec<_>>(), [1]);
    }
}
