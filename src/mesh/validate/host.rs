//! Istio host names, judged as Istio's `ValidateFQDN`, `ValidateWildcardDomain` and the Gateway
//! and Sidecar `namespace/host` validation judge them.
//!
//! A host is at most 255 characters of dot-separated labels (letters of either case, digits,
//! '-', at most 63 each); a trailing dot is allowed and the last label must not be all digits.
//! Only the first label may carry a wildcard: `*` alone, or `*` or `*-` before an ordinary label
//! (`*.example.com`, `*-api.example.com`). There is never a port or a scheme.
//!
//! - VirtualService `hosts`: wildcard domains, short names (`reviews`) and IP addresses; `*`
//!   only when the VirtualService is bound to gateways, not to the mesh.
//! - DestinationRule `host`: a wildcard domain (short names allowed, no IP exemption).
//! - Route destinations: a wildcard domain other than `*`.
//! - Gateway `servers[].hosts`: `[namespace/]host`, the namespace `*`, `.` or a label, the host
//!   fully qualified (it must contain a dot), `*`, or an IP address, and a wildcard only as a
//!   whole leading `*.` label.

use super::error::{ValidationError, quoted};
use super::ip::is_ip_address;
use super::k8s::{MAX_LABEL_LEN, is_dns1123_label, is_label_shape};

/// The longest host name Istio accepts.
pub const MAX_HOST_LEN: usize = 255;

/// Is `s` a DNS label as Istio reads it: letters of either case, digits and '-', at most 63.
fn is_istio_label(s: &str) -> bool {
    s.len() <= MAX_LABEL_LEN && is_label_shape(s, |c| c.is_ascii_alphanumeric())
}

/// `*`, or an Istio label optionally preceded by `*` or `*-`.
fn is_wildcard_label(s: &str) -> bool {
    if s.len() > MAX_LABEL_LEN {
        return false;
    }
    if s == "*" || is_istio_label(s) {
        return true;
    }
    let rest = s.strip_prefix("*-").filter(|r| is_istio_label(r));
    rest.is_some() || s.strip_prefix('*').is_some_and(is_istio_label)
}

/// A clause that points at the usual mistake in a rejected host, if there is one.
fn hint(s: &str) -> Option<&'static str> {
    if s.contains("://") {
        Some("hosts are names, not URLs: drop the scheme")
    } else if s.contains('/') {
        Some("hosts are names, not URLs: drop the path")
    } else if s.contains(':') && !is_ip_address(s) {
        Some("hosts take no port: drop the ':' and what follows")
    } else if s.chars().any(char::is_whitespace) {
        Some("hosts must not contain spaces")
    } else {
        None
    }
}

fn host_error(s: &str, why: String) -> ValidationError {
    match hint(s) {
        Some(h) => ValidationError::new("host", s, h),
        None => ValidationError::new("host", s, why),
    }
}

fn check_length(s: &str) -> Result<(), ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::new("host", s, "hosts must not be empty"));
    }
    if s.len() > MAX_HOST_LEN {
        return Err(ValidationError::new("host", s, "hosts must be at most 255 characters"));
    }
    Ok(())
}

/// Istio's `ValidateDNS1123Labels` on the labels after any wildcard.
fn check_labels(whole: &str, domain: &str) -> Result<(), ValidationError> {
    let parts: Vec<&str> = domain.split('.').collect();
    let last = parts.len() - 1;
    if parts[last].parse::<i64>().is_ok() {
        let why = format!("the last label {} must not be all digits", quoted(parts[last]));
        return Err(host_error(whole, why));
    }
    for (i, label) in parts.iter().enumerate() {
        // A trailing dot, as in `istio.io.`, leaves an empty last label.
        if i == last && label.is_empty() {
            break;
        }
        if !is_istio_label(label) {
            let why = format!(
                "label {} must be 1 to 63 letters, digits or '-', starting and ending with a \
                 letter or digit",
                quoted(label)
            );
            return Err(host_error(whole, why));
        }
    }
    Ok(())
}

/// Checks a fully qualified domain name with no wildcard (Istio `ValidateFQDN`).
pub fn validate_fqdn(s: &str) -> Result<(), ValidationError> {
    check_length(s)?;
    check_labels(s, s)
}

/// Checks a domain that may start with a wildcard label (Istio `ValidateWildcardDomain`).
pub fn validate_wildcard_domain(s: &str) -> Result<(), ValidationError> {
    check_length(s)?;
    let (first, rest) = match s.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (s, None),
    };
    if !is_wildcard_label(first) {
        let why = format!(
            "the first label {} must be a DNS label, '*', or '*' or '*-' before a DNS label \
             (e.g. *.example.com); wildcards go only at the start",
            quoted(first)
        );
        return Err(host_error(s, why));
    }
    match rest {
        Some(rest) => check_labels(s, rest),
        None => Ok(()),
    }
}

