//! `DM0302` DestinationRuleTlsBreaksStrictMtls and `DM0303` IstioMutualToWorkloadWithoutSidecar:
//! a DestinationRule TLS mode its clients use that the destination's pods cannot accept.
//!
//! Istio rule: a client sidecar uses the TLS mode of the DestinationRule it applies for the
//! host and Service port (port-level and subset settings override the top level); a STRICT
//! server accepts only Istio mTLS, so `DISABLE`, `SIMPLE` and `MUTUAL` fail against it, and a
//! pod without a sidecar cannot terminate `ISTIO_MUTUAL`
//! (<https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/>,
//! <https://istio.io/latest/docs/reference/config/analysis/ist0113/>). The judgement is
//! `authz::tls::workload_tls`, the one the evaluator uses.
//!
//! Limitations: the rule is judged for clients in its own namespace (with its workload
//! selector's labels); a rule that those clients do not apply (an older rule for the same host
//! wins) is skipped. ServiceEntry hosts are not judged: their endpoints take no
//! PeerAuthentication.

use std::collections::BTreeMap;

use super::workloads::{short_list, sidecar_advice};
use crate::analysis::injection::{do_not_inject, is_protected};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::tls::{ClientChoice, ClientSource, workload_tls};
use crate::authz::{MtlsDecider, MtlsMode, Wire, effective_mtls};
use crate::mesh::Kind;
use crate::mesh::destination_rule::TlsMode;
use crate::mesh::dr_lookup::effective_destination_rule;
use crate::mesh::host::{hosts_match, is_wildcard, parse_service_host, resolve_host, service_fqdn};
use crate::mesh::selector::is_subset;
use crate::mesh::snapshot::{Snapshot, target_port};

/// See the module docs.
pub struct DestinationRuleTls;

