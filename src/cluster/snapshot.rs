//! Reads a Snapshot from the cluster: one paginated LIST per kind, kinds listed concurrently
//! with a bounded number in flight, Pods, ReplicaSets, ServiceAccounts, Secrets and injector
//! webhooks as metadata only, and only the mesh config ConfigMap. Items are decoded page by
//! page straight into the slim `mesh` types, so only the fields analysis needs stay in memory.
//!
//! Kinds the cluster does not serve (Istio or the Gateway API not installed) are left out and
//! reported; the analyzers that need them are skipped. Secrets, webhooks and the mesh config
//! are optional: a 403 on them is a note, not a failure, since many users may not read them.

use futures::{StreamExt, TryStreamExt, stream};

use super::{Cluster, ClusterError, ListOptions, Scope, kinds};
use crate::mesh::{
    Origin,
    authorization_policy::AuthorizationPolicy,
    core::{ConfigMap, Namespace, Secret, ServiceAccount},
    destination_rule::DestinationRule,
    fields::Checked,
    gateway::Gateway,
    gateway_api::{HttpRoute, K8sGateway},
    peer_authentication::PeerAuthentication,
    pod::{Pod, Source},
    request_authentication::RequestAuthentication,
    service::Service,
    service_entry::ServiceEntry,
    sidecar::Sidecar,
    snapshot::{Snapshot, SnapshotBuilder, Stored},
    virtual_service::VirtualService,
    webhook::MutatingWebhookConfiguration,
    workload::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
};

/// How the Snapshot is read.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Items per page.
    pub page_size: u32,
    /// Lists in flight at once.
    pub concurrency: usize,
    /// Where the mesh config ConfigMap lives.
    pub control_plane_namespace: String,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { page_size: 500, concurrency: 6, control_plane_namespace: "istio-system".into() }
    }
}

/// What the load left out.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Kinds the cluster does not serve.
    pub not_served: Vec<&'static kinds::Kind>,
    /// Optional kinds we may not list, with the server's message.
    pub forbidden: Vec<(&'static kinds::Kind, String)>,
    /// Objects read.
    pub objects: usize,
}

impl LoadReport {
    /// One note per API group not served and per kind we may not list.
    pub fn notes(&self) -> Vec<String> {
        let groups: std::collections::BTreeSet<&str> =
            self.not_served.iter().map(|k| k.group).collect();
        let mut notes: Vec<String> = groups
            .into_iter()
            .map(|g| format!("the cluster does not serve {g}; checks of its kinds are skipped"))
            .collect();
        notes.extend(self.forbidden.iter().map(|(kind, why)| {
            format!(
                "cannot list {} ({why}); checks that need them are skipped",
                kind.resource_name()
            )
        }));
        notes
    }
}

/// Namespaces whose pods are listed in full to learn service accounts; beyond this, one list
/// of the pods of all namespaces instead.
const MAX_POD_NAMESPACES: usize = 8;

type Apply = Box<dyn FnOnce(&mut SnapshotBuilder) + Send>;

/// One kind to list: into which mesh type, whether as metadata only, whether optional.
struct Job {
    kind: &'static kinds::Kind,
    metadata_only: bool,
    optional: bool,
    field_selector: Option<String>,
    namespace: Option<String>,
}

