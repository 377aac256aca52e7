//! Istio semantics reference cases (`tests/semantics/*.yaml`): each fixture
//! becomes a Snapshot, each question goes to the evaluator or the mTLS
//! resolver, and the answer must be the one Istio gives. A failure names
//! the case id.

use std::path::PathBuf;

use debatemesh::authz::{self, Caller, Protocol, Request, Target};
use debatemesh::mesh::manifest::load_manifest;
use debatemesh::mesh::snapshot::{Snapshot, SnapshotBuilder};
use serde_json::Value;

fn case_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/semantics");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn load_cases(kind: &str) -> Vec<Value> {
    let mut cases = Vec::new();
    for file in case_files() {
        let text = std::fs::read_to_string(&file).expect("case file is readable");
        let doc: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if doc["kind"] == kind {
            cases.extend(doc["cases"].as_array().cloned().unwrap_or_default());
        }
    }
    cases
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn snapshot(id: &str, fixture: &str) -> Result<Snapshot, String> {
    let mut builder = SnapshotBuilder::new();
    let (_, errors) = load_manifest(&mut builder, &format!("{id}.fixture"), fixture.as_bytes())
        .map_err(|e| e.to_string())?;
    if let Some(e) = errors.first() {
        return Err(format!("fixture: {e}"));
    }
    Ok(builder.finish())
}

fn port_of(v: &Value) -> Result<u16, String> {
    let p = v.get("port").ok_or("request has no port")?;
    p.as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| format!("bad port {p}"))
}

fn caller_of(from: &Value) -> Caller {
    if let Some(s) = from.as_str() {
        return match s {
            "ingress" | "ingress-gateway" | "gateway" => Caller::IngressGateway,
            _ => Caller::Plaintext,
        };
    }
    let truthy = |k: &str| match from.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        _ => false,
    };
    if truthy("ingress") || truthy("ingressGateway") || truthy("gateway") {
        return Caller::IngressGateway;
    }
    if truthy("external") || truthy("outsideMesh") {
        return Caller::Plaintext;
    }
    let namespace = str_of(from, "namespace").unwrap_or("default").to_string();
    if let Some(pod) = str_of(from, "pod") {
        return Caller::Pod { namespace, name: pod.to_string() };
    }
    if truthy("plaintext") && str_of(from, "serviceAccount").is_none() {
        return Caller::Plaintext;
    }
    Caller::Identity {
        namespace,
        service_account: str_of(from, "serviceAccount").unwrap_or("default").to_string(),
        sidecar: from.get("sidecar").and_then(Value::as_bool).unwrap_or(!truthy("plaintext")),
    }
}

fn target_of(to: &Value) -> Result<Target, String> {
    let namespace = str_of(to, "namespace").unwrap_or("default").to_string();
    let port = port_of(to)?;
    if let Some(pod) = str_of(to, "pod") {
        return Ok(Target::Pod { namespace, name: pod.to_string(), port });
    }
    let name =
        str_of(to, "service").or_else(|| str_of(to, "host")).ok_or("request.to names nothing")?;
    Ok(Target::Service { namespace, name: name.to_string(), port })
}

fn request_of(r: &Value) -> Result<Request, String> {
    let mut req = Request::new(caller_of(&r["from"]), target_of(&r["to"])?);
    req.protocol = match str_of(r, "protocol").map(str::to_ascii_uppercase).as_deref() {
        Some("TCP") => Some(Protocol::Tcp),
        Some("HTTP" | "HTTP2" | "GRPC") => Some(Protocol::Http),
        _ => None,
    };
    req.method = str_of(r, "method").map(str::to_string);
    req.path = str_of(r, "path").map(str::to_string);
    req.host = str_of(r, "host").map(str::to_string);
    match r.get("headers") {
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                req.headers.push((k.clone(), v));
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                if let (Some(k), Some(v)) = (str_of(item, "name"), str_of(item, "value")) {
                    req.headers.push((k.to_string(), v.to_string()));
                }
            }
        }
        _ => {}
    }
    let ip = ["sourceIp", "sourceIP", "source_ip", "ip"].iter().find_map(|k| str_of(r, k));
    let ip = ip.or_else(|| ["ip", "sourceIp"].iter().find_map(|k| str_of(&r["from"], k)));
    req.source_ip =
        ip.map(|s| s.parse().map_err(|e| format!("bad source IP {s}: {e}"))).transpose()?;
    Ok(req)
}

