//! kube-rs, the client the product uses, against the server over HTTPS.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, WatchEvent,
    WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::Discovery;
use kube::{Client, Config};
use serde_json::json;

use crate::support::{KubeUser, TestServer};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

async fn client(server: &TestServer, user: KubeUser) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let path = server.write_kubeconfig(dir.path(), user);
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    Client::try_from(config).unwrap()
}

fn virtual_services(client: Client, namespace: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("networking.istio.io", "v1", "VirtualService");
    Api::namespaced_with(client, namespace, &ApiResource::from_gvk(&gvk))
}

#[test]
fn kube_rs_discovers_lists_pages_and_applies_with_a_token() {
    let server = TestServer::builder().https().token("t0ken", "alice").start();
    for i in 0..3 {
        server.insert(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("p{i}"), "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]},
        }));
    }
    block_on(async {
        let client = client(&server, KubeUser::Token("t0ken".into())).await;
        assert_eq!(client.apiserver_version().await.unwrap().minor, "32");

        let discovery = Discovery::new(client.clone()).run_aggregated().await.unwrap();
        let istio = discovery.get("networking.istio.io").expect("istio group discovered");
        assert_eq!(istio.preferred_version_or_latest(), "v1");
        let legacy = Discovery::new(client.clone()).run().await.unwrap();
        assert!(legacy.has_group("gateway.networking.k8s.io"));

        let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
        let page = pods.list_metadata(&ListParams::default().limit(2)).await.unwrap();
        assert_eq!(page.items.len(), 2);
        let token = page.metadata.continue_.clone().expect("a second page");
        let rest = pods.list(&ListParams::default().limit(2).continue_token(&token)).await.unwrap();
        assert_eq!(rest.items[0].metadata.name.as_deref(), Some("p2"));

        let vs = virtual_services(client.clone(), "shop");
        let body = json!({
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "reviews"}, "spec": {"hosts": ["reviews"]},
        });
        let params = PatchParams::apply("kubectl-debatemesh");
        let applied = vs.patch("reviews", &params, &Patch::Apply(&body)).await.unwrap();
        assert_eq!(applied.data["spec"]["hosts"][0], "reviews");

        let watch_from = page.metadata.resource_version.clone().unwrap();
        let params = WatchParams::default().timeout(5);
        let mut events = pods.watch(&params, &watch_from).await.unwrap().boxed();
        server.insert(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "late", "namespace": "shop"},
        }));
        match events.try_next().await.unwrap() {
            Some(WatchEvent::Added(pod)) => assert_eq!(pod.metadata.name.as_deref(), Some("late")),
            other => panic!("expected the new pod, got {other:?}"),
        }

        let namespaces: Api<Namespace> = Api::all(client);
        let shop = namespaces.get("shop").await.unwrap();
        let labels = shop.metadata.labels.unwrap();
        assert_eq!(labels["kubernetes.io/metadata.name"], "shop");
    });
    let apply = server.writes().into_iter().last().unwrap();
    assert_eq!(apply.content_type, "application/apply-patch+yaml");
    assert_eq!(apply.param("fieldManager"), Some("kubectl-debatemesh"));
    assert_eq!(apply.user.as_deref(), Some("alice"));
}

#[test]
fn kube_rs_authenticates_with_a_client_certificate_and_sees_conflicts() {
    let server = TestServer::builder().client_certs().start();
    block_on(async {
        let client = client(&server, KubeUser::ClientCert("carol".into())).await;
        let vs = virtual_services(client, "default");
        let body = |subset: &str| {
            json!({
                "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                "metadata": {"name": "reviews"},
                "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {
                    "host": "reviews", "subset": subset}}]}]},
            })
        };
        vs.patch("reviews", &PatchParams::apply("one"), &Patch::Apply(&body("v1"))).await.unwrap();
        let err = vs
            .patch("reviews", &PatchParams::apply("two"), &Patch::Apply(&body("v2")))
            .await
            .unwrap_err();
        match err {
            kube::Error::Api(status) => {
                assert_eq!(status.code, 409);
                assert_eq!(status.reason, "Conflict");
                assert!(status.message.contains("conflict with \"one\": .spec.http"));
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    });
    assert_eq!(server.requests().last().unwrap().user.as_deref(), Some("carol"));
}
