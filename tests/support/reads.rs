//! Resource requests: dispatch by verb, and the reads (get, list with selectors and pages).

use std::time::Duration;

use serde_json::{Value, json};

use super::catalog::{Catalog, Kind};
use super::faults::Expiry;
use super::router::{Reply, Req, Target};
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{State, meta_str};
use super::table::{Shape, negotiate, partial, table};
use super::util::{base64_decode, base64_url_encode};
use super::watch::WatchSpec;
use super::{deletes, writes};

/// One resource request with everything a handler needs.
pub struct Call<'a> {
    pub catalog: &'a Catalog,
    pub target: &'a Target<'a>,
    pub req: &'a Req,
}

impl Call<'_> {
    pub fn kind(&self) -> &Kind {
        self.target.kind
    }

    /// `group/version` of the request.
    pub fn api_version(&self) -> String {
        self.target.kind.api_version(self.target.version)
    }

    /// The namespace objects live in: the path's, or "" for cluster-scoped kinds.
    pub fn namespace(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or("")
    }

    /// An object as the client asked for it: `apiVersion` in the requested version.
    pub fn present(&self, obj: &Value) -> Value {
        self.present_owned(obj.clone())
    }

    /// Like [`Call::present`], reusing `obj`.
    pub fn present_owned(&self, mut obj: Value) -> Value {
        obj["apiVersion"] = json!(self.api_version());
        obj["kind"] = json!(self.kind().kind);
        obj
    }
}

/// The RBAC verb a request needs.
pub fn verb(req: &Req, target: &Target<'_>) -> &'static str {
    match (req.method.as_str(), target.name.is_some()) {
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) if req.param("watch").is_some_and(|w| w == "true" || w == "1") => {
            "watch"
        }
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// Runs a resource request against the state.
pub fn handle(call: &Call<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let t = call.target;
    let sub = t.subresource.as_deref();
    if sub.is_some_and(|s| s != "status") {
        // Subresources other than status are listed in discovery but not served here.
        return Err(ApiError::method_not_allowed());
    }
    match (call.req.method.as_str(), t.name.as_deref()) {
        ("GET" | "HEAD", Some(name)) => get(call, state, name),
        ("GET" | "HEAD", None) => list(call, state),
        ("POST", None) if t.namespace.is_some() || !t.kind.namespaced => {
            writes::create(call, state)
        }
        ("PUT", Some(name)) => writes::update(call, state, name),
        ("PATCH", Some(name)) => writes::patch(call, state, name),
        ("DELETE", Some(name)) if sub.is_none() => deletes::delete(call, state, name),
        ("DELETE", None) if t.namespace.is_some() || !t.kind.namespaced => {
            deletes::delete_collection(call, state)
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn get(call: &Call<'_>, state: &State, name: &str) -> Result<Reply, ApiError> {
    let obj = state
        .store
        .get(call.kind(), call.namespace(), name)
        .ok_or_else(|| ApiError::not_found(call.kind(), name))?;
    let obj = call.present_owned(obj);
    match negotiate(&call.req.accept, false) {
        Some(Shape::Object) => Ok(Reply::json(200, &obj)),
        Some(Shape::Metadata) => Ok(Reply::json(200, &partial(&obj))),
        Some(Shape::Table) => {
            let meta = json!({"resourceVersion": meta_str(&obj, "resourceVersion")});
            let include = call.req.param("includeObject").unwrap_or("Metadata");
            Ok(Reply::json(200, &table(call.kind(), &[obj], meta, include)))
        }
        None => Err(not_acceptable()),
    }
}

fn not_acceptable() -> ApiError {
    ApiError::not_acceptable(&[
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ])
}

/// A continue token: base64url of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":"ns/name\u0000","n":SENT}`, where `n` (ours, not the
/// apiserver's) counts the items already sent, so `remainingItemCount` needs no count.
fn encode_continue(rv: u64, last: &Value, sent: usize) -> String {
    let start = format!("{}/{}\u{0}", meta_str(last, "namespace"), meta_str(last, "name"));
    base64_url_encode(
        json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start, "n": sent}).to_string().as_bytes(),
    )
}

/// A continue token read back.
struct Continue {
    /// -1 marks an inconsistent continuation.
    rv: i64,
    after: (String, String),
    sent: usize,
}

fn decode_continue(token: &str) -> Result<Continue, ApiError> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token:?}"));
    let bytes = base64_decode(token).ok_or_else(bad)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(bad());
    }
    let rv = v.get("rv").and_then(Value::as_i64).ok_or_else(bad)?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    let (ns, name) = start.trim_end_matches('\u{0}').split_once('/').ok_or_else(bad)?;
    let sent = v.get("n").and_then(Value::as_u64).unwrap_or(0) as usize;
    Ok(Continue { rv, after: (ns.to_string(), name.to_string()), sent })
}

