//! `mtls` against the test API server: the guide's namespace-wide STRICT policy, the
//! preflight that refuses to cut callers off, port-level modes, the mesh-wide policy in the
//! root namespace, and bad input.

use serde_json::Value;

use crate::harness::Env;

pub const SIDECAR: &str = r#"{"containers":["istio-proxy"],"revision":"default"}"#;

/// A Deployment with its ReplicaSet and one pod (pods are read as metadata only, so the
/// service account and ports come from the Deployment's template).
pub fn workload(
    ns: &str,
    name: &str,
    labels: &str,
    account: &str,
    sidecar: bool,
    port: u16,
) -> String {
    let annotations = if sidecar {
        format!("\n  annotations: {{sidecar.istio.io/status: '{SIDECAR}'}}")
    } else {
        String::new()
    };
    let tls = if sidecar { ", security.istio.io/tlsMode: istio" } else { "" };
    let proxy = if sidecar { ", {name: istio-proxy, image: proxyv2}" } else { "" };
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{{labels}}}}}
  template:
    metadata: {{labels: {{{labels}}}}}
    spec:
      serviceAccountName: {account}
      containers: [{{name: app, image: example/{name}:1, ports: [{{containerPort: {port}}}]}}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}-5d8f
  namespace: {ns}
  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: {name}, uid: u-{name}, controller: true}}]
spec:
  selector: {{matchLabels: {{{labels}}}}}
  template:
    metadata: {{labels: {{{labels}}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}-5d8f-a
  namespace: {ns}
  labels: {{{labels}{tls}}}{annotations}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {name}-5d8f, uid: u-rs-{name}, controller: true}}]
spec:
  serviceAccountName: {account}
  containers: [{{name: app, image: example/{name}:1, ports: [{{containerPort: {port}}}]}}{proxy}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {account}, namespace: {ns}}}
"#
    )
}

/// The guide's setup: namespace `default` injected, `my-service` (Service port 80 named http
/// to container port 8080) with a sidecar, the ingress gateway in istio-system, and the guide's
/// Gateway with a VirtualService routing to my-service through it.
pub fn guide_mesh() -> String {
    let gateway = workload(
        "istio-system",
        "istio-ingressgateway",
        "app: istio-ingressgateway, istio: ingressgateway",
        "istio-ingressgateway-service-account",
        false,
        8080,
    );
    let service = workload("default", "my-service", "app: my-service", "my-service", true, 8080);
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: default, labels: {{istio-injection: enabled}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: istio-system}}
---
{gateway}
---
apiVersion: v1
kind: Service
metadata: {{name: istio-ingressgateway, namespace: istio-system}}
spec:
  type: LoadBalancer
  selector: {{istio: ingressgateway}}
  ports: [{{name: http2, port: 80, targetPort: 8080}}]
---
{service}
---
apiVersion: v1
kind: Service
metadata: {{name: my-service, namespace: default}}
spec:
  selector: {{app: my-service}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: my-gateway, namespace: default}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 80, name: http, protocol: HTTP}}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: my-service, namespace: default}}
spec:
  hosts: ["*"]
  gateways: [my-gateway]
  http:
  - route:
    - destination: {{host: my-service, port: {{number: 80}}}}
"#
    )
}

/// Namespace `legacy`, not injected, with a client without a sidecar whose VirtualService
/// routes to my-service.
pub const LEGACY_CLIENT: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: Pod
metadata: {name: reporter, namespace: legacy, labels: {app: reporter}}
spec: {containers: [{name: app, image: example/reporter:1}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: my-service, namespace: legacy}
spec:
  hosts: [my-service.default.svc.cluster.local]
  http:
  - route:
    - destination: {host: my-service.default.svc.cluster.local}
"#;

pub fn env_with(extra: &str) -> Env {
    let env = Env::new();
    env.seed(&format!("{}\n---\n{extra}", guide_mesh()));
    env
}

/// Compares an object with `tests/golden/security/NAME.yaml`.
#[track_caller]
pub fn assert_golden(name: &str, object: &Value) {
    crate::harness::assert_golden_objects(
        &format!("security/{name}.yaml"),
        std::slice::from_ref(object),
    );
}

#[test]
fn the_guides_namespace_wide_strict_policy() {
    let env = env_with("");
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    assert_eq!(run.stdout, "peerauthentication.security.istio.io/default in default created\n");
    let stored = env.server.object("peerauthentications", "default", "default").expect("written");
    assert_golden("peer-authentication-strict", &stored);

    let writes = env.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].param("fieldManager"), Some("kubectl-debatemesh"));
    for plural in ["pods", "services", "virtualservices", "peerauthentications"] {
        assert_eq!(env.lists_of(plural).len(), 1, "one list of {plural}");
    }
    assert!(env.lists_of("pods")[0].accept.contains("PartialObjectMetadataList"));

    // Re-running converges.
    let again = env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    assert_eq!(again.stdout, "peerauthentication.security.istio.io/default in default unchanged\n");
}

