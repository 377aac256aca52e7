//! Which callers a destination can tell apart, so that one evaluation answers for many.
//!
//! The evaluator sees an identity caller through two things only: the SPIFFE identity its
//! sidecar presents (matched by the `principals`, `namespaces` and `serviceAccounts` of the
//! destination's policies, and the `source.*` conditions), and the DestinationRule its
//! namespace applies to the destination's host (which picks what the client sends). A caller
//! without a proxy presents nothing and applies no rule, so it calls as `plaintext` does.
//!
//! So, for one destination, two identities get the same answer when neither is named by an
//! exact value, their namespaces are both unnamed (or the same), and every wildcard value
//! matches both or neither: an exact principal or service account names one identity; an
//! exact namespace names one namespace, as does holding a DestinationRule for the host or
//! being listed in an `exportTo`. Wildcard values (`prefix*`, `*suffix`, and namespace values
//! Istio's regex could match elsewhere in the URI) are asked of each identity with the
//! evaluator's own matchers.

use std::collections::{BTreeSet, HashMap};

use crate::authz::matcher::is_namespace_match;
use crate::authz::rule::is_principal_with_aliases;
use crate::mesh::authorization_policy::{AuthorizationPolicy, Source};
use crate::mesh::host::{is_wildcard, resolve_host};
use crate::mesh::snapshot::Snapshot;

use super::callers::Identities;

/// A value that must be matched against each identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Wild {
    Principal(String),
    Namespace(String),
}

/// What a destination's policies say about callers.
#[derive(Debug, Clone, Default)]
pub struct Mentions {
    /// Identities named exactly: `(namespace, service account)`.
    pub identities: BTreeSet<(String, String)>,
    /// Namespaces named exactly.
    pub namespaces: BTreeSet<String>,
    pub wild: BTreeSet<Wild>,
    /// Whether a rule tests a source or remote address, which identities do not carry.
    pub addresses: bool,
}

impl Mentions {
    /// Adds what one policy's rules say about the source.
    pub fn add_policy(&mut self, policy: &AuthorizationPolicy) {
        let ns = policy.metadata.namespace.as_str();
        for rule in &policy.spec.rules {
            for source in rule.from.iter().filter_map(|f| f.source.as_ref()) {
                self.add_source(source, ns);
            }
            for c in &rule.when {
                let values = c.values.iter().chain(&c.not_values);
                match c.key.as_str() {
                    "source.principal" => values.for_each(|v| self.principal(v)),
                    "source.namespace" => values.for_each(|v| self.namespace(v)),
                    "source.serviceAccount" => values.for_each(|v| self.service_account(v, ns)),
                    "source.ip" | "remote.ip" => self.addresses = true,
                    _ => {}
                }
            }
        }
    }

    fn add_source(&mut self, s: &Source, policy_ns: &str) {
        s.principals.iter().chain(&s.not_principals).for_each(|v| self.principal(v));
        s.namespaces.iter().chain(&s.not_namespaces).for_each(|v| self.namespace(v));
        for v in s.service_accounts.iter().chain(&s.not_service_accounts) {
            self.service_account(v, policy_ns);
        }
        self.addresses |= !(s.ip_blocks.is_empty()
            && s.not_ip_blocks.is_empty()
            && s.remote_ip_blocks.is_empty()
            && s.not_remote_ip_blocks.is_empty());
    }

    /// `*` matches every identity alike; `td/ns/N/sa/S` names one (whatever the trust
    /// domain, as aliases only swap it); other exact values match no sidecar's URI.
    fn principal(&mut self, v: &str) {
        if v == "*" {
            return;
        }
        if v.contains('*') {
            self.wild.insert(Wild::Principal(v.to_string()));
            return;
        }
        if let [_, "ns", ns, "sa", sa] = v.split('/').collect::<Vec<_>>().as_slice() {
            self.identities.insert((ns.to_string(), sa.to_string()));
        }
    }

    /// Istio matches `.*/ns/<value>/.*` over the URI: a plain name matches that namespace
    /// only, unless it contains `/` or is `ns` or `sa`, which the URI holds elsewhere.
    fn namespace(&mut self, v: &str) {
        if v == "*" {
            return;
        }
        if v.contains(['*', '/']) || v == "ns" || v == "sa" {
            self.wild.insert(Wild::Namespace(v.to_string()));
            return;
        }
        self.namespaces.insert(v.to_string());
    }

    /// `ns/sa`, or `sa` in the policy's namespace; matched exactly.
    fn service_account(&mut self, v: &str, policy_ns: &str) {
        let (ns, sa) = v.split_once('/').unwrap_or((policy_ns, v));
        self.identities.insert((ns.to_string(), sa.to_string()));
    }
}

/// Which caller namespaces may apply a DestinationRule of their own to a host.
#[derive(Debug, Clone, Default)]
pub struct RuleNamespaces {
    /// Exact hosts (lower case) to the namespaces holding a rule for them.
    by_host: HashMap<String, BTreeSet<String>>,
    /// Namespaces that hold a wildcard rule or are named in an `exportTo`: each may see a
    /// rule the others do not, for any host.
    always: BTreeSet<String>,
}

