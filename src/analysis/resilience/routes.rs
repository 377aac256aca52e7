//! `virtualservice-retries`: the retry and timeout traps of each HTTP route.
//!
//! Codes: DM0701 (perTryTimeout × (1 + attempts) beyond the route timeout), DM0702 (the route's
//! retries can repeat POST or PATCH), DM0703 (no retries block, so a default policy retries the
//! route), DM0706 (retries without perTryTimeout). The rules are in [`super::traps`]; see
//! <https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry>.
//!
//! Limitations: routes are judged one by one, as written; a delegate VirtualService's routes
//! are judged as if they were the root's, and the root's timeout is not carried over.

use super::traps::{
    Trap, default_retries, retries_non_idempotent, retries_without_per_try_timeout, retry_budget,
    route_label,
};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::{Kind, snapshot::Snapshot};

/// The analyzer.
pub struct RouteRetries;

impl Analyzer for RouteRetries {
    fn name(&self) -> &'static str {
        "virtualservice-retries"
    }

    fn description(&self) -> &'static str {
        "HTTP routes whose retries or timeout do not do what they seem to"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::VirtualService]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[
            &codes::RETRY_BUDGET_EXCEEDS_TIMEOUT,
            &codes::RETRIES_NON_IDEMPOTENT,
            &codes::DEFAULT_RETRIES,
            &codes::RETRIES_WITHOUT_PER_TRY_TIMEOUT,
        ]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let mesh_default = snapshot.mesh().default_http_retry_policy.as_ref();
        for entry in snapshot.virtual_services().iter() {
            for (index, route) in entry.spec.http.iter().enumerate() {
                let found: [Option<Trap>; 4] = [
                    retry_budget(route, mesh_default),
                    retries_non_idempotent(route),
                    default_retries(route, mesh_default),
                    retries_without_per_try_timeout(route),
                ];
                let label = route_label(route.name.as_deref(), index);
                for trap in found.into_iter().flatten() {
                    let message = format!("{label}: {}", trap.message);
                    out.push(finding(trap.code, entry, message).fix(trap.fix));
                }
            }
        }
    }
}