/// What a VirtualService's `gateways` field binds it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualServiceScope {
    /// No gateways, or the reserved `mesh` among them: sidecars use the routes.
    Mesh,
    /// Only named gateways.
    Gateway,
}

/// Checks one of a VirtualService's `hosts`.
pub fn validate_virtual_service_host(
    s: &str,
    scope: VirtualServiceScope,
) -> Result<(), ValidationError> {
    if let Err(e) = validate_wildcard_domain(s) {
        // Istio lets IP addresses through here.
        return if is_ip_address(s) { Ok(()) } else { Err(e) };
    }
    if scope == VirtualServiceScope::Mesh && s == "*" {
        return Err(ValidationError::new(
            "host",
            s,
            "the host '*' is allowed only for virtual services bound to gateways, not the mesh",
        ));
    }
    Ok(())
}

/// Checks a DestinationRule's `host`.
pub fn validate_destination_rule_host(s: &str) -> Result<(), ValidationError> {
    validate_wildcard_domain(s)
}

/// Checks a route destination's `host` (VirtualService `route[].destination.host`).
pub fn validate_route_destination_host(s: &str) -> Result<(), ValidationError> {
    if s == "*" {
        return Err(ValidationError::new("host", s, "a route destination cannot be '*'"));
    }
    validate_wildcard_domain(s)
}

/// The namespace part of a Gateway server host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostNamespace {
    /// `*/host`: VirtualServices in any namespace.
    Any,
    /// `./host`: VirtualServices in the Gateway's own namespace.
    Same,
    /// `ns/host`: VirtualServices in that namespace.
    Named(String),
}

/// A Gateway server host, `[namespace/]host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayHost {
    /// The namespace part, when one was given.
    pub namespace: Option<HostNamespace>,
    /// The host part.
    pub host: String,
}

/// Parses one of a Gateway server's `hosts` (Istio `ValidateNamespaceSlashWildcardHostname`
/// for gateways).
///
/// The namespace `~` is refused: Istio allows it only on Gateways it derives from the
/// Gateway API itself.
pub fn parse_gateway_host(s: &str) -> Result<GatewayHost, ValidationError> {
    let Some((ns, host)) = s.split_once('/') else {
        check_gateway_hostname(s, s)?;
        return Ok(GatewayHost { namespace: None, host: s.to_owned() });
    };
    let err = |why: String| Err(ValidationError::new("host", s, why));
    if ns.is_empty() || host.is_empty() {
        return err("gateway hosts are [namespace/]host, with neither part empty".into());
    }
    let namespace = match ns {
        "*" => HostNamespace::Any,
        "." => HostNamespace::Same,
        "~" => {
            return err("the namespace '~' is only for gateways made from the Gateway API".into());
        }
        _ if is_istio_label(ns) => HostNamespace::Named(ns.to_owned()),
        _ => return err(format!("namespace {} must be '*', '.' or a namespace name", quoted(ns))),
    };
    check_gateway_hostname(s, host)?;
    Ok(GatewayHost { namespace: Some(namespace), host: host.to_owned() })
}

/// Checks one of a ServiceEntry's `hosts`: a wildcard domain other than `*` (Istio
/// `ValidateServiceEntry`).
pub fn validate_service_entry_host(s: &str) -> Result<(), ValidationError> {
    if s == "*" {
        return Err(ValidationError::new(
            "host",
            s,
            "a ServiceEntry cannot take every host '*'; name the hosts, e.g. *.example.com",
        ));
    }
    validate_wildcard_domain(s)
}

/// Checks one of a Sidecar's `egress[].hosts`: `namespace/host`, the namespace `*`, `.`, `~` or a
/// namespace name, the host `*` or a fully qualified (wildcard) domain (Istio
/// `validateNamespaceSlashWildcardHostname` for sidecars).
pub fn validate_sidecar_host(s: &str) -> Result<(), ValidationError> {
    let err = |why: String| Err(ValidationError::new("host", s, why));
    let Some((ns, host)) = s.split_once('/') else {
        return err(
            "sidecar hosts are namespace/host, e.g. ./*.example.com or istio-system/*".into()
        );
    };
    if ns.is_empty() || host.is_empty() {
        return err("sidecar hosts are namespace/host, with neither part empty".into());
    }
    if !matches!(ns, "*" | "." | "~") && !is_dns1123_label(ns) {
        return err(format!("namespace {} must be '*', '.', '~' or a namespace name", quoted(ns)));
    }
    if host != "*" && !host.contains('.') {
        return err("hosts must be fully qualified (e.g. reviews.prod.svc.cluster.local or \
                    *.example.com), not short names"
            .into());
    }
    validate_wildcard_domain(host).map_err(|e| ValidationError::new("host", s, e.allowed()))
}

