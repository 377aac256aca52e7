//! The checks `check` makes, run by `expose` on the objects as they will be after its writes:
//! its Gateway, the route's VirtualService or HTTPRoute, the Service and the DestinationRules
//! for its host. A route that `check` would report as broken is never called reachable.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{list_objects, qualified};
use crate::{
    analysis::{self, Finding, Level, ObjRef},
    cluster::{Cluster, ClusterError, Scope, kinds},
    commands::writes::Intent,
    error::Problems,
    mesh::{Kind, Origin, Snapshot, expose::Backend, host::resolve_host},
};

/// What `expose` read, to lay its writes over.
pub(crate) struct Read {
    /// Every object read, with `apiVersion` and `kind`, including the running gateway pods
    /// (where the gateway looks its DestinationRules up).
    pub objects: Vec<Value>,
    /// The kinds read in full for the namespace (or cluster), so that analyzers needing them run.
    pub kinds: Vec<Kind>,
    /// Objects the route relies on without `expose` writing them, such as a reused Gateway.
    pub relies_on: Vec<Value>,
}

/// The DestinationRules that may apply to the Service: all of them (one list), and whether
/// that list could be made; when listing all is forbidden, the namespace's; none when Istio's
/// API is not served.
pub(crate) async fn list_destination_rules(
    cluster: &Cluster,
    namespace: &str,
) -> Result<(Vec<Value>, bool), ClusterError> {
    let Some(resource) = cluster.try_resource(&kinds::DESTINATION_RULE).await? else {
        return Ok((Vec::new(), false));
    };
    match list_objects(cluster, &resource, Scope::All).await {
        Ok(all) => Ok((all, true)),
        Err(e) if e.code() == Some(403) => {
            Ok((list_objects(cluster, &resource, Scope::Namespace(namespace)).await?, false))
        }
        Err(e) => Err(e),
    }
}

/// The kind of an object, from its `apiVersion` and `kind`.
fn kind_of(object: &Value) -> Option<Kind> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    Kind::from_group_kind(group, object.get("kind")?.as_str()?)
}

fn obj_ref(object: &Value) -> Option<ObjRef> {
    let kind = kind_of(object)?;
    let ns = object.pointer("/metadata/namespace").and_then(Value::as_str);
    let name = object.pointer("/metadata/name").and_then(Value::as_str)?;
    Some(ObjRef::new(&kind.to_string(), ns, name))
}

fn same_object(a: &Value, b: &Value) -> bool {
    obj_ref(a).is_some() && obj_ref(a) == obj_ref(b)
}

/// The objects as they will be once every intent is written.
pub(crate) fn after_writes(objects: &[Value], intents: &[Intent]) -> anyhow::Result<Vec<Value>> {
    let mut out: Vec<Value> = objects.to_vec();
    for intent in intents {
        let (live, next) = match intent {
            Intent::Apply { object, live, .. } => (live.clone(), Some(object.clone())),
            Intent::Edit { live, edit, .. } => {
                (Some(live.clone()), Some(edit(live)?.unwrap_or_else(|| live.clone())))
            }
            Intent::Delete { live, .. } => (Some(live.clone()), None),
        };
        let key = next.as_ref().or(live.as_ref()).cloned().unwrap_or_default();
        out.retain(|o| !same_object(o, &key));
        out.extend(next);
    }
    Ok(out)
}

/// The Error findings about `relevant` in a Snapshot of `objects`.
fn errors(
    objects: &[Value],
    read: &Read,
    relevant: &BTreeSet<ObjRef>,
    domain: &str,
) -> Vec<Finding> {
    let mut builder = Snapshot::builder().cluster_domain(domain);
    for kind in &read.kinds {
        builder.mark_loaded(*kind);
    }
    for object in objects {
        // Objects the snapshot cannot hold are left out, as `check` does.
        let _ = builder.add_value(object.clone(), Origin::Cluster);
    }
    // Kinds read only in part (the gateway pods, a Gateway named with --gateway) serve as
    // lookups; analyzers that need all of a kind do not run, since they would report what
    // they do not see as missing.
    builder.loaded.retain(|k| read.kinds.contains(k));
    let snapshot = builder.finish();
    let analysis = analysis::analyze(&snapshot, &analysis::Options::default());
    analysis
        .report
        .findings()
        .iter()
        .filter(|f| f.level() == Level::Error && relevant.contains(&f.resource))
        .cloned()
        .collect()
}

/// Whether a DestinationRule applies to the Service's host.
fn for_host(rule: &Value, backend: &Backend, domain: &str) -> bool {
    let host = rule.pointer("/spec/host").and_then(Value::as_str).unwrap_or_default();
    let ns = rule.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    resolve_host(host, ns, domain).eq_ignore_ascii_case(&backend.fqdn)
}

/// What the checks found: every Error on the objects after the writes, and those the writes
/// bring (absent before).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub errors: Vec<Finding>,
    pub new: Vec<Finding>,
}

