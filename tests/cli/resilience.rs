//! `resilience` and `resilience show` against the test API server: the guide's values as golden
//! objects, edits that keep every other field, `--clear`, concurrent writers, second runs,
//! Istio's value rules through the binary, the trap warnings, and the policy in effect.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::Env;
use crate::support::{Fault, Forbid, TestServer};

mod show;
mod values;

const VS_PATH: &str = "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/cart";

/// The guide's section 5 values as flags.
const GUIDE: &[&str] = &[
    "--retries",
    "3",
    "--per-try-timeout",
    "2s",
    "--retry-on",
    "5xx,gateway-error,connect-failure",
    "--timeout",
    "10s",
    "--max-connections",
    "100",
    "--max-pending-requests",
    "100",
    "--consecutive-5xx-errors",
    "5",
    "--interval",
    "30s",
    "--base-ejection-time",
    "60s",
    "--max-ejection-percent",
    "100",
];

/// Namespace shop with Service cart and its two pods.
const SERVICE: &str = r#"
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
apiVersion: v1
kind: Pod
metadata: {name: cart-1, namespace: shop, labels: {app: cart, version: v1}}
spec: {containers: [{name: app, image: example/cart:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-2, namespace: shop, labels: {app: cart, version: v2}}
spec: {containers: [{name: app, image: example/cart:1}]}
"#;

/// A VirtualService with two routes, fault injection and fields this tool does not model, and a
/// DestinationRule with TLS, a load balancer and subsets.
const EXISTING: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: cart
  namespace: shop
  labels: {team: web}
  annotations: {owner: payments}
spec:
  hosts: [cart]
  http:
  - name: api
    match: [{uri: {prefix: /api}, method: {exact: GET}}]
    fault:
      delay: {fixedDelay: 1s, percentage: {value: 5}}
      abort: {httpStatus: 503, percentage: {value: 0.5}}
    corsPolicy: {allowOrigins: [{exact: "https://shop.example.com"}]}
    headers: {request: {set: {x-route: api}}}
    route:
    - destination: {host: cart, subset: v1}
      weight: 90
    - destination: {host: cart, subset: v2}
      weight: 10
  - name: rest
    route: [{destination: {host: cart, subset: v1}}]
    mirror: {host: cart-shadow}
    someFutureField: {enabled: true}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart, namespace: shop}
spec:
  host: cart.shop.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    loadBalancer: {simple: LEAST_REQUEST}
    connectionPool: {http: {idleTimeout: 5m}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"#;

fn env_with(extra: &str) -> Env {
    let env = Env::new();
    env.seed(&format!("{SERVICE}---\n{extra}"));
    env
}

fn resilience(env: &Env, args: &[&str]) -> crate::harness::Run {
    let mut line = vec!["resilience", "cart", "-n", "shop"];
    line.extend_from_slice(args);
    env.run(&line)
}

fn normalized(object: Value) -> Value {
    crate::harness::normalized(&object)
}

fn stored(env: &Env, plural: &str, name: &str) -> Value {
    normalized(env.server.object(plural, "shop", name).expect("object exists"))
}

/// Compares `object` with `tests/golden/resilience/NAME.yaml`.
#[track_caller]
fn golden(name: &str, object: &Value) {
    crate::harness::assert_golden_objects(
        &format!("resilience/{name}.yaml"),
        std::slice::from_ref(object),
    );
}

fn route_retries(vs: &Value, index: usize) -> &Value {
    &vs["spec"]["http"][index]["retries"]
}

#[test]
fn the_guide_values_create_the_golden_virtual_service_and_destination_rule() {
    let env = env_with("");
    let run = resilience(&env, GUIDE).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/cart in shop created\n\
         destinationrule.networking.istio.io/cart in shop created\n"
    );
    let vs = stored(&env, "virtualservices", "cart");
    let dr = stored(&env, "destinationrules", "cart");
    golden("guide-virtualservice", &vs);
    golden("guide-destinationrule", &dr);

    // The content is the guide's section 5, whatever the golden files say.
    assert_eq!(vs["spec"]["hosts"], json!(["cart.shop.svc.cluster.local"]));
    assert_eq!(
        vs["spec"]["http"][0],
        json!({
            "route": [{"destination": {"host": "cart.shop.svc.cluster.local"}}],
            "retries": {"attempts": 3, "perTryTimeout": "2s",
                        "retryOn": "5xx,gateway-error,connect-failure"},
            "timeout": "10s"
        })
    );
    assert_eq!(
        dr["spec"]["trafficPolicy"],
        json!({
            "connectionPool": {"tcp": {"maxConnections": 100}, "http": {"http1MaxPendingRequests": 100}},
            "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s",
                                 "baseEjectionTime": "60s", "maxEjectionPercent": 100}
        })
    );
    assert_eq!(vs["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kubectl-debatemesh");

    // Both objects were created by server-side apply with our field manager.
    let writes = env.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes.iter().all(|w| w.method == "PATCH"
        && w.content_type.starts_with("application/apply-patch")
        && w.param("fieldManager") == Some("kubectl-debatemesh")));
}

