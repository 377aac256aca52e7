//! The matrix against the evaluator asked pair by pair: on a mesh whose policies name
//! identities, namespaces and service accounts exactly and by wildcard, test conditions, and
//! whose DestinationRules (exact, wildcard, exported to one namespace) make some namespaces
//! send differently, every identity's answer at every destination must be what
//! `authz::evaluate` says for it alone.

use serde_json::{Value, json};

use super::callers::Caller;
use super::compute::{Matrix, Probe, Scope};
use crate::authz::{self, Request, Target};
use crate::commands::can_output::DecidedBy;
use crate::mesh::resource::Origin;
use crate::mesh::snapshot::{Snapshot, SnapshotBuilder};

const NAMESPACES: usize = 10;
const APPS: usize = 4;

fn pod(ns: &str, name: &str, app: &str, sa: &str, sidecar: bool, labels: Value) -> Value {
    let mut l = json!({"app": app});
    if let Some(extra) = labels.as_object() {
        for (k, v) in extra {
            l[k] = v.clone();
        }
    }
    if sidecar {
        l["security.istio.io/tlsMode"] = json!("istio");
    }
    let annotations = if sidecar { json!({"sidecar.istio.io/status": "{}"}) } else { json!({}) };
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": l, "annotations": annotations},
        "spec": {"serviceAccountName": sa, "containers": [{"name": "app",
            "ports": [{"containerPort": 8080}, {"containerPort": 5432}]}]}})
}

fn policy(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

fn rule(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

fn mesh() -> Snapshot {
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio", "namespace": "istio-system"},
            "data": {"mesh": "extensionProviders:\n- name: ext\n  envoyExtAuthzGrpc:\n    service: ext.istio-system.svc.cluster.local\n    port: 9000\n"}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "istio-system"},
            "spec": {"selector": {"app": "ext"}, "ports": [{"name": "grpc", "port": 9000}]}}),
        json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}}),
        pod(
            "istio-system",
            "gw-0",
            "gw",
            "istio-ingressgateway-service-account",
            false,
            json!({"istio": "ingressgateway"}),
        ),
        pod("istio-system", "istiod-0", "istiod", "istiod", false, json!({})),
        policy(
            "istio-system",
            "deny-ns5-admin",
            json!({"action": "DENY", "rules": [{
            "to": [{"operation": {"paths": ["/admin*"]}}],
            "when": [{"key": "source.namespace", "values": ["ns-5"]}]}]}),
        ),
        // Wildcards that match no identity still split nothing wrongly.
        rule(
            "ns-8",
            "wild",
            json!({"host": "*.ns-0.svc.cluster.local",
            "trafficPolicy": {"tls": {"mode": "DISABLE"}}}),
        ),
        rule(
            "ns-2",
            "to-ns3-a0",
            json!({"host": "a0.ns-3.svc.cluster.local",
            "trafficPolicy": {"tls": {"mode": "DISABLE"}}}),
        ),
        rule(
            "ns-0",
            "a1-plain-for-ns6",
            json!({"host": "a1", "exportTo": ["ns-6"],
            "trafficPolicy": {"tls": {"mode": "DISABLE"}}}),
        ),
        json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": "ns-9"}, "spec": {"mtls": {"mode": "PERMISSIVE"}}}),
    ];
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n}");
        objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        for a in 0..APPS {
            let app = format!("a{a}");
            objects.push(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": app, "namespace": ns},
                "spec": {"selector": {"app": app}, "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080},
                    {"name": "tcp-db", "port": 5432}]}}));
            for p in 0..2 {
                // ns-9 runs without sidecars; one pod of ns-2/a1 lost its sidecar.
                let sidecar = n != 9 && !(n == 2 && a == 1 && p == 1);
                objects.push(pod(&ns, &format!("{app}-{p}"), &app, &app, sidecar, json!({})));
            }
        }
        objects.push(policy(&ns, "a1-from-a0", json!({"selector": {"matchLabels": {"app": "a1"}},
            "rules": [{"from": [{"source": {"principals": [format!("cluster.local/ns/{ns}/sa/a0")]}}]}]})));
        objects.push(policy(
            &ns,
            "a2-same-ns",
            json!({"selector": {"matchLabels": {"app": "a2"}},
            "rules": [{"from": [{"source": {"namespaces": [ns]}}],
                       "to": [{"operation": {"methods": ["GET"]}}]}]}),
        ));
    }
    objects.extend([
        policy(
            "ns-1",
            "a3-only-ns1",
            json!({"action": "DENY", "selector": {"matchLabels": {"app": "a3"}},
            "rules": [{"from": [{"source": {"notPrincipals": ["cluster.local/ns/ns-1/*"]}}]}]}),
        ),
        policy(
            "ns-4",
            "a0-from-ns6-a2",
            json!({"selector": {"matchLabels": {"app": "a0"}},
            "rules": [{"from": [{"source": {"serviceAccounts": ["ns-6/a2"]}}]}]}),
        ),
        policy(
            "ns-7",
            "a0-from-low",
            json!({"selector": {"matchLabels": {"app": "a0"}},
            "rules": [{"from": [{"source": {"namespaces": ["ns-[0-3]*", "ns-1*"]}}]}]}),
        ),
        policy(
            "ns-3",
            "a3-ext",
            json!({"action": "CUSTOM", "provider": {"name": "ext"},
            "selector": {"matchLabels": {"app": "a3"}},
            "rules": [{"when": [{"key": "source.principal", "notValues": ["*/sa/a3"]}]}]}),
        ),
    ]);
    let mut b = SnapshotBuilder::new();
    for o in objects {
        b.add_value(o, Origin::Cluster).expect("fixture object is valid");
    }
    b.finish()
}

