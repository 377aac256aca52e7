//! `Status` error bodies, built the way the apiserver words them.

use serde_json::{Value, json};

use super::catalog::Kind;

/// One failing request: the HTTP code and the `Status` object sent back.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub continue_token: Option<String>,
    pub retry_after: Option<u64>,
}

/// One entry of a validation failure, like the apiserver's `field.Error`.
#[derive(Debug, Clone)]
pub enum FieldError {
    Invalid { field: String, value: Value, detail: String },
    Required { field: String, detail: String },
    NotSupported { field: String, value: Value, supported: Vec<String> },
}

impl FieldError {
    fn field(&self) -> &str {
        match self {
            FieldError::Invalid { field, .. }
            | FieldError::Required { field, .. }
            | FieldError::NotSupported { field, .. } => field,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            FieldError::Invalid { .. } => "FieldValueInvalid",
            FieldError::Required { .. } => "FieldValueRequired",
            FieldError::NotSupported { .. } => "FieldValueNotSupported",
        }
    }

    /// The text after `field: `, e.g. `Invalid value: "Foo": must be ...`.
    fn body(&self) -> String {
        match self {
            FieldError::Invalid { value, detail, .. } => {
                format!("Invalid value: {}: {detail}", go_value(value))
            }
            FieldError::Required { detail, .. } if detail.is_empty() => "Required value".into(),
            FieldError::Required { detail, .. } => format!("Required value: {detail}"),
            FieldError::NotSupported { value, supported, .. } => {
                let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                format!(
                    "Unsupported value: {}: supported values: {}",
                    go_value(value),
                    quoted.join(", ")
                )
            }
        }
    }
}

