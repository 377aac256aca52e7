//! `DM0409` DenyRuleNeverMatches: a DENY policy, or one of its rules, that can never match a
//! request, so it denies nothing.
//!
//! Istio rules, each a reason reported: a DENY policy without rules matches nothing (istio/istio
//! `pilot/pkg/security/authz/builder/builder.go` generates a never-matching policy); a `when`
//! key Istio does not know makes istiod skip the rule (`pilot/pkg/security/authz/model/model.go`);
//! every `to` entry needs a path without a leading `/` or a method that is no HTTP method; a
//! field lists only values its `not` twin excludes; JWT fields (`requestPrincipals`,
//! `request.auth.*`) on workloads no RequestAuthentication covers, where no request carries a
//! validated token; identity fields on workloads whose mTLS is DISABLE; `ports` that name a
//! Service port whose `targetPort` differs, where policies see the container port
//! (<https://istio.io/latest/docs/reference/config/security/authorization-policy/>).
//!
//! Limitations: the first reason of a rule is reported. A rule on a TCP port whose HTTP-only
//! values istiod drops matches more, not less; that is DM0405's.

use super::path_without_slash::is_unrooted;
use super::unknown_method::method_problem;
use super::{Field, applicable, fields};
use crate::analysis::mtls::workloads::{Workloads, modes_at};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::MtlsMode;
use crate::authz::attrs::Attr;
use crate::authz::matcher::parse_port;
use crate::authz::rule::Part;
use crate::mesh::Kind;
use crate::mesh::authorization_policy::{Action, Rule};
use crate::mesh::selector::selects;
use crate::mesh::snapshot::{Snapshot, Workload, WorkloadRef, target_port};

/// See the module docs.
pub struct DenyNeverMatches;

impl Analyzer for DenyNeverMatches {
    fn name(&self) -> &'static str {
        "authz-deny-never-matches"
    }

    fn description(&self) -> &'static str {
        "DENY policies and rules that can never match"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_DENY_NEVER_MATCHES]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        for ap in snapshot.authorization_policies().iter().filter(|p| p.action() == Action::Deny) {
            if ap.spec.rules.is_empty() {
                let message = "the DENY policy has no rules, so it denies nothing".to_string();
                let fix =
                    "add rules: [{}] to deny every request, or the rules that say what to deny";
                out.push(finding(&codes::AP_DENY_NEVER_MATCHES, ap, message).fix(fix));
                continue;
            }
            let selected: Vec<&Workload<'_>> = applicable(snapshot, &workloads, ap)
                .into_iter()
                .filter(|w| w.has_proxy() && !w.is_gateway)
                .collect();
            for (i, rule) in ap.spec.rules.iter().enumerate() {
                let Some((why, fix)) = never(snapshot, rule, i, &selected) else { continue };
                let message = format!("rules[{i}] never matches: {why}");
                out.push(finding(&codes::AP_DENY_NEVER_MATCHES, ap, message).fix(fix));
            }
        }
    }
}

