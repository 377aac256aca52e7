//! The checks `mtls` makes on the Snapshot with the intended PeerAuthentication laid over it,
//! comparing each connection with how it is now: who would stop receiving traffic, what a more
//! specific or older policy decides instead, and ports given as Service ports.
//!
//! Checks that `check` also makes keep their code; each is one function that will hand over
//! to its analyzer once that exists (named in the function's doc).

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    analysis::codes,
    authz::{
        Caller, MtlsMode, Target, Wire, effective_mtls, effective_tls,
        mtls::selected_peer_authentications, tls::ClientSource,
    },
    commands::authz::{
        callers::{Who, callers},
        checks::{Check, Severity, some_of},
        ports::{PortUse, classify, served_ports, service_port_message},
        scope::{Scope, group_pods, why_no_sidecar},
    },
    commands::can_matrix::{
        Scope as MatrixScope,
        lost::{Flipped, flipped_pairs},
    },
    error::UsageError,
    mesh::{
        Snapshot,
        host::{hosts_match, resolve_host, service_fqdn},
        selector::is_selectorless,
    },
};

/// The Snapshot before and after the write, and the intended policy.
pub struct Preflight<'a> {
    pub before: &'a Snapshot,
    pub after: &'a Snapshot,
    pub scope: &'a Scope,
    /// The intended policy's index in `after`.
    pub policy: u32,
}

