//! The answer to a `can` question: the decision, what decided it, and the
//! chain of reasoning per destination workload.

use std::fmt;

use serde::Serialize;

use super::mtls::{EffectiveMtls, MtlsMode};
use super::request::{Protocol, ResolvedCaller};
use super::rule::{FieldMiss, Miss, RuleOutcome, RuleResult, Skip};
use super::tls::EndpointTls;
use crate::mesh::authorization_policy::Action;
use crate::mesh::snapshot::WorkloadRef;

/// Whether the request is let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// An external authorizer (CUSTOM) decides at run time; nothing else
    /// denies.
    Unknown,
    /// Denied.
    Deny,
}

impl Decision {
    /// `ALLOW`, `DENY` or `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "ALLOW",
            Decision::Deny => "DENY",
            Decision::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Deciding {
    /// An AuthorizationPolicy (and its matching rule, if one matched).
    Policy {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Index of the matching rule.
        rule: Option<usize>,
    },
    /// Enforced ALLOW policies apply and none matched.
    NoAllowPolicyMatched,
    /// Nothing enforced denied and no enforced ALLOW policy applies.
    NoPolicy,
    /// The server's STRICT PeerAuthentication rejected a connection
    /// without Istio mTLS.
    PeerAuthentication {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The client's DestinationRule TLS mode does not meet the server.
    DestinationRule {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The proxy rejects the request before authorization (a `%00` path).
    Rejected(String),
}

impl fmt::Display for Deciding {
    /// `policy NS/NAME`, `no-allow-policy-matched`, `no-policy`,
    /// `peerauthentication NS/NAME`, `destinationrule NS/NAME`, `rejected`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deciding::Policy { namespace, name, .. } => write!(f, "policy {namespace}/{name}"),
            Deciding::NoAllowPolicyMatched => f.write_str("no-allow-policy-matched"),
            Deciding::NoPolicy => f.write_str("no-policy"),
            Deciding::PeerAuthentication { namespace, name } => {
                write!(f, "peerauthentication {namespace}/{name}")
            }
            Deciding::DestinationRule { namespace, name } => {
                write!(f, "destinationrule {namespace}/{name}")
            }
            Deciding::Rejected(_) => f.write_str("rejected"),
        }
    }
}

/// The role a policy plays in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Enforced: it can decide.
    Enforced,
    /// `istio.io/dry-run`: evaluated and reported, never enforced.
    DryRun,
    /// AUDIT: marks requests, never decides.
    Audit,
    /// The destination has no proxy, so nothing is enforced.
    NotEnforced,
    /// CUSTOM whose provider cannot serve it: istiod turns its rules into
    /// DENY rules.
    BadCustomProvider(String),
    /// CUSTOM with an HTTP-only provider on a TCP port: istiod ignores it.
    IgnoredOnTcp,
}

/// One policy considered for a workload, in evaluation order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainEntry {
    /// Index in the AuthorizationPolicy table.
    pub id: u32,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Action.
    pub action: Action,
    /// CUSTOM provider name.
    pub provider: Option<String>,
    /// The role it plays.
    pub effect: Effect,
    /// The rule that matched (the first in Envoy's order), if any.
    pub matched_rule: Option<usize>,
    /// Every rule's result; empty when the policy has no rules.
    pub rules: Vec<RuleResult>,
}

impl ChainEntry {
    /// Whether a rule matched.
    pub fn is_matched(&self) -> bool {
        self.matched_rule.is_some()
    }

    /// Why the policy did not match, in one line.
    pub fn why_not(&self) -> String {
        if self.rules.is_empty() {
            return "no rules: matches nothing".to_string();
        }
        let reasons: Vec<String> = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| format!("rule {i}: {}", describe(&r.outcome)))
            .collect();
        reasons.join("; ")
    }
}

fn describe(outcome: &RuleOutcome) -> String {
    match outcome {
        RuleOutcome::Matched => "matched".to_string(),
        RuleOutcome::Missed(m) => describe_miss(m),
        RuleOutcome::Skipped(Skip::UnknownAttribute(k)) => {
            format!("ignored by istiod: unknown condition key {k}")
        }
        RuleOutcome::Skipped(Skip::Unbuildable { part, field, value, error }) => {
            format!("ignored by istiod: {part}.{field} value {value:?} {error}")
        }
    }
}

fn describe_miss(m: &FieldMiss) -> String {
    let FieldMiss { part, field, miss } = m;
    let what = match miss {
        Miss::NoPeerIdentity => "needs the caller's mTLS identity and the request has none".into(),
        Miss::NoJwt => "needs a JWT and the request carries none".into(),
        Miss::Unknown(what) => format!("{what} unknown, taken as not matching"),
        Miss::Absent => "not present in the request".into(),
        Miss::NotListed(actual) => format!("{actual:?} is not listed"),
        Miss::Excluded { actual, value } => format!("{actual:?} matches excluded {value:?}"),
    };
    format!("{part}.{field}: {what}")
}

/// The answer for one destination workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadVerdict {
    /// `namespace/name` of the workload.
    pub workload: String,
    /// What the workload stands for.
    pub reference: WorkloadRef,
    /// The container port reached.
    pub container_port: Option<u16>,
    /// The server's effective mTLS at that port.
    pub mtls: EffectiveMtls,
    /// The connection's TLS outcome.
    pub connection: EndpointTls,
    /// The peer identity the server sees (SPIFFE URI), if mTLS happens.
    pub peer: Option<String>,
    /// The decision.
    pub decision: Decision,
    /// What decided.
    pub deciding: Deciding,
    /// Every CUSTOM, DENY, ALLOW and AUDIT policy that applies, in order.
    pub chain: Vec<ChainEntry>,
    /// Things assumed or worth knowing.
    pub notes: Vec<String>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The decision: the most restrictive over the destination workloads
    /// (DENY, then UNKNOWN, then ALLOW), since the load balancer may pick
    /// any of them.
    pub decision: Decision,
    /// What decided, on the first workload with that decision.
    pub deciding: Deciding,
    /// The effective mTLS mode on that workload's port.
    pub mtls: Option<MtlsMode>,
    /// The protocol the destination port is handled as.
    pub protocol: Protocol,
    /// Whether every workload gives the same answer.
    pub consistent: bool,
    /// The caller as resolved.
    pub caller: ResolvedCaller,
    /// The destination, such as `service foo/httpbin:8000`.
    pub target: String,
    /// Per workload.
    pub workloads: Vec<WorkloadVerdict>,
    /// Notes on the request as a whole.
    pub notes: Vec<String>,
}
