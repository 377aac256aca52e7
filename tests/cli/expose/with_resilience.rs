//! `expose` and `resilience` on one Service, in either order: each keeps its own
//! VirtualService (Istio applies one per host and context: the gateway's to requests from
//! outside, the mesh's to calls inside), the gateway route carries the Service's retries and
//! timeout, `check` is clean, and `unexpose` leaves the resilience settings as they were.

use serde_json::{Value, json};

use super::{env, stored};
use crate::harness::Env;

const VS: &str = "virtualservices.networking.istio.io";
const GW: &str = "gateways.networking.istio.io";
const FQDN: &str = "my-service.default.svc.cluster.local";

/// Retries that fire only before a request reached the Service, within the timeout, so the
/// settings themselves give `check` nothing to warn about.
const SETTINGS: &[&str] = &[
    "--timeout",
    "2s",
    "--retries",
    "2",
    "--per-try-timeout",
    "500ms",
    "--retry-on",
    "connect-failure,refused-stream,reset-before-request",
];

fn resilience(env: &Env, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec!["resilience", "my-service"];
    args.extend_from_slice(extra);
    env.run(&args)
}

fn route(vs: &Value) -> &Value {
    &vs["spec"]["http"][0]
}

/// The route settings `SETTINGS` writes.
fn written() -> (Value, Value) {
    (
        json!("2s"),
        json!({"attempts": 2, "perTryTimeout": "500ms",
               "retryOn": "connect-failure,refused-stream,reset-before-request"}),
    )
}

#[track_caller]
fn assert_settings(route: &Value) {
    let (timeout, retries) = written();
    assert_eq!(route["timeout"], timeout, "{route}");
    assert_eq!(route["retries"], retries, "{route}");
}

