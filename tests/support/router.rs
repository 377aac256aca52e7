//! Requests, replies, and which endpoint a path names.

use serde_json::Value;

use super::catalog::{Catalog, Kind};
use super::portforward::{Tunnel, UpgradeRequest};
use super::status::ApiError;
use super::watch::WatchSpec;

/// A request with its body read, as the handlers see it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: String,
    pub user_agent: String,
    pub authorization: Option<String>,
    /// The upgrade headers, when the request asks to switch protocols.
    pub upgrade: Option<UpgradeRequest>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }

    pub fn dry_run(&self) -> bool {
        self.query.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }

    /// The media type of the body, without parameters.
    pub fn media_type(&self) -> String {
        self.content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
    }
}

/// What goes back over the wire.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A watch to stream instead of `body`.
    pub watch: Option<Box<WatchSpec>>,
    /// A port-forward to serve once the connection is switched to WebSocket (status 101).
    pub tunnel: Option<Box<Tunnel>>,
}

impl Reply {
    pub fn json(status: u16, value: &Value) -> Reply {
        Reply::typed(status, "application/json", value)
    }

    pub fn typed(status: u16, content_type: &str, value: &Value) -> Reply {
        Reply {
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body: serde_json::to_vec(value).expect("a JSON value serializes"),
            watch: None,
            tunnel: None,
        }
    }

    pub fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8".to_string(),
            headers: Vec::new(),
            body: text.as_bytes().to_vec(),
            watch: None,
            tunnel: None,
        }
    }

    pub fn error(e: &ApiError) -> Reply {
        let mut reply = Reply::json(e.code, &e.to_status());
        if let Some(secs) = e.retry_after {
            reply.headers.push(("Retry-After".into(), secs.to_string()));
        }
        reply
    }
}

/// A request for objects of one kind.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub kind: &'a Kind,
    pub version: &'a str,
    /// The namespace in the path; `None` for cluster-scoped kinds and all-namespace lists.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// The endpoints the server knows.
#[derive(Debug)]
pub enum Route<'a> {
    Version,
    Health,
    Api,
    Apis,
    Group(&'a str),
    ResourceList {
        group: &'a str,
        version: &'a str,
    },
    OpenApiV3Root,
    OpenApiV3(String),
    Resource(Target<'a>),
    /// Under a served group version, but naming no resource: a `Status` 404.
    NoSuchResource,
    /// Outside every API: the plain `404 page not found`.
    PageNotFound,
}

/// Maps a path onto an endpoint of this server's catalog.
pub fn route<'a>(catalog: &'a Catalog, path: &'a str) -> Route<'a> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "readyz" | "livez"] => Route::Health,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["api", "v1"] => Route::ResourceList { group: "", version: "v1" },
        ["api", version, rest @ ..] => resource(catalog, "", version, rest),
        ["apis", group] if catalog.groups().iter().any(|(g, _)| g == group) => Route::Group(group),
        ["apis", group, version] if catalog.serves_version(group, version) => {
            Route::ResourceList { group, version }
        }
        ["apis", group, version, rest @ ..] => resource(catalog, group, version, rest),
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3(rest.join("/")),
        _ => Route::PageNotFound,
    }
}

fn resource<'a>(
    catalog: &'a Catalog,
    group: &'a str,
    version: &'a str,
    rest: &[&'a str],
) -> Route<'a> {
    if !catalog.serves_version(group, version) {
        return Route::PageNotFound;
    }
    let namespace_sub = |s: &str| group.is_empty() && matches!(s, "status" | "finalize");
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !(tail.is_empty() && namespace_sub(plural)) => {
            (Some(ns.to_string()), [&[*plural][..], tail].concat())
        }
        other => (None, other.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Route::NoSuchResource,
    };
    let Some(kind) = catalog.served(group, version, plural) else {
        return Route::NoSuchResource;
    };
    let scoped_ok = match (kind.namespaced, &namespace) {
        (true, Some(_)) | (false, None) => true,
        (true, None) => name.is_none(),
        (false, Some(_)) => false,
    };
    let sub_ok =
        subresource.as_deref().is_none_or(|s| kind.subresources.iter().any(|(name, _)| *name == s));
    if !scoped_ok || !sub_ok || name.as_deref() == Some("") {
        return Route::NoSuchResource;
    }
    Route::Resource(Target { kind, version, namespace, name, subresource })
}