fn expected(
    snapshot: &Snapshot,
    from: authz::Caller,
    ns: &str,
    svc: &str,
    port: u16,
) -> (String, String) {
    let to = Target::Service { namespace: ns.into(), name: svc.into(), port };
    let v = authz::evaluate(snapshot, &Request::new(from, to)).unwrap();
    (v.decision.as_str().to_string(), DecidedBy::of_verdict(&v).text)
}

fn identity(m: &Matrix, i: u32) -> authz::Caller {
    let id = &m.identities.list[i as usize];
    authz::Caller::Identity {
        namespace: id.namespace.clone(),
        service_account: id.service_account.clone(),
        sidecar: id.proxy,
    }
}

#[test]
fn every_identity_gets_what_the_evaluator_says_alone() {
    let snapshot = mesh();
    let m = Matrix::compute(&snapshot, &Scope::All, &Probe::default()).unwrap();
    assert_eq!(m.columns.len(), NAMESPACES * APPS * 2 + 1, "every Service port with workloads");
    let mut failures = Vec::new();
    let mut pairs = 0;
    for (c, col) in m.columns.iter().enumerate() {
        let ask = |from| expected(&snapshot, from, &col.namespace, &col.service, col.port);
        for i in 0..m.identities.list.len() as u32 {
            let cell = m.cell_of(&Caller::Identity(i), c);
            let got = (cell.decision.as_str().to_string(), cell.decided_by.text.clone());
            let want = ask(identity(&m, i));
            pairs += 1;
            if got != want {
                failures.push(format!(
                    "{} -> {}: {got:?}, want {want:?}",
                    m.identities.list[i as usize].id(),
                    col.id
                ));
            }
        }
        for (r, row) in m.rows.iter().enumerate() {
            let from = match row.caller {
                Caller::Ingress => authz::Caller::IngressGateway,
                Caller::Plaintext => authz::Caller::Plaintext,
                _ => continue,
            };
            let cell = m.cell(r, c);
            let got = (cell.decision.as_str().to_string(), cell.decided_by.text.clone());
            if got != ask(from) {
                failures.push(format!("{} -> {}: {got:?}", row.id, col.id));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {pairs} differ:\n{}", failures.len(), failures.join("\n"));
    // Each class is evaluated once: far fewer evaluations than pairs.
    assert!(m.evaluations() * 4 < pairs, "{} evaluations for {pairs} pairs", m.evaluations());
    let decisions: std::collections::BTreeSet<&str> = (0..m.rows.len())
        .flat_map(|r| (0..m.columns.len()).map(move |c| (r, c)))
        .map(|(r, c)| m.cell(r, c).decision.as_str())
        .collect();
    assert_eq!(decisions.len(), 3, "the fixture yields ALLOW, DENY and UNKNOWN: {decisions:?}");
}

#[test]
fn a_namespace_lists_its_own_and_folds_alike_outsiders_into_one_row() {
    let snapshot = mesh();
    let m =
        Matrix::compute(&snapshot, &Scope::Namespace("ns-0".into()), &Probe::default()).unwrap();
    assert!(m.columns.iter().all(|c| c.namespace == "ns-0"));
    let ids: Vec<&str> = m.rows.iter().map(|r| r.id.as_str()).collect();
    // ns-8 sends plaintext to ns-0 through its wildcard rule, ns-6 to a1 through the exported
    // one; the root DENY of /admin for ns-5 loses its paths on TCP ports, so it denies ns-5
    // there: those outsiders differ from the rest. ns-4's policy names ns-6/a2 in ns-4 only.
    for want in
        ["ns-0/a0", "ns-0/a3", "ns-5/a0", "ns-6/a0", "ns-8/a0", "others", "ingress", "plaintext"]
    {
        assert!(ids.contains(&want), "{want} in {ids:?}");
    }
    assert!(!ids.contains(&"ns-4/a0"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.starts_with("istio-system/istio-ingressgateway")));
    let others = m.rows.iter().position(|r| r.id == "others").unwrap();
    let Caller::Others { count, .. } = m.rows[others].caller else { unreachable!() };
    let folded: Vec<u32> = (0..m.identities.list.len() as u32)
        .filter(|&i| {
            let id = &m.identities.list[i as usize];
            id.proxy && id.namespace != "ns-0" && !ids.contains(&id.id().as_str())
        })
        .filter(|&i| {
            m.identities.list[i as usize].service_account != "istio-ingressgateway-service-account"
        })
        .collect();
    assert_eq!(folded.len(), count);
    for (c, col) in m.columns.iter().enumerate() {
        let row = m.cell(others, c);
        for &i in &folded {
            let want = expected(&snapshot, identity(&m, i), &col.namespace, &col.service, col.port);
            assert_eq!(
                (row.decision.as_str().to_string(), row.decided_by.text.clone()),
                want,
                "{} -> {}",
                m.identities.list[i as usize].id(),
                col.id
            );
        }
    }
}

#[test]
fn ports_filter_the_columns_and_the_request_reaches_every_pair() {
    let snapshot = mesh();
    let probe = Probe {
        method: Some("POST".into()),
        path: Some("/admin/x".into()),
        port: Some(80),
        headers: vec![],
    };
    let m = Matrix::compute(&snapshot, &Scope::Namespace("ns-2".into()), &probe).unwrap();
    assert!(m.columns.iter().all(|c| c.port == 80));
    let col = m.columns.iter().position(|c| c.id == "ns-2/a2:80").unwrap();
    let row = m.rows.iter().position(|r| r.id == "ns-2/a0").unwrap();
    // a2 allows GET from its namespace only.
    assert_eq!(m.cell(row, col).decision.as_str(), "DENY");
    let ns5 = m.rows.iter().position(|r| r.id == "ns-5/a0");
    assert!(
        ns5.is_some(),
        "the root DENY on /admin names ns-5: {:?}",
        m.rows.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
}