impl Cluster {
    /// Lists every kind the analyzers read into a builder.
    pub async fn collect_snapshot(
        &self,
        options: &LoadOptions,
    ) -> Result<(SnapshotBuilder, LoadReport), ClusterError> {
        let full = |kind| Job {
            kind,
            metadata_only: false,
            optional: false,
            field_selector: None,
            namespace: None,
        };
        let meta = |kind| Job {
            kind,
            metadata_only: true,
            optional: false,
            field_selector: None,
            namespace: None,
        };
        let jobs = vec![
            full(&kinds::NAMESPACE),
            full(&kinds::SERVICE),
            meta(&kinds::POD),
            meta(&kinds::REPLICA_SET),
            meta(&kinds::SERVICE_ACCOUNT),
            full(&kinds::DEPLOYMENT),
            full(&kinds::STATEFUL_SET),
            full(&kinds::DAEMON_SET),
            Job { optional: true, ..meta(&kinds::SECRET) },
            Job { optional: true, ..meta(&kinds::MUTATING_WEBHOOK) },
            Job {
                optional: true,
                field_selector: Some("metadata.name=istio".into()),
                namespace: Some(options.control_plane_namespace.clone()),
                ..full(&kinds::CONFIG_MAP)
            },
            full(&kinds::GATEWAY),
            full(&kinds::VIRTUAL_SERVICE),
            full(&kinds::DESTINATION_RULE),
            full(&kinds::SERVICE_ENTRY),
            full(&kinds::SIDECAR),
            full(&kinds::PEER_AUTHENTICATION),
            full(&kinds::AUTHORIZATION_POLICY),
            full(&kinds::REQUEST_AUTHENTICATION),
            full(&kinds::K8S_GATEWAY),
            full(&kinds::HTTP_ROUTE),
        ];

        let mut report = LoadReport::default();
        let mut builder =
            SnapshotBuilder::new().control_plane_namespace(&options.control_plane_namespace);
        let results: Vec<Result<Outcome, ClusterError>> = stream::iter(jobs)
            .map(|job| self.run_job(job, options.page_size))
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        for result in results {
            match result? {
                Outcome::Loaded(apply, count) => {
                    report.objects += count;
                    apply(&mut builder);
                }
                Outcome::NotServed(kind) => report.not_served.push(kind),
                Outcome::Forbidden(kind, why) => report.forbidden.push((kind, why)),
            }
        }
        report.not_served.sort_by_key(|k| (k.group, k.kind));
        report.forbidden.sort_by_key(|(k, _)| (k.group, k.kind));
        Ok((builder, report))
    }

    async fn run_job(&self, job: Job, page_size: u32) -> Result<Outcome, ClusterError> {
        let Some(resource) = self.try_resource(job.kind).await? else {
            return Ok(Outcome::NotServed(job.kind));
        };
        let options = ListOptions {
            label_selector: None,
            field_selector: job.field_selector.clone(),
            metadata_only: job.metadata_only,
            page_size,
        };
        let scope = match &job.namespace {
            Some(ns) => Scope::Namespace(ns),
            None => Scope::All,
        };
        let k = job.kind;
        macro_rules! load {
            ($ty:ty) => {
                self.load::<$ty>(&resource, scope, &options).await
            };
        }
        // Istio objects are read with their field checks, so a value Istio would refuse is
        // a finding about that object, never a failed list.
        macro_rules! checked {
            ($ty:ty) => {
                self.load_checked::<$ty>(&resource, scope, &options).await
            };
        }
        let loaded = if k == &kinds::NAMESPACE {
            load!(Namespace)
        } else if k == &kinds::SERVICE {
            load!(Service)
        } else if k == &kinds::POD {
            load!(Pod)
        } else if k == &kinds::REPLICA_SET {
            load!(ReplicaSet)
        } else if k == &kinds::SERVICE_ACCOUNT {
            load!(ServiceAccount)
        } else if k == &kinds::DEPLOYMENT {
            load!(Deployment)
        } else if k == &kinds::STATEFUL_SET {
            load!(StatefulSet)
        } else if k == &kinds::DAEMON_SET {
            load!(DaemonSet)
        } else if k == &kinds::SECRET {
            load!(Secret)
        } else if k == &kinds::MUTATING_WEBHOOK {
            load!(MutatingWebhookConfiguration)
        } else if k == &kinds::CONFIG_MAP {
            load!(ConfigMap)
        } else if k == &kinds::GATEWAY {
            checked!(Gateway)
        } else if k == &kinds::VIRTUAL_SERVICE {
            checked!(VirtualService)
        } else if k == &kinds::DESTINATION_RULE {
            checked!(DestinationRule)
        } else if k == &kinds::SERVICE_ENTRY {
            checked!(ServiceEntry)
        } else if k == &kinds::SIDECAR {
            checked!(Sidecar)
        } else if k == &kinds::PEER_AUTHENTICATION {
            checked!(PeerAuthentication)
        } else if k == &kinds::AUTHORIZATION_POLICY {
            checked!(AuthorizationPolicy)
        } else if k == &kinds::REQUEST_AUTHENTICATION {
            checked!(RequestAuthentication)
        } else if k == &kinds::K8S_GATEWAY {
            load!(K8sGateway)
        } else {
            load!(HttpRoute)
        };
        match loaded {
            Ok(outcome) => Ok(outcome),
            Err(e) if job.optional && e.code() == Some(403) => {
                Ok(Outcome::Forbidden(job.kind, e.failure().to_string()))
            }
            Err(e) => Err(e),
        }
    }

