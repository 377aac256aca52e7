//! Pods behind Services and the workloads a request can land on: real pods,
//! or, when the input has none, the pod templates of controllers whose
//! labels the Service selects, or the Service selector itself.

use std::borrow::Cow;
use std::net::IpAddr;
use std::ops::Deref;

use super::Snapshot;
use super::resolve::DEFAULT_SERVICE_ACCOUNT;
use super::store::Table;
use crate::mesh::core::LABEL_DATAPLANE_MODE;
use crate::mesh::kind::Kind;
use crate::mesh::meta::{LABEL_TLS_MODE, Labels};
use crate::mesh::pod::{ContainerPort, Source, is_gateway_labels};
use crate::mesh::selector::is_subset;
use crate::mesh::service::ServicePort;
use crate::mesh::workload::{Controller, is_injection_expected};

/// What a [`Workload`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum WorkloadRef {
    /// A pod, by index in the pod table.
    Pod(u32),
    /// The pod template of a controller, by kind and index in its table.
    Template(Kind, u32),
    /// No pod or template: the Service's selector labels stand in.
    Selector(u32),
}

/// A workload as the evaluators see it.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    /// What it stands for.
    pub reference: WorkloadRef,
    /// Namespace.
    pub namespace: &'a str,
    /// Pod name, or `Deployment/web` for a template, or `Service/web` for a
    /// selector stand-in.
    pub name: Cow<'a, str>,
    /// Labels.
    pub labels: Cow<'a, Labels>,
    /// Service account.
    pub service_account: &'a str,
    /// Whether the account was assumed (`default`) for want of a spec.
    pub account_inferred: bool,
    /// Whether a sidecar runs (or, for templates, would be injected).
    pub has_sidecar: bool,
    /// Whether `has_sidecar` was inferred from injection settings.
    pub sidecar_inferred: bool,
    /// Whether the workload is a gateway proxy.
    pub is_gateway: bool,
    /// Whether the workload is in ambient mode (no sidecar; ztunnel carries
    /// and checks its traffic).
    pub ambient: bool,
    /// Container ports.
    pub ports: Cow<'a, [ContainerPort]>,
    /// Whether the ports are known.
    pub ports_known: bool,
    /// The pod IP, when known.
    pub ip: Option<IpAddr>,
}