/// Istio's `validateSidecarOrGatewayHostnamePart` for gateways.
fn check_gateway_hostname(whole: &str, host: &str) -> Result<(), ValidationError> {
    let err = |why: String| Err(ValidationError::new("host", whole, why));
    if host != "*" && !host.contains('.') {
        return err("gateway hosts must be fully qualified (e.g. reviews.example.com or \
                    *.example.com), not short names"
            .into());
    }
    if let Err(e) = validate_wildcard_domain(host)
        && !is_ip_address(host)
    {
        return err(e.allowed().to_owned());
    }
    if host.contains('*') && host != "*" && !host.starts_with("*.") {
        return err(
            "gateway hosts allow a wildcard only as a whole first label, e.g. *.example.com".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use VirtualServiceScope::{Gateway, Mesh};

    // Expected verdicts: istio pkg/config/validation/agent ValidateFQDN, ValidateWildcardDomain,
    // ValidateNamespaceSlashWildcardHostname and the VirtualService host rules in
    // ValidateVirtualService (IP exemption, '*' refused for the mesh).
    #[test]
    fn virtual_service_hosts() {
        let rows: &[(&str, VirtualServiceScope, bool)] = &[
            ("reviews", Mesh, true),
            ("reviews.prod.svc.cluster.local", Mesh, true),
            ("Reviews.Example.COM", Mesh, true),
            ("istio.io.", Mesh, true),
            ("*.example.com", Gateway, true),
            ("*-api.example.com", Gateway, true),
            ("*api.example.com", Gateway, true),
            ("*", Gateway, true),
            ("*", Mesh, false),
            ("10.0.0.1", Mesh, true),
            ("2001:db8::1", Mesh, true),
            ("foo.*.com", Gateway, false),
            ("**.example.com", Gateway, false),
            ("example.com:80", Gateway, false),
            ("https://example.com", Gateway, false),
            ("example..com", Mesh, false),
            ("-bad.example.com", Mesh, false),
            ("foo_bar.example.com", Mesh, false),
            ("example.123", Mesh, false),
            ("", Mesh, false),
        ];
        for (host, scope, want) in rows {
            assert_eq!(validate_virtual_service_host(host, *scope).is_ok(), *want, "{host:?}");
        }
        let long = format!("{}.com", vec!["a".repeat(63); 4].join("."));
        assert!(long.len() > 255 && validate_fqdn(&long).is_err());
        assert!(validate_wildcard_domain(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn destination_hosts() {
        assert!(validate_destination_rule_host("reviews.prod.svc.cluster.local").is_ok());
        assert!(validate_destination_rule_host("*.example.com").is_ok());
        assert!(validate_destination_rule_host("10.0.0.1").is_err());
        assert!(validate_route_destination_host("*").is_err());
        assert!(validate_service_entry_host("*").is_err());
        assert!(validate_service_entry_host("*.example.com").is_ok());
        assert!(validate_service_entry_host("bad_host!").is_err());
        assert!(validate_fqdn("*.example.com").is_err());
    }

    #[test]
    fn gateway_hosts() {
        let rows: &[(&str, bool)] = &[
            ("bookinfo.example.com", true),
            ("*.example.com", true),
            ("*", true),
            ("prod/bookinfo.example.com", true),
            ("*/bookinfo.example.com", true),
            ("./*.example.com", true),
            ("*/*", true),
            ("10.0.0.1", true),
            ("bookinfo", false),
            ("prod/bookinfo", false),
            ("~/bookinfo.example.com", false),
            ("/bookinfo.example.com", false),
            ("prod/", false),
            ("*-api.example.com", false),
            ("prod_ns/a.example.com", false),
            ("a.example.com:443", false),
        ];
        for (host, want) in rows {
            assert_eq!(parse_gateway_host(host).is_ok(), *want, "{host:?}");
        }
        let parsed = parse_gateway_host("./*.example.com").unwrap();
        assert_eq!(parsed.namespace, Some(HostNamespace::Same));
    }

    #[test]
    fn sidecar_hosts() {
        let rows: &[(&str, bool)] = &[
            ("./*", true),
            ("istio-system/*", true),
            ("*/reviews.prod.svc.cluster.local", true),
            ("~/*", true),
            ("prod/*.example.com", true),
            ("reviews.prod.svc.cluster.local", false),
            ("prod/reviews", false),
            ("Prod/*", false),
            ("/*", false),
            ("prod/foo.*.com", false),
        ];
        for (host, want) in rows {
            assert_eq!(validate_sidecar_host(host).is_ok(), *want, "{host:?}");
        }
    }

    #[test]
    fn hints_name_the_mistake() {
        let e = validate_virtual_service_host("example.com:80", Gateway).unwrap_err();
        assert!(e.allowed().contains("no port"), "{e}");
        let e = validate_virtual_service_host("https://example.com", Gateway).unwrap_err();
        assert!(e.allowed().contains("scheme"), "{e}");
    }
}
