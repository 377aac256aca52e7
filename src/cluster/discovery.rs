//! Which API groups, versions and resources the cluster serves, from one discovery request.
//!
//! Aggregated discovery (`apidiscovery.k8s.io/v2`, Kubernetes 1.27+) answers everything in one
//! reply to `/apis`. Older servers answer the same request with a legacy `APIGroupList`, which
//! names the versions of each group; then resources are assumed present in every served version.

use std::collections::HashMap;

use serde::Deserialize;

use super::kinds::Kind;

/// The Accept header kubectl sends for `/apis`: aggregated discovery, then the legacy list.
pub const ACCEPT_DISCOVERY: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// The served groups: group name to its versions, each with its resources when known.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    groups: HashMap<String, Vec<ServedVersion>>,
}

#[derive(Debug, Clone)]
struct ServedVersion {
    version: String,
    /// `None` when discovery did not list resources (legacy discovery).
    resources: Option<Vec<String>>,
}

impl Catalog {
    /// Reads an `/apis` reply in either format.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        let doc: Discovery = serde_json::from_slice(body)?;
        let mut groups = HashMap::new();
        for item in doc.items {
            let versions = item
                .versions
                .into_iter()
                .map(|v| ServedVersion {
                    version: v.version,
                    resources: Some(v.resources.into_iter().map(|r| r.resource).collect()),
                })
                .collect();
            groups.insert(item.metadata.name, versions);
        }
        for group in doc.groups {
            let versions = group
                .versions
                .into_iter()
                .map(|v| ServedVersion { version: v.version, resources: None })
                .collect();
            groups.insert(group.name, versions);
        }
        Ok(Self { groups })
    }

    /// The version of `kind` to use: the first of ours the cluster serves. Core kinds are
    /// always served.
    pub fn version_of(&self, kind: &Kind) -> Option<&'static str> {
        if kind.group.is_empty() {
            return kind.versions.first().copied();
        }
        let served = self.groups.get(kind.group)?;
        kind.versions.iter().copied().find(|want| {
            served.iter().any(|s| {
                s.version == *want
                    && s.resources.as_ref().is_none_or(|r| r.iter().any(|r| r == kind.plural))
            })
        })
    }

    /// Whether the group is served at all.
    pub fn serves_group(&self, group: &str) -> bool {
        group.is_empty() || self.groups.contains_key(group)
    }
}

#[derive(Deserialize)]
struct Discovery {
    /// Aggregated discovery.
    #[serde(default)]
    items: Vec<DiscoveryGroup>,
    /// Legacy `APIGroupList`.
    #[serde(default)]
    groups: Vec<LegacyGroup>,
}

#[derive(Deserialize)]
struct DiscoveryGroup {
    metadata: Named,
    #[serde(default)]
    versions: Vec<DiscoveryVersion>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct DiscoveryVersion {
    version: String,
    #[serde(default)]
    resources: Vec<DiscoveryResource>,
}

#[derive(Deserialize)]
struct DiscoveryResource {
    resource: String,
}

#[derive(Deserialize)]
struct LegacyGroup {
    name: String,
    #[serde(default)]
    versions: Vec<LegacyVersion>,
}

#[derive(Deserialize)]
struct LegacyVersion {
    version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kinds;

    #[test]
    fn aggregated_discovery_picks_the_first_served_version() {
        let body = br#"{"kind":"APIGroupDiscoveryList","items":[
          {"metadata":{"name":"networking.istio.io"},"versions":[
            {"version":"v1beta1","resources":[{"resource":"virtualservices"},{"resource":"gateways"}]},
            {"version":"v1alpha3","resources":[{"resource":"virtualservices"}]}]}]}"#;
        let c = Catalog::parse(body).unwrap();
        assert_eq!(c.version_of(&kinds::VIRTUAL_SERVICE), Some("v1beta1"));
        assert_eq!(c.version_of(&kinds::SIDECAR), None);
        assert_eq!(c.version_of(&kinds::AUTHORIZATION_POLICY), None);
        assert_eq!(c.version_of(&kinds::POD), Some("v1"));
    }

    #[test]
    fn legacy_discovery_trusts_the_version_list() {
        let body = br#"{"kind":"APIGroupList","groups":[{"name":"security.istio.io",
          "versions":[{"groupVersion":"security.istio.io/v1beta1","version":"v1beta1"}]}]}"#;
        let c = Catalog::parse(body).unwrap();
        assert_eq!(c.version_of(&kinds::PEER_AUTHENTICATION), Some("v1beta1"));
        assert!(!c.serves_group("networking.istio.io"));
    }
}
