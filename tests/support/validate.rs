//! Checks on incoming objects, worded as the apiserver's decoding, admission and
//! validation steps word their failures.

use serde_json::{Value, json};

use super::reads::Call;
use super::status::{ApiError, FieldError};
use super::store::{State, meta_str};
use super::util::name_errors;

pub fn unsupported_body() -> ApiError {
    ApiError::unsupported_media_type(&[
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ])
}

/// The body of a create or replace: a JSON, YAML or (for a few kinds) protobuf object.
pub fn parse_body(call: &Call<'_>) -> Result<Value, ApiError> {
    let media = call.req.media_type();
    let value: Value = match media.as_str() {
        "" | "application/json" => serde_json::from_slice(&call.req.body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?,
        "application/yaml" => {
            let text = String::from_utf8_lossy(&call.req.body);
            serde_saphyr::from_str(&text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
        }
        "application/vnd.kubernetes.protobuf" => {
            super::proto::decode(&call.req.body).map_err(|_| unsupported_body())?
        }
        _ => return Err(unsupported_body()),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the body of the request must be a JSON object"));
    }
    Ok(value)
}

/// Rejects bodies whose well-known fields have the wrong JSON type, as decoding into the
/// typed object would; `null` stands for absent.
pub fn check_shape(call: &Call<'_>, obj: &mut Value) -> Result<(), ApiError> {
    let kind = call.kind();
    let fail = |what: &str| {
        ApiError::bad_request(format!(
            "{k} in version {v:?} cannot be handled as a {k}: {what}",
            k = kind.kind,
            v = call.target.version
        ))
    };
    let string_map = |v: &Value| v.as_object().is_some_and(|m| m.values().all(Value::is_string));
    let map = obj.as_object_mut().ok_or_else(|| fail("the body must be an object"))?;
    map.retain(|_, v| !v.is_null());
    let Some(meta) = map.get_mut("metadata") else {
        return Ok(());
    };
    let meta = meta.as_object_mut().ok_or_else(|| fail("metadata must be an object"))?;
    meta.retain(|_, v| !v.is_null());
    for (field, value) in meta.iter() {
        let ok = match field.as_str() {
            "labels" | "annotations" => string_map(value),
            "finalizers" => value.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "managedFields" | "ownerReferences" => value.is_array(),
            "generation" | "deletionGracePeriodSeconds" => value.is_i64(),
            _ => value.is_string(),
        };
        if !ok {
            return Err(fail(&format!("metadata.{field} has the wrong type")));
        }
    }
    let typed: &[&str] = match (kind.group, kind.plural) {
        ("", "namespaces") => &["spec", "status"],
        ("", "secrets" | "configmaps") => &["data", "stringData", "binaryData"],
        _ => &[],
    };
    for field in typed {
        let ok = match map.get(*field) {
            None => true,
            Some(v) if kind.plural == "namespaces" => v.is_object(),
            Some(v) => string_map(v),
        };
        if !ok {
            return Err(fail(&format!("{field} has the wrong type")));
        }
    }
    Ok(())
}

/// `apiVersion` and `kind` of a body must name the URL's type when they are set.
pub fn check_type(call: &Call<'_>, obj: &Value, name: &str) -> Result<(), ApiError> {
    let want = call.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v != want => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )));
        }
        _ => {}
    }
    let kind = call.kind();
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && k != kind.kind => {
            if kind.builtin {
                Err(ApiError::bad_request(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    kind.kind
                )))
            } else {
                let e = FieldError::Invalid {
                    field: "kind".into(),
                    value: json!(k),
                    detail: format!("must be {}", kind.kind),
                };
                Err(ApiError::invalid(kind.group, kind.kind, name, &[e]))
            }
        }
        _ => Ok(()),
    }
}

/// A body's name and namespace must match the URL's (an empty namespace is filled in).
pub fn check_identity(call: &Call<'_>, obj: &Value, name: &str) -> Result<(), ApiError> {
    let sent = meta_str(obj, "name");
    if sent != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({sent}) does not match the name on the URL ({name})"
        )));
    }
    check_namespace(call, obj)
}

pub fn check_namespace(call: &Call<'_>, obj: &Value) -> Result<(), ApiError> {
    let sent = meta_str(obj, "namespace");
    if call.kind().namespaced && !sent.is_empty() && sent != call.namespace() {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// Checks a new object's name and that its namespace exists, as admission and validation do.
pub fn check_new(call: &Call<'_>, state: &State, name: &str) -> Result<(), ApiError> {
    let kind = call.kind();
    if kind.namespaced && !state.store.namespace_exists(call.namespace()) {
        return Err(ApiError::not_found_raw("", "namespaces", call.namespace()));
    }
    let errors: Vec<FieldError> = name_errors(name, kind.name_rule)
        .into_iter()
        .map(|detail| FieldError::Invalid {
            field: "metadata.name".into(),
            value: json!(name),
            detail,
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::invalid(kind.group, kind.kind, name, &errors));
    }
    Ok(())
}

/// Optimistic concurrency and uid preconditions of an update body.
pub fn check_preconditions(
    call: &Call<'_>,
    old: &Value,
    incoming: &Value,
    name: &str,
) -> Result<(), ApiError> {
    let kind = call.kind();
    let sent_rv = meta_str(incoming, "resourceVersion");
    if sent_rv.is_empty() && !kind.builtin && call.req.method == "PUT" {
        let e = FieldError::Invalid {
            field: "metadata.resourceVersion".into(),
            value: json!("0x0"),
            detail: "must be specified for an update".into(),
        };
        let mut err = ApiError::invalid(kind.group, kind.kind, name, &[e]);
        err.message = err.message.replace("\"0x0\"", "0x0");
        return Err(err);
    }
    if !sent_rv.is_empty() && sent_rv != meta_str(old, "resourceVersion") {
        return Err(ApiError::conflict_modified(kind, name));
    }
    let sent_uid = meta_str(incoming, "uid");
    if !sent_uid.is_empty() && sent_uid != meta_str(old, "uid") {
        let cause = format!(
            "Precondition failed: UID in precondition: {sent_uid}, UID in object meta: {}",
            meta_str(old, "uid")
        );
        return Err(ApiError::precondition_failed(kind, call.namespace(), name, &cause));
    }
    Ok(())
}