impl Workload<'_> {
    /// Whether a proxy carries the workload's traffic (sidecar, gateway, or
    /// ztunnel in ambient mode).
    pub fn has_proxy(&self) -> bool {
        self.has_sidecar || self.is_gateway || self.ambient
    }

    /// Whether auto mTLS sees the endpoint as taking Istio mTLS: the
    /// `security.istio.io/tlsMode: istio` label, a sidecar on a template, or
    /// ambient mode (ztunnel).
    pub fn is_istio_tls_endpoint(&self) -> bool {
        if self.ambient {
            return true;
        }
        match self.labels.get(LABEL_TLS_MODE) {
            Some(v) => v == "istio",
            None => self.sidecar_inferred && self.has_sidecar,
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The container port a Service port reaches on a workload: a numeric
/// `targetPort`, the container port named by a string `targetPort`, or the
/// Service port itself when `targetPort` is absent. `None` when a named
/// target port cannot be found on the workload.
pub fn target_port(port: &ServicePort, ports: &[ContainerPort]) -> Option<u16> {
    match &port.target_port {
        None => Some(port.port),
        Some(t) => match t.as_port() {
            Some(n) => Some(n),
            None => {
                let name = t.as_name()?;
                ports.iter().find(|p| p.name.as_deref() == Some(name)).map(|p| p.container_port)
            }
        },
    }
}

impl Snapshot {
    /// The workload view of a pod.
    pub fn workload_of_pod(&self, pod: u32) -> Workload<'_> {
        let p = self.pods().at(pod);
        let r = &p.resolved;
        Workload {
            reference: WorkloadRef::Pod(pod),
            namespace: &p.metadata.namespace,
            name: Cow::Borrowed(&p.metadata.name),
            labels: Cow::Borrowed(&p.metadata.labels),
            service_account: &r.service_account,
            account_inferred: r.account_source == Source::Inferred,
            has_sidecar: p.has_sidecar(),
            sidecar_inferred: false,
            is_gateway: p.is_gateway(),
            ambient: !p.has_sidecar() && self.is_ambient(&p.metadata.namespace, &p.metadata.labels),
            ports: Cow::Borrowed(&r.ports),
            ports_known: r.ports_source != Source::Inferred,
            ip: p.ip(),
        }
    }

    /// The workloads a Service sends traffic to: its pods (sorted by name);
    /// without pods, the pod templates of Deployments, StatefulSets and
    /// DaemonSets whose template labels it selects; without those, a stand-in
    /// with the selector's labels. A Service without a selector has none.
    pub fn workloads_for_service(&self, service: u32) -> Vec<Workload<'_>> {
        let svc = self.services().at(service);
        let pods = self.pods_for_service(service);
        if !pods.is_empty() {
            let mut out: Vec<_> = pods.iter().map(|&p| self.workload_of_pod(p)).collect();
            out.sort_by(|a, b| a.name.cmp(&b.name));
            return out;
        }
        if !svc.has_selector() {
            return Vec::new();
        }
        let ns = svc.metadata.namespace.as_str();
        let selector = &svc.spec.selector;
        let mut out = Vec::new();
        self.collect_templates(Kind::Deployment, self.deployments(), ns, selector, &mut out);
        self.collect_templates(Kind::StatefulSet, self.stateful_sets(), ns, selector, &mut out);
        self.collect_templates(Kind::DaemonSet, self.daemon_sets(), ns, selector, &mut out);
        if out.is_empty() {
            out.push(self.selector_workload(service));
        }
        out
    }

    /// Every workload that can send a request: each pod that has not finished, sorted by
    /// namespace and name; and, for a Deployment, StatefulSet or DaemonSet with none of its
    /// pods loaded (files hold controllers, not pods), its pod template, unless it asks for no
    /// replicas.
    pub fn workloads(&self) -> Vec<Workload<'_>> {
        let pods = self.pods();
        let mut out: Vec<Workload<'_>> = (0..pods.len() as u32)
            .filter(|&id| !pods.at(id).is_finished())
            .map(|id| self.workload_of_pod(id))
            .collect();
        out.sort_by(|a, b| (a.namespace, &a.name).cmp(&(b.namespace, &b.name)));
        let deployments = self.deployments().iter().map(|d| -> &Controller { &d.obj });
        let sets = self.stateful_sets().iter().map(|s| -> &Controller { &s.obj });
        let daemons = self.daemon_sets().iter().map(|d| -> &Controller { &d.obj });
        let controllers = (deployments.enumerate().map(|(i, c)| (Kind::Deployment, i, c)))
            .chain(sets.enumerate().map(|(i, c)| (Kind::StatefulSet, i, c)))
            .chain(daemons.enumerate().map(|(i, c)| (Kind::DaemonSet, i, c)));
        for (kind, id, c) in controllers {
            let Some(t) = c.template() else { continue };
            let runs = pods.ids_in(&c.metadata.namespace).iter().any(|&p| {
                let pod = pods.at(p);
                !pod.is_finished() && is_subset(&t.metadata.labels, &pod.metadata.labels)
            });
            let idle = c.spec.as_ref().and_then(|s| s.replicas) == Some(0);
            if !runs && !idle {
                out.push(self.template_workload(kind, id as u32, c));
            }
        }
        out
    }

    /// How many endpoints the Service has (or a subset of it, by labels): its pods when any
    /// were loaded, else the replicas its Deployments and StatefulSets ask for, as a cluster
    /// running the files would have. DaemonSets count nothing (their size is the node count).
    pub fn endpoint_count(&self, service: u32, subset: Option<&Labels>) -> usize {
        let in_subset = |labels: &Labels| subset.is_none_or(|s| is_subset(s, labels));
        let pods = self.pods_for_service(service);
        if !pods.is_empty() {
            return pods.iter().filter(|&&p| in_subset(&self.pods().at(p).metadata.labels)).count();
        }
        let svc = self.services().at(service);
        if !svc.has_selector() {
            return 0;
        }
        let ns = svc.metadata.namespace.as_str();
        let selected = |c: &Controller| {
            c.template().is_some_and(|t| {
                is_subset(&svc.spec.selector, &t.metadata.labels) && in_subset(&t.metadata.labels)
            })
        };
        let replicas =
            |c: &Controller| c.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0) as usize;
        let deployments = self.deployments().in_namespace(ns).map(|d| -> &Controller { &d.obj });
        let sets = self.stateful_sets().in_namespace(ns).map(|d| -> &Controller { &d.obj });
        deployments.chain(sets).filter(|c| selected(c)).map(replicas).sum()
    }

    fn collect_templates<'a, T: Deref<Target = Controller>>(
        &'a self,
        kind: Kind,
        table: &'a Table<T>,
        namespace: &str,
        selector: &Labels,
        out: &mut Vec<Workload<'a>>,
    ) {
        for &id in table.ids_in(namespace) {
            let c: &Controller = &table.at(id).obj;
            if c.template().is_some_and(|t| is_subset(selector, &t.metadata.labels)) {
                out.push(self.template_workload(kind, id, c));
            }
        }
    }

    fn template_workload<'a>(&'a self, kind: Kind, id: u32, c: &'a Controller) -> Workload<'a> {
        let ns = c.metadata.namespace.as_str();
        let t = c.template().expect("caller checked the template");
        let spec = t.spec.as_ref();
        let sidecar = self.is_injected(ns, &t.metadata.labels, &t.metadata.annotations);
        Workload {
            reference: WorkloadRef::Template(kind, id),
            namespace: ns,
            name: Cow::Owned(format!("{}/{}", kind.kind_name(), c.metadata.name)),
            labels: Cow::Borrowed(&t.metadata.labels),
            service_account: spec.and_then(|s| s.account()).unwrap_or(DEFAULT_SERVICE_ACCOUNT),
            account_inferred: spec.is_none(),
            has_sidecar: sidecar,
            sidecar_inferred: true,
            is_gateway: is_gateway_labels(&t.metadata.labels),
            ambient: !sidecar && self.is_ambient(ns, &t.metadata.labels),
            ports: spec.map_or(Cow::Borrowed(&[][..]), |s| Cow::Owned(s.ports())),
            ports_known: spec.is_some(),
            ip: None,
        }
    }

    fn selector_workload(&self, service: u32) -> Workload<'_> {
        let svc = self.services().at(service);
        let ns = svc.metadata.namespace.as_str();
        let none = Labels::new();
        Workload {
            reference: WorkloadRef::Selector(service),
            namespace: ns,
            name: Cow::Owned(format!("Service/{}", svc.metadata.name)),
            labels: Cow::Borrowed(&svc.spec.selector),
            service_account: DEFAULT_SERVICE_ACCOUNT,
            account_inferred: true,
            has_sidecar: self.is_injected(ns, &svc.spec.selector, &none),
            sidecar_inferred: true,
            is_gateway: is_gateway_labels(&svc.spec.selector),
            ambient: self.is_ambient(ns, &svc.spec.selector)
                && !self.is_injected(ns, &svc.spec.selector, &none),
            ports: Cow::Borrowed(&[]),
            ports_known: false,
            ip: None,
        }
    }

    /// Whether a pod with these labels in `namespace` is enrolled in ambient
    /// mode: `istio.io/dataplane-mode: ambient` on the pod, or on the
    /// namespace unless the pod opts out with `none`.
    pub fn is_ambient(&self, namespace: &str, labels: &Labels) -> bool {
        match labels.get(LABEL_DATAPLANE_MODE).map(String::as_str) {
            Some("ambient") => true,
            Some(_) => false,
            None => self
                .namespaces()
                .get("", namespace)
                .is_some_and(|n| n.metadata.label(LABEL_DATAPLANE_MODE) == Some("ambient")),
        }
    }

    /// Whether a pod with these labels in `namespace` would get a sidecar.
    pub fn is_injected(&self, namespace: &str, labels: &Labels, annotations: &Labels) -> bool {
        let empty = Labels::new();
        let ns_labels = self.namespaces().get("", namespace).map_or(&empty, |n| &n.metadata.labels);
        is_injection_expected(ns_labels, labels, annotations)
    }
}
