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
pub mod enums;
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
pub use enums::{EnumField, parse_enum, parse_port_protocol};
pub use error::{ResultExt, ValidationError};
pub use host::{
    GatewayHost, HostNamespace, VirtualServiceScope, parse_gateway_host,
    validate_destination_rule_host, validate_fqdn, validate_route_destination_host,
    validate_service_entry_host, validate_sidecar_host, validate_virtual_service_host,
    validate_wildcard_domain,
};
pub use http::{
    Redirect, RouteActions, check_redirect, check_route_actions, parse_header, parse_redirect_code,
    validate_path_prefix, validate_request_path, validate_rewrite_uri,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs every validator on one input and returns the errors it produced.
    fn all_errors(s: &str) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let mut keep = |r: Result<(), ValidationError>| errors.extend(r.err());
        keep(validate_namespace(s));
        keep(validate_object_name(s));
        keep(validate_label_key(s));
        keep(validate_label_value(s));
        keep(parse_label_map(s).map(|_| ()));
        keep(validate_service_port_name(s));
        keep(validate_iana_svc_name(s));
        keep(parse_port(s).map(|_| ()));
        keep(NamespacedName::parse(s).map(|_| ()));
        keep(parse_gateway_ref(s, "default").map(|_| ()));
        keep(Selector::parse(s).map(|_| ()));
        keep(validate_fqdn(s));
        keep(validate_wildcard_domain(s));
        keep(validate_virtual_service_host(s, VirtualServiceScope::Mesh));
        keep(validate_destination_rule_host(s));
        keep(parse_gateway_host(s).map(|_| ()));
        keep(validate_sidecar_host(s));
        keep(validate_service_entry_host(s));
        keep(parse_enum(s, EnumField::Action).map(|_| ()));
        keep(parse_port_protocol(s));
        keep(parse_ip_block(s).map(|_| ()));
        keep(parse_go_duration(s).map(|_| ()));
        keep(parse_mesh_duration(s, DurationField::PerTryTimeout).map(|_| ()));
        keep(parse_attempts(s).map(|_| ()));
        keep(parse_retry_on(s).map(|_| ()));
        keep(parse_percent(s, PercentField::MaxEjectionPercent).map(|_| ()));
        keep(parse_count(s, CountField::Consecutive5xxErrors).map(|_| ()));
        keep(validate_principal(s));
        keep(validate_namespace_match(s));
        keep(parse_service_account(s).map(|_| ()));
        keep(parse_method(s).map(|_| ()));
        keep(validate_authz_path(s));
        keep(parse_authz_port(s).map(|_| ()));
        keep(validate_authz_host(s));
        keep(validate_condition(s, &[s], &[]));
        keep(parse_peer(s).map(|_| ()));
        keep(parse_mtls_mode(s).map(|_| ()));
        keep(parse_port_mode(s).map(|_| ()));
        keep(validate_path_prefix(s));
        keep(validate_rewrite_uri(s));
        keep(validate_request_path(s));
        keep(parse_header(s).map(|_| ()));
        keep(parse_redirect_code(s).map(|_| ()));
        errors
    }

    /// Inputs a fuzzer would find: odd characters, multi-byte text, huge and empty values.
    fn awkward_inputs() -> Vec<String> {
        let mut inputs: Vec<String> = [
            "",
            " ",
            "*",
            "**",
            "/",
            "//",
            "{",
            "}",
            "{**}",
            "=",
            "!",
            "!=",
            "(",
            ")",
            ",",
            ".",
            "-",
            "+",
            "%",
            "\0",
            "\n",
            "\u{b5}",
            "\u{3bc}s",
            "é.example.com",
            "1\u{3bc}s",
            "-9223372036854775809ns",
            "99999999999999999999",
            "a=b,c",
            "x in (",
            "::",
            "1.2.3.4/",
            "[::1]:80",
            "*.*",
            "ns/",
            "sa//",
            "\u{1f600}",
            "a\u{301}",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        inputs.push("a".repeat(100_000));
        inputs.push("é".repeat(5_000));
        inputs.push(format!("{}.com", "a.".repeat(200)));
        // A fixed pseudo-random walk over an alphabet of awkward characters.
        let alphabet: Vec<char> =
            "aZ09-_.*/:=!,()<>{}%?# \t\u{b5}\u{3bc}é\u{1f600}\0sm".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 59) as usize;
            let s: String = (0..len)
                .map(|i| {
                    let pick = (state >> ((i * 7) % 57)) as usize % alphabet.len();
                    alphabet[pick]
                })
                .collect();
            inputs.push(s);
        }
        inputs
    }

    #[test]
    fn no_input_panics_and_every_error_is_one_short_lowercase_line() {
        for input in awkward_inputs() {
            for err in all_errors(&input) {
                let line = err.to_string();
                assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
                assert!(line.chars().count() < 1_200, "{} chars: {line}", line.len());
                assert!(!line.ends_with('.'), "{line}");
                let first = err.allowed().chars().next().unwrap_or('x');
                assert!(!first.is_uppercase(), "{line}");
                assert!(err.value().chars().count() <= 100, "{line}");
            }
        }
    }
}
