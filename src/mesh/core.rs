//! Small core Kubernetes kinds: Namespace, ServiceAccount, Secret (metadata
//! and key names only) and ConfigMap (Istio mesh config only).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::ObjectMeta;

/// Namespace label that turns on sidecar injection (`enabled`/`disabled`).
pub const LABEL_ISTIO_INJECTION: &str = "istio-injection";
/// Namespace or pod label naming the control plane revision to inject.
pub const LABEL_ISTIO_REV: &str = "istio.io/rev";
/// Namespace label that enrolls workloads in ambient mode.
pub const LABEL_DATAPLANE_MODE: &str = "istio.io/dataplane-mode";

/// A Namespace.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Namespace {
    /// Metadata; labels carry injection settings.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

/// A ServiceAccount.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ServiceAccount {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

/// A Secret, reduced to metadata, its type and the names of its data keys.
/// Values are never read into memory.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Secret {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `type`, such as `kubernetes.io/tls`.
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub type_: String,
    /// Names of the keys under `data` (values are dropped while reading).
    #[serde(default, rename = "data", deserialize_with = "key_names")]
    pub keys: Vec<String>,
}

/// A ConfigMap; the Snapshot keeps only Istio's mesh config ConfigMaps.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ConfigMap {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `data`.
    #[serde(default, deserialize_with = "nullable")]
    pub data: BTreeMap<String, String>,
}

impl ConfigMap {
    /// Whether this is an Istio mesh config ConfigMap (`istio` or
    /// `istio-<revision>` with a `mesh` key).
    pub fn is_mesh_config(&self) -> bool {
        let name = &self.metadata.name;
        (name == "istio" || name.starts_with("istio-")) && self.data.contains_key("mesh")
    }
}

fn key_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                keys.push(key);
            }
            Ok(keys)
        }
    }
    deserializer.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_not_kept() {
        let s: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "tls", "namespace": "istio-system"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "c2VjcmV0", "tls.key": "c2VjcmV0"}
        }))
        .unwrap();
        assert_eq!(s.keys, ["tls.crt", "tls.key"]);
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
    }
}
