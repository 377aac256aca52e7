//! The writes: create, replace, and the four patch types.

use serde_json::{Value, json};

use super::fieldset::Scope;
use super::managed::{self, Writer, base_entries};
use super::patch::{PatchError, json_patch, merge_patch};
use super::reads::Call;
use super::router::Reply;
use super::status::{ApiError, FieldError};
use super::store::{State, meta_str, namespace_defaults};
use super::util::{name_suffix, now_rfc3339};
use super::validate::{
    check_identity, check_namespace, check_new, check_preconditions, check_shape, check_type,
    parse_body,
};

const APPLY: &str = "application/apply-patch+yaml";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";

/// The field manager of a non-apply write: the parameter, else what the User-Agent has
/// before its first `/`, printable characters only, at most 128.
fn field_manager(call: &Call<'_>) -> String {
    match call.req.param("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => {
            let prefix = call.req.user_agent.split('/').next().unwrap_or("");
            prefix.chars().filter(|c| !c.is_control()).take(128).collect()
        }
    }
}

fn scope(call: &Call<'_>) -> Scope {
    if call.target.subresource.as_deref() == Some("status") { Scope::Status } else { Scope::Main }
}

/// Folds a Secret's write-only `stringData` into `data`, as the apiserver does on writes.
fn fold_string_data(obj: &mut Value) {
    let Some(strings) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    for (key, value) in strings.as_object().into_iter().flatten() {
        let text = value.as_str().unwrap_or_default();
        obj["data"][key] = json!(super::util::base64_encode(text.as_bytes()));
    }
}

/// Fills in what the server owns on a new object.
fn prepare_create(call: &Call<'_>, obj: &mut Value, name: &str, now: &str) {
    let kind = call.kind();
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let meta = &mut obj["metadata"];
    meta["name"] = json!(name);
    meta["uid"] = json!(super::util::new_uid());
    meta["creationTimestamp"] = json!(now);
    if let Some(m) = meta.as_object_mut() {
        for k in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"]
        {
            m.remove(k);
        }
        if kind.namespaced {
            m.insert("namespace".into(), json!(call.namespace()));
        } else {
            m.remove("namespace");
        }
        if kind.generation {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
    }
    if !kind.builtin
        && kind.has_status()
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    if kind.plural == "namespaces" {
        namespace_defaults(obj, name);
    }
    if kind.plural == "secrets" && kind.group.is_empty() {
        fold_string_data(obj);
        if obj.get("type").and_then(Value::as_str).is_none_or(str::is_empty) {
            obj["type"] = json!("Opaque");
        }
    }
}

/// Stores a new object (unless dry-run) and returns it as the client asked for it.
fn store_new(call: &Call<'_>, state: &mut State, mut obj: Value) -> Value {
    obj["apiVersion"] = json!(call.kind().api_version(call.catalog.storage_version(call.kind())));
    obj["kind"] = json!(call.kind().kind);
    if !call.req.dry_run() {
        obj["metadata"]["resourceVersion"] = json!(state.store.next_rv().to_string());
        state.store.put(call.kind(), obj.clone());
    }
    call.present(&obj)
}

/// The new state of an existing object: the incoming one with the server's fields kept.
fn build_updated(call: &Call<'_>, old: &Value, incoming: &Value) -> Value {
    let kind = call.kind();
    let keep = [
        "uid",
        "creationTimestamp",
        "name",
        "namespace",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "resourceVersion",
    ];
    if scope(call) == Scope::Status {
        // Only the status changes; ownership as the write left it.
        let mut new = old.clone();
        match incoming.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if let Some(fields) = incoming.pointer("/metadata/managedFields") {
            new["metadata"]["managedFields"] = fields.clone();
        }
        return new;
    }
    let mut new = incoming.clone();
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = json!({});
    }
    for k in keep {
        match old["metadata"].get(k) {
            Some(v) => new["metadata"][k] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(k);
                }
            }
        }
    }
    if kind.has_status() {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    if kind.plural == "namespaces" {
        namespace_defaults(&mut new, meta_str(old, "name"));
    }
    if kind.plural == "secrets" && kind.group.is_empty() {
        fold_string_data(&mut new);
    }
    new
}

/// What generation tracks: everything but metadata and status.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
    }
    v
}

/// Stores an updated object when it changed: new resourceVersion, generation bumped on spec
/// changes, removed when its last finalizer went during deletion.
fn store_update(call: &Call<'_>, state: &mut State, old: &Value, mut new: Value) -> Value {
    let kind = call.kind();
    new["apiVersion"] = old["apiVersion"].clone();
    new["kind"] = json!(kind.kind);
    new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    if new == *old {
        return call.present(old);
    }
    if kind.generation && spec_part(&new) != spec_part(old) {
        let generation = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        new["metadata"]["generation"] = json!(generation + 1);
    }
    if call.req.dry_run() {
        return call.present(&new);
    }
    new["metadata"]["resourceVersion"] = json!(state.store.next_rv().to_string());
    let finalizers = new.pointer("/metadata/finalizers").and_then(Value::as_array);
    let finished = new.pointer("/metadata/deletionTimestamp").is_some()
        && finalizers.is_none_or(|f| f.is_empty());
    if finished {
        state.store.remove(kind, meta_str(&new, "namespace"), meta_str(&new, "name"));
    } else {
        state.store.put(kind, new.clone());
    }
    call.present(&new)
}

fn writer<'a>(call: &Call<'_>, manager: &'a str, api_version: &'a str, now: &'a str) -> Writer<'a> {
    Writer { manager, api_version, scope: scope(call), now }
}

