//! `gateway-credentials`: Gateway TLS servers whose `credentialName` names a Secret missing
//! from the namespace of the gateway pods.
//!
//! Codes: DM0109 (IST0101 "credentialName").
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/gateway/secret.go`,
//! <https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/>): the
//! gateway workload reads the Secret from its own namespace, not the Gateway's; a
//! `credentialName` of `ns/name` names a Secret in `ns`. Every namespace where selected
//! gateway pods run must hold the Secret (istioctl looks at the first pod only). Secrets are
//! read as metadata, so only their existence is checked.
//!
//! Limitations: `builtin://` and other `scheme://` credentials are skipped (a `kubernetes://`
//! prefix is read as a plain name); the `NAME-cacert` Secret of MUTUAL servers and the keys
//! inside Secrets are not checked; Gateways selecting no pods are left to DM0106.

use std::collections::BTreeSet;

use super::listed;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct GatewayCredentials;

impl Analyzer for GatewayCredentials {
    fn name(&self) -> &'static str {
        "gateway-credentials"
    }

    fn description(&self) -> &'static str {
        "Gateway TLS credentials exist in the namespace of the gateway pods"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Gateway, Kind::Pod, Kind::Secret]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::GATEWAY_CREDENTIAL_NOT_FOUND]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.gateways() {
            // An empty selector configures every gateway workload; no one namespace to check.
            if entry.spec.selector.is_empty() {
                continue;
            }
            let namespaces: BTreeSet<&str> = snap
                .pods_selected_by(None, &entry.spec.selector)
                .map(|p| snap.pods().at(p))
                .filter(|p| !p.is_finished())
                .map(|p| p.metadata.namespace.as_str())
                .collect();
            if namespaces.is_empty() {
                continue;
            }
            for (i, server) in entry.spec.servers.iter().enumerate() {
                let Some(written) = server.tls.as_ref().and_then(|t| t.credential_name.as_deref())
                else {
                    continue;
                };
                let Some((ns, name)) = credential_ref(written) else { continue };
                let missing: Vec<&str> = match ns {
                    Some(ns) => {
                        (snap.secrets().get(ns, name).is_none()).then_some(ns).into_iter().collect()
                    }
                    None => namespaces
                        .iter()
                        .copied()
                        .filter(|ns| snap.secrets().get(ns, name).is_none())
                        .collect(),
                };
                if missing.is_empty() {
                    continue;
                }
                let message = format!(
                    "spec.servers[{i}] (port {}) uses credentialName {written}, but no Secret {name} \
                     exists in namespace {}, where the gateway pods read it",
                    server.port.number,
                    listed(&missing)
                );
                let fix = format!(
                    "kubectl create -n {} secret tls {name} --cert=CERT_FILE --key=KEY_FILE",
                    missing[0]
                );
                out.push(finding(&codes::GATEWAY_CREDENTIAL_NOT_FOUND, entry, message).fix(fix));
            }
        }
    }
}

/// The Secret a `credentialName` names: `(Some(ns), name)` for `ns/name`, `(None, name)` for
/// a name in the gateway pods' namespace; `None` for credentials not kept in Secrets.
fn credential_ref(written: &str) -> Option<(Option<&str>, &str)> {
    let plain = written.strip_prefix("kubernetes://").unwrap_or(written).trim();
    if plain.is_empty() || plain.contains("://") {
        return None;
    }
    Some(match plain.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, plain),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::references::findings_of;

    #[test]
    fn gateways_without_selector_name_no_namespace() {
        let gateway = |name: &str, selector: &str| {
            format!(
                "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {name}, \
                 namespace: shop}}\nspec:\n  selector: {selector}\n  servers:\n  - port: \
                 {{number: 443, name: https, protocol: HTTPS}}\n    hosts: ['*']\n    tls: \
                 {{mode: SIMPLE, credentialName: cert}}\n---\n"
            )
        };
        let yaml = format!(
            "{}{}apiVersion: v1\nkind: Pod\nmetadata: {{name: gw, namespace: edge, labels: \
             {{istio: ingressgateway}}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: \
             {{name: other, namespace: edge}}\n",
            gateway("any", "{}"),
            gateway("ingress", "{istio: ingressgateway}")
        );
        let found: Vec<String> = findings_of(&GatewayCredentials, &yaml)
            .iter()
            .map(|f| f.resource.to_string())
            .collect();
        assert_eq!(found, ["Gateway shop/ingress"]);
    }

    #[test]
    fn credential_names_resolve_to_secrets() {
        assert_eq!(credential_ref("bookinfo-cert"), Some((None, "bookinfo-cert")));
        assert_eq!(credential_ref("kubernetes://bookinfo-cert"), Some((None, "bookinfo-cert")));
        assert_eq!(credential_ref("edge/bookinfo-cert"), Some((Some("edge"), "bookinfo-cert")));
        assert_eq!(credential_ref("builtin://"), None);
        assert_eq!(credential_ref("sds://x"), None);
        assert_eq!(credential_ref(""), None);
    }
}
