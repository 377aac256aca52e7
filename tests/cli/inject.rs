//! `inject` and `inject status` against the test API server, over HTTPS with a token.

use serde_json::json;

use crate::harness::{Env, closed_port, write_kubeconfig};

const SIDECAR_STATUS: &str = r#"{"containers":["istio-proxy"],"revision":"default"}"#;

/// Namespace shop (not injected) with a Deployment's pod and a bare pod, both without a
/// sidecar; namespace legacy (no longer injected) with a StatefulSet pod that has one.
fn fixture() -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: shop, labels: {{team: web}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: legacy}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: app, image: example/web:1}}]}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}}]
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: app, image: example/web:1}}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-x1
  namespace: shop
  labels: {{app: web}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u2, controller: true}}]
spec: {{containers: [{{name: app, image: example/web:1}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web-5d8f-x2, namespace: shop, labels: {{app: web}},
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u2, controller: true}}]}}
spec: {{containers: [{{name: app, image: example/web:1}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: debug, namespace: shop}}
spec: {{containers: [{{name: sh, image: example/sh:1}}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: legacy}}
spec:
  selector: {{matchLabels: {{app: db}}}}
  serviceName: db
  template:
    metadata: {{labels: {{app: db}}}}
    spec: {{containers: [{{name: db, image: example/db:1}}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: legacy
  labels: {{app: db}}
  annotations: {{sidecar.istio.io/status: '{SIDECAR_STATUS}'}}
  ownerReferences: [{{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u3, controller: true}}]
spec: {{containers: [{{name: db, image: example/db:1}}, {{name: istio-proxy, image: proxyv2}}]}}
"#
    )
}

/// The default revision's injector webhook, as a default (unrevisioned) install labels it.
const DEFAULT_INJECTOR: &str = "apiVersion: admissionregistration.k8s.io/v1\n\
    kind: MutatingWebhookConfiguration\n\
    metadata: {name: istio-sidecar-injector, labels: {istio.io/rev: default}}\nwebhooks: []\n";

/// The fixture with the default revision served.
fn env() -> Env {
    let env = Env::new();
    env.seed(&fixture());
    env.seed(DEFAULT_INJECTOR);
    env
}

#[test]
fn inject_labels_the_namespace_with_one_list_per_kind() {
    let env = env();
    let run = env.run(&["inject", "shop"]).ok();
    assert_eq!(run.stdout, "namespace/shop labeled\n");
    assert_eq!(
        env.labels("namespaces", "", "shop"),
        json!({"team": "web", "istio-injection": "enabled", "kubernetes.io/metadata.name": "shop"})
    );

    assert_eq!(env.lists_of("namespaces").len(), 1);
    let pods = env.lists_of("pods");
    assert_eq!(pods.len(), 1);
    assert!(pods[0].accept.contains("as=PartialObjectMetadataList"), "{}", pods[0].accept);
    assert_eq!(env.lists_of("replicasets").len(), 1);
    let writes = env.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].path, "/api/v1/namespaces/shop");
    assert_eq!(writes[0].param("fieldManager"), Some("kubectl-debatemesh"));
}

#[test]
fn the_workloads_left_without_a_sidecar_are_named() {
    let env = env();
    let run = env.run(&["inject", "shop"]).ok();
    assert!(run.stderr.contains("shop/deployment web (2 pods): no sidecar"), "{}", run.stderr);
    assert!(run.stderr.contains("shop/pod debug: no sidecar"), "{}", run.stderr);
    assert!(run.stderr.contains("--restart"), "{}", run.stderr);
}

#[test]
fn a_second_run_changes_nothing() {
    let env = env();
    env.run(&["inject", "shop"]).ok();
    env.server.clear_log();
    let run = env.run(&["inject", "shop"]).ok();
    assert_eq!(run.stdout, "namespace/shop unchanged\n");
    assert!(env.writes().is_empty(), "{:?}", env.writes());
}

#[test]
fn restart_stamps_deployments_and_leaves_bare_pods() {
    let env = env();
    let run = env.run(&["inject", "shop", "--restart"]).ok();
    assert!(run.stdout.contains("deployment.apps/web in shop restarted"), "{}", run.stdout);
    let deployment = env.server.object("deployments", "shop", "web").unwrap();
    let stamp = &deployment["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"];
    assert!(stamp.as_str().is_some_and(|s| s.ends_with('Z')), "{deployment}");
    assert!(env.server.object("pods", "shop", "debug").is_some(), "bare pods are not deleted");
    assert!(run.stderr.contains("pod shop/debug has no Deployment"), "{}", run.stderr);
}

#[test]
fn revision_mode_replaces_the_default_injection_label() {
    let env = env();
    env.run(&["inject", "shop"]).ok();
    let run = env.run(&["inject", "shop", "--revision", "canary"]).ok();
    assert_eq!(run.stdout, "namespace/shop labeled\n");
    let labels = env.labels("namespaces", "", "shop");
    assert_eq!(labels["istio.io/rev"], "canary");
    assert!(labels.get("istio-injection").is_none(), "{labels}");
    assert!(
        run.stderr.contains(
            "namespace shop: istio.io/rev=canary asks for revision canary, which no injector \
             webhook serves (served: default), so new pods get no sidecar"
        ),
        "{}",
        run.stderr
    );
}

/// Restarting into a revision nobody serves gives pods no sidecar: the restart advice is not
/// given, and `--restart` is refused (nothing written) unless --force.
#[test]
fn an_unserved_revision_gets_no_restart_advice_and_restart_needs_force() {
    let env = env();
    let run = env.run(&["inject", "shop", "--revision", "canary"]).ok();
    assert!(run.stderr.contains("shop/deployment web (2 pods)"), "{}", run.stderr);
    assert!(!run.stderr.contains("restart them with --restart"), "{}", run.stderr);
    assert!(run.stderr.contains("do not restart them until revision canary is served"));

    env.server.clear_log();
    let run = env.run(&["inject", "legacy", "--revision", "canary", "--restart"]).code(1);
    assert!(
        run.stderr
            .contains("error: refusing to restart: no injector webhook serves revision canary"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    assert!(env.labels("namespaces", "", "legacy").get("istio.io/rev").is_none());

    let run = env.run(&["inject", "shop", "--revision", "canary", "--restart", "--force"]).ok();
    assert!(run.stdout.contains("deployment.apps/web in shop restarted"), "{}", run.stdout);
    assert!(run.stderr.contains("restarting anyway (--force)"), "{}", run.stderr);
}

/// `istio-injection=enabled` asks for the default revision: with no injector webhook serving it,
/// inject warns as `check` reports DM0502, and gives no restart advice.
#[test]
fn an_unserved_default_revision_is_warned_about_as_check_reports_it() {
    let env = Env::new();
    env.seed(&fixture());
    env.seed(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n\
         metadata: {name: istio-sidecar-injector-canary, labels: {istio.io/rev: canary}}\nwebhooks: []\n",
    );
    let run = env.run(&["inject", "shop"]).ok();
    let message = "istio-injection=enabled asks for the default revision, which no injector \
                   webhook serves (served: canary), so new pods get no sidecar";
    assert!(run.stderr.contains(&format!("namespace shop: {message}")), "{}", run.stderr);
    assert!(run.stderr.contains("inject shop --revision canary"), "{}", run.stderr);
    assert!(!run.stderr.contains("restart them with --restart"), "{}", run.stderr);

    let check = env.run(&["check", "-n", "shop", "-o", "json"]).code(1);
    let doc: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let dm0502: Vec<&serde_json::Value> =
        doc["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "DM0502").collect();
    assert_eq!(dm0502.len(), 1, "{}", check.stdout);
    assert_eq!(dm0502[0]["message"], message, "{}", check.stdout);

    env.seed(DEFAULT_INJECTOR);
    let run = env.run(&["inject", "shop"]).ok();
    assert!(!run.stderr.contains("no injector webhook serves"), "{}", run.stderr);
    assert!(run.stderr.contains("restart them with --restart"), "{}", run.stderr);
}

#[test]
fn a_served_revision_gives_no_warning() {
    let env = env();
    env.seed(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n\
         metadata: {name: istio-sidecar-injector-canary, labels: {istio.io/rev: canary}}\nwebhooks: []\n",
    );
    let run = env.run(&["inject", "shop", "--revision", "canary"]).ok();
    assert!(!run.stderr.contains("no control plane serves"), "{}", run.stderr);
}

#[test]
fn ambient_mode_drops_the_sidecar_labels() {
    let env = env();
    env.run(&["inject", "shop", "--revision", "canary"]).ok();
    env.run(&["inject", "shop", "--ambient"]).ok();
    let labels = env.labels("namespaces", "", "shop");
    assert_eq!(labels["istio.io/dataplane-mode"], "ambient");
    assert!(labels.get("istio.io/rev").is_none() && labels.get("istio-injection").is_none());
}

#[test]
fn disable_removes_the_labels_and_names_pods_that_keep_a_sidecar() {
    let env = env();
    env.seed("apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy, labels: {istio-injection: enabled}}\n");
    let run = env.run(&["inject", "legacy", "--disable"]).ok();
    assert_eq!(run.stdout, "namespace/legacy unlabeled\n", "as kubectl label says");
    assert!(env.labels("namespaces", "", "legacy").get("istio-injection").is_none());
    assert!(run.stderr.contains("legacy/statefulset db (1 pod): has a sidecar"), "{}", run.stderr);
}

#[test]
fn client_dry_run_prints_the_namespace_and_sends_no_write() {
    let env = env();
    let run = env.run(&["inject", "shop", "--dry-run=client", "-o", "yaml"]).ok();
    assert!(run.stdout.contains("kind: Namespace"), "{}", run.stdout);
    assert!(run.stdout.contains("istio-injection: enabled"), "{}", run.stdout);
    // Ready to apply or commit: none of the server's fields, which would make an apply conflict.
    for field in ["resourceVersion", "uid", "creationTimestamp", "managedFields", "status:"] {
        assert!(!run.stdout.contains(field), "{field} in {}", run.stdout);
    }
    assert!(env.writes().is_empty());
    assert!(env.labels("namespaces", "", "shop").get("istio-injection").is_none());

    let run = env.run(&["inject", "shop", "--dry-run"]).ok();
    assert_eq!(run.stdout, "namespace/shop labeled (dry run)\n");
    assert!(env.writes().is_empty());
}

#[test]
fn server_dry_run_sends_dry_run_all_and_saves_nothing() {
    let env = env();
    let run = env.run(&["inject", "shop", "--dry-run=server"]).ok();
    assert_eq!(run.stdout, "namespace/shop labeled (server dry run)\n");
    let writes = env.writes();
    assert_eq!(writes.len(), 1);
    assert!(writes[0].dry_run);
    assert!(env.labels("namespaces", "", "shop").get("istio-injection").is_none());
}

#[test]
fn diff_prints_the_label_change_and_writes_nothing() {
    let env = env();
    let run = env.run(&["inject", "shop", "--diff", "--restart"]).code(1);
    assert!(run.stdout.starts_with("--- live/namespace/shop\n+++ intended/namespace/shop\n"));
    assert!(run.stdout.contains("\n+    istio-injection: enabled\n"), "{}", run.stdout);
    assert!(run.stderr.contains("deployment shop/web"), "{}", run.stderr);
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    assert!(env.labels("namespaces", "", "shop").get("istio-injection").is_none());

    env.run(&["inject", "shop"]).ok();
    let same = env.run(&["inject", "shop", "--diff"]).ok();
    assert!(same.stdout.is_empty() && same.stderr.contains("no changes"), "{}", same.stderr);
}

#[test]
fn a_namespace_helm_manages_needs_force() {
    let env = env();
    env.seed(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: charted\n  annotations: \
         {meta.helm.sh/release-name: shop}\n  labels: {app.kubernetes.io/managed-by: Helm}\n",
    );
    let run = env.run(&["inject", "shop", "charted"]).code(1);
    assert!(run.stderr.contains("Namespace charted: it is managed by Helm"), "{}", run.stderr);
    assert!(env.writes().is_empty(), "nothing is written, shop included: {:?}", env.writes());
    env.run(&["inject", "charted", "--force"]).ok();
    assert_eq!(env.labels("namespaces", "", "charted")["istio-injection"], "enabled");
}

#[test]
fn protected_namespaces_need_force() {
    let env = env();
    env.run(&["inject", "kube-system"])
        .code(2)
        .one_error_line("refusing to change namespace kube-system");
    env.run(&["inject", "istio-system"]).code(2).one_error_line("--force");
    assert!(env.server.requests().is_empty(), "nothing is sent for bad input");
    env.run(&["inject", "kube-system", "--force"]).ok();
    assert_eq!(env.labels("namespaces", "", "kube-system")["istio-injection"], "enabled");
}

#[test]
fn a_missing_namespace_is_an_error_and_nothing_is_written() {
    let env = env();
    env.run(&["inject", "shop", "nope"]).code(2);
    let run = env.run(&["inject", "nope"]).code(2);
    assert!(
        run.stderr.starts_with("error: namespace nope not found; nothing was changed\n"),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    assert!(env.server.object("namespaces", "", "nope").is_none());
}

#[test]
fn bad_input_exits_2_with_one_line_and_sends_nothing() {
    let env = env();
    env.run(&["inject", ""]).code(2).one_error_line("namespace");
    env.run(&["inject", "Bad_Name"]).code(2).one_error_line("\"Bad_Name\"");
    env.run(&["inject", "shop", "--revision", "canary", "--ambient"])
        .code(2)
        .one_error_line("--ambient");
    env.run(&["inject", "shop", "--context", "elsewhere"])
        .code(2)
        .one_error_line("context \"elsewhere\"");
    env.run(&["inject", "shop", "--kubeconfig", "/nonexistent/config"])
        .code(2)
        .one_error_line("/nonexistent/config");
    env.run(&["inject", "shop", "--request-timeout", "soon"])
        .code(2)
        .one_error_line("--request-timeout");
    assert!(env.server.requests().is_empty(), "{:?}", env.server.requests());
}

#[test]
fn an_unreachable_server_exits_3_within_the_timeout() {
    let env = env();
    let config =
        write_kubeconfig(env.dir.path(), "down", &format!("https://127.0.0.1:{}", closed_port()));
    let started = std::time::Instant::now();
    let run = env
        .run(&[
            "inject",
            "shop",
            "--kubeconfig",
            config.to_str().unwrap(),
            "--request-timeout",
            "3s",
        ])
        .code(3);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(run.stderr.starts_with("error: failed to list Namespace"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: is the cluster up"), "{}", run.stderr);
}

#[test]
fn status_shows_modes_meshed_pods_and_restarts() {
    let env = env();
    env.seed("apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy, labels: {istio-injection: disabled}}\n");
    let run = env.run(&["inject", "status", "-A"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAMESPACE", "MODE", "MESHED", "RESTART"]
    );
    let row = |ns: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{ns} ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .unwrap()
    };
    assert_eq!(row("shop"), ["shop", "off", "0/3", "0"]);
    assert_eq!(row("legacy"), ["legacy", "off", "1/1", "1"]);
    let pods = env.lists_of("pods");
    assert_eq!(pods.len(), 1);
    assert!(pods[0].accept.contains("PartialObjectMetadataList"));

    env.run(&["inject", "shop"]).ok();
    let run = env.run(&["inject", "status", "shop", "-o", "json"]).ok();
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        rows,
        json!([{"namespace": "shop", "mode": "sidecar", "meshedPods": 0, "totalPods": 3, "needsRestart": 3}])
    );
}

#[test]
fn status_of_conflicting_labels_says_which_wins() {
    let env = env();
    env.seed("apiVersion: v1\nkind: Namespace\nmetadata: {name: both, labels: {istio-injection: enabled, istio.io/rev: canary}}\n");
    let run = env.run(&["inject", "status", "both"]).ok();
    assert!(run.stdout.contains("conflicting labels (istio-injection=enabled and istio.io/rev=canary: istio-injection wins)"), "{}", run.stdout);
}

#[test]
fn kubectl_runs_the_plugin_and_finds_it() {
    let env = env();
    let run = env.run_plugin(&["inject", "shop"]).ok();
    assert_eq!(run.stdout, "namespace/shop labeled\n");
    let list = env.run_kubectl(&["plugin", "list"]).ok();
    assert!(list.stdout.contains("kubectl-debatemesh"), "{}", list.stdout);
}

#[test]
fn client_certificates_authenticate_like_tokens() {
    let env = env();
    let server = crate::support::TestServer::builder().client_certs().start();
    server.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    let config = server.write_kubeconfig_in(
        env.dir.path(),
        crate::support::KubeUser::ClientCert("bob".into()),
        "default",
    );
    env.run(&["inject", "shop", "--kubeconfig", config.to_str().unwrap()]).ok();
    let ns = server.object("namespaces", "", "shop").unwrap();
    assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
    assert!(server.writes().iter().all(|w| w.user.as_deref() == Some("bob")));
}
