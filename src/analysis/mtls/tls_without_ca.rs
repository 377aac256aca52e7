//! `DM0304` TlsOriginationWithoutCaCertificates: a DestinationRule originates `SIMPLE` or
//! `MUTUAL` TLS without naming the CA that signs the server's certificate.
//!
//! Istio rule: IST0128 (traffic policy) and IST0129 (port-level settings), istio/istio
//! `pkg/config/analysis/analyzers/destinationrule/ca-certificates.go`; see
//! <https://istio.io/latest/docs/reference/config/analysis/ist0128/> and
//! <https://istio.io/latest/docs/ops/best-practices/security/#configure-tls-verification-in-destination-rule-when-using-tls-origination>.
//! Without `caCertificates` the proxy checks the server only against the OS CA bundle, so a
//! server with a private CA fails and any publicly signed certificate passes.
//!
//! Where docs and code differ: `credentialName` may carry the CA (`cacert` key, per the
//! `ClientTLSSettings` reference), so a rule that sets it is not reported, although istioctl's
//! analyzer looks at `caCertificates` only. Subset traffic policies are checked as well;
//! istioctl checks only the top level and its port-level settings.

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::Kind;
use crate::mesh::destination_rule::{ClientTls, TlsMode, TrafficPolicy};
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct TlsWithoutCa;

impl Analyzer for TlsWithoutCa {
    fn name(&self) -> &'static str {
        "mtls-tls-without-ca"
    }

    fn description(&self) -> &'static str {
        "TLS origination (SIMPLE, MUTUAL) without caCertificates"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::DestinationRule]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::TLS_WITHOUT_CA]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        for dr in snapshot.destination_rules() {
            let host = &dr.spec.host;
            let mut places = Vec::new();
            if let Some(policy) = &dr.spec.traffic_policy {
                collect(policy, "trafficPolicy", "", &mut places);
            }
            for (i, subset) in dr.spec.subsets.iter().enumerate() {
                if let Some(policy) = &subset.traffic_policy {
                    let path = format!("subsets[{i}].trafficPolicy");
                    collect(policy, &path, &format!(" of subset {}", subset.name), &mut places);
                }
            }
            for (path, note, mode) in places {
                let message = format!(
                    "{path}.tls.mode {mode}{note} for host {host} sets no caCertificates: the \
                     server certificate is checked only against the proxy's OS CA bundle"
                );
                let fix = format!(
                    "set {path}.tls.caCertificates to the CA file that signs {host}'s certificate \
                     (or credentialName to a Secret with a cacert key)"
                );
                out.push(finding(&codes::TLS_WITHOUT_CA, dr, message).fix(fix));
            }
        }
    }
}

/// The TLS settings of a traffic policy and its port-level entries that originate TLS without
/// a CA, as (field path, what it applies to, mode).
fn collect(
    policy: &TrafficPolicy,
    path: &str,
    note: &str,
    out: &mut Vec<(String, String, &'static str)>,
) {
    if let Some(mode) = policy.tls.as_ref().and_then(unverified) {
        out.push((path.to_string(), note.to_string(), mode));
    }
    for (i, p) in policy.port_level_settings.iter().enumerate() {
        if let Some(mode) = p.tls.as_ref().and_then(unverified) {
            let port = p.port.map(|s| format!(" on port {}", s.number)).unwrap_or_default();
            out.push((format!("{path}.portLevelSettings[{i}]"), format!("{port}{note}"), mode));
        }
    }
}

/// The mode, when TLS is originated and nothing names the CA.
fn unverified(tls: &ClientTls) -> Option<&'static str> {
    let mode = tls.mode?;
    let originates = matches!(mode, TlsMode::Simple | TlsMode::Mutual);
    let named = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    (originates && !named(&tls.ca_certificates) && !named(&tls.credential_name))
        .then(|| mode.as_str())
}
