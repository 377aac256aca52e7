//! `DM0305` PortLevelMtlsWithoutSelector: a PeerAuthentication sets `portLevelMtls` but selects
//! no workload by labels.
//!
//! Istio rule: the PeerAuthentication CRD refuses it ("portLevelMtls requires selector", a CEL
//! rule on `spec`), and istiod reads port-level modes only from workload-level policies
//! (istio/istio `pilot/pkg/security/authn/policy_applier.go`, `ComposePeerAuthentication`), so
//! a mesh- or namespace-wide policy that still carries them has them ignored; see
//! <https://istio.io/latest/docs/reference/config/security/peer_authentication/>. The check is
//! the validator behind `mtls --port` (`validate::check_port_level_needs_selector`).
//!
//! Limitations: an empty `portLevelMtls: {}` reads like an absent one and is not reported.

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::Kind;
use crate::mesh::snapshot::Snapshot;
use crate::mesh::validate::check_port_level_needs_selector;

/// See the module docs.
pub struct PortLevelWithoutSelector;

impl Analyzer for PortLevelWithoutSelector {
    fn name(&self) -> &'static str {
        "mtls-port-level-without-selector"
    }

    fn description(&self) -> &'static str {
        "PeerAuthentication portLevelMtls without a workload selector"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::PeerAuthentication]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::PORT_MTLS_WITHOUT_SELECTOR]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        for pa in snapshot.peer_authentications() {
            let labels = pa.spec.selector.as_ref().map_or(0, |s| s.match_labels.len());
            let keys: Vec<&str> = pa.spec.port_level_mtls.keys().map(String::as_str).collect();
            if check_port_level_needs_selector(labels, keys.len()).is_ok() {
                continue;
            }
            let scope = if pa.metadata.namespace == snapshot.root_namespace() {
                "mesh-wide"
            } else {
                "namespace-wide"
            };
            let message = format!(
                "portLevelMtls sets ports {} on a {scope} policy with no selector: the API server \
                 rejects it and istiod ignores port-level modes without a selector",
                keys.join(", ")
            );
            let fix = "add spec.selector.matchLabels for the workload that owns these ports (e.g. \
                       app: NAME), or keep only spec.mtls in this policy"
                .to_string();
            out.push(finding(&codes::PORT_MTLS_WITHOUT_SELECTOR, pa, message).fix(fix));
        }
    }
}
