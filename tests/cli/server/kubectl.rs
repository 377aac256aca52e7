//! The real kubectl against the server, each run with its own HOME.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::support::{Forbid, KubeUser, Kubectl, Operation, TestServer, kubectl};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_ok(out: &Output) {
    assert!(out.status.success(), "kubectl failed: {}\n{}", stderr(out), stdout(out));
}

fn virtual_service(namespace: &str, name: &str, created: &str) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created},
        "spec": {"hosts": [name]},
    })
}

fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

const REVIEWS_V1: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
";

const REVIEWS_V2: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
";

/// The managers owning `.spec.http` of an object.
fn http_owners(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fieldsV1"]["f:spec"].get("f:http").is_some())
        .map(|e| e["manager"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn get_in_one_namespace_and_across_all_over_https_with_a_token() {
    let server = TestServer::builder().https().token("t0ken", "alice").start();
    server.insert(virtual_service("shop", "cart", "2024-01-01T00:00:00Z"));
    server.insert(virtual_service("shop", "web", "2024-01-02T00:00:00Z"));
    server.insert(virtual_service("bank", "ledger", "2024-01-03T00:00:00Z"));
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig_in(dir.path(), KubeUser::Token("t0ken".into()), "shop");

    let out = kubectl(&server, &kc, &["get", "vs"]);
    assert_ok(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("HOSTS") && lines[0].ends_with("AGE")
    );
    assert!(lines[1].starts_with("cart") && lines[2].starts_with("web"), "{text}");
    assert!(!text.contains("ledger"));
    let list = server.requests().into_iter().last().unwrap();
    assert_eq!(list.path, "/apis/networking.istio.io/v1/namespaces/shop/virtualservices");
    assert_eq!(list.user.as_deref(), Some("alice"));

    let out = kubectl(&server, &kc, &["get", "vs", "-A"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.starts_with("NAMESPACE"), "{text}");
    let rows: Vec<Vec<&str>> =
        text.lines().skip(1).map(|l| l.split_whitespace().take(2).collect()).collect();
    assert_eq!(rows, [["bank", "ledger"], ["shop", "cart"], ["shop", "web"]]);
    let list = server.requests().into_iter().last().unwrap();
    assert_eq!(list.path, "/apis/networking.istio.io/v1/virtualservices");
}

#[test]
fn get_across_namespaces_in_chunks_follows_continue_tokens() {
    let server = TestServer::builder().start();
    for (i, ns) in ["a", "b", "c"].iter().enumerate() {
        server.insert(virtual_service(ns, "one", &format!("2024-01-0{}T00:00:00Z", i + 1)));
        server.insert(virtual_service(ns, "two", &format!("2024-01-0{}T00:00:00Z", i + 1)));
    }
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::None);

    let out = kubectl(&server, &kc, &["get", "vs", "-A", "--chunk-size=2", "-o", "name"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).lines().count(), 6, "{}", stdout(&out));
    let pages: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/apis/networking.istio.io/v1/virtualservices")
        .collect();
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|p| p.param("limit") == Some("2")));
    assert!(pages[0].param("continue").is_none());
    assert!(pages[1].param("continue").is_some() && pages[2].param("continue").is_some());
    assert_ne!(pages[1].param("continue"), pages[2].param("continue"));
}

#[test]
fn server_side_apply_conflicts_then_force_moves_ownership_with_a_client_cert() {
    let server = TestServer::builder().client_certs().start();
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::ClientCert("bob".into()));
    let v1 = write(dir.path(), "v1.yaml", REVIEWS_V1);
    let v2 = write(dir.path(), "v2.yaml", REVIEWS_V2);

    let out = kubectl(&server, &kc, &["apply", "--server-side", "-f", v1.to_str().unwrap()]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out).trim(),
        "virtualservice.networking.istio.io/reviews serverside-applied"
    );
    let created = server.object("vs", "default", "reviews").unwrap();
    assert_eq!(created["spec"]["http"][0]["route"][0]["destination"]["subset"], "v1");
    assert_eq!(http_owners(&created), ["kubectl"]);
    let patch = server.writes().into_iter().last().unwrap();
    assert_eq!(patch.content_type, "application/apply-patch+yaml");
    assert_eq!(patch.user.as_deref(), Some("bob"));

    let args = ["apply", "--server-side", "--field-manager", "ops", "-f", v2.to_str().unwrap()];
    let out = kubectl(&server, &kc, &args);
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.http"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--force-conflicts"));
    let unchanged = server.object("vs", "default", "reviews").unwrap();
    assert_eq!(unchanged["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);

    let mut forced = args.to_vec();
    forced.insert(2, "--force-conflicts");
    assert_ok(&kubectl(&server, &kc, &forced));
    let taken = server.object("vs", "default", "reviews").unwrap();
    assert_eq!(taken["spec"]["http"][0]["route"][0]["destination"]["subset"], "v2");
    assert_eq!(http_owners(&taken), ["ops"]);
    assert_eq!(taken["metadata"]["generation"], 2);
}

#[test]
fn label_is_a_merge_patch_and_its_manager_then_conflicts_with_apply() {
    let server = TestServer::builder().start();
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::None);
    let v1 = write(dir.path(), "v1.yaml", REVIEWS_V1);
    assert_ok(&kubectl(&server, &kc, &["apply", "--server-side", "-f", v1.to_str().unwrap()]));

    let out = kubectl(&server, &kc, &["label", "vs", "reviews", "team=a"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "virtualservice.networking.istio.io/reviews labeled");
    let patch = server.writes().into_iter().last().unwrap();
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.content_type, "application/merge-patch+json");
    assert_eq!(patch.param("fieldManager"), Some("kubectl-label"));
    let labelled = server.object("vs", "default", "reviews").unwrap();
    assert_eq!(labelled["metadata"]["labels"]["team"], "a");

    // An applier setting the label another way collides with the Update manager.
    let with_label =
        REVIEWS_V1.replace("  name: reviews\n", "  name: reviews\n  labels: {team: b}\n");
    let f = write(dir.path(), "labelled.yaml", &with_label);
    let out = kubectl(&server, &kc, &["apply", "--server-side", "-f", f.to_str().unwrap()]);
    assert!(!out.status.success());
    let want =
        "conflict with \"kubectl-label\" using networking.istio.io/v1: .metadata.labels.team";
    assert!(stderr(&out).contains(want), "{}", stderr(&out));
}

