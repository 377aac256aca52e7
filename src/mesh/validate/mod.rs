//! Checks on every value a user types, made before any network call.
//!
//! Each validator applies the rule Istio's admission webhook and CRD schemas (or, for names,
//! Kubernetes' apimachinery) would apply to the same value, and fails with one
//! [`ValidationError`] that names what was checked, the value, and what is allowed. The
//! functions are pure and never panic, whatever the input.
//!
//! Callers say where a value came from with [`ResultExt::for_flag`] or
//! [`ResultExt::at_field`]; the rendered error then names that flag or field path:
//!
//! ```
//! use debatemesh::mesh::validate::{DurationField, ResultExt, parse_mesh_duration};
//!
//! let err = parse_mesh_duration("1.5ms", DurationField::PerTryTimeout)
//!     .for_flag("--per-try-timeout")
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "invalid value \"1.5ms\" for --per-try-timeout: durations must be whole milliseconds \
//!      (e.g. 1500ms or 2s)"
//! );
//! ```

pub mod authz;
pub mod duration;
mod error;
pub mod host;
pub mod http;
pub mod ip;
pub mod k8s;
pub mod mtls;
pub mod numbers;
pub mod retry;
pub mod selector;

pub use authz::{
    Peer, ServiceAccountRef, parse_authz_port, parse_method, parse_peer, parse_service_account,
    validate_authz_host, validate_authz_path, validate_condition, validate_ip_block,
    validate_namespace_match, validate_principal,
};
pub use duration::{DurationField, MeshDuration, parse_go_duration, parse_mesh_duration};
pub use error::{ResultExt, ValidationError};
pub use host::{
    GatewayHost, HostNamespace, VirtualServiceScope, parse_gateway_host,
    validate_destination_rule_host, validate_fqdn, validate_route_destination_host,
    validate_virtual_service_host, validate_wildcard_domain,
};
pub use http::{
    Redirect, RouteActions, check_redirect, check_route_actions, parse_redirect_code,
    validate_path_prefix, validate_rewrite_uri,
};
pub use ip::{IpBlock, is_ip_address, parse_ip_block};
pub use k8s::{
    NamespacedName, parse_gateway_ref, parse_label_map, parse_port, validate_iana_svc_name,
    validate_label_key, validate_label_value, validate_namespace, validate_object_name,
    validate_service_port_name,
};
pub use mtls::{MtlsMode, check_port_level_needs_selector, parse_mtls_mode, parse_port_mode};
pub use numbers::{CountField, PercentField, parse_count, parse_percent};
pub use retry::{RetryOn, RetryOnEntry, check_retry_policy, parse_attempts, parse_retry_on};
pub use selector::{Labels, Operator, Requirement, Selector};
