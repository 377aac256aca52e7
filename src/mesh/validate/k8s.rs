//! Kubernetes names as the API server judges them (apimachinery `util/validation`).
//!
//! Namespaces are RFC 1123 labels, most object names RFC 1123 subdomains, label keys are
//! qualified names with an optional DNS prefix, Service port names are labels and container
//! port names follow `IANA_SVC_NAME`. `--selector k=v,k2=v2` flags parse into a label map here;
//! the full selector expression language lives in [`super::selector`].

use std::collections::BTreeMap;

use super::error::{ValidationError, quoted};

/// The longest RFC 1123 label.
pub const MAX_LABEL_LEN: usize = 63;
/// The longest RFC 1123 subdomain.
pub const MAX_SUBDOMAIN_LEN: usize = 253;
/// The longest `IANA_SVC_NAME` (container port names, named target ports).
pub const MAX_PORT_NAME_LEN: usize = 15;

const LABEL_RULE: &str = "at most 63 lowercase letters, digits or '-', starting and ending with \
                          a letter or digit (RFC 1123 label)";
const SUBDOMAIN_RULE: &str = "at most 253 characters of lowercase letters, digits, '-' and '.', \
                              each dot-separated part starting and ending with a letter or digit \
                              (RFC 1123 subdomain)";
const NAME_PART_RULE: &str = "at most 63 letters, digits, '-', '_' or '.', starting and ending \
                              with a letter or digit";