#[test]
fn strict_is_refused_while_a_client_without_a_sidecar_calls_the_target() {
    let env = env_with(LEGACY_CLIENT);
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).code(1);
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("callers without a sidecar would be cut off from default/my-service:80"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("legacy/pod reporter calls default/my-service:80"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("VirtualService legacy/my-service"), "{}", run.stderr);
    assert!(run.stderr.contains("namespace legacy is not injected"), "{}", run.stderr);
    assert!(run.stderr.contains("error: refusing to write PeerAuthentication default/default"));
    assert!(run.stderr.contains("--force"), "{}", run.stderr);

    let forced = env.run(&["mtls", "default", "--mode", "STRICT", "--force"]).ok();
    assert!(forced.stderr.contains("legacy/pod reporter"), "{}", forced.stderr);
    assert!(forced.stdout.contains("created"), "{}", forced.stdout);
    let stored = env.server.object("peerauthentications", "default", "default").expect("written");
    assert_eq!(stored["spec"]["mtls"]["mode"], "STRICT");
}

#[test]
fn pods_without_a_sidecar_are_not_protected_by_strict() {
    let env = env_with(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: old, namespace: default, labels: {app: old}}\n\
         spec: {containers: [{name: app, image: x}]}\n",
    );
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).code(1);
    assert!(run.stderr.contains("DM0301"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "default/pod old: started before sidecar injection: recreate pod default/old, which \
             no controller restarts: kubectl delete pod old -n default, then create it again"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--restart"), "inject cannot restart a bare pod: {}", run.stderr);
    assert!(env.writes().is_empty());
    // PERMISSIVE cuts nobody off.
    env.run(&["mtls", "default", "--mode", "PERMISSIVE"]).ok();
}

#[test]
fn a_destination_rule_sending_plaintext_is_refused() {
    let env = env_with(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n\
         metadata: {name: no-tls, namespace: default}\n\
         spec: {host: my-service, trafficPolicy: {tls: {mode: DISABLE}}}\n",
    );
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).code(1);
    assert!(run.stderr.contains("DM0302"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "DestinationRule default/no-tls sends PLAINTEXT to Service default/my-service:80"
        ),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[test]
fn port_level_modes_need_a_selector_and_take_container_ports() {
    let env = env_with("");
    env.run(&["mtls", "default", "--mode", "STRICT", "--port", "8080=PERMISSIVE"])
        .code(2)
        .one_error_line("invalid value \"8080=PERMISSIVE\" for --port: port-level modes need a workload selector");
    assert!(env.server.requests().is_empty(), "nothing is sent for bad input");

    let run = env
        .run(&[
            "mtls",
            "default",
            "--selector",
            "app=my-service",
            "--mode",
            "STRICT",
            "--port",
            "80=PERMISSIVE",
        ])
        .code(2);
    assert!(
        run.stderr.starts_with("error: invalid value \"80=PERMISSIVE\" for --port"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "80 is a port of Service default/my-service that sends to container port 8080"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: use --port 8080=PERMISSIVE"), "{}", run.stderr);
    assert!(env.writes().is_empty());

    let run = env
        .run(&[
            "mtls",
            "default",
            "--selector",
            "app=my-service",
            "--mode",
            "STRICT",
            "--port",
            "8080=PERMISSIVE",
        ])
        .ok();
    assert_eq!(run.stdout, "peerauthentication.security.istio.io/my-service in default created\n");
    let stored =
        env.server.object("peerauthentications", "default", "my-service").expect("written");
    assert_eq!(stored["spec"]["selector"]["matchLabels"]["app"], "my-service");
    assert_eq!(stored["spec"]["portLevelMtls"]["8080"]["mode"], "PERMISSIVE");

    // Another port is added; the first stays.
    env.run(&["mtls", "default", "--selector", "app=my-service", "--port", "9090=DISABLE"]).ok();
    let stored = env.server.object("peerauthentications", "default", "my-service").expect("kept");
    assert_eq!(stored["spec"]["portLevelMtls"]["8080"]["mode"], "PERMISSIVE");
    assert_eq!(stored["spec"]["portLevelMtls"]["9090"]["mode"], "DISABLE");
    assert_eq!(stored["spec"]["mtls"]["mode"], "STRICT");
}

#[test]
fn every_bad_input_exits_2_and_sends_nothing() {
    let env = env_with("");
    let cases: &[(&[&str], &str)] = &[
        (&["mtls", "default", "--mode", "strict"], "for --mode: modes are written in capitals"),
        (&["mtls", "default", "--mode", "ON"], "for --mode"),
        (&["mtls", "Default", "--mode", "STRICT"], "for NS"),
        (&["mtls", "default", "--mode", "STRICT", "--selector", "app"], "for --selector"),
        (&["mtls", "default", "--mode", "STRICT", "--name", "No_Good"], "for --name"),
        (&["mtls", "default", "--selector", "app=x", "--port", "0=STRICT"], "for --port"),
        (&["mtls", "default", "--selector", "app=x", "--port", "8080"], "for --port"),
        (&["mtls", "--mesh", "--mode", "STRICT", "--selector", "app=x"], "--selector"),
        (&["mtls", "default"], "--mode"),
        (&["mtls", "default", "--mode", "STRICT", "-o", "wide"], "for -o"),
    ];
    for (args, text) in cases {
        env.run(args).code(2).one_error_line(text);
    }
    assert!(env.server.requests().is_empty(), "{:?}", env.server.requests());
    let run = env.run(&["mtls", "nowhere", "--mode", "STRICT"]).code(2);
    assert!(run.stderr.starts_with("error: namespace nowhere not found\n"), "{}", run.stderr);
    assert!(env.writes().is_empty());
}

#[test]
fn the_mesh_wide_policy_goes_in_the_root_namespace_of_mesh_config() {
    let env = env_with(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: mesh-root}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n\
         data: {mesh: \"rootNamespace: mesh-root\\n\"}\n",
    );
    let run = env.run(&["mtls", "--mesh", "--mode", "PERMISSIVE"]).ok();
    assert_eq!(run.stdout, "peerauthentication.security.istio.io/default in mesh-root created\n");
    assert!(run.stderr.contains("root namespace mesh-root"), "{}", run.stderr);
    assert!(env.server.object("peerauthentications", "mesh-root", "default").is_some());
}

#[test]
fn more_specific_and_older_policies_are_named() {
    let env = env_with(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {name: my-service-permissive, namespace: default}\n\
         spec: {selector: {matchLabels: {app: my-service}}, mtls: {mode: PERMISSIVE}}\n---\n\
         apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {name: legacy-default, namespace: default, creationTimestamp: '2020-01-01T00:00:00Z'}\n\
         spec: {mtls: {mode: PERMISSIVE}}\n",
    );
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    assert!(
        run.stderr.contains(
            "PeerAuthentication default/my-service-permissive (mode PERMISSIVE) decides for 1 pod"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("DM0205 an older policy applies at the same level"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("PeerAuthentication default/legacy-default"), "{}", run.stderr);
}

#[test]
fn client_dry_run_prints_the_policy_and_writes_nothing() {
    let env = env_with("");
    let run =
        env.run(&["mtls", "default", "--mode", "STRICT", "--dry-run=client", "-o", "yaml"]).ok();
    let printed: Value = serde_saphyr::from_str(&run.stdout).expect("YAML on stdout");
    assert_golden("peer-authentication-strict", &printed);
    assert!(env.writes().is_empty());

    let diff = env.run(&["mtls", "default", "--mode", "STRICT", "--diff"]).code(1);
    assert!(diff.stdout.contains("+  mtls:"), "{}", diff.stdout);
    assert!(env.writes().is_empty());
}

#[test]
fn a_hand_written_policy_is_edited_in_place() {
    let env = env_with(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {name: default, namespace: default, labels: {team: web}}\n\
         spec: {mtls: {mode: PERMISSIVE}}\n",
    );
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    assert_eq!(run.stdout, "peerauthentication.security.istio.io/default in default configured\n");
    let stored = env.server.object("peerauthentications", "default", "default").expect("kept");
    assert_eq!(stored["spec"]["mtls"]["mode"], "STRICT");
    assert_eq!(stored["metadata"]["labels"]["team"], "web");
    let writes = env.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PUT", "another's object is edited under resourceVersion");

    let helm = Env::new();
    helm.seed(&format!(
        "{}\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {{name: default, namespace: default, labels: {{app.kubernetes.io/managed-by: Helm}}}}\n\
         spec: {{mtls: {{mode: PERMISSIVE}}}}\n",
        guide_mesh()
    ));
    let run = helm.run(&["mtls", "default", "--mode", "STRICT"]).code(1);
    assert!(run.stderr.contains("managed by Helm"), "{}", run.stderr);
    assert!(helm.writes().is_empty());
}

#[test]
fn workloads_that_may_call_are_warned_about_not_refused() {
    let env = env_with(&workload("monitoring", "scraper", "app: scraper", "scraper", false, 9090));
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    assert!(
        run.stderr.contains(
            "warning: workloads without a sidecar would be cut off from default/my-service:80 if \
             they call it (config does not say they do):\n  monitoring/deployment scraper (1 pod): \
             no sidecar, namespace monitoring is not injected"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("created"), "{}", run.stdout);
}

#[test]
fn selectors_matching_nothing_disabled_modes_and_name_clashes() {
    let env = env_with("");
    let run = env.run(&["mtls", "default", "--selector", "app=ghost", "--mode", "STRICT"]).ok();
    assert!(run.stderr.contains("warning: DM0306 no pod matches the selector"), "{}", run.stderr);
    assert!(run.stdout.contains("peerauthentication.security.istio.io/ghost in default created"));

    let run =
        env.run(&["mtls", "default", "--selector", "app=my-service", "--mode", "DISABLE"]).ok();
    assert!(
        run.stderr.contains("note: DM0307 mTLS would be disabled: traffic to these workloads is plaintext:\n  default/deployment my-service (1 pod)"),
        "{}",
        run.stderr
    );

    let run = env
        .run(&["mtls", "default", "--selector", "app=other", "--mode", "STRICT", "--name", "ghost"])
        .code(1);
    assert!(
        run.stderr
            .contains("PeerAuthentication default/ghost exists and applies to pods app=ghost"),
        "{}",
        run.stderr
    );
}

#[test]
fn sidecars_send_plaintext_when_auto_mtls_is_off() {
    let env = env_with(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n\
         data: {mesh: \"enableAutoMtls: false\\n\"}\n",
    );
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).code(1);
    assert!(run.stderr.contains("mesh config turns auto mTLS off"), "{}", run.stderr);
    assert!(run.stderr.contains("Service default/my-service:80"), "{}", run.stderr);
    assert!(env.writes().is_empty());
}

#[test]
fn kubectl_runs_mtls_as_a_plugin() {
    let env = env_with("");
    let run = env.run_plugin(&["mtls", "default", "--mode", "STRICT", "--dry-run=client"]);
    let run = run.ok();
    assert_eq!(
        run.stdout,
        "peerauthentication.security.istio.io/default in default created (dry run)\n"
    );
    assert!(env.writes().is_empty());
}

/// An AuthorizationPolicy on my-service naming the ingress gateway's identity.
fn ingress_policy(action: &str) -> String {
    format!(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
         metadata: {{name: ingress, namespace: default}}\n\
         spec:\n  selector: {{matchLabels: {{app: my-service}}}}\n  action: {action}\n  rules:\n  \
         - from: [{{source: {{principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}}}}]\n"
    )
}

#[test]
fn disabling_mtls_is_refused_while_callers_are_let_in_by_identity() {
    let env = env_with(&ingress_policy("ALLOW"));
    let run = env.run(&["mtls", "default", "--mode", "DISABLE", "--dry-run=client"]).code(1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("warning: DM0404 these callers would lose access"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "  ingress → default/my-service:80: allowed now (ALLOW policy default/ingress rule 0), \
             denied after (no ALLOW policy matched)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("error: refusing to write PeerAuthentication default/default"));

    // A port-level mode cuts off the same caller on that container port.
    let port = ["mtls", "default", "--selector", "app=my-service", "--port", "8080=DISABLE"];
    let run = env.run(&port).code(1);
    assert!(run.stderr.contains("ingress → default/my-service:80"), "{}", run.stderr);
    assert!(env.writes().is_empty(), "{:?}", env.writes());

    let forced = env.run(&["mtls", "default", "--mode", "DISABLE", "--force"]).ok();
    assert!(forced.stdout.contains("created"), "{}", forced.stdout);
    let stored = env.server.object("peerauthentications", "default", "default").expect("written");
    assert_eq!(stored["spec"]["mtls"]["mode"], "DISABLE");
}

#[test]
fn disabling_mtls_is_refused_while_a_deny_rule_keeps_callers_out_by_identity() {
    let env = env_with(&ingress_policy("DENY"));
    let run = env.run(&["mtls", "default", "--mode", "DISABLE"]).code(1);
    assert!(
        run.stderr.contains("warning: DM0409 DENY policies would stop denying"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "  ingress → default/my-service:80: denied now (DENY policy default/ingress rule 0)"
        ),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    // STRICT changes no caller's authorization.
    env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
}

#[test]
fn control_plane_workloads_are_not_told_to_be_injected() {
    let env = env_with(&workload("istio-system", "prober", "app: prober", "prober", false, 9090));
    let run = env.run(&["mtls", "default", "--mode", "STRICT"]).ok();
    assert!(
        run.stderr.contains(
            "istio-system/deployment prober (1 pod): no sidecar, namespace istio-system is a \
             system or control-plane namespace, whose workloads normally stay outside the mesh: \
             do not inject it"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("mtls istio-system --mode PERMISSIVE"), "{}", run.stderr);
    assert!(!run.stderr.contains("inject istio-system"), "{}", run.stderr);
}
