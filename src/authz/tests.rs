//! Evaluator cases beyond the reference set, each following a rule stated
//! in Istio's documentation or code (named per test), built from small
//! fixture helpers.

use super::{Caller, Decision, Protocol, Request, Target, evaluate};
use crate::mesh::manifest::load_manifest;
use crate::mesh::snapshot::{Snapshot, SnapshotBuilder};

const SIDECAR: &str = "    sidecar.istio.io/status: '{\"containers\":[\"istio-proxy\"]}'\n";

/// Namespace `foo` (injected), Service `httpbin` 8000->8080 named `http`
/// and `tcp` 9000->9000, one pod with a sidecar, plus `extra` documents.
pub(super) fn fixture(extra: &str) -> Snapshot {
    let base = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n  labels: {{istio-injection: enabled}}\n---\n\
apiVersion: v1\nkind: Service\nmetadata: {{name: httpbin, namespace: foo}}\nspec:\n  selector: {{app: httpbin}}\n  ports:\n  - {{name: http, port: 8000, targetPort: 8080}}\n  - {{name: tcp, port: 9000, targetPort: 9000}}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata:\n  name: httpbin-0\n  namespace: foo\n  labels: {{app: httpbin, security.istio.io/tlsMode: istio}}\n  annotations:\n{SIDECAR}spec:\n  serviceAccountName: httpbin\n  containers:\n  - name: app\n    ports: [{{containerPort: 8080}}, {{containerPort: 9000}}]\n"
    );
    let text = if extra.is_empty() { base } else { format!("{base}---\n{extra}") };
    let mut b = SnapshotBuilder::new();
    let (_, errors) = load_manifest(&mut b, "t.yaml", text.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    b.finish()
}

pub(super) fn sleep() -> Caller {
    Caller::Identity { namespace: "foo".into(), service_account: "sleep".into(), sidecar: true }
}

fn http(from: Caller, method: &str, path: &str) -> Request {
    let to = Target::Service { namespace: "foo".into(), name: "httpbin".into(), port: 8000 };
    let mut r = Request::new(from, to);
    r.protocol = Some(Protocol::Http);
    r.method = Some(method.into());
    r.path = Some(path.into());
    r
}

fn tcp(from: Caller) -> Request {
    let to = Target::Service { namespace: "foo".into(), name: "httpbin".into(), port: 9000 };
    Request::new(from, to)
}

fn answer(snap: &Snapshot, req: &Request) -> (Decision, String) {
    let v = evaluate(snap, req).unwrap();
    (v.decision, v.deciding.to_string())
}

fn policy(name: &str, body: &str) -> String {
    format!(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: {name}\n  namespace: foo\nspec:\n{body}"
    )
}

pub(super) fn mesh(text: &str) -> String {
    let indented: String = text.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\ndata:\n  mesh: |\n{indented}"
    )
}

const EXT_AUTHZ_SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: ext-authz, namespace: foo}\nspec:\n  selector: {app: ext-authz}\n  ports: [{name: grpc, port: 9000}]\n";

