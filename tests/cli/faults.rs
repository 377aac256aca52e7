//! The fault matrix: every command against the test server's injected faults, table-driven.
//! Each case asserts the exit code, the key line of the message, and that no write is left
//! unreported. The commands and the fixture they share are here; one module per fault family.

mod access;
mod reads;
mod writes;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Env, Run, closed_port};
use crate::support::{Builder, Operation, StandIn, TestServer};

/// One command of the matrix.
pub struct Case {
    pub name: &'static str,
    pub args: &'static [&'static str],
    /// A GET the command always sends (exact path), the target of read faults.
    pub read: &'static str,
    /// The method and path prefix of the write it sends on success, if it writes.
    pub write: Option<(&'static str, &'static str)>,
    /// Text that only a successful run prints on stdout.
    pub done: &'static str,
    /// The exit code of a successful run (`check` finds problems in the fixture: exit 1).
    pub ok: i32,
}

/// Every command, as a user would run it on the fixture.
pub const CASES: &[Case] = &[
    Case {
        name: "inject",
        args: &["inject", "shop"],
        read: "/api/v1/namespaces/shop/pods",
        write: Some(("PUT", "/api/v1/namespaces/shop")),
        done: "namespace/shop labeled",
        ok: 0,
    },
    Case {
        name: "inject status",
        args: &["inject", "status", "-A"],
        read: "/api/v1/pods",
        write: None,
        done: "shop              off       0/2      0",
        ok: 0,
    },
    Case {
        name: "check",
        args: &["check", "-A"],
        read: "/api/v1/pods",
        write: None,
        done: "1 error, 0 warnings, 1 info",
        ok: 1,
    },
    Case {
        name: "expose",
        args: &["expose", "my-service", "--path", "/my-service"],
        read: "/api/v1/namespaces/default/services/my-service",
        write: Some(("PATCH", "/apis/networking.istio.io/v1/namespaces/default/")),
        done: "created",
        ok: 0,
    },
    Case {
        name: "unexpose",
        args: &["unexpose", "my-service"],
        read: "/apis/networking.istio.io/v1/namespaces/default/virtualservices",
        write: Some(("DELETE", "/apis/networking.istio.io/v1/namespaces/default/")),
        done: "virtualservice.networking.istio.io/my-service in default deleted",
        ok: 0,
    },
    Case {
        name: "resilience",
        args: &["resilience", "my-service", "--preset", "standard"],
        read: "/apis/networking.istio.io/v1/virtualservices",
        write: Some(("PATCH", "/apis/networking.istio.io/v1/namespaces/default/")),
        done: "destinationrule.networking.istio.io/my-service in default created",
        ok: 0,
    },
    Case {
        name: "resilience show",
        args: &["resilience", "show", "my-service"],
        read: "/apis/networking.istio.io/v1/destinationrules",
        write: None,
        done: "(no DestinationRule)   trafficPolicy     outlierDetection",
        ok: 0,
    },
    Case {
        name: "mtls",
        args: &["mtls", "default", "--mode", "STRICT"],
        read: "/api/v1/pods",
        write: Some(("PATCH", "/apis/security.istio.io/v1/namespaces/default/")),
        done: "created",
        ok: 0,
    },
    Case {
        name: "allow",
        args: &["allow", "app=my-service", "--from", "ns/istio-system"],
        read: "/api/v1/pods",
        write: Some(("PATCH", "/apis/security.istio.io/v1/namespaces/default/")),
        done: "created",
        ok: 0,
    },
    Case {
        name: "deny",
        args: &["deny", "app=my-service", "--from", "any", "--paths", "/admin/*"],
        read: "/api/v1/pods",
        write: Some(("PATCH", "/apis/security.istio.io/v1/namespaces/default/")),
        done: "created",
        ok: 0,
    },
    Case {
        name: "can",
        args: &["can", "ingress", "my-service"],
        read: "/api/v1/pods",
        write: None,
        done: "ALLOW: ingress gateway istio-system/istio-ingressgateway-5d8f-a",
        ok: 0,
    },
    Case {
        name: "dashboard",
        args: &["dashboard", "kiali", "--no-browser"],
        read: "/api/v1/namespaces/istio-system/services/kiali",
        write: None,
        done: "http://127.0.0.1:",
        ok: 0,
    },
    Case {
        name: "version",
        args: &["version"],
        read: "/version",
        write: None,
        done: "Server Version: v1.32.4",
        ok: 0,
    },
];