/// Formats a value as Go's `%#v`-ish output in field errors: strings quoted, others raw.
fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            continue_token: None,
            retry_after: None,
        }
    }

    /// Sets `details`, leaving out empty strings as the apiserver's `omitempty` does.
    fn with_details(mut self, mut details: Value) -> Self {
        if let Some(map) = details.as_object_mut() {
            map.retain(|_, v| v.as_str() != Some(""));
        }
        self.details = Some(details);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// `pods "x" is forbidden: User "alice" cannot get resource "pods" in API group "" ...`.
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let full = match subresource {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource.to_string(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace {ns:?}"),
            None => "at the cluster scope".to_string(),
        };
        let reason =
            format!("User {user:?} cannot {verb} resource {full:?} in API group {group:?} {scope}");
        let qualified = qualified(group, resource);
        let message = match name {
            Some(n) => format!("{qualified} {n:?} is forbidden: {reason}"),
            None => format!("{qualified} is forbidden: {reason}"),
        };
        let mut details = json!({"group": group, "kind": resource});
        if let Some(n) = name {
            details["name"] = json!(n);
        }
        Self::new(403, "Forbidden", message).with_details(details)
    }

    /// `namespaces "default" is forbidden: REASON`, as admission plugins refuse.
    pub fn forbidden_reason(kind: &Kind, name: &str, reason: &str) -> Self {
        let qualified = qualified(kind.group, kind.plural);
        Self::new(403, "Forbidden", format!("{qualified} {name:?} is forbidden: {reason}"))
            .with_details(json!({"name": name, "group": kind.group, "kind": kind.plural}))
    }

    /// `virtualservices.networking.istio.io "x" not found`.
    pub fn not_found(kind: &Kind, name: &str) -> Self {
        Self::not_found_raw(kind.group, kind.plural, name)
    }

    pub fn not_found_raw(group: &str, plural: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{} {name:?} not found", qualified(group, plural)))
            .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    /// The apiserver's answer for a path under a served group version that names nothing.
    pub fn no_such_resource() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
            .with_details(json!({}))
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn not_acceptable(accepted: &[&str]) -> Self {
        Self::new(
            406,
            "NotAcceptable",
            format!("only the following media types are accepted: {}", accepted.join(", ")),
        )
    }

    pub fn already_exists(kind: &Kind, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} {name:?} already exists", qualified(kind.group, kind.plural)),
        )
        .with_details(json!({"name": name, "group": kind.group, "kind": kind.plural}))
    }

    /// `Operation cannot be fulfilled on KIND "x": CAUSE`.
    pub fn conflict(kind: &Kind, name: &str, cause: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: {cause}",
                qualified(kind.group, kind.plural)
            ),
        )
        .with_details(json!({"name": name, "group": kind.group, "kind": kind.plural}))
    }

    /// The optimistic-concurrency failure of an update with a stale `resourceVersion`.
    pub fn conflict_modified(kind: &Kind, name: &str) -> Self {
        Self::conflict(
            kind,
            name,
            "the object has been modified; please apply your changes to the latest version \
             and try again",
        )
    }

    /// A failed delete precondition, worded as the storage layer reports it.
    pub fn precondition_failed(kind: &Kind, namespace: &str, name: &str, cause: &str) -> Self {
        let key = registry_key(kind, namespace, name);
        Self::conflict(
            kind,
            name,
            &format!(
                "StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, \
                 AdditionalErrorMsg: {cause}"
            ),
        )
    }

    /// `KIND.group "name" is invalid: field: Invalid value: ...` with one cause per error.
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let texts: Vec<String> =
            errors.iter().map(|e| format!("{}: {}", e.field(), e.body())).collect();
        let aggregate = match texts.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.reason(), "message": e.body(), "field": e.field()}))
            .collect();
        Self::new(
            422,
            "Invalid",
            format!("{} {name:?} is invalid: {aggregate}", qualified(group, kind)),
        )
        .with_details(json!({"name": name, "group": group, "kind": kind, "causes": causes}))
    }

    /// What a failing JSON patch operation turns into (`NewGenericServerResponse` with 422).
    pub fn patch_failed(cause: &str) -> Self {
        Self::new(422, "Invalid", "the server rejected our request due to an error in our request")
            .with_details(json!({
                "causes": [{"reason": "UnexpectedServerResponse", "message": cause}]
            }))
    }

    /// A server-side apply conflict: `Apply failed with N conflict(s): ...`.
    pub fn apply_conflict(message: String, causes: Vec<Value>) -> Self {
        Self::new(409, "Conflict", message).with_details(json!({"causes": causes}))
    }

    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types \
                 include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 410 for a continue token whose snapshot is gone.
    pub fn expired_continue(continue_token: Option<String>) -> Self {
        let mut message = "The provided continue parameter is too old to display a consistent \
            list result. You can start a new list without the continue parameter"
            .to_string();
        if continue_token.is_some() {
            message.push_str(
                ", or use the continue token in this response to retrieve the remainder of the \
                 results. Continuing with the provided token results in an inconsistent list - \
                 objects that were created, modified, or deleted between the time the first \
                 chunk was returned and now may show up in the list.",
            );
        } else {
            message.push('.');
        }
        let mut e = Self::new(410, "Expired", message);
        e.continue_token = continue_token;
        e
    }

    /// A status picked by a test fault, with the apiserver's reason for that code.
    pub fn from_code(code: u16, message: Option<String>, retry_after: Option<u64>) -> Self {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            405 => "MethodNotAllowed",
            409 => "Conflict",
            410 => "Gone",
            422 => "Invalid",
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "",
        };
        let message = message.unwrap_or_else(|| match code {
            429 => "Too many requests, please try again later.".to_string(),
            500 => "Internal error occurred: injected fault".to_string(),
            503 => "the server is currently unable to handle the request".to_string(),
            504 => "Timeout: request did not complete within the allowed duration".to_string(),
            _ => format!("injected fault with status {code}"),
        });
        let mut e = Self::new(code, reason, message);
        if let Some(secs) = retry_after {
            e.details = Some(json!({"retryAfterSeconds": secs}));
            e.retry_after = Some(secs);
        }
        e
    }

    /// The `Status` object sent as the body.
    pub fn to_status(&self) -> Value {
        let mut metadata = json!({});
        if let Some(token) = &self.continue_token {
            metadata["continue"] = json!(token);
        }
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": metadata,
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        if let Some(d) = &self.details {
            status["details"] = d.clone();
        }
        status
    }
}

/// `plural.group`, or just `plural` for the core group.
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") }
}

/// The etcd key the apiserver would report, e.g. `/registry/networking.istio.io/...`.
fn registry_key(kind: &Kind, namespace: &str, name: &str) -> String {
    let prefix = if kind.builtin {
        format!("/registry/{}", kind.plural)
    } else {
        format!("/registry/{}/{}", kind.group, kind.plural)
    };
    if namespace.is_empty() {
        format!("{prefix}/{name}")
    } else {
        format!("{prefix}/{namespace}/{name}")
    }
}

/// A success `Status`, as returned by deletes that do not return the object.
pub fn success_status(kind: &Kind, name: &str, uid: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": kind.group, "kind": kind.plural, "uid": uid},
    })
}
