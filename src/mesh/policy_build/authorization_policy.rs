//! AuthorizationPolicy objects: one ALLOW or DENY policy per target with one rule per command
//! run, and the edit that appends a rule to an existing policy without dropping any.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{metadata, selector, spec_mut};
use crate::mesh::authorization_policy::Action;
use crate::mesh::meta::ANNOTATION_DRY_RUN;

/// The parts of one rule. Sources are ORed: principals and namespaces each get their own
/// `from` entry, because fields inside one `source` are ANDed. No principal and no namespace
/// means any source (the rule has no `from`). The operation fields are ANDed, values within a
/// field ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSpec {
    /// `source.principals`.
    pub principals: Vec<String>,
    /// `source.namespaces`.
    pub namespaces: Vec<String>,
    /// `operation.methods`.
    pub methods: Vec<String>,
    /// `operation.paths`.
    pub paths: Vec<String>,
    /// `operation.ports` (container ports).
    pub ports: Vec<String>,
    /// `operation.hosts`.
    pub hosts: Vec<String>,
}

impl RuleSpec {
    /// Whether the rule matches on the caller's mTLS identity.
    pub fn uses_identity(&self) -> bool {
        !self.principals.is_empty() || !self.namespaces.is_empty()
    }

    /// The HTTP-only fields the rule sets (`methods`, `paths`, `hosts`).
    pub fn http_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (field, values) in
            [("hosts", &self.hosts), ("methods", &self.methods), ("paths", &self.paths)]
        {
            if !values.is_empty() {
                out.push(field);
            }
        }
        out
    }

    /// The rule as it appears under `spec.rules`.
    pub fn to_value(&self) -> Value {
        let mut rule = Map::new();
        let mut from = Vec::new();
        if !self.principals.is_empty() {
            from.push(json!({"source": {"principals": self.principals}}));
        }
        if !self.namespaces.is_empty() {
            from.push(json!({"source": {"namespaces": self.namespaces}}));
        }
        if !from.is_empty() {
            rule.insert("from".into(), Value::Array(from));
        }
        let mut operation = Map::new();
        for (field, values) in [
            ("hosts", &self.hosts),
            ("ports", &self.ports),
            ("methods", &self.methods),
            ("paths", &self.paths),
        ] {
            if !values.is_empty() {
                operation.insert(field.into(), json!(values));
            }
        }
        if !operation.is_empty() {
            rule.insert("to".into(), json!([{"operation": operation}]));
        }
        Value::Object(rule)
    }
}

/// A new AuthorizationPolicy. `selector` `None` makes it apply to every workload in the
/// namespace; `dry_run` sets `istio.io/dry-run: "true"`.
pub fn build(
    api_version: &str,
    namespace: &str,
    name: &str,
    workload: Option<&BTreeMap<String, String>>,
    action: Action,
    rules: &[Value],
    dry_run: bool,
) -> Value {
    let annotations: &[(&str, &str)] = if dry_run { &[(ANNOTATION_DRY_RUN, "true")] } else { &[] };
    let mut object = json!({
        "apiVersion": api_version,
        "kind": "AuthorizationPolicy",
        "metadata": metadata(namespace, name, annotations),
        "spec": {},
    });
    let body = spec_mut(&mut object);
    if let Some(labels) = workload {
        body.insert("selector".into(), selector(labels));
    }
    body.insert("action".into(), json!(action.to_string()));
    body.insert("rules".into(), Value::Array(rules.to_vec()));
    object
}

/// The rules of a policy as read.
pub fn rules_of(object: &Value) -> &[Value] {
    object.pointer("/spec/rules").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The action of a policy as read (ALLOW when absent).
pub fn action_of(object: &Value) -> Action {
    object
        .pointer("/spec/action")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or(Action::Allow)
}

/// An existing policy with `rule` appended to `spec.rules` unless an equal rule is there, and
/// `istio.io/dry-run: "true"` set when `dry_run`; every other field and rule stays. `None`
/// when nothing changes.
pub fn append_rule(live: &Value, rule: &Value, dry_run: bool) -> Option<Value> {
    let mut next = live.clone();
    let body = spec_mut(&mut next);
    let rules = body.entry("rules").or_insert_with(|| json!([]));
    if !rules.is_array() {
        *rules = json!([]);
    }
    let rules = rules.as_array_mut().expect("rules was just made a list");
    if !rules.contains(rule) {
        rules.push(rule.clone());
    }
    if dry_run {
        if !next["metadata"].get("annotations").is_some_and(Value::is_object) {
            next["metadata"]["annotations"] = json!({});
        }
        next["metadata"]["annotations"][ANNOTATION_DRY_RUN] = json!("true");
    }
    (next != *live).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guide_rule() -> RuleSpec {
        RuleSpec {
            principals: vec![
                "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account".into(),
            ],
            methods: vec!["GET".into()],
            ..RuleSpec::default()
        }
    }

    #[test]
    fn the_guide_policy() {
        let sel: BTreeMap<String, String> = [("app".into(), "my-service".into())].into();
        let ap = build(
            "security.istio.io/v1",
            "default",
            "my-service-access",
            Some(&sel),
            Action::Allow,
            &[guide_rule().to_value()],
            false,
        );
        assert_eq!(
            ap["spec"],
            json!({
                "selector": {"matchLabels": {"app": "my-service"}},
                "action": "ALLOW",
                "rules": [{
                    "from": [{"source": {"principals":
                        ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]}}],
                    "to": [{"operation": {"methods": ["GET"]}}],
                }],
            })
        );
        assert!(ap["metadata"].get("annotations").is_none());
    }

    #[test]
    fn sources_are_ored_and_any_source_has_no_from() {
        let rule = RuleSpec {
            principals: vec!["cluster.local/ns/a/sa/b".into()],
            namespaces: vec!["c".into()],
            ..RuleSpec::default()
        };
        assert_eq!(rule.to_value()["from"].as_array().unwrap().len(), 2);
        let any = RuleSpec { ports: vec!["8080".into()], ..RuleSpec::default() };
        assert_eq!(any.to_value(), json!({"to": [{"operation": {"ports": ["8080"]}}]}));
        assert_eq!(RuleSpec::default().to_value(), json!({}));
        assert_eq!(guide_rule().http_fields(), ["methods"]);
    }

    #[test]
    fn appending_keeps_the_old_rules_and_converges() {
        let old = json!({"from": [{"source": {"namespaces": ["x"]}}]});
        let live = json!({"metadata": {"name": "p"}, "spec": {"rules": [old], "extra": true}});
        let new = guide_rule().to_value();
        let next = append_rule(&live, &new, false).unwrap();
        assert_eq!(rules_of(&next), [old.clone(), new.clone()]);
        assert_eq!(next["spec"]["extra"], true);
        assert!(append_rule(&next, &new, false).is_none());
        let dry = append_rule(&next, &new, true).unwrap();
        assert_eq!(dry["metadata"]["annotations"][ANNOTATION_DRY_RUN], "true");
        assert_eq!(action_of(&live), Action::Allow);
    }
}
