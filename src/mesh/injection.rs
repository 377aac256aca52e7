//! Istio's sidecar-injection rules: the mesh mode a namespace's labels ask for, and whether a
//! running pod still matches it or needs a restart.
//!
//! Rules (<https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/>):
//! `istio-injection=enabled` injects from the default revision and wins over `istio.io/rev`;
//! `istio-injection=disabled` turns injection off whatever else is set; `istio.io/rev=REV`
//! injects from revision REV; `istio.io/dataplane-mode=ambient` puts pods in ambient mode, where
//! sidecars are not used. A pod opts out with `sidecar.istio.io/inject: "false"` (label or
//! annotation) and opts in with the label `sidecar.istio.io/inject: "true"`.

use std::collections::BTreeMap;

/// The namespace label of the default injector.
pub const INJECTION_LABEL: &str = "istio-injection";
/// The namespace label naming a control-plane revision.
pub const REVISION_LABEL: &str = "istio.io/rev";
/// The namespace label for ambient mode.
pub const DATAPLANE_MODE_LABEL: &str = "istio.io/dataplane-mode";
/// The pod annotation the injector writes.
pub const SIDECAR_STATUS_ANNOTATION: &str = "sidecar.istio.io/status";
/// The per-pod opt-in/opt-out label or annotation.
pub const POD_INJECT: &str = "sidecar.istio.io/inject";

/// What a namespace's labels ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeshMode {
    /// `istio-injection=enabled`.
    Sidecar,
    /// `istio.io/rev=REV`.
    Revision(String),
    /// `istio.io/dataplane-mode=ambient`.
    Ambient,
    /// No mesh labels, or injection disabled.
    Off,
    /// Labels that contradict each other; the text says which and what wins.
    Conflicting(String),
}

impl MeshMode {
    /// Whether pods in this namespace get a sidecar at creation.
    pub fn injects(&self) -> bool {
        match self {
            MeshMode::Sidecar | MeshMode::Revision(_) => true,
            MeshMode::Conflicting(_) => true,
            MeshMode::Ambient | MeshMode::Off => false,
        }
    }

    /// The word `inject status` prints.
    pub fn describe(&self) -> String {
        match self {
            MeshMode::Sidecar => "sidecar".into(),
            MeshMode::Revision(r) => format!("revision {r}"),
            MeshMode::Ambient => "ambient".into(),
            MeshMode::Off => "off".into(),
            MeshMode::Conflicting(why) => format!("conflicting labels ({why})"),
        }
    }
}

/// The mode a namespace's labels give.
pub fn namespace_mode(labels: &BTreeMap<String, String>) -> MeshMode {
    let injection = labels.get(INJECTION_LABEL).map(String::as_str);
    let revision = labels.get(REVISION_LABEL).map(String::as_str).filter(|r| !r.is_empty());
    let ambient = labels.get(DATAPLANE_MODE_LABEL).map(String::as_str) == Some("ambient");

    if injection == Some("disabled") {
        return MeshMode::Off;
    }
    let sidecar = injection == Some("enabled");
    match (sidecar, revision, ambient) {
        (true, Some(rev), _) => MeshMode::Conflicting(format!(
            "{INJECTION_LABEL}=enabled and {REVISION_LABEL}={rev}: {INJECTION_LABEL} wins"
        )),
        (true, None, true) => MeshMode::Conflicting(format!(
            "{INJECTION_LABEL}=enabled and {DATAPLANE_MODE_LABEL}=ambient: pods get sidecars"
        )),
        (false, Some(rev), true) => MeshMode::Conflicting(format!(
            "{REVISION_LABEL}={rev} and {DATAPLANE_MODE_LABEL}=ambient: pods get sidecars"
        )),
        (true, None, false) => MeshMode::Sidecar,
        (false, Some(rev), false) => MeshMode::Revision(rev.to_string()),
        (false, None, true) => MeshMode::Ambient,
        (false, None, false) => MeshMode::Off,
    }
}

/// The revision that injected a pod, from its `sidecar.istio.io/status` annotation.
pub fn injected_revision(status_annotation: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(status_annotation).ok()?;
    value.get("revision")?.as_str().map(str::to_string)
}

/// A pod as far as injection is concerned.
#[derive(Debug, Clone, Copy)]
pub struct PodInjection<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    /// An `istio-proxy` container, when the pod spec is known.
    pub has_proxy_container: bool,
}