#[test]
fn allow_nothing_and_deny_all() {
    // authorization_policy.proto: an ALLOW policy without rules denies all;
    // `rules: [{}]` matches everything.
    let s = fixture(&policy("allow-nothing", "  {}\n"));
    assert_eq!(
        answer(&s, &http(sleep(), "GET", "/")),
        (Decision::Deny, "no-allow-policy-matched".into())
    );
    let s = fixture(&policy("deny-all", "  action: DENY\n  rules: [{}]\n"));
    assert_eq!(
        answer(&s, &http(sleep(), "GET", "/")),
        (Decision::Deny, "policy foo/deny-all".into())
    );
    // A DENY policy without rules never matches.
    let s = fixture(&policy("deny-none", "  action: DENY\n"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")), (Decision::Allow, "no-policy".into()));
}

#[test]
fn dry_run_is_reported_not_enforced() {
    // authz-dry-run task: a dry-run DENY policy does not deny.
    let p = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: deny-get\n  namespace: foo\n  annotations: {istio.io/dry-run: \"true\"}\nspec:\n  action: DENY\n  rules: [{to: [{operation: {methods: [GET]}}]}]\n";
    let s = fixture(p);
    let v = evaluate(&s, &http(sleep(), "GET", "/")).unwrap();
    assert_eq!((v.decision, v.deciding.to_string()), (Decision::Allow, "no-policy".into()));
    assert!(v.workloads[0].chain[0].is_matched());
}

#[test]
fn custom_decides_at_run_time_unless_something_else_denies() {
    // Evaluation order CUSTOM, DENY, ALLOW; a matching CUSTOM policy defers to
    // its provider, which cannot bypass ALLOW and DENY.
    let m = mesh(
        "extensionProviders:\n- name: authz\n  envoyExtAuthzGrpc:\n    service: ext-authz.foo.svc.cluster.local\n    port: 9000\n",
    );
    let custom = policy("ext", "  action: CUSTOM\n  provider: {name: authz}\n  rules: [{}]\n");
    let s = fixture(&format!("{m}---\n{EXT_AUTHZ_SVC}---\n{custom}"));
    assert_eq!(
        answer(&s, &http(sleep(), "GET", "/")),
        (Decision::Unknown, "policy foo/ext".into())
    );
    // A gRPC provider also checks TCP.
    assert_eq!(answer(&s, &tcp(sleep())), (Decision::Unknown, "policy foo/ext".into()));
    let allow = policy("allow-post", "  rules: [{to: [{operation: {methods: [POST]}}]}]\n");
    let s = fixture(&format!("{m}---\n{EXT_AUTHZ_SVC}---\n{custom}---\n{allow}"));
    assert_eq!(
        answer(&s, &http(sleep(), "GET", "/")),
        (Decision::Deny, "no-allow-policy-matched".into())
    );
}

#[test]
fn custom_with_two_providers_denies() {
    // builder.go: several providers on one workload (without the feature
    // flag) turn the CUSTOM rules into deny rules.
    let m = mesh(
        "extensionProviders:\n- name: a\n  envoyExtAuthzGrpc:\n    service: ext-authz.foo.svc.cluster.local\n    port: 9000\n- name: b\n  envoyExtAuthzGrpc:\n    service: ext-authz.foo.svc.cluster.local\n    port: 9000\n",
    );
    let a = policy(
        "a",
        "  action: CUSTOM\n  provider: {name: a}\n  rules: [{to: [{operation: {paths: [/a]}}]}]\n",
    );
    let b = policy(
        "b",
        "  action: CUSTOM\n  provider: {name: b}\n  rules: [{to: [{operation: {paths: [/b]}}]}]\n",
    );
    let s = fixture(&format!("{m}---\n{EXT_AUTHZ_SVC}---\n{a}---\n{b}"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/b")), (Decision::Deny, "policy foo/b".into()));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/c")), (Decision::Allow, "no-policy".into()));
}

#[test]
fn tcp_deny_with_only_http_fields_denies_all_tcp() {
    // authorization_policy.proto: "If we were to remove the ports match, all
    // TCP traffic would be denied."
    let s = fixture(&policy(
        "deny-post",
        "  action: DENY\n  rules: [{to: [{operation: {methods: [POST]}}]}]\n",
    ));
    assert_eq!(answer(&s, &tcp(sleep())), (Decision::Deny, "policy foo/deny-post".into()));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")), (Decision::Allow, "no-policy".into()));
    // The same fields in an ALLOW policy make its rule never match on TCP.
    let s = fixture(&policy("allow-get", "  rules: [{to: [{operation: {methods: [GET]}}]}]\n"));
    assert_eq!(answer(&s, &tcp(sleep())), (Decision::Deny, "no-allow-policy-matched".into()));
}

#[test]
fn jwt_fields_never_match_without_a_token() {
    // requestPrincipals come from a JWT; `can` requests carry none.
    let s = fixture(&policy("jwt", "  rules: [{from: [{source: {requestPrincipals: ['*']}}]}]\n"));
    assert_eq!(
        answer(&s, &http(sleep(), "GET", "/")),
        (Decision::Deny, "no-allow-policy-matched".into())
    );
    // The require-JWT pattern: DENY notRequestPrincipals ["*"].
    let s = fixture(&policy(
        "require-jwt",
        "  action: DENY\n  rules: [{from: [{source: {notRequestPrincipals: ['*']}}]}]\n",
    ));
    assert_eq!(
        answer(&s, &http(sleep(), "GET", "/")),
        (Decision::Deny, "policy foo/require-jwt".into())
    );
}

#[test]
fn target_ref_policies_skip_sidecars() {
    // policyattachment.go: a policy with targetRef is ignored for non-gateway
    // workloads.
    let s = fixture(&policy(
        "gw",
        "  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]\n",
    ));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")), (Decision::Allow, "no-policy".into()));
}

#[test]
fn workloads_without_sidecars_enforce_nothing() {
    let no_sidecar = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: httpbin-0\n  namespace: foo\n  labels: {app: httpbin}\nspec:\n  containers: [{name: app, ports: [{containerPort: 8080}]}]\n";
    let s = fixture(&format!("{}---\n{no_sidecar}", policy("allow-nothing", "  {}\n")));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")), (Decision::Allow, "no-policy".into()));
}

#[test]
fn strict_rejects_plaintext_before_policies() {
    let pa = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: foo}\nspec:\n  mtls: {mode: STRICT}\n";
    let s = fixture(pa);
    let plain = Caller::Identity {
        namespace: "foo".into(),
        service_account: "sleep".into(),
        sidecar: false,
    };
    assert_eq!(
        answer(&s, &http(plain, "GET", "/")),
        (Decision::Deny, "peerauthentication foo/default".into())
    );
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")), (Decision::Allow, "no-policy".into()));
}

#[test]
fn trust_domain_aliases_and_cluster_local() {
    // trustdomain/bundle.go: principals in an alias, or in `cluster.local`,
    // stand for the same identity in the current trust domain.
    let m = mesh("trustDomain: new-td\ntrustDomainAliases: [old-td]\n");
    for principal in
        ["old-td/ns/foo/sa/sleep", "cluster.local/ns/foo/sa/sleep", "new-td/ns/foo/sa/sleep"]
    {
        let p = policy(
            "p",
            &format!("  rules: [{{from: [{{source: {{principals: [{principal}]}}}}]}}]\n"),
        );
        let s = fixture(&format!("{m}---\n{p}"));
        assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Allow, "{principal}");
    }
    let p =
        policy("p", "  rules: [{from: [{source: {principals: [other-td/ns/foo/sa/sleep]}}]}]\n");
    let s = fixture(&format!("{m}---\n{p}"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Deny);
}

#[test]
fn ports_are_container_ports() {
    let s = fixture(&policy("p", "  rules: [{to: [{operation: {ports: ['8000']}}]}]\n"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Deny);
    let s = fixture(&policy("p", "  rules: [{to: [{operation: {ports: ['8080']}}]}]\n"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Allow);
    // Hand-written YAML often leaves ports unquoted.
    let s = fixture(&policy("p", "  rules: [{to: [{operation: {ports: [8080]}}]}]\n"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Allow);
}

#[test]
fn unknown_condition_keys_drop_the_rule() {
    // model.go: an unknown `when` key makes istiod skip the rule.
    let s = fixture(&policy("p", "  rules: [{when: [{key: source.user, values: [x]}]}]\n"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Deny);
    let s = fixture(&policy(
        "p",
        "  action: DENY\n  rules: [{when: [{key: source.user, values: [x]}]}]\n",
    ));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Allow);
}

#[test]
fn paths_are_normalized_per_mesh_config() {
    let deny =
        policy("deny-admin", "  action: DENY\n  rules: [{to: [{operation: {paths: [/admin]}}]}]\n");
    let s = fixture(&deny);
    assert_eq!(answer(&s, &http(sleep(), "GET", "/public/../admin")).0, Decision::Deny);
    assert_eq!(answer(&s, &http(sleep(), "GET", "/%61dmin?x=1")).0, Decision::Deny);
    assert_eq!(answer(&s, &http(sleep(), "GET", "/%2Fadmin")).0, Decision::Allow);
    let s = fixture(&format!(
        "{}---\n{deny}",
        mesh("pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}")
    ));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/%2Fadmin")).0, Decision::Deny);
    let s = fixture(&format!("{}---\n{deny}", mesh("pathNormalization: {normalization: NONE}")));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/public/../admin")).0, Decision::Allow);
}

#[test]
fn headers_and_values() {
    let s = fixture(&policy(
        "p",
        "  rules: [{when: [{key: 'request.headers[X-Token]', values: ['abc*'], notValues: [abcd]}]}]\n",
    ));
    let mut r = http(sleep(), "GET", "/");
    assert_eq!(answer(&s, &r).0, Decision::Deny);
    r.headers.push(("x-token".into(), "abc1".into()));
    assert_eq!(answer(&s, &r).0, Decision::Allow);
    r.headers[0].1 = "abcd".into();
    assert_eq!(answer(&s, &r).0, Decision::Deny);
}

#[test]
fn ingress_gateway_identity() {
    let s = fixture(&policy(
        "p",
        "  rules: [{from: [{source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}}]}]\n",
    ));
    assert_eq!(answer(&s, &http(Caller::IngressGateway, "GET", "/")).0, Decision::Allow);
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Deny);
}

#[test]
fn root_namespace_deny_beats_namespace_allow() {
    let root_deny = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-delete, namespace: istio-system}\nspec:\n  action: DENY\n  rules: [{to: [{operation: {methods: [DELETE]}}]}]\n";
    let s = fixture(&format!("{root_deny}---\n{}", policy("allow-all", "  rules: [{}]\n")));
    assert_eq!(
        answer(&s, &http(sleep(), "DELETE", "/")),
        (Decision::Deny, "policy istio-system/deny-delete".into())
    );
    assert_eq!(
        answer(&s, &http(sleep(), "GET", "/")),
        (Decision::Allow, "policy foo/allow-all".into())
    );
}

#[test]
fn several_pods_give_the_most_restrictive_answer() {
    let v2 = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: httpbin-v2\n  namespace: foo\n  labels: {{app: httpbin, version: v2, security.istio.io/tlsMode: istio}}\n  annotations:\n{SIDECAR}spec:\n  containers: [{{name: app, ports: [{{containerPort: 8080}}]}}]\n"
    );
    let deny_v2 = policy("v2-allow-nothing", "  selector: {matchLabels: {version: v2}}\n");
    let s = fixture(&format!("{v2}---\n{deny_v2}"));
    let v = evaluate(&s, &http(sleep(), "GET", "/")).unwrap();
    assert_eq!(v.decision, Decision::Deny);
    assert!(!v.consistent);
    assert_eq!(v.workloads.len(), 2);
    assert_eq!(v.workloads[0].decision, Decision::Allow);
}

#[test]
fn templates_stand_in_for_missing_pods() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {istio-injection: enabled}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: http}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      serviceAccountName: web\n      containers: [{name: app, ports: [{name: http, containerPort: 8080}]}]\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  rules: [{to: [{operation: {ports: ['8080']}}]}]\n";
    let mut b = SnapshotBuilder::new();
    load_manifest(&mut b, "t.yaml", text.as_bytes()).unwrap();
    let s = b.finish();
    let to = Target::Service { namespace: "shop".into(), name: "web".into(), port: 80 };
    let v = evaluate(&s, &Request::new(sleep(), to)).unwrap();
    assert_eq!((v.decision, v.deciding.to_string()), (Decision::Allow, "policy shop/p".into()));
    assert_eq!(v.workloads[0].workload, "shop/Deployment/web");
    assert_eq!(v.workloads[0].container_port, Some(8080));
}

#[test]
fn ambient_workloads_get_l4_checks() {
    // Ambient: ztunnel enforces L4 attributes; rules needing HTTP behave as
    // on a TCP filter chain.
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n  labels: {istio.io/dataplane-mode: ambient}\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: httpbin-0\n  namespace: foo\n  labels: {app: httpbin}\nspec:\n  containers: [{name: app, ports: [{containerPort: 8080}]}]\n";
    let by_principal = policy(
        "p",
        "  rules: [{from: [{source: {principals: [cluster.local/ns/foo/sa/sleep]}}]}]\n",
    );
    let s = fixture(&format!("{ns}---\n{pod}---\n{by_principal}"));
    let v = evaluate(&s, &http(sleep(), "GET", "/")).unwrap();
    assert_eq!((v.decision, v.deciding.to_string()), (Decision::Allow, "policy foo/p".into()));
    let by_method = policy("p", "  rules: [{to: [{operation: {methods: [GET]}}]}]\n");
    let s = fixture(&format!("{ns}---\n{pod}---\n{by_method}"));
    assert_eq!(answer(&s, &http(sleep(), "GET", "/")).0, Decision::Deny);
}
