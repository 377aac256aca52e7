//! Snapshot building: owner chains, indexes, overlay, defaults.

use serde_json::json;

use super::*;
use crate::mesh::manifest::load_manifest;
use crate::mesh::pod::Source;

fn load(text: &str) -> SnapshotBuilder {
    let mut b = SnapshotBuilder::new();
    let (_, errors) = load_manifest(&mut b, "t.yaml", text.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    b
}

const CHAIN: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      serviceAccountName: web-sa\n      containers: [{name: app, ports: [{name: http, containerPort: 8080}]}]\n---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-5d9\n  namespace: shop\n  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d1, controller: true}]\n";

#[test]
fn metadata_only_pods_resolve_through_their_controllers() {
    let mut b = load(CHAIN);
    // A Pod as the API server returns it in a metadata-only list.
    let item = json!({
        "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
        "metadata": {"name": "web-5d9-x", "namespace": "shop", "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9",
                "uid": "r1", "controller": true}]}
    });
    let pod: crate::mesh::pod::Pod = serde_json::from_value(item).unwrap();
    b.add(pod, Origin::Cluster);
    let orphan: crate::mesh::pod::Pod =
        serde_json::from_value(json!({"metadata": {"name": "lost", "namespace": "shop"}})).unwrap();
    b.add(orphan, Origin::Cluster);
    let s = b.finish();
    let p = s.pods().get("shop", "web-5d9-x").unwrap();
    assert_eq!(p.service_account(), "web-sa");
    assert_eq!(p.resolved.account_source, Source::Template("Deployment/web".into()));
    assert_eq!(p.resolved.ports[0].container_port, 8080);
    let lost = s.pods().get("shop", "lost").unwrap();
    assert_eq!(
        (lost.service_account(), &lost.resolved.account_source),
        ("default", &Source::Inferred)
    );
}

#[test]
fn services_index_their_pods() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: http}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: none, namespace: shop}\nspec:\n  ports: [{port: 80}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop, labels: {app: web, v: '1'}}\nspec:\n  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: other, labels: {app: web}}\n";
    let s = load(text).finish();
    let web = s.services().id("shop", "web").unwrap();
    assert_eq!(s.pods_for_service(web), &[0]);
    assert!(s.pods_for_service(s.services().id("shop", "none").unwrap()).is_empty());
    assert_eq!(s.services_for_pod(0), &[web]);
    let w = s.workload_of_pod(0);
    assert_eq!(target_port(&s.services().at(web).spec.ports[0], &w.ports), Some(8080));
    let selector = [("app".to_string(), "web".to_string())].into();
    assert_eq!(s.pods_selected_by(None, &selector).count(), 2);
}

#[test]
fn overlay_replaces_by_kind_namespace_and_name() {
    let live = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {a: live}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: keep}\n").finish();
    let files = load(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {a: file}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: new}\n",
    );
    let s = live.overlay(files);
    assert_eq!(s.namespaces().len(), 3);
    assert_eq!(s.namespaces().get("", "shop").unwrap().metadata.label("a"), Some("file"));
    assert_eq!(s.replaced().len(), 1);
    assert_eq!(s.replaced()[0].name, "shop");
}

#[test]
fn offline_defaults_fill_what_files_lack() {
    let mut b = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    let added = add_offline_defaults(&mut b);
    let names: Vec<String> = added.iter().map(|a| format!("{} {}", a.kind, a.name)).collect();
    assert!(names.contains(&"Pod istio-system/istio-ingressgateway".to_string()), "{names:?}");
    assert!(names.contains(&"Service istio-system/istio-ingressgateway".to_string()));
    let s = b.finish();
    let svc = s.services().get("istio-system", "istio-ingressgateway").unwrap();
    let ports: Vec<(u16, String)> = svc
        .spec
        .ports
        .iter()
        .map(|p| (p.port, p.target_port.clone().unwrap().to_string()))
        .collect();
    assert_eq!(ports, [(80, "8080".into()), (443, "8443".into()), (15443, "15443".into())]);
    assert_eq!(s.mesh_origin(), Some(&Origin::Default));
    // Run again: nothing more to add.
    let mut again = s.into_builder();
    assert!(add_offline_defaults(&mut again).is_empty());
}

#[test]
fn unknown_kinds_and_versions_are_counted() {
    let s = load("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\napiVersion: networking.istio.io/v9\nkind: Gateway\nmetadata: {name: g}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {a: b}\n").finish();
    assert_eq!(s.skipped_count(), 2);
    assert!(s.has_kind(Kind::ConfigMap));
    assert!(!s.has_kind(Kind::Gateway));
}

#[test]
fn invalid_objects_name_their_origin() {
    let mut b = SnapshotBuilder::new();
    let (_, errors) = load_manifest(
        &mut b,
        "bad.yaml",
        b"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: not-a-number}]\n",
    )
    .unwrap();
    assert_eq!(errors.len(), 1);
    let msg = errors[0].to_string();
    assert!(msg.starts_with("bad.yaml:1: invalid Service web:"), "{msg}");
}

#[test]
fn list_page_items_add_by_kind() {
    let mut b = SnapshotBuilder::new();
    let item = json!({"metadata": {"name": "web", "namespace": "shop"}, "spec": {"ports": [{"port": 80}]}});
    assert_eq!(b.add_item(Kind::Service, item, Origin::Cluster), Ok(Added::Object(Kind::Service)));
    let meta_only = json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
        "metadata": {"name": "web-1", "namespace": "shop"}});
    assert!(b.add_item(Kind::Pod, meta_only, Origin::Cluster).is_ok());
    b.mark_loaded(Kind::PeerAuthentication);
    let s = b.finish();
    assert!(s.pods().get("shop", "web-1").unwrap().spec.is_none());
    assert!(s.has_kind(Kind::PeerAuthentication) && s.peer_authentications().is_empty());
}

#[test]
fn snapshots_can_be_shared_across_threads() {
    fn is_shareable<T: Send + Sync>() {}
    is_shareable::<Snapshot>();
    is_shareable::<crate::authz::Verdict>();
}

#[test]
fn workloads_are_running_pods_and_templates_of_controllers_without_pods() {
    let deployment = |name: &str, replicas: u32| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\n\
             spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n  \
             template:\n    metadata: {{labels: {{app: {name}}}}}\n    \
             spec: {{serviceAccountName: {name}, containers: [{{name: app}}]}}\n"
        )
    };
    let text = [
        deployment("web", 2),
        deployment("idle", 0),
        deployment("files", 1),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web, pod-template-hash: x}}\nspec: {serviceAccountName: web, containers: [{name: app}]}\n".into(),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: job-1, namespace: shop}\nspec: {containers: [{name: app}]}\nstatus: {phase: Failed}\n".into(),
    ]
    .join("---\n");
    let s = load(&text).finish();
    let names: Vec<String> = s.workloads().iter().map(|w| w.key()).collect();
    assert_eq!(names, ["shop/web-1", "shop/Deployment/files"]);
}
