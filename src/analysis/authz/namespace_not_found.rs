//! `DM0402` AuthorizationPolicyNamespaceNotFound: a rule names a source namespace that does not
//! exist.
//!
//! Istio rule: IST0101 ReferencedResourceNotFound for `source.namespaces` and
//! `notNamespaces`, as istio/istio `pkg/config/analysis/analyzers/authz/authorizationpolicies.go`
//! checks them (<https://istio.io/latest/docs/reference/config/analysis/ist0101/>). The same
//! holds for the namespace inside a principal of this mesh's trust domains
//! (`TD/ns/NS/sa/SA`), a `NS/SA` service account, and the `source.namespace`,
//! `source.principal` and `source.serviceAccount` conditions.
//!
//! Where docs and code differ: istioctl also checks prefix and suffix forms (`prod-*`) against
//! the namespaces; wildcard forms are left alone here, since they are meant to match
//! namespaces yet to come. Principals of other trust domains name other meshes and are exempt.
//! A namespace counts as existing when a Namespace object, or any object in it, was read.

use std::collections::BTreeMap;

use super::{closest, did_you_mean, fields, known_namespaces, local_principal};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::attrs::Attr;
use crate::mesh::Kind;
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct NamespaceNotFound;

impl Analyzer for NamespaceNotFound {
    fn name(&self) -> &'static str {
        "authz-namespace-not-found"
    }

    fn description(&self) -> &'static str {
        "AuthorizationPolicy rules naming namespaces that do not exist"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy, Kind::Namespace]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_NAMESPACE_NOT_FOUND]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let known = known_namespaces(snapshot);
        for ap in snapshot.authorization_policies() {
            // Missing namespace -> where it is named, in rule order.
            let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (i, rule) in ap.spec.rules.iter().enumerate() {
                for field in fields(rule) {
                    for value in field.values {
                        let ns = match field.attr {
                            Some(Attr::SourceNamespace) => Some(value.as_str()),
                            Some(Attr::SourcePrincipal) => {
                                local_principal(snapshot, value).map(|(ns, _)| ns)
                            }
                            Some(Attr::SourceServiceAccount) => {
                                value.split_once('/').map(|(ns, _)| ns)
                            }
                            _ => None,
                        };
                        let Some(ns) = ns.filter(|ns| !ns.contains('*') && !ns.is_empty()) else {
                            continue;
                        };
                        if !known.contains(ns) {
                            missing.entry(ns).or_default().push(field.path(i));
                        }
                    }
                }
            }
            for (ns, paths) in missing {
                let hint = did_you_mean(closest(ns, known.iter().copied()));
                let message = format!(
                    "{} names namespace {ns}, which does not exist{hint}",
                    paths.join(", ")
                );
                let fix = format!(
                    "correct the namespace {ns:?} in {} (or create the namespace)",
                    paths[0]
                );
                out.push(finding(&codes::AP_NAMESPACE_NOT_FOUND, ap, message).fix(fix));
            }
        }
    }
}
