//! `expose` through Istio against the test API server: the guide's `my-service` from section
//! 4, reuse of gateways and VirtualServices, TLS, API versions, ownership, faults and dry runs.
//! The Gateway API and `unexpose` have modules of their own.

mod broken_routes;
mod conflicts;
mod gateway_api;
mod inputs;
mod safety;
mod unexpose;
mod with_resilience;

use serde_json::{Value, json};

use crate::harness::Env;
use crate::support::{Builder, Forbid, TestServer};

/// The guide's Service (one port, 8080) and a running Istio ingress gateway with a
/// load-balancer address.
pub const GUIDE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: my-service, namespace: default}
spec:
  selector: {app: my-service}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Pod
metadata:
  name: istio-ingressgateway-5c9f7d-x2v
  namespace: istio-system
  labels: {app: istio-ingressgateway, istio: ingressgateway}
spec: {containers: [{name: istio-proxy, image: istio/proxyv2}]}
status: {phase: Running, hostIP: 10.0.0.7}
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  type: LoadBalancer
  selector: {app: istio-ingressgateway, istio: ingressgateway}
  ports:
  - {name: status-port, port: 15021, targetPort: 15021, nodePort: 30021}
  - {name: http2, port: 80, targetPort: 8080, nodePort: 31380}
  - {name: https, port: 443, targetPort: 8443, nodePort: 31390}
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.10}]
"#;

/// A Gateway someone else wrote in `default` for the ingress workload, serving `host`.
pub fn public_gateway(host: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: public, namespace: default}}\n\
         spec:\n  selector: {{istio: ingressgateway}}\n  servers:\n  - port: {{number: 80, name: http, protocol: HTTP}}\n    \
         hosts: ['{host}']\n"
    )
}

pub fn env() -> Env {
    env_with(TestServer::builder())
}

pub fn env_with(builder: Builder) -> Env {
    let env = Env::with(builder);
    env.seed(GUIDE);
    env
}

/// A stored object.
pub fn stored(env: &Env, resource: &str, namespace: &str, name: &str) -> Value {
    env.server
        .object(resource, namespace, name)
        .unwrap_or_else(|| panic!("{resource} {namespace}/{name} is stored"))
}

/// Compares objects with `tests/golden/expose/NAME.yaml`.
#[track_caller]
pub fn assert_golden(name: &str, objects: &[Value]) {
    crate::harness::assert_golden_objects(&format!("expose/{name}.yaml"), objects);
}

pub fn guide_objects(env: &Env) -> Vec<Value> {
    vec![
        stored(env, "gateways.networking.istio.io", "default", "my-service-gateway"),
        stored(env, "virtualservices.networking.istio.io", "default", "my-service"),
    ]
}

#[test]
fn a_fresh_expose_writes_the_guide_gateway_and_virtual_service() {
    let env = env();
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert_eq!(
        run.stdout,
        "gateway.networking.istio.io/my-service-gateway in default created\n\
         virtualservice.networking.istio.io/my-service in default created\n\
         default/my-service is reachable at:\n  http://203.0.113.10/my-service\n"
    );
    assert!(run.stderr.contains("warning: host \"*\" takes every request"), "{}", run.stderr);
    assert_golden("guide", &guide_objects(&env));

    let writes = env.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    for w in &writes {
        assert_eq!(w.method, "PATCH");
        assert_eq!(w.content_type, "application/apply-patch+yaml");
        assert_eq!(w.param("fieldManager"), Some("kubectl-debatemesh"));
    }
    assert_eq!(env.lists_of("pods").len(), 1, "one list finds the gateway pods");
    assert_eq!(env.lists_of("pods")[0].param("labelSelector"), Some("istio=ingressgateway"));
}

#[test]
fn a_second_run_reports_unchanged() {
    let env = env();
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    let before = guide_objects(&env);
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(
        run.stdout.starts_with(
            "gateway.networking.istio.io/my-service-gateway in default unchanged\n\
             virtualservice.networking.istio.io/my-service in default unchanged\n"
        ),
        "{}",
        run.stdout
    );
    let after = guide_objects(&env);
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]);
    }
}

