//! `check` on the input itself: field values Istio refuses (DM0004), from files and from the
//! cluster, without losing the object or its neighbours; and objects the `-f` input defines
//! twice (DM0005), with both places and the one `kubectl apply -f` keeps.

use serde_json::Value;

use super::write;
use crate::harness::Env;

/// The mistakes a user made: each value is one Istio's CRD schema or webhook refuses. The
/// VirtualService is also bound to a Gateway that does not exist, and a good Service and a
/// second, valid VirtualService sit beside them.
const BAD: &str = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart, "bad_host!", "*.*.example.com"]
  gateways: [missing-gateway]
  http:
  - timeout: banana
    retries: {attempts: -1, perTryTimeout: 1x}
    route: [{destination: {host: cart}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: gate, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: PERMIT
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: shop}
spec:
  mtls: {mode: STRIKT}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart, namespace: shop}
spec:
  host: cart
  trafficPolicy:
    outlierDetection: {maxEjectionPercent: 150}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: typed, namespace: shop}
spec:
  hosts: [typed]
  http:
  - retries: {attempts: three}
    route: [{destination: {host: nowhere}}]
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{name: http, port: 8080}]
"#;

/// `code resource message` of every finding in a JSON report.
fn findings(stdout: &str) -> Vec<(String, String, String)> {
    let doc: Value = serde_json::from_str(stdout).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let r = &f["resource"];
            let resource = format!(
                "{} {}/{}",
                r["kind"].as_str().unwrap(),
                r["namespace"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap()
            );
            (
                f["code"].as_str().unwrap().to_string(),
                resource,
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn invalid_fields(found: &[(String, String, String)]) -> Vec<String> {
    let mut out: Vec<String> = found
        .iter()
        .filter(|(code, _, _)| code == "DM0004")
        .map(|(_, resource, message)| {
            let field = message.split(" for ").nth(1).and_then(|m| m.split(": ").next()).unwrap();
            format!("{resource} {field}")
        })
        .collect();
    out.sort();
    out
}

/// Every value of the user's report, each at its field path, on the object it belongs to.
const EXPECTED: [&str; 9] = [
    "AuthorizationPolicy shop/gate spec.action",
    "DestinationRule shop/cart spec.trafficPolicy.outlierDetection.maxEjectionPercent",
    "PeerAuthentication shop/strict spec.mtls.mode",
    "VirtualService shop/cart spec.hosts[1]",
    "VirtualService shop/cart spec.hosts[2]",
    "VirtualService shop/cart spec.http[0].retries.attempts",
    "VirtualService shop/cart spec.http[0].retries.perTryTimeout",
    "VirtualService shop/cart spec.http[0].timeout",
    "VirtualService shop/typed spec.http[0].retries.attempts",
];

#[test]
fn field_values_istio_refuses_are_errors_naming_the_object_and_field() {
    let env = Env::new();
    let file = write(&env, "bad.yaml", BAD);
    let run = env.run(&["check", "-f", &file, "-o", "json"]).code(1);
    let found = findings(&run.stdout);
    assert_eq!(invalid_fields(&found), EXPECTED, "{}", run.stdout);

    // What is allowed is said, and each finding is an error at the object's line.
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let action = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "DM0004" && f["resource"]["name"] == "gate")
        .unwrap();
    assert_eq!(action["level"], "error");
    assert_eq!(
        action["message"],
        "invalid value \"PERMIT\" for spec.action: action is one of ALLOW, DENY, AUDIT, CUSTOM"
    );
    assert_eq!(action["location"]["line"], 12);
    assert!(
        found.iter().any(|(_, _, m)| m.contains("maxEjectionPercent") && m.contains("0 to 100"))
    );

    // The objects with bad values are still there for the other checks, and so are the rest:
    // the VirtualService's missing Gateway and the other one's missing host are found.
    let codes_of = |resource: &str| -> Vec<&str> {
        found.iter().filter(|(_, r, _)| r == resource).map(|(c, _, _)| c.as_str()).collect()
    };
    assert!(codes_of("VirtualService shop/cart").contains(&"DM0101"), "{found:?}");
    assert!(codes_of("VirtualService shop/typed").contains(&"DM0102"), "{found:?}");

    // The table says the same, one line each.
    let table = env.run(&["check", "-f", &file]).code(1);
    assert!(table.stdout.contains("AuthorizationPolicy shop/gate"), "{}", table.stdout);
    assert!(
        table.stdout.contains("error    DM0004  invalid value \"banana\" for spec.http[0].timeout"),
        "{}",
        table.stdout
    );
}

#[test]
fn a_value_of_the_wrong_type_is_a_finding_not_a_failed_read() {
    let env = Env::new();
    let file = write(
        &env,
        "typed.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a, namespace: shop}\n\
         spec:\n  host: a\n  trafficPolicy: {outlierDetection: {maxEjectionPercent: lots}}\n",
    );
    let run = env.run(&["check", "-f", &file, "--no-defaults"]).code(1);
    assert!(
        run.stdout.contains(
            "DM0004  invalid value \"lots\" for spec.trafficPolicy.outlierDetection.maxEjectionPercent"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("DestinationRule shop/a"), "{}", run.stdout);
}

/// The corpus file whose VirtualService has a string for its hosts and a map for its routes:
/// once an exit-2 refusal of the whole file, now a finding per field.
#[test]
fn values_of_the_wrong_shape_are_findings_too() {
    let env = Env::new();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad_input/wrong-types.yaml");
    let run = env.run(&["check", "-f", file, "--no-defaults", "-o", "json"]).code(1);
    let found = findings(&run.stdout);
    assert_eq!(
        invalid_fields(&found),
        ["VirtualService shop/cart spec.hosts", "VirtualService shop/cart spec.http"],
        "{}",
        run.stdout
    );
    assert!(found[0].2.contains("expected a sequence"), "{found:?}");
}

#[test]
fn the_live_cluster_is_checked_the_same_way_and_one_bad_object_fails_no_list() {
    let env = Env::new();
    env.seed(BAD);
    let run = env.run(&["check", "-A", "-o", "json"]).code(1);
    let found = findings(&run.stdout);
    assert_eq!(invalid_fields(&found), EXPECTED, "{}", run.stdout);
    assert!(found.iter().any(|(c, r, _)| c == "DM0101" && r == "VirtualService shop/cart"));
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\n\
                       spec:\n  ports: [{name: http, port: 8080}]\n";

#[test]
fn an_object_defined_twice_is_a_warning_naming_both_places_and_the_winner() {
    let env = Env::new();
    let one = write(&env, "in/a.yaml", &format!("{SERVICE}---\n{SERVICE}"));
    let two = write(&env, "in/b.yaml", SERVICE);
    let run = env.run(&["check", "-f", &one, "--no-defaults", "--fail-on", "warning"]).code(1);
    assert!(
        run.stdout.contains(&format!(
            "warning  DM0005  defined 2 times in the input ({one}:1, {one}:7); kubectl apply -f \
             applies them in order, so the one at {one}:7 wins and the one at {one}:1 is \
             overwritten"
        )),
        "{}",
        run.stdout
    );

    // Across files, in the order given.
    let run = env.run(&["check", "-f", &two, "-f", &one, "--no-defaults", "-o", "json"]).ok();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let dups: Vec<&Value> =
        doc["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "DM0005").collect();
    assert_eq!(dups.len(), 1, "one finding per object: {}", run.stdout);
    assert_eq!(dups[0]["level"], "warning");
    assert_eq!(dups[0]["location"]["file"], one.as_str());
    assert_eq!(dups[0]["location"]["line"], 7);
    let message = dups[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("defined 3 times in the input ({two}:1, {one}:1, {one}:7)")),
        "{message}"
    );
    assert!(
        message.contains(&format!("the ones at {two}:1, {one}:1 are overwritten")),
        "{message}"
    );

    // Distinct objects are not duplicates.
    let other =
        write(&env, "c.yaml", &format!("{SERVICE}---\n{}", SERVICE.replace("shop}", "web}")));
    let run = env.run(&["check", "-f", &other, "--no-defaults"]).ok();
    assert!(!run.stdout.contains("DM0005"), "{}", run.stdout);
}

#[test]
fn over_the_cluster_only_the_files_duplicates_are_reported() {
    let env = Env::new();
    env.seed(SERVICE);
    let single = write(&env, "single.yaml", SERVICE);
    let run = env.run(&["check", "-f", &single, "--use-cluster", "-A"]).ok();
    assert!(
        !run.stdout.contains("DM0005"),
        "a file laid over the cluster is no duplicate: {}",
        run.stdout
    );
    let twice = write(&env, "twice.yaml", &format!("{SERVICE}---\n{SERVICE}"));
    let run = env.run(&["check", "-f", &twice, "--use-cluster", "-A"]).ok();
    assert!(run.stdout.contains(&format!("{twice}:1, {twice}:7")), "{}", run.stdout);
}
