//! Object metadata as analysis reads it: names, labels, the annotations that
//! matter, creation time and owners.
//!
//! Labels are kept whole (selectors need them). Annotations are filtered at
//! deserialization to the prefixes below, which keeps a large mesh small in
//! memory: `kubectl.kubernetes.io/last-applied-configuration` alone can be
//! bigger than everything else an object holds.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::{nullable, parse_rfc3339};

/// Labels or annotations: key to value, sorted.
pub type Labels = BTreeMap<String, String>;

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
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Labels::is_empty")]
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
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Labels;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of annotations")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Labels, E> {
            Ok(Labels::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Labels, E> {
            Ok(Labels::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
            let mut out = Labels::new();
            while let Some(key) = map.next_key::<String>()? {
                if is_kept_annotation(&key) {
                    let value = map.next_value::<Option<String>>()?;
                    out.insert(key, value.unwrap_or_default());
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(V)
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
