//! The writes: create, replace, the four patch types, delete and delete-collection.

use serde_json::{Value, json};

use super::fieldset::Scope;
use super::managed::{self, Writer, base_entries};
use super::patch::{PatchError, json_patch, merge_patch};
use super::reads::Call;
use super::router::Reply;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, FieldError, success_status};
use super::store::{State, meta_str, namespace_defaults};
use super::util::{name_errors, name_suffix, now_rfc3339};

const APPLY: &str = "application/apply-patch+yaml";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";

fn unsupported_body() -> ApiError {
    ApiError::unsupported_media_type(&[
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ])
}

/// The body of a create or replace: a JSON, YAML or (for a few kinds) protobuf object.
fn parse_body(call: &Call<'_>) -> Result<Value, ApiError> {
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
fn check_shape(call: &Call<'_>, obj: &mut Value) -> Result<(), ApiError> {
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
fn check_type(call: &Call<'_>, obj: &Value, name: &str) -> Result<(), ApiError> {
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
fn check_identity(call: &Call<'_>, obj: &Value, name: &str) -> Result<(), ApiError> {
    let sent = meta_str(obj, "name");
    if sent != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({sent}) does not match the name on the URL ({name})"
        )));
    }
    check_namespace(call, obj)
}

fn check_namespace(call: &Call<'_>, obj: &Value) -> Result<(), ApiError> {
    let sent = meta_str(obj, "namespace");
    if call.kind().namespaced && !sent.is_empty() && sent != call.namespace() {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// Checks a new object's name and that its namespace exists, as admission and validation do.
fn check_new(call: &Call<'_>, state: &State, name: &str) -> Result<(), ApiError> {
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

/// The field manager of a non-apply write: the parameter, else the User-Agent's first word.
fn field_manager(call: &Call<'_>) -> String {
    match call.req.param("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => call.req.user_agent.split('/').next().unwrap_or("").to_string(),
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
        let mut new = old.clone();
        match incoming.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
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

/// Optimistic concurrency and uid preconditions of an update body.
fn check_preconditions(
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
    if state.store.get(call.kind(), call.namespace(), &name).is_some() {
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
        .cloned()
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
        .cloned()
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
    let old = state.store.get(kind, call.namespace(), name).cloned();
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

/// `DeleteOptions` from the body, if any.
fn delete_options(call: &Call<'_>) -> Result<Value, ApiError> {
    if call.req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&call.req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))
}

pub fn delete(call: &Call<'_>, state: &mut State, name: &str) -> Result<Reply, ApiError> {
    let kind = call.kind();
    let options = delete_options(call)?;
    let old = state
        .store
        .get(kind, call.namespace(), name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(kind, name))?;
    for (field, label) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
        if let Some(want) =
            options.pointer(&format!("/preconditions/{field}")).and_then(Value::as_str)
        {
            let have = meta_str(&old, field);
            if want != have {
                let cause = format!(
                    "Precondition failed: {label} in precondition: {want}, {label} in object meta: {have}"
                );
                return Err(ApiError::precondition_failed(kind, call.namespace(), name, &cause));
            }
        }
    }
    let dry_run = call.req.dry_run()
        || options
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.contains(&json!("All")));
    Ok(Reply::json(200, &delete_one(call, state, old, dry_run)))
}

/// Deletes one object and returns what the apiserver answers with.
fn delete_one(call: &Call<'_>, state: &mut State, old: Value, dry_run: bool) -> Value {
    let kind = call.kind();
    let (ns, name) = (meta_str(&old, "namespace").to_string(), meta_str(&old, "name").to_string());
    let now = now_rfc3339();

    // Namespaces answer with themselves, terminating; their contents go at once here.
    if kind.plural == "namespaces" {
        let mut gone = old.clone();
        gone["metadata"]["deletionTimestamp"] = json!(now);
        gone["status"]["phase"] = json!("Terminating");
        if !dry_run {
            state.store.remove_namespace_contents(&name);
            state.store.remove(kind, "", &name);
        }
        return call.present(&gone);
    }

    // Finalizers hold the object, marked for deletion, until they are removed.
    let finalizers = old.pointer("/metadata/finalizers").and_then(Value::as_array);
    if finalizers.is_some_and(|f| !f.is_empty()) {
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return call.present(&old);
        }
        let mut marked = old.clone();
        marked["metadata"]["deletionTimestamp"] = json!(now);
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if !dry_run {
            marked["metadata"]["resourceVersion"] = json!(state.store.next_rv().to_string());
            state.store.put(kind, marked.clone());
        }
        return call.present(&marked);
    }
    if !dry_run {
        state.store.remove(kind, &ns, &name);
    }
    if matches!(kind.plural, "pods" | "services") && kind.group.is_empty() {
        call.present(&old)
    } else {
        success_status(kind, &name, meta_str(&old, "uid"))
    }
}

pub fn delete_collection(call: &Call<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let kind = call.kind();
    let labels = LabelSelector::parse(call.req.param("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(call.req.param("fieldSelector").unwrap_or(""), kind)?;
    let namespace = call.target.namespace.as_deref();
    let doomed: Vec<Value> = state
        .store
        .list(kind, namespace, None)
        .filter(|o| {
            labels.matches(o.pointer("/metadata/labels").and_then(Value::as_object))
                && fields.matches(o)
        })
        .cloned()
        .collect();
    let dry_run = call.req.dry_run();
    let mut items = Vec::new();
    for old in doomed {
        let answer = delete_one(call, state, old.clone(), dry_run);
        items.push(if answer["kind"] == "Status" { call.present(&old) } else { answer });
    }
    Ok(Reply::json(
        200,
        &json!({
            "kind": format!("{}List", kind.kind),
            "apiVersion": call.api_version(),
            "metadata": {"resourceVersion": state.store.current_rv().to_string()},
            "items": items,
        }),
    ))
}
