//! Kubernetes protobuf request bodies for the few kinds kubectl sends that way and the
//! server reads: Namespace, ConfigMap, Secret and ServiceAccount (imperative `create`) and
//! SelfSubjectAccessReview (`auth can-i`).
//!
//! The body is `k8s\0` and a `runtime.Unknown` whose `raw` field holds the object; only
//! the fields those commands set are read.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::util::base64_encode;

/// One decoded protobuf field value.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of one message, in wire order.
fn fields(buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let wire = match key & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            1 | 5 => {
                pos += if key & 7 == 1 { 8 } else { 4 };
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let bytes = buf.get(pos..pos.checked_add(len)?)?;
                pos += len;
                Wire::Bytes(bytes)
            }
            _ => return None,
        };
        out.push((key >> 3, wire));
    }
    (pos == buf.len()).then_some(out)
}

fn text(bytes: &[u8]) -> Option<Value> {
    String::from_utf8(bytes.to_vec()).ok().map(Value::String)
}

/// A `map<string, V>` entry: key is field 1, value field 2.
fn entry(bytes: &[u8], binary: bool) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (n, w) in fields(bytes)? {
        match (n, w) {
            (1, Wire::Bytes(b)) => key = String::from_utf8(b.to_vec()).ok()?,
            (2, Wire::Bytes(b)) if binary => value = json!(base64_encode(b)),
            (2, Wire::Bytes(b)) => value = text(b)?,
            _ => {}
        }
    }
    Some((key, value))
}

fn metadata(bytes: &[u8]) -> Option<Value> {
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    for (n, w) in fields(bytes)? {
        let Wire::Bytes(b) = w else { continue };
        let field = match n {
            1 => "name",
            2 => "generateName",
            3 => "namespace",
            11 | 12 => {
                let (k, v) = entry(b, false)?;
                if n == 11 {
                    labels.insert(k, v)
                } else {
                    annotations.insert(k, v)
                };
                continue;
            }
            14 => {
                finalizers.push(text(b)?);
                continue;
            }
            _ => continue,
        };
        meta.insert(field.into(), text(b)?);
    }
    meta.retain(|_, v| v.as_str() != Some(""));
    for (key, map) in [("labels", labels), ("annotations", annotations)] {
        if !map.is_empty() {
            meta.insert(key.into(), Value::Object(map));
        }
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::Array(finalizers));
    }
    Some(Value::Object(meta))
}

/// `SelfSubjectAccessReviewSpec`: resource attributes (field 1) or non-resource ones (2).
fn access_review_spec(bytes: &[u8]) -> Option<Value> {
    let mut spec = Map::new();
    for (n, w) in fields(bytes)? {
        let (Wire::Bytes(b), 1 | 2) = (w, n) else { continue };
        let names: &[&str] = if n == 1 {
            &["namespace", "verb", "group", "version", "resource", "subresource", "name"]
        } else {
            &["path", "verb"]
        };
        let mut attrs = Map::new();
        for (m, v) in fields(b)? {
            let (Wire::Bytes(t), Some(name)) =
                (v, names.get(usize::try_from(m).ok()?.wrapping_sub(1)))
            else {
                continue;
            };
            attrs.insert((*name).to_string(), text(t)?);
        }
        let key = if n == 1 { "resourceAttributes" } else { "nonResourceAttributes" };
        spec.insert(key.into(), Value::Object(attrs));
    }
    Some(Value::Object(spec))
}

/// Decodes a protobuf body of one of the supported kinds into its JSON form.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let unknown = body.strip_prefix(b"k8s\0").ok_or("missing the k8s protobuf prefix")?;
    let bad = || "malformed protobuf body".to_string();
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, w) in fields(unknown).ok_or_else(bad)? {
        match (n, w) {
            (1, Wire::Bytes(type_meta)) => {
                for (m, v) in fields(type_meta).ok_or_else(bad)? {
                    if let Wire::Bytes(b) = v {
                        let s = String::from_utf8_lossy(b).into_owned();
                        if m == 1 {
                            api_version = s
                        } else if m == 2 {
                            kind = s
                        }
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    let mut maps: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for (n, w) in fields(raw).ok_or_else(bad)? {
        match (kind.as_str(), n, w) {
            (_, 1, Wire::Bytes(b)) => {
                obj.insert("metadata".into(), metadata(b).ok_or_else(bad)?);
            }
            ("Namespace", 2, Wire::Bytes(b)) => {
                let mut finalizers = Vec::new();
                for (m, v) in fields(b).ok_or_else(bad)? {
                    if let (1, Wire::Bytes(f)) = (m, v) {
                        finalizers.push(text(f).ok_or_else(bad)?);
                    }
                }
                obj.insert("spec".into(), json!({"finalizers": finalizers}));
            }
            ("ConfigMap", 2 | 3, Wire::Bytes(b)) | ("Secret", 2 | 4, Wire::Bytes(b)) => {
                let (name, binary) = match (kind.as_str(), n) {
                    ("ConfigMap", 2) => ("data", false),
                    ("ConfigMap", _) => ("binaryData", true),
                    (_, 2) => ("data", true),
                    _ => ("stringData", false),
                };
                let (k, v) = entry(b, binary).ok_or_else(bad)?;
                maps.entry(name).or_default().insert(k, v);
            }
            ("Secret", 3, Wire::Bytes(b)) => {
                obj.insert("type".into(), text(b).ok_or_else(bad)?);
            }
            ("ConfigMap", 4, Wire::Varint(v)) | ("Secret", 5, Wire::Varint(v)) => {
                obj.insert("immutable".into(), json!(v != 0));
            }
            ("ServiceAccount", 4, Wire::Varint(v)) => {
                obj.insert("automountServiceAccountToken".into(), json!(v != 0));
            }
            ("SelfSubjectAccessReview", 2, Wire::Bytes(b)) => {
                obj.insert("spec".into(), access_review_spec(b).ok_or_else(bad)?);
            }
            ("Namespace" | "ConfigMap" | "Secret" | "ServiceAccount", _, _) => {}
            ("SelfSubjectAccessReview", _, _) => {}
            (other, _, _) => {
                return Err(format!("protobuf bodies of kind {other:?} are not supported"));
            }
        }
    }
    for (name, map) in maps {
        obj.insert(name.into(), Value::Object(map));
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_kubectl_create_configmap_sends() {
        // As sent by `kubectl create configmap c --from-literal=a=b`.
        let body = b"k8s\0\n\x0f\n\x02v1\x12\tConfigMap\x12\x1b\n\x11\n\x01c\x12\0\x1a\0\"\0*\x002\x008\0B\0\x12\x06\n\x01a\x12\x01b\x1a\0\"\0";
        let obj = decode(body).unwrap();
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}})
        );
    }

    #[test]
    fn decodes_what_kubectl_auth_can_i_sends() {
        // As sent by `kubectl auth can-i list vs -n shop`.
        let body = b"k8s\0\n2\n\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\
            \x12X\n\x10\n\0\x12\0\x1a\0\"\0*\x002\x008\0B\0\x12:\n8\n\x04shop\x12\x04list\
            \x1a\x13networking.istio.io\"\0*\x0fvirtualservices2\0:\0\x1a\x08\x08\0\x12\0\x1a\0 \0\
            \x1a\0\"\0";
        let review = decode(body).unwrap();
        let attrs = &review["spec"]["resourceAttributes"];
        assert_eq!(
            (attrs["namespace"].as_str(), attrs["verb"].as_str()),
            (Some("shop"), Some("list"))
        );
        assert_eq!(attrs["resource"], "virtualservices");
    }
}
