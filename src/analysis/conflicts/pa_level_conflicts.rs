//! `peerauthentication-level-conflicts`: several mesh-wide PeerAuthentications in the root
//! namespace, or several namespace-wide ones in one namespace.
//!
//! Codes: DM0205.
//!
//! Istio rule (<https://istio.io/latest/docs/reference/config/security/peer_authentication/>,
//! istio/istio `pilot/pkg/security/authn/policy_applier.go` `ComposePeerAuthentication`): a
//! policy without a selector (or with empty `matchLabels`) is mesh-wide in the root namespace
//! (mesh config `rootNamespace`) and namespace-wide elsewhere; when a level has several, the
//! oldest (creation time, then name) is used and the others are ignored. Each ignored policy
//! is reported, naming the one used.
//!
//! Limitations: objects without a creation time (typical in files) count as oldest, ordered
//! by name, as istiod orders configs with equal timestamps.

use std::collections::BTreeMap;

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::selector::is_selectorless;
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct PeerAuthenticationLevelConflicts;

impl Analyzer for PeerAuthenticationLevelConflicts {
    fn name(&self) -> &'static str {
        "peerauthentication-level-conflicts"
    }

    fn description(&self) -> &'static str {
        "At most one mesh-wide and one namespace-wide PeerAuthentication per namespace"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::PeerAuthentication]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::PA_SAME_LEVEL_CONFLICT]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        let table = snap.peer_authentications();
        let root = snap.root_namespace();
        let mut levels: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (id, pa) in table.iter().enumerate() {
            if is_selectorless(pa.spec.selector.as_ref()) {
                levels.entry(pa.metadata.namespace.as_str()).or_default().push(id as u32);
            }
        }
        for (ns, mut ids) in levels {
            if ids.len() < 2 {
                continue;
            }
            ids.sort_by(|a, b| {
                table.at(*a).metadata.age_key().cmp(&table.at(*b).metadata.age_key())
            });
            let used = table.at(ids[0]);
            let level = if ns == root {
                "mesh-wide (root namespace)".to_string()
            } else {
                format!("namespace-wide in {ns}")
            };
            for &id in &ids[1..] {
                let pa = table.at(id);
                let message = format!(
                    "is {level}, as {} is; Istio uses the older {} (mode {}) and ignores this one \
                     (mode {})",
                    used.metadata.key(),
                    used.metadata.key(),
                    used.mode(),
                    pa.mode()
                );
                let fix = format!(
                    "Keep one policy at this level: move its settings into {} and run kubectl \
                     delete peerauthentication -n {ns} {}",
                    used.metadata.key(),
                    pa.metadata.name
                );
                out.push(finding(&codes::PA_SAME_LEVEL_CONFLICT, pa, message).fix(fix));
            }
        }
    }
}
