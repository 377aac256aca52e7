//! `destinationrule-gateway-errors`: a `consecutiveGatewayErrors` that can never eject.
//!
//! Code: DM0705. Gateway errors (502, 503, 504) are 5xx errors too, so when
//! `consecutiveGatewayErrors` is not below `consecutive5xxErrors` (5 unless set), the 5xx
//! counter always reaches its limit first; Istio's API reference says so in as many words
//! (<https://istio.io/latest/docs/reference/config/networking/destination-rule/#OutlierDetection>).
//!
//! Limitations: the deprecated `consecutiveErrors` field is not considered.

use super::traps::{gateway_errors_no_effect, outlier_blocks};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::{Kind, snapshot::Snapshot};

/// The analyzer.
pub struct GatewayErrorThreshold;

impl Analyzer for GatewayErrorThreshold {
    fn name(&self) -> &'static str {
        "destinationrule-gateway-errors"
    }

    fn description(&self) -> &'static str {
        "consecutiveGatewayErrors at or above consecutive5xxErrors, which never ejects"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::DestinationRule]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::GATEWAY_ERRORS_NO_EFFECT]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snapshot.destination_rules().iter() {
            for (scope, outlier, _) in outlier_blocks(&entry.spec) {
                if let Some(trap) = gateway_errors_no_effect(outlier) {
                    let message = format!("{scope}: {}", trap.message);
                    out.push(finding(trap.code, entry, message).fix(trap.fix));
                }
            }
        }
    }
}
