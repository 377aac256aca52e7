//! Conflicts: objects that each make sense alone but fight with others over one gateway
//! port, host, route or workload (DM0201-DM0205). `routes` holds the match coverage rules the
//! route checks share.

mod dr_conflicts;
mod gateway_conflicts;
mod pa_level_conflicts;
mod pa_workload_conflicts;
mod routes;
mod shadowed_routes;
mod vs_gateway_merges;
mod vs_host_conflicts;

pub use dr_conflicts::DestinationRuleConflicts;
pub use gateway_conflicts::{GatewayConflicts, conflicting_servers};
pub use pa_level_conflicts::PeerAuthenticationLevelConflicts;
pub use pa_workload_conflicts::PeerAuthenticationWorkloadConflicts;
pub use shadowed_routes::ShadowedRoutes;
pub use vs_gateway_merges::VirtualServiceGatewayMerges;
pub use vs_host_conflicts::VirtualServiceHostConflicts;
