//! The resilience family (DM0701-DM0799): retries, timeouts and outlier detection that Istio
//! accepts but that do not do what they seem to. The rules live in [`traps`], shared with the
//! warnings of `resilience`.

mod ejection;
mod routes;
mod thresholds;
pub mod traps;

pub use ejection::EjectAll;
pub use routes::RouteRetries;
pub use thresholds::GatewayErrorThreshold;
