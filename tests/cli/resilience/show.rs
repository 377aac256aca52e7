//! `resilience show`: the policy in effect for a Service, with Istio's defaults filled in and
//! marked, and the mesh-wide default retry policy.

use serde_json::{Value, json};

use super::{GUIDE, env_with, resilience};

#[test]
fn show_fills_in_istios_defaults_and_marks_them() {
    let env = env_with("");
    let run = env.run(&["resilience", "show", "cart", "-n", "shop", "-o", "json"]).ok();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown["host"], "cart.shop.svc.cluster.local");
    assert_eq!(shown["endpoints"], 2);
    let find = |list: &Value, field: &str| -> Value {
        list["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["field"] == field)
            .cloned()
            .unwrap_or_else(|| panic!("{field} missing"))
    };
    let route = &shown["routes"][0];
    assert_eq!(route["virtualService"], Value::Null);
    assert_eq!(
        find(route, "retries.attempts"),
        json!({"field": "retries.attempts", "value": 2, "source": "istio-default", "default": true})
    );
    assert_eq!(
        find(route, "retries.retryOn")["value"],
        "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    );
    assert_eq!(find(route, "timeout")["value"], Value::Null);
    let dest = &shown["destinations"][0];
    assert_eq!(find(dest, "connectionPool.tcp.maxConnections")["value"], 4294967295u64);
    assert_eq!(find(dest, "connectionPool.tcp.connectTimeout")["value"], "10s");
    assert_eq!(find(dest, "outlierDetection")["value"], "off");
    assert!(run.stderr.contains("(DM0703)"), "{}", run.stderr);

    resilience(&env, GUIDE).ok();
    let run = env.run(&["resilience", "show", "cart", "-n", "shop", "-o", "json"]).ok();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    let route = &shown["routes"][0];
    assert_eq!(route["virtualService"], "shop/cart");
    assert_eq!(
        find(route, "retries.attempts"),
        json!({"field": "retries.attempts", "value": 3, "source": "set", "default": false})
    );
    assert_eq!(find(route, "timeout")["value"], "10s");
    let dest = &shown["destinations"][0];
    assert_eq!(find(dest, "connectionPool.tcp.maxConnections")["value"], 100);
    assert_eq!(find(dest, "connectionPool.http.maxRetries")["source"], "istio-default");
    assert_eq!(find(dest, "outlierDetection.consecutiveGatewayErrors")["value"], 0);
    assert_eq!(find(dest, "outlierDetection.minHealthPercent")["source"], "istio-default");
    assert_eq!(find(dest, "ejectableEndpoints")["value"], "2 of 2");
    assert!(run.stderr.contains("(DM0704)"), "{}", run.stderr);

    let table = env.run(&["resilience", "show", "cart", "-n", "shop"]).ok();
    assert!(
        table
            .stdout
            .starts_with("Service shop/cart (host cart.shop.svc.cluster.local, 2 endpoints)\n")
    );
    let line = table.stdout.lines().find(|l| l.contains("outlierDetection.interval")).unwrap();
    let cells: Vec<&str> = line.split("   ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(
        cells,
        ["DestinationRule shop/cart", "trafficPolicy", "outlierDetection.interval", "30s", "set"]
    );
    let yaml = env.run(&["resilience", "show", "cart", "-n", "shop", "-o", "yaml"]).ok();
    let from_yaml: Value = serde_saphyr::from_str(&yaml.stdout).unwrap();
    assert_eq!(from_yaml, shown);
}

#[test]
fn show_reads_the_mesh_default_retry_policy() {
    let mesh = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultHttpRetryPolicy: {attempts: 0}
    connectTimeout: 3s
"#;
    let env = env_with(mesh);
    let run = env.run(&["resilience", "show", "cart", "-n", "shop", "-o", "json"]).ok();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    let settings = shown["routes"][0]["settings"].as_array().unwrap();
    assert_eq!(
        settings[0],
        json!({"field": "retries.attempts", "value": 0, "source": "mesh-config", "default": true})
    );
    assert!(!run.stderr.contains("DM0703"), "the mesh turned default retries off:\n{}", run.stderr);
    let connect = shown["destinations"][0]["settings"][1].clone();
    assert_eq!(
        connect,
        json!({"field": "connectionPool.tcp.connectTimeout", "value": "3s", "source": "mesh-config", "default": true})
    );
}

#[test]
fn replicas_without_pods_count_as_in_check() {
    let env = crate::harness::Env::new();
    env.seed(
        r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  replicas: 4
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec: {containers: [{name: app, image: example/cart:1}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart, namespace: shop}
spec:
  host: cart
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 100}
"#,
    );
    let check = env.run(&["check", "-n", "shop"]);
    assert!(check.stdout.contains("maxEjectionPercent 100 with 4 endpoints"), "{}", check.stdout);
    env.server.clear_log();
    let run = env.run(&["resilience", "show", "cart", "-n", "shop", "-o", "json"]).ok();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown["endpoints"], 4);
    let dest = &shown["destinations"][0];
    let ejectable = dest["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["field"] == "ejectableEndpoints")
        .map(|s| s["value"].clone());
    assert_eq!(ejectable, Some(json!("4 of 4")));
    assert!(run.stderr.contains("(DM0704)"), "{}", run.stderr);
    assert_eq!(env.lists_of("deployments").len(), 1, "one list per kind");
    assert_eq!(env.lists_of("statefulsets").len(), 1);
}
