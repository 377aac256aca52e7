//! `/openapi/v3`: the root index and one small document per group version.
//!
//! The documents carry what clients look up: every operation with its
//! `x-kubernetes-group-version-kind` and query parameters (kubectl checks that PATCH
//! takes `fieldValidation` before `apply --server-side`), and one schema per kind with
//! `x-kubernetes-group-version-kind`. Kind schemas keep unknown fields: the server states
//! no Istio or Gateway API field schema of its own.

use ring::digest::{SHA512, digest};
use serde_json::{Map, Value, json};

use super::catalog::{Catalog, Kind};
use super::router::Reply;

/// The group versions with a document, as the root names them (`api/v1`, `apis/g/v`).
fn documents(catalog: &Catalog) -> Vec<(String, &'static str, &'static str)> {
    let mut out = Vec::new();
    for (group, versions) in catalog.groups() {
        for v in versions {
            let key =
                if group.is_empty() { format!("api/{v}") } else { format!("apis/{group}/{v}") };
            out.push((key, group, v));
        }
    }
    out
}

fn hash(doc: &Value) -> String {
    digest(&SHA512, doc.to_string().as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// `/openapi/v3`: `{"paths": {"apis/g/v": {"serverRelativeURL": "...?hash=..."}}}`.
pub fn root(catalog: &Catalog) -> Reply {
    let mut paths = Map::new();
    for (key, group, version) in documents(catalog) {
        let url = format!("/openapi/v3/{key}?hash={}", hash(&document(catalog, group, version)));
        paths.insert(key, json!({"serverRelativeURL": url}));
    }
    Reply::json(200, &json!({"paths": paths}))
}

/// `/openapi/v3/{key}`: one group version's document, or the apiserver's plain 404.
pub fn doc(catalog: &Catalog, key: &str) -> Reply {
    match documents(catalog).into_iter().find(|(k, _, _)| k == key) {
        Some((_, group, version)) => Reply::json(200, &document(catalog, group, version)),
        None => Reply::text(404, "404 page not found\n"),
    }
}

/// The schema name the apiserver uses: `io.k8s.api.core.v1.Pod`, `io.istio.networking.v1.X`.
fn schema_name(kind: &Kind, version: &str) -> String {
    let prefix = match kind.group {
        "" => "io.k8s.api.core".to_string(),
        g if !g.contains('.') => format!("io.k8s.api.{g}"),
        "admissionregistration.k8s.io" => "io.k8s.api.admissionregistration".to_string(),
        g => g.split('.').rev().collect::<Vec<_>>().join("."),
    };
    format!("{prefix}.{version}.{}", kind.kind)
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn param(name: &str, ty: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": ty},
        "uniqueItems": true,
    })
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn operation(kind: &Kind, version: &str, action: &str, id: &str, params: &[Value]) -> Value {
    json!({
        "description": format!("{action} {}", kind.kind),
        "operationId": id,
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(kind.group, version, kind.kind),
    })
}

/// A kind's schema: typed metadata, free-form everything else.
fn kind_schema(group: &str, version: &str, kind: &str) -> Value {
    let free = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}]},
            "spec": free,
            "status": free,
        },
        "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-group-version-kind": [gvk(group, version, kind)],
    })
}

fn list_schema(group: &str, version: &str, kind: &str, item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
            "kind": {"type": "string"},
            "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        },
        "x-kubernetes-group-version-kind": [gvk(group, version, &format!("{kind}List"))],
    })
}

fn document(catalog: &Catalog, group: &str, version: &str) -> Value {
    let dry_run = param("dryRun", "string", "Do not persist the change when set to All.");
    let manager = param("fieldManager", "string", "Name of the actor making the change.");
    let validation =
        param("fieldValidation", "string", "How to treat unknown or duplicate fields.");
    let force = param("force", "boolean", "Take ownership of conflicting fields on apply.");
    let write = [dry_run.clone(), manager.clone(), validation.clone()];
    let patch = [dry_run.clone(), manager, validation, force];
    let delete = [dry_run];
    let list: Vec<Value> = [
        ("labelSelector", "Only objects whose labels match."),
        ("fieldSelector", "Only objects whose fields match."),
        ("limit", "At most this many objects per page."),
        ("continue", "The token of the next page."),
        ("resourceVersion", "Which resource versions may serve the request."),
        ("watch", "Stream changes instead of listing."),
    ]
    .iter()
    .map(|(n, d)| param(n, "string", d))
    .collect();
    let base = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };

    let mut paths = Map::new();
    let mut schemas = Map::new();
    for kind in catalog.in_version(group, version) {
        let k = kind.kind;
        let scope = if kind.namespaced { "/namespaces/{namespace}" } else { "" };
        let collection = format!("{base}{scope}/{}", kind.plural);
        let id = |verb: &str, suffix: &str| {
            format!("{verb}{}{k}{suffix}", if kind.namespaced { "Namespaced" } else { "" })
        };
        let op = |action: &str, id: String, params: &[Value]| {
            operation(kind, version, action, &id, params)
        };
        paths.insert(
            collection.clone(),
            json!({
                "get": op("list", id("list", ""), &list),
                "post": op("post", id("create", ""), &write),
                "delete": op("deletecollection", id("deleteCollection", ""), &delete),
            }),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({
                "get": op("get", id("read", ""), &[]),
                "put": op("put", id("replace", ""), &write),
                "patch": op("patch", id("patch", ""), &patch),
                "delete": op("delete", id("delete", ""), &delete),
            }),
        );
        if kind.has_status() {
            paths.insert(
                format!("{collection}/{{name}}/status"),
                json!({
                    "get": op("get", id("read", "Status"), &[]),
                    "put": op("put", id("replace", "Status"), &write),
                    "patch": op("patch", id("patch", "Status"), &patch),
                }),
            );
        }
        if kind.namespaced {
            let all = op("list", format!("list{k}ForAllNamespaces"), &list);
            paths.insert(format!("{base}/{}", kind.plural), json!({"get": all}));
        }
        let name = schema_name(kind, version);
        schemas.insert(format!("{name}List"), list_schema(group, version, k, &name));
        schemas.insert(name, kind_schema(group, version, k));
    }
    schemas.insert(
        OBJECT_META.into(),
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "x-kubernetes-preserve-unknown-fields": true,
        }),
    );
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}
