//! Throughput of the evaluator on a large synthetic mesh (1,000 namespaces,
//! 10,000 Services, 30,000 Pods, 5,000 AuthorizationPolicies). Run with
//! `cargo test --release --lib scale -- --ignored --nocapture`.

use std::time::Instant;

use serde_json::json;

use super::{Caller, Decision, Protocol, Request, Target, evaluate};
use crate::mesh::resource::Origin;
use crate::mesh::snapshot::{Snapshot, SnapshotBuilder};

/// Builds the synthetic mesh from API-shaped JSON items.
pub(super) fn large_mesh(namespaces: usize) -> Snapshot {
    let mut b = SnapshotBuilder::new();
    let mut add = |v: serde_json::Value| {
        b.add_value(v, Origin::Cluster).expect("synthetic object is valid");
    };
    add(json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}}));
    add(json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": {"name": "deny-debug", "namespace": "istio-system"},
        "spec": {"action": "DENY", "rules": [{"when": [{"key": "request.headers[x-debug]", "values": ["*"]}]}]}}));
    for n in 0..namespaces {
        let ns = format!("ns-{n}");
        add(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"istio-injection": "enabled"}}}));
        for s in 0..10 {
            let app = format!("svc-{s}");
            add(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
                "spec": {"selector": {"app": app}, "ports": [
                    {"name": "http", "port": 8000, "targetPort": 8080},
                    {"name": "tcp-db", "port": 9000, "targetPort": 9000}]}}),
            );
            for p in 0..3 {
                add(json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("{app}-{p}"), "namespace": ns,
                        "labels": {"app": app, "version": format!("v{p}"), "security.istio.io/tlsMode": "istio"},
                        "annotations": {"sidecar.istio.io/status": "{}"}},
                    "spec": {"serviceAccountName": app, "containers": [{"name": "app",
                        "ports": [{"containerPort": 8080}, {"containerPort": 9000}]}]}}));
            }
        }
        let policy = |name: &str, spec: serde_json::Value| {
            json!({"apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec})
        };
        add(policy(
            "allow-same-ns",
            json!({"rules": [{"from": [{"source": {"namespaces": [ns]}}],
            "to": [{"operation": {"methods": ["GET", "HEAD"], "paths": ["/api/*"]}}]}]}),
        ));
        add(policy(
            "allow-frontend",
            json!({"selector": {"matchLabels": {"app": "svc-0"}},
            "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/ns-0/sa/svc-1"]}}]}]}),
        ));
        add(policy(
            "deny-admin",
            json!({"action": "DENY", "rules": [{"to": [{"operation": {"paths": ["/admin*"]}}]}]}),
        ));
        add(policy(
            "allow-db",
            json!({"selector": {"matchLabels": {"app": "svc-9"}},
            "rules": [{"to": [{"operation": {"ports": ["9000"]}}], "from": [{"source": {"serviceAccounts": [format!("{ns}/svc-8")]}}]}]}),
        ));
        add(policy(
            "audit",
            json!({"action": "AUDIT", "rules": [{"to": [{"operation": {"methods": ["DELETE"]}}]}]}),
        ));
        add(json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "svc-0", "namespace": ns},
            "spec": {"host": "svc-0", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}}));
    }
    b.finish()
}

fn query(i: usize, namespaces: usize) -> Request {
    let caller = Caller::Identity {
        namespace: format!("ns-{}", i % namespaces),
        service_account: format!("svc-{}", i % 10),
        sidecar: true,
    };
    // Half the calls stay in the caller's namespace, where policies allow.
    let target_ns =
        format!("ns-{}", if i.is_multiple_of(2) { i % namespaces } else { (i * 7) % namespaces });
    let tcp = i.is_multiple_of(5);
    let to = Target::Service {
        namespace: target_ns,
        name: format!("svc-{}", (i * 3) % 10),
        port: if tcp { 9000 } else { 8000 },
    };
    let mut r = Request::new(caller, to);
    if !tcp {
        r.protocol = Some(Protocol::Http);
        r.method = Some(if i.is_multiple_of(3) { "POST" } else { "GET" }.into());
        r.path =
            Some(if i.is_multiple_of(4) { "/admin/x".into() } else { format!("/api/items/{i}") });
    }
    r
}

#[test]
#[ignore = "scale measurement: run in release with --ignored"]
#[allow(clippy::print_stdout)]
fn evaluations_per_second_on_a_large_mesh() {
    let rss_before = resident_kib();
    let started = Instant::now();
    let snap = large_mesh(1000);
    let built = started.elapsed();
    let held = resident_kib().saturating_sub(rss_before);
    let queries: Vec<Request> = (0..50_000).map(|i| query(i, 1000)).collect();
    let started = Instant::now();
    let mut denied = 0;
    for q in &queries {
        if evaluate(&snap, q).expect("query resolves").decision == Decision::Deny {
            denied += 1;
        }
    }
    assert!(denied > 0 && denied < queries.len(), "the mix exercises both answers");
    let elapsed = started.elapsed();
    let rate = queries.len() as f64 / elapsed.as_secs_f64();
    println!(
        "built {} pods, {} services, {} policies in {built:?} (about {} MiB resident); \
         {} evaluations in {elapsed:?}: {rate:.0}/s ({denied} denied)",
        snap.pods().len(),
        snap.services().len(),
        snap.authorization_policies().len(),
        held / 1024,
        queries.len()
    );
}

#[test]
fn synthetic_mesh_answers_as_designed() {
    let snap = large_mesh(3);
    let same_ns = Caller::Identity {
        namespace: "ns-1".into(),
        service_account: "svc-2".into(),
        sidecar: true,
    };
    let to = Target::Service { namespace: "ns-1".into(), name: "svc-3".into(), port: 8000 };
    let mut r = Request::new(same_ns, to);
    r.method = Some("GET".into());
    r.path = Some("/api/x".into());
    assert_eq!(evaluate(&snap, &r).unwrap().decision, Decision::Allow);
    r.path = Some("/admin".into());
    assert_eq!(evaluate(&snap, &r).unwrap().deciding.to_string(), "policy ns-1/deny-admin");
    r.headers.push(("X-Debug".into(), "1".into()));
    assert_eq!(evaluate(&snap, &r).unwrap().deciding.to_string(), "policy istio-system/deny-debug");
}

/// Resident memory of this process in KiB (Linux), 0 elsewhere.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
