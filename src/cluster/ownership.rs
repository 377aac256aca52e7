//! Who else manages an object: Helm, Argo CD, Flux, another `managed-by` tool, or another field
//! manager that owns the fields we would change. Objects owned elsewhere are not edited without
//! `--force`.

use serde_json::Value;

use super::FIELD_MANAGER;

/// The label every object this tool creates carries.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY_US: &str = "kubectl-debatemesh";

/// Another tool that manages an object, and how we know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The tool, e.g. `Helm`.
    pub tool: String,
    /// The evidence, e.g. `release shop (annotation meta.helm.sh/release-name)`.
    pub evidence: String,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.tool, self.evidence)
    }
}

/// Whether this tool created the object.
pub fn is_ours(object: &Value) -> bool {
    label(object, MANAGED_BY_LABEL) == Some(MANAGED_BY_US)
}

/// The deployment tool that manages `object`, if any.
pub fn managing_tool(object: &Value) -> Option<Owner> {
    let owner = |tool: &str, evidence: String| Some(Owner { tool: tool.into(), evidence });
    if let Some(release) = annotation(object, "meta.helm.sh/release-name") {
        return owner("Helm", format!("release {release}, annotation meta.helm.sh/release-name"));
    }
    if let Some(id) = annotation(object, "argocd.argoproj.io/tracking-id") {
        return owner("Argo CD", format!("annotation argocd.argoproj.io/tracking-id={id}"));
    }
    if let Some(app) = label(object, "argocd.argoproj.io/instance") {
        return owner("Argo CD", format!("application {app}, label argocd.argoproj.io/instance"));
    }
    for key in ["kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name"] {
        if let Some(name) = label(object, key) {
            return owner("Flux", format!("{name}, label {key}"));
        }
    }
    match label(object, MANAGED_BY_LABEL) {
        Some(v) if v == MANAGED_BY_US => None,
        Some(v) if v.eq_ignore_ascii_case("helm") => {
            owner("Helm", format!("label {MANAGED_BY_LABEL}={v}"))
        }
        Some(v) => owner(v, format!("label {MANAGED_BY_LABEL}={v}")),
        None => None,
    }
}

/// Field managers other than us that own the field at `path` (e.g. `["spec", "http"]`) or
/// anything below it, through server-side apply.
pub fn other_appliers(object: &Value, path: &[&str]) -> Vec<String> {
    let Some(entries) = object.pointer("/metadata/managedFields").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut managers: Vec<String> = entries
        .iter()
        .filter(|e| e.get("operation").and_then(Value::as_str) == Some("Apply"))
        .filter(|e| e.get("manager").and_then(Value::as_str) != Some(FIELD_MANAGER))
        .filter(|e| {
            let mut node = e.get("fieldsV1");
            for segment in path {
                node = node.and_then(|n| n.get(format!("f:{segment}")));
            }
            node.is_some()
        })
        .filter_map(|e| e.get("manager").and_then(Value::as_str).map(str::to_string))
        .collect();
    managers.sort();
    managers.dedup();
    managers
}

/// Who made `object`, for messages: the deployment tool that manages it, this tool, the other
/// field managers that applied it, or that it was not this tool.
pub fn made_by(object: &Value) -> String {
    if let Some(owner) = managing_tool(object) {
        return format!("managed by {owner}");
    }
    if is_ours(object) {
        return format!("created by {MANAGED_BY_US}");
    }
    let appliers = other_appliers(object, &[]);
    if !appliers.is_empty() {
        return format!("applied by {}", appliers.join(", "));
    }
    format!("not created by {MANAGED_BY_US}")
}

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get("labels")?.get(key)?.as_str()
}

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn helm_argo_and_flux_are_recognised() {
        let helm = json!({"metadata": {"annotations": {"meta.helm.sh/release-name": "shop"}}});
        assert_eq!(managing_tool(&helm).unwrap().tool, "Helm");
        let argo = json!({"metadata": {"labels": {"argocd.argoproj.io/instance": "shop"}}});
        assert_eq!(managing_tool(&argo).unwrap().tool, "Argo CD");
        let flux = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}}});
        assert_eq!(managing_tool(&flux).unwrap().tool, "Flux");
        let ours = json!({"metadata": {"labels": {MANAGED_BY_LABEL: MANAGED_BY_US}}});
        assert!(managing_tool(&ours).is_none());
        assert!(is_ours(&ours));
        assert!(managing_tool(&json!({"metadata": {}})).is_none());
        assert_eq!(
            made_by(&helm),
            "managed by Helm (release shop, annotation meta.helm.sh/release-name)"
        );
        assert_eq!(made_by(&ours), "created by kubectl-debatemesh");
        assert_eq!(made_by(&json!({"metadata": {}})), "not created by kubectl-debatemesh");
    }

    #[test]
    fn appliers_of_a_field_are_found_in_managed_fields() {
        let obj = json!({"metadata": {"managedFields": [
            {"manager": "gitops", "operation": "Apply", "fieldsV1": {"f:spec": {"f:http": {}}}},
            {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:spec": {"f:http": {}}}},
            {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:spec": {"f:http": {}}}},
            {"manager": "other", "operation": "Apply", "fieldsV1": {"f:spec": {"f:hosts": {}}}}
        ]}});
        assert_eq!(other_appliers(&obj, &["spec", "http"]), vec!["gitops".to_string()]);
        assert!(other_appliers(&obj, &["spec", "tcp"]).is_empty());
    }
}
