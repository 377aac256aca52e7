//! Label selectors: Istio's `matchLabels` workload selectors and Kubernetes
//! label selectors with `matchExpressions`.

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::meta::Labels;

/// Whether every `key: value` of `selector` is present in `labels`. An empty
/// selector is a subset of anything, which is how Istio treats a selector
/// with no labels (`labels.Instance.SubsetOf`).
pub fn is_subset(selector: &Labels, labels: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Istio's `selector: {matchLabels: ...}` (AuthorizationPolicy,
/// PeerAuthentication, RequestAuthentication, DestinationRule
/// `workloadSelector`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// Labels a workload must carry.
    #[serde(default, deserialize_with = "nullable")]
    pub match_labels: Labels,
}

impl WorkloadSelector {
    /// Whether the selector picks a workload with these labels.
    pub fn matches(&self, labels: &Labels) -> bool {
        is_subset(&self.match_labels, labels)
    }

    /// Whether the selector names no label (and so selects every workload).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty()
    }
}

/// Whether an optional Istio selector selects a workload: absent or empty
/// selects everything.
pub fn selects(selector: Option<&WorkloadSelector>, labels: &Labels) -> bool {
    selector.is_none_or(|s| s.matches(labels))
}

/// Whether an optional Istio selector is absent or names no label, which
/// makes a policy namespace-wide.
pub fn is_selectorless(selector: Option<&WorkloadSelector>) -> bool {
    selector.is_none_or(WorkloadSelector::is_empty)
}

/// The `workloadSelector: {labels: ...}` form used by Sidecar and ServiceEntry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct LabelsSelector {
    /// Labels a workload must carry.
    #[serde(default, deserialize_with = "nullable")]
    pub labels: Labels,
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must be present with these values.
    #[serde(default, deserialize_with = "nullable")]
    pub match_labels: Labels,
    /// Set-based requirements.
    #[serde(default, deserialize_with = "nullable")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct LabelSelectorRequirement {
    /// The label key.
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default, deserialize_with = "nullable")]
    pub operator: String,
    /// Values for `In` and `NotIn`.
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether the selector matches these labels, as Kubernetes evaluates it.
    /// An unknown operator matches nothing.
    pub fn matches(&self, labels: &Labels) -> bool {
        is_subset(&self.match_labels, labels)
            && self.match_expressions.iter().all(|req| {
                let value = labels.get(&req.key);
                match req.operator.as_str() {
                    "In" => value.is_some_and(|v| req.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !req.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }

    /// Whether the selector has no requirement at all.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn subset_matching() {
        let pod = labels(&[("app", "httpbin"), ("version", "v1"), ("tier", "backend")]);
        assert!(is_subset(&labels(&[("app", "httpbin"), ("version", "v1")]), &pod));
        assert!(!is_subset(&labels(&[("app", "httpbin"), ("version", "v2")]), &pod));
        assert!(!is_subset(&labels(&[("zone", "a")]), &pod));
        assert!(is_subset(&Labels::new(), &pod));
        assert!(selects(None, &pod));
        assert!(is_selectorless(Some(&WorkloadSelector::default())));
    }

    #[test]
    fn kubernetes_expressions() {
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "canary", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "edge")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "back")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "edge"), ("canary", "1")])));
    }
}
