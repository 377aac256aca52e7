//! Istio's protocol selection for a Service port: `appProtocol` first, then
//! the `<protocol>[-<suffix>]` port name prefix, otherwise protocol sniffing.
//!
//! Follows istio/istio `pkg/config/kube/conversion.go` (`ConvertProtocol`)
//! and `pkg/config/protocol` (names compare without regard to case).
//! See <https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/>.

use std::fmt;

use serde::Serialize;

/// The protocol Istio assigns to a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PortProtocol {
    /// HTTP/1.1.
    Http,
    /// HTTP/2 (including `kubernetes.io/h2c`).
    Http2,
    /// gRPC.
    Grpc,
    /// gRPC-Web.
    GrpcWeb,
    /// TLS carrying HTTP, passed through by sidecars.
    Https,
    /// Opaque TLS.
    Tls,
    /// Opaque TCP.
    Tcp,
    /// MongoDB (TCP).
    Mongo,
    /// MySQL (TCP).
    Mysql,
    /// Redis (TCP).
    Redis,
    /// UDP, which Istio does not proxy.
    Udp,
    /// No protocol declared: the sidecar sniffs HTTP/1.1, HTTP/2 or TCP.
    Unspecified,
}

impl PortProtocol {
    /// Parses an Istio protocol name, case-insensitively.
    pub fn parse(name: &str) -> Option<PortProtocol> {
        let p = match name.to_ascii_lowercase().as_str() {
            "http" => PortProtocol::Http,
            "http2" => PortProtocol::Http2,
            "grpc" => PortProtocol::Grpc,
            "grpc-web" => PortProtocol::GrpcWeb,
            "https" => PortProtocol::Https,
            "tls" => PortProtocol::Tls,
            "tcp" => PortProtocol::Tcp,
            "mongo" => PortProtocol::Mongo,
            "mysql" => PortProtocol::Mysql,
            "redis" => PortProtocol::Redis,
            "udp" => PortProtocol::Udp,
            _ => return None,
        };
        Some(p)
    }

    /// Whether a sidecar terminates the protocol as HTTP (and can read
    /// methods, paths, hosts and headers).
    pub fn is_http(self) -> bool {
        matches!(self, Self::Http | Self::Http2 | Self::Grpc | Self::GrpcWeb)
    }

    /// Whether the sidecar handles the protocol as opaque TCP.
    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            Self::Https | Self::Tls | Self::Tcp | Self::Mongo | Self::Mysql | Self::Redis
        )
    }

    /// Istio's name for the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Http2 => "HTTP2",
            Self::Grpc => "GRPC",
            Self::GrpcWeb => "GRPC-Web",
            Self::Https => "HTTPS",
            Self::Tls => "TLS",
            Self::Tcp => "TCP",
            Self::Mongo => "Mongo",
            Self::Mysql => "MySQL",
            Self::Redis => "Redis",
            Self::Udp => "UDP",
            Self::Unspecified => "UNSPECIFIED",
        }
    }
}

impl fmt::Display for PortProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol of a Service port: its Kubernetes `protocol` (UDP is never
/// proxied), then `appProtocol`, then the name prefix before the first `-`.
pub fn port_protocol(
    name: Option<&str>,
    transport: Option<&str>,
    app_protocol: Option<&str>,
) -> PortProtocol {
    if transport.is_some_and(|t| t.eq_ignore_ascii_case("UDP")) {
        return PortProtocol::Udp;
    }
    let mut candidate = name.unwrap_or("");
    if let Some(app) = app_protocol {
        match app {
            "kubernetes.io/h2c" => return PortProtocol::Http2,
            "kubernetes.io/ws" => return PortProtocol::Http,
            "kubernetes.io/wss" => return PortProtocol::Https,
            _ => candidate = app,
        }
    }
    if candidate.to_ascii_lowercase().starts_with("grpc-web") {
        return PortProtocol::GrpcWeb;
    }
    let prefix = candidate.split('-').next().unwrap_or("");
    PortProtocol::parse(prefix).unwrap_or(PortProtocol::Unspecified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_protocols_like_istio() {
        assert_eq!(port_protocol(Some("http"), Some("TCP"), None), PortProtocol::Http);
        assert_eq!(port_protocol(Some("grpc-admin"), None, None), PortProtocol::Grpc);
        assert_eq!(port_protocol(Some("grpc-web-ui"), None, None), PortProtocol::GrpcWeb);
        assert_eq!(port_protocol(Some("HTTP2-x"), None, None), PortProtocol::Http2);
        assert_eq!(port_protocol(Some("tcp-other"), None, None), PortProtocol::Tcp);
        assert_eq!(port_protocol(Some("web"), None, None), PortProtocol::Unspecified);
        assert_eq!(port_protocol(None, None, None), PortProtocol::Unspecified);
        assert_eq!(port_protocol(Some("web"), None, Some("http")), PortProtocol::Http);
        assert_eq!(port_protocol(Some("http"), None, Some("tcp")), PortProtocol::Tcp);
        assert_eq!(port_protocol(None, None, Some("kubernetes.io/h2c")), PortProtocol::Http2);
        assert_eq!(port_protocol(Some("http"), Some("UDP"), None), PortProtocol::Udp);
        assert!(PortProtocol::Grpc.is_http() && PortProtocol::Https.is_tcp());
    }
}
