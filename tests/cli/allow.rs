//! `allow` and `deny` against the test API server: the guide's policy for `app: my-service`,
//! the refusal of a first ALLOW policy that locks callers out, rules appended and never
//! dropped, the checks that a rule can match as written, and bad input.

use crate::mtls::{assert_golden, env_with, workload};

/// A frontend with a sidecar in namespace default: it calls my-service (same namespace).
fn frontend() -> String {
    workload("default", "frontend", "app: frontend", "frontend", true, 3000)
}

const GUIDE_ALLOW: &[&str] = &[
    "allow",
    "app=my-service",
    "-n",
    "default",
    "--from",
    "ingress",
    "--methods",
    "GET",
    "--name",
    "my-service-access",
];

#[test]
fn the_guides_policy_get_only_from_the_ingress_gateway() {
    let env = env_with("");
    env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    let run = env.run(GUIDE_ALLOW).ok();
    assert_eq!(
        run.stdout,
        "authorizationpolicy.security.istio.io/my-service-access in default created\n"
    );
    assert!(
        run.stderr.contains("--from ingress is ingress gateway istio-system/istio-ingressgateway-5d8f-a (sa istio-ingressgateway-service-account)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("first ALLOW policy"), "{}", run.stderr);
    assert!(!run.stderr.contains("warning:"), "{}", run.stderr);
    let stored = env
        .server
        .object("authorizationpolicies", "default", "my-service-access")
        .expect("written");
    assert_golden("authorization-policy-ingress-get", &stored);

    let again = env.run(GUIDE_ALLOW).ok();
    assert!(again.stdout.ends_with("unchanged\n"), "{}", again.stdout);
}

#[test]
fn the_first_allow_policy_names_the_callers_that_lose_access() {
    let env = env_with(&frontend());
    env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    env.server.clear_log();
    let run = env.run(GUIDE_ALLOW).code(1);
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    assert!(
        run.stderr.contains("this is the first ALLOW policy for pods app=my-service"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "default/deployment frontend (1 pod) calls default/my-service:80 (in the namespace of Service default/my-service)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("deployment istio-ingressgateway (1 pod) calls"),
        "the gateway keeps GET: {}",
        run.stderr
    );
    assert!(run.stderr.contains("refusing to write AuthorizationPolicy default/my-service-access"));

    // Letting the frontend in as well makes the policy safe.
    let run = env
        .run(&[
            "allow",
            "app=my-service",
            "-n",
            "default",
            "--from",
            "sa/default/frontend",
            "--name",
            "my-service-access",
            "--force",
        ])
        .ok();
    assert!(run.stdout.contains("created"), "{}", run.stdout);
    let run = env.run(GUIDE_ALLOW).ok();
    assert!(run.stdout.contains("configured"), "{}", run.stdout);
    assert!(
        !run.stderr.contains("lose access"),
        "no longer the first ALLOW policy: {}",
        run.stderr
    );
}

#[test]
fn appending_a_rule_keeps_the_old_ones() {
    let env = env_with(&frontend());
    env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    env.run(&["allow", "my-service", "-n", "default", "--from", "sa/default/frontend", "--force"])
        .ok();
    let first = env.server.object("authorizationpolicies", "default", "my-service-allow").unwrap();
    let old_rule = first["spec"]["rules"][0].clone();
    assert_eq!(
        old_rule["from"][0]["source"]["principals"][0],
        "cluster.local/ns/default/sa/frontend"
    );

    let run = env
        .run(&[
            "allow",
            "my-service",
            "-n",
            "default",
            "--from",
            "ingress",
            "--paths",
            "/api/*,/health",
        ])
        .ok();
    assert_eq!(
        run.stdout,
        "authorizationpolicy.security.istio.io/my-service-allow in default configured\n"
    );
    let stored = env.server.object("authorizationpolicies", "default", "my-service-allow").unwrap();
    let rules = stored["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0], old_rule);
    assert_eq!(rules[1]["to"][0]["operation"]["paths"], serde_json::json!(["/api/*", "/health"]));
    assert_eq!(stored["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kubectl-debatemesh");
    let writes = env.writes();
    assert_eq!(writes.last().unwrap().method, "PUT", "appended under the resourceVersion guard");
}

#[test]
fn every_bad_input_exits_2_and_sends_nothing() {
    let env = env_with("");
    let cases: &[(&[&str], &str)] = &[
        (&["allow", "app=my-service", "--from", "default"], "for --from"),
        (&["allow", "app=my-service", "--from", "sa/default"], "for --from"),
        (&["allow", "app=my-service", "--from", "spiffe://cluster.local/ns/a/sa/b"], "for --from"),
        (
            &["allow", "app=my-service", "--from", "any", "--from", "ns/x"],
            "any matches every caller",
        ),
        (&["allow", "app=my-service", "--from", "any", "--methods", "get"], "for --methods"),
        (&["allow", "app=my-service", "--from", "any", "--paths", "api/*"], "for --paths"),
        (&["allow", "app=my-service", "--from", "any", "--paths", "/a/{**}/b/{*}"], "for --paths"),
        (&["allow", "app=my-service", "--from", "any", "--ports", "http"], "for --ports"),
        (&["allow", "app=my-service", "--from", "any", "--ports", "70000"], "for --ports"),
        (&["allow", "app=my-service", "--from", "any", "--hosts", "a*b*"], "for --hosts"),
        (&["allow", "app=my-service", "--from", "any", "--name", "Not_Valid"], "for --name"),
        (&["allow", "app=", "--from", "any", "-n", "Bad"], "for --namespace"),
        (&["deny", "My_Service", "--from", "any"], "for TARGET"),
        (&["deny", "app=a,app=b", "--from", "any"], "for TARGET"),
        (&["deny", "app=my-service"], "--from"),
    ];
    for (args, text) in cases {
        env.run(args).code(2).one_error_line(text);
    }
    assert!(env.server.requests().is_empty(), "{:?}", env.server.requests());
    let run = env.run(&["allow", "nothing-here", "--from", "any"]).code(2);
    assert!(run.stderr.starts_with("error: invalid value \"nothing-here\" for TARGET: service default/nothing-here not found"), "{}", run.stderr);
    assert!(env.writes().is_empty());
}

#[test]
fn identity_rules_without_strict_mtls() {
    let env = env_with("");
    // PERMISSIVE by default: an ALLOW by identity keeps plaintext out (a warning) ...
    let run =
        env.run(&["allow", "my-service", "--from", "ns/istio-system", "--dry-run=client"]).ok();
    assert!(run.stderr.contains("warning: DM0404"), "{}", run.stderr);
    assert!(run.stderr.contains("this ALLOW rule keeps them out"), "{}", run.stderr);
    assert!(run.stderr.contains("default/deployment my-service"), "{}", run.stderr);
    // ... and a DENY by identity lets plaintext through (refused).
    let run = env.run(&["deny", "my-service", "--from", "ns/legacy"]).code(1);
    assert!(run.stderr.contains("this DENY rule lets them through"), "{}", run.stderr);
    assert!(env.writes().is_empty());
}

#[test]
fn http_fields_on_a_tcp_port_are_refused() {
    let env = env_with(
        "apiVersion: v1\nkind: Service\nmetadata: {name: my-service-raw, namespace: default}\n\
         spec: {selector: {app: my-service}, ports: [{name: tcp-raw, port: 9000, targetPort: 9000}]}\n",
    );
    let run = env.run(&["deny", "my-service-raw", "--from", "any", "--methods", "DELETE"]).code(1);
    assert!(run.stderr.contains("DM0405"), "{}", run.stderr);
    assert!(
        run.stderr.contains("so it denies every connection the rest of the rule matches"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Service default/my-service-raw port 9000 (tcp-raw) is handled as TCP"),
        "{}",
        run.stderr
    );
    let run = env
        .run(&["deny", "my-service-raw", "--from", "any", "--methods", "DELETE", "--ports", "8080"])
        .ok();
    assert!(!run.stderr.contains("DM0405"), "port 8080 is the HTTP one: {}", run.stderr);
}

#[test]
fn unknown_accounts_and_namespaces_are_refused() {
    let env = env_with("");
    env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    let run = env
        .run(&["deny", "my-service", "--from", "sa/default/ghost", "--from", "ns/nowhere"])
        .code(1);
    assert!(run.stderr.contains("DM0402"), "{}", run.stderr);
    assert!(run.stderr.contains("namespace nowhere"), "{}", run.stderr);
    assert!(run.stderr.contains("DM0403"), "{}", run.stderr);
    assert!(run.stderr.contains("service account default/ghost"), "{}", run.stderr);
    // Every namespace has a `default` account.
    env.run(&["deny", "my-service", "--from", "sa/default/default"]).ok();
}

#[test]
fn policies_on_pods_without_a_sidecar_are_not_enforced() {
    let env = env_with(&workload("default", "batch", "app: batch", "batch", false, 9000));
    let run = env.run(&["deny", "app=batch", "--from", "any", "--paths", "/admin/*"]).ok();
    assert!(
        run.stderr.contains("these pods have no sidecar, so nothing enforces the policy on them:\n  default/deployment batch (1 pod): started before sidecar injection"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_selector_matching_no_pod_is_a_warning() {
    let env = env_with("");
    let run = env.run(&["deny", "app=nothing", "--from", "any", "--paths", "/admin/*"]).ok();
    assert!(run.stderr.contains("warning: DM0401"), "{}", run.stderr);
    assert!(run.stdout.contains("nothing-deny in default created"), "{}", run.stdout);
}

#[test]
fn dry_run_policies_carry_the_istio_annotation() {
    let env = env_with(&frontend());
    let run = env
        .run(&[
            "allow",
            "my-service",
            "--from",
            "ingress",
            "--dry-run-policy",
            "--dry-run=client",
            "-o",
            "yaml",
        ])
        .ok();
    let printed: serde_json::Value = serde_saphyr::from_str(&run.stdout).unwrap();
    assert_eq!(printed["metadata"]["annotations"]["istio.io/dry-run"], "true");
    assert!(run.stderr.contains("DM0411"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("lose access"),
        "a dry-run policy locks nobody out: {}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[test]
fn a_policy_of_that_name_with_another_action_is_not_touched() {
    let env = env_with("");
    env.run(&["deny", "my-service", "--from", "any", "--paths", "/admin/*", "--name", "shared"])
        .ok();
    let run = env.run(&["allow", "my-service", "--from", "any", "--name", "shared"]).code(1);
    assert!(run.stderr.contains("exists with action DENY, not ALLOW"), "{}", run.stderr);
}

#[test]
fn deny_names_whom_it_denies_and_service_ports_are_flagged() {
    let env = env_with(&frontend());
    env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    let run =
        env.run(&["deny", "my-service", "--from", "sa/default/frontend", "--ports", "8080"]).ok();
    assert!(
        run.stderr.contains("note: these callers would be denied what the rule matches:\n  default/deployment frontend (1 pod) calls default/my-service:80"),
        "{}",
        run.stderr
    );
    // Port 80 is the Service port: the container never sees it, so the rule denies nobody.
    let run = env
        .run(&[
            "deny",
            "my-service",
            "--from",
            "sa/default/frontend",
            "--ports",
            "80",
            "--name",
            "by-service-port",
        ])
        .ok();
    assert!(!run.stderr.contains("would be denied"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "80 is a port of Service default/my-service that sends to container port 8080"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn dry_run_policies_stay_so_when_a_rule_is_added() {
    let env = env_with("");
    env.run(&["deny", "my-service", "--from", "any", "--paths", "/admin/*", "--dry-run-policy"])
        .ok();
    let run = env.run(&["deny", "my-service", "--from", "any", "--paths", "/debug/*"]).ok();
    assert!(run.stderr.contains("stays istio.io/dry-run"), "{}", run.stderr);
    let stored = env.server.object("authorizationpolicies", "default", "my-service-deny").unwrap();
    assert_eq!(stored["metadata"]["annotations"]["istio.io/dry-run"], "true");
    assert_eq!(stored["spec"]["rules"].as_array().unwrap().len(), 2);
}

#[test]
fn the_ingress_gateway_falls_back_to_istios_default_account() {
    let env = crate::harness::Env::new();
    env.seed(&workload("default", "web", "app: web", "web", true, 8080));
    let run = env
        .run(&["allow", "app=web", "--from", "ingress", "--dry-run=client", "-o", "yaml"])
        .code(1);
    assert!(
        run.stderr.contains("no ingress gateway pod (label istio=ingressgateway) was found"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("DM0402"), "{}", run.stderr);
    assert!(run.stderr.contains("  namespace istio-system"), "{}", run.stderr);
    let run = env
        .run(&[
            "allow",
            "app=web",
            "--from",
            "ingress",
            "--dry-run=client",
            "-o",
            "yaml",
            "--force",
        ])
        .ok();
    assert!(
        run.stdout
            .contains("cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"),
        "{}",
        run.stdout
    );
}

#[test]
fn identity_rules_on_pods_without_a_sidecar_say_so_plainly() {
    let env = env_with(&format!(
        "{}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: old, namespace: default}}\n\
         spec: {{selector: {{app: old}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}\n",
        workload("default", "old", "app: old", "old", false, 8080)
    ));
    let run = env.run(&["allow", "old", "--from", "ns/istio-system", "--dry-run=client"]).ok();
    assert!(
        run.stderr
            .contains("default/deployment old (1 pod): no sidecar (nothing checks mTLS there)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("NO_SIDECAR"), "{}", run.stderr);
}
