//! Field sets for managed fields: paths into an object, `fieldsV1` encoding, comparison.
//!
//! A set holds member paths only, as structured-merge-diff does: leaves (scalars, atomic
//! lists, set elements) and the items of keyed lists. Maps are never members themselves,
//! and empty maps and lists contribute nothing.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::catalog::{Kind, ListType};

/// One step of a path: `f:name`, `k:{"name":"x"}`, `v:"x"` or `i:0` in `fieldsV1`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Elem {
    Field(String),
    /// Canonical JSON of the key object (keys sorted).
    Key(String),
    /// Canonical JSON of a set element.
    Value(String),
    Index(usize),
}

pub type Path = Vec<Elem>;

/// A set of member paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<Path>);

/// Which part of an object a write may own: the main resource or its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Main,
    Status,
}

const STRIPPED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

impl FieldSet {
    /// The fields `obj` sets, minus those the server owns (identity, status or spec).
    pub fn from_object(obj: &Value, kind: &Kind, scope: Scope) -> FieldSet {
        let mut out = BTreeSet::new();
        if let Value::Object(map) = obj {
            walk_map(map, &mut Vec::new(), "", kind, &mut out);
        }
        out.retain(|p| !is_stripped(p, kind, scope));
        FieldSet(out)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Encodes as the `fieldsV1` trie: `{"f:spec":{"f:hosts":{}}}`, `"."` for members
    /// that also have children.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for elem in path {
                let entry =
                    node.entry(encode_elem(elem)).or_insert_with(|| Value::Object(Map::new()));
                node = match entry {
                    Value::Object(m) => m,
                    _ => unreachable!("fieldsV1 nodes are always objects"),
                };
            }
            node.insert(".".to_string(), Value::Object(Map::new()));
        }
        collapse(&mut root);
        Value::Object(root)
    }

    /// Decodes a `fieldsV1` trie.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, String> {
        let mut out = BTreeSet::new();
        decode_node(value, &mut Vec::new(), &mut out)?;
        Ok(FieldSet(out))
    }
}

/// Turns `{".":{}}` leaves into `{}` the way the apiserver writes them.
fn collapse(node: &mut Map<String, Value>) {
    for (key, child) in node.iter_mut() {
        if key == "." {
            continue;
        }
        if let Value::Object(m) = child {
            if m.len() == 1 && m.contains_key(".") {
                m.clear();
            } else {
                collapse(m);
            }
        }
    }
}

fn decode_node(value: &Value, path: &mut Path, out: &mut BTreeSet<Path>) -> Result<(), String> {
    let map = value.as_object().ok_or("fieldsV1 node is not an object")?;
    if map.is_empty() && !path.is_empty() {
        out.insert(path.clone());
    }
    for (key, child) in map {
        if key == "." {
            out.insert(path.clone());
            continue;
        }
        path.push(decode_elem(key)?);
        decode_node(child, path, out)?;
        path.pop();
    }
    Ok(())
}

fn encode_elem(elem: &Elem) -> String {
    match elem {
        Elem::Field(f) => format!("f:{f}"),
        Elem::Key(k) => format!("k:{k}"),
        Elem::Value(v) => format!("v:{v}"),
        Elem::Index(i) => format!("i:{i}"),
    }
}

fn decode_elem(key: &str) -> Result<Elem, String> {
    let (prefix, rest) = key.split_once(':').ok_or_else(|| format!("bad fieldsV1 key {key:?}"))?;
    let canonical = |text: &str| {
        serde_json::from_str::<Value>(text)
            .map(|v| v.to_string())
            .map_err(|e| format!("bad fieldsV1 key {key:?}: {e}"))
    };
    match prefix {
        "f" => Ok(Elem::Field(rest.to_string())),
        "k" => Ok(Elem::Key(canonical(rest)?)),
        "v" => Ok(Elem::Value(canonical(rest)?)),
        "i" => rest.parse().map(Elem::Index).map_err(|_| format!("bad fieldsV1 key {key:?}")),
        _ => Err(format!("bad fieldsV1 key {key:?}")),
    }
}