pub fn create(call: &Call<'_>, state: &mut State) -> Result<Reply, ApiError> {
    if call.target.subresource.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    let mut body = parse_body(call)?;
    check_shape(call, &mut body)?;
    let mut name = meta_str(&body, "name").to_string();
    check_type(call, &body, &name)?;
    check_namespace(call, &body)?;
    if name.is_empty() {
        let generate = meta_str(&body, "generateName");
        if generate.is_empty() {
            let e = FieldError::Required {
                field: "metadata.name".into(),
                detail: "name or generateName is required".into(),
            };
            return Err(ApiError::invalid(call.kind().group, call.kind().kind, "", &[e]));
        }
        name = format!("{generate}{}", name_suffix());
    }
    check_new(call, state, &name)?;
    if state.store.contains(call.kind(), call.namespace(), &name) {
        return Err(ApiError::already_exists(call.kind(), &name));
    }

    let now = now_rfc3339();
    let (manager, api_version) = (field_manager(call), call.api_version());
    let mut obj = body.clone();
    prepare_create(call, &mut obj, &name, &now);
    let w = writer(call, &manager, &api_version, &now);
    managed::record_update(call.kind(), None, &mut obj, base_entries(None, &body), &w);
    Ok(Reply::json(201, &store_new(call, state, obj)))
}

pub fn update(call: &Call<'_>, state: &mut State, name: &str) -> Result<Reply, ApiError> {
    let mut body = parse_body(call)?;
    check_shape(call, &mut body)?;
    check_type(call, &body, name)?;
    check_identity(call, &body, name)?;
    let old = state
        .store
        .get(call.kind(), call.namespace(), name)
        .ok_or_else(|| ApiError::not_found(call.kind(), name))?;
    check_preconditions(call, &old, &body, name)?;
    finish_update(call, state, &old, &body)
}

/// Turns an incoming object into the stored one, recording the writer's ownership.
fn finish_update(
    call: &Call<'_>,
    state: &mut State,
    old: &Value,
    incoming: &Value,
) -> Result<Reply, ApiError> {
    let now = now_rfc3339();
    let (manager, api_version) = (field_manager(call), call.api_version());
    let mut new = build_updated(call, old, incoming);
    let w = writer(call, &manager, &api_version, &now);
    managed::record_update(call.kind(), Some(old), &mut new, base_entries(Some(old), incoming), &w);
    Ok(Reply::json(200, &store_update(call, state, old, new)))
}

pub fn patch(call: &Call<'_>, state: &mut State, name: &str) -> Result<Reply, ApiError> {
    let media = call.req.media_type();
    if media == APPLY {
        return apply(call, state, name);
    }
    let kind = call.kind();
    let mut accepted = vec![JSON_PATCH, MERGE, APPLY];
    if kind.builtin {
        accepted.insert(2, STRATEGIC);
    }
    if !accepted.contains(&media.as_str()) {
        return Err(ApiError::unsupported_media_type(&accepted));
    }
    let patch: Value = serde_json::from_slice(&call.req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let old = state
        .store
        .get(kind, call.namespace(), name)
        .ok_or_else(|| ApiError::not_found(kind, name))?;
    let current = call.present(&old);

    // Strategic merge patch on built-ins is treated as a merge patch (see mod.rs).
    let mut patched = match media.as_str() {
        JSON_PATCH => json_patch(&current, &patch).map_err(|e| match e {
            PatchError::Decode(m) => ApiError::bad_request(m),
            PatchError::Apply(m) => ApiError::patch_failed(&m),
        })?,
        _ => merge_patch(&current, &patch),
    };
    check_shape(call, &mut patched)?;
    check_type(call, &patched, name)?;
    check_identity(call, &patched, name)?;
    check_preconditions(call, &old, &patched, name)?;
    finish_update(call, state, &old, &patched)
}

fn apply(call: &Call<'_>, state: &mut State, name: &str) -> Result<Reply, ApiError> {
    let kind = call.kind();
    let Some(manager) = call.req.param("fieldManager").filter(|m| !m.is_empty()) else {
        let e = FieldError::Required {
            field: "fieldManager".into(),
            detail: "is required for apply patch".into(),
        };
        return Err(ApiError::invalid("meta.k8s.io", "PatchOptions", "", &[e]));
    };
    let force = call.req.param("force") == Some("true");
    let text = String::from_utf8_lossy(&call.req.body);
    let mut config: Value = serde_json::from_str(&text)
        .or_else(|_| serde_saphyr::from_str(&text))
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    check_shape(call, &mut config)?;
    if config.pointer("/metadata/managedFields").is_some_and(|m| !m.is_null()) {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let sent_version = config.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if sent_version != call.api_version() {
        return Err(ApiError::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {sent_version}, \
             expected: {}",
            call.api_version()
        )));
    }
    check_type(call, &config, name)?;
    check_identity(call, &config, name)?;

    let now = now_rfc3339();
    let api_version = call.api_version();
    let w = writer(call, manager, &api_version, &now);
    let old = state.store.get(kind, call.namespace(), name);
    match old {
        None => {
            if scope(call) == Scope::Status {
                return Err(ApiError::not_found(kind, name));
            }
            check_new(call, state, name)?;
            let mut obj = managed::apply(kind, None, &config, force, &w)?;
            prepare_create(call, &mut obj, name, &now);
            Ok(Reply::json(201, &store_new(call, state, obj)))
        }
        Some(old) => {
            let merged = managed::apply(kind, Some(&old), &config, force, &w)?;
            let new = build_updated(call, &old, &merged);
            Ok(Reply::json(200, &store_update(call, state, &old, new)))
        }
    }
}