#[test]
fn the_standard_preset_is_the_guide() {
    let flags = env_with("");
    resilience(&flags, GUIDE).ok();
    let preset = env_with("");
    resilience(&preset, &["--preset", "standard"]).ok();
    for plural in ["virtualservices", "destinationrules"] {
        assert_eq!(stored(&flags, plural, "cart"), stored(&preset, plural, "cart"), "{plural}");
    }
}

#[test]
fn an_existing_virtual_service_keeps_every_other_field_and_clear_restores_it() {
    let env = env_with(EXISTING);
    let (vs_before, dr_before) =
        (stored(&env, "virtualservices", "cart"), stored(&env, "destinationrules", "cart"));

    let run = resilience(&env, GUIDE).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/cart in shop configured\n\
         destinationrule.networking.istio.io/cart in shop configured\n"
    );
    let vs = stored(&env, "virtualservices", "cart");
    golden("existing-virtualservice", &vs);
    golden("existing-destinationrule", &stored(&env, "destinationrules", "cart"));
    for (index, route) in vs_before["spec"]["http"].as_array().unwrap().iter().enumerate() {
        let mut kept = vs["spec"]["http"][index].clone();
        let fields = kept.as_object_mut().unwrap();
        assert_eq!(fields.remove("timeout"), Some(json!("10s")));
        assert_eq!(fields.remove("retries").unwrap()["attempts"], 3);
        assert_eq!(&kept, route, "route {index} kept everything else");
    }
    assert_eq!(vs["metadata"]["labels"], vs_before["metadata"]["labels"]);
    assert_eq!(vs["metadata"]["annotations"]["owner"], "payments");

    // Guarded edits: each object was read, then replaced with its resourceVersion.
    let puts: Vec<_> = env.writes().into_iter().filter(|w| w.method == "PUT").collect();
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert!(puts.iter().all(|p| p.body.contains("\"resourceVersion\"")));

    env.server.clear_log();
    let run = resilience(&env, &["--clear"]).ok();
    assert!(run.stdout.contains("virtualservice.networking.istio.io/cart in shop configured"));
    assert_eq!(stored(&env, "virtualservices", "cart"), vs_before);
    assert_eq!(stored(&env, "destinationrules", "cart"), dr_before);
}

#[test]
fn clear_puts_back_values_that_were_there_before() {
    let env = env_with(&EXISTING.replace("    mirror: {host: cart-shadow}", "    timeout: 30s"));
    let before = stored(&env, "virtualservices", "cart");
    resilience(&env, &["--timeout", "3s"]).ok();
    assert_eq!(stored(&env, "virtualservices", "cart")["spec"]["http"][1]["timeout"], "3s");
    resilience(&env, &["--timeout", "4s", "--retries", "1"]).ok();
    resilience(&env, &["--clear"]).ok();
    assert_eq!(stored(&env, "virtualservices", "cart"), before, "30s is back, not removed");
}

