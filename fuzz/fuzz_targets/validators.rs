//! Fuzzes every validator with the same text: each must accept or reject it with an error, and
//! an error message must stay one line and bounded, never a panic.
#![no_main]

use debatemesh::mesh::validate::{self as v, DurationField, ValidationError};
use libfuzzer_sys::fuzz_target;

fn check<T>(result: Result<T, ValidationError>) {
    if let Err(e) = result {
        let text = e.to_string();
        assert!(!text.contains('\n'), "one line: {text:?}");
        assert!(text.len() < 2_000, "bounded: {} bytes", text.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    check(v::validate_namespace(s));
    check(v::validate_object_name(s));
    check(v::validate_label_key(s));
    check(v::validate_label_value(s));
    check(v::parse_label_map(s));
    check(v::validate_service_port_name(s));
    check(v::parse_port(s));
    check(v::parse_gateway_ref(s, "default"));
    check(v::validate_fqdn(s));
    check(v::validate_wildcard_domain(s));
    check(v::validate_virtual_service_host(s, v::VirtualServiceScope::Mesh));
    check(v::validate_virtual_service_host(s, v::VirtualServiceScope::Gateway));
    check(v::validate_destination_rule_host(s));
    check(v::parse_gateway_host(s));
    check(v::parse_ip_block(s));
    check(v::parse_go_duration(s));
    for field in DurationField::ALL {
        check(v::parse_mesh_duration(s, field));
    }
    check(v::parse_attempts(s));
    check(v::parse_retry_on(s));
    check(v::parse_percent(s, v::PercentField::MaxEjectionPercent));
    check(v::parse_count(s, v::CountField::MaxConnections));
    check(v::validate_principal(s));
    check(v::validate_namespace_match(s));
    check(v::parse_service_account(s));
    check(v::parse_method(s));
    check(v::validate_authz_path(s));
    check(v::parse_authz_port(s));
    check(v::validate_authz_host(s));
    check(v::validate_ip_block(s));
    check(v::parse_peer(s));
    check(v::parse_mtls_mode(s));
    check(v::parse_port_mode(s));
    check(v::validate_path_prefix(s));
    check(v::validate_rewrite_uri(s));
    if let Ok(selector) = v::Selector::parse(s) {
        let _ = selector.to_string();
    }
});