/// The guide's mesh (namespace `default` injected, `my-service` with a sidecar, the ingress
/// gateway), an uninjected namespace `shop` with a pod, and Kiali in istio-system.
pub fn fixture() -> String {
    let mesh = crate::mtls::guide_mesh();
    // Without the guide's catch-all Gateway and VirtualService, so expose and resilience
    // create objects of their own.
    let mesh = mesh.split("apiVersion: networking.istio.io/v1").next().unwrap_or_default();
    format!("{mesh}\n---\n{SHOP}\n---\n{}", kiali_objects())
}

/// Namespace shop, not injected, with Services web and db, their pods and DestinationRules,
/// and a VirtualService in default for web: every list a command sends has two items or more,
/// so with one item per page every list goes through a continue token.
const SHOP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: shop, labels: {app: web}}
spec: {containers: [{name: a, image: b}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p2, namespace: shop, labels: {app: db}}
spec: {containers: [{name: a, image: b}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: db}
  ports: [{name: tcp-db, port: 5432}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: shop}
spec:
  host: db
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [web.shop.svc.cluster.local]
  http:
  - route:
    - destination: {host: web.shop.svc.cluster.local}
    retries: {attempts: 0}
"#;

fn kiali_objects() -> String {
    "apiVersion: v1\nkind: Service\nmetadata: {name: kiali, namespace: istio-system, labels: {app: kiali}}\n\
     spec:\n  selector: {app: kiali}\n  ports: [{name: http, port: KIALI_PORT}]\n"
        .to_string()
}

/// A matrix environment: the fixture on a server from `builder`, with Kiali served by a
/// stand-in (kept alive as long as the environment).
pub struct MatrixEnv {
    pub env: Env,
    _kiali: StandIn,
}

impl std::ops::Deref for MatrixEnv {
    type Target = Env;
    fn deref(&self) -> &Env {
        &self.env
    }
}

pub fn matrix_env(builder: Builder) -> MatrixEnv {
    let env = Env::with(builder);
    let port = closed_port();
    env.seed(&fixture().replace("KIALI_PORT", &port.to_string()));
    env.server.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kiali-a", "namespace": "istio-system", "labels": {"app": "kiali"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "kiali", "image": "kiali:1",
                 "ports": [{"name": "ui", "containerPort": port}]}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }));
    // A second Kiali pod that is not ready, so the pod list has two items.
    env.server.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kiali-b", "namespace": "istio-system", "labels": {"app": "kiali"}},
        "spec": {"containers": [{"name": "kiali", "image": "kiali:1"}]},
        "status": {"phase": "Pending"},
    }));
    let kiali = StandIn::start("kiali-a", "/kiali");
    env.server.forward_pod("istio-system", "kiali-a", port, kiali.addr());
    MatrixEnv { env, _kiali: kiali }
}

/// Runs `f` for every case at once (most of a fault case is waiting), then fails with every
/// case that failed.
pub fn each(cases: &[&'static Case], f: impl Fn(&'static Case) + Sync) {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases.iter().map(|case| (case, scope.spawn(|| f(case)))).collect();
        handles
            .into_iter()
            .filter_map(|(case, handle)| {
                handle.join().err().map(|e| {
                    let text = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    format!("[{}] {text}", case.name)
                })
            })
            .collect()
    });
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}

/// Every case.
pub fn all() -> Vec<&'static Case> {
    CASES.iter().collect()
}

/// The cases that write.
pub fn writers() -> Vec<&'static Case> {
    CASES.iter().filter(|c| c.write.is_some()).collect()
}

/// Asserts the outcome of an undisturbed run.
#[track_caller]
pub fn assert_normal(case: &Case, run: &Run) {
    assert_eq!(run.code, case.ok, "exit code\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(case.done),
        "stdout lacks {:?}:\n{}\nstderr:\n{}",
        case.done,
        run.stdout,
        run.stderr
    );
    assert!(!run.stderr.contains("error:"), "an error on stderr:\n{}", run.stderr);
}

