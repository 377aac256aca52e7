//! Deletes: one object (with preconditions and finalizers) or a selected collection.

use serde_json::{Value, json};

use super::reads::Call;
use super::router::Reply;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, success_status};
use super::store::{State, meta_str};
use super::util::now_rfc3339;

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
        .ok_or_else(|| ApiError::not_found(kind, name))?;
    if kind.plural == "namespaces" && ["default", "kube-system", "kube-public"].contains(&name) {
        return Err(ApiError::forbidden_reason(kind, name, "this namespace may not be deleted"));
    }
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
