//! `DM0404` IdentityRuleWithoutStrictMtls: a rule matches on the caller's mTLS identity where
//! the workloads it protects also accept plaintext.
//!
//! Istio rule: `principals`, `namespaces` and `serviceAccounts` (and the `source.principal`,
//! `source.namespace` and `source.serviceAccount` conditions) come from the peer certificate;
//! a plaintext request has none, so such a rule never matches it
//! (<https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source>,
//! <https://istio.io/latest/docs/ops/best-practices/security/#use-strict-mtls>). An ALLOW rule
//! then keeps plaintext callers out; a DENY rule lets them through. The effective mode is
//! `authz::effective_mtls` at the ports the rule names, or at every level when it names none.
//!
//! Limitations: `not` values are left alone (DENY with `notPrincipals: ["*"]` is Istio's way to
//! refuse plaintext). Gateways are left out: their peers are rarely meshed clients.

use super::{applicable, fields};
use crate::analysis::mtls::workloads::{Workloads, modes_at, selector_hint, short_list};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::MtlsMode;
use crate::authz::attrs::Attr;
use crate::authz::matcher::parse_port;
use crate::mesh::Kind;
use crate::mesh::authorization_policy::Action;
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct IdentityWithoutStrict;

impl Analyzer for IdentityWithoutStrict {
    fn name(&self) -> &'static str {
        "authz-identity-without-strict-mtls"
    }

    fn description(&self) -> &'static str {
        "Identity-based rules on workloads that accept plaintext"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy, Kind::PeerAuthentication]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_IDENTITY_WITHOUT_STRICT]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        for ap in snapshot.authorization_policies() {
            let selected: Vec<_> = applicable(snapshot, &workloads, ap)
                .into_iter()
                .filter(|w| w.has_proxy() && !w.is_gateway)
                .collect();
            if selected.is_empty() {
                continue;
            }
            for (i, rule) in ap.spec.rules.iter().enumerate() {
                let rule_fields = fields(rule);
                let identity: Vec<String> = rule_fields
                    .iter()
                    .filter(|f| !f.negated && f.attr.as_ref().is_some_and(Attr::is_peer_identity))
                    .map(|f| f.path(i))
                    .collect();
                if identity.is_empty() {
                    continue;
                }
                let ports: Vec<u16> = rule_fields
                    .iter()
                    .filter(|f| !f.negated && f.attr == Some(Attr::DestinationPort))
                    .flat_map(|f| f.values.iter().filter_map(|v| parse_port(v)))
                    .collect();
                let mut open = Vec::new();
                for w in &selected {
                    for (port, m) in modes_at(snapshot, w, &ports) {
                        if matches!(m.mode, MtlsMode::Permissive | MtlsMode::Disable) {
                            let at = port.map(|p| format!(" port {p}")).unwrap_or_default();
                            open.push(format!("{}{at} ({} by {})", w.key(), m.mode, m.decider));
                        }
                    }
                }
                if open.is_empty() {
                    continue;
                }
                let effect = match ap.action() {
                    Action::Allow => ", so they are denied",
                    Action::Deny => ", so they get through",
                    _ => "",
                };
                let message = format!(
                    "{} need the caller's mTLS identity, but plaintext is accepted at {}: \
                     plaintext callers never match this rule{effect}",
                    identity.join(", "),
                    short_list(&open, 2)
                );
                let ns = selected[0].namespace;
                let mut fix = match selected.len() {
                    1 => format!(
                        "enforce STRICT mTLS (kubectl debatemesh mtls {ns} --mode STRICT --selector {})",
                        selector_hint(&selected[0].labels).unwrap_or_else(|| "app=NAME".into())
                    ),
                    _ => {
                        format!("enforce STRICT mTLS (kubectl debatemesh mtls {ns} --mode STRICT)")
                    }
                };
                if ap.action() == Action::Deny {
                    fix.push_str(
                        ", or also deny callers without identity (notPrincipals: [\"*\"])",
                    );
                }
                out.push(finding(&codes::AP_IDENTITY_WITHOUT_STRICT, ap, message).fix(fix));
            }
        }
    }
}
