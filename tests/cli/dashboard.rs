//! `dashboard` against the test API server: the real binary forwards through the server's
//! pod port-forward to stand-in addons on 127.0.0.1, and a plain HTTP client fetches the URL it
//! prints. Every run is bounded in time and ends with SIGINT, which must exit 0.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Env, Run, closed_port};
use crate::support::{Forbid, HttpClient, HttpResponse, StandIn, TestServer};

/// The longest a dashboard run may take to print its URL or to exit.
const PATIENCE: Duration = Duration::from_secs(30);

/// A dashboard process running in the background.
struct Dashboard {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Dashboard {
    fn start(env: &Env, args: &[&str]) -> Dashboard {
        let mut command = env.command(args);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the binary starts");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                collected.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Dashboard { child, lines, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The URL the command printed on stdout.
    #[track_caller]
    fn url(&self) -> Url {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => Url::parse(&line),
            Err(RecvTimeoutError::Timeout) => panic!("no URL in time; stderr:\n{}", self.stderr()),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the command ended without a URL; stderr:\n{}", self.stderr())
            }
        }
    }

    /// Waits until stderr contains `text`.
    #[track_caller]
    fn wait_for_stderr(&self, text: &str) {
        let started = Instant::now();
        while !self.stderr().contains(text) {
            assert!(started.elapsed() < PATIENCE, "no {text:?} on stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the exit.
    fn interrupt(self) -> Run {
        self.signal("INT")
    }

    /// Sends a signal (`INT`, `TERM`) to the process and waits for the exit.
    fn signal(self, name: &str) -> Run {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill").args([&format!("-{name}"), &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{name} {pid} failed");
        self.finish()
    }

    /// Waits for the process to exit by itself.
    fn finish(mut self) -> Run {
        let started = Instant::now();
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                break status.code().unwrap_or(-1);
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("the command did not exit in time; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader threads end with the pipes; give them a moment to collect the rest.
        let mut stdout: Vec<String> = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            stdout.push(line);
        }
        std::thread::sleep(Duration::from_millis(50));
        Run { code, stdout: stdout.join("\n"), stderr: self.stderr() }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A printed `http://127.0.0.1:PORT/PATH`.
#[derive(Debug)]
struct Url {
    text: String,
    port: u16,
    path: String,
}

impl Url {
    #[track_caller]
    fn parse(text: &str) -> Url {
        let rest = text.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("URL: {text}"));
        let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Url { text: text.to_string(), port: port.parse().unwrap(), path: path.to_string() }
    }

    fn get(&self) -> std::io::Result<HttpResponse> {
        HttpClient::new(self.port).get(&self.path)
    }
}

/// A pod behind a Service with `labels`, listening on `port`.
fn pod(namespace: &str, name: &str, app: &str, port: u16, ready: bool) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": app, "image": format!("example/{app}:1"),
                            "ports": [{"name": "ui", "containerPort": port}]}],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
        },
    })
}

/// Istio's sample Kiali: Service `kiali` on `port` (no targetPort) and its ConfigMap.
fn kiali(port: u16, web_root: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Service
metadata: {{name: kiali, namespace: istio-system, labels: {{app: kiali}}}}
spec:
  selector: {{app: kiali}}
  ports:
  - {{name: http, port: {port}}}
  - {{name: http-metrics, port: 9090}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: kiali, namespace: istio-system}}
data:
  config.yaml: |
    auth:
      strategy: anonymous
    server:
      port: {port}
      web_root: {web_root}
"#
    )
}

/// An Env with Kiali on a port of its own and one ready pod `kiali-a` served by a stand-in.
fn kiali_env(web_root: &str) -> (Env, u16, StandIn) {
    let env = Env::new();
    let port = closed_port();
    env.seed(&kiali(port, web_root));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, true));
    let stand_in = StandIn::start("kiali-a", web_root);
    env.server.forward_pod("istio-system", "kiali-a", port, stand_in.addr());
    (env, port, stand_in)
}

fn forwards_to(server: &TestServer, pod: &str) -> usize {
    let path = format!("/api/v1/namespaces/istio-system/pods/{pod}/portforward");
    server.requests().iter().filter(|r| r.path == path).count()
}