impl Analyzer for DestinationRuleTls {
    fn name(&self) -> &'static str {
        "mtls-destination-rule-tls"
    }

    fn description(&self) -> &'static str {
        "DestinationRule TLS modes the destination's pods cannot accept"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::DestinationRule, Kind::Service]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::DR_PLAINTEXT_TO_STRICT, &codes::ISTIO_MUTUAL_TO_NO_SIDECAR]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let domain = snapshot.cluster_domain();
        for (id, dr) in snapshot.destination_rules().iter().enumerate() {
            let ns = dr.metadata.namespace.as_str();
            let host = resolve_host(&dr.spec.host, ns, domain);
            let labels = dr.spec.workload_selector.clone().map(|s| s.match_labels);
            let labels = labels.unwrap_or_default();
            let source = ClientSource::DestinationRule {
                id: id as u32,
                namespace: ns.to_string(),
                name: dr.metadata.name.clone(),
            };
            // Per (code, host, Service port, subset): the pods it fails on.
            let mut failures: BTreeMap<(&str, String, u16, Option<String>), Failure> =
                BTreeMap::new();
            for svc_id in matching_services(snapshot, &host) {
                let svc = snapshot.services().at(svc_id);
                let fqdn = service_fqdn(&svc.metadata.name, &svc.metadata.namespace, domain);
                let svc_ns = Some(svc.metadata.namespace.as_str());
                // Judge the rule only where its own namespace's clients apply it.
                let Some(rule) = effective_destination_rule(snapshot, ns, &labels, &fqdn, svc_ns)
                else {
                    continue;
                };
                if rule.primary() != id as u32 {
                    continue;
                }
                let workloads = snapshot.workloads_for_service(svc_id);
                for port in &svc.spec.ports {
                    let mut choices = vec![(None, rule.policy_for(port.port, None).tls)];
                    for subset in &rule.subsets {
                        let own =
                            subset.traffic_policy.as_ref().and_then(|t| t.for_port(port.port).tls);
                        if own.is_some() {
                            choices.push((
                                Some(*subset),
                                rule.policy_for(port.port, Some(&subset.name)).tls,
                            ));
                        }
                    }
                    for (subset, tls) in choices {
                        let Some(mode) = tls.as_ref().and_then(|t| t.mode) else { continue };
                        let Some(wire) = wire_of(mode) else { continue };
                        let choice = ClientChoice { wire, source: source.clone(), settings: tls };
                        let selected = workloads
                            .iter()
                            .filter(|w| subset.is_none_or(|s| is_subset(&s.labels, &w.labels)));
                        for w in selected {
                            let cport = target_port(port, &w.ports).unwrap_or(port.port);
                            let mtls = effective_mtls(snapshot, w, cport);
                            let protocol = port.istio_protocol();
                            let e = workload_tls(
                                snapshot,
                                Some(choice.clone()),
                                w,
                                mtls.clone(),
                                protocol,
                            );
                            let code = match (mtls.mode, wire) {
                                _ if e.succeeds => continue,
                                (
                                    MtlsMode::Strict,
                                    Wire::Plaintext | Wire::Tls | Wire::MutualTls,
                                ) => codes::DR_PLAINTEXT_TO_STRICT.code,
                                (MtlsMode::NoSidecar, Wire::IstioMutual) => {
                                    codes::ISTIO_MUTUAL_TO_NO_SIDECAR.code
                                }
                                _ => continue,
                            };
                            let key =
                                (code, fqdn.clone(), port.port, subset.map(|s| s.name.clone()));
                            let entry = failures.entry(key).or_insert_with(|| Failure {
                                mode,
                                server: match &mtls.decider {
                                    MtlsDecider::Policy { namespace, name, .. } => {
                                        format!("PeerAuthentication {namespace}/{name}")
                                    }
                                    other => other.to_string(),
                                },
                                pods: Vec::new(),
                                advice: match is_protected(snapshot, w.namespace) {
                                    true => do_not_inject(w.namespace),
                                    false => format!(
                                        "or give {} a sidecar: {}",
                                        w.key(),
                                        sidecar_advice(snapshot, w)
                                    ),
                                },
                            });
                            entry.pods.push(w.key());
                        }
                    }
                }
            }
            for ((code, fqdn, port, subset), f) in failures {
                let mode = f.mode.as_str();
                let at = match &subset {
                    Some(s) => format!("{fqdn}:{port} (subset {s})"),
                    None => format!("{fqdn}:{port}"),
                };
                let pods = short_list(&f.pods, 3);
                let (code, message, fix) = if code == codes::DR_PLAINTEXT_TO_STRICT.code {
                    (
                        &codes::DR_PLAINTEXT_TO_STRICT,
                        format!(
                            "tls.mode {mode} for {at} sends {} to pods that require STRICT mTLS \
                             ({} via {}): connections fail",
                            if mode == "DISABLE" { "plaintext" } else { "non-Istio TLS" },
                            pods,
                            f.server
                        ),
                        format!(
                            "change tls.mode {mode} to ISTIO_MUTUAL for port {port}{}, or remove \
                             that tls block so auto mTLS chooses",
                            subset.as_ref().map(|s| format!(" of subset {s}")).unwrap_or_default()
                        ),
                    )
                } else {
                    (
                        &codes::ISTIO_MUTUAL_TO_NO_SIDECAR,
                        format!(
                            "tls.mode ISTIO_MUTUAL for {at} forces Istio mTLS to pods without a \
                             sidecar ({pods}), which cannot accept it: connections fail"
                        ),
                        format!(
                            "remove tls.mode: ISTIO_MUTUAL for port {port} (auto mTLS sends \
                             plaintext to pods without a sidecar); {}",
                            f.advice
                        ),
                    )
                };
                out.push(finding(code, dr, message).fix(fix));
            }
        }
    }
}

struct Failure {
    mode: TlsMode,
    server: String,
    pods: Vec<String>,
    /// How the first pod it fails on gets a sidecar, or why it must not.
    advice: String,
}

/// What a client sends for a DestinationRule TLS mode.
fn wire_of(mode: TlsMode) -> Option<Wire> {
    match mode {
        TlsMode::Disable => Some(Wire::Plaintext),
        TlsMode::Simple => Some(Wire::Tls),
        TlsMode::Mutual => Some(Wire::MutualTls),
        TlsMode::IstioMutual => Some(Wire::IstioMutual),
        TlsMode::Unknown => None,
    }
}

/// The Services whose host a (resolved) DestinationRule host names.
fn matching_services(snapshot: &Snapshot, host: &str) -> Vec<u32> {
    let domain = snapshot.cluster_domain();
    let services = snapshot.services();
    if !is_wildcard(host) {
        return parse_service_host(host, domain)
            .and_then(|(name, ns)| services.id(ns, name))
            .into_iter()
            .collect();
    }
    (0..services.len() as u32)
        .filter(|&id| {
            let m = &services.at(id).metadata;
            hosts_match(host, &service_fqdn(&m.name, &m.namespace, domain))
        })
        .collect()
}
