//! The Gateways `expose` compares a Gateway it would write with: every Gateway in the cluster
//! (or the namespace's, when listing all is forbidden), by the rule `check` reports as DM0201
//! (IST0145), so that `expose` never writes a Gateway that conflicts with another.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Notes, list_objects, name_of, qualified};
use crate::{
    analysis::conflicts::conflicting_servers,
    cluster::{Cluster, ClusterError, Resource, Scope},
    error::Problems,
    mesh::{
        expose::{Exposure, istio},
        gateway::Server,
    },
};

/// Every Gateway in the cluster; those of `namespace` with a note when the user may not list
/// Gateways in all namespaces.
pub(super) async fn list_gateways(
    cluster: &Cluster,
    resource: &Resource,
    namespace: &str,
) -> Result<(Vec<Value>, Option<String>), ClusterError> {
    match list_objects(cluster, resource, Scope::All).await {
        Ok(all) => Ok((all, None)),
        Err(e) if e.code() == Some(403) => {
            let listed = list_objects(cluster, resource, Scope::Namespace(namespace)).await?;
            let note = format!(
                "cannot list gateways in all namespaces (forbidden); only those in {namespace} \
                 were compared with the one expose writes, so a conflicting gateway elsewhere \
                 may go unnoticed (kubectl debatemesh check -A finds it)"
            );
            Ok((listed, Some(note)))
        }
        Err(e) => Err(e),
    }
}

/// Says which Gateways were compared when not all could be listed.
pub(super) fn note_scope(note: Option<String>, notes: &mut Notes) {
    if let Some(note) = note {
        notes.note(&note);
    }
}

fn servers(gateway: &Value) -> Vec<Server> {
    gateway
        .pointer("/spec/servers")
        .cloned()
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default()
}

/// Whether two Gateway selectors can pick the same gateway pods: equal, or one within the
/// other (a pod the larger one selects has every label of the smaller). Selectors that pick
/// nothing are left to `check`.
fn same_workload(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    let within = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| {
        !x.is_empty() && x.iter().all(|(k, v)| y.get(k) == Some(v))
    };
    a == b || within(a, b) || within(b, a)
}

fn describe(servers: &[&Server]) -> String {
    servers
        .iter()
        .map(|s| format!("{} on port {}", s.hosts.join(", "), s.port.number))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Refuses `object` (the Gateway `expose` would write) when another Gateway configures the same
/// gateway pods with a server on one of its ports whose hosts overlap: Istio then uses only one
/// of them. The hint names what works: routing through that Gateway (once it serves what it
/// lacks) or, when it does not take every host, hosts of the Service's own.
pub(super) fn refuse_conflicts(
    object: &Value,
    listed: &[Value],
    exposure: &Exposure,
) -> Result<(), Problems> {
    let ours = servers(object);
    let selector = istio::selector_of(object);
    let mut clashes = Vec::new();
    for other in listed.iter().filter(|g| qualified(g) != qualified(object)) {
        if !same_workload(&selector, &istio::selector_of(other)) {
            continue;
        }
        let theirs = servers(other);
        let mine = conflicting_servers(&ours, &theirs);
        if !mine.is_empty() {
            let taken = describe(&conflicting_servers(&theirs, &ours));
            clashes.push((other, taken, describe(&mine)));
        }
    }
    let Some((first, taken, mine)) = clashes.first() else { return Ok(()) };
    let names: Vec<String> = clashes.iter().map(|(g, _, _)| qualified(g)).collect();
    let other = qualified(first);
    let gaps = istio::gateway_gaps(first, exposure);
    let mut hint = if gaps.is_empty() {
        format!("route through it with --gateway {other}")
    } else {
        format!(
            "add to gateway {other} what it lacks ({}), then route through it with --gateway \
             {other}",
            gaps.join(", ")
        )
    };
    let takes_all = clashes.iter().any(|(g, _, _)| {
        conflicting_servers(&servers(g), &ours).iter().any(|s| {
            s.hosts.iter().any(|h| h.split_once('/').map_or(h.as_str(), |(_, h)| h) == "*")
        })
    });
    if !takes_all {
        hint.push_str(", or pass --host with hosts no other gateway serves on these ports");
    }
    Err(Problems::new(format!(
        "gateway {} would serve {mine} on the same gateway pods (selector {}) as gateway {} \
         serves {taken}; Istio uses only one of such servers (IST0145, check reports DM0201); \
         nothing was written",
        qualified(object),
        super::ingress::selector_string(&selector),
        names.join(", "),
    ))
    .with_hint(hint))
}

/// The gateways `expose` may reuse: those for the same workload that serve every
/// host and port, the Service's namespace first, then by namespace and name.
pub(super) fn reusable<'a>(
    listed: &'a [Value],
    selector: &BTreeMap<String, String>,
    exposure: &Exposure,
) -> Vec<&'a Value> {
    let ns = exposure.namespace();
    let mut found: Vec<&Value> = listed
        .iter()
        .filter(|g| istio::selector_of(g) == *selector)
        .filter(|g| istio::gateway_gaps(g, exposure).is_empty())
        .collect();
    found.sort_by_key(|g| (g.pointer("/metadata/namespace") != Some(&ns.into()), qualified(g)));
    found
}

/// The Gateway `namespace/name` among `listed`.
pub(super) fn in_namespace<'a>(
    listed: &'a [Value],
    namespace: &str,
    name: &str,
) -> Option<&'a Value> {
    listed.iter().find(|g| {
        g.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace)
            && name_of(g) == name
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn selectors_within_one_another_pick_the_same_pods() {
        let istio = labels(&[("istio", "ingressgateway")]);
        let both = labels(&[("istio", "ingressgateway"), ("app", "gw")]);
        assert!(same_workload(&istio, &istio));
        assert!(same_workload(&istio, &both) && same_workload(&both, &istio));
        assert!(!same_workload(&istio, &labels(&[("istio", "internal")])));
        assert!(!same_workload(&labels(&[]), &istio));
    }
}
