//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

use serde_json::{Map, Value};

/// Applies a merge patch: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut out = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (key, pv) in p {
                if pv.is_null() {
                    out.remove(key);
                } else {
                    let merged = merge_patch(out.get(key).unwrap_or(&Value::Null), pv);
                    out.insert(key.clone(), merged);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Applies a JSON patch; errors read like the apiserver's JSON patch library's.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = patch.as_array().ok_or_else(|| {
        PatchError::Decode(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch".into(),
        )
    })?;
    let mut doc = target.clone();
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| PatchError::Apply(format!("operation missing path: {name}")))?;
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                PatchError::Apply(format!("missing value for {name} operation at {path}"))
            })
        };
        let from = || {
            op.get("from").and_then(Value::as_str).ok_or_else(|| {
                PatchError::Apply(format!("missing from for {name} operation at {path}"))
            })
        };
        match name {
            "add" => add(&mut doc, path, value()?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                let v = value()?;
                remove(&mut doc, path).map_err(|_| {
                    PatchError::Apply(format!(
                        "replace operation does not apply: doc is missing key: {path}: missing value"
                    ))
                })?;
                add(&mut doc, path, v)?;
            }
            "move" => {
                let v = remove(&mut doc, from()?)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let v = doc.pointer(&pointer(from()?)?).cloned().ok_or_else(|| {
                    PatchError::Apply(format!("copy from does not exist: {path}"))
                })?;
                add(&mut doc, path, v)?;
            }
            "test" => {
                let want = value()?;
                if doc.pointer(&pointer(path)?) != Some(&want) {
                    return Err(PatchError::Apply(format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            other => {
                return Err(PatchError::Apply(format!("Unexpected kind: {other}")));
            }
        }
    }
    Ok(doc)
}

/// Why a JSON patch failed: the document could not be read, or an operation failed.
#[derive(Debug)]
pub enum PatchError {
    Decode(String),
    Apply(String),
}

/// Checks a JSON pointer and returns it in the form `Value::pointer` takes.
fn pointer(path: &str) -> Result<String, PatchError> {
    if path.is_empty() || path.starts_with('/') {
        Ok(path.to_string())
    } else {
        Err(PatchError::Apply(format!("invalid JSON pointer: {path:?}")))
    }
}

fn split(path: &str) -> Result<(String, String), PatchError> {
    let p = pointer(path)?;
    let (parent, last) = p.rsplit_once('/').unwrap_or(("", ""));
    Ok((parent.to_string(), last.replace("~1", "/").replace("~0", "~")))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    let missing = || {
        PatchError::Apply(format!(
            "add operation does not apply: doc is missing path: {path:?}: missing value"
        ))
    };
    match doc.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(last, value);
        }
        Value::Array(a) if last == "-" => a.push(value),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i > a.len() {
                return Err(PatchError::Apply(format!(
                    "add operation does not apply: doc is missing path: {path:?}: invalid index"
                )));
            }
            a.insert(i, value);
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, last) = split(path)?;
    let missing = || {
        PatchError::Apply(format!(
            "remove operation does not apply: doc is missing path: {path:?}: missing value"
        ))
    };
    match doc.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => m.remove(&last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i < a.len() { Ok(a.remove(i)) } else { Err(missing()) }
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        let patch = json!({"a": "z", "c": {"f": null}});
        assert_eq!(merge_patch(&doc, &patch), json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn json_patch_ops_and_failing_test() {
        let doc = json!({"spec": {"hosts": ["a"]}});
        let ok = json!([
            {"op": "test", "path": "/spec/hosts/0", "value": "a"},
            {"op": "add", "path": "/spec/hosts/-", "value": "b"},
            {"op": "copy", "from": "/spec/hosts", "path": "/spec/copy"},
            {"op": "remove", "path": "/spec/hosts/0"},
        ]);
        assert_eq!(
            json_patch(&doc, &ok).unwrap(),
            json!({"spec": {"hosts": ["b"], "copy": ["a", "b"]}})
        );
        let bad = json!([{"op": "test", "path": "/spec/hosts/0", "value": "x"}]);
        match json_patch(&doc, &bad) {
            Err(PatchError::Apply(m)) => {
                assert_eq!(m, "testing value /spec/hosts/0 failed: test failed")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
