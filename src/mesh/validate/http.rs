//! Routing values: path prefixes, rewrites and redirects, as Istio's VirtualService
//! validation requires them.
//!
//! Istio refuses an empty prefix match, a rewrite with nothing to rewrite, a redirect with
//! nothing to redirect, a redirect code outside 300 to 399, a scheme other than `http` or
//! `https`, a redirect port outside 1 to 65535, and a route that mixes a redirect with a
//! destination, a rewrite or a fault. On top of that, the paths the CLI takes (`--path`,
//! `--rewrite`) must start with `/`, since request paths always do, and carry no spaces, query
//! or fragment.

use super::error::ValidationError;
use super::numbers::parse_decimal;

fn path_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("paths must not be empty")
    } else if !s.starts_with('/') {
        Some("paths must start with '/'")
    } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("paths must not contain spaces or control characters")
    } else if s.contains(['?', '#']) {
        Some("paths stop before any '?' query or '#' fragment")
    } else {
        None
    }
}

/// Checks a URI prefix to route on (`--path`).
pub fn validate_path_prefix(s: &str) -> Result<(), ValidationError> {
    path_problem(s).map_or(Ok(()), |why| Err(ValidationError::new("path", s, why)))
}

/// Checks the path (or prefix) a route rewrites to (`--rewrite`).
pub fn validate_rewrite_uri(s: &str) -> Result<(), ValidationError> {
    path_problem(s).map_or(Ok(()), |why| Err(ValidationError::new("rewrite", s, why)))
}

/// Parses a redirect status code: 300 to 399.
pub fn parse_redirect_code(s: &str) -> Result<u16, ValidationError> {
    match parse_decimal(s, 399) {
        Ok(code @ 300..=399) => Ok(code as u16),
        _ => {
            Err(ValidationError::new("redirectCode", s, "redirect codes are 3xx, from 300 to 399"))
        }
    }
}

/// The parts of an HTTP redirect, as they will be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect<'a> {
    /// `uri`: the path to redirect to.
    pub uri: Option<&'a str>,
    /// `authority`: the host (and port) to redirect to.
    pub authority: Option<&'a str>,
    /// `port`: the port to redirect to.
    pub port: Option<u32>,
    /// `scheme`: `http` or `https`.
    pub scheme: Option<&'a str>,
    /// `redirectCode`: 0 or unset for Istio's default (301).
    pub code: Option<u32>,
}

/// Checks a redirect as Istio's `validateHTTPRedirect` does.
pub fn check_redirect(r: &Redirect<'_>) -> Result<(), ValidationError> {
    let set = |v: Option<&str>| v.is_some_and(|s| !s.is_empty());
    if !set(r.uri) && !set(r.authority) && r.port.is_none() && !set(r.scheme) {
        return Err(ValidationError::new(
            "redirect",
            "",
            "a redirect must set at least one of uri, authority, scheme or port",
        ));
    }
    if let Some(code) = r.code
        && code != 0
        && !(300..=399).contains(&code)
    {
        let shown = code.to_string();
        return Err(ValidationError::new(
            "redirectCode",
            &shown,
            "redirect codes are 3xx, from 300 to 399",
        ));
    }
    if let Some(scheme) = r.scheme
        && !scheme.is_empty()
        && scheme != "http"
        && scheme != "https"
    {
        return Err(ValidationError::new(
            "scheme",
            scheme,
            "the redirect scheme is \"http\" or \"https\"",
        ));
    }
    if let Some(port) = r.port
        && !(1..=65535).contains(&port)
    {
        let shown = port.to_string();
        return Err(ValidationError::new("port", &shown, "redirect ports are from 1 to 65535"));
    }
    if let Some(uri) = r.uri
        && let Some(why) = path_problem(uri).filter(|_| !uri.is_empty())
    {
        return Err(ValidationError::new("uri", uri, why));
    }
    Ok(())
}

/// What an HTTP route does, for the conflicts Istio's `validateHTTPRouteConflict` refuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteActions {
    /// The route has destinations (`route`).
    pub destinations: bool,
    /// The route redirects (`redirect`).
    pub redirect: bool,
    /// The route rewrites (`rewrite`).
    pub rewrite: bool,
    /// The route injects faults (`fault`).
    pub fault: bool,
}

/// Checks that a route either redirects or routes, and never both.
pub fn check_route_actions(a: RouteActions) -> Result<(), ValidationError> {
    let conflict = |other: &str| {
        Err(ValidationError::new(
            "route",
            "redirect",
            format!("a route cannot both redirect and {other}"),
        ))
    };
    if a.redirect {
        if a.destinations {
            return conflict("send to destinations");
        }
        if a.fault {
            return conflict("inject faults");
        }
        if a.rewrite {
            return conflict("rewrite");
        }
        return Ok(());
    }
    if !a.destinations {
        return Err(ValidationError::new("route", "", "a route needs destinations or a redirect"));
    }
    Ok(())
}