fn is_stripped(path: &Path, kind: &Kind, scope: Scope) -> bool {
    let field = |i: usize| match path.get(i) {
        Some(Elem::Field(f)) => Some(f.as_str()),
        _ => None,
    };
    match (scope, field(0)) {
        (_, Some("apiVersion" | "kind")) => true,
        (_, Some("metadata")) if field(1).is_some_and(|f| STRIPPED_METADATA.contains(&f)) => true,
        (Scope::Main, Some("status")) => kind.has_status(),
        (Scope::Status, Some("status")) => false,
        (Scope::Status, _) => true,
        _ => false,
    }
}

fn walk_map(
    map: &Map<String, Value>,
    path: &mut Path,
    norm: &str,
    kind: &Kind,
    out: &mut BTreeSet<Path>,
) {
    for (key, child) in map {
        path.push(Elem::Field(key.clone()));
        let child_norm = if norm.is_empty() { key.clone() } else { format!("{norm}.{key}") };
        walk_value(child, path, &child_norm, kind, out);
        path.pop();
    }
}

fn walk_value(value: &Value, path: &mut Path, norm: &str, kind: &Kind, out: &mut BTreeSet<Path>) {
    match value {
        Value::Object(map) => walk_map(map, path, norm, kind, out),
        Value::Array(items) => match kind.list_type(norm) {
            Some(ListType::Map(keys)) if items.iter().all(Value::is_object) => {
                let item_norm = format!("{norm}[]");
                for item in items {
                    path.push(Elem::Key(item_key(item, keys)));
                    out.insert(path.clone());
                    if let Value::Object(m) = item {
                        walk_map(m, path, &item_norm, kind, out);
                    }
                    path.pop();
                }
            }
            Some(ListType::Set) => {
                for item in items {
                    path.push(Elem::Value(canonical(item)));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

/// Compact JSON with sorted keys, the form set elements and keys are compared in.
fn canonical(value: &Value) -> String {
    value.to_string()
}

/// The canonical key of a keyed-list item: the key fields it has, sorted by name.
pub fn item_key(item: &Value, keys: &[&str]) -> String {
    let mut key = Map::new();
    for k in keys {
        if let Some(v) = item.get(*k) {
            key.insert((*k).to_string(), v.clone());
        }
    }
    Value::Object(key).to_string()
}

/// A path as the apiserver prints it in conflicts: `.spec.ports[name="http"].port`.
pub fn path_string(path: &[Elem]) -> String {
    let mut out = String::new();
    for elem in path {
        match elem {
            Elem::Field(f) => {
                out.push('.');
                out.push_str(f);
            }
            Elem::Key(k) => {
                let pairs: Vec<String> = match serde_json::from_str::<Value>(k) {
                    Ok(Value::Object(m)) => m.iter().map(|(n, v)| format!("{n}={v}")).collect(),
                    _ => vec![k.clone()],
                };
                out.push_str(&format!("[{}]", pairs.join(",")));
            }
            Elem::Value(v) => out.push_str(&format!("[={v}]")),
            Elem::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The value a path leads to in `obj`, if any.
pub fn value_at<'a>(obj: &'a Value, path: &[Elem]) -> Option<&'a Value> {
    let mut cur = obj;
    for elem in path {
        cur = match (elem, cur) {
            (Elem::Field(f), Value::Object(m)) => m.get(f)?,
            (Elem::Key(k), Value::Array(items)) => items.iter().find(|i| key_matches(i, k))?,
            (Elem::Value(v), Value::Array(items)) => items.iter().find(|i| canonical(i) == *v)?,
            (Elem::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn key_matches(item: &Value, key: &str) -> bool {
    let Ok(Value::Object(want)) = serde_json::from_str::<Value>(key) else {
        return false;
    };
    let keys: Vec<&str> = want.keys().map(String::as_str).collect();
    item.is_object() && item_key(item, &keys) == key && !keys.is_empty()
}

/// Removes what `path` leads to; parents that this leaves empty go too.
pub fn remove_path(obj: &mut Value, path: &[Elem]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(parent) = value_at_mut(obj, parents) else {
        return;
    };
    match (last, parent) {
        (Elem::Field(f), Value::Object(m)) => {
            m.remove(f);
        }
        (Elem::Key(k), Value::Array(items)) => items.retain(|i| !key_matches(i, k)),
        (Elem::Value(v), Value::Array(items)) => items.retain(|i| canonical(i) != *v),
        (Elem::Index(i), Value::Array(items)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => return,
    }
    let emptied = match value_at(obj, parents) {
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    if emptied && !parents.is_empty() {
        remove_path(obj, parents);
    }
}

fn value_at_mut<'a>(obj: &'a mut Value, path: &[Elem]) -> Option<&'a mut Value> {
    let mut cur = obj;
    for elem in path {
        cur = match (elem, cur) {
            (Elem::Field(f), Value::Object(m)) => m.get_mut(f)?,
            (Elem::Key(k), Value::Array(items)) => items.iter_mut().find(|i| key_matches(i, k))?,
            (Elem::Value(v), Value::Array(items)) => {
                items.iter_mut().find(|i| canonical(i) == *v)?
            }
            (Elem::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// What changed between two versions of an object, in member paths.
#[derive(Debug, Default)]
pub struct Comparison {
    pub added: FieldSet,
    pub removed: FieldSet,
    pub modified: FieldSet,
}

/// Compares two objects whose field sets are already computed.
pub fn compare(old: &Value, new: &Value, old_set: &FieldSet, new_set: &FieldSet) -> Comparison {
    let modified = old_set
        .0
        .intersection(&new_set.0)
        .filter(|p| !matches!(p.last(), Some(Elem::Key(_))))
        .filter(|p| value_at(old, p) != value_at(new, p))
        .cloned()
        .collect();
    Comparison {
        added: new_set.difference(old_set),
        removed: old_set.difference(new_set),
        modified: FieldSet(modified),
    }
}

/// Merges an applied configuration into the live object: maps field by field, keyed
/// lists item by item, sets as a union, everything else replaced.
pub fn merge(live: &Value, config: &Value, norm: &str, kind: &Kind) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            let mut out = l.clone();
            for (key, cv) in c {
                let child_norm =
                    if norm.is_empty() { key.clone() } else { format!("{norm}.{key}") };
                let merged = match l.get(key) {
                    Some(lv) => merge(lv, cv, &child_norm, kind),
                    None => cv.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => match kind.list_type(norm) {
            Some(ListType::Map(keys)) if l.iter().chain(c).all(Value::is_object) => {
                let item_norm = format!("{norm}[]");
                let mut out: Vec<Value> = Vec::with_capacity(l.len() + c.len());
                for li in l {
                    let key = item_key(li, keys);
                    match c.iter().find(|ci| item_key(ci, keys) == key) {
                        Some(ci) => out.push(merge(li, ci, &item_norm, kind)),
                        None => out.push(li.clone()),
                    }
                }
                for ci in c {
                    let key = item_key(ci, keys);
                    if !l.iter().any(|li| item_key(li, keys) == key) {
                        out.push(ci.clone());
                    }
                }
                Value::Array(out)
            }
            Some(ListType::Set) => {
                let mut out = l.clone();
                out.extend(c.iter().filter(|ci| !l.contains(ci)).cloned());
                Value::Array(out)
            }
            _ => config.clone(),
        },
        _ => config.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::support::catalog::{Catalog, IstioApis};

    #[test]
    fn fields_v1_round_trips_with_keyed_lists() {
        let catalog = Catalog::new(IstioApis::Current, true);
        let svc = catalog.resolve("services").unwrap();
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "a", "labels": {"app": "a"}},
            "spec": {"ports": [{"port": 80, "protocol": "TCP", "name": "http"}]},
        });
        let set = FieldSet::from_object(&obj, svc, Scope::Main);
        let encoded = set.to_fields_v1();
        assert_eq!(
            encoded,
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {
                    ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}
                }}},
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&encoded).unwrap(), set);
        let port = set.0.iter().find(|p| p.len() == 4).unwrap();
        assert_eq!(path_string(port), ".spec.ports[port=80,protocol=\"TCP\"].name");
    }
}
