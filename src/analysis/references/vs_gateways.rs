//! `virtualservice-gateways`: `spec.gateways` entries naming Gateways that do not exist, and
//! VirtualServices whose hosts the bound Gateway does not serve.
//!
//! Codes: DM0101 (IST0101 "gateway"), DM0108 (IST0132).
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/virtualservice/gateways.go`,
//! <https://istio.io/latest/docs/reference/config/analysis/ist0132/>): an entry is `mesh`,
//! `name` (the VirtualService's namespace), `ns/name`, `./name` or the legacy
//! `name.namespace`. A bound Gateway serves the VirtualService if one of its server hosts
//! matches one of the VirtualService hosts (wildcards either way), where a server host
//! `ns/host` counts only for VirtualServices in `ns`, `./host` only for the Gateway's own
//! namespace and `*/host` for all.
//!
//! Limitations: unlike istioctl, DM0108 is not reported for a Gateway that does not exist
//! (DM0101 already is); `match[].gateways` entries are not checked; a VirtualService not
//! exported to the Gateway's namespace is not detected.

use super::{gateway_ref, listed};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::gateway::Gateway;
use crate::mesh::host::{hosts_match, resolve_host};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct VirtualServiceGateways;

impl Analyzer for VirtualServiceGateways {
    fn name(&self) -> &'static str {
        "virtualservice-gateways"
    }

    fn description(&self) -> &'static str {
        "VirtualServices are bound to Gateways that exist and serve their hosts"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::VirtualService, Kind::Gateway]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::VS_GATEWAY_NOT_FOUND, &codes::VS_HOST_NOT_IN_GATEWAY]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let domain = snap.cluster_domain();
        for entry in snap.virtual_services() {
            let ns = entry.metadata.namespace.as_str();
            let vs_hosts: Vec<String> =
                entry.spec.hosts.iter().map(|h| resolve_host(h, ns, domain)).collect();
            for (i, reference) in entry.spec.gateways.iter().enumerate() {
                let Some((gw_ns, gw_name)) = gateway_ref(reference, ns) else { continue };
                let Some(gateway) = snap.gateways().get(&gw_ns, &gw_name) else {
                    let existing: Vec<&str> = snap
                        .gateways()
                        .in_namespace(&gw_ns)
                        .map(|g| g.metadata.name.as_str())
                        .collect();
                    let message = format!(
                        "spec.gateways[{i}] ({reference}) names Gateway {gw_ns}/{gw_name}, which \
                         does not exist (Gateways in {gw_ns}: {})",
                        listed(&existing)
                    );
                    let fix = format!(
                        "Create Gateway {gw_ns}/{gw_name}, or correct spec.gateways[{i}] (write \
                         NAMESPACE/NAME for a Gateway in another namespace)"
                    );
                    out.push(finding(&codes::VS_GATEWAY_NOT_FOUND, entry, message).fix(fix));
                    continue;
                };
                let served = served_hosts(gateway, ns);
                let matched = served.iter().any(|g| vs_hosts.iter().any(|v| hosts_match(g, v)));
                if !matched {
                    let message = format!(
                        "hosts {} match none of the hosts Gateway {gw_ns}/{gw_name} serves to \
                         namespace {ns} ({})",
                        listed(&entry.spec.hosts),
                        listed(&served)
                    );
                    let first = entry.spec.hosts.first().map_or("HOST", String::as_str);
                    let fix = format!(
                        "Add {ns}/{first} to a server's hosts in Gateway {gw_ns}/{gw_name}, or \
                         bind the VirtualService to a Gateway that serves {first}"
                    );
                    out.push(finding(&codes::VS_HOST_NOT_IN_GATEWAY, entry, message).fix(fix));
                }
            }
        }
    }
}

/// The server hosts of `gateway` that VirtualServices in `namespace` may bind to, with
/// their namespace part removed (Istio's `sanitizeServerHostNamespace` and
/// `NamesForNamespace`).
fn served_hosts(gateway: &Gateway, namespace: &str) -> Vec<String> {
    let own = gateway.metadata.namespace.as_str();
    let mut out = Vec::new();
    for server in &gateway.spec.servers {
        for h in &server.hosts {
            let host = match h.split_once('/') {
                None => Some(h.as_str()),
                Some(("*", host)) => Some(host),
                Some((".", host)) => (own == namespace).then_some(host),
                Some((ns, host)) => (ns == namespace).then_some(host),
            };
            if let Some(host) = host.map(str::to_ascii_lowercase)
                && !out.contains(&host)
            {
                out.push(host);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_parts_limit_which_virtual_services_a_host_serves() {
        let gw: Gateway = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "gw", "namespace": "edge"},
            "spec": {"servers": [{"port": {"number": 80}, "hosts": [
                "shop/a.example.com", "./b.example.com", "*/c.example.com", "d.example.com"
            ]}]}
        }))
        .unwrap();
        assert_eq!(served_hosts(&gw, "shop"), ["a.example.com", "c.example.com", "d.example.com"]);
        assert_eq!(served_hosts(&gw, "edge"), ["b.example.com", "c.example.com", "d.example.com"]);
    }
}