/// Why a rule never matches, and the fix.
fn never(
    snapshot: &Snapshot,
    rule: &Rule,
    i: usize,
    selected: &[&Workload<'_>],
) -> Option<(String, String)> {
    if let Some(c) = rule.when.iter().find(|c| Attr::of_when_key(&c.key).is_none()) {
        let why = format!("istiod skips it for the unknown condition key {:?}", c.key);
        return Some((
            why,
            "use a key from Istio's condition list (e.g. request.headers[NAME])".into(),
        ));
    }
    let all = fields(rule);
    let impossible_to = !rule.to.is_empty()
        && (0..rule.to.len())
            .all(|t| rule.to[t].operation.is_some() && impossible(&all, Part::To(t)).is_some());
    if impossible_to {
        let why = impossible(&all, Part::To(0)).unwrap_or_default();
        return Some((format!("every to entry needs {why}"), format!("correct rules[{i}].to")));
    }
    let impossible_from = !rule.from.is_empty()
        && (0..rule.from.len())
            .all(|f| rule.from[f].source.is_some() && impossible(&all, Part::From(f)).is_some());
    if impossible_from {
        let why = impossible(&all, Part::From(0)).unwrap_or_default();
        return Some((format!("every from entry needs {why}"), format!("correct rules[{i}].from")));
    }
    if selected.is_empty() {
        return None;
    }
    let positive = |pred: fn(&Attr) -> bool| {
        all.iter().find(|f| !f.negated && f.attr.as_ref().is_some_and(pred))
    };
    if let Some(f) = positive(Attr::is_jwt)
        && snapshot.has_kind(Kind::RequestAuthentication)
        && !selected.iter().any(|w| has_request_authentication(snapshot, w))
    {
        let why = format!(
            "{} needs a validated JWT and no RequestAuthentication covers the workloads",
            f.path(i)
        );
        return Some((
            why,
            "add a RequestAuthentication for the workloads, or drop the JWT fields".into(),
        ));
    }
    let ports: Vec<u16> = all
        .iter()
        .filter(|f| !f.negated && f.attr == Some(Attr::DestinationPort))
        .flat_map(|f| f.values.iter().filter_map(|v| parse_port(v)))
        .collect();
    if let Some(f) = positive(Attr::is_peer_identity)
        && snapshot.has_kind(Kind::PeerAuthentication)
        && selected
            .iter()
            .all(|w| modes_at(snapshot, w, &ports).iter().all(|(_, m)| m.mode == MtlsMode::Disable))
    {
        let why = format!(
            "{} needs the caller's mTLS identity and mTLS is DISABLE on every workload it selects",
            f.path(i)
        );
        return Some((why, "set the workloads' mTLS mode to STRICT or PERMISSIVE".into()));
    }
    service_port_mistake(snapshot, &ports, selected).map(|(svc, target)| {
        (
            format!("ports names Service port {svc}, but policies see the container port {target}"),
            format!("write ports: [\"{target}\"] in rules[{i}]"),
        )
    })
}

/// Why the values at one source or operation can never all match, if so.
fn impossible(all: &[Field<'_>], part: Part) -> Option<String> {
    let here: Vec<&Field<'_>> = all.iter().filter(|f| f.part == part).collect();
    for f in here.iter().filter(|f| !f.negated) {
        let dead = match f.attr {
            Some(Attr::Path) => f.values.iter().all(|v| is_unrooted(v)),
            Some(Attr::Method) => f.values.iter().all(|v| method_problem(v).is_some()),
            _ => false,
        };
        if dead {
            return Some(format!("{} {:?}, which no request has", f.name, f.values));
        }
        let twin =
            here.iter().find(|n| n.negated && n.attr == f.attr && !matches!(part, Part::When(_)));
        if let Some(n) = twin
            && f.values.iter().all(|v| !v.contains('*') && n.values.contains(v))
        {
            return Some(format!("{} {:?}, each excluded by {}", f.name, f.values, n.name));
        }
    }
    None
}

/// Whether a RequestAuthentication applies to the workload (its namespace or the root
/// namespace, selector matching).
fn has_request_authentication(snapshot: &Snapshot, w: &Workload<'_>) -> bool {
    let root = snapshot.root_namespace();
    snapshot.request_authentications().iter().any(|ra| {
        let ns = ra.metadata.namespace.as_str();
        (ns == w.namespace || ns == root) && selects(ra.spec.selector.as_ref(), &w.labels)
    })
}

/// A named port that is a Service port of the workloads mapping to another container port,
/// when no named port is a container port they are reached on: `(service port, target)`.
fn service_port_mistake(
    snapshot: &Snapshot,
    ports: &[u16],
    selected: &[&Workload<'_>],
) -> Option<(u16, u16)> {
    let mut mistake = None;
    for w in selected {
        let WorkloadRef::Pod(id) = w.reference else { return None };
        for &sid in snapshot.services_for_pod(id) {
            for sp in &snapshot.services().at(sid).spec.ports {
                let target = target_port(sp, &w.ports)?;
                if ports.contains(&target) {
                    return None;
                }
                if ports.contains(&sp.port) && target != sp.port {
                    mistake = Some((sp.port, target));
                }
            }
        }
    }
    mistake
}
