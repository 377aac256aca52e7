//! `expose` never writes a Gateway that conflicts (IST0145, `check`'s DM0201) with a Gateway
//! anywhere in the cluster: it reuses one that serves everything, in any namespace, or refuses
//! naming the other Gateway with a hint that works; `check -A` finds no new error after it.

use serde_json::{Value, json};

use super::{env, env_with, public_gateway, stored};
use crate::harness::Env;
use crate::support::{Forbid, TestServer};

const GW: &str = "gateways.networking.istio.io";
const VS: &str = "virtualservices.networking.istio.io";

/// The user's `default/my-gateway`: every host on port 80 for the ingress workload.
const MY_GATEWAY: &str = "apiVersion: networking.istio.io/v1\nkind: Gateway\n\
    metadata: {name: my-gateway, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  \
    servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n";

/// `shop/cart` and the TLS Secret the gateway reads.
const SHOP: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
    apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec:\n  \
    selector: {app: cart}\n  ports: [{name: http, port: 8080}]\n---\n\
    apiVersion: v1\nkind: Secret\nmetadata: {name: shop-tls, namespace: istio-system}\n\
    type: kubernetes.io/tls\ndata: {tls.crt: Y2VydA==, tls.key: a2V5}\n";

/// The error findings of `check -A`, as `code object` strings.
fn errors(env: &Env) -> Vec<String> {
    let run = env.run(&["check", "-A", "-o", "json"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"));
    let mut found: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "error")
        .map(|f| format!("{} {}", f["code"], f["resource"]))
        .collect();
    found.sort();
    found
}

#[test]
fn tls_beside_a_gateway_taking_every_host_is_refused_with_a_hint_that_works() {
    let env = env();
    env.seed(MY_GATEWAY);
    env.seed(SHOP);
    let args = [
        "expose",
        "my-service",
        "--host",
        "shop.example.com",
        "--tls-secret",
        "shop-tls",
        "--https-redirect",
    ];
    let run = env.run(&args).code(1);
    assert!(
        run.stderr.contains(
            "gateway default/my-service-gateway would serve shop.example.com on port 80 on the \
             same gateway pods (selector istio=ingressgateway) as gateway default/my-gateway \
             serves * on port 80"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    // Every host is taken on port 80, so another host would not help.
    assert!(!run.stderr.contains("--host"), "{}", run.stderr);
    assert!(run.stderr.contains("then route through it with --gateway default/my-gateway"));
    assert!(env.writes().is_empty(), "{:?}", env.writes());

    // Routing through it names what is missing: TLS, not the host.
    let named = [&args[..], &["--gateway", "default/my-gateway"]].concat();
    let run = env.run(&named).code(2);
    assert!(
        run.stderr.contains("port 443 (HTTPS with credentialName shop-tls)")
            && run.stderr.contains("add the HTTPS server (and redirect) to it")
            && !run.stderr.contains("pass --host"),
        "{}",
        run.stderr
    );

    // Once the gateway serves what the hint listed, the hinted command works.
    let mut gw = json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
        "metadata": {"name": "my-gateway", "namespace": "default"},
        "spec": {"selector": {"istio": "ingressgateway"}}});
    gw["spec"]["servers"] = json!([
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]},
        {"port": {"number": 80, "name": "http-shop", "protocol": "HTTP"},
         "hosts": ["shop.example.com"], "tls": {"httpsRedirect": true}},
        {"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
         "hosts": ["shop.example.com"], "tls": {"mode": "SIMPLE", "credentialName": "shop-tls"}},
    ]);
    env.server.insert(gw);
    env.run(&named).ok();
    assert_eq!(env.server.names(GW), ["default/my-gateway"]);
}

#[test]
fn a_gateway_in_another_namespace_is_reused_not_duplicated() {
    let env = env();
    env.seed(MY_GATEWAY);
    env.seed(SHOP);
    let before = errors(&env);
    let run = env.run(&["expose", "cart", "-n", "shop", "--path", "/cart"]).ok();
    assert!(run.stderr.contains("note: reusing gateway default/my-gateway"), "{}", run.stderr);
    assert!(env.server.object(GW, "shop", "cart-gateway").is_none());
    assert_eq!(stored(&env, VS, "shop", "cart")["spec"]["gateways"], json!(["default/my-gateway"]));
    assert_eq!(errors(&env), before);
}

#[test]
fn other_hosts_on_the_same_workload_are_refused_and_the_hinted_host_works() {
    let env = env();
    env.seed(&public_gateway("shop.example.com").replace("namespace: default", "namespace: web"));
    let run = env.run(&["expose", "my-service"]).code(1);
    assert!(
        run.stderr.contains("as gateway web/public serves shop.example.com on port 80")
            && run.stderr.contains("or pass --host with hosts no other gateway serves"),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
    env.run(&["expose", "my-service", "--host", "api.example.com"]).ok();
    assert!(env.server.object(GW, "default", "my-service-gateway").is_some());
    assert!(errors(&env).is_empty(), "{:?}", errors(&env));
}

#[test]
fn exposes_in_several_set_ups_leave_check_without_new_errors() {
    let env = env();
    env.seed(MY_GATEWAY);
    env.seed(SHOP);
    let before = errors(&env);
    let runs: &[&[&str]] = &[
        &["expose", "my-service", "--path", "/my-service"],
        &["expose", "cart", "-n", "shop", "--host", "cart.example.com"],
        &["expose", "my-service", "--host", "shop.example.com", "--tls-secret", "shop-tls"],
        &["expose", "cart", "-n", "shop", "--path", "/cart"],
        &["expose", "cart", "-n", "shop", "--host", "*.example.com"],
    ];
    for args in runs {
        let run = env.run(args);
        assert!(run.code == 0 || run.code == 1, "{args:?}: {run:?}");
        assert_eq!(errors(&env), before, "after {args:?}: {}", run.stderr);
    }
    assert_eq!(env.run(&["check", "-A", "--fail-on", "error"]).code, 0);
    // The comparison sees such a conflict when one is made by hand.
    env.seed(&MY_GATEWAY.replace("name: my-gateway", "name: copy"));
    assert!(errors(&env).iter().any(|e| e.starts_with("\"DM0201\"")), "{:?}", errors(&env));
}

#[test]
fn without_leave_to_list_every_namespace_the_namespace_is_compared_with_a_note() {
    let env = env_with(
        TestServer::builder()
            .forbid(Forbid::anyone().verb("list").resource("gateways").cluster_wide()),
    );
    env.seed(MY_GATEWAY);
    let run = env.run(&["expose", "my-service", "--host", "shop.example.com"]).ok();
    assert!(
        run.stderr.contains("note: cannot list gateways in all namespaces (forbidden)")
            && run.stderr.contains("note: reusing gateway default/my-gateway"),
        "{}",
        run.stderr
    );
}