#[test]
fn an_existing_gateway_that_serves_the_host_is_reused() {
    let env = env();
    env.seed(&public_gateway("*"));
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(run.stderr.contains("note: reusing gateway default/public"), "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().next(),
        Some("virtualservice.networking.istio.io/my-service in default created")
    );
    assert!(
        env.server
            .object("gateways.networking.istio.io", "default", "my-service-gateway")
            .is_none()
    );
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "my-service");
    assert_eq!(vs["spec"]["gateways"], json!(["public"]));
    assert_eq!(env.writes().len(), 1, "the shared gateway is not written");

    // A gateway for other hosts is not reused, and one beside it for every host is refused:
    // Istio would use only one of the two (IST0145).
    let env = self::env();
    env.seed(&public_gateway("shop.example.com"));
    let run = env.run(&["expose", "my-service"]).code(1);
    assert!(
        run.stderr.contains(
            "gateway default/my-service-gateway would serve * on port 80 on the same gateway \
             pods (selector istio=ingressgateway) as gateway default/public serves \
             shop.example.com on port 80"
        ),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[test]
fn exact_paths_rewrites_and_named_ports_reach_the_route() {
    let env = env();
    env.seed(
        "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default}\n\
         spec:\n  ports: [{name: http, port: 8080}, {name: grpc, port: 9000}]\n",
    );
    let args = [
        "expose",
        "api",
        "--port",
        "grpc",
        "--path",
        "/v1/health",
        "--exact",
        "--rewrite",
        "/healthz",
    ];
    env.run(&args).ok();
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "api");
    assert_eq!(
        vs["spec"]["http"],
        json!([{"name": "api", "match": [{"uri": {"exact": "/v1/health"}}], "rewrite": {"uri": "/healthz"},
                "route": [{"destination": {"host": "api.default.svc.cluster.local", "port": {"number": 9000}}}]}])
    );
    assert!(
        stored(&env, "gateways.networking.istio.io", "default", "api-gateway")["spec"].is_object()
    );
}

#[test]
fn a_prefix_rewritten_to_slash_matches_the_prefix_with_its_slash_and_exactly() {
    let env = env();
    env.seed(
        "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default}\n\
         spec:\n  ports: [{name: http, port: 8080}]\n",
    );
    let run = env
        .run(&["expose", "api", "--host", "api.example.com", "--path", "/v1", "--rewrite", "/"])
        .ok();
    assert!(
        run.stderr.contains("the route matches /v1/ and exactly /v1 instead"),
        "{}",
        run.stderr
    );
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "api");
    let route = &vs["spec"]["http"][0];
    assert_eq!(route["match"], json!([{"uri": {"prefix": "/v1/"}}, {"uri": {"exact": "/v1"}}]));
    assert_eq!(route["rewrite"], json!({"uri": "/"}));

    // After the prefix `/`, the rewrite gets the slash it took.
    let run = env.run(&["expose", "api", "--host", "api.example.com", "--rewrite", "/x"]).ok();
    assert!(run.stderr.contains("/x/ is written"), "{}", run.stderr);
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "api");
    assert_eq!(vs["spec"]["http"][0]["rewrite"], json!({"uri": "/x/"}));
    assert_eq!(vs["spec"]["http"].as_array().unwrap().len(), 1, "{vs}");
}

const FRONTEND: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: frontend, namespace: default, labels: {team: web}}
spec:
  hosts: [shop.example.com]
  gateways: [public]
  futureField: {keep: me}
  http:
  - name: frontend
    match: [{uri: {prefix: /}}]
    route: [{destination: {host: frontend.default.svc.cluster.local, port: {number: 80}}}]
    mirrorPercentage: {value: 5}
"#;