#[test]
fn kiali_opens_at_the_web_root_its_config_map_names() {
    let (env, port, stand_in) = kiali_env("/kiali");
    let dashboard = Dashboard::start(&env, &["dashboard", "kiali", "--no-browser"]);
    let url = dashboard.url();
    assert_eq!(url.text, format!("http://127.0.0.1:{port}/kiali"));
    let page = url.get().unwrap();
    assert_eq!((page.status, page.body.as_str()), (200, stand_in.page("/kiali").as_str()));

    let run = dashboard.interrupt().ok();
    assert!(run.stdout.is_empty(), "stdout holds the URL alone: {}", run.stdout);
    assert!(run.stderr.contains("-> pod istio-system/kiali-a port"), "{}", run.stderr);
    let forward = env.server.requests().into_iter().rfind(|r| r.path.ends_with("/portforward"));
    let forward = forward.expect("a port-forward request");
    assert_eq!((forward.method.as_str(), forward.status), ("GET", 101));
    assert_eq!(forward.param("ports"), Some(port.to_string().as_str()));
}

#[test]
fn a_custom_web_root_is_where_the_url_points() {
    let (env, port, stand_in) = kiali_env("/mesh/console/");
    let dashboard = Dashboard::start(&env, &["dashboard", "--no-browser"]);
    let url = dashboard.url();
    assert_eq!(url.text, format!("http://127.0.0.1:{port}/mesh/console"));
    let page = url.get().unwrap();
    assert_eq!(page.body, stand_in.page("/mesh/console"));
    let fixed = HttpClient::new(url.port).get("/kiali").unwrap();
    assert_eq!(fixed.status, 404, "the old fixed path is not served");
    dashboard.interrupt().ok();
}

#[test]
fn pods_that_are_not_ready_are_skipped() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&kiali(port, "/kiali"));
    let (not_ready, ready) = (StandIn::start("kiali-a", "/"), StandIn::start("kiali-b", "/"));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, false));
    env.server.insert(pod("istio-system", "kiali-b", "kiali", port, true));
    env.server.forward_pod("istio-system", "kiali-a", port, not_ready.addr());
    env.server.forward_pod("istio-system", "kiali-b", port, ready.addr());

    let dashboard = Dashboard::start(&env, &["dashboard", "--no-browser"]);
    let page = dashboard.url().get().unwrap();
    assert_eq!(page.body, ready.page("/kiali"));
    dashboard.interrupt().ok();
    assert_eq!(forwards_to(&env.server, "kiali-a"), 0);
    assert!(not_ready.paths().is_empty());
}

#[test]
fn a_pod_that_dies_is_replaced_without_a_restart() {
    let (env, port, first) = kiali_env("/kiali");
    let dashboard = Dashboard::start(&env, &["dashboard", "--no-browser"]);
    let url = dashboard.url();
    assert_eq!(url.get().unwrap().body, first.page("/kiali"));

    // The Deployment replaces its pod: the old one is deleted, a new one becomes ready.
    env.server.remove("pods", "istio-system", "kiali-a").expect("kiali-a existed");
    let second = StandIn::start("kiali-b", "/kiali");
    env.server.insert(pod("istio-system", "kiali-b", "kiali", port, true));
    env.server.forward_pod("istio-system", "kiali-b", port, second.addr());
    assert_eq!(url.get().unwrap().body, second.page("/kiali"));
    assert_eq!(url.get().unwrap().body, second.page("/kiali"));

    let run = dashboard.interrupt().ok();
    assert!(
        run.stderr
            .contains("pod istio-system/kiali-a is gone; forwarding to pod istio-system/kiali-b"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failed_connection_is_reported_and_the_next_one_works() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&kiali(port, "/kiali"));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, true));
    let dashboard = Dashboard::start(&env, &["dashboard", "--no-browser"]);
    let url = dashboard.url();

    // Nothing listens in the pod yet: this connection fails, the command keeps running.
    assert!(url.get().is_err(), "a refused connection gets no reply");
    dashboard.wait_for_stderr("warning: connection from 127.0.0.1:");
    let stand_in = StandIn::start("kiali-a", "/kiali");
    env.server.forward_pod("istio-system", "kiali-a", port, stand_in.addr());
    assert_eq!(url.get().unwrap().body, stand_in.page("/kiali"));

    let run = dashboard.interrupt().ok();
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    let to_pod = format!("to pod istio-system/kiali-a port {port}: ");
    assert!(warnings[0].contains(&to_pod), "{}", warnings[0]);
    // kube-rs drops the server's error message when it races the request being sent.
    assert!(
        warnings[0].contains("connection refused") || warnings[0].contains("none received"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_local_port_in_use_is_refused_before_the_cluster_is_asked() {
    let (env, _, _stand_in) = kiali_env("/kiali");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = Dashboard::start(&env, &["dashboard", "--port", &port, "--no-browser"]).finish();
    run.code(2)
        .one_error_line(&format!("cannot listen on 127.0.0.1:{port} (--port): the port is in use"));
    assert!(env.server.requests().is_empty(), "nothing was sent");
}

#[test]
fn a_taken_default_port_falls_back_to_a_free_one() {
    let (env, port, stand_in) = kiali_env("/kiali");
    let _taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let dashboard = Dashboard::start(&env, &["dashboard", "--no-browser"]);
    let url = dashboard.url();
    assert_ne!(url.port, port);
    assert_eq!(url.get().unwrap().body, stand_in.page("/kiali"));
    let run = dashboard.interrupt().ok();
    assert!(run.stderr.contains(&format!("note: local port {port} is not free")), "{}", run.stderr);
}

#[test]
fn a_missing_addon_says_what_was_looked_for_and_how_to_install_it() {
    let env = Env::new();
    let run = Dashboard::start(&env, &["dashboard", "--no-browser"]).finish().code(3);
    assert!(run.stdout.is_empty());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[0], "error: failed to find Kiali");
    assert_eq!(
        lines[1],
        "caused by: Kiali is not installed: no Service named kiali in namespace istio-system or \
         any other namespace"
    );
    assert!(lines[3].starts_with(
        "hint: install it from your Istio release with: kubectl apply -f samples/addons/kiali.yaml"
    ));
}

#[test]
fn a_port_forward_the_server_turns_down_exits_3() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&kiali(port, "/kiali"));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, true));
    // What an API server answers for a pod not yet scheduled: a 400, which is no bad input of
    // the user's but the cluster's state.
    env.server.fault(
        crate::support::Fault::status(400)
            .prefix("/api/v1/namespaces/istio-system/pods/kiali-a/portforward")
            .body("pod kiali-a does not have a host assigned"),
    );
    let run = Dashboard::start(&env, &["dashboard", "--no-browser"]).finish().code(3);
    assert!(run.stdout.is_empty(), "no URL when forwarding fails");
    assert!(run.stderr.contains("does not have a host assigned"), "{}", run.stderr);
}