/// Is `s` an RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= MAX_LABEL_LEN && is_label_shape(s, |c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// Is `s` an RFC 1123 subdomain: dot-separated labels, at most 253 characters in all.
///
/// As in apimachinery, only the whole name is length-limited, not each part.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= MAX_SUBDOMAIN_LEN
        && s.split('.').all(|p| is_label_shape(p, |c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// A non-empty run of `alnum` characters and '-', not starting or ending with '-'.
pub(crate) fn is_label_shape(s: &str, alnum: impl Fn(char) -> bool) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            first != b'-' && last != b'-' && s.chars().all(|c| c == '-' || alnum(c))
        }
        _ => false,
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`: the name part of a label key, and label values.
fn is_qualified_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Checks an RFC 1123 label (subset names, Gateway names, label-shaped names).
pub fn validate_dns1123_label(s: &str) -> Result<(), ValidationError> {
    if is_dns1123_label(s) {
        return Ok(());
    }
    Err(ValidationError::new("name", s, format!("must be {LABEL_RULE}")))
}

/// Checks an RFC 1123 subdomain (the name of most objects: Services, ServiceAccounts, Istio
/// resources).
pub fn validate_dns1123_subdomain(s: &str) -> Result<(), ValidationError> {
    if is_dns1123_subdomain(s) {
        return Ok(());
    }
    Err(ValidationError::new("name", s, format!("must be {SUBDOMAIN_RULE}")))
}

/// Checks a namespace name: an RFC 1123 label.
pub fn validate_namespace(s: &str) -> Result<(), ValidationError> {
    if is_dns1123_label(s) {
        return Ok(());
    }
    Err(ValidationError::new("namespace", s, format!("namespaces must be {LABEL_RULE}")))
}

/// Checks an object name: an RFC 1123 subdomain.
pub fn validate_object_name(s: &str) -> Result<(), ValidationError> {
    validate_dns1123_subdomain(s)
        .map_err(|_| ValidationError::new("name", s, format!("names must be {SUBDOMAIN_RULE}")))
}

/// Checks a label key: `[prefix/]name`, the prefix an RFC 1123 subdomain, the name at most 63
/// characters of letters, digits, '-', '_' and '.' starting and ending alphanumeric.
pub fn validate_label_key(s: &str) -> Result<(), ValidationError> {
    let err = |why: String| Err(ValidationError::new("label key", s, why));
    let (prefix, name) = match s.split_once('/') {
        None => (None, s),
        Some((_, rest)) if rest.contains('/') => {
            return err("a label key has at most one '/', between a DNS prefix and a name".into());
        }
        Some((prefix, name)) => (Some(prefix), name),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return err("the prefix before '/' must not be empty".into());
        }
        if !is_dns1123_subdomain(prefix) {
            return err(format!("the prefix {} must be {SUBDOMAIN_RULE}", quoted(prefix)));
        }
    }
    if name.is_empty() {
        return err("the name part must not be empty".into());
    }
    if name.len() > MAX_LABEL_LEN || !is_qualified_name_part(name) {
        return err(format!("the name part must be {NAME_PART_RULE}"));
    }
    Ok(())
}

/// Checks a label value: empty, or at most 63 characters like the name part of a key.
pub fn validate_label_value(s: &str) -> Result<(), ValidationError> {
    if s.is_empty() || (s.len() <= MAX_LABEL_LEN && is_qualified_name_part(s)) {
        return Ok(());
    }
    Err(ValidationError::new(
        "label value",
        s,
        format!("label values must be empty or {NAME_PART_RULE}"),
    ))
}

/// Parses a `k=v,k2=v2` flag into a label map (an Istio `matchLabels`).
///
/// Every pair needs exactly one `=`; keys and values follow the label rules (so no `*`, which
/// Istio's workload selectors also refuse), and a key may appear once.
pub fn parse_label_map(s: &str) -> Result<BTreeMap<String, String>, ValidationError> {
    let err = |why: String| Err(ValidationError::new("selector", s, why));
    if s.is_empty() {
        return err("give at least one key=value pair, e.g. app=reviews".into());
    }
    let mut labels = BTreeMap::new();
    for pair in s.split(',') {
        let Some((key, value)) = pair.split_once('=') else {
            return err(format!("{} is not key=value; pairs are separated by ','", quoted(pair)));
        };
        if value.contains('=') {
            return err(format!("{} has more than one '='", quoted(pair)));
        }
        if let Err(e) = validate_label_key(key) {
            return err(format!("key {}: {}", quoted(key), e.allowed()));
        }
        if let Err(e) = validate_label_value(value) {
            return err(format!("value {}: {}", quoted(value), e.allowed()));
        }
        if labels.insert(key.to_owned(), value.to_owned()).is_some() {
            return err(format!("key {} is given twice", quoted(key)));
        }
    }
    Ok(labels)
}

/// Checks a Service port name: Kubernetes validates `ServicePort.name` as an RFC 1123 label.
///
/// Istio reads the protocol from its prefix (`http-`, `grpc-`, ...); that is analysis, not
/// validity.
pub fn validate_service_port_name(s: &str) -> Result<(), ValidationError> {
    if is_dns1123_label(s) {
        return Ok(());
    }
    Err(ValidationError::new("port name", s, format!("service port names must be {LABEL_RULE}")))
}

/// Checks an `IANA_SVC_NAME` (container port names and named `targetPort`s): at most 15
/// lowercase letters, digits and '-', with at least one letter, no `--`, no '-' at either end.
pub fn validate_iana_svc_name(s: &str) -> Result<(), ValidationError> {
    let err = |why: &str| Err(ValidationError::new("port name", s, why.to_owned()));
    if s.is_empty() || s.len() > MAX_PORT_NAME_LEN {
        return err("port names must be 1 to 15 characters");
    }
    if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return err("port names may hold only lowercase letters, digits and '-'");
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return err("port names must contain at least one letter");
    }
    if s.contains("--") {
        return err("port names must not contain '--'");
    }
    if s.starts_with('-') || s.ends_with('-') {
        return err("port names must not start or end with '-'");
    }
    Ok(())
}

/// Parses a port number, 1 to 65535, written in decimal digits.
pub fn parse_port(s: &str) -> Result<u16, ValidationError> {
    let err = || ValidationError::new("port", s, "ports are whole numbers from 1 to 65535");
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    match s.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(err()),
    }
}

/// Checks a port number that arrived as an integer.
pub fn validate_port_number(n: i64) -> Result<u16, ValidationError> {
    u16::try_from(n).ok().filter(|&p| p != 0).ok_or_else(|| {
        ValidationError::new("port", &n.to_string(), "ports are whole numbers from 1 to 65535")
    })
}

/// A `NAMESPACE/NAME` reference to an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamespacedName {
    /// The namespace, an RFC 1123 label.
    pub namespace: String,
    /// The object name, an RFC 1123 subdomain.
    pub name: String,
}

impl NamespacedName {
    /// Parses `NAMESPACE/NAME`; both parts are required.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.split_once('/') {
            Some((ns, name)) => Self::from_parts(s, ns, name),
            None => Err(ValidationError::new(
                "reference",
                s,
                "references are NAMESPACE/NAME, e.g. istio-system/ingressgateway",
            )),
        }
    }

    /// Parses `NAMESPACE/NAME`, or a bare `NAME` in `default_namespace`.
    pub fn parse_or_in(s: &str, default_namespace: &str) -> Result<Self, ValidationError> {
        match s.split_once('/') {
            Some((ns, name)) => Self::from_parts(s, ns, name),
            None => Self::from_parts(s, default_namespace, s),
        }
    }

    fn from_parts(whole: &str, ns: &str, name: &str) -> Result<Self, ValidationError> {
        let err = |why: String| Err(ValidationError::new("reference", whole, why));
        if name.contains('/') {
            return err("references are NAMESPACE/NAME with a single '/'".into());
        }
        if !is_dns1123_label(ns) {
            return err(format!("namespace {} must be {LABEL_RULE}", quoted(ns)));
        }
        if !is_dns1123_subdomain(name) {
            return err(format!("name {} must be {SUBDOMAIN_RULE}", quoted(name)));
        }
        Ok(Self { namespace: ns.to_owned(), name: name.to_owned() })
    }
}

impl std::fmt::Display for NamespacedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Parses a Gateway reference for a VirtualService: `NAMESPACE/NAME` or `NAME` in
/// `default_namespace`, where Istio wants both parts to be RFC 1123 labels.
pub fn parse_gateway_ref(
    s: &str,
    default_namespace: &str,
) -> Result<NamespacedName, ValidationError> {
    let parsed = NamespacedName::parse_or_in(s, default_namespace)
        .map_err(|e| ValidationError::new("gateway", s, e.allowed().to_owned()))?;
    if !is_dns1123_label(&parsed.name) {
        return Err(ValidationError::new(
            "gateway",
            s,
            format!("gateway names must be {LABEL_RULE} (no dots)"),
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected verdicts: apimachinery util/validation (IsDNS1123Label, IsDNS1123Subdomain,
    // IsQualifiedName, IsValidLabelValue, IsValidPortName, IsValidPortNum) and core validation
    // of ServicePort.name (ValidateDNS1123Label).
    type Row = (&'static str, fn(&str) -> bool, &'static str, bool);

    #[test]
    fn names_table() {
        let long_label = "a".repeat(64);
        let rows: &[Row] = &[
            ("namespace", |s| validate_namespace(s).is_ok(), "istio-system", true),
            ("namespace", |s| validate_namespace(s).is_ok(), "a", true),
            ("namespace", |s| validate_namespace(s).is_ok(), "0abc", true),
            ("namespace", |s| validate_namespace(s).is_ok(), "Prod", false),
            ("namespace", |s| validate_namespace(s).is_ok(), "-prod", false),
            ("namespace", |s| validate_namespace(s).is_ok(), "prod-", false),
            ("namespace", |s| validate_namespace(s).is_ok(), "my.ns", false),
            ("namespace", |s| validate_namespace(s).is_ok(), "", false),
            ("name", |s| validate_object_name(s).is_ok(), "reviews.v1", true),
            ("name", |s| validate_object_name(s).is_ok(), "reviews..v1", false),
            ("name", |s| validate_object_name(s).is_ok(), "reviews_v1", false),
            ("label key", |s| validate_label_key(s).is_ok(), "app", true),
            ("label key", |s| validate_label_key(s).is_ok(), "app.kubernetes.io/name", true),
            ("label key", |s| validate_label_key(s).is_ok(), "My_Key.x", true),
            ("label key", |s| validate_label_key(s).is_ok(), "/name", false),
            ("label key", |s| validate_label_key(s).is_ok(), "a/b/c", false),
            ("label key", |s| validate_label_key(s).is_ok(), "Example.com/name", false),
            ("label key", |s| validate_label_key(s).is_ok(), "_app", false),
            ("label value", |s| validate_label_value(s).is_ok(), "", true),
            ("label value", |s| validate_label_value(s).is_ok(), "v1.2_rc-3", true),
            ("label value", |s| validate_label_value(s).is_ok(), "v1*", false),
            ("label value", |s| validate_label_value(s).is_ok(), "-v1", false),
            ("service port", |s| validate_service_port_name(s).is_ok(), "http-web", true),
            ("service port", |s| validate_service_port_name(s).is_ok(), "HTTP", false),
            ("iana", |s| validate_iana_svc_name(s).is_ok(), "http", true),
            ("iana", |s| validate_iana_svc_name(s).is_ok(), "grpc-web-port-1", true),
            ("iana", |s| validate_iana_svc_name(s).is_ok(), "grpc-web-port-10", false),
            ("iana", |s| validate_iana_svc_name(s).is_ok(), "8080", false),
            ("iana", |s| validate_iana_svc_name(s).is_ok(), "a--b", false),
            ("port", |s| parse_port(s).is_ok(), "1", true),
            ("port", |s| parse_port(s).is_ok(), "65535", true),
            ("port", |s| parse_port(s).is_ok(), "0", false),
            ("port", |s| parse_port(s).is_ok(), "65536", false),
            ("port", |s| parse_port(s).is_ok(), "+80", false),
            ("port", |s| parse_port(s).is_ok(), " 80", false),
        ];
        for (what, check, input, want) in rows {
            assert_eq!(check(input), *want, "{what} {input:?}");
        }
        assert!(validate_namespace(&long_label).is_err());
        assert!(validate_label_value(&long_label).is_err());
        assert!(validate_label_key(&format!("{}/x", "a".repeat(254))).is_err());
    }

    #[test]
    fn label_maps() {
        let m = parse_label_map("app=reviews,version=v1").unwrap();
        assert_eq!(m.get("version").map(String::as_str), Some("v1"));
        assert!(parse_label_map("app=").unwrap()["app"].is_empty());
        for bad in ["", "app", "app=a=b", "app=x,app=y", "app=*", "=v", "app=v,", "a b=c"] {
            assert!(parse_label_map(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn references() {
        let r = NamespacedName::parse("istio-system/ingress.gw").unwrap();
        assert_eq!(r.to_string(), "istio-system/ingress.gw");
        assert_eq!(NamespacedName::parse_or_in("gw", "shop").unwrap().namespace, "shop");
        for bad in ["gw", "/gw", "ns/", "ns/a/b", "NS/gw"] {
            assert!(NamespacedName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse_gateway_ref("shop/public-gw", "x").is_ok());
        assert!(parse_gateway_ref("shop/public.gw", "x").is_err());
    }
}
