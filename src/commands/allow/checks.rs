//! The checks `allow` and `deny` make on the Snapshot with the intended AuthorizationPolicy
//! laid over it. Checks that `check` also makes keep their code; each is one function that
//! will hand over to its analyzer once that exists (named in the function's doc).

use std::collections::BTreeMap;

use super::access::lost_access;
use crate::{
    analysis::codes,
    authz::{MtlsMode, effective_mtls, policy::applicable_policies},
    commands::authz::{
        checks::{Check, Severity, some_of},
        ports::{PortUse, classify, served_ports, service_port_message},
        scope::{Scope, group_pods, why_no_sidecar},
    },
    mesh::{
        Snapshot, authorization_policy::Action, policy_build::authorization_policy::RuleSpec,
        snapshot::target_port,
    },
};

/// The Snapshot before and after the write, the intended policy and its new rule.
pub struct Checks<'a> {
    pub before: &'a Snapshot,
    pub after: &'a Snapshot,
    pub scope: &'a Scope,
    pub action: Action,
    pub rule: &'a RuleSpec,
    /// Whether the intended policy is `istio.io/dry-run`.
    pub dry_run: bool,
}

impl Checks<'_> {
    /// Every check, in report order.
    pub fn run(&self) -> Vec<Check> {
        let mut out = Vec::new();
        out.extend(self.selects_no_pods());
        out.extend(self.not_enforced());
        out.extend(self.unknown_sources());
        out.extend(self.identity_without_strict());
        out.extend(self.http_fields_on_tcp());
        out.extend(self.service_ports());
        out.extend(self.access());
        out
    }

    fn pods(&self) -> Vec<u32> {
        self.scope.pods(self.after)
    }

    /// DM0401: the selector matches no pod.
    /// Hands over to the DM0401 analyzer (AuthorizationPolicySelectsNoPods) once it exists.
    fn selects_no_pods(&self) -> Option<Check> {
        let Scope::Workload { .. } = self.scope else { return None };
        self.pods().is_empty().then(|| {
            Check::new(
                Severity::Warn,
                Some(&codes::AP_SELECTS_NO_PODS),
                format!(
                    "no pod matches the selector: the policy protects nothing until {} exist",
                    self.scope
                ),
            )
        })
    }

    /// Pods in scope without a proxy: nothing enforces an AuthorizationPolicy on them.
    fn not_enforced(&self) -> Option<Check> {
        let snap = self.after;
        let bare: Vec<u32> =
            self.pods().into_iter().filter(|&id| !snap.workload_of_pod(id).has_proxy()).collect();
        (!bare.is_empty()).then(|| {
            let items = group_pods(snap, bare)
                .into_iter()
                .map(|g| format!("{g}: {}", why_no_sidecar(snap, g.representative())));
            Check::new(
                Severity::Warn,
                None,
                "these pods have no sidecar, so nothing enforces the policy on them",
            )
            .items(items)
        })
    }

    /// DM0402 and DM0403: source namespaces and service accounts that do not exist, so the
    /// rule matches no caller. The `default` account exists in every namespace.
    /// Hands over to the DM0402 (AuthorizationPolicyNamespaceNotFound) and DM0403
    /// (AuthorizationPolicyServiceAccountNotFound) analyzers once they exist.
    fn unknown_sources(&self) -> Vec<Check> {
        let snap = self.after;
        let trust_domains = snap.mesh().trust_domains();
        let (mut namespaces, mut accounts) = (Vec::new(), Vec::new());
        let ns_exists = |ns: &str| snap.namespaces().get("", ns).is_some();
        let mut identities: Vec<(String, Option<String>)> =
            self.rule.namespaces.iter().map(|ns| (ns.clone(), None)).collect();
        for principal in &self.rule.principals {
            if let [td, "ns", ns, "sa", sa] = principal.split('/').collect::<Vec<_>>().as_slice()
                && trust_domains.contains(td)
            {
                identities.push((ns.to_string(), Some(sa.to_string())));
            }
        }
        for (ns, sa) in identities {
            if snap.has_kind(crate::mesh::Kind::Namespace) && !ns_exists(&ns) {
                namespaces.push(format!("namespace {ns}"));
            } else if let Some(sa) = sa
                && snap.has_kind(crate::mesh::Kind::ServiceAccount)
                && sa != crate::mesh::snapshot::DEFAULT_SERVICE_ACCOUNT
                && snap.service_accounts().get(&ns, &sa).is_none()
            {
                accounts.push(format!("service account {ns}/{sa}"));
            }
        }
        let mut out = Vec::new();
        let what = self.no_match_effect();
        if !namespaces.is_empty() {
            out.push(
                Check::new(
                    Severity::Refuse,
                    Some(&codes::AP_NAMESPACE_NOT_FOUND),
                    format!("the rule names namespaces that do not exist, so {what}"),
                )
                .items(namespaces),
            );
        }
        if !accounts.is_empty() {
            out.push(
                Check::new(
                    Severity::Refuse,
                    Some(&codes::AP_SERVICE_ACCOUNT_NOT_FOUND),
                    format!("the rule names service accounts that do not exist, so {what}"),
                )
                .items(accounts),
            );
        }
        out
    }

    fn no_match_effect(&self) -> &'static str {
        match self.action {
            Action::Deny => "it denies nobody by them",
            _ => "it lets nobody in by them",
        }
    }

    /// DM0404: principals or namespaces where the target's effective mTLS is not STRICT:
    /// plaintext requests carry no identity and never match. An ALLOW rule then keeps them
    /// out (a warning); a DENY rule lets them through (a refusal).
    /// Hands over to the DM0404 analyzer (IdentityRuleWithoutStrictMtls) once it exists.
    fn identity_without_strict(&self) -> Option<Check> {
        if !self.rule.uses_identity() {
            return None;
        }
        let snap = self.after;
        let wanted: Vec<u16> = self.rule.ports.iter().filter_map(|p| p.parse().ok()).collect();
        let mut by_mode: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
        for id in self.pods() {
            let w = snap.workload_of_pod(id);
            let ports: Vec<u16> =
                if wanted.is_empty() { served_ports(snap, id) } else { wanted.clone() };
            let weak = ports.iter().find_map(|&port| {
                let m = effective_mtls(snap, &w, port);
                (m.mode != MtlsMode::Strict).then(|| {
                    let on = if port == 0 { String::new() } else { format!(" on port {port}") };
                    if m.mode == MtlsMode::NoSidecar {
                        return ("no sidecar".to_string(), "nothing checks mTLS there".to_string());
                    }
                    (format!("mTLS {}{on}", m.mode), m.decider.to_string())
                })
            });
            if let Some(key) = weak {
                by_mode.entry(key).or_default().push(id);
            }
        }
        if by_mode.is_empty() {
            return None;
        }
        let items = by_mode.into_iter().flat_map(|((mode, decider), pods)| {
            group_pods(snap, pods).into_iter().map(move |g| format!("{g}: {mode} ({decider})"))
        });
        let namespace = self.scope.namespace().unwrap_or("NS");
        let (severity, effect) = match self.action {
            Action::Deny => (Severity::Refuse, "this DENY rule lets them through"),
            _ => (Severity::Warn, "this ALLOW rule keeps them out"),
        };
        Some(
            Check::new(
                severity,
                Some(&codes::AP_IDENTITY_WITHOUT_STRICT),
                format!(
                    "the rule matches on the caller's mTLS identity, but mTLS is not STRICT here: \
                     plaintext requests carry no identity, so {effect} (require mTLS first: \
                     kubectl debatemesh mtls {namespace} --mode STRICT)"
                ),
            )
            .items(items),
        )
    }

    /// DM0405: HTTP-only fields on a TCP port. istiod drops such an ALLOW rule on TCP ports
    /// (it allows nothing there) and drops the HTTP fields from such a DENY rule (it denies
    /// everything the rest of the rule matches).
    /// Hands over to the DM0405 analyzer (HttpOnlyFieldsOnTcpPort) once it exists.
    fn http_fields_on_tcp(&self) -> Option<Check> {
        let fields = self.rule.http_fields();
        if fields.is_empty() {
            return None;
        }
        let snap = self.after;
        let pods = self.pods();
        let wanted: Vec<u16> = self.rule.ports.iter().filter_map(|p| p.parse().ok()).collect();
        let mut items = Vec::new();
        for service in self.scope.services(snap) {
            let svc = snap.services().at(service);
            for port in &svc.spec.ports {
                let protocol = port.istio_protocol();
                if !protocol.is_tcp() {
                    continue;
                }
                let targets: Vec<u16> = pods
                    .iter()
                    .filter(|p| snap.services_for_pod(**p).contains(&service))
                    .filter_map(|&p| target_port(port, &snap.workload_of_pod(p).ports))
                    .collect();
                if !wanted.is_empty() && !targets.iter().any(|t| wanted.contains(t)) {
                    continue;
                }
                items.push(format!(
                    "Service {} port {} ({}) is handled as {protocol}",
                    svc.metadata.key(),
                    port.port,
                    port.name_or_empty()
                ));
            }
        }
        if items.is_empty() {
            return None;
        }
        let effect = match self.action {
            Action::Deny => {
                "istiod drops those fields from this DENY rule there, so it denies every \
                 connection the rest of the rule matches"
            }
            _ => "istiod drops this ALLOW rule there, so it allows nothing on them",
        };
        Some(
            Check::new(
                Severity::Refuse,
                Some(&codes::AP_HTTP_FIELDS_ON_TCP),
                format!(
                    "the rule uses HTTP-only fields ({}) on TCP ports: {effect} (name the Service \
                     port http-... or set appProtocol if it speaks HTTP)",
                    fields.join(", ")
                ),
            )
            .items(items),
        )
    }

    /// `--ports` values that are Service ports sending to another container port.
    fn service_ports(&self) -> Option<Check> {
        let pods = self.pods();
        let items: Vec<String> = self
            .rule
            .ports
            .iter()
            .filter_map(|p| p.parse::<u16>().ok())
            .filter_map(|port| match classify(self.after, &pods, port) {
                PortUse::ServicePort { service, targets } => {
                    Some(service_port_message(port, &service, &targets))
                }
                _ => None,
            })
            .collect();
        (!items.is_empty()).then(|| {
            Check::new(
                Severity::Warn,
                None,
                "AuthorizationPolicy ports are the container ports a workload listens on, not \
                 Service ports",
            )
            .items(items)
        })
    }

    /// Callers that would lose access: refused for the first ALLOW policy, reported for DENY.
    fn access(&self) -> Vec<Check> {
        let mut out = Vec::new();
        if self.dry_run {
            out.push(Check::new(
                Severity::Note,
                Some(&codes::AP_DRY_RUN),
                "the policy is istio.io/dry-run: Istio evaluates and logs it but does not enforce \
                 it; remove the annotation to enforce it",
            ));
            return out;
        }
        let first_allow = self.action == Action::Allow && !self.has_enforced_allow();
        let lost = lost_access(self.before, self.after, self.scope, self.action, self.rule);
        let items: Vec<String> = lost
            .iter()
            .map(|l| {
                let reasons: Vec<String> = l.caller.reasons.iter().cloned().collect();
                format!(
                    "{} {} {} ({})",
                    l.caller.who,
                    l.caller.who.calls(),
                    some_of(&l.ports, 3, ", "),
                    some_of(&reasons, 2, "; ")
                )
            })
            .collect();
        match (self.action, first_allow, items.is_empty()) {
            (Action::Allow, true, true) => out.push(Check::new(
                Severity::Note,
                None,
                format!(
                    "this is the first ALLOW policy for {}: every request it does not allow is \
                     now denied",
                    self.scope
                ),
            )),
            (Action::Allow, true, false) => out.push(
                Check::new(
                    Severity::Refuse,
                    None,
                    format!(
                        "this is the first ALLOW policy for {}: every request it does not allow is \
                         denied, and these callers would lose access",
                        self.scope
                    ),
                )
                .items(items),
            ),
            (Action::Deny, _, false) => out.push(
                Check::new(
                    Severity::Note,
                    None,
                    "these callers would be denied what the rule matches",
                )
                .items(items),
            ),
            _ => {}
        }
        out
    }

    /// Whether an enforced ALLOW policy already applies to a pod in scope.
    fn has_enforced_allow(&self) -> bool {
        let snap = self.before;
        let table = snap.authorization_policies();
        self.scope.pods(snap).into_iter().any(|id| {
            applicable_policies(snap, &snap.workload_of_pod(id)).into_iter().any(|p| {
                let p = table.at(p);
                p.action() == Action::Allow && !p.is_dry_run()
            })
        })
    }
}
