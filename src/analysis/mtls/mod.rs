//! The mTLS checks: the effective PeerAuthentication mode of every workload and port against
//! sidecars, DestinationRule TLS modes and selectors. One analyzer per file.

mod destination_rule_tls;
mod disabled;
mod port_level_without_selector;
mod selects_no_pods;
mod strict_without_sidecar;
mod tls_without_ca;
pub(crate) mod workloads;

use super::Analyzer;

pub use destination_rule_tls::DestinationRuleTls;
pub use disabled::MtlsDisabled;
pub use port_level_without_selector::PortLevelWithoutSelector;
pub use selects_no_pods::PeerAuthenticationSelectsNoPods;
pub(crate) use selects_no_pods::format_selector;
pub use strict_without_sidecar::StrictWithoutSidecar;
pub use tls_without_ca::TlsWithoutCa;

/// The mTLS analyzers, in code order.
pub fn analyzers() -> Vec<&'static dyn Analyzer> {
    vec![
        &StrictWithoutSidecar,
        &DestinationRuleTls,
        &TlsWithoutCa,
        &PortLevelWithoutSelector,
        &PeerAuthenticationSelectsNoPods,
        &MtlsDisabled,
    ]
}