#[test]
fn clear_deletes_the_objects_it_created_and_nothing_else() {
    let env = env_with("");
    resilience(&env, &["--preset", "standard"]).ok();
    env.server.clear_log();
    let run = resilience(&env, &["--clear"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/cart in shop deleted\n\
         destinationrule.networking.istio.io/cart in shop deleted\n"
    );
    assert!(env.server.object("virtualservices", "shop", "cart").is_none());
    assert!(env.server.object("destinationrules", "shop", "cart").is_none());
    let again = resilience(&env, &["--clear"]).ok();
    assert!(again.stderr.contains("nothing to clear"), "{}", again.stderr);
    assert!(env.writes().iter().all(|w| w.method == "DELETE"));
}

#[test]
fn a_second_run_is_unchanged_and_writes_nothing() {
    let env = env_with(EXISTING);
    resilience(&env, GUIDE).ok();
    env.server.clear_log();
    let run = resilience(&env, GUIDE).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/cart in shop unchanged\n\
         destinationrule.networking.istio.io/cart in shop unchanged\n"
    );
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    assert_eq!(env.lists_of("virtualservices").len(), 1, "one list per kind");
    assert_eq!(env.lists_of("destinationrules").len(), 1);
    assert!(env.lists_of("deployments").is_empty(), "pods were found, so no controllers");
}

#[test]
fn a_concurrent_edit_between_read_and_write_is_not_lost() {
    let env = env_with(EXISTING);
    // Hold our first write long enough for another writer to change the object.
    env.server
        .fault(Fault::delay(Duration::from_millis(1500)).method("PUT").path(VS_PATH).times(1));
    let run = std::thread::scope(|scope| {
        let ours = scope.spawn(|| resilience(&env, &["--retries", "2", "--per-try-timeout", "1s"]));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !env.server.requests().iter().any(|r| r.method == "GET" && r.path == VS_PATH) {
            assert!(Instant::now() < deadline, "the edit never read the object");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The other writer: a new route timeout and label, saved with a new resourceVersion.
        let mut theirs = env.server.object("virtualservices", "shop", "cart").unwrap();
        theirs["metadata"]["labels"]["edited-by"] = json!("someone-else");
        theirs["spec"]["http"][0]["timeout"] = json!("7s");
        env.server.insert(theirs);
        ours.join().unwrap()
    });
    let run = run.ok();
    assert!(run.stdout.contains("virtualservice.networking.istio.io/cart in shop configured"));

    let vs = stored(&env, "virtualservices", "cart");
    assert_eq!(vs["metadata"]["labels"]["edited-by"], "someone-else");
    assert_eq!(vs["spec"]["http"][0]["timeout"], "7s");
    assert_eq!(route_retries(&vs, 0)["perTryTimeout"], "1s");
    assert_eq!(route_retries(&vs, 1)["attempts"], 2);
    let puts: Vec<u16> = env
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path == VS_PATH)
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [409, 200], "the stale write was refused and retried on fresh data");
}

#[test]
fn the_servers_conflict_is_retried_on_fresh_data() {
    let env = env_with(EXISTING);
    env.server.fault(Fault::status(409).method("PUT").path(VS_PATH).times(2));
    resilience(&env, &["--timeout", "5s"]).ok();
    let gets =
        env.server.requests().iter().filter(|r| r.method == "GET" && r.path == VS_PATH).count();
    assert_eq!(gets, 3, "one read per attempt");
    assert_eq!(stored(&env, "virtualservices", "cart")["spec"]["http"][1]["timeout"], "5s");
}

#[test]
fn every_virtual_service_for_the_host_is_edited_and_named() {
    let other = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart-canary, namespace: web}