/// Starts a watch: from "" or "0" every current object comes first as ADDED, from a
/// resourceVersion only later changes. Objects leaving a selector are not reported.
fn watch(call: &Call<'_>, state: &State) -> Result<Reply, ApiError> {
    let req = call.req;
    let shape = negotiate(&req.accept, false)
        .or_else(|| negotiate(&req.accept, true))
        .ok_or_else(not_acceptable)?;
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or(""), call.kind())?;
    let namespace = call.target.namespace.clone();
    let (start, initial) = match req.param("resourceVersion").unwrap_or("") {
        "" | "0" => {
            let current: Vec<Value> = state
                .store
                .list(call.kind(), namespace.as_deref(), None)
                .filter(|o| {
                    labels.matches(o.pointer("/metadata/labels").and_then(Value::as_object))
                        && fields.matches(o)
                })
                .map(|o| call.present_owned(o))
                .collect();
            (state.store.current_rv(), current)
        }
        rv => {
            let start = rv
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?;
            (start, Vec::new())
        }
    };
    let timeout = match req.param("timeoutSeconds") {
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
        None => 1800,
    };
    let spec = WatchSpec {
        group: call.kind().group,
        plural: call.kind().plural,
        api_version: call.api_version(),
        kind: call.kind().kind,
        namespace,
        labels,
        fields,
        start,
        initial,
        timeout: Duration::from_secs(timeout),
        shape,
        include: req.param("includeObject").unwrap_or("Metadata").to_string(),
    };
    let mut reply = Reply::typed(200, "application/json", &Value::Null);
    reply.body.clear();
    reply.watch = Some(Box::new(spec));
    Ok(reply)
}

/// [`partial`] of an object it may take apart.
fn into_partial(mut obj: Value) -> Value {
    let metadata = obj.as_object_mut().and_then(|o| o.remove("metadata"));
    let mut out = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"});
    out["metadata"] = metadata.unwrap_or_else(|| json!({}));
    out
}

fn list(call: &Call<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let req = call.req;
    if req.param("watch").is_some_and(|w| w == "true" || w == "1") {
        return watch(call, state);
    }
    let shape = negotiate(&req.accept, true).ok_or_else(not_acceptable)?;
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or(""), call.kind())?;
    let limit: usize = match req.param("limit") {
        Some(l) if !l.is_empty() => {
            l.parse().map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?
        }
        _ => 0,
    };
    // The API server may return fewer items than `limit`, with a continue token for the rest.
    let limit = match state.page_cap {
        Some(cap) if limit > cap => cap,
        _ => limit,
    };

    // A continue token resumes after its last key, unless the test expired tokens.
    let mut list_rv = state.store.current_rv();
    let mut after = None;
    let mut sent = 0;
    if let Some(token) = req.param("continue").filter(|t| !t.is_empty()) {
        let token = decode_continue(token)?;
        match state.expiry {
            Some(expiry) => {
                if expiry == Expiry::Once {
                    state.expiry = None;
                }
                let (ns, name) = &token.after;
                let fresh = format!("{ns}/{name}\u{0}");
                let next = base64_url_encode(
                    json!({"v": "meta.k8s.io/v1", "rv": -1, "start": fresh, "n": token.sent})
                        .to_string()
                        .as_bytes(),
                );
                return Err(ApiError::expired_continue(Some(next)));
            }
            None => {
                if token.rv > 0 {
                    list_rv = token.rv as u64;
                }
                after = Some(token.after);
                sent = token.sent;
            }
        }
    }

    // Without selectors the objects past the page are counted, not decoded; metadata-only
    // answers without a field selector decode only metadata.
    let namespace = call.target.namespace.as_deref();
    let no_labels = req.param("labelSelector").unwrap_or("").is_empty();
    let no_fields = req.param("fieldSelector").unwrap_or("").is_empty();
    let metadata_will_do = shape == Shape::Metadata && no_fields;
    // Across all namespaces and unfiltered, what is left follows from the total: a long list
    // then costs one pass, not one per page.
    let total =
        (namespace.is_none() && no_labels && no_fields).then(|| state.store.len(call.kind()));
    let mut items: Vec<Value> = Vec::new();
    let mut remaining = 0usize;
    for packed in state.store.list_packed(call.kind(), namespace, after) {
        let full = limit != 0 && items.len() >= limit;
        if full && let Some(total) = total {
            remaining = total.saturating_sub(sent + items.len()).max(1);
            break;
        }
        if full && no_labels && no_fields {
            remaining += 1;
            continue;
        }
        let obj = if metadata_will_do { packed.metadata() } else { packed.value() };
        if !(labels.matches(obj.pointer("/metadata/labels").and_then(Value::as_object))
            && fields.matches(&obj))
        {
            continue;
        }
        if full {
            remaining += 1;
        } else {
            items.push(call.present_owned(obj));
        }
    }
    let mut list_meta = json!({"resourceVersion": list_rv.to_string()});
    if remaining > 0 {
        if let Some(last) = items.last() {
            list_meta["continue"] = json!(encode_continue(list_rv, last, sent + items.len()));
        }
        if req.param("labelSelector").unwrap_or("").is_empty()
            && req.param("fieldSelector").unwrap_or("").is_empty()
        {
            list_meta["remainingItemCount"] = json!(remaining);
        }
    }

    let body = match shape {
        Shape::Object => {
            if call.kind().builtin {
                for item in &mut items {
                    if let Some(m) = item.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                }
            }
            let mut list = json!({
                "kind": format!("{}List", call.kind().kind),
                "apiVersion": call.api_version(),
                "metadata": list_meta,
            });
            // Moved in, not copied as `json!` would.
            list["items"] = Value::Array(items);
            list
        }
        Shape::Metadata => {
            let mut list = json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": list_meta,
            });
            list["items"] = items.into_iter().map(into_partial).collect();
            list
        }
        Shape::Table => {
            let include = req.param("includeObject").unwrap_or("Metadata");
            table(call.kind(), &items, list_meta, include)
        }
    };
    Ok(Reply::json(200, &body))
}