#[test]
fn delete_removes_the_object_and_kubectl_sees_it_gone() {
    let server = TestServer::builder().start();
    server.insert(virtual_service("default", "reviews", "2024-01-01T00:00:00Z"));
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::None);

    let out = kubectl(&server, &kc, &["delete", "vs", "reviews"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "virtualservice.networking.istio.io \"reviews\" deleted");
    assert!(server.object("vs", "default", "reviews").is_none());
    let delete = server.writes().into_iter().last().unwrap();
    assert_eq!(delete.method, "DELETE");
    assert!(delete.body.contains("propagationPolicy"));

    let out = kubectl(&server, &kc, &["get", "vs", "reviews"]);
    assert!(!out.status.success());
    let want = "virtualservices.networking.istio.io \"reviews\" not found";
    assert!(stderr(&out).contains(want), "{}", stderr(&out));
}

#[test]
fn a_forbid_rule_reaches_kubectl_as_the_apiserver_words_it() {
    let rule = Forbid::user("alice").verb("list").resource("virtualservices").namespace("shop");
    // kubectl sends bearer tokens over HTTPS only.
    let server = TestServer::builder().https().token("t0ken", "alice").forbid(rule).start();
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig_in(dir.path(), KubeUser::Token("t0ken".into()), "shop");

    let out = kubectl(&server, &kc, &["get", "vs"]);
    assert!(!out.status.success());
    let want = "virtualservices.networking.istio.io is forbidden: User \"alice\" cannot list \
                resource \"virtualservices\" in API group \"networking.istio.io\" in the \
                namespace \"shop\"";
    assert!(stderr(&out).contains(want), "{}", stderr(&out));
    assert!(kubectl(&server, &kc, &["get", "vs", "-n", "bank"]).status.success());

    let can_i = |ns: &str| kubectl(&server, &kc, &["auth", "can-i", "list", "vs", "-n", ns]);
    let (shop, bank) = (can_i("shop"), can_i("bank"));

    assert_eq!((stdout(&shop).trim(), shop.status.code()), ("no", Some(1)));
    assert_eq!((stdout(&bank).trim(), bank.status.code()), ("yes", Some(0)));
    let review = server.requests().into_iter().last().unwrap();
    assert_eq!(review.path, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
}

#[test]
fn a_certificate_from_an_unknown_ca_fails_verification() {
    let server = TestServer::builder().https_unknown_ca().token("t0ken", "alice").start();
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::Token("t0ken".into()));

    let out = kubectl(&server, &kc, &["get", "ns"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("certificate signed by unknown authority"), "{}", stderr(&out));
    assert!(server.requests().is_empty(), "no request gets past the handshake");

    let insecure = server.write_kubeconfig(dir.path(), KubeUser::InsecureToken("t0ken".into()));
    assert_ok(&kubectl(&server, &insecure, &["get", "ns", "default"]));
}

#[test]
fn imperative_create_commands_send_protobuf_that_the_server_reads() {
    let server = TestServer::builder().start();
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::None);

    assert_ok(&kubectl(&server, &kc, &["create", "namespace", "shop"]));
    let cm = ["create", "configmap", "mesh", "-n", "shop", "--from-literal=mode=STRICT"];
    assert_ok(&kubectl(&server, &kc, &cm));
    let secret = ["create", "secret", "generic", "tls", "-n", "shop", "--from-literal=key=s3cr3t"];
    assert_ok(&kubectl(&server, &kc, &secret));
    let bodies: Vec<_> = server.writes().into_iter().map(|w| w.content_type).collect();
    assert!(bodies.iter().all(|c| c == "application/vnd.kubernetes.protobuf"), "{bodies:?}");

    let ns = server.object("namespaces", "", "shop").unwrap();
    assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "shop");
    assert_eq!(ns["status"]["phase"], "Active");
    let cm = server.object("configmaps", "shop", "mesh").unwrap();
    assert_eq!(cm["data"], json!({"mode": "STRICT"}));
    let secret = server.object("secrets", "shop", "tls").unwrap();
    assert_eq!(secret["data"]["key"], "czNjcjN0");
    assert_eq!(secret["type"], "Opaque");
}