/// Asserts exit `code`, a first `error:` line containing `first`, and `also` somewhere on
/// stderr.
#[track_caller]
pub fn assert_failed(run: &Run, code: i32, first: &str, also: &[&str]) {
    assert_eq!(run.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let line = run.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(line.contains(first), "error line {line:?} lacks {first:?}\nstderr:\n{}", run.stderr);
    for text in also {
        assert!(run.stderr.contains(text), "stderr lacks {text:?}:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// Asserts that every write the server carried out is reported on stdout, and that a failed
/// run which wrote something says so (`already written` or a per-object line).
#[track_caller]
pub fn assert_writes_reported(env: &Env, run: &Run) {
    for write in env.writes() {
        if !(200..300).contains(&write.status) || write.dry_run {
            continue;
        }
        let name = write.path.rsplit('/').next().unwrap_or_default();
        let reported = run.stdout.lines().chain(run.stderr.lines()).any(|l| {
            l.contains(name)
                && ["created", "configured", "labeled", "deleted", "already written", "unchanged"]
                    .iter()
                    .any(|v| l.contains(v))
        });
        assert!(
            reported,
            "{} {} was written but not reported\nstdout:\n{}\nstderr:\n{}",
            write.method, write.path, run.stdout, run.stderr
        );
    }
}

/// Requests to exactly `path`.
pub fn hits(env: &Env, path: &str) -> Vec<crate::support::LoggedRequest> {
    env.server.requests().into_iter().filter(|r| r.path == path).collect()
}

/// Requests that match a case's write.
pub fn write_hits(env: &Env, case: &Case) -> Vec<crate::support::LoggedRequest> {
    let (method, prefix) = case.write.expect("a writing case");
    env.server
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .collect()
}

/// A fresh environment for `case`, with what the case needs already done (unexpose needs
/// something exposed); the request log starts empty.
pub fn env_for(case: &Case, builder: Builder) -> MatrixEnv {
    let env = matrix_env(builder);
    if case.name == "unexpose" {
        env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    }
    env.server.clear_log();
    env
}

/// Like [`env_for`], for a server whose rules would stop the setup itself (a 403 on what the
/// setup reads): what `expose` writes on the plain fixture is stored directly, owned by us.
pub fn env_seeded_for(case: &Case, builder: Builder) -> MatrixEnv {
    static EXPOSED: OnceLock<Vec<Value>> = OnceLock::new();
    let env = matrix_env(builder);
    if case.name == "unexpose" {
        let exposed = EXPOSED.get_or_init(|| {
            let plain = matrix_env(TestServer::builder());
            plain.run(&["expose", "my-service", "--path", "/my-service"]).ok();
            ["gateways.networking.istio.io", "virtualservices.networking.istio.io"]
                .iter()
                .filter_map(|r| plain.server.object(r, "default", "my-service"))
                .chain(plain.server.object(
                    "gateways.networking.istio.io",
                    "default",
                    "my-service-gateway",
                ))
                .collect()
        });
        for object in exposed {
            let mut object = object.clone();
            if let Some(meta) = object["metadata"].as_object_mut() {
                for key in ["uid", "resourceVersion", "creationTimestamp", "managedFields"] {
                    meta.remove(key);
                }
            }
            env.server.insert_managed(object, "kubectl-debatemesh", Operation::Apply);
        }
    }
    env.server.clear_log();
    env
}

pub fn env(case: &Case) -> MatrixEnv {
    env_for(case, TestServer::builder())
}

/// Runs `case` with `extra` arguments. `dashboard` runs until it prints its URL (then gets
/// Ctrl-C) or ends by itself, bounded in time.
pub fn run(env: &Env, case: &Case, extra: &[&str]) -> Run {
    let mut args = case.args.to_vec();
    args.extend(extra);
    if case.name != "dashboard" {
        return env.run(&args);
    }
    let mut child = env
        .command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (tx, lines) = channel();
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut out = Vec::new();
    let code = loop {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(20)) {
            out.push(line);
            let pid = child.id().to_string();
            let _ = std::process::Command::new("kill").args(["-INT", &pid]).status();
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("dashboard did not end in time");
        }
    };
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
        out.push(line);
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    Run { code, stdout: out.join("\n"), stderr }
}
