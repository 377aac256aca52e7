//! `destinationrule-hosts`: DestinationRules whose host matches no Service or ServiceEntry,
//! so they apply to nothing.
//!
//! Codes: DM0110 (istioctl reports the same as IST0172, UnknownDestinationRuleHost).
//!
//! Istio rule (istio/istio `pkg/config/analysis/analyzers/destinationrule/subset.go` and
//! `pkg/config/analysis/analyzers/util/service_lookup.go`;
//! <https://istio.io/latest/docs/reference/config/networking/destination-rule/#DestinationRule>):
//! the host is resolved in the rule's namespace (a short name becomes
//! `name.<namespace>.svc.<domain>`) and must be a Service or ServiceEntry host, or covered by
//! a wildcard ServiceEntry host; a wildcard rule host must cover at least one such host.
//!
//! Limitations: visibility (`exportTo`) of the matched host is not considered; a rule for a
//! host that exists but is not visible to any of its clients is not reported.

use super::registry::Registry;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::host::{is_wildcard, resolve_host};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct DestinationRuleHosts;

impl Analyzer for DestinationRuleHosts {
    fn name(&self) -> &'static str {
        "destinationrule-hosts"
    }

    fn description(&self) -> &'static str {
        "DestinationRule hosts match a Service or ServiceEntry"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::DestinationRule, Kind::Service, Kind::ServiceEntry]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::DR_HOST_NOT_FOUND]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let registry = Registry::new(snap);
        let domain = snap.cluster_domain();
        for entry in snap.destination_rules() {
            let ns = entry.metadata.namespace.as_str();
            let written = entry.spec.host.trim();
            let host = resolve_host(written, ns, domain);
            if host.is_empty() || host == "*" || registry.matches_any(&host) {
                continue;
            }
            let what = if is_wildcard(&host) { "covers no" } else { "is no" };
            let message = format!(
                "host {written} (resolved in namespace {ns} to {host}) {what} Service or \
                 ServiceEntry host, so the rule applies to nothing"
            );
            let fix = format!(
                "Set spec.host to the Service's host (NAME.NAMESPACE.svc.{domain} for a Service \
                 in another namespace), or create the Service or a ServiceEntry for {host}"
            );
            out.push(finding(&codes::DR_HOST_NOT_FOUND, entry, message).fix(fix));
        }
    }
}
