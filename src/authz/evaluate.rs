//! The evaluator behind `can`: would this request be allowed, and by which
//! policy and rule.
//!
//! Per destination workload: the connection must meet the server's mTLS
//! mode (a STRICT server rejects plaintext); the server sees the caller's
//! identity only over Istio mTLS. Then, as the proxy does
//! (<https://istio.io/latest/docs/concepts/security/#implicit-enablement>):
//! CUSTOM policies first (a matching one hands the request to its provider,
//! whose answer is only known at run time; a provider istiod cannot use
//! turns the rules into DENY rules; an HTTP-only provider is skipped on
//! TCP), then DENY (any match denies; root namespace DENY policies first),
//! then ALLOW (none enforced: allowed; one matches: allowed; otherwise
//! denied). AUDIT and `istio.io/dry-run` policies are evaluated and
//! reported but never decide. A workload without a proxy enforces nothing.
//! An ambient workload (no sidecar, enrolled through
//! `istio.io/dataplane-mode`) is checked by ztunnel with L4 attributes only,
//! which is modelled as a TCP filter chain; waypoints are not modelled.
//!
//! When a Service has several workloads the answer is the most restrictive
//! one (DENY, then UNKNOWN, then ALLOW), because any of them may serve the
//! request; each workload's answer is reported.

use std::net::IpAddr;

use super::mtls::{EffectiveMtls, MtlsDecider, MtlsMode, effective_mtls};
use super::path::normalize_path;
use super::policy::{
    ProviderStatus, applicable_policies, evaluation_order, provider_status, rule_order,
};
use super::request::{
    Destination, Protocol, Request, RequestError, ResolvedCaller, destination_host,
};
use super::request::{resolve_caller, resolve_target};
use super::rule::{Attributes, Generation, RuleOutcome, evaluate_rule};
use super::tls::{ClientChoice, ClientSource, EndpointTls, Wire, rule_choice, workload_tls};
use super::verdict::{ChainEntry, Deciding, Decision, Effect, Verdict, WorkloadVerdict};
use crate::mesh::authorization_policy::Action;
use crate::mesh::protocol::PortProtocol;
use crate::mesh::snapshot::{Snapshot, Workload, target_port};

/// Evaluates a request against the Snapshot.
///
/// # Errors
///
/// Fails when the caller or destination is not in the Snapshot.
pub fn evaluate(snapshot: &Snapshot, request: &Request) -> Result<Verdict, RequestError> {
    let caller = resolve_caller(snapshot, &request.from)?;
    let destination = resolve_target(snapshot, &request.to)?;
    let host = destination_host(snapshot, destination);
    let mut notes = Vec::new();
    let Resolved { targets, protocol: port_protocol, port: service_port, namespace, label } =
        resolve_destination(snapshot, destination, &host);
    let tcp = request.protocol == Some(Protocol::Tcp) || port_protocol.is_tcp();
    if request.protocol == Some(Protocol::Http) && port_protocol.is_tcp() {
        notes.push(format!("the port is declared {port_protocol}: the sidecar handles it as TCP"));
    }
    let protocol = if tcp { Protocol::Tcp } else { Protocol::Http };
    let http = Http::of(snapshot, request, &host, service_port, tcp);
    let source_ip = request.source_ip.or(caller.ip);
    let remote_ip = request.remote_ip.or(source_ip);
    let rule = rule_choice(snapshot, &caller, &host, namespace, service_port);
    let trust_domains: Vec<String> =
        snapshot.mesh().trust_domains().into_iter().map(str::to_string).collect();
    let ctx = Context {
        snapshot,
        caller: &caller,
        http: &http,
        source_ip,
        remote_ip,
        host: &host,
        service_port,
        protocol: port_protocol,
        tcp,
        rule,
        trust_domains,
    };

    let workloads: Vec<WorkloadVerdict> =
        targets.iter().map(|(w, port)| ctx.on_workload(w, *port)).collect();
    if workloads.is_empty() {
        notes.push("no workload serves this destination".to_string());
    }
    let worst = workloads.iter().map(|w| w.decision).max().unwrap_or(Decision::Allow);
    let first = workloads.iter().position(|w| w.decision == worst);
    let consistent = workloads
        .windows(2)
        .all(|w| w[0].decision == w[1].decision && w[0].deciding == w[1].deciding);
    let (deciding, mtls) = match first {
        Some(i) => (workloads[i].deciding.clone(), Some(workloads[i].mtls.mode)),
        None => (Deciding::NoPolicy, None),
    };
    if caller.inferred {
        notes.push("the caller's service account was assumed".into());
    }
    Ok(Verdict {
        decision: worst,
        deciding,
        mtls,
        protocol,
        consistent,
        caller,
        target: label,
        workloads,
        notes,
    })
}

