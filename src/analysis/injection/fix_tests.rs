//! Fix texts of the injection and mTLS findings: bare pods are told to be recreated (nothing
//! restarts them), and system or control-plane namespaces are never told to be injected.

use crate::analysis::injection::{
    InjectionRevisions, NamespaceInjectionLabels, NamespaceNotInjected,
};
use crate::analysis::mtls::{DestinationRuleTls, StrictWithoutSidecar};
use crate::analysis::references::findings_of;
use crate::analysis::{Analyzer, Finding};

const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\n\
    metadata: {name: shop, labels: {istio-injection: enabled}}\n---\n\
    apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n---\n";

/// In shop (injected): a bare pod and a StatefulSet's pod, neither with a sidecar; in
/// kube-system a DaemonSet's pod. STRICT mTLS in both namespaces.
fn strict_fixture() -> String {
    format!(
        "{NAMESPACES}\
         apiVersion: v1\nkind: Pod\nmetadata: {{name: debug, namespace: shop, labels: {{app: debug}}}}\n\
         spec: {{containers: [{{name: sh, image: sh}}]}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: db-0\n  namespace: shop\n  labels: {{app: db}}\n  \
         ownerReferences: [{{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u1, controller: true}}]\n\
         spec: {{containers: [{{name: db, image: db}}]}}\n---\n\
         apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db, namespace: shop}}\n\
         spec: {{selector: {{matchLabels: {{app: db}}}}, template: {{metadata: {{labels: {{app: db}}}}, \
         spec: {{containers: [{{name: db, image: db}}]}}}}}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: proxy-x\n  namespace: kube-system\n  labels: {{app: kp}}\n  \
         ownerReferences: [{{apiVersion: apps/v1, kind: DaemonSet, name: kp, uid: u2, controller: true}}]\n\
         spec: {{containers: [{{name: kp, image: kp}}]}}\n---\n\
         apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {{name: strict, namespace: shop}}\nspec: {{mtls: {{mode: STRICT}}}}\n---\n\
         apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {{name: strict, namespace: kube-system}}\nspec: {{mtls: {{mode: STRICT}}}}\n"
    )
}

fn fix_for<'a>(found: &'a [Finding], resource: &str) -> &'a str {
    let f = found.iter().find(|f| f.resource.to_string() == resource);
    let f = f.unwrap_or_else(|| panic!("no finding on {resource}: {found:?}"));
    &f.fix
}

fn run(analyzer: &dyn Analyzer, yaml: &str) -> Vec<Finding> {
    findings_of(analyzer, yaml)
}

#[test]
fn strict_without_sidecar_tells_bare_pods_to_be_recreated() {
    let found = run(&StrictWithoutSidecar, &strict_fixture());
    let bare = fix_for(&found, "Pod shop/debug");
    assert!(bare.contains("kubectl delete pod debug -n shop"), "{bare}");
    assert!(!bare.contains("--restart"), "a bare pod cannot be restarted: {bare}");
    let owned = fix_for(&found, "Pod shop/db-0");
    assert!(owned.contains("kubectl debatemesh inject shop --restart"), "{owned}");
    assert!(owned.contains("mtls shop --mode PERMISSIVE --selector app=db"), "{owned}");
}

#[test]
fn strict_without_sidecar_never_injects_system_namespaces() {
    let found = run(&StrictWithoutSidecar, &strict_fixture());
    let fix = fix_for(&found, "Pod kube-system/proxy-x");
    assert!(!fix.contains("inject kube-system"), "{fix}");
    assert!(fix.contains("do not inject it"), "{fix}");
    assert!(fix.contains("mtls kube-system --mode PERMISSIVE"), "{fix}");
}

#[test]
fn istio_mutual_to_a_bare_pod_says_how_to_recreate_it() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: plain}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: legacy, namespace: plain, labels: {app: legacy}}\n\
         spec: {containers: [{name: app, image: a, ports: [{containerPort: 8080}]}]}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: legacy, namespace: plain}\n\
         spec: {selector: {app: legacy}, ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n\
         apiVersion: networking.istio.io/v1\nkind: DestinationRule\n\
         metadata: {name: legacy, namespace: plain}\n\
         spec: {host: legacy, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}\n";
    let found = run(&DestinationRuleTls, yaml);
    let fix = fix_for(&found, "DestinationRule plain/legacy");
    assert!(!fix.contains("inject NS"), "{fix}");
    assert!(fix.contains("kubectl debatemesh inject plain;"), "{fix}");
    assert!(fix.contains("kubectl delete pod legacy -n plain"), "{fix}");
}

#[test]
fn namespace_findings_never_tell_a_system_namespace_to_be_injected() {
    let yaml = "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n\
                metadata: {name: istio-sidecar-injector-1-20, labels: {istio.io/rev: 1-20}}\n---\n\
                apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n  \
                labels: {istio-injection: enabled, istio.io/rev: canary}\n";
    for analyzer in [&InjectionRevisions as &dyn Analyzer, &NamespaceInjectionLabels] {
        let found = run(analyzer, yaml);
        let fix = fix_for(&found, "Namespace kube-system");
        assert!(!fix.contains("debatemesh inject"), "{}: {fix}", analyzer.name());
        assert!(fix.contains("kubectl label namespace kube-system istio-injection-"), "{fix}");
    }
}

#[test]
fn a_namespace_not_injected_names_its_bare_pods() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: plain}\n---\n\
                apiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: plain}\n\
                spec: {containers: [{name: sh, image: sh}]}\n";
    let found = run(&NamespaceNotInjected, yaml);
    let fix = fix_for(&found, "Namespace plain");
    assert!(fix.contains("(1 pod no controller restarts: delete and recreate it)"), "{fix}");
}