#[test]
fn a_forbidden_port_forward_names_the_permission_to_check() {
    let env = Env::with(
        TestServer::builder().forbid(Forbid::anyone().verb("get").resource("pods/portforward")),
    );
    let port = closed_port();
    env.seed(&kiali(port, "/kiali"));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, true));
    let run = Dashboard::start(&env, &["dashboard", "--no-browser"]).finish().code(3);
    assert!(run.stdout.is_empty(), "no URL when forwarding is refused");
    assert!(
        run.stderr.starts_with(&format!(
            "error: failed to forward port {port} of pod istio-system/kiali-a\ncaused by: pods \
             \"kiali-a\" is forbidden: User \"alice\" cannot get resource \"pods/portforward\""
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "hint: port-forwarding needs get and create on pods/portforward; check with: kubectl \
             auth can-i get pods --subresource=portforward -n istio-system"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn without_a_ready_pod_the_error_names_the_pods_there() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&kiali(port, "/kiali"));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, false));
    let run =
        Dashboard::start(&env, &["dashboard", "--no-browser", "--wait", "300ms"]).finish().code(3);
    assert!(
        run.stderr.contains(
            "error: failed to find a ready pod behind Service istio-system/kiali within 300ms\n\
             caused by: pods matching app=kiali: kiali-a (Running, not ready)\n\n\
             hint: check with: kubectl get pods -n istio-system -l app=kiali\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn wait_holds_until_a_pod_is_ready() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&kiali(port, "/kiali"));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, false));
    let stand_in = StandIn::start("kiali-a", "/kiali");
    env.server.forward_pod("istio-system", "kiali-a", port, stand_in.addr());
    let dashboard = Dashboard::start(&env, &["dashboard", "--no-browser", "--wait", "20s"]);
    dashboard
        .wait_for_stderr("Waiting up to 20s for a ready pod behind Service istio-system/kiali");
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, true));
    assert_eq!(dashboard.url().get().unwrap().body, stand_in.page("/kiali"));
    dashboard.interrupt().ok();
}

