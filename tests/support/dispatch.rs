//! One request from start to answer: authentication, routing, authorization, handling.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use serde_json::{Value, json};

use super::catalog::Catalog;
use super::discovery::{self, ServerVersion};
use super::openapi;
use super::portforward;
use super::proto;
use super::reads::{self, Call};
use super::router::{Reply, Req, Route, Target, route};
use super::status::ApiError;
use super::store::State;

/// A rule answering 403 to the requests it matches; unset fields match anything.
///
/// ```ignore
/// Forbid::user("alice").verb("list").resource("pods").namespace("foo")
/// ```
#[derive(Debug, Clone, Default)]
pub struct Forbid {
    pub user: Option<String>,
    pub verb: Option<String>,
    /// API group, "" for core.
    pub group: Option<String>,
    /// Plural resource, or `plural/subresource`.
    pub resource: Option<String>,
    pub namespace: Option<String>,
    /// Only requests across all namespaces (no namespace in the path), as when a user's Role
    /// grants a verb in some namespaces but no ClusterRole grants it everywhere.
    pub cluster_wide: bool,
}

impl Forbid {
    /// Denies everything to `user`; narrow with the other methods.
    pub fn user(user: &str) -> Forbid {
        Forbid { user: Some(user.to_string()), ..Forbid::default() }
    }

    /// Denies to every user; narrow with the other methods.
    pub fn anyone() -> Forbid {
        Forbid::default()
    }

    pub fn verb(mut self, verb: &str) -> Forbid {
        self.verb = Some(verb.to_string());
        self
    }

    pub fn group(mut self, group: &str) -> Forbid {
        self.group = Some(group.to_string());
        self
    }

    pub fn resource(mut self, resource: &str) -> Forbid {
        self.resource = Some(resource.to_string());
        self
    }

    pub fn namespace(mut self, namespace: &str) -> Forbid {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// Narrows the rule to requests across all namespaces.
    pub fn cluster_wide(mut self) -> Forbid {
        self.cluster_wide = true;
        self
    }

    fn matches(&self, user: &str, attrs: &Attributes<'_>) -> bool {
        let resource = match attrs.subresource {
            Some(sub) if !sub.is_empty() => format!("{}/{sub}", attrs.resource),
            _ => attrs.resource.to_string(),
        };
        self.user.as_deref().is_none_or(|u| u == user)
            && self.verb.as_deref().is_none_or(|v| v == attrs.verb)
            && self.group.as_deref().is_none_or(|g| g == attrs.group)
            && self.resource.as_deref().is_none_or(|r| r == resource)
            && self.namespace.as_deref().is_none_or(|n| Some(n) == attrs.namespace)
            && (!self.cluster_wide || attrs.namespace.is_none())
    }
}

/// What authorization looks at, as in the apiserver's `authorizer.Attributes`.
struct Attributes<'a> {
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    subresource: Option<&'a str>,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
}