/// Checks the path of a request to evaluate (`can --path`): it starts with `/` and holds no
/// spaces or control characters. A query or fragment may follow; authorization matches the
/// path without them, after the sidecar's normalization.
pub fn validate_request_path(s: &str) -> Result<(), ValidationError> {
    let why = if s.is_empty() {
        Some("paths must not be empty")
    } else if !s.starts_with('/') {
        Some("request paths start with '/'")
    } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("paths must not contain spaces or control characters (percent-encode them)")
    } else {
        None
    };
    why.map_or(Ok(()), |why| Err(ValidationError::new("path", s, why)))
}

/// Parses a request header given as `NAME=VALUE` (`can --header`): the name an HTTP token
/// (RFC 9110: letters, digits and ``!#$%&'*+-.^_`|~``), no pseudo-headers, the value without
/// control characters. Names come back lower-cased, as HTTP/2 carries them.
pub fn parse_header(s: &str) -> Result<(String, String), ValidationError> {
    let err = |why: &str| Err(ValidationError::new("header", s, why));
    let Some((name, value)) = s.split_once('=') else {
        return err("headers are NAME=VALUE, e.g. x-user=alice");
    };
    if name.starts_with(':') {
        return err("pseudo-headers are set with --method, --path and --host");
    }
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(tchar) {
        return err("header names are letters, digits and !#$%&'*+-.^_`|~");
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return err("header values must not contain control characters");
    }
    Ok((name.to_ascii_lowercase(), value.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_and_headers() {
        for (input, ok) in [
            ("/", true),
            ("/a/../b?x=1#f", true),
            ("/data%2Fsecret", true),
            ("relative", false),
            ("", false),
            ("/a b", false),
        ] {
            assert_eq!(validate_request_path(input).is_ok(), ok, "{input:?}");
        }
        assert_eq!(parse_header("X-User=alice").unwrap(), ("x-user".into(), "alice".into()));
        assert_eq!(parse_header("x-empty=").unwrap(), ("x-empty".into(), String::new()));
        assert_eq!(parse_header("x=a=b").unwrap(), ("x".into(), "a=b".into()));
        for bad in ["novalue", "=x", ":path=/", "bad name=x", "x=a\nb"] {
            assert!(parse_header(bad).is_err(), "{bad:?}");
        }
    }

    // Expected verdicts: istio validateHTTPRedirect, validateHTTPRewrite, validateStringMatch
    // (no empty prefix) and validateHTTPRouteConflict; request paths always begin with '/'.
    #[test]
    fn paths_and_redirects() {
        for (input, want) in [
            ("/", true),
            ("/api", true),
            ("/api/v1/", true),
            ("/a%20b", true),
            ("api", false),
            ("", false),
            ("/a b", false),
            ("/a?b=1", false),
            ("/a#x", false),
        ] {
            assert_eq!(validate_path_prefix(input).is_ok(), want, "{input:?}");
            assert_eq!(validate_rewrite_uri(input).is_ok(), want, "{input:?}");
        }
        for (input, want) in [
            ("301", Some(301)),
            ("308", Some(308)),
            ("300", Some(300)),
            ("399", Some(399)),
            ("200", None),
            ("400", None),
            ("30x", None),
        ] {
            assert_eq!(parse_redirect_code(input).ok(), want, "{input:?}");
        }
        let https = Redirect { scheme: Some("https"), ..Redirect::default() };
        assert!(check_redirect(&https).is_ok());
        assert!(check_redirect(&Redirect::default()).is_err());
        assert!(check_redirect(&Redirect { scheme: Some("ftp"), ..Redirect::default() }).is_err());
        assert!(check_redirect(&Redirect { port: Some(0), ..Redirect::default() }).is_err());
        assert!(check_redirect(&Redirect { code: Some(200), ..https.clone() }).is_err());
        assert!(check_redirect(&Redirect { code: Some(0), ..https }).is_ok());
        assert!(check_redirect(&Redirect { uri: Some("new"), ..Redirect::default() }).is_err());
    }

    #[test]
    fn route_conflicts() {
        let routed = RouteActions { destinations: true, rewrite: true, ..RouteActions::default() };
        assert!(check_route_actions(routed).is_ok());
        let redirect = RouteActions { redirect: true, ..RouteActions::default() };
        assert!(check_route_actions(redirect).is_ok());
        assert!(check_route_actions(RouteActions { destinations: true, ..redirect }).is_err());
        assert!(check_route_actions(RouteActions { rewrite: true, ..redirect }).is_err());
        assert!(check_route_actions(RouteActions { fault: true, ..redirect }).is_err());
        assert!(check_route_actions(RouteActions::default()).is_err());
    }
}
