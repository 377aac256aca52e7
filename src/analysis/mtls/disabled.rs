//! `DM0307` MtlsDisabled: a PeerAuthentication makes the effective mode DISABLE for workloads
//! or ports, so traffic to them is plaintext.
//!
//! Istio rule: the effective mode of a workload port, composed from the root namespace,
//! namespace, workload and port-level policies with UNSET inheriting and the oldest policy
//! winning within a level (`authz::effective_mtls`, after istio/istio
//! `pilot/pkg/security/authn/policy_applier.go`); DISABLE accepts plaintext only
//! (<https://istio.io/latest/docs/reference/config/security/peer_authentication/>).
//!
//! Limitations: reported once per deciding policy, naming up to three workloads; gateways are
//! left out (their servers decide TLS), and so are workloads without a proxy.

use std::collections::BTreeMap;

use super::workloads::{Workloads, effective_modes, short_list};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::{MtlsDecider, MtlsMode};
use crate::mesh::Kind;
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct MtlsDisabled;

impl Analyzer for MtlsDisabled {
    fn name(&self) -> &'static str {
        "mtls-disabled"
    }

    fn description(&self) -> &'static str {
        "Workloads and ports whose effective mTLS mode is DISABLE"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::PeerAuthentication]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::MTLS_DISABLED]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let workloads = Workloads::of(snapshot);
        let mut by_policy: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for w in workloads.all.iter().filter(|w| w.has_proxy() && !w.is_gateway) {
            for (port, m) in effective_modes(snapshot, w) {
                if m.mode != MtlsMode::Disable {
                    continue;
                }
                if let MtlsDecider::Policy { id, .. } = m.decider {
                    let at =
                        port.map(|p| format!("{} port {p}", w.key())).unwrap_or_else(|| w.key());
                    by_policy.entry(id).or_default().push(at);
                }
            }
        }
        for (id, targets) in by_policy {
            let pa = snapshot.peer_authentications().at(id);
            let message = format!(
                "mTLS is DISABLE for {}: only plaintext is accepted there, without peer identity",
                short_list(&targets, 3)
            );
            let fix = format!(
                "set mtls.mode (or the portLevelMtls entry) of PeerAuthentication {} to \
                 PERMISSIVE or STRICT unless plaintext is intended",
                pa.metadata.key()
            );
            out.push(finding(&codes::MTLS_DISABLED, pa, message).fix(fix));
        }
    }
}