/// The destination's workloads and port, resolved.
struct Resolved<'a> {
    /// Each workload with the container port the request reaches on it.
    targets: Vec<(Workload<'a>, Option<u16>)>,
    /// The protocol Istio assigns to the destination port.
    protocol: PortProtocol,
    /// The Service (or ServiceEntry, or container) port addressed.
    port: u16,
    /// The namespace of the Service or ServiceEntry.
    namespace: Option<&'a str>,
    /// The destination for reports.
    label: String,
}

fn resolve_destination<'a>(
    snapshot: &'a Snapshot,
    destination: Destination,
    host: &str,
) -> Resolved<'a> {
    match destination {
        Destination::Service { service, port_index } => {
            let svc = snapshot.services().at(service);
            let port = &svc.spec.ports[port_index];
            let targets = snapshot
                .workloads_for_service(service)
                .into_iter()
                .map(|w| {
                    let p = target_port(port, &w.ports);
                    (w, p)
                })
                .collect();
            Resolved {
                targets,
                protocol: port.istio_protocol(),
                port: port.port,
                namespace: Some(svc.metadata.namespace.as_str()),
                label: format!("service {}:{}", svc.metadata.key(), port.port),
            }
        }
        Destination::Pod { pod, port } => {
            let w = snapshot.workload_of_pod(pod);
            let label = format!("pod {}:{port}", w.key());
            let protocol = PortProtocol::Unspecified;
            Resolved { targets: vec![(w, Some(port))], protocol, port, namespace: None, label }
        }
        Destination::External { entry, port } => {
            let se = snapshot.service_entries().at(entry);
            let protocol =
                se.port(port).and_then(|p| p.protocol.as_deref()).and_then(PortProtocol::parse);
            Resolved {
                targets: Vec::new(),
                protocol: protocol.unwrap_or(PortProtocol::Unspecified),
                port,
                namespace: Some(se.metadata.namespace.as_str()),
                label: format!("external {host}:{port}"),
            }
        }
    }
}

/// The HTTP attributes of the request, as the sidecar sees them.
struct Http {
    method: Option<String>,
    path: Option<String>,
    rejected: bool,
    authority: Option<String>,
    headers: Vec<(String, String)>,
}

impl Http {
    fn of(snapshot: &Snapshot, request: &Request, host: &str, port: u16, tcp: bool) -> Http {
        if tcp {
            return Http {
                method: None,
                path: None,
                rejected: false,
                authority: None,
                headers: Vec::new(),
            };
        }
        let raw = request.path.as_deref().unwrap_or("/");
        let path = normalize_path(raw, snapshot.mesh().path_normalization);
        let authority = request.host.clone().unwrap_or_else(|| {
            if port == 80 { host.to_string() } else { format!("{host}:{port}") }
        });
        let mut headers: Vec<(String, String)> = Vec::new();
        for (k, v) in &request.headers {
            let k = k.to_ascii_lowercase();
            match headers.iter_mut().find(|(have, _)| *have == k) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(v);
                }
                None => headers.push((k, v.clone())),
            }
        }
        Http {
            method: Some(request.method.as_deref().unwrap_or("GET").to_ascii_uppercase()),
            rejected: path.is_none(),
            path,
            authority: Some(authority),
            headers,
        }
    }
}

