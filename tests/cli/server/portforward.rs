//! The pod `portforward` subresource: kube-rs's WebSocket port-forward relayed to stand-ins.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Forbid, KubeUser, StandIn, TestServer, V4_CHANNEL};

const PORTFORWARD: &str = "/api/v1/namespaces/istio-system/pods/kiali-0/portforward";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async { tokio::time::timeout(Duration::from_secs(30), f).await.unwrap() })
}

async fn pods(server: &TestServer) -> Api<Pod> {
    let dir = tempfile::tempdir().unwrap();
    let path = server.write_kubeconfig(dir.path(), KubeUser::Token("t0ken".into()));
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    Api::namespaced(Client::try_from(config).unwrap(), "istio-system")
}

fn server_with_pod(builder: crate::support::Builder) -> TestServer {
    let server = builder.https().token("t0ken", "alice").start();
    server.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kiali-0", "namespace": "istio-system"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "kiali", "image": "kiali:2"}]},
        "status": {"phase": "Running"},
    }));
    server
}

/// Sends one HTTP request through a forwarded stream and reads the reply, up to the end of its
/// body: a v4 channel has no end of its own while other ports of the forward are open.
async fn fetch<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    path: &str,
) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&reply).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.trim().parse::<usize>().ok());
            if length.is_some_and(|n| body.len() >= n) {
                return text;
            }
        }
        match stream.read(&mut buf).await.unwrap() {
            0 => return text,
            n => reply.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn kube_rs_forwards_two_ports_of_a_pod_over_v4_channels() {
    let server = server_with_pod(TestServer::builder());
    let (ui, metrics) = (StandIn::start("kiali", "/kiali"), StandIn::start("metrics", "/"));
    server.forward_pod("istio-system", "kiali-0", 20001, ui.addr());
    server.forward_pod("istio-system", "kiali-0", 9090, metrics.addr());

    block_on(async {
        let mut forwarder =
            pods(&server).await.portforward("kiali-0", &[20001, 9090]).await.unwrap();
        let mut first = forwarder.take_stream(20001).unwrap();
        let mut second = forwarder.take_stream(9090).unwrap();
        let reply = fetch(&mut first, "/kiali/console").await;
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
        assert!(reply.ends_with(&ui.page("/kiali/console")), "{reply}");
        let reply = fetch(&mut second, "/metrics").await;
        assert!(reply.ends_with(&metrics.page("/metrics")), "{reply}");
    });

    let request = server.requests().into_iter().find(|r| r.path == PORTFORWARD).unwrap();
    assert_eq!((request.method.as_str(), request.status), ("GET", 101));
    assert_eq!(request.param("ports"), Some("20001,9090"));
    assert_eq!(request.user.as_deref(), Some("alice"));
}

#[test]
fn a_port_nothing_listens_on_is_reported_on_its_error_channel() {
    let server = server_with_pod(TestServer::builder());
    block_on(async {
        let mut forwarder = pods(&server).await.portforward("kiali-0", &[20001]).await.unwrap();
        let error = forwarder.take_error(20001).unwrap().await.expect("an error message");
        assert!(error.contains("error forwarding port 20001 to pod kiali-0"), "{error}");
        assert!(error.contains("connection refused"), "{error}");
        let mut stream = forwarder.take_stream(20001).unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
}

#[test]
fn deleting_the_pod_ends_its_forwards_with_an_error() {
    let server = server_with_pod(TestServer::builder());
    let ui = StandIn::start("kiali", "/");
    server.forward_pod("istio-system", "kiali-0", 20001, ui.addr());
    block_on(async {
        let mut forwarder = pods(&server).await.portforward("kiali-0", &[20001]).await.unwrap();
        let error = forwarder.take_error(20001).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.remove("pods", "istio-system", "kiali-0").expect("the pod existed");
        let message = error.await.expect("an error message");
        assert!(message.contains("lost connection to pod"), "{message}");

        let err = pods(&server).await.portforward("kiali-0", &[20001]).await.err().unwrap();
        assert!(matches!(err, kube::Error::Api(s) if s.code == 404), "a deleted pod is not found");
    });
}

#[test]
fn requests_are_checked_as_the_apiserver_and_kubelet_check_them() {
    let server = TestServer::builder().start();
    server.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pending", "namespace": "istio-system"},
        "spec": {"containers": [{"name": "kiali", "image": "kiali:2"}]},
    }));
    server.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kiali-0", "namespace": "istio-system"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "kiali", "image": "kiali:2"}]},
    }));
    let http = server.http();
    let websocket = http
        .clone()
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");

    let plain = http.get(&format!("{PORTFORWARD}?ports=20001")).unwrap();
    assert_eq!(
        (plain.status, plain.json()["message"].as_str()),
        (400, Some("Upgrade request required"))
    );
    let unscheduled = websocket
        .get("/api/v1/namespaces/istio-system/pods/pending/portforward?ports=20001")
        .unwrap();
    assert_eq!(unscheduled.status, 400);
    assert!(unscheduled.body.contains("does not have a host assigned"), "{}", unscheduled.body);
    let missing = websocket.get(&format!("{PORTFORWARD}x?ports=1")).unwrap();
    assert_eq!(missing.status, 404);
    for query in ["", "?ports=0", "?ports=20001,http"] {
        let bad = websocket.get(&format!("{PORTFORWARD}{query}")).unwrap();
        assert_eq!(bad.status, 400, "{query}: {}", bad.body);
    }
    let spdy = websocket
        .clone()
        .header("Sec-WebSocket-Protocol", "SPDY/3.1+portforward.k8s.io")
        .get(&format!("{PORTFORWARD}?ports=20001"))
        .unwrap();
    assert_eq!(spdy.status, 403, "an unsupported subprotocol fails the handshake");

    // Nothing listens on either port, so the server reports both and closes the WebSocket.
    let accepted = websocket
        .clone()
        .header("Sec-WebSocket-Protocol", &format!("v5.channel.k8s.io, {V4_CHANNEL}"))
        .get(&format!("{PORTFORWARD}?ports=20001&ports=9090"))
        .unwrap();
    assert_eq!(accepted.status, 101);
    assert_eq!(accepted.header("sec-websocket-protocol"), Some(V4_CHANNEL));
    assert_eq!(accepted.header("sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    for port in [20001, 9090] {
        let refused = format!("error forwarding port {port} to pod kiali-0");
        assert!(accepted.body.contains(&refused), "{}", accepted.body);
    }
}

#[test]
fn forwarding_needs_get_and_from_1_35_also_create() {
    let get = server_with_pod(
        TestServer::builder().forbid(Forbid::anyone().verb("get").resource("pods/portforward")),
    );
    let create_1_32 = server_with_pod(
        TestServer::builder().forbid(Forbid::anyone().verb("create").resource("pods/portforward")),
    );
    let create_1_35 = server_with_pod(
        TestServer::builder()
            .version("v1.35.0")
            .forbid(Forbid::anyone().verb("create").resource("pods/portforward")),
    );
    block_on(async {
        for (server, allowed) in [(&get, false), (&create_1_32, true), (&create_1_35, false)] {
            let result = pods(server).await.portforward("kiali-0", &[20001]).await;
            match (result, allowed) {
                (Ok(forwarder), true) => forwarder.abort(),
                (Err(kube::Error::Api(status)), false) => {
                    assert_eq!(status.code, 403);
                    assert!(status.message.contains("pods/portforward"), "{}", status.message);
                }
                (Ok(_), false) => panic!("the forward should have been refused"),
                (Err(e), _) => {
                    panic!("expected {}, got {e}", if allowed { "a forward" } else { "403" })
                }
            }
        }
    });
}