impl<'a> Attributes<'a> {
    fn of(verb: &'a str, target: &'a Target<'_>) -> Attributes<'a> {
        Attributes {
            verb,
            group: target.kind.group,
            resource: target.kind.plural,
            subresource: target.subresource.as_deref(),
            namespace: target.namespace.as_deref(),
            name: target.name.as_deref(),
        }
    }

    /// The `spec.resourceAttributes` of an access review.
    fn from_review(review: &'a Value) -> Attributes<'a> {
        let a = |k: &str| {
            review.pointer(&format!("/spec/resourceAttributes/{k}")).and_then(Value::as_str)
        };
        Attributes {
            verb: a("verb").unwrap_or(""),
            group: a("group").unwrap_or(""),
            resource: a("resource").unwrap_or(""),
            subresource: a("subresource"),
            namespace: a("namespace").filter(|n| !n.is_empty()),
            name: a("name").filter(|n| !n.is_empty()),
        }
    }
}

/// Everything a running server shares between connections.
pub struct Shared {
    pub catalog: Catalog,
    pub version: ServerVersion,
    /// Bearer token to user name; empty means tokens are not checked.
    pub tokens: BTreeMap<String, String>,
    /// Whether client certificates signed by the server CA authenticate.
    pub client_certs: bool,
    pub forbid: Vec<Forbid>,
    /// `host:port`, for `serverAddressByClientCIDRs`.
    pub address: String,
    pub state: Mutex<State>,
    /// Woken after every change, for watches.
    pub changed: Notify,
}

/// The answer to one request and what the log records about it.
pub struct Outcome {
    pub reply: Reply,
    pub user: Option<String>,
    pub reached_handler: bool,
}

impl Shared {
    /// The state; a panic elsewhere while holding it does not stop the server.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn auth_required(&self) -> bool {
        !self.tokens.is_empty() || self.client_certs
    }

    /// The user a request authenticates as; client certificates win over tokens.
    fn authenticate(&self, req: &Req, cert_user: Option<&str>) -> Result<String, ApiError> {
        if let Some(cn) = cert_user.filter(|_| self.client_certs) {
            return Ok(cn.to_string());
        }
        if !self.tokens.is_empty()
            && let Some(header) = &req.authorization
        {
            let token = header.strip_prefix("Bearer ").map(str::trim);
            return token
                .and_then(|t| self.tokens.get(t))
                .cloned()
                .ok_or_else(ApiError::unauthorized);
        }
        if self.auth_required() {
            Err(ApiError::unauthorized())
        } else {
            Ok("system:anonymous".to_string())
        }
    }

    pub fn dispatch(&self, req: &Req, cert_user: Option<&str>) -> Outcome {
        let user = match self.authenticate(req, cert_user) {
            Ok(u) => u,
            Err(e) => {
                return Outcome { reply: Reply::error(&e), user: None, reached_handler: false };
            }
        };
        let (reply, reached_handler) = match route(&self.catalog, &req.path) {
            Route::Resource(target) => self.resource(req, &user, &target),
            other => (self.non_resource(req, other), false),
        };
        Outcome { reply, user: Some(user), reached_handler }
    }

    fn non_resource(&self, req: &Req, route: Route<'_>) -> Reply {
        if !matches!(req.method.as_str(), "GET" | "HEAD") {
            return match route {
                Route::PageNotFound => Reply::text(404, "404 page not found\n"),
                _ => Reply::error(&ApiError::method_not_allowed()),
            };
        }
        match route {
            Route::Version => Reply::json(200, &self.version.to_json()),
            Route::Health => Reply::text(200, "ok"),
            Route::Api => discovery::api(&self.catalog, &req.accept, &self.address),
            Route::Apis => discovery::apis(&self.catalog, &req.accept),
            Route::Group(g) => discovery::group(&self.catalog, g),
            Route::ResourceList { group, version } => {
                discovery::resource_list(&self.catalog, group, version)
            }
            Route::OpenApiV3Root => openapi::root(&self.catalog),
            Route::OpenApiV3(key) => openapi::doc(&self.catalog, &key),
            Route::NoSuchResource => Reply::error(&ApiError::no_such_resource()),
            Route::PageNotFound | Route::Resource(_) => Reply::text(404, "404 page not found\n"),
        }
    }

    fn denied(&self, user: &str, attrs: &Attributes<'_>) -> bool {
        self.forbid.iter().any(|rule| rule.matches(user, attrs))
    }

    fn resource(&self, req: &Req, user: &str, target: &Target<'_>) -> (Reply, bool) {
        let verb = reads::verb(req, target);
        let attrs = Attributes::of(verb, target);
        if self.denied(user, &attrs) {
            let e = ApiError::forbidden(
                user,
                verb,
                attrs.group,
                attrs.resource,
                attrs.subresource,
                attrs.namespace,
                attrs.name,
            );
            return (Reply::error(&e), false);
        }
        if portforward::is_port_forward(target) {
            // From 1.35 a WebSocket upgrade (a GET) also needs `create`, as SPDY's POST does.
            let create = Attributes { verb: "create", ..attrs };
            if portforward::needs_create_too(&self.version, req) && self.denied(user, &create) {
                let e = ApiError::forbidden(
                    user,
                    "create",
                    create.group,
                    create.resource,
                    create.subresource,
                    create.namespace,
                    create.name,
                );
                return (Reply::error(&e), false);
            }
            return (portforward::connect(self, req, target), true);
        }
        if target.kind.is_access_review() {
            return (self.access_review(req, user, target), true);
        }
        let call = Call { catalog: &self.catalog, target, req };
        let mut state = self.lock();
        let reply = match reads::handle(&call, &mut state) {
            Ok(r) => r,
            Err(e) => Reply::error(&e),
        };
        (reply, true)
    }

    /// Answers a `SelfSubjectAccessReview` from the forbid rules: allowed unless one matches.
    fn access_review(&self, req: &Req, user: &str, target: &Target<'_>) -> Reply {
        if req.method != "POST" || target.name.is_some() {
            return Reply::error(&ApiError::method_not_allowed());
        }
        let decoded = if req.media_type() == "application/vnd.kubernetes.protobuf" {
            proto::decode(&req.body).ok()
        } else {
            serde_json::from_slice::<Value>(&req.body).ok()
        };
        let Some(mut review) = decoded.filter(Value::is_object) else {
            let e = ApiError::bad_request("the body must be a SelfSubjectAccessReview");
            return Reply::error(&e);
        };
        let allowed = review.pointer("/spec/resourceAttributes").is_none()
            || !self.denied(user, &Attributes::from_review(&review));
        review["status"] = json!({"allowed": allowed});
        review["apiVersion"] = json!(target.kind.api_version(target.version));
        review["kind"] = json!(target.kind.kind);
        Reply::json(201, &review)
    }
}