struct Context<'a> {
    snapshot: &'a Snapshot,
    caller: &'a ResolvedCaller,
    http: &'a Http,
    source_ip: Option<IpAddr>,
    remote_ip: Option<IpAddr>,
    host: &'a str,
    service_port: u16,
    protocol: PortProtocol,
    tcp: bool,
    rule: Option<ClientChoice>,
    trust_domains: Vec<String>,
}

impl Context<'_> {
    fn on_workload(&self, w: &Workload<'_>, port: Option<u16>) -> WorkloadVerdict {
        let mut notes = Vec::new();
        let container_port = port.unwrap_or_else(|| {
            notes.push(
                "the named target port is not declared on the workload; the Service port was used"
                    .into(),
            );
            self.service_port
        });
        let mtls = effective_mtls(self.snapshot, w, container_port);
        let connection =
            workload_tls(self.snapshot, self.rule.clone(), w, mtls.clone(), self.protocol);
        let trust_domain = &self.snapshot.mesh().trust_domain;
        let mutual = connection.client.wire == Wire::IstioMutual
            && matches!(mtls.mode, MtlsMode::Strict | MtlsMode::Permissive);
        let peer = if mutual { self.caller.spiffe_uri(trust_domain) } else { None };
        if w.account_inferred && w.has_proxy() {
            notes.push(format!("{}: service account assumed to be default", w.key()));
        }
        if w.sidecar_inferred {
            notes.push(format!("{}: sidecar presence inferred from injection settings", w.key()));
        }
        let sni = mutual.then(|| format!("outbound_.{}_._.{}", self.service_port, self.host));
        if w.ambient {
            notes.push(format!(
                "{}: ambient mode: ztunnel checks policies with L4 attributes only (as on TCP); \
                 waypoints are not modelled",
                w.key()
            ));
        }
        let attrs = Attributes {
            tcp: self.tcp || w.ambient,
            peer: peer.as_deref(),
            source_ip: self.source_ip,
            remote_ip: self.remote_ip,
            destination_ip: w.ip,
            destination_port: container_port,
            sni: sni.as_deref(),
            method: self.http.method.as_deref(),
            path: self.http.path.as_deref(),
            host: self.http.authority.as_deref(),
            headers: &self.http.headers,
            trust_domains: &self.trust_domains,
        };
        let enforced = w.has_proxy();
        let (chain, decision, deciding) = decide(self.snapshot, w, &attrs, enforced);
        let (decision, deciding) =
            self.connection_gate(&connection, &mtls, decision, deciding, enforced, &mut notes);
        WorkloadVerdict {
            workload: w.key(),
            reference: w.reference,
            container_port: Some(container_port),
            mtls,
            connection,
            peer,
            decision,
            deciding,
            chain,
            notes,
        }
    }

    /// The connection must get through before any policy runs.
    fn connection_gate(
        &self,
        connection: &EndpointTls,
        mtls: &EffectiveMtls,
        decision: Decision,
        deciding: Deciding,
        enforced: bool,
        notes: &mut Vec<String>,
    ) -> (Decision, Deciding) {
        if !connection.succeeds {
            notes.push(format!(
                "the client sends {} and the server accepts {}",
                connection.client.wire,
                connection.accepts.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" or ")
            ));
            let deciding = match (&mtls.decider, &connection.client.source) {
                (MtlsDecider::Policy { namespace, name, .. }, _)
                    if mtls.mode == MtlsMode::Strict =>
                {
                    Deciding::PeerAuthentication {
                        namespace: namespace.clone(),
                        name: name.clone(),
                    }
                }
                (_, ClientSource::DestinationRule { namespace, name, .. }) => {
                    Deciding::DestinationRule { namespace: namespace.clone(), name: name.clone() }
                }
                _ => Deciding::Rejected("TLS mismatch".into()),
            };
            return (Decision::Deny, deciding);
        }
        if enforced && self.http.rejected {
            notes.push("the path contains %00, which the proxy rejects with 400".into());
            return (Decision::Deny, Deciding::Rejected("%00 in path".into()));
        }
        (decision, deciding)
    }
}

