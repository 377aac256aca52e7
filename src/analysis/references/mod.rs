//! References: objects that name other objects which do not exist, or which do not serve
//! them (DM0101-DM0113). Shared here: how Istio resolves a VirtualService's `gateways`
//! entries, and the route destinations of a VirtualService.

mod dr_hosts;
mod dr_subsets;
mod gateway_credentials;
mod gateway_workloads;
mod httproute_backends;
mod httproute_parents;
mod registry;
mod routers;
mod vs_destinations;
mod vs_gateways;
mod vs_subsets;

pub use dr_hosts::DestinationRuleHosts;
pub use dr_subsets::DestinationRuleSubsets;
pub use gateway_credentials::GatewayCredentials;
pub use gateway_workloads::GatewayWorkloads;
pub use httproute_backends::HttpRouteBackends;
pub use httproute_parents::HttpRouteParents;
pub use vs_destinations::VirtualServiceDestinations;
pub use vs_gateways::VirtualServiceGateways;
pub use vs_subsets::VirtualServiceSubsets;

use crate::mesh::virtual_service::{Destination, MESH_GATEWAY, VirtualServiceSpec};

/// The Gateway a `spec.gateways` entry of a VirtualService in `namespace` names, as
/// `(namespace, name)`; `None` for the reserved `mesh`. Follows istio/istio
/// `pilot/pkg/model/virtualservice.go` (`resolveGatewayName`): `ns/name`, `./name` (the
/// VirtualService's namespace), a short `name` (same namespace), or the legacy
/// `name.namespace[.svc.cluster.local]`.
pub(crate) fn gateway_ref(reference: &str, namespace: &str) -> Option<(String, String)> {
    let reference = reference.trim();
    if reference == MESH_GATEWAY {
        return None;
    }
    if let Some((ns, name)) = reference.split_once('/') {
        let ns = if ns == "." { namespace } else { ns };
        return Some((ns.to_string(), name.to_string()));
    }
    match reference.split_once('.') {
        Some((name, rest)) => {
            let ns = rest.split('.').next().unwrap_or(rest);
            Some((ns.to_string(), name.to_string()))
        }
        None => Some((namespace.to_string(), reference.to_string())),
    }
}

/// One destination of a VirtualService, with the path that names it in findings.
pub(crate) struct RouteDestination<'a> {
    /// `spec.http[0].route[1]`, `spec.http[0].mirror`, `spec.tcp[0].route[0]`...
    pub path: String,
    pub destination: &'a Destination,
}

/// Every route and mirror destination of a VirtualService, in document order.
pub(crate) fn route_destinations(spec: &VirtualServiceSpec) -> Vec<RouteDestination<'_>> {
    let mut out = Vec::new();
    for (i, route) in spec.http.iter().enumerate() {
        for (j, d) in route.route.iter().enumerate() {
            let path = format!("spec.http[{i}].route[{j}]");
            out.push(RouteDestination { path, destination: &d.destination });
        }
        if let Some(mirror) = &route.mirror {
            out.push(RouteDestination {
                path: format!("spec.http[{i}].mirror"),
                destination: mirror,
            });
        }
    }
    for (i, route) in spec.tcp.iter().enumerate() {
        for (j, d) in route.route.iter().enumerate() {
            let path = format!("spec.tcp[{i}].route[{j}]");
            out.push(RouteDestination { path, destination: &d.destination });
        }
    }
    for (i, route) in spec.tls.iter().enumerate() {
        for (j, d) in route.route.iter().enumerate() {
            let path = format!("spec.tls[{i}].route[{j}]");
            out.push(RouteDestination { path, destination: &d.destination });
        }
    }
    out
}

/// A list of values for a message: `a, b, c`, or `none`.
pub(crate) fn listed<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if items.is_empty() { "none".to_string() } else { items.join(", ") }
}

/// The findings `analyzer` reports on the objects of a YAML manifest (for unit tests).
#[cfg(test)]
pub(crate) fn findings_of(
    analyzer: &dyn crate::analysis::Analyzer,
    yaml: &str,
) -> Vec<crate::analysis::Finding> {
    let mut builder = crate::mesh::SnapshotBuilder::new();
    let (_, errors) =
        crate::mesh::manifest::load_manifest(&mut builder, "t.yaml", yaml.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let mut out = Vec::new();
    analyzer.run(&builder.finish(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(ns: &str, name: &str) -> Option<(String, String)> {
        Some((ns.to_string(), name.to_string()))
    }

    #[test]
    fn gateway_refs_resolve_like_istiod() {
        assert_eq!(gateway_ref("mesh", "shop"), None);
        assert_eq!(gateway_ref("web-gw", "shop"), pair("shop", "web-gw"));
        assert_eq!(gateway_ref("istio-system/web-gw", "shop"), pair("istio-system", "web-gw"));
        assert_eq!(gateway_ref("./web-gw", "shop"), pair("shop", "web-gw"));
        assert_eq!(gateway_ref("web-gw.edge", "shop"), pair("edge", "web-gw"));
        assert_eq!(gateway_ref("web-gw.edge.svc.cluster.local", "shop"), pair("edge", "web-gw"));
    }

    #[test]
    fn destinations_cover_http_mirror_tcp_and_tls() {
        let spec: VirtualServiceSpec = serde_json::from_value(serde_json::json!({
            "http": [{"route": [{"destination": {"host": "a"}}, {"destination": {"host": "b"}}],
                      "mirror": {"host": "m"}}],
            "tcp": [{"route": [{"destination": {"host": "t"}}]}],
            "tls": [{"match": [{"sniHosts": ["x.example.com"]}],
                     "route": [{"destination": {"host": "s"}}]}]
        }))
        .unwrap();
        let got: Vec<(String, &str)> = route_destinations(&spec)
            .into_iter()
            .map(|d| (d.path, d.destination.host.as_str()))
            .collect();
        let want = [
            ("spec.http[0].route[0]", "a"),
            ("spec.http[0].route[1]", "b"),
            ("spec.http[0].mirror", "m"),
            ("spec.tcp[0].route[0]", "t"),
            ("spec.tls[0].route[0]", "s"),
        ];
        let want: Vec<(String, &str)> = want.iter().map(|(p, h)| (p.to_string(), *h)).collect();
        assert_eq!(got, want);
        assert_eq!(listed(Vec::<u16>::new()), "none");
        assert_eq!(listed([80, 443]), "80, 443");
    }
}
