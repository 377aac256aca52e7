//! The proxies that route by a VirtualService, which decide how its destinations resolve: the
//! pods of each Gateway it is bound to (wherever they run), and, for `mesh`, the sidecars of
//! the namespaces it is exported to.
//!
//! Istio resolves a route's DestinationRule in the routing proxy's namespace (istio/istio
//! `pilot/pkg/model/sidecar.go`, `SidecarScope.DestinationRule`, keyed by the proxy's config
//! namespace; <https://istio.io/latest/docs/ops/best-practices/traffic-management/#cross-namespace-configuration>):
//! a gateway-bound route is resolved by the gateway's pods, e.g. in `istio-system`, whatever
//! the VirtualService's namespace.

use std::{borrow::Cow, collections::HashMap};

use super::gateway_ref;
use super::registry::client_namespaces;
use crate::mesh::meta::Labels;
use crate::mesh::snapshot::{Snapshot, Workload};
use crate::mesh::virtual_service::{MESH_GATEWAY, VirtualService};

/// One kind of proxy that applies a VirtualService.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Router<'a> {
    /// The proxy's namespace, where its DestinationRule lookup starts.
    pub namespace: &'a str,
    /// The pod labels, for a gateway workload (`None` for the sidecars of a namespace).
    pub labels: Option<Cow<'a, Labels>>,
    /// How the proxy applies the VirtualService: `Gateway ns/name` or `mesh`.
    pub via: String,
}

impl Router<'_> {
    /// `the pods of Gateway default/my-gateway in namespace istio-system`, or
    /// `sidecars in namespace shop`.
    pub fn describe(&self) -> String {
        match self.labels {
            Some(_) => format!("the pods of {} in namespace {}", self.via, self.namespace),
            None => format!("sidecars in namespace {}", self.namespace),
        }
    }
}

/// The proxies that apply VirtualServices, worked out once per Gateway: the pods a Gateway
/// selects are looked for once, however many VirtualServices bind to it.
pub(crate) struct Routers<'a> {
    snap: &'a Snapshot,
    workloads: std::cell::OnceCell<Vec<Workload<'a>>>,
    by_gateway: std::cell::RefCell<HashMap<(String, String), Vec<Router<'a>>>>,
}

impl<'a> Routers<'a> {
    pub fn new(snap: &'a Snapshot) -> Self {
        Self { snap, workloads: Default::default(), by_gateway: Default::default() }
    }

    /// The proxies that apply `vs`: for each Gateway in `spec.gateways`, its workloads (pods,
    /// or pod templates when files hold no pods), one per namespace and labels; for `mesh` (or
    /// no gateways), the VirtualService's namespace and the namespaces it is exported to. A
    /// Gateway that does not exist or selects nothing contributes no router (other codes
    /// report it).
    pub fn of(&self, vs: &'a VirtualService) -> Vec<Router<'a>> {
        let ns = vs.metadata.namespace.as_str();
        let mut out: Vec<Router<'a>> = Vec::new();
        let mut add = |router: Router<'a>| {
            if !out.contains(&router) {
                out.push(router);
            }
        };
        for reference in vs.spec.effective_gateways() {
            if reference.trim() == MESH_GATEWAY {
                for client in client_namespaces(ns, &vs.spec.export_to) {
                    add(Router { namespace: client, labels: None, via: "mesh".into() });
                }
                continue;
            }
            let Some((gw_ns, gw_name)) = gateway_ref(reference, ns) else { continue };
            let key = (gw_ns.to_string(), gw_name.to_string());
            let mut cache = self.by_gateway.borrow_mut();
            let routers = cache.entry(key).or_insert_with(|| self.of_gateway(&gw_ns, &gw_name));
            for router in routers.iter() {
                add(router.clone());
            }
        }
        out
    }

    fn of_gateway(&self, gw_ns: &str, gw_name: &str) -> Vec<Router<'a>> {
        let Some(gateway) = self.snap.gateways().get(gw_ns, gw_name) else { return Vec::new() };
        let workloads = self.workloads.get_or_init(|| self.snap.workloads());
        let mut out: Vec<Router<'a>> = Vec::new();
        for w in workloads {
            let selected = if gateway.spec.selector.is_empty() {
                w.is_gateway
            } else {
                gateway.selects(&w.labels)
            };
            if !selected {
                continue;
            }
            let router = Router {
                namespace: w.namespace,
                labels: Some(w.labels.clone()),
                via: format!("Gateway {gw_ns}/{gw_name}"),
            };
            if !out.contains(&router) {
                out.push(router);
            }
        }
        out
    }
}