fn check_authz(case: &Value) -> Result<(), String> {
    let id = str_of(case, "id").unwrap_or("?");
    let snap = snapshot(id, str_of(case, "fixture").ok_or("no fixture")?)?;
    let req = request_of(&case["request"])?;
    let verdict = authz::evaluate(&snap, &req).map_err(|e| e.to_string())?;
    let expected = &case["expected"];
    let decision = str_of(expected, "decision").ok_or("no expected decision")?;
    let deciding = verdict.deciding.to_string();
    let mut acceptable: Vec<&str> = str_of(expected, "deciding").into_iter().collect();
    if let Some(Value::Array(more)) = expected.get("also_acceptable_deciding") {
        acceptable.extend(more.iter().filter_map(Value::as_str));
    }
    let explain = || {
        let chain: Vec<String> = verdict
            .workloads
            .iter()
            .flat_map(|w| {
                w.chain.iter().map(move |e| {
                    format!(
                        "{} {} {}/{} {:?}: {}",
                        w.workload,
                        e.action,
                        e.namespace,
                        e.name,
                        e.effect,
                        e.why_not()
                    )
                })
            })
            .collect();
        format!(
            "got {} by {deciding}; chain: [{}]; notes: {:?}",
            verdict.decision,
            chain.join(" | "),
            verdict.workloads.iter().flat_map(|w| w.notes.clone()).collect::<Vec<_>>()
        )
    };
    if verdict.decision.as_str() != decision {
        return Err(format!("expected {decision}, {}", explain()));
    }
    if !acceptable.is_empty() && !acceptable.contains(&deciding.as_str()) {
        return Err(format!("expected deciding {acceptable:?}, {}", explain()));
    }
    if let Some(mode) = str_of(expected, "mtls").or_else(|| str_of(expected, "mtls_mode")) {
        let got = verdict.mtls.map(|m| m.as_str()).unwrap_or("none");
        if got != mode {
            return Err(format!("expected mTLS mode {mode}, got {got}"));
        }
    }
    Ok(())
}

fn check_effective_mode(case: &Value, snap: &Snapshot) -> Result<(), String> {
    let queries = case["query"].as_array().ok_or("no query")?;
    let expected = case["expected"].as_array().ok_or("no expected list")?;
    for (q, want) in queries.iter().zip(expected) {
        let ns = str_of(q, "namespace").unwrap_or("default");
        let pod = str_of(q, "pod").ok_or("query names no pod")?;
        let port = port_of(q)?;
        let id = snap.pods().id(ns, pod).ok_or_else(|| format!("pod {ns}/{pod} not in fixture"))?;
        let got = authz::effective_mtls(snap, &snap.workload_of_pod(id), port);
        let (mode, deciding) = (got.mode.as_str(), got.decider.to_string());
        if Some(mode) != str_of(want, "mode") || Some(deciding.as_str()) != str_of(want, "deciding")
        {
            return Err(format!(
                "{ns}/{pod}:{port}: expected {} by {}, got {mode} by {deciding}",
                str_of(want, "mode").unwrap_or("?"),
                str_of(want, "deciding").unwrap_or("?")
            ));
        }
    }
    if let Some(sel) = case.get("expected_selected") {
        let (ns, pod) = (
            str_of(&queries[0], "namespace").unwrap_or("default"),
            str_of(&queries[0], "pod").unwrap_or(""),
        );
        let id = snap.pods().id(ns, pod).ok_or("first query pod missing")?;
        let levels = authz::mtls::selected_peer_authentications(snap, &snap.workload_of_pod(id));
        let name = |id: Option<u32>| id.map(|i| snap.peer_authentications().at(i).metadata.key());
        for (level, got) in
            [("mesh", levels.mesh), ("namespace", levels.namespace), ("workload", levels.workload)]
        {
            if let Some(want) = str_of(sel, level)
                && name(got).as_deref() != Some(want)
            {
                return Err(format!("expected {level} policy {want}, got {:?}", name(got)));
            }
        }
    }
    Ok(())
}

fn check_client_server(case: &Value, snap: &Snapshot) -> Result<(), String> {
    let r = &case["request"];
    let report = authz::effective_tls(snap, &caller_of(&r["from"]), &target_of(&r["to"])?)
        .map_err(|e| e.to_string())?;
    let got = &report.summary;
    let want = &case["expected"];
    let connection = if got.succeeds { "SUCCEEDS" } else { "FAILS" };
    let mut accepts: Vec<&str> = got.accepts.iter().map(|w| w.as_str()).collect();
    accepts.sort_unstable();
    let mut want_accepts: Vec<&str> = want["server_accepts"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    want_accepts.sort_unstable();
    let summary = format!(
        "{connection}, client sends {}, server accepts {accepts:?}, verdict {}, verified {:?}, warnings {:?}",
        got.client.wire,
        got.verdict.as_str(),
        got.server_verified,
        got.warnings
    );
    let mismatch = Some(connection) != str_of(want, "connection")
        || Some(got.client.wire.as_str()) != str_of(want, "client_sends")
        || accepts != want_accepts
        || Some(got.verdict.as_str()) != str_of(want, "verdict")
        || str_of(want, "server_verified").is_some_and(|v| got.server_verified != Some(v))
        || str_of(want, "warning").is_some_and(|w| !got.warnings.iter().any(|g| g == w));
    if mismatch {
        return Err(format!("expected {want}, got {summary}"));
    }
    Ok(())
}

fn check_mtls(case: &Value) -> Result<(), String> {
    let id = str_of(case, "id").unwrap_or("?");
    let snap = snapshot(id, str_of(case, "fixture").ok_or("no fixture")?)?;
    match str_of(case, "kind") {
        Some("effective-mode") => check_effective_mode(case, &snap),
        Some("client-server") => check_client_server(case, &snap),
        other => Err(format!("unknown case kind {other:?}")),
    }
}

fn run(kind: &str, check: fn(&Value) -> Result<(), String>) {
    let cases = load_cases(kind);
    assert!(!cases.is_empty(), "no {kind} found under tests/semantics");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let id = str_of(c, "id").unwrap_or("?");
            check(c).err().map(|e| format!("{id}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {kind} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn authorization_cases() {
    run("authz-cases", check_authz);
}

#[test]
fn mtls_cases() {
    run("mtls-cases", check_mtls);
}
