//! `gateway-conflicts`: Gateways that configure the same gateway pods with servers on one
//! port whose hosts overlap.
//!
//! Codes: DM0201 (IST0145).
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/analysis/ist0145/>, istio/istio
//! `pkg/config/analysis/analyzers/gateway/conflictinggateway.go`): two Gateways conflict when
//! their selectors are equal or select a common pod, they have servers on the same port
//! number and bind address, and a host of one is the same as or overlaps (wildcards) a host
//! of the other; only one of the servers can be used. Each Gateway involved is reported.
//!
//! Decision: the istio.io page counts overlapping hosts (`foo.example.com` and
//! `*.example.com`), while istioctl's current code compares host strings exactly; we follow
//! the page. Namespace parts of server hosts (`ns/host`) are set aside before comparing.
//!
//! Limitations: at run time istiod drops only duplicate TLS hosts; plain HTTP servers on one
//! port are merged, which this check still reports as the page does.

use std::collections::{BTreeSet, HashMap};

use super::super::references::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::gateway::Server;
use crate::mesh::host::hosts_match;
use crate::mesh::meta::Labels;
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct GatewayConflicts;

/// A server host without its namespace part.
fn bare_host(h: &str) -> &str {
    h.split_once('/').map_or(h, |(_, host)| host)
}

/// The servers of `a` that share port and bind with a server of `b` and have a host that
/// overlaps one of its hosts: those Istio reports as conflicting when both Gateways configure
/// the same gateway pods. `expose` uses it to never write such a Gateway.
pub fn conflicting_servers<'a>(a: &'a [Server], b: &[Server]) -> Vec<&'a Server> {
    a.iter().filter(|s| b.iter().any(|t| servers_conflict(s, t))).collect()
}

/// Whether two servers share port and bind and have an overlapping host.
fn servers_conflict(a: &Server, b: &Server) -> bool {
    let bind = |s: &Server| s.bind.clone().unwrap_or_default();
    a.port.number == b.port.number
        && bind(a) == bind(b)
        && a.hosts.iter().any(|x| b.hosts.iter().any(|y| hosts_match(bare_host(x), bare_host(y))))
}

impl Analyzer for GatewayConflicts {
    fn name(&self) -> &'static str {
        "gateway-conflicts"
    }

    fn description(&self) -> &'static str {
        "No two Gateways claim one host on one port of the same gateway pods"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Gateway, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::GATEWAY_CONFLICT]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let gateways = snap.gateways().all();
        // The pods each distinct selector picks, computed once.
        let mut pods: HashMap<&Labels, BTreeSet<u32>> = HashMap::new();
        for g in gateways {
            pods.entry(&g.spec.selector)
                .or_insert_with(|| snap.pods_selected_by(None, &g.spec.selector).collect());
        }
        let same_pods = |a: &Labels, b: &Labels| a == b || !pods[a].is_disjoint(&pods[b]);

        for (i, a) in gateways.iter().enumerate() {
            for (s, server) in a.spec.servers.iter().enumerate() {
                let others: BTreeSet<String> = gateways
                    .iter()
                    .enumerate()
                    .filter(|(j, b)| {
                        *j != i
                            && same_pods(&a.spec.selector, &b.spec.selector)
                            && b.spec.servers.iter().any(|t| servers_conflict(server, t))
                    })
                    .map(|(_, b)| b.metadata.key())
                    .collect();
                if others.is_empty() {
                    continue;
                }
                let selector: Vec<String> =
                    a.spec.selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let message = format!(
                    "spec.servers[{s}] (port {}, hosts {}) conflicts with Gateway {} on the same \
                     gateway pods (selector {}); only one of the servers is used",
                    server.port.number,
                    listed(&server.hosts),
                    listed(&others),
                    listed(&selector)
                );
                let fix = format!(
                    "Put the hosts in one Gateway, make them distinct, or move one server to \
                     another port or gateway workload (conflicting: {})",
                    listed(&others)
                );
                out.push(finding(&codes::GATEWAY_CONFLICT, a, message).fix(fix));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(port: u32, hosts: &[&str], bind: Option<&str>) -> Server {
        serde_json::from_value(serde_json::json!({
            "port": {"number": port, "name": "p", "protocol": "HTTP"},
            "hosts": hosts,
            "bind": bind,
        }))
        .unwrap()
    }

    #[test]
    fn servers_conflict_on_port_bind_and_overlapping_hosts() {
        let a = server(80, &["foo.example.com"], None);
        assert!(servers_conflict(&a, &server(80, &["*.example.com"], None)));
        assert!(servers_conflict(&a, &server(80, &["shop/foo.example.com"], None)));
        assert!(!servers_conflict(&a, &server(443, &["foo.example.com"], None)));
        assert!(!servers_conflict(&a, &server(80, &["bar.example.com"], None)));
        assert!(!servers_conflict(&a, &server(80, &["foo.example.com"], Some("10.0.0.1"))));
        let ours = [server(80, &["*"], None), server(443, &["shop.example.com"], None)];
        let theirs = [server(80, &["*.example.com"], None)];
        let clash = conflicting_servers(&ours, &theirs);
        assert_eq!(clash.len(), 1);
        assert_eq!(clash[0].port.number, 80);
    }
}
