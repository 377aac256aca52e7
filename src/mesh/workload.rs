//! Pod controllers (Deployment, StatefulSet, DaemonSet, ReplicaSet) with
//! their selector and pod template, and Istio's injection decision.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};

use super::core::{LABEL_ISTIO_INJECTION, LABEL_ISTIO_REV};
use super::de::nullable;
use super::meta::{ANNOTATION_SIDECAR_INJECT, Labels, ObjectMeta};
use super::pod::PodSpec;
use super::selector::LabelSelector;

/// A Deployment, StatefulSet, DaemonSet or ReplicaSet. ReplicaSets read as
/// metadata only carry just the owner references.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Controller {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec; `None` for metadata-only reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ControllerSpec>,
}

/// Declares a controller kind as a distinct type over [`Controller`].
macro_rules! controller_kind {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub Controller);

        impl Deref for $name {
            type Target = Controller;
            fn deref(&self) -> &Controller {
                &self.0
            }
        }

        impl DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Controller {
                &mut self.0
            }
        }
    )*};
}

controller_kind!(
    /// A Deployment.
    Deployment,
    /// A StatefulSet.
    StatefulSet,
    /// A DaemonSet.
    DaemonSet,
    /// A ReplicaSet.
    ReplicaSet,
);

/// The controller spec fields analysis reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ControllerSpec {
    /// Desired replicas (absent for DaemonSets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Pod selector.
    #[serde(default, deserialize_with = "nullable")]
    pub selector: LabelSelector,
    /// Pod template.
    #[serde(default, deserialize_with = "nullable")]
    pub template: PodTemplate,
}

/// A pod template.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PodTemplate {
    /// Template metadata (labels and kept annotations).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Template spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
}

impl Controller {
    /// The pod template, when the spec was read.
    pub fn template(&self) -> Option<&PodTemplate> {
        self.spec.as_ref().map(|s| &s.template)
    }
}

/// Whether the injector would add a sidecar to a pod with these labels and
/// annotations in a namespace with these labels, following Istio's default
/// injection webhooks: a namespace `istio-injection=enabled` or
/// `istio.io/rev` label injects unless the pod opts out with
/// `sidecar.istio.io/inject=false`; `istio-injection=disabled` never
/// injects; a pod may opt in on its own with `sidecar.istio.io/inject=true`
/// or an `istio.io/rev` label.
pub fn is_injection_expected(
    namespace: &Labels,
    pod_labels: &Labels,
    pod_annotations: &Labels,
) -> bool {
    let opt = pod_labels
        .get(ANNOTATION_SIDECAR_INJECT)
        .or_else(|| pod_annotations.get(ANNOTATION_SIDECAR_INJECT))
        .map(String::as_str);
    if opt == Some("false") {
        return false;
    }
    match namespace.get(LABEL_ISTIO_INJECTION).map(String::as_str) {
        Some("disabled") => return false,
        Some("enabled") => return true,
        _ => {}
    }
    namespace.contains_key(LABEL_ISTIO_REV)
        || opt == Some("true")
        || pod_labels.contains_key(LABEL_ISTIO_REV)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn injection_rules() {
        let none = Labels::new();
        let enabled = l(&[("istio-injection", "enabled")]);
        let disabled = l(&[("istio-injection", "disabled")]);
        let rev = l(&[("istio.io/rev", "canary")]);
        let opt_out = l(&[("sidecar.istio.io/inject", "false")]);
        let opt_in = l(&[("sidecar.istio.io/inject", "true")]);
        assert!(is_injection_expected(&enabled, &none, &none));
        assert!(!is_injection_expected(&enabled, &opt_out, &none));
        assert!(!is_injection_expected(&disabled, &opt_in, &none));
        assert!(is_injection_expected(&rev, &none, &none));
        assert!(is_injection_expected(&none, &opt_in, &none));
        assert!(!is_injection_expected(&none, &none, &none));
    }
}