spec:
  hosts: [cart.shop.svc.cluster.local]
  http: [{route: [{destination: {host: cart.shop.svc.cluster.local}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: everything, namespace: shop}
spec:
  hosts: ["*.shop.svc.cluster.local"]
  http: [{route: [{destination: {host: cart}}]}]
"#;
    let env = env_with(&format!("{EXISTING}---\n{other}"));
    let run = resilience(&env, &["--timeout", "5s"]).ok();
    assert!(
        run.stderr.contains(
            "2 VirtualServices are for host cart.shop.svc.cluster.local: \
                                 editing each (shop/cart, web/cart-canary)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("shop/everything has host *.shop.svc.cluster.local"));
    assert!(run.stdout.contains("cart-canary in web configured"), "{}", run.stdout);
    let canary = normalized(env.server.object("virtualservices", "web", "cart-canary").unwrap());
    assert_eq!(canary["spec"]["http"][0]["timeout"], "5s");
    let wildcard = env.server.object("virtualservices", "shop", "everything").unwrap();
    assert!(wildcard["spec"]["http"][0].get("timeout").is_none());
    assert!(env.server.object("virtualservices", "shop", "cart-resilience").is_none());
}

#[test]
fn one_named_route_only() {
    let env = env_with(EXISTING);
    resilience(&env, &["--route", "rest", "--timeout", "2s"]).ok();
    let vs = stored(&env, "virtualservices", "cart");
    assert_eq!(vs["spec"]["http"][1]["timeout"], "2s");
    assert!(vs["spec"]["http"][0].get("timeout").is_none());

    env.server.clear_log();
    resilience(&env, &["--route", "nope", "--timeout", "2s"])
        .code(2)
        .one_error_line("invalid value \"nope\" for --route");
    assert!(env.writes().is_empty());
}

#[test]
fn objects_another_tool_manages_are_refused_unless_forced() {
    let helm = EXISTING.replace(
        "annotations: {owner: payments}",
        "annotations: {owner: payments, meta.helm.sh/release-name: shop}",
    );
    let env = env_with(&helm);
    let run = resilience(&env, &["--timeout", "5s"]).code(1);
    assert!(run.stderr.contains("managed by Helm"), "{}", run.stderr);
    assert!(env.writes().is_empty());
    resilience(&env, &["--timeout", "5s", "--force"]).ok();
    assert_eq!(stored(&env, "virtualservices", "cart")["spec"]["http"][0]["timeout"], "5s");
}

#[test]
fn dry_run_prints_what_would_be_sent_and_diff_shows_the_change() {
    let env = env_with(EXISTING);
    let run = resilience(&env, &["--timeout", "5s", "--dry-run=client", "-o", "yaml"]).ok();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&run.stdout).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["kind"], "VirtualService");
    assert_eq!(docs[0]["apiVersion"], "networking.istio.io/v1");
    // The edited live object, ready to apply: no resourceVersion to conflict on later.
    for field in ["resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"] {
        assert!(docs[0]["metadata"].get(field).is_none(), "{field}: {}", docs[0]["metadata"]);
    }
    assert_eq!(docs[0]["spec"]["http"][0]["timeout"], "5s");
    assert_eq!(
        docs[0]["spec"]["http"][0]["corsPolicy"]["allowOrigins"][0]["exact"],
        "https://shop.example.com"
    );
    assert!(env.writes().is_empty());

    let diff = resilience(&env, &["--timeout", "5s", "--diff"]).code(1);
    assert!(
        diff.stdout.contains("+  timeout: 5s") || diff.stdout.contains("+    timeout: 5s"),
        "{}",
        diff.stdout
    );
    assert!(env.writes().is_empty());

    resilience(&env, &["--timeout", "5s", "--dry-run=server"]).ok();
    assert!(env.writes().iter().all(|w| w.dry_run), "{:?}", env.writes());
    assert!(stored(&env, "virtualservices", "cart")["spec"]["http"][0].get("timeout").is_none());

    // Once written, the same diff finds nothing to change: exit 0, as kubectl diff.
    resilience(&env, &["--timeout", "5s"]).ok();
    let same = resilience(&env, &["--timeout", "5s", "--diff"]).ok();
    assert!(same.stdout.is_empty(), "{}", same.stdout);
    assert!(same.stderr.contains("no changes"), "{}", same.stderr);
}

#[test]
fn retry_settings_a_route_cannot_take_stop_the_run_before_anything_is_written() {
    let env = env_with(EXISTING);
    resilience(&env, &["--per-try-timeout", "1s", "--timeout", "5s"])
        .code(2)
        .one_error_line("invalid value \"1s\" for --per-try-timeout: route \"api\"");
    assert!(env.writes().is_empty());
}

#[test]
fn a_name_taken_by_another_host_is_not_overwritten() {
    // A mesh VirtualService named cart, for another host, from a Helm release.
    let other = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: cart
  namespace: shop
  annotations: {meta.helm.sh/release-name: legacy}
spec:
  hosts: [legacy.shop.svc.cluster.local]
  http: [{route: [{destination: {host: legacy}}]}]
"#;
    let env = env_with(other);
    let run = resilience(&env, &["--timeout", "5s"]).code(2);
    assert!(
        run.stderr.contains(
            "VirtualService shop/cart exists (managed by Helm (release legacy, annotation \
             meta.helm.sh/release-name)) but is not for host cart.shop.svc.cluster.local"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: add cart.shop.svc.cluster.local to its hosts"),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[test]
fn a_service_without_http_ports_is_noted() {
    let env = Env::new();
    let tcp_only = r#"
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart]
  tcp: [{route: [{destination: {host: cart}}]}]
"#;
    env.seed(
        &(SERVICE.replace("{name: http, port: 8080}", "{name: tcp-db, port: 5432}") + tcp_only),
    );
    let run = resilience(&env, &["--timeout", "5s"]).ok();
    assert!(run.stderr.contains("no port of Service shop/cart carries HTTP"), "{}", run.stderr);
    assert!(run.stderr.contains("VirtualService shop/cart has no http routes"), "{}", run.stderr);
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    let http = env_with("");
    let run = resilience(&http, &["--timeout", "5s"]).ok();
    assert!(!run.stderr.contains("carries HTTP"), "{}", run.stderr);
}

#[test]
fn a_missing_service_is_a_clear_error() {
    let env = Env::new();
    let run = env.run(&["resilience", "nope", "-n", "default", "--timeout", "5s"]).code(2);
    assert!(run.stderr.starts_with("error: service default/nope not found"), "{}", run.stderr);
    assert!(env.writes().is_empty());
}

#[test]
fn the_traps_are_warned_about_with_their_codes() {
    let env = env_with("");
    let run = resilience(&env, GUIDE).ok();
    let warning = |code: &str| {
        run.stderr.lines().any(|l| l.starts_with("warning: ") && l.ends_with(&format!("({code})")))
    };
    assert!(warning("DM0702"), "retries on a route that takes any method:\n{}", run.stderr);
    assert!(warning("DM0704"), "100% of two endpoints can be ejected:\n{}", run.stderr);
    assert!(!run.stderr.contains("DM0701"), "2s × 4 fits in 10s:\n{}", run.stderr);

    let long = env_with("");
    let run = resilience(
        &long,
        &[
            "--retries",
            "3",
            "--per-try-timeout",
            "5s",
            "--timeout",
            "10s",
            "--consecutive-gateway-errors",
            "5",
        ],
    )
    .ok();
    assert!(run.stderr.contains("= 20s is longer than the route timeout 10s"), "{}", run.stderr);
    assert!(run.stderr.contains("(DM0701)") && run.stderr.contains("(DM0705)"), "{}", run.stderr);
    assert!(run.stderr.contains("ejects nothing"), "10% of 2 endpoints:\n{}", run.stderr);
    assert!(
        run.stderr.contains("10 of 2 endpoints")
            && run.stderr.contains("set maxEjectionPercent to 50 "),
        "50% of 2 ejects one and never both, which DM0704 does not flag:\n{}",
        run.stderr
    );

    let timeout_only = env_with("");
    let run = resilience(&timeout_only, &["--timeout", "10s"]).ok();
    assert!(
        run.stderr.lines().any(|l| l.starts_with("note: ") && l.ends_with("(DM0703)")),
        "{}",
        run.stderr
    );

    let safe = env_with("");
    let run = resilience(&safe, &["--preset", "non-idempotent"]).ok();
    assert!(!run.stderr.contains("DM0702"), "{}", run.stderr);
}

#[test]
fn runs_as_a_kubectl_plugin() {
    let env = env_with("");
    let run = env.run_plugin(&["resilience", "cart", "-n", "shop", "--preset", "no-retries"]).ok();
    assert!(
        run.stdout.contains("virtualservice.networking.istio.io/cart in shop created"),
        "{}",
        run.stdout
    );
    assert_eq!(route_retries(&stored(&env, "virtualservices", "cart"), 0), &json!({"attempts": 0}));
}

#[test]
fn check_reports_the_same_traps_from_files() {
    let env = Env::new();
    let file = env.dir.path().join("cart.yaml");
    let objects = format!(
        "{SERVICE}---\n{}",
        r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart]
  http:
  - route: [{destination: {host: cart}}]
    retries: {attempts: 3, perTryTimeout: 5s, retryOn: 5xx}
    timeout: 10s
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart, namespace: shop}
spec:
  host: cart
  trafficPolicy:
    outlierDetection: {consecutiveGatewayErrors: 5, maxEjectionPercent: 100}
"#
    );
    std::fs::write(&file, objects).unwrap();
    let run = env.run(&["check", "-f", file.to_str().unwrap(), "-o", "json"]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let text = report.to_string();
    for code in ["DM0701", "DM0702", "DM0704", "DM0705"] {
        assert!(text.contains(code), "{code} missing from {text}");
    }
    assert!(!text.contains("DM0703") && !text.contains("DM0706"), "{text}");
}

#[test]
fn without_cluster_wide_lists_only_the_services_namespace_is_searched() {
    let forbid = |plural: &str| {
        Forbid::anyone().verb("list").group("networking.istio.io").resource(plural).cluster_wide()
    };
    let env = Env::with(
        TestServer::builder().forbid(forbid("virtualservices")).forbid(forbid("destinationrules")),
    );
    env.seed(&format!("{SERVICE}---\n{EXISTING}"));
    let run = resilience(&env, &["--timeout", "5s", "--max-connections", "10"]).ok();
    assert!(run.stderr.contains("only namespace shop was searched"), "{}", run.stderr);
    assert!(run.stdout.contains("virtualservice.networking.istio.io/cart in shop configured"));
    let lists: Vec<String> = env
        .lists_of("virtualservices")
        .iter()
        .map(|r| format!("{} {}", r.path, r.status))
        .collect();
    assert_eq!(
        lists,
        [
            "/apis/networking.istio.io/v1/virtualservices 403",
            "/apis/networking.istio.io/v1/namespaces/shop/virtualservices 200",
        ]
    );
}

#[test]
fn subsets_with_their_own_blocks_are_named() {
    let own = EXISTING.replace(
        "  - {name: v2, labels: {version: v2}}",
        "  - name: v2\n    labels: {version: v2}\n    trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}",
    );
    let env = env_with(&own);
    let run = resilience(&env, &["--max-connections", "100"]).ok();
    assert!(
        run.stderr.contains("DestinationRule shop/cart subset v2 has its own connectionPool"),
        "{}",
        run.stderr
    );
    let run = resilience(&env, &["--interval", "5s"]).ok();
    assert!(
        !run.stderr.contains("subset v2"),
        "outlier settings are not hidden by a pool:\n{}",
        run.stderr
    );
}
