//! The attributes Istio's rules match on: the `Source`, `Operation` and
//! `when` keys, which are HTTP-only, and how a value is checked the way
//! istiod's generators check it.
//!
//! Keys and generators follow istio/istio
//! `pilot/pkg/security/authz/model/model.go` and `generator.go`.

use std::fmt;

use super::matcher::{Cidr, parse_port};

/// An attribute a rule condition tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    /// `principals` / `source.principal`: the peer certificate identity.
    SourcePrincipal,
    /// `requestPrincipals` / `request.auth.principal`: the JWT identity.
    RequestPrincipal,
    /// `namespaces` / `source.namespace`.
    SourceNamespace,
    /// `serviceAccounts` / `source.serviceAccount`.
    SourceServiceAccount,
    /// `ipBlocks` / `source.ip`: the direct peer address.
    SourceIp,
    /// `remoteIpBlocks` / `remote.ip`: the original client address.
    RemoteIp,
    /// `hosts`: the `:authority` header.
    Host,
    /// `methods`.
    Method,
    /// `paths`.
    Path,
    /// `ports` / `destination.port`: the container port.
    DestinationPort,
    /// `destination.ip`.
    DestinationIp,
    /// `connection.sni`.
    ConnectionSni,
    /// `request.headers[<name>]` (and `request.experimental.inline.headers`);
    /// `None` when the key is malformed.
    RequestHeader(Option<String>),
    /// `request.auth.audiences`.
    RequestAudiences,
    /// `request.auth.presenter`.
    RequestPresenter,
    /// `request.auth.claims[<name>]`; `None` when the key is malformed.
    RequestClaim(Option<String>),
    /// `experimental.envoy.filters.*[...]`: Envoy dynamic metadata;
    /// `false` when the key is malformed.
    EnvoyFilter(bool),
}

impl Attr {
    /// The attribute of a `when` key, or `None` for a key Istio does not
    /// know (istiod then skips the whole rule).
    pub fn of_when_key(key: &str) -> Option<Attr> {
        let attr = match key {
            "source.ip" => Attr::SourceIp,
            "remote.ip" => Attr::RemoteIp,
            "source.namespace" => Attr::SourceNamespace,
            "source.serviceAccount" => Attr::SourceServiceAccount,
            "source.principal" => Attr::SourcePrincipal,
            "request.auth.principal" => Attr::RequestPrincipal,
            "request.auth.audiences" => Attr::RequestAudiences,
            "request.auth.presenter" => Attr::RequestPresenter,
            "destination.ip" => Attr::DestinationIp,
            "destination.port" => Attr::DestinationPort,
            "connection.sni" => Attr::ConnectionSni,
            k if k.starts_with("experimental.envoy.filters.") => {
                let rest = k.trim_start_matches("experimental.");
                Attr::EnvoyFilter(rest.trim_end_matches(']').split_once('[').is_some())
            }
            k if k.starts_with("request.headers") => {
                Attr::RequestHeader(bracketed(&k["request.headers".len()..]))
            }
            k if k.starts_with("request.experimental.inline.headers") => {
                Attr::RequestHeader(bracketed(&k["request.experimental.inline.headers".len()..]))
            }
            k if k.starts_with("request.auth.claims") => {
                Attr::RequestClaim(nested_brackets(&k["request.auth.claims".len()..]))
            }
            _ => return None,
        };
        Some(attr)
    }

    /// Whether only an HTTP filter chain can evaluate the attribute.
    pub fn is_http_only(&self) -> bool {
        matches!(
            self,
            Attr::RequestPrincipal
                | Attr::Host
                | Attr::Method
                | Attr::Path
                | Attr::RequestHeader(_)
                | Attr::RequestAudiences
                | Attr::RequestPresenter
                | Attr::RequestClaim(_)
        )
    }

    /// Whether the attribute comes from a JWT.
    pub fn is_jwt(&self) -> bool {
        matches!(
            self,
            Attr::RequestPrincipal
                | Attr::RequestAudiences
                | Attr::RequestPresenter
                | Attr::RequestClaim(_)
        )
    }

    /// Whether the attribute needs the peer's mTLS identity.
    pub fn is_peer_identity(&self) -> bool {
        matches!(self, Attr::SourcePrincipal | Attr::SourceNamespace | Attr::SourceServiceAccount)
    }

    /// Why istiod cannot build a matcher for this value, if it cannot: an
    /// HTTP-only attribute on a TCP filter chain, an invalid port or IP, or
    /// a malformed key.
    pub fn value_error(&self, value: &str, tcp: bool) -> Option<ValueError> {
        if tcp && self.is_http_only() {
            return Some(ValueError::HttpOnly);
        }
        let ok = match self {
            Attr::DestinationPort => parse_port(value).is_some(),
            Attr::SourceIp | Attr::RemoteIp | Attr::DestinationIp => Cidr::parse(value).is_some(),
            Attr::RequestHeader(name) | Attr::RequestClaim(name) => name.is_some(),
            Attr::EnvoyFilter(valid) => *valid,
            _ => true,
        };
        (!ok).then_some(ValueError::Invalid)
    }
}

/// Why a value cannot be turned into a matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// The attribute is HTTP-only and the port is TCP.
    HttpOnly,
    /// The value (or the key) is malformed.
    Invalid,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueError::HttpOnly => "is HTTP-only and the port is TCP",
            ValueError::Invalid => "is invalid",
        })
    }
}

/// `[name]` to `name` (Istio's `extractNameInBrackets`).
fn bracketed(s: &str) -> Option<String> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.to_string())
}

/// `[a][b]` to `a.b`, or `[a]` to `a` (Istio's
/// `extractNameInNestedBrackets`).
fn nested_brackets(s: &str) -> Option<String> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let parts: Vec<&str> = inner.split("][").collect();
    if parts.iter().any(|p| p.is_empty() || p.contains('[') || p.contains(']')) {
        return None;
    }
    Some(parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_keys() {
        assert_eq!(
            Attr::of_when_key("request.headers[x-a]"),
            Some(Attr::RequestHeader(Some("x-a".into())))
        );
        assert_eq!(Attr::of_when_key("request.headers.x"), Some(Attr::RequestHeader(None)));
        assert_eq!(
            Attr::of_when_key("request.auth.claims[groups]"),
            Some(Attr::RequestClaim(Some("groups".into())))
        );
        assert_eq!(
            Attr::of_when_key("request.auth.claims[a][b]"),
            Some(Attr::RequestClaim(Some("a.b".into())))
        );
        assert_eq!(Attr::of_when_key("destination.port"), Some(Attr::DestinationPort));
        assert_eq!(Attr::of_when_key("source.user"), None);
        assert!(
            Attr::of_when_key("experimental.envoy.filters.network.mysql_proxy[db.table]").is_some()
        );
    }

    #[test]
    fn value_errors() {
        assert_eq!(Attr::Method.value_error("GET", true), Some(ValueError::HttpOnly));
        assert_eq!(Attr::Method.value_error("GET", false), None);
        assert_eq!(Attr::DestinationPort.value_error("http", false), Some(ValueError::Invalid));
        assert_eq!(Attr::SourceIp.value_error("10.0.0.0/8", true), None);
        assert_eq!(Attr::SourceIp.value_error("10.0.0.0/88", true), Some(ValueError::Invalid));
        assert_eq!(Attr::SourcePrincipal.value_error("x", true), None);
    }
}
