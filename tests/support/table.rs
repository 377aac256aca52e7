//! Response shapes other than the object itself: `Table` and `PartialObjectMetadata`.

use serde_json::{Value, json};

use super::catalog::Kind;
use super::util::{human_duration, now_unix, parse_rfc3339};

/// What a GET or LIST answers with, chosen from the Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    Table,
    Metadata,
}

/// Picks the first acceptable media range of an Accept header, as the apiserver does.
/// `None` means nothing acceptable was offered (406).
pub fn negotiate(accept: &str, list: bool) -> Option<Shape> {
    if accept.trim().is_empty() {
        return Some(Shape::Object);
    }
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        if !matches!(media.as_str(), "application/json" | "*/*" | "application/*") {
            continue;
        }
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let shape = match (param("as"), param("g"), param("v")) {
            (None, _, _) => Some(Shape::Object),
            (Some("Table"), Some("meta.k8s.io"), Some("v1" | "v1beta1")) => Some(Shape::Table),
            (Some("PartialObjectMetadataList"), Some("meta.k8s.io"), Some("v1" | "v1beta1"))
                if list =>
            {
                Some(Shape::Metadata)
            }
            (Some("PartialObjectMetadata"), Some("meta.k8s.io"), Some("v1" | "v1beta1"))
                if !list =>
            {
                Some(Shape::Metadata)
            }
            _ => None,
        };
        if shape.is_some() {
            return shape;
        }
    }
    None
}

/// The metadata-only form of an object.
pub fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// A `Table` of `objects`, with `list_meta` as its metadata.
pub fn table(kind: &Kind, objects: &[Value], list_meta: Value, include: &str) -> Value {
    let mut columns = vec![json!({
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": "Name must be unique within a namespace.",
        "priority": 0,
    })];
    for (name, path, ty) in kind.columns {
        columns.push(json!({
            "name": name,
            "type": ty,
            "format": "",
            "description": format!("{name} ({path})"),
            "priority": 0,
        }));
    }
    let now = now_unix();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut cells = vec![obj.pointer("/metadata/name").cloned().unwrap_or(Value::Null)];
            cells.extend(kind.columns.iter().map(|(_, path, ty)| cell(obj, path, ty, now)));
            let mut row = json!({"cells": cells});
            match include {
                "None" => {}
                "Object" => row["object"] = obj.clone(),
                _ => row["object"] = partial(obj),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

fn cell(obj: &Value, path: &str, ty: &str, now: i64) -> Value {
    if let Some(computed) = path.strip_prefix('@') {
        return computed_cell(obj, computed);
    }
    let found = eval_path(obj, path);
    if found.is_empty() {
        return Value::Null;
    }
    if ty == "date" {
        return match found[0].as_str().and_then(parse_rfc3339) {
            Some(t) => json!(human_duration(now - t)),
            None => Value::Null,
        };
    }
    if found.len() == 1 && (ty == "integer" || ty == "number") && found[0].is_number() {
        return found[0].clone();
    }
    let texts: Vec<String> = found
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    json!(texts.join(" "))
}

fn computed_cell(obj: &Value, what: &str) -> Value {
    let len = |p: &str| obj.pointer(p).and_then(Value::as_array).map_or(0, Vec::len);
    let int = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let statuses = obj.pointer("/status/containerStatuses").and_then(Value::as_array);
    match what {
        "ready-containers" => {
            let ready = statuses
                .map_or(0, |s| s.iter().filter(|c| c.get("ready") == Some(&json!(true))).count());
            json!(format!("{ready}/{}", len("/spec/containers")))
        }
        "restarts" => {
            let total: i64 = statuses.map_or(0, |s| {
                s.iter().filter_map(|c| c.get("restartCount").and_then(Value::as_i64)).sum()
            });
            json!(total.to_string())
        }
        "ports" => {
            let ports: Vec<String> = obj
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                            format!("{}/{proto}", p.get("port").unwrap_or(&Value::Null))
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!(if ports.is_empty() { "<none>".to_string() } else { ports.join(",") })
        }
        "data-count" => {
            let count = |p: &str| obj.pointer(p).and_then(Value::as_object).map_or(0, |m| m.len());
            json!(count("/data") + count("/binaryData"))
        }
        "ready-replicas" => json!(format!(
            "{}/{}",
            int("/status/readyReplicas"),
            obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
        )),
        "webhook-count" => json!(len("/webhooks")),
        _ => Value::Null,
    }
}

/// A small JSONPath: `.a.b`, `[*]`, `[0]` and `[?(@.k=="v")]`, enough for printer columns.
pub fn eval_path(obj: &Value, path: &str) -> Vec<Value> {
    let mut current = vec![obj.clone()];
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let field = &r[..end];
            current = current.iter().filter_map(|v| v.get(field).cloned()).collect();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else {
                return Vec::new();
            };
            let inner = &r[..end];
            rest = &r[end + 1..];
            current = current
                .iter()
                .filter_map(Value::as_array)
                .flat_map(|items| select(items, inner))
                .collect();
        } else {
            return Vec::new();
        }
    }
    current.into_iter().filter(|v| !v.is_null()).collect()
}

fn select(items: &[Value], selector: &str) -> Vec<Value> {
    if selector == "*" {
        return items.to_vec();
    }
    if let Ok(i) = selector.parse::<usize>() {
        return items.get(i).cloned().into_iter().collect();
    }
    let filter = selector.strip_prefix("?(@.").and_then(|s| s.strip_suffix(')'));
    let Some((field, want)) = filter.and_then(|f| f.split_once("==")) else {
        return Vec::new();
    };
    let want = want.trim_matches('"');
    items.iter().filter(|i| i.get(field).and_then(Value::as_str) == Some(want)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation_follows_order() {
        let kubectl_get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(kubectl_get, true), Some(Shape::Table));
        let meta = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(negotiate(meta, true), Some(Shape::Metadata));
        assert_eq!(negotiate(meta, false), None);
        assert_eq!(negotiate("application/yaml", false), None);
        assert_eq!(negotiate("application/json, */*", false), Some(Shape::Object));
    }

    #[test]
    fn jsonpath_filters() {
        let obj = json!({"status": {"conditions": [
            {"type": "Accepted", "status": "True"}, {"type": "Programmed", "status": "False"}
        ]}});
        let got = eval_path(&obj, ".status.conditions[?(@.type==\"Programmed\")].status");
        assert_eq!(got, vec![json!("False")]);
    }
}
