//! `DM0403` AuthorizationPolicyServiceAccountNotFound: a rule names a service account that does
//! not exist in an existing namespace.
//!
//! Istio rule: a principal is the SPIFFE identity `TD/ns/NS/sa/SA` of a workload's service
//! account, and `serviceAccounts` entries are `NS/SA` or `SA` in the policy's namespace
//! (<https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source>); an
//! account no workload can run as never matches. Values of `principals`, `notPrincipals`,
//! `serviceAccounts`, `notServiceAccounts` and the `source.principal` and
//! `source.serviceAccount` conditions are checked.
//!
//! Limitations: wildcard forms and other trust domains are exempt; `default` exists in every
//! namespace; an account counts as existing when a ServiceAccount object exists or a workload
//! runs as it; namespaces where the input holds neither are not judged (and missing namespaces
//! are DM0402's).

use std::collections::{BTreeMap, BTreeSet};

use super::{closest, did_you_mean, fields, known_namespaces, local_principal};
use crate::analysis::mtls::workloads::Workloads;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::attrs::Attr;
use crate::mesh::Kind;
use crate::mesh::snapshot::{DEFAULT_SERVICE_ACCOUNT, Snapshot};

/// See the module docs.
pub struct ServiceAccountNotFound;

impl Analyzer for ServiceAccountNotFound {
    fn name(&self) -> &'static str {
        "authz-service-account-not-found"
    }

    fn description(&self) -> &'static str {
        "AuthorizationPolicy rules naming service accounts that do not exist"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy, Kind::ServiceAccount]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_SERVICE_ACCOUNT_NOT_FOUND]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let namespaces = known_namespaces(snapshot);
        let workloads = Workloads::of(snapshot);
        let mut accounts: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for sa in snapshot.service_accounts() {
            accounts.entry(&sa.metadata.namespace).or_default().insert(&sa.metadata.name);
        }
        for w in workloads.all.iter().filter(|w| !w.account_inferred) {
            accounts.entry(w.namespace).or_default().insert(w.service_account);
        }
        for ap in snapshot.authorization_policies() {
            let policy_ns = ap.metadata.namespace.as_str();
            let mut missing: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
            for (i, rule) in ap.spec.rules.iter().enumerate() {
                for field in fields(rule) {
                    for value in field.values {
                        let named = match field.attr {
                            Some(Attr::SourcePrincipal) => local_principal(snapshot, value),
                            Some(Attr::SourceServiceAccount) => {
                                Some(value.split_once('/').unwrap_or((policy_ns, value)))
                            }
                            _ => None,
                        };
                        let Some((ns, sa)) = named else { continue };
                        if sa.contains('*')
                            || sa == DEFAULT_SERVICE_ACCOUNT
                            || !namespaces.contains(ns)
                        {
                            continue;
                        }
                        let Some(known) = accounts.get(ns) else { continue };
                        if !known.contains(sa) {
                            missing.entry((ns, sa)).or_default().push(field.path(i));
                        }
                    }
                }
            }
            for ((ns, sa), paths) in missing {
                let candidates = accounts.get(ns).into_iter().flatten().copied();
                let hint = did_you_mean(closest(sa, candidates));
                let message = format!(
                    "{} names service account {ns}/{sa}, which does not exist{hint}",
                    paths.join(", ")
                );
                let fix = format!(
                    "correct the service account in {} (kubectl get serviceaccounts -n {ns}), \
                     or create it (kubectl create serviceaccount {sa} -n {ns})",
                    paths[0]
                );
                out.push(finding(&codes::AP_SERVICE_ACCOUNT_NOT_FOUND, ap, message).fix(fix));
            }
        }
    }
}