    async fn load<R: Stored + Send>(
        &self,
        resource: &super::Resource,
        scope: Scope<'_>,
        options: &ListOptions,
    ) -> Result<Outcome, ClusterError> {
        let items: Vec<R> = self.list(resource, scope, options).await?;
        let count = items.len();
        let apply: Apply = Box::new(move |builder: &mut SnapshotBuilder| {
            builder.mark_loaded(R::KIND);
            for item in items {
                builder.add(item, Origin::Cluster);
            }
        });
        Ok(Outcome::Loaded(apply, count))
    }
}

impl Cluster {
    async fn load_checked<R: Stored + Send>(
        &self,
        resource: &super::Resource,
        scope: Scope<'_>,
        options: &ListOptions,
    ) -> Result<Outcome, ClusterError> {
        let items: Vec<Checked<R>> = self.list(resource, scope, options).await?;
        let count = items.len();
        let apply: Apply = Box::new(move |builder: &mut SnapshotBuilder| {
            builder.mark_loaded(R::KIND);
            for item in items {
                builder.add_checked(item.obj, item.problems, Origin::Cluster);
            }
        });
        Ok(Outcome::Loaded(apply, count))
    }
}

impl Cluster {
    /// Learns the service accounts the metadata-only pod list left unknown: pods with no
    /// Deployment, StatefulSet or DaemonSet above them (bare pods, Job pods). Their pods are
    /// listed in full (paginated) in the few namespaces that hold them, or in all namespaces
    /// when there are many; nothing is read one by one. Commands that answer for a caller's
    /// identity (`can`, `allow`, `deny`, `mtls`) call this; `check` does not need it.
    pub async fn resolve_pod_accounts(
        &self,
        snapshot: Snapshot,
        page_size: u32,
    ) -> Result<Snapshot, ClusterError> {
        let unknown: std::collections::BTreeSet<(String, String)> = snapshot
            .pods()
            .iter()
            .filter(|p| p.obj.spec.is_none() && p.obj.resolved.account_source == Source::Inferred)
            .map(|p| (p.metadata.namespace.clone(), p.metadata.name.clone()))
            .collect();
        if unknown.is_empty() {
            return Ok(snapshot);
        }
        let namespaces: std::collections::BTreeSet<&str> =
            unknown.iter().map(|(ns, _)| ns.as_str()).collect();
        let resource = self.resource(&kinds::POD).await?;
        let options = ListOptions { page_size, ..ListOptions::default() };
        let scopes: Vec<Scope> = match namespaces.len() {
            n if n <= MAX_POD_NAMESPACES => {
                namespaces.iter().map(|ns| Scope::Namespace(ns)).collect()
            }
            _ => vec![Scope::All],
        };
        let lists: Vec<Vec<Pod>> = stream::iter(scopes)
            .map(|scope| {
                let (resource, options) = (&resource, &options);
                async move { self.list::<Pod>(resource, scope, options).await }
            })
            .buffer_unordered(4)
            .try_collect()
            .await?;
        let mut builder = snapshot.into_builder();
        for pod in lists.into_iter().flatten() {
            if unknown.contains(&(pod.metadata.namespace.clone(), pod.metadata.name.clone())) {
                builder.add(pod, Origin::Cluster);
            }
        }
        Ok(builder.finish())
    }
}

enum Outcome {
    Loaded(Apply, usize),
    NotServed(&'static kinds::Kind),
    Forbidden(&'static kinds::Kind, String),
}
