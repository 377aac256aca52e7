//! Istio's enumerated fields, spelled exactly as the CRDs list them (the API server matches enum
//! values case-sensitively), and the protocol names of Gateway and ServiceEntry ports (Istio's
//! `protocol.Parse`, which ignores case).
//!
//! | field | values |
//! |---|---|
//! | AuthorizationPolicy `action` | ALLOW, DENY, AUDIT, CUSTOM |
//! | DestinationRule `trafficPolicy.tls.mode` | DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL |
//! | Gateway `servers[].tls.mode` | PASSTHROUGH, SIMPLE, MUTUAL, AUTO_PASSTHROUGH, ISTIO_MUTUAL, OPTIONAL_MUTUAL |
//! | Sidecar `outboundTrafficPolicy.mode` | REGISTRY_ONLY, ALLOW_ANY |
//! | ServiceEntry `location` | MESH_EXTERNAL, MESH_INTERNAL |
//! | ServiceEntry `resolution` | NONE, STATIC, DNS, DNS_ROUND_ROBIN, DYNAMIC_DNS |
//!
//! PeerAuthentication modes are in [`super::mtls`].

use super::error::ValidationError;
use crate::mesh::protocol::PortProtocol;

/// An Istio enum field and the values its CRD lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnumField {
    /// AuthorizationPolicy `action`.
    Action,
    /// DestinationRule `tls.mode` (client TLS).
    ClientTlsMode,
    /// Gateway `servers[].tls.mode` (server TLS).
    ServerTlsMode,
    /// Sidecar `outboundTrafficPolicy.mode`.
    OutboundTrafficMode,
    /// ServiceEntry `location`.
    Location,
    /// ServiceEntry `resolution`.
    Resolution,
}

impl EnumField {
    /// The field's name in the resource.
    pub fn name(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::ClientTlsMode | Self::ServerTlsMode | Self::OutboundTrafficMode => "mode",
            Self::Location => "location",
            Self::Resolution => "resolution",
        }
    }

    /// The values the CRD allows, in its order.
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Self::Action => &["ALLOW", "DENY", "AUDIT", "CUSTOM"],
            Self::ClientTlsMode => &["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"],
            Self::ServerTlsMode => &[
                "PASSTHROUGH",
                "SIMPLE",
                "MUTUAL",
                "AUTO_PASSTHROUGH",
                "ISTIO_MUTUAL",
                "OPTIONAL_MUTUAL",
            ],
            Self::OutboundTrafficMode => &["REGISTRY_ONLY", "ALLOW_ANY"],
            Self::Location => &["MESH_EXTERNAL", "MESH_INTERNAL"],
            Self::Resolution => &["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"],
        }
    }
}

/// Checks an enum value, spelled exactly as the CRD spells it; returns the value as listed.
pub fn parse_enum(s: &str, field: EnumField) -> Result<&'static str, ValidationError> {
    let values = field.values();
    if let Some(&v) = values.iter().find(|v| **v == s) {
        return Ok(v);
    }
    let why = match values.iter().find(|v| v.eq_ignore_ascii_case(s)) {
        Some(v) => format!("values are written in capitals: {v}"),
        None => format!("{} is one of {}", field.name(), values.join(", ")),
    };
    Err(ValidationError::new(field.name(), s, why))
}

/// The port protocols Istio's `protocol.Parse` knows, as the Gateway reference writes them.
const PROTOCOLS: &str = "HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, HTTP_PROXY, MONGO, MYSQL, REDIS, TCP, \
                         TLS or UDP";

/// Checks a Gateway or ServiceEntry port `protocol` (case does not matter).
pub fn parse_port_protocol(s: &str) -> Result<(), ValidationError> {
    if PortProtocol::parse(s).is_some() || s.eq_ignore_ascii_case("http_proxy") {
        return Ok(());
    }
    Err(ValidationError::new("protocol", s, format!("protocols are {PROTOCOLS}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected verdicts: the enums of Istio's CRDs (AuthorizationPolicy.Action,
    // ClientTLSSettings.TLSmode, ServerTLSSettings.TLSmode, OutboundTrafficPolicy.Mode,
    // ServiceEntry.Location and Resolution) and pkg/config/protocol Parse.
    #[test]
    fn enum_values_are_matched_exactly() {
        let rows: &[(&str, EnumField, bool)] = &[
            ("ALLOW", EnumField::Action, true),
            ("CUSTOM", EnumField::Action, true),
            ("PERMIT", EnumField::Action, false),
            ("allow", EnumField::Action, false),
            ("", EnumField::Action, false),
            ("ISTIO_MUTUAL", EnumField::ClientTlsMode, true),
            ("PASSTHROUGH", EnumField::ClientTlsMode, false),
            ("PASSTHROUGH", EnumField::ServerTlsMode, true),
            ("OPTIONAL_MUTUAL", EnumField::ServerTlsMode, true),
            ("DISABLE", EnumField::ServerTlsMode, false),
            ("REGISTRY_ONLY", EnumField::OutboundTrafficMode, true),
            ("MESH_INTERNAL", EnumField::Location, true),
            ("INTERNAL", EnumField::Location, false),
            ("DYNAMIC_DNS", EnumField::Resolution, true),
            ("DNS-ROUND-ROBIN", EnumField::Resolution, false),
        ];
        for (value, field, ok) in rows {
            assert_eq!(parse_enum(value, *field).is_ok(), *ok, "{field:?} {value:?}");
        }
        let e = parse_enum("deny", EnumField::Action).unwrap_err();
        assert!(e.allowed().contains("DENY"), "{e}");
        let e = parse_enum("PERMIT", EnumField::Action).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"PERMIT\" for action: action is one of ALLOW, DENY, AUDIT, CUSTOM"
        );
    }

    #[test]
    fn protocols_ignore_case() {
        for ok in ["HTTP", "https", "GRPC-WEB", "tcp", "TLS", "Mongo", "HTTP_PROXY"] {
            assert!(parse_port_protocol(ok).is_ok(), "{ok}");
        }
        for bad in ["", "HTTP3", "QUIC", "h2"] {
            assert!(parse_port_protocol(bad).is_err(), "{bad}");
        }
    }
}
