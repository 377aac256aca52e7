//! The authorization checks: AuthorizationPolicies against the workloads they select, the
//! identities and ports they name, and the rules istiod builds from them. One analyzer per
//! file; this module holds what they share: a walk over every value of a rule, and the
//! workloads a policy applies to.

mod allow_nothing;
mod custom_provider;
mod deny_never_matches;
mod dry_run;
mod http_fields_on_tcp;
mod identity_without_strict;
mod namespace_not_found;
mod path_without_slash;
mod selects_no_pods;
mod service_account_not_found;
mod unknown_method;

use std::collections::BTreeSet;

use super::Analyzer;
use super::mtls::workloads::Workloads;
use crate::authz::attrs::Attr;
use crate::authz::policy::is_applicable;
use crate::authz::rule::Part;
use crate::mesh::authorization_policy::{AuthorizationPolicy, Rule};
use crate::mesh::mesh_config::DEFAULT_TRUST_DOMAIN;
use crate::mesh::snapshot::{Snapshot, Workload};

pub use allow_nothing::AllowNothing;
pub use custom_provider::CustomProviderNotFound;
pub use deny_never_matches::DenyNeverMatches;
pub use dry_run::DryRun;
pub use http_fields_on_tcp::HttpFieldsOnTcp;
pub use identity_without_strict::IdentityWithoutStrict;
pub use namespace_not_found::NamespaceNotFound;
pub use path_without_slash::PathWithoutSlash;
pub use selects_no_pods::AuthorizationPolicySelectsNoPods;
pub use service_account_not_found::ServiceAccountNotFound;
pub use unknown_method::UnknownMethod;

/// The authorization analyzers, in code order.
pub fn analyzers() -> Vec<&'static dyn Analyzer> {
    vec![
        &AuthorizationPolicySelectsNoPods,
        &NamespaceNotFound,
        &ServiceAccountNotFound,
        &IdentityWithoutStrict,
        &HttpFieldsOnTcp,
        &AllowNothing,
        &PathWithoutSlash,
        &UnknownMethod,
        &DenyNeverMatches,
        &CustomProviderNotFound,
        &DryRun,
    ]
}

/// One list of values in a rule: a source or operation field, its `not` twin, or a `when`
/// condition's values or notValues.
#[derive(Debug, Clone)]
pub struct Field<'r> {
    /// Where it sits.
    pub part: Part,
    /// `principals`, `notPaths`, or the `when` key.
    pub name: String,
    /// What it matches on; `None` for a `when` key Istio does not know.
    pub attr: Option<Attr>,
    /// The values.
    pub values: &'r [String],
    /// Whether these are `not` values.
    pub negated: bool,
}

impl Field<'_> {
    /// `rules[0].from[1].source.principals` or `rules[0].when[0] (source.namespace)`.
    pub fn path(&self, rule: usize) -> String {
        match self.part {
            Part::When(_) => format!("rules[{rule}].{} {}", self.part, self.name),
            _ => format!("rules[{rule}].{}.{}", self.part, self.name),
        }
    }
}