/// Evaluates the policies of a workload in order and decides.
fn decide(
    snapshot: &Snapshot,
    w: &Workload<'_>,
    attrs: &Attributes<'_>,
    enforced: bool,
) -> (Vec<ChainEntry>, Decision, Deciding) {
    let table = snapshot.authorization_policies();
    let mut ids = applicable_policies(snapshot, w);
    let stage = |a: Action| match a {
        Action::Custom => 0,
        Action::Deny => 1,
        Action::Allow => 2,
        Action::Audit | Action::Unknown => 3,
    };
    ids.sort_by(|&a, &b| {
        stage(table.at(a).action())
            .cmp(&stage(table.at(b).action()))
            .then(evaluation_order(snapshot, a, b))
    });

    let custom_providers: Vec<&str> = ids
        .iter()
        .map(|&id| table.at(id))
        .filter(|p| p.action() == Action::Custom && !p.is_dry_run())
        .map(|p| p.spec.provider.as_ref().map_or("", |r| r.name.as_str()))
        .collect();
    let provider =
        (!custom_providers.is_empty()).then(|| provider_status(snapshot, &custom_providers));

    let mut chain = Vec::with_capacity(ids.len());
    for &id in &ids {
        let p = table.at(id);
        let action = p.action();
        let effect = if !enforced {
            Effect::NotEnforced
        } else if p.is_dry_run() {
            Effect::DryRun
        } else {
            match (action, &provider) {
                (Action::Audit, _) => Effect::Audit,
                (Action::Custom, Some(ProviderStatus::Bad(why))) => {
                    Effect::BadCustomProvider(why.clone())
                }
                (Action::Custom, Some(ProviderStatus::Http)) if attrs.tcp => Effect::IgnoredOnTcp,
                _ => Effect::Enforced,
            }
        };
        let generation =
            if action == Action::Allow { Generation::Allow } else { Generation::DenyLike };
        let rules: Vec<_> = p
            .spec
            .rules
            .iter()
            .map(|r| evaluate_rule(r, &p.metadata.namespace, generation, attrs))
            .collect();
        let matched_rule =
            rule_order(rules.len()).into_iter().find(|&i| rules[i].outcome == RuleOutcome::Matched);
        chain.push(ChainEntry {
            id,
            namespace: p.metadata.namespace.clone(),
            name: p.metadata.name.clone(),
            action,
            provider: p.spec.provider.as_ref().map(|r| r.name.clone()),
            effect,
            matched_rule,
            rules,
        });
    }

    let (decision, deciding) = outcome(&chain);
    (chain, decision, deciding)
}

fn outcome(chain: &[ChainEntry]) -> (Decision, Deciding) {
    let deciding_of = |e: &ChainEntry| Deciding::Policy {
        namespace: e.namespace.clone(),
        name: e.name.clone(),
        rule: e.matched_rule,
    };
    let mut pending_custom: Option<Deciding> = None;
    for e in chain.iter().filter(|e| e.action == Action::Custom && e.is_matched()) {
        match e.effect {
            Effect::BadCustomProvider(_) => return (Decision::Deny, deciding_of(e)),
            Effect::Enforced if pending_custom.is_none() => pending_custom = Some(deciding_of(e)),
            _ => {}
        }
    }
    let enforced = |e: &&ChainEntry| e.effect == Effect::Enforced;
    if let Some(e) =
        chain.iter().filter(enforced).find(|e| e.action == Action::Deny && e.is_matched())
    {
        return (Decision::Deny, deciding_of(e));
    }
    let allows: Vec<&ChainEntry> =
        chain.iter().filter(enforced).filter(|e| e.action == Action::Allow).collect();
    let allowed_by = if allows.is_empty() {
        Deciding::NoPolicy
    } else {
        match allows.iter().find(|e| e.is_matched()) {
            Some(e) => deciding_of(e),
            None => return (Decision::Deny, Deciding::NoAllowPolicyMatched),
        }
    };
    match pending_custom {
        Some(custom) => (Decision::Unknown, custom),
        None => (Decision::Allow, allowed_by),
    }
}
