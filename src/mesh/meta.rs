//! Object metadata as analysis reads it: names, labels, the annotations that
//! matter, creation time and owners.
//!
//! Labels are kept whole (selectors need them). Annotations are filtered at
//! deserialization to the prefixes below, which keeps a large mesh small in
//! memory: `kubectl.kubernetes.io/last-applied-configuration` alone can be
//! bigger than everything else an object holds.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::de::{nullable, parse_rfc3339};

/// Labels or annotations: key to value, sorted by key. A sorted vector
/// rather than a tree: objects carry a handful of labels, and tens of
/// thousands of pods each holding a tree node would weigh far more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// No labels.
    pub fn new() -> Self {
        Labels(Vec::new())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Whether a key is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets a key, returning the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes a key, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut out = Labels::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl<const N: usize> From<[(String, String); N]> for Labels {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LabelsVisitor { keep: |_| true })
    }
}

/// Reads a map of strings (null values read as empty), keeping the keys
/// `keep` accepts; `null` reads as no labels.
struct LabelsVisitor {
    keep: fn(&str) -> bool,
}

impl<'de> Visitor<'de> for LabelsVisitor {
    type Value = Labels;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of strings")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Labels, E> {
        Ok(Labels::new())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Labels, E> {
        Ok(Labels::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key::<String>()? {
            if (self.keep)(&key) {
                let value = map.next_value::<super::de::Text>()?;
                pairs.push((key, value.0));
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        // Sort, keeping the last of repeated keys.
        pairs.reverse();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        pairs.shrink_to_fit();
        Ok(Labels(pairs))
    }
}

/// Annotation key prefixes kept on every object; all others are dropped.
pub const KEPT_ANNOTATION_PREFIXES: &[&str] = &[
    "sidecar.istio.io/",
    "istio.io/",
    "traffic.sidecar.istio.io/",
    "proxy.istio.io/",
    "networking.istio.io/",
    "security.istio.io/",
    "inject.istio.io/",
    "debatemesh.io/",
    "galley.istio.io/",
    "meta.helm.sh/",
    "argocd.argoproj.io/",
    "kustomize.toolkit.fluxcd.io/",
    "helm.toolkit.fluxcd.io/",
];

/// Annotation: a pod with a sidecar carries the injector's status here.
pub const ANNOTATION_SIDECAR_STATUS: &str = "sidecar.istio.io/status";
/// Annotation or label: opt a pod in or out of sidecar injection.
pub const ANNOTATION_SIDECAR_INJECT: &str = "sidecar.istio.io/inject";
/// Annotation: evaluate an AuthorizationPolicy without enforcing it.
pub const ANNOTATION_DRY_RUN: &str = "istio.io/dry-run";
/// Annotation: findings this object asks `check` to suppress.
pub const ANNOTATION_SUPPRESS: &str = "debatemesh.io/suppress";
/// Label: the endpoint takes Istio mutual TLS (set by the injector).
pub const LABEL_TLS_MODE: &str = "security.istio.io/tlsMode";
/// Label: the Gateway API gateway a deployed proxy belongs to.
pub const LABEL_GATEWAY_NAME: &str = "gateway.networking.k8s.io/gateway-name";

/// Whether an annotation key is one the resource types keep.
pub fn is_kept_annotation(key: &str) -> bool {
    KEPT_ANNOTATION_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The metadata fields analysis reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `metadata.name`; empty when absent.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// `metadata.namespace`; empty for cluster-scoped objects or when absent
    /// in a file (the builder fills in the default namespace).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// All labels.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// Only the annotations under [`KEPT_ANNOTATION_PREFIXES`].
    #[serde(
        default,
        deserialize_with = "kept_annotations",
        skip_serializing_if = "Labels::is_empty"
    )]
    pub annotations: Labels,
    /// `creationTimestamp` as seconds since the epoch, when present and valid.
    #[serde(
        default,
        deserialize_with = "timestamp",
        serialize_with = "serialize_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp: Option<i64>,
    /// Owners, for resolving a Pod's controller chain.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    /// `metadata.uid`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// `metadata.resourceVersion`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
}

impl ObjectMeta {
    /// Metadata with a name and namespace and nothing else.
    pub fn named(namespace: &str, name: &str) -> Self {
        Self { name: name.to_string(), namespace: namespace.to_string(), ..Self::default() }
    }

    /// An annotation value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// A label value.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// Istio's "oldest wins" order: creation time, then name. An object
    /// without a creation time (typical in files) sorts as the oldest, as
    /// istiod treats a zero timestamp.
    pub fn age_key(&self) -> (i64, &str, &str) {
        (self.creation_timestamp.unwrap_or(i64::MIN), &self.name, &self.namespace)
    }

    /// The owner marked `controller: true`, if any.
    pub fn controller(&self) -> Option<&OwnerReference> {
        self.owner_references.iter().find(|o| o.controller == Some(true))
    }

    /// `namespace/name`, or `name` for cluster-scoped objects.
    pub fn key(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

/// One entry of `metadata.ownerReferences`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// `apiVersion` of the owner.
    #[serde(default, deserialize_with = "nullable")]
    pub api_version: String,
    /// Kind of the owner, such as `ReplicaSet`.
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    /// Name of the owner.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// UID of the owner.
    #[serde(default, deserialize_with = "nullable")]
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
}

fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    // A malformed timestamp must not make the object unreadable; it simply
    // carries no age.
    let raw = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(raw.as_ref().and_then(serde_json::Value::as_str).and_then(parse_rfc3339))
}

fn serialize_timestamp<S: serde::Serializer>(ts: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(t) => s.serialize_i64(*t),
        None => s.serialize_none(),
    }
}

fn kept_annotations<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Labels, D::Error> {
    deserializer.deserialize_any(LabelsVisitor { keep: is_kept_annotation })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_selected_annotations() {
        let meta: ObjectMeta = serde_json::from_value(serde_json::json!({
            "name": "p",
            "labels": null,
            "annotations": {
                "sidecar.istio.io/status": "{}",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"big\": true}",
                "istio.io/dry-run": "true",
                "meta.helm.sh/release-name": "shop"
            },
            "creationTimestamp": "2024-03-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(meta.annotations.len(), 3);
        assert!(meta.annotation("kubectl.kubernetes.io/last-applied-configuration").is_none());
        assert!(meta.labels.is_empty());
        assert_eq!(meta.creation_timestamp, Some(1_709_251_200));
    }

    #[test]
    fn missing_timestamp_sorts_oldest() {
        let old = ObjectMeta::named("ns", "b");
        let mut new = ObjectMeta::named("ns", "a");
        new.creation_timestamp = Some(0);
        assert!(old.age_key() < new.age_key());
    }
}