#[test]
fn get_watch_prints_objects_added_while_it_runs() {
    let server = TestServer::builder().start();
    server.insert(virtual_service("default", "one", "2024-01-01T00:00:00Z"));
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::None);
    let watching = {
        let kc = kc.clone();
        std::thread::spawn(move || {
            Kubectl::new(&kc).run(&["get", "vs", "-w", "--request-timeout=2s"])
        })
    };
    let started = std::time::Instant::now();
    while !server.requests().iter().any(|r| r.param("watch") == Some("true")) {
        assert!(started.elapsed().as_secs() < 15, "kubectl never started watching");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    server.insert(virtual_service("default", "two", "2024-01-01T00:00:00Z"));

    let out = watching.join().unwrap();
    let text = stdout(&out);
    let names: Vec<&str> =
        text.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names, ["one", "two"], "{}", stderr(&out));
    let watch = server.requests().into_iter().find(|r| r.param("watch").is_some()).unwrap();
    assert!(watch.param("resourceVersion").is_some(), "kubectl watches from its list");
}

#[test]
fn apply_over_an_object_another_tool_wrote_names_that_tool() {
    let server = TestServer::builder().start();
    let mut helm = virtual_service("default", "reviews", "2024-01-01T00:00:00Z");
    helm["spec"]["http"] = json!([{"route": [{"destination": {"host": "reviews"}}]}]);
    server.insert_managed(helm, "helm", Operation::Update);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::None);
    let v1 = write(dir.path(), "v1.yaml", REVIEWS_V1);

    let out = kubectl(&server, &kc, &["apply", "--server-side", "-f", v1.to_str().unwrap()]);
    assert!(!out.status.success());
    let want = "conflict with \"helm\" using networking.istio.io/v1: .spec.http";
    assert!(stderr(&out).contains(want), "{}", stderr(&out));
    assert!(!stderr(&out).contains(".spec.hosts"), "same value, so shared, not a conflict");
}

#[test]
fn kubectl_finds_the_plugin_on_the_path_it_is_given() {
    let server = TestServer::builder().start();
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path(), KubeUser::None);
    let out = Kubectl::new(&kc).with_plugin().run(&["plugin", "list", "--name-only"]);
    assert!(stdout(&out).lines().any(|l| l == "kubectl-debatemesh"), "{}", stdout(&out));
}