impl Preflight<'_> {
    /// Every check, in report order.
    pub fn checks(&self) -> Vec<Check> {
        let mut out = Vec::new();
        out.extend(self.strict_without_sidecar());
        out.extend(self.plaintext_callers());
        out.extend(self.destination_rules());
        out.extend(self.sidecars_without_auto_mtls());
        out.extend(self.authorization());
        out.extend(self.selects_no_pods());
        out.extend(self.overridden());
        out.extend(self.same_level());
        out.extend(self.disabled());
        out
    }

    fn pods(&self) -> Vec<u32> {
        self.scope.pods(self.after)
    }

    /// DM0301: pods in scope without a sidecar whose policies say STRICT. For the mesh, only
    /// pods that injection would give a sidecar count: the others are outside the mesh.
    /// Hands over to the DM0301 analyzer (StrictMtlsWithoutSidecar) once it exists.
    fn strict_without_sidecar(&self) -> Option<Check> {
        let snap = self.after;
        let mut found = Vec::new();
        for id in self.pods() {
            let w = snap.workload_of_pod(id);
            if w.has_proxy() {
                continue;
            }
            let p = snap.pods().at(id);
            let injectable =
                snap.is_injected(w.namespace, &p.metadata.labels, &p.metadata.annotations);
            if *self.scope == Scope::Mesh && !injectable {
                continue;
            }
            let mut meshed = w.clone();
            meshed.has_sidecar = true;
            let strict = served_ports(snap, id)
                .into_iter()
                .any(|port| effective_mtls(snap, &meshed, port).mode == MtlsMode::Strict);
            if strict {
                found.push(id);
            }
        }
        if found.is_empty() {
            return None;
        }
        let items = group_pods(snap, found)
            .into_iter()
            .map(|g| format!("{g}: {}", why_no_sidecar(snap, g.representative())));
        Some(
            Check::new(
                Severity::Refuse,
                Some(&codes::STRICT_WITHOUT_SIDECAR),
                "STRICT would apply to workloads without a sidecar: nothing enforces it there, \
                 and once they restart with one their callers without a sidecar are cut off",
            )
            .items(items),
        )
    }

    /// Service ports that take plaintext now and would not after the write, and the callers
    /// without a proxy that send it: those config names are refused, those that only may call
    /// are warned about.
    fn plaintext_callers(&self) -> Vec<Check> {
        let mut closed: BTreeMap<u32, BTreeSet<u16>> = BTreeMap::new();
        for service in self.scope.services(self.after) {
            let svc = self.after.services().at(service);
            for port in &svc.spec.ports {
                let target = service_target(self.after, service, port.port);
                if newly_failing(self.before, self.after, &Caller::Plaintext, &target, |_| true) {
                    closed.entry(service).or_default().insert(port.port);
                }
            }
        }
        if closed.is_empty() {
            return Vec::new();
        }
        let ids: Vec<u32> = closed.keys().copied().collect();
        let describe = |services: &BTreeSet<u32>| -> String {
            let list: Vec<String> = services
                .iter()
                .filter_map(|s| {
                    let ports = closed.get(s)?;
                    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                    let key = self.after.services().at(*s).metadata.key();
                    Some(format!("{key}:{}", ports.join(",")))
                })
                .collect();
            some_of(&list, 3, ", ")
        };
        let (mut seen, mut may) = (Vec::new(), Vec::new());
        for caller in callers(self.after, &ids, true) {
            let why = match &caller.who {
                Who::Outside => "plaintext from outside the mesh".to_string(),
                Who::Pods(g) => {
                    let pod = g.representative();
                    if self.after.workload_of_pod(pod).has_proxy() {
                        continue;
                    }
                    format!("no sidecar, {}", why_no_sidecar(self.after, pod))
                }
            };
            if caller.seen {
                let reasons: Vec<String> = caller.reasons.iter().cloned().collect();
                seen.push(format!(
                    "{} {} {} ({}); {why}",
                    caller.who,
                    caller.who.calls(),
                    describe(&caller.services),
                    some_of(&reasons, 2, "; ")
                ));
            } else {
                may.push(format!("{}: {why}", caller.who));
            }
        }
        let all = describe(&closed.keys().copied().collect());
        let mut out = Vec::new();
        if !seen.is_empty() {
            out.push(
                Check::new(
                    Severity::Refuse,
                    None,
                    format!("callers without a sidecar would be cut off from {all}"),
                )
                .items(seen),
            );
        }
        if !may.is_empty() {
            out.push(
                Check::new(
                    Severity::Warn,
                    None,
                    format!(
                        "workloads without a sidecar would be cut off from {all} if they call it \
                         (config does not say they do)"
                    ),
                )
                .items(may),
            );
        }
        out
    }

    /// DM0302: DestinationRules whose TLS mode would no longer meet the servers in scope.
    /// Each rule is judged for a client in its own namespace, where it always applies.
    /// Hands over to the DM0302 analyzer (DestinationRuleTlsBreaksStrictMtls) once it exists.
    fn destination_rules(&self) -> Option<Check> {
        let snap = self.after;
        let services = self.scope.services(snap);
        let domain = snap.cluster_domain();
        let mut items = Vec::new();
        let mut strict = false;
        for (dr_id, dr) in snap.destination_rules().iter().enumerate() {
            let dr_id = dr_id as u32;
            let ns = dr.metadata.namespace.as_str();
            let host = resolve_host(&dr.spec.host, ns, domain);
            let client = match dr.spec.workload_selector.as_ref().filter(|s| !s.is_empty()) {
                Some(sel) => match snap.pods_selected_by(Some(ns), &sel.match_labels).next() {
                    Some(pod) => pod_caller(snap, pod),
                    None => continue,
                },
                None => Caller::Identity {
                    namespace: ns.to_string(),
                    service_account: "default".into(),
                    sidecar: true,
                },
            };
            for &service in &services {
                let m = &snap.services().at(service).metadata;
                if !hosts_match(&host, &service_fqdn(&m.name, &m.namespace, domain)) {
                    continue;
                }
                for port in &snap.services().at(service).spec.ports {
                    let target = service_target(snap, service, port.port);
                    let by_rule = |source: &ClientSource| matches!(source, ClientSource::DestinationRule { id, .. } if *id == dr_id);
                    if !newly_failing(self.before, snap, &client, &target, by_rule) {
                        continue;
                    }
                    let Ok(report) = effective_tls(snap, &client, &target) else { continue };
                    let accepts: Vec<&str> =
                        report.summary.accepts.iter().map(|w| w.as_str()).collect();
                    strict |= report.summary.accepts == [Wire::IstioMutual];
                    items.push(format!(
                        "DestinationRule {} sends {} to Service {}:{}, which would accept only {}",
                        dr.metadata.key(),
                        report.summary.client.wire,
                        m.key(),
                        port.port,
                        accepts.join(" or ")
                    ));
                }
            }
        }
        if items.is_empty() {
            return None;
        }
        let code = strict.then_some(&codes::DR_PLAINTEXT_TO_STRICT);
        Some(
            Check::new(
                Severity::Refuse,
                code,
                "clients that apply these DestinationRules would be cut off",
            )
            .items(items),
        )
    }

    /// With `enableAutoMtls: false` a sidecar sends plaintext unless a DestinationRule says
    /// ISTIO_MUTUAL: judged for a sidecar client in each Service's namespace.
    fn sidecars_without_auto_mtls(&self) -> Option<Check> {
        if self.after.mesh().enable_auto_mtls {
            return None;
        }
        let mut items = Vec::new();
        for service in self.scope.services(self.after) {
            let m = &self.after.services().at(service).metadata;
            let client = Caller::Identity {
                namespace: m.namespace.clone(),
                service_account: "default".into(),
                sidecar: true,
            };
            for port in &self.after.services().at(service).spec.ports {
                let target = service_target(self.after, service, port.port);
                let off = |s: &ClientSource| *s == ClientSource::NoAutoMtls;
                if newly_failing(self.before, self.after, &client, &target, off) {
                    items.push(format!("Service {}:{}", m.key(), port.port));
                }
            }
        }
        (!items.is_empty()).then(|| {
            Check::new(
                Severity::Refuse,
                None,
                "mesh config turns auto mTLS off, so sidecars would send plaintext to these \
                 Services unless a DestinationRule sets tls.mode: ISTIO_MUTUAL",
            )
            .items(items)
        })
    }

    /// Callers whose authorization flips, asked of the evaluator `can` uses over the Snapshot
    /// before and after: without mTLS a request carries no peer identity, so rules on
    /// principals or namespaces stop matching it. Callers that lose access are refused (DM0404,
    /// as `check` reports such rules); callers a DENY policy stops denying are refused too
    /// (DM0409).
    fn authorization(&self) -> Vec<Check> {
        // Only the policy changes, so only pairs it governs can flip.
        let matrix_scope = match self.scope.namespace() {
            Some(ns) => MatrixScope::Namespace(ns.to_string()),
            None => MatrixScope::All,
        };
        let Ok(flipped) = flipped_pairs(self.before, self.after, &matrix_scope) else {
            return Vec::new();
        };
        let item = |f: &Flipped| {
            let (now, then) = if f.gained { ("denied", "allowed") } else { ("allowed", "denied") };
            format!(
                "{} → {}: {now} now ({}), {then} after ({})",
                f.caller, f.destination, f.before, f.after
            )
        };
        let lost: Vec<String> = flipped.iter().filter(|f| !f.gained).map(item).collect();
        let gained: Vec<String> = flipped.iter().filter(|f| f.gained).map(item).collect();
        let mut out = Vec::new();
        if !lost.is_empty() {
            out.push(
                Check::new(
                    Severity::Refuse,
                    Some(&codes::AP_IDENTITY_WITHOUT_STRICT),
                    "these callers would lose access: without mTLS their requests carry no peer \
                     identity, so AuthorizationPolicy rules on principals or namespaces no longer \
                     match them",
                )
                .items(lost),
            );
        }
        if !gained.is_empty() {
            out.push(
                Check::new(
                    Severity::Refuse,
                    Some(&codes::AP_DENY_NEVER_MATCHES),
                    "DENY policies would stop denying these callers: without mTLS their requests \
                     carry no peer identity, so DENY rules on principals or namespaces no longer \
                     match them",
                )
                .items(gained),
            );
        }
        out
    }

    /// DM0306: a workload policy whose selector matches no pod.
    /// Hands over to the DM0306 analyzer (PeerAuthenticationSelectsNoPods) once it exists.
    fn selects_no_pods(&self) -> Option<Check> {
        let Scope::Workload { .. } = self.scope else { return None };
        self.pods().is_empty().then(|| {
            Check::new(
                Severity::Warn,
                Some(&codes::PA_SELECTS_NO_PODS),
                format!(
                    "no pod matches the selector: the policy applies to nothing until {} \
                         exist",
                    self.scope
                ),
            )
        })
    }

    /// Policies at a more specific level (namespace under mesh, workload under namespace)
    /// that set a mode of their own for pods in scope.
    fn overridden(&self) -> Option<Check> {
        let snap = self.after;
        let table = snap.peer_authentications();
        let mut by_policy: BTreeMap<u32, usize> = BTreeMap::new();
        for id in self.pods() {
            let levels = selected_peer_authentications(snap, &snap.workload_of_pod(id));
            let below = match self.scope {
                Scope::Mesh => [levels.namespace, levels.workload],
                Scope::Namespace(_) => [None, levels.workload],
                Scope::Workload { .. } => [None, None],
            };
            for other in below.into_iter().flatten().filter(|&o| o != self.policy) {
                let pa = table.at(other);
                if !pa.mode().is_unset() || !pa.port_level_ports().is_empty() {
                    *by_policy.entry(other).or_default() += 1;
                }
            }
        }
        if by_policy.is_empty() {
            return None;
        }
        let items = by_policy.into_iter().map(|(id, pods)| {
            let pa = table.at(id);
            let ports = pa.port_level_ports();
            let ports = if ports.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                format!(", with port-level modes on {}", list.join(", "))
            };
            let s = if pods == 1 { "" } else { "s" };
            format!(
                "PeerAuthentication {} (mode {}{ports}) decides for {pods} pod{s}",
                pa.metadata.key(),
                pa.mode()
            )
        });
        Some(
            Check::new(Severity::Note, None, "more specific policies override this one")
                .items(items),
        )
    }

    /// DM0205: other policies at the same level for the same pods; the oldest wins.
    fn same_level(&self) -> Option<Check> {
        let snap = self.after;
        let table = snap.peer_authentications();
        let ours = table.at(self.policy);
        let pods = self.pods();
        let shares_pods = |id: u32| {
            let sel = table.at(id).spec.selector.as_ref();
            match self.scope {
                Scope::Mesh | Scope::Namespace(_) => is_selectorless(sel),
                Scope::Workload { .. } => {
                    !is_selectorless(sel)
                        && pods.iter().any(|&p| {
                            sel.is_some_and(|s| s.matches(&snap.pods().at(p).metadata.labels))
                        })
                }
            }
        };
        let others: Vec<u32> = table
            .ids_in(&ours.metadata.namespace)
            .iter()
            .copied()
            .filter(|&id| id != self.policy && shares_pods(id))
            .collect();
        if others.is_empty() {
            return None;
        }
        let names: Vec<String> = others
            .iter()
            .map(|&id| format!("PeerAuthentication {}", table.at(id).metadata.key()))
            .collect();
        let older: Vec<&String> = others
            .iter()
            .zip(&names)
            .filter(|(id, _)| table.at(**id).metadata.age_key() < ours.metadata.age_key())
            .map(|(_, n)| n)
            .collect();
        let code = Some(&codes::PA_SAME_LEVEL_CONFLICT);
        Some(if older.is_empty() {
            Check::new(
                Severity::Note,
                code,
                "other policies apply at the same level; this one is older and wins, so they are \
                 ignored",
            )
            .items(names)
        } else {
            Check::new(
                Severity::Warn,
                code,
                "an older policy applies at the same level and wins: this one would take no \
                 effect where they overlap",
            )
            .items(older.into_iter().cloned())
        })
    }

    /// DM0307: the write leaves pods in scope accepting only plaintext.
    fn disabled(&self) -> Option<Check> {
        let snap = self.after;
        let disabled: Vec<u32> = self
            .pods()
            .into_iter()
            .filter(|&id| {
                let w = snap.workload_of_pod(id);
                served_ports(snap, id).into_iter().any(|port| {
                    let m = effective_mtls(snap, &w, port);
                    m.mode == MtlsMode::Disable
                        && matches!(&m.decider, crate::authz::MtlsDecider::Policy { id, .. } if *id == self.policy)
                })
            })
            .collect();
        (!disabled.is_empty()).then(|| {
            Check::new(
                Severity::Note,
                Some(&codes::MTLS_DISABLED),
                "mTLS would be disabled: traffic to these workloads is plaintext",
            )
            .items(group_pods(snap, disabled).into_iter().map(|g| g.to_string()))
        })
    }
}