impl RuleNamespaces {
    /// Indexes the DestinationRules of the Snapshot.
    pub fn of(snapshot: &Snapshot) -> RuleNamespaces {
        let mut out = RuleNamespaces::default();
        let domain = snapshot.cluster_domain();
        let named = |list: &[String]| -> Vec<String> {
            list.iter().filter(|e| !matches!(e.as_str(), "*" | "." | "~")).cloned().collect()
        };
        out.always.extend(named(&snapshot.mesh().default_destination_rule_export_to));
        for dr in snapshot.destination_rules().iter() {
            let ns = &dr.metadata.namespace;
            let host = resolve_host(&dr.spec.host, ns, domain);
            if is_wildcard(&host) {
                out.always.insert(ns.clone());
            } else {
                out.by_host.entry(host).or_default().insert(ns.clone());
            }
            out.always.extend(named(&dr.spec.export_to));
        }
        out
    }

    /// The namespaces whose callers may send differently to `host` (an FQDN).
    pub fn for_host<'a>(&'a self, host: &str) -> impl Iterator<Item = &'a String> + 'a {
        let exact = self.by_host.get(&host.to_ascii_lowercase());
        exact.into_iter().flatten().chain(&self.always)
    }
}

/// Each identity's class under a set of wildcard values: identities with the same class
/// match exactly the same values. Identities without a proxy are all class 0.
pub fn signatures(ids: &Identities, wild: &[Wild], trust_domains: &[String]) -> Vec<u32> {
    let domain = trust_domains.first().map_or("cluster.local", String::as_str);
    let mut classes: HashMap<Vec<bool>, u32> = HashMap::new();
    ids.list
        .iter()
        .map(|id| {
            if !id.proxy {
                return 0;
            }
            let uri = format!("spiffe://{domain}/ns/{}/sa/{}", id.namespace, id.service_account);
            let bits: Vec<bool> = wild
                .iter()
                .map(|w| match w {
                    Wild::Principal(v) => is_principal_with_aliases(v, &uri, trust_domains),
                    Wild::Namespace(v) => is_namespace_match(v, &uri),
                })
                .collect();
            let next = classes.len() as u32;
            *classes.entry(bits).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mentions(rules: &str) -> Mentions {
        let yaml = format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
             metadata: {{name: p, namespace: pay}}\nspec:\n  rules: {rules}\n"
        );
        let policy: AuthorizationPolicy = serde_saphyr::from_str(&yaml).unwrap();
        let mut m = Mentions::default();
        m.add_policy(&policy);
        m
    }

    #[test]
    fn exact_values_name_identities_and_namespaces() {
        let m = mentions(
            "[{from: [{source: {principals: [cluster.local/ns/shop/sa/cart, '*', odd/value], \
             namespaces: [front], notServiceAccounts: [batch, ops/cron]}}], \
             when: [{key: source.namespace, values: [audit]}]}]",
        );
        let ids: Vec<(&str, &str)> =
            m.identities.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(ids, [("ops", "cron"), ("pay", "batch"), ("shop", "cart")]);
        assert_eq!(m.namespaces.iter().collect::<Vec<_>>(), ["audit", "front"]);
        assert!(m.wild.is_empty());
        assert!(!m.addresses);
    }

    #[test]
    fn wildcards_and_ambiguous_namespaces_are_asked_per_identity() {
        let m = mentions(
            "[{from: [{source: {notPrincipals: ['cluster.local/ns/istio-system/*'], \
             namespaces: [prod-*, sa], ipBlocks: [10.0.0.0/8]}}]}]",
        );
        assert_eq!(m.wild.len(), 3);
        assert!(m.addresses);
    }

    #[test]
    fn signatures_split_only_where_a_wildcard_does() {
        let mut b = Snapshot::builder();
        let pods = ["prod-a/web", "prod-b/api", "dev/job"]
            .iter()
            .map(|p| {
                let (ns, sa) = p.split_once('/').unwrap();
                format!(
                    "apiVersion: v1\nkind: Pod\nmetadata: {{name: {sa}, namespace: {ns}, \
                     annotations: {{sidecar.istio.io/status: '{{}}'}}}}\n\
                     spec: {{serviceAccountName: {sa}, containers: [{{name: app}}]}}\n"
                )
            })
            .collect::<Vec<_>>()
            .join("---\n");
        let (_, errors) =
            crate::mesh::manifest::load_manifest(&mut b, "t.yaml", pods.as_bytes()).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let ids = Identities::of(&b.finish());
        assert_eq!(ids.list.len(), 3, "{:?}", ids.list);
        let wild = [Wild::Namespace("prod-*".into())];
        let sig = signatures(&ids, &wild, &["cluster.local".to_string()]);
        // dev/job, prod-a/web, prod-b/api
        assert_eq!(sig[1], sig[2]);
        assert_ne!(sig[0], sig[1]);
    }
}
