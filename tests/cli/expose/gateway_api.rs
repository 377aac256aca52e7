//! `expose --api gateway-api`: a Gateway of class `istio` and an HTTPRoute, chosen on its own
//! when the cluster serves only the Gateway API.

use serde_json::{Value, json};

use super::{assert_golden, env, env_with, stored};
use crate::harness::Env;
use crate::support::TestServer;

const ISTIO_CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
    metadata: {name: istio}\nspec: {controllerName: istio.io/gateway-controller}\n";

fn objects(env: &Env) -> Vec<Value> {
    vec![
        stored(env, "gateways.gateway.networking.k8s.io", "default", "my-service-gateway"),
        stored(env, "httproutes", "default", "my-service"),
    ]
}

#[test]
fn the_gateway_api_gets_a_gateway_and_an_http_route() {
    let env = env();
    env.seed(ISTIO_CLASS);
    let run =
        env.run(&["expose", "my-service", "--path", "/my-service", "--api", "gateway-api"]).ok();
    assert_golden("gateway-api", &objects(&env));
    assert_eq!(
        run.stdout,
        "gateway.gateway.networking.k8s.io/my-service-gateway in default created\n\
         httproute.gateway.networking.k8s.io/my-service in default created\n\
         default/my-service is reachable at:\n  \
         first run: kubectl port-forward -n default svc/my-service-gateway-istio 8080:80\n  \
         http://localhost:8080/my-service\n\
         Istio starts a gateway for default/my-service-gateway; wait for it with: kubectl wait \
         -n default --for=condition=programmed gateways.gateway.networking.k8s.io/my-service-gateway\n"
    );
    assert!(!run.stderr.contains("GatewayClass"), "{}", run.stderr);
    assert!(env.writes().iter().all(|w| w.path.starts_with("/apis/gateway.networking.k8s.io/v1/")));
    assert!(env.server.object("virtualservices", "default", "my-service").is_none());

    env.server.clear_log();
    let run =
        env.run(&["expose", "my-service", "--path", "/my-service", "--api", "gateway-api"]).ok();
    assert!(
        run.stdout.contains("httproute.gateway.networking.k8s.io/my-service in default unchanged")
    );
}

#[test]
fn the_gateway_api_is_chosen_when_istio_apis_are_not_served() {
    let env = env_with(TestServer::builder().without_istio());
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(
        run.stderr.contains(
            "note: the cluster does not serve networking.istio.io; using the Gateway API"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("warning: GatewayClass istio not found"), "{}", run.stderr);
    assert_golden("gateway-api", &objects(&env));
}

const SHARED: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: infra}
spec:
  gatewayClassName: istio
  listeners:
  - name: web
    port: 80
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes: {namespaces: {from: All}}
status:
  addresses: [{type: IPAddress, value: 198.51.100.4}]
  conditions: [{type: Programmed, status: "True"}]
"#;

