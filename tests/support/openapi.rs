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

fn param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string"}, "uniqueItems": true})
}

fn operation(kind: &Kind, version: &str, action: &str, id: &str, params: &[Value]) -> Value {
    json!({
        "description": format!("{action} {}", kind.kind),
        "operationId": id,
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": kind.group, "version": version, "kind": kind.kind},
    })
}

fn document(catalog: &Catalog, group: &str, version: &str) -> Value {
    let dry_run =
        param("dryRun", "When present, indicates that modifications should not be persisted.");
    let manager = param(
        "fieldManager",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
    );
    let validation = param(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
    );
    let force = json!({"name": "force", "in": "query", "description": "Force is going to \"force\" Apply requests.", "schema": {"type": "boolean"}, "uniqueItems": true});
    let write = [dry_run.clone(), manager.clone(), validation.clone()];
    let patch = [dry_run.clone(), manager, validation, force];
    let list = [
        param(
            "labelSelector",
            "A selector to restrict the list of returned objects by their labels.",
        ),
        param(
            "fieldSelector",
            "A selector to restrict the list of returned objects by their fields.",
        ),
        param("limit", "limit is a maximum number of responses to return for a list call."),
        param(
            "continue",
            "The continue option should be set when retrieving more results from the server.",
        ),
        param(
            "resourceVersion",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
        ),
        param("watch", "Watch for changes to the described resources."),
    ];
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
        let ids = |verb: &str, suffix: &str| {
            format!("{verb}{}{k}{suffix}", if kind.namespaced { "Namespaced" } else { "" })
        };
        paths.insert(
            collection.clone(),
            json!({
                "get": operation(kind, version, "list", &ids("list", ""), &list),
                "post": operation(kind, version, "post", &ids("create", ""), &write),
                "delete": operation(kind, version, "deletecollection", &ids("deleteCollection", ""), std::slice::from_ref(&dry_run)),
            }),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({
                "get": operation(kind, version, "get", &ids("read", ""), &[]),
                "put": operation(kind, version, "put", &ids("replace", ""), &write),
                "patch": operation(kind, version, "patch", &ids("patch", ""), &patch),
                "delete": operation(kind, version, "delete", &ids("delete", ""), std::slice::from_ref(&dry_run)),
            }),
        );
        if kind.has_status() {
            paths.insert(
                format!("{collection}/{{name}}/status"),
                json!({
                    "get": operation(kind, version, "get", &ids("read", "Status"), &[]),
                    "put": operation(kind, version, "put", &ids("replace", "Status"), &write),
                    "patch": operation(kind, version, "patch", &ids("patch", "Status"), &patch),
                }),
            );
        }
        if kind.namespaced {
            paths.insert(
                format!("{base}/{}", kind.plural),
                json!({"get": operation(kind, version, "list", &format!("list{k}ForAllNamespaces"), &list)}),
            );
        }
        let gvk = json!([{"group": group, "version": version, "kind": k}]);
        schemas.insert(
            schema_name(kind, version),
            json!({
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "default": {}},
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                },
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": gvk,
            }),
        );
        schemas.insert(
            format!("{}List", schema_name(kind, version)),
            json!({
                "type": "object",
                "required": ["items"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{}", schema_name(kind, version))}},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                },
                "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": format!("{k}List")}],
            }),
        );
    }
    schemas.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".into(),
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