impl Outcome {
    /// One line per finding: `DM0105 VirtualService default/vs: message`.
    pub fn lines(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| {
                let ns =
                    f.resource.namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default();
                format!(
                    "{} {} {ns}{}: {}",
                    f.code.code, f.resource.kind, f.resource.name, f.message
                )
            })
            .collect()
    }

    /// Refuses writes that would break the route, unless `force`.
    pub fn refuse_new(&self, force: bool) -> Result<(), Problems> {
        if self.new.is_empty() || force {
            return Ok(());
        }
        Err(Problems::new(format!(
            "the route would be broken ({}); nothing was written",
            Self::lines(&self.new).join("; ")
        ))
        .with_hint("fix what check reports, or pass --force to write it anyway"))
    }
}

/// Runs the checks on the objects before and after `intents`.
pub(crate) fn run(
    read: &Read,
    intents: &[Intent],
    backend: &Backend,
    domain: &str,
) -> anyhow::Result<Outcome> {
    let after = after_writes(&read.objects, intents)?;
    let mut relevant = BTreeSet::new();
    for intent in intents {
        let object = match intent {
            Intent::Apply { object, .. } => object,
            Intent::Edit { live, .. } | Intent::Delete { live, .. } => live,
        };
        relevant.extend(obj_ref(object));
    }
    relevant.extend(read.relies_on.iter().filter_map(obj_ref));
    for object in read.objects.iter().chain(&after) {
        let is_service = kind_of(object) == Some(Kind::Service)
            && qualified(object) == format!("{}/{}", backend.namespace, backend.service);
        let is_rule =
            kind_of(object) == Some(Kind::DestinationRule) && for_host(object, backend, domain);
        if is_service || is_rule {
            relevant.extend(obj_ref(object));
        }
    }
    let before = errors(&read.objects, read, &relevant, domain);
    let errors = errors(&after, read, &relevant, domain);
    let key = |f: &Finding| (f.code.code, f.resource.clone(), f.message.clone());
    let old: BTreeSet<_> = before.iter().map(key).collect();
    let new = errors.iter().filter(|f| !old.contains(&key(f))).cloned().collect();
    Ok(Outcome { errors, new })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vs(subset: Option<&str>) -> Value {
        let mut destination = json!({"host": "s.d.svc.cluster.local", "port": {"number": 80}});
        if let Some(s) = subset {
            destination["subset"] = json!(s);
        }
        json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "s", "namespace": "d"},
            "spec": {"hosts": ["*"], "gateways": ["g"], "http": [{"route": [{"destination": destination}]}]}})
    }

    /// Gateway d/g and its running pod in istio-system, with `objects`.
    fn read(mut objects: Vec<Value>) -> Read {
        objects.push(json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
            "metadata": {"name": "g", "namespace": "d"},
            "spec": {"selector": {"istio": "ingressgateway"}, "servers": [{"port":
                {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}));
        objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "gw", "namespace": "istio-system",
                "labels": {"istio": "ingressgateway"}}, "status": {"phase": "Running"}}));
        Read {
            objects,
            kinds: vec![Kind::VirtualService, Kind::DestinationRule],
            relies_on: Vec::new(),
        }
    }

    fn apply(object: Value, live: Option<Value>) -> Intent {
        let resource = crate::cluster::Resource { kind: &kinds::VIRTUAL_SERVICE, version: "v1" };
        Intent::Apply { resource, object, live }
    }

    #[test]
    fn a_write_that_breaks_the_route_is_new_and_refused() {
        let backend = Backend::new("s", "d", "cluster.local");
        let r = read(vec![vs(None)]);
        let out = run(&r, &[apply(vs(Some("canary")), Some(vs(None)))], &backend, "cluster.local")
            .unwrap();
        assert_eq!(out.new.len(), 1, "{:?}", out.new);
        assert_eq!(out.new[0].code.code, "DM0105");
        assert!(out.refuse_new(false).is_err());
        assert!(out.refuse_new(true).is_ok());
    }

    #[test]
    fn a_route_broken_before_is_reported_but_not_refused() {
        let backend = Backend::new("s", "d", "cluster.local");
        let r = read(vec![vs(Some("canary"))]);
        let out = run(
            &r,
            &[apply(vs(Some("canary")), Some(vs(Some("canary"))))],
            &backend,
            "cluster.local",
        )
        .unwrap();
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert!(out.new.is_empty());
        assert!(out.refuse_new(false).is_ok());
        // A DestinationRule with the subset mends it.
        let rule = json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "s", "namespace": "d"},
            "spec": {"host": "s", "subsets": [{"name": "canary", "labels": {"v": "c"}}]}});
        let r = read(vec![vs(Some("canary")), rule]);
        let r = Read { relies_on: vec![vs(Some("canary"))], ..r };
        let out = run(&r, &[], &backend, "cluster.local").unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
    }
}