#[test]
fn an_existing_virtual_service_is_edited_in_place_keeping_what_it_had() {
    let env = env();
    env.seed(&public_gateway("shop.example.com"));
    env.seed(FRONTEND);
    let run = env
        .run(&["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"])
        .ok();
    assert!(
        run.stdout
            .starts_with("virtualservice.networking.istio.io/frontend in default configured\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "  http://shop.example.com/my-service\n    try: curl -H 'Host: shop.example.com' \
             http://203.0.113.10/my-service\n"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("host \"*\""), "no wildcard warning for named hosts");

    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "frontend");
    assert_eq!(vs["spec"]["futureField"], json!({"keep": "me"}));
    assert_eq!(vs["metadata"]["labels"], json!({"team": "web"}), "someone else's stays theirs");
    let http = vs["spec"]["http"].as_array().unwrap();
    assert_eq!(http.len(), 2);
    assert_eq!(http[0]["name"], "my-service", "before the catch-all that would shadow it");
    assert_eq!(http[0]["match"], json!([{"uri": {"prefix": "/my-service"}}]));
    assert_eq!(http[1]["name"], "frontend");
    assert_eq!(http[1]["mirrorPercentage"], json!({"value": 5}));
    assert!(
        env.server.object("virtualservices.networking.istio.io", "default", "my-service").is_none()
    );

    let writes = env.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PUT");
    let body: Value = serde_json::from_str(&writes[0].body).unwrap();
    assert!(body["metadata"]["resourceVersion"].is_string(), "the update is guarded");

    // Again: the route is there, nothing is duplicated.
    env.server.clear_log();
    let run = env
        .run(&["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"])
        .ok();
    assert!(
        run.stdout
            .starts_with("virtualservice.networking.istio.io/frontend in default unchanged\n")
    );
    assert!(env.writes().is_empty());
}

#[test]
fn tls_with_a_missing_secret_is_refused_before_any_write() {
    let env = env();
    let run = env
        .run(&["expose", "my-service", "--host", "shop.example.com", "--tls-secret", "shop-cert"])
        .code(2);
    assert!(
        run.stderr.starts_with(
            "error: invalid value \"shop-cert\" for --tls-secret: secret istio-system/shop-cert not found"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: create it with: kubectl create secret tls shop-cert -n istio-system")
    );
    assert!(env.writes().is_empty(), "{:?}", env.writes());
}

const CERT_DATA: &str = "c2VjcmV0LWNlcnQtYnl0ZXM="; // "secret-cert-bytes"
const KEY_DATA: &str = "c2VjcmV0LWtleS1ieXRlcw=="; // "secret-key-bytes"

#[test]
fn tls_adds_an_https_server_and_redirects_plain_http() {
    let env = env();
    env.seed(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: shop-cert, namespace: istio-system}}\n\
         type: kubernetes.io/tls\ndata: {{tls.crt: {CERT_DATA}, tls.key: {KEY_DATA}}}\n"
    ));
    let args = [
        "expose",
        "my-service",
        "--host",
        "shop.example.com",
        "--path",
        "/my-service",
        "--tls-secret",
        "shop-cert",
        "--https-redirect",
        "-vvv",
    ];
    let run = env.run(&args).ok();
    let gw = stored(&env, "gateways.networking.istio.io", "default", "my-service-gateway");
    assert_eq!(
        gw["spec"]["servers"],
        json!([
            {"port": {"number": 80, "name": "http", "protocol": "HTTP"},
             "hosts": ["shop.example.com"], "tls": {"httpsRedirect": true}},
            {"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
             "hosts": ["shop.example.com"], "tls": {"mode": "SIMPLE", "credentialName": "shop-cert"}}
        ])
    );
    assert!(
        run.stdout.contains("http://shop.example.com/my-service (redirects to HTTPS)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("try: curl --connect-to shop.example.com:443:203.0.113.10:443 https://shop.example.com/my-service"),
        "{}",
        run.stdout
    );
    for secret in [CERT_DATA, KEY_DATA, "secret-cert-bytes", "secret-key-bytes"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{secret} leaked");
    }

    // A Secret without a certificate and key is refused, naming only its keys.
    let env = self::env();
    env.seed(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: shop-cert, namespace: istio-system}}\n\
         data: {{password: {CERT_DATA}}}\n"
    ));
    let run = env.run(&["expose", "my-service", "--tls-secret", "shop-cert"]).code(2);
    assert!(
        run.stderr.contains("has keys password; the gateway needs tls.crt and tls.key"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(CERT_DATA));
    assert!(env.writes().is_empty());
}

#[test]
fn v1beta1_only_clusters_get_v1beta1_objects() {
    let env = env_with(TestServer::builder().legacy_istio());
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert_golden("guide-v1beta1", &guide_objects(&env));
    assert!(
        env.writes().iter().all(|w| w.path.starts_with("/apis/networking.istio.io/v1beta1/")),
        "{:?}",
        env.writes()
    );
}

#[test]
fn istio_not_installed_is_an_exit_3_naming_the_group() {
    let env = env_with(TestServer::builder().without_istio().without_gateway_api());
    let run = env.run(&["expose", "my-service"]).code(3);
    assert!(run.stderr.contains("networking.istio.io"), "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: is Istio installed? check with: kubectl get crd"),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
    let run = env.run(&["expose", "my-service", "--api", "gateway-api"]).code(3);
    assert!(run.stderr.contains("gateway.networking.k8s.io"), "{}", run.stderr);
}

#[test]
fn client_dry_run_prints_the_exact_objects_and_writes_nothing() {
    let env = env();
    let run = env
        .run(&["expose", "my-service", "--path", "/my-service", "--dry-run=client", "-o", "yaml"])
        .ok();
    let printed: Vec<Value> = serde_saphyr::from_multiple(&run.stdout).unwrap();
    assert_golden("guide", &printed);
    assert!(!run.stdout.contains("reachable"), "{}", run.stdout);
    assert!(env.writes().is_empty());

    let run = env.run(&["expose", "my-service", "--dry-run"]).ok();
    assert!(
        run.stdout.contains("my-service-gateway in default created (dry run)"),
        "{}",
        run.stdout
    );
    let run = env.run(&["expose", "my-service", "--dry-run=server"]).ok();
    assert!(run.stdout.contains("created (server dry run)"), "{}", run.stdout);
    assert!(env.writes().iter().all(|w| w.dry_run));
    assert!(
        env.server
            .object("gateways.networking.istio.io", "default", "my-service-gateway")
            .is_none()
    );

    // Written for real, -o json prints the objects as stored, without managedFields as kubectl.
    let run = env.run(&["expose", "my-service", "--path", "/my-service", "-o", "json"]).ok();
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_golden("guide", list["items"].as_array().unwrap());
    assert!(!run.stdout.contains("managedFields"), "{}", run.stdout);
    assert!(run.stderr.contains("note: default/my-service is reachable at:"), "{}", run.stderr);
}

