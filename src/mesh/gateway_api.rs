//! Gateway API v1 Gateway and HTTPRoute (`gateway.networking.k8s.io`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::nullable;
use super::meta::ObjectMeta;
use super::selector::LabelSelector;

/// A Gateway API Gateway.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct K8sGateway {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: K8sGatewaySpec,
}

/// `Gateway.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct K8sGatewaySpec {
    /// GatewayClass (`istio` for Istio's implementation).
    #[serde(default, deserialize_with = "nullable")]
    pub gateway_class_name: String,
    /// Listeners.
    #[serde(default, deserialize_with = "nullable")]
    pub listeners: Vec<Listener>,
}

/// A Gateway listener.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// Listener name (a route `sectionName` refers to it).
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Host name, possibly a wildcard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Port.
    #[serde(default)]
    pub port: u32,
    /// `HTTP`, `HTTPS`, `TLS`, `TCP` or `UDP`.
    #[serde(default, deserialize_with = "nullable")]
    pub protocol: String,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    /// Which routes may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_routes: Option<AllowedRoutes>,
}

/// Listener TLS.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerTls {
    /// `Terminate` (default) or `Passthrough`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Certificate Secrets.
    #[serde(default, deserialize_with = "nullable")]
    pub certificate_refs: Vec<ObjectReference>,
}

/// A reference to another object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ObjectReference {
    /// API group (empty for core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind (`Secret` by default for certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Namespace (the referrer's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `allowedRoutes`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct AllowedRoutes {
    /// Namespaces routes may come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<RouteNamespaces>,
    /// Route kinds allowed.
    #[serde(default, deserialize_with = "nullable")]
    pub kinds: Vec<RouteGroupKind>,
}

/// `allowedRoutes.namespaces`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct RouteNamespaces {
    /// `Same` (default), `All` or `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Namespace selector for `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A route group and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RouteGroupKind {
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
}

/// An HTTPRoute.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct HttpRoute {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: HttpRouteSpec,
}

/// `HTTPRoute.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// Parents (Gateways, or Services for mesh routes).
    #[serde(default, deserialize_with = "nullable")]
    pub parent_refs: Vec<ParentReference>,
    /// Host names.
    #[serde(default, deserialize_with = "nullable")]
    pub hostnames: Vec<String>,
    /// Rules.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<HttpRouteRule>,
}

/// A parent reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// Group (`gateway.networking.k8s.io` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind (`Gateway` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace (the route's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Listener name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    /// Listener port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
}

/// An HTTPRoute rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct HttpRouteRule {
    /// Rule name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Matches, ORed.
    #[serde(default, deserialize_with = "nullable")]
    pub matches: Vec<HttpRouteMatch>,
    /// Filters (redirects, rewrites, header changes).
    #[serde(default, deserialize_with = "nullable")]
    pub filters: Vec<HttpRouteFilter>,
    /// Backends.
    #[serde(default, rename = "backendRefs", deserialize_with = "nullable")]
    pub backend_refs: Vec<BackendRef>,
    /// Timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<HttpRouteTimeouts>,
}

/// A route match.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// Path match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathMatch>,
    /// Header matches.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: Vec<HttpHeaderMatch>,
    /// Query parameter matches.
    #[serde(default, deserialize_with = "nullable")]
    pub query_params: Vec<HttpHeaderMatch>,
    /// Method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A path match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (default) or `RegularExpression`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Value (`/` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A header or query parameter match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct HttpHeaderMatch {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Value.
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

/// A route filter; the filter body is kept as read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteFilter {
    /// Filter type, such as `RequestRedirect` or `URLRewrite`.
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub type_: String,
    /// `requestRedirect` body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_redirect: Option<Value>,
    /// `urlRewrite` body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_rewrite: Option<Value>,
}

/// A backend reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct BackendRef {
    /// Group (core by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind (`Service` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Namespace (the route's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Route timeouts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteTimeouts {
    /// Whole request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Each backend try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_request: Option<String>,
}
