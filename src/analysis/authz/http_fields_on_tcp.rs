//! `DM0405` HttpOnlyFieldsOnTcpPort: a rule uses HTTP-only fields (methods, paths, hosts,
//! request principals, headers, JWT claims) and applies to a port the sidecar handles as TCP.
//!
//! Istio rule: istiod cannot build HTTP matchers on a TCP filter chain; for an ALLOW policy it
//! drops the whole rule there (narrower: it never allows TCP traffic), for DENY, AUDIT and
//! CUSTOM policies it drops only those values (wider: the rule matches more than written)
//! (istio/istio `pilot/pkg/security/authz/model/model.go`, and
//! <https://istio.io/latest/docs/ops/common-problems/security-issues/#authorization-is-too-restrictive-or-permissive>).
//! Which fields are HTTP-only is `authz::attrs::Attr::is_http_only`; a port is TCP when every
//! Service port reaching it says so (`tcp-`, `tls-`, `https-`, `mongo-`, `mysql-`, `redis-`
//! names or the matching appProtocol). Unnamed ports are sniffed and left alone.
//!
//! Limitations: ambient workloads without a waypoint (where ztunnel sees L4 only) are not
//! checked. A rule with `ports` is judged at those ports only.

use std::collections::BTreeSet;

use super::{applicable, fields};
use crate::analysis::mtls::workloads::{Workloads, short_list};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::attrs::Attr;
use crate::authz::matcher::parse_port;
use crate::mesh::Kind;
use crate::mesh::authorization_policy::Action;
use crate::mesh::selector::is_subset;
use crate::mesh::snapshot::{Snapshot, Workload, WorkloadRef, target_port};

/// See the module docs.
pub struct HttpFieldsOnTcp;

impl Analyzer for HttpFieldsOnTcp {
    fn name(&self) -> &'static str {
        "authz-http-fields-on-tcp"
    }

    fn description(&self) -> &'static str {
        "HTTP-only rule fields on ports the sidecar handles as TCP"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy, Kind::Service]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_HTTP_FIELDS_ON_TCP]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        for ap in snapshot.authorization_policies() {
            let selected: Vec<_> = applicable(snapshot, &workloads, ap)
                .into_iter()
                .filter(|w| w.has_proxy() && !w.ambient)
                .collect();
            if selected.is_empty() {
                continue;
            }
            let ports_of: Vec<(String, Vec<(u16, String)>)> =
                selected.iter().map(|w| (w.key(), tcp_ports(snapshot, w))).collect();
            for (i, rule) in ap.spec.rules.iter().enumerate() {
                let rule_fields = fields(rule);
                let http: BTreeSet<String> = rule_fields
                    .iter()
                    .filter(|f| f.attr.as_ref().is_some_and(Attr::is_http_only))
                    .map(|f| f.name.clone())
                    .collect();
                if http.is_empty() {
                    continue;
                }
                let named: Vec<u16> = rule_fields
                    .iter()
                    .filter(|f| !f.negated && f.attr == Some(Attr::DestinationPort))
                    .flat_map(|f| f.values.iter().filter_map(|v| parse_port(v)))
                    .collect();
                let hits: Vec<String> = ports_of
                    .iter()
                    .flat_map(|(w, ports)| {
                        ports
                            .iter()
                            .filter(|(p, _)| named.is_empty() || named.contains(p))
                            .map(move |(p, via)| format!("{w} port {p} ({via})"))
                    })
                    .collect();
                if hits.is_empty() {
                    continue;
                }
                let fields = http.into_iter().collect::<Vec<_>>().join(", ");
                let effect = if ap.action() == Action::Allow {
                    "istiod drops the rule there, so it never allows that TCP traffic (narrower \
                     than written)"
                } else {
                    "istiod ignores those fields there, so the rule matches every connection its \
                     other fields match (wider than written)"
                };
                let message = format!(
                    "rules[{i}] uses HTTP-only {fields} and applies to TCP {}: {effect}",
                    short_list(&hits, 2)
                );
                let fix = format!(
                    "if the port carries HTTP, name the Service port http-* or grpc-* (or set \
                     appProtocol); otherwise limit rules[{i}] to the HTTP ports with \
                     to.operation.ports, or drop {fields}"
                );
                out.push(finding(&codes::AP_HTTP_FIELDS_ON_TCP, ap, message).fix(fix));
            }
        }
    }
}

/// The container ports of a workload that every Service reaching them declares TCP, with the
/// Service port that says so.
fn tcp_ports(snapshot: &Snapshot, w: &Workload<'_>) -> Vec<(u16, String)> {
    let services: Vec<u32> = match w.reference {
        WorkloadRef::Pod(id) => snapshot.services_for_pod(id).to_vec(),
        _ => snapshot
            .services()
            .ids_in(w.namespace)
            .iter()
            .copied()
            .filter(|&id| {
                let svc = snapshot.services().at(id);
                svc.has_selector() && is_subset(&svc.spec.selector, &w.labels)
            })
            .collect(),
    };
    let mut tcp: Vec<(u16, String)> = Vec::new();
    let mut http: BTreeSet<u16> = BTreeSet::new();
    for id in services {
        let svc = snapshot.services().at(id);
        for port in &svc.spec.ports {
            let Some(cport) = target_port(port, &w.ports) else { continue };
            if port.istio_protocol().is_tcp() {
                let via = format!("Service {} port {}", svc.metadata.name, port.name_or_empty());
                tcp.push((cport, via));
            } else {
                http.insert(cport);
            }
        }
    }
    tcp.retain(|(p, _)| !http.contains(p));
    tcp.sort();
    tcp.dedup_by_key(|(p, _)| *p);
    tcp
}