/// Refuses `--port` values that are Service ports sending to another container port, and
/// warns about ports no selected pod is known to serve on.
pub fn check_ports(
    snap: &Snapshot,
    scope: &Scope,
    ports: &[(u16, crate::mesh::validate::MtlsMode, String)],
) -> Result<Vec<Check>, UsageError> {
    let pods = scope.pods(snap);
    let mut out = Vec::new();
    for (port, mode, text) in ports {
        match classify(snap, &pods, *port) {
            PortUse::Container => {}
            PortUse::ServicePort { service, targets } => {
                let first = targets.first().copied().unwrap_or(*port);
                return Err(UsageError::new(format!(
                    "invalid value {text:?} for --port: port-level modes take container ports, and \
                     {}",
                    service_port_message(*port, &service, &targets)
                ))
                .with_hint(format!("use --port {first}={mode}")));
            }
            PortUse::Unknown if !pods.is_empty() => out.push(Check::new(
                Severity::Warn,
                None,
                format!(
                    "no selected pod is known to serve on container port {port}; port-level modes \
                     apply only to traffic that reaches that container port"
                ),
            )),
            PortUse::Unknown => {}
        }
    }
    Ok(out)
}

/// A Service port as a request target.
fn service_target(snap: &Snapshot, service: u32, port: u16) -> Target {
    let m = &snap.services().at(service).metadata;
    Target::Service { namespace: m.namespace.clone(), name: m.name.clone(), port }
}

/// A pod as a caller.
fn pod_caller(snap: &Snapshot, pod: u32) -> Caller {
    let m = &snap.pods().at(pod).metadata;
    Caller::Pod { namespace: m.namespace.clone(), name: m.name.clone() }
}

/// Whether a connection from `caller` to `target` reaches an endpoint now and would not after
/// the write, the failing client's choice passing `source`.
fn newly_failing(
    before: &Snapshot,
    after: &Snapshot,
    caller: &Caller,
    target: &Target,
    source: impl Fn(&ClientSource) -> bool,
) -> bool {
    let (Ok(then), Ok(now)) =
        (effective_tls(before, caller, target), effective_tls(after, caller, target))
    else {
        return false;
    };
    let reached: BTreeSet<&str> =
        then.endpoints.iter().filter(|e| e.succeeds).map(|e| e.endpoint.as_str()).collect();
    now.endpoints
        .iter()
        .any(|e| !e.succeeds && source(&e.client.source) && reached.contains(e.endpoint.as_str()))
}