#[test]
fn diff_shows_the_change_against_the_live_objects() {
    let env = env();
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    env.server.clear_log();
    let run = env.run(&["expose", "my-service", "--path", "/api", "--diff"]).code(1);
    assert!(
        run.stdout.contains("--- live/virtualservice.networking.istio.io/default/my-service"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("-        prefix: /my-service\n+        prefix: /api\n"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("gateway.networking.istio.io/default"),
        "the gateway does not change"
    );
    assert!(env.writes().is_empty());
}

#[test]
fn gateway_problems_are_warnings_and_urls_fall_back() {
    // No gateway pods, and a Service of type NodePort without port 443.
    let env = Env::new();
    env.seed(&GUIDE.replace("phase: Running", "phase: Pending"));
    env.seed(
        "apiVersion: v1\nkind: Service\nmetadata: {name: istio-ingressgateway, namespace: istio-system}\n\
         spec:\n  type: NodePort\n  selector: {istio: ingressgateway}\n  ports: [{port: 80, nodePort: 31380}]\n",
    );
    let run = env.run(&["expose", "my-service", "--host", "a.example.com"]).ok();
    assert!(
        run.stderr
            .contains("warning: no running pods match the gateway selector istio=ingressgateway"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("  try: curl -H 'Host: a.example.com' http://NODE:31380/\n"),
        "{}",
        run.stdout
    );

    // A ClusterIP gateway Service: a port-forward line.
    let env = self::env();
    env.seed(
        "apiVersion: v1\nkind: Service\nmetadata: {name: istio-ingressgateway, namespace: istio-system}\n\
         spec:\n  selector: {app: istio-ingressgateway, istio: ingressgateway}\n  ports: [{port: 80}]\n",
    );
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(
        run.stdout.contains(
            "  first run: kubectl port-forward -n istio-system svc/istio-ingressgateway 8080:80\n  \
             http://localhost:8080/my-service\n"
        ),
        "{}",
        run.stdout
    );

    // A selector that matches no pods and no Service.
    let run = env.run(&["expose", "my-service", "--gateway-selector", "istio=other"]).ok();
    assert!(
        run.stderr.contains("no running pods match the gateway selector istio=other"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("warning: no Service selects the gateway pods (istio=other)"));
    assert!(!run.stdout.contains("reachable"), "no address to give: {}", run.stdout);

    // A gateway Service without port 80.
    env.seed(
        "apiVersion: v1\nkind: Service\nmetadata: {name: istio-ingressgateway, namespace: istio-system}\n\
         spec:\n  selector: {istio: ingressgateway}\n  ports: [{port: 15021}, {port: 8080}]\n",
    );
    let run = env.run(&["expose", "my-service"]).ok();
    assert!(
        run.stderr.contains(
            "warning: the gateway Service istio-system/istio-ingressgateway does not expose port 80 \
             (it exposes 15021, 8080)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn kubectl_runs_expose_as_a_plugin() {
    let env = env();
    let run = env.run_plugin(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(
        run.stdout.contains("virtualservice.networking.istio.io/my-service in default created")
    );
    assert_golden("guide", &guide_objects(&env));
}

#[test]
fn a_gateway_in_another_namespace_is_named_as_ns_slash_name() {
    let env = env();
    env.seed(
        &public_gateway("*.example.com").replace("namespace: default", "namespace: istio-system"),
    );
    let run = env
        .run(&[
            "expose",
            "my-service",
            "--gateway",
            "istio-system/public",
            "--host",
            "shop.example.com",
        ])
        .ok();
    assert!(
        run.stderr
            .contains("note: routing through gateway.networking.istio.io istio-system/public"),
        "{}",
        run.stderr
    );
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "my-service");
    assert_eq!(vs["spec"]["gateways"], json!(["istio-system/public"]));
    assert_eq!(vs["spec"]["hosts"], json!(["shop.example.com"]));
    assert_eq!(env.writes().len(), 1, "the named gateway is not written");
}

#[test]
fn checks_that_cannot_be_made_are_warnings() {
    let env = env_with(
        TestServer::builder().forbid(Forbid::anyone().verb("list").group("").resource("pods")),
    );
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(
        run.stderr.contains("warning: cannot check the gateway pods (istio=ingressgateway)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("no running pods"), "{}", run.stderr);
    // The gateway Service is still found by its selector, and with it the address.
    assert!(run.stdout.ends_with("  http://203.0.113.10/my-service\n"), "{}", run.stdout);
    assert_golden("guide", &guide_objects(&env));
}