/// `check` on the live state: no error or warning, and never two VirtualServices for one host.
#[track_caller]
fn assert_check_clean(env: &Env) {
    let run = env.run(&["check", "-A", "--fail-on", "warning", "-o", "json"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let serious: Vec<&Value> =
        doc["findings"].as_array().unwrap().iter().filter(|f| f["level"] != "info").collect();
    assert!(serious.is_empty(), "{serious:#?}");
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn resilience_then_expose_keeps_the_mesh_route_and_carries_its_settings_to_the_gateway() {
    let env = env();
    resilience(&env, SETTINGS).ok();
    let mesh = stored(&env, VS, "default", "my-service");

    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert_eq!(
        run.stdout,
        "gateway.networking.istio.io/my-service-gateway in default created\n\
         virtualservice.networking.istio.io/my-service-ingress in default created\n\
         default/my-service is reachable at:\n  http://203.0.113.10/my-service\n"
    );
    assert!(
        run.stderr.contains(
            "note: VirtualService default/my-service routes my-service inside the mesh and stays \
             as it is; the gateway route goes into VirtualService my-service-ingress"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the route gets the retries and timeout resilience set"),
        "{}",
        run.stderr
    );

    // The mesh VirtualService is as resilience left it.
    assert_eq!(stored(&env, VS, "default", "my-service")["spec"], mesh["spec"]);
    let ingress = stored(&env, VS, "default", "my-service-ingress");
    assert_eq!(ingress["spec"]["hosts"], json!(["*"]));
    assert_eq!(ingress["spec"]["gateways"], json!(["my-service-gateway"]));
    assert_eq!(route(&ingress)["name"], "my-service");
    assert_eq!(route(&ingress)["route"][0]["destination"]["host"], FQDN);
    assert_settings(route(&ingress));
    assert_check_clean(&env);

    // Running either again changes nothing.
    let again = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(again.stdout.contains("my-service-ingress in default unchanged"), "{}", again.stdout);
    let again = resilience(&env, SETTINGS).ok();
    assert!(
        !again.stdout.contains("configured") && !again.stdout.contains("created"),
        "{}",
        again.stdout
    );

    // unexpose takes only what expose added.
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service-ingress in default deleted\n\
         gateway.networking.istio.io/my-service-gateway in default deleted\n"
    );
    let after = stored(&env, VS, "default", "my-service");
    assert_eq!(after["spec"], mesh["spec"]);
    assert_settings(route(&after));
    assert_check_clean(&env);
}

#[test]
fn expose_then_resilience_sets_both_routes_and_creates_the_mesh_one_beside() {
    let env = env();
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();

    let run = resilience(&env, SETTINGS).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service-mesh in default created\n\
         virtualservice.networking.istio.io/my-service in default configured\n"
    );
    assert!(
        run.stderr.contains(
            "note: VirtualService default/my-service routes default/my-service from outside the \
             mesh: its routes to the Service get the same settings"
        ),
        "{}",
        run.stderr
    );
    let gateway_vs = stored(&env, VS, "default", "my-service");
    assert_eq!(gateway_vs["spec"]["gateways"], json!(["my-service-gateway"]));
    assert_settings(route(&gateway_vs));
    let mesh = stored(&env, VS, "default", "my-service-mesh");
    assert_eq!(mesh["spec"]["hosts"], json!([FQDN]));
    assert!(mesh["spec"].get("gateways").is_none(), "bound to the mesh");
    assert_settings(route(&mesh));
    assert_check_clean(&env);

    // unexpose removes the gateway route and its VirtualService; the mesh settings stay.
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service in default deleted\n\
         gateway.networking.istio.io/my-service-gateway in default deleted\n"
    );
    assert_eq!(stored(&env, VS, "default", "my-service-mesh")["spec"], mesh["spec"]);
    assert!(env.server.object(GW, "default", "my-service-gateway").is_none());

    // And the clear takes back the object resilience created.
    let run = resilience(&env, &["--clear"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service-mesh in default deleted\n"
    );
}

#[test]
fn clear_takes_the_settings_back_from_the_gateway_route_too() {
    let env = env();
    resilience(&env, SETTINGS).ok();
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();

    let run = resilience(&env, &["--clear"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service in default deleted\n\
         virtualservice.networking.istio.io/my-service-ingress in default configured\n"
    );
    let ingress = stored(&env, VS, "default", "my-service-ingress");
    assert!(route(&ingress).get("timeout").is_none(), "{ingress}");
    assert!(route(&ingress).get("retries").is_none(), "{ingress}");
    assert!(
        ingress["metadata"]
            .get("annotations")
            .is_none_or(|a| a.get("debatemesh.io/resilience").is_none())
    );

    // A later run sets the gateway route again, with the mesh one it creates.
    let run = resilience(&env, &["--timeout", "3s"]).ok();
    assert!(run.stdout.contains("my-service-ingress in default configured"), "{}", run.stdout);
    assert_eq!(route(&stored(&env, VS, "default", "my-service-ingress"))["timeout"], "3s");
    assert_eq!(route(&stored(&env, VS, "default", "my-service"))["timeout"], "3s");
}

#[test]
fn a_virtual_service_someone_else_made_under_the_name_is_refused_naming_its_maker() {
    let env = env();
    env.seed(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: my-service\n  \
         namespace: default\n  labels: {app.kubernetes.io/managed-by: Helm}\n\
         spec:\n  hosts: [shop.example.com]\n  gateways: [other-gateway]\n  http:\n  - route: [{destination: {host: my-service}}]\n",
    );
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).code(1);
    assert!(
        run.stderr.starts_with(
            "error: VirtualService default/my-service exists (managed by Helm (label \
             app.kubernetes.io/managed-by=Helm)) but does not route * on gateway \
             default/my-service-gateway; nothing was written"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: route through its gateway and hosts with --gateway and --host"),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[test]
fn show_labels_the_gateway_route_and_a_gateway_wildcard_is_not_said_to_cover_the_mesh() {
    let env = env();
    // The guide's gateway VirtualService for `*`, with no route to my-service.
    env.seed(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n\
         metadata: {name: web-vs, namespace: default}\nspec:\n  hosts: ['*']\n  \
         gateways: [my-gateway]\n  http:\n  - route: [{destination: {host: web}}]\n",
    );
    env.run(&["expose", "my-service", "--host", "shop.example.com"]).ok();
    let run = resilience(&env, SETTINGS).ok();
    assert!(!run.stderr.contains("also covers"), "{}", run.stderr);

    let run = env.run(&["resilience", "show", "my-service", "-o", "json"]).ok();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    let routes = shown["routes"].as_array().unwrap();
    let mesh: Vec<&Value> = routes.iter().filter(|r| r.get("gateways").is_none()).collect();
    let through: Vec<&Value> = routes.iter().filter(|r| r.get("gateways").is_some()).collect();
    assert_eq!(mesh.len(), 1, "{routes:#?}");
    assert_eq!(through.len(), 1, "{routes:#?}");
    assert_eq!(through[0]["gateways"], json!(["default/my-service-gateway"]));
    assert_eq!(through[0]["virtualService"], "default/my-service");
    let timeout = |r: &Value| {
        r["settings"].as_array().unwrap().iter().find(|s| s["field"] == "timeout").cloned()
    };
    assert_eq!(timeout(through[0]).unwrap()["value"], "2s");

    let table = env.run(&["resilience", "show", "my-service"]).ok();
    assert!(
        table.stdout.contains("route \"my-service\" (through gateway default/my-service-gateway)"),
        "{}",
        table.stdout
    );
}