/// Every non-empty list of values in a rule, in field order.
pub fn fields(rule: &Rule) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut push = |part, name: &str, attr, values, negated| {
        push_field(&mut out, part, name, attr, values, negated);
    };
    for (i, f) in rule.from.iter().enumerate() {
        let Some(s) = &f.source else { continue };
        let p = Part::From(i);
        push(p, "principals", Some(Attr::SourcePrincipal), &s.principals, false);
        push(p, "notPrincipals", Some(Attr::SourcePrincipal), &s.not_principals, true);
        push(p, "requestPrincipals", Some(Attr::RequestPrincipal), &s.request_principals, false);
        let not_rp = &s.not_request_principals;
        push(p, "notRequestPrincipals", Some(Attr::RequestPrincipal), not_rp, true);
        push(p, "namespaces", Some(Attr::SourceNamespace), &s.namespaces, false);
        push(p, "notNamespaces", Some(Attr::SourceNamespace), &s.not_namespaces, true);
        push(p, "serviceAccounts", Some(Attr::SourceServiceAccount), &s.service_accounts, false);
        let not_sa = &s.not_service_accounts;
        push(p, "notServiceAccounts", Some(Attr::SourceServiceAccount), not_sa, true);
        push(p, "ipBlocks", Some(Attr::SourceIp), &s.ip_blocks, false);
        push(p, "notIpBlocks", Some(Attr::SourceIp), &s.not_ip_blocks, true);
        push(p, "remoteIpBlocks", Some(Attr::RemoteIp), &s.remote_ip_blocks, false);
        push(p, "notRemoteIpBlocks", Some(Attr::RemoteIp), &s.not_remote_ip_blocks, true);
    }
    for (i, t) in rule.to.iter().enumerate() {
        let Some(o) = &t.operation else { continue };
        let p = Part::To(i);
        push(p, "hosts", Some(Attr::Host), &o.hosts, false);
        push(p, "notHosts", Some(Attr::Host), &o.not_hosts, true);
        push(p, "ports", Some(Attr::DestinationPort), &o.ports, false);
        push(p, "notPorts", Some(Attr::DestinationPort), &o.not_ports, true);
        push(p, "methods", Some(Attr::Method), &o.methods, false);
        push(p, "notMethods", Some(Attr::Method), &o.not_methods, true);
        push(p, "paths", Some(Attr::Path), &o.paths, false);
        push(p, "notPaths", Some(Attr::Path), &o.not_paths, true);
    }
    for (i, c) in rule.when.iter().enumerate() {
        let attr = Attr::of_when_key(&c.key);
        push(Part::When(i), &c.key, attr.clone(), &c.values, false);
        push(Part::When(i), &c.key, attr, &c.not_values, true);
    }
    out
}

fn push_field<'r>(
    out: &mut Vec<Field<'r>>,
    part: Part,
    name: &str,
    attr: Option<Attr>,
    values: &'r [String],
    negated: bool,
) {
    if !values.is_empty() {
        out.push(Field { part, name: name.to_string(), attr, values, negated });
    }
}

/// The workloads a policy applies to, with or without a proxy.
pub fn applicable<'w, 'a>(
    snapshot: &Snapshot,
    workloads: &'w Workloads<'a>,
    policy: &AuthorizationPolicy,
) -> Vec<&'w Workload<'a>> {
    workloads
        .in_scope(snapshot, &policy.metadata.namespace)
        .filter(|w| is_applicable(snapshot, policy, w))
        .collect()
}

/// A principal value as `(namespace, service account)` when it is the exact
/// `TRUST_DOMAIN/ns/NS/sa/SA` form of this mesh (its trust domain, an alias, or
/// `cluster.local`); other trust domains and wildcard forms give `None`.
pub fn local_principal<'v>(snapshot: &Snapshot, value: &'v str) -> Option<(&'v str, &'v str)> {
    if value.contains('*') {
        return None;
    }
    let parts: Vec<&str> = value.split('/').collect();
    let [td, "ns", ns, "sa", sa] = parts.as_slice() else { return None };
    let mesh = snapshot.mesh();
    let known = *td == DEFAULT_TRUST_DOMAIN || mesh.trust_domains().contains(td);
    known.then_some((ns, sa))
}

/// Namespaces the Snapshot knows: Namespace objects, and namespaces that hold any object a
/// policy can refer to (manifest files often leave the Namespace out).
pub fn known_namespaces(snapshot: &Snapshot) -> BTreeSet<&str> {
    let mut out: BTreeSet<&str> =
        snapshot.namespaces().iter().map(|n| n.metadata.name.as_str()).collect();
    out.extend(snapshot.pods().namespaces());
    out.extend(snapshot.services().namespaces());
    out.extend(snapshot.service_accounts().namespaces());
    out.extend(snapshot.deployments().namespaces());
    out.extend(snapshot.stateful_sets().namespaces());
    out.extend(snapshot.daemon_sets().namespaces());
    out
}

/// The closest of `candidates` to `value` by edit distance, when it is close enough to be a
/// likely typo.
pub fn closest<'c>(value: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (value.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(value, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

/// `; did you mean "x"?` or nothing.
pub fn did_you_mean(closest: Option<&str>) -> String {
    closest.map(|c| format!("; did you mean {c:?}?")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_found_within_a_third_of_the_length() {
        let names = ["shop", "payments", "default"];
        assert_eq!(closest("paymnets", names), Some("payments"));
        assert_eq!(closest("shopp", names), Some("shop"));
        assert_eq!(closest("billing", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