#[test]
fn grafana_elsewhere_is_found_and_a_network_address_warns() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: grafana, namespace: monitoring}}\n\
         spec:\n  selector: {{app: grafana}}\n  ports: [{{name: service, port: 3000, targetPort: {port}}}]\n"
    ));
    env.seed(
        "apiVersion: v1\nkind: Service\nmetadata: {name: grafana, namespace: observability}\n\
         spec:\n  selector: {app: grafana}\n  ports: [{name: service, port: 3000}]\n",
    );
    env.server.insert(pod("monitoring", "grafana-0", "grafana", port, true));
    let stand_in = StandIn::start("grafana", "/");
    env.server.forward_pod("monitoring", "grafana-0", port, stand_in.addr());

    let args = ["dashboard", "grafana", "--address", "0.0.0.0", "--no-browser"];
    let dashboard = Dashboard::start(&env, &args);
    let url = dashboard.url();
    assert_eq!(url.text, format!("http://127.0.0.1:{port}/"));
    assert_eq!(url.get().unwrap().body, stand_in.page("/"));
    let run = dashboard.interrupt().ok();
    assert!(
        run.stderr.contains(
            "note: no Grafana Service in namespace istio-system; using Service monitoring/grafana \
             (also in observability; choose one with -n)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("warning: listening on 0.0.0.0:{port}: the Grafana dashboard is reachable from the network")),
        "{}",
        run.stderr
    );
}

#[test]
fn jaeger_uses_the_base_path_of_its_config_and_the_service_target_port() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&format!(
        r#"
apiVersion: v1
kind: Service
metadata: {{name: tracing, namespace: istio-system}}
spec:
  selector: {{app: jaeger}}
  ports:
  - {{name: http-query, port: 80, targetPort: {port}}}
  - {{name: grpc-query, port: 16685, targetPort: 16685}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: jaeger, namespace: istio-system}}
data:
  config.yaml: |
    extensions:
      jaeger_query:
        base_path: /traces
"#
    ));
    env.server.insert(pod("istio-system", "jaeger-0", "jaeger", port, true));
    let stand_in = StandIn::start("jaeger", "/traces");
    env.server.forward_pod("istio-system", "jaeger-0", port, stand_in.addr());
    let dashboard = Dashboard::start(&env, &["dashboard", "jaeger", "--no-browser"]);
    let url = dashboard.url();
    assert_eq!(url.text, format!("http://127.0.0.1:{port}/traces"));
    assert_eq!(url.get().unwrap().body, stand_in.page("/traces"));
    dashboard.signal("TERM").ok();
}

#[test]
fn a_service_without_a_selector_goes_to_the_pods_its_endpoints_name() {
    let env = Env::new();
    let port = closed_port();
    env.seed(&format!(
        r#"
apiVersion: v1
kind: Service
metadata: {{name: prometheus, namespace: istio-system}}
spec:
  ports: [{{name: http, port: 9090, targetPort: {port}}}]
---
apiVersion: v1
kind: Endpoints
metadata: {{name: prometheus, namespace: istio-system}}
subsets:
- addresses: [{{ip: 10.0.0.7, targetRef: {{kind: Pod, name: prometheus-1, namespace: istio-system}}}}]
  notReadyAddresses: [{{ip: 10.0.0.6, targetRef: {{kind: Pod, name: prometheus-0, namespace: istio-system}}}}]
  ports: [{{name: http, port: {port}}}]
"#
    ));
    let (old, new) = (StandIn::start("prometheus-0", "/"), StandIn::start("prometheus-1", "/"));
    for (name, stand_in) in [("prometheus-0", &old), ("prometheus-1", &new)] {
        env.server.insert(pod("istio-system", name, "prometheus", port, true));
        env.server.forward_pod("istio-system", name, port, stand_in.addr());
    }
    let dashboard = Dashboard::start(&env, &["dashboard", "prometheus", "--no-browser"]);
    let url = dashboard.url();
    assert_eq!(url.text, format!("http://127.0.0.1:{port}/"));
    assert_eq!(url.get().unwrap().body, new.page("/"));
    dashboard.interrupt().ok();
    assert_eq!(forwards_to(&env.server, "prometheus-0"), 0);
}

#[test]
fn an_unreadable_config_map_leaves_the_default_web_root() {
    let env = Env::with(
        TestServer::builder().forbid(Forbid::anyone().verb("get").resource("configmaps")),
    );
    let port = closed_port();
    env.seed(&kiali(port, "/custom"));
    env.server.insert(pod("istio-system", "kiali-a", "kiali", port, true));
    let stand_in = StandIn::start("kiali-a", "/kiali");
    env.server.forward_pod("istio-system", "kiali-a", port, stand_in.addr());
    let dashboard = Dashboard::start(&env, &["dashboard", "--no-browser"]);
    let url = dashboard.url();
    assert_eq!(url.path, "/kiali");
    assert_eq!(url.get().unwrap().body, stand_in.page("/kiali"));
    let run = dashboard.interrupt().ok();
    assert!(
        run.stderr.contains(
            "note: cannot read ConfigMap istio-system/kiali (configmaps \"kiali\" is forbidden"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("assuming the web root is /kiali"), "{}", run.stderr);
}