#[test]
fn a_named_gateway_in_another_namespace_is_referenced_across_namespaces() {
    let env = env();
    env.seed(ISTIO_CLASS);
    env.seed(SHARED);
    let run = env
        .run(&[
            "expose",
            "my-service",
            "--api",
            "gateway-api",
            "--gateway",
            "infra/shared",
            "--host",
            "shop.example.com",
        ])
        .ok();
    let route = stored(&env, "httproutes", "default", "my-service");
    assert_eq!(route["spec"]["parentRefs"], json!([{"name": "shared", "namespace": "infra"}]));
    assert_eq!(route["spec"]["hostnames"], json!(["shop.example.com"]));
    assert!(
        env.server
            .object("gateways.gateway.networking.k8s.io", "default", "my-service-gateway")
            .is_none()
    );
    assert!(
        run.stdout.contains("try: curl -H 'Host: shop.example.com' http://198.51.100.4/"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("Programmed"), "{}", run.stderr);
    assert_eq!(env.writes().len(), 1);

    // The listener takes *.example.com only.
    env.run(&[
        "expose",
        "my-service",
        "--api",
        "gateway-api",
        "--gateway",
        "infra/shared",
        "--host",
        "shop.example.org",
    ])
    .code(2)
    .one_error_line("gateway infra/shared lacks an HTTP listener on port 80 for shop.example.org");
}

#[test]
fn an_existing_http_route_is_edited_in_place() {
    let env = env();
    env.seed(ISTIO_CLASS);
    env.seed(SHARED);
    env.seed(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: shop, namespace: default}\n\
         spec:\n  parentRefs: [{name: shared, namespace: infra}]\n  hostnames: [shop.example.com]\n  \
         futureField: 7\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /}}]\n    \
         backendRefs: [{name: frontend, port: 80}]\n",
    );
    let run = env
        .run(&[
            "expose",
            "my-service",
            "--api",
            "gateway-api",
            "--gateway",
            "infra/shared",
            "--host",
            "shop.example.com",
            "--path",
            "/my-service",
            "--rewrite",
            "/",
        ])
        .ok();
    assert!(
        run.stdout.starts_with("httproute.gateway.networking.k8s.io/shop in default configured\n"),
        "{}",
        run.stdout
    );
    let route = stored(&env, "httproutes", "default", "shop");
    assert_eq!(route["spec"]["futureField"], 7);
    let rules = route["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["backendRefs"], json!([{"name": "frontend", "port": 80}]));
    assert_eq!(
        rules[1],
        json!({"name": "my-service", "matches": [{"path": {"type": "PathPrefix", "value": "/my-service"}}],
               "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
               "backendRefs": [{"name": "my-service", "port": 8080}]})
    );
    assert!(env.server.object("httproutes", "default", "my-service").is_none());
    assert_eq!(env.writes()[0].method, "PUT");
}

#[test]
fn tls_terminates_on_the_gateway_and_a_route_redirects_http() {
    let env = env();
    env.seed(ISTIO_CLASS);
    let run = env
        .run(&[
            "expose",
            "my-service",
            "--api",
            "gateway-api",
            "--host",
            "shop.example.com",
            "--tls-secret",
            "shop-cert",
            "--https-redirect",
        ])
        .code(2);
    assert!(run.stderr.contains("secret default/shop-cert not found"), "{}", run.stderr);
    assert!(env.writes().is_empty());

    env.seed(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-cert, namespace: default}\n\
              data: {tls.crt: Y2VydA==, tls.key: a2V5}\n",
    );
    env.run(&[
        "expose",
        "my-service",
        "--api",
        "gateway-api",
        "--host",
        "shop.example.com",
        "--tls-secret",
        "shop-cert",
        "--https-redirect",
    ])
    .ok();
    let gw = stored(&env, "gateways.gateway.networking.k8s.io", "default", "my-service-gateway");
    assert_eq!(
        gw["spec"]["listeners"],
        json!([
            {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "shop.example.com"},
            {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "shop.example.com",
             "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "shop-cert"}]}}
        ])
    );
    let route = stored(&env, "httproutes", "default", "my-service");
    assert_eq!(
        route["spec"]["parentRefs"],
        json!([{"name": "my-service-gateway", "sectionName": "https"}])
    );
    let redirect = stored(&env, "httproutes", "default", "my-service-https-redirect");
    assert_eq!(
        redirect["spec"]["parentRefs"],
        json!([{"name": "my-service-gateway", "sectionName": "http"}])
    );
    assert_eq!(
        redirect["spec"]["rules"][0]["filters"],
        json!([{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}])
    );

    // Without the redirect again, the redirect route goes.
    let run = env
        .run(&[
            "expose",
            "my-service",
            "--api",
            "gateway-api",
            "--host",
            "shop.example.com",
            "--tls-secret",
            "shop-cert",
        ])
        .ok();
    assert!(
        run.stdout.contains(
            "httproute.gateway.networking.k8s.io/my-service-https-redirect in default deleted"
        ),
        "{}",
        run.stdout
    );
    let route = stored(&env, "httproutes", "default", "my-service");
    assert_eq!(route["spec"]["parentRefs"], json!([{"name": "my-service-gateway"}]));
}