impl PodInjection<'_> {
    /// Whether the pod runs a sidecar.
    pub fn has_sidecar(&self) -> bool {
        self.annotations.contains_key(SIDECAR_STATUS_ANNOTATION) || self.has_proxy_container
    }

    fn opted_out(&self) -> bool {
        self.labels.get(POD_INJECT).map(String::as_str) == Some("false")
            || self.annotations.get(POD_INJECT).map(String::as_str) == Some("false")
    }

    fn opted_in(&self) -> bool {
        self.labels.get(POD_INJECT).map(String::as_str) == Some("true")
    }
}

/// Why a running pod no longer matches its namespace's mode, or `None` when it does.
pub fn restart_reason(mode: &MeshMode, pod: PodInjection<'_>) -> Option<String> {
    let has = pod.has_sidecar();
    let wants = if pod.opted_out() {
        false
    } else {
        mode.injects() || (pod.opted_in() && *mode != MeshMode::Ambient)
    };
    match (wants, has) {
        (true, false) => Some("no sidecar, but the namespace injects one".into()),
        (false, true) if *mode == MeshMode::Ambient => {
            Some("has a sidecar, but the namespace is in ambient mode".into())
        }
        (false, true) if pod.opted_out() => None,
        (false, true) => Some("has a sidecar, but the namespace no longer injects".into()),
        (true, true) => {
            let MeshMode::Revision(want) = mode else { return None };
            let got = pod
                .annotations
                .get(SIDECAR_STATUS_ANNOTATION)
                .and_then(|s| injected_revision(s))?;
            (got != *want)
                .then(|| format!("sidecar from revision {got}, the namespace wants {want}"))
        }
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn namespace_labels_give_the_mode_istio_uses() {
        assert_eq!(namespace_mode(&labels(&[(INJECTION_LABEL, "enabled")])), MeshMode::Sidecar);
        assert_eq!(
            namespace_mode(&labels(&[(REVISION_LABEL, "canary")])),
            MeshMode::Revision("canary".into())
        );
        assert_eq!(
            namespace_mode(&labels(&[(DATAPLANE_MODE_LABEL, "ambient")])),
            MeshMode::Ambient
        );
        assert_eq!(namespace_mode(&labels(&[])), MeshMode::Off);
        assert_eq!(
            namespace_mode(&labels(&[(INJECTION_LABEL, "disabled"), (REVISION_LABEL, "canary")])),
            MeshMode::Off
        );
        assert!(matches!(
            namespace_mode(&labels(&[(INJECTION_LABEL, "enabled"), (REVISION_LABEL, "canary")])),
            MeshMode::Conflicting(_)
        ));
        assert_eq!(namespace_mode(&labels(&[(DATAPLANE_MODE_LABEL, "none")])), MeshMode::Off);
    }

    #[test]
    fn pods_need_a_restart_when_their_sidecar_does_not_match() {
        let none = labels(&[]);
        let injected = labels(&[(SIDECAR_STATUS_ANNOTATION, r#"{"revision":"default"}"#)]);
        let pod =
            |annotations| PodInjection { labels: &none, annotations, has_proxy_container: false };

        assert!(restart_reason(&MeshMode::Sidecar, pod(&none)).is_some());
        assert!(restart_reason(&MeshMode::Sidecar, pod(&injected)).is_none());
        assert!(restart_reason(&MeshMode::Off, pod(&injected)).is_some());
        assert!(restart_reason(&MeshMode::Off, pod(&none)).is_none());
        assert!(restart_reason(&MeshMode::Ambient, pod(&injected)).is_some());
        assert!(restart_reason(&MeshMode::Ambient, pod(&none)).is_none());
        let canary = MeshMode::Revision("canary".into());
        assert_eq!(
            restart_reason(&canary, pod(&injected)).as_deref(),
            Some("sidecar from revision default, the namespace wants canary")
        );
    }

    #[test]
    fn pods_that_opt_out_are_left_alone() {
        let out = labels(&[(POD_INJECT, "false")]);
        let none = labels(&[]);
        let pod = PodInjection { labels: &out, annotations: &none, has_proxy_container: false };
        assert!(restart_reason(&MeshMode::Sidecar, pod).is_none());
        let opt_in = labels(&[(POD_INJECT, "true")]);
        let pod = PodInjection { labels: &opt_in, annotations: &none, has_proxy_container: false };
        assert!(restart_reason(&MeshMode::Off, pod).is_some());
    }
}
