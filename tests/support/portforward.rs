//! The pod `portforward` subresource over WebSocket, as the apiserver and the kubelet serve it
//! together, relaying each forwarded port to a 127.0.0.1 address the test registered.
//!
//! The protocol is the kubelet's `v4.channel.k8s.io` (and the unversioned binary channel
//! protocol when the client offers none), which kube-rs speaks:
//! - `GET` (or `POST`) `/api/v1/namespaces/NS/pods/NAME/portforward?ports=P1,P2` with a
//!   WebSocket upgrade. `ports` may repeat and each value may list ports split by commas, as
//!   the apiserver's query conversion reads it; every port is 1 to 65535 and one is required.
//! - Port `i` of the list gets two channels: `2i` carries data both ways, `2i+1` carries at
//!   most one error message from the server. Every binary message starts with its channel
//!   byte. The server first writes each port's number, two bytes little-endian, on both of
//!   its channels.
//! - The server connects the port when the WebSocket opens. A refused connection, or a pod
//!   that goes away while forwarding, is written on the error channel as text; when every
//!   port has ended the server closes the WebSocket.
//!
//! Not served: the base64 variant (`v4.base64.channel.k8s.io`), SPDY (`Upgrade: SPDY/3.1`)
//! and SPDY tunnelled over WebSocket (`SPDY/3.1+portforward.k8s.io`, what kubectl 1.31+ tries
//! first). Pods are not checked for a running sandbox: a pod with `spec.nodeName` forwards
//! whatever its phase.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hyper::header::HeaderMap;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::TestServer;
use super::discovery::ServerVersion;
use super::dispatch::Shared;
use super::router::{Reply, Req, Target};
use super::status::ApiError;
use super::store::meta_str;

/// The subprotocol kube-rs and the kubelet agree on for port-forwarding.
pub const V4_CHANNEL: &str = "v4.channel.k8s.io";

/// How long the server tries to connect a forwarded port.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a port keeps relaying from the pod after the client stopped sending, as the
/// container runtime waits before it closes the stream.
const DRAIN: Duration = Duration::from_secs(1);

/// The headers of a request that asks to switch protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// `Upgrade`, e.g. `websocket` or `SPDY/3.1`.
    pub upgrade: String,
    /// Whether `Connection` lists `upgrade`.
    pub connection_upgrade: bool,
    pub key: Option<String>,
    pub version: Option<String>,
    /// Every `Sec-WebSocket-Protocol` offered, in the client's order of preference.
    pub protocols: Vec<String>,
}

impl UpgradeRequest {
    /// The upgrade headers, when there is an `Upgrade` header.
    pub fn read(headers: &HeaderMap) -> Option<UpgradeRequest> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let upgrade = text("upgrade")?.to_string();
        let connection_upgrade = headers
            .get_all("connection")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
        let protocols = headers
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        Some(UpgradeRequest {
            upgrade,
            connection_upgrade,
            key: text("sec-websocket-key").map(str::to_string),
            version: text("sec-websocket-version").map(str::to_string),
            protocols,
        })
    }

    fn is_websocket(&self) -> bool {
        self.connection_upgrade && self.upgrade.eq_ignore_ascii_case("websocket")
    }
}

/// An accepted port-forward: which pod, and its ports in channel order.
#[derive(Debug, Clone)]
pub struct Tunnel {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub ports: Vec<u16>,
}

/// Whether a request is for a pod's `portforward` subresource.
pub fn is_port_forward(target: &Target<'_>) -> bool {
    target.kind.group.is_empty()
        && target.kind.plural == "pods"
        && target.subresource.as_deref() == Some("portforward")
}

/// Whether a request also needs `create`: WebSocket upgrades are GETs, which authorize as
/// `get`; from Kubernetes 1.35 the apiserver checks `create` on them too
/// (`AuthorizePodWebsocketUpgradeCreatePermission`, on by default).
pub fn needs_create_too(version: &ServerVersion, req: &Req) -> bool {
    let number = |s: &str| s.trim_end_matches(|c: char| !c.is_ascii_digit()).parse::<u32>().ok();
    let at_least_1_35 = match (number(&version.major), number(&version.minor)) {
        (Some(major), Some(minor)) => (major, minor) >= (1, 35),
        _ => false,
    };
    req.method == "GET" && at_least_1_35
}

/// Answers a port-forward request: checked as the apiserver and then the kubelet check it,
/// then `101 Switching Protocols` with a [`Tunnel`] for the relay.
pub fn connect(shared: &Shared, req: &Req, target: &Target<'_>) -> Reply {
    accept(shared, req, target).unwrap_or_else(|refused| refused)
}

fn accept(shared: &Shared, req: &Req, target: &Target<'_>) -> Result<Reply, Reply> {
    let error = |e: ApiError| Reply::error(&e);
    if !matches!(req.method.as_str(), "GET" | "POST") {
        return Err(error(ApiError::method_not_allowed()));
    }
    let ports = query_ports(req).map_err(|m| error(ApiError::bad_request(m)))?;

    // The apiserver finds the pod and the node it runs on.
    let namespace = target.namespace.clone().unwrap_or_default();
    let name = target.name.clone().unwrap_or_default();
    let pod = shared.lock().store.get(target.kind, &namespace, &name);
    let Some(pod) = pod else {
        return Err(error(ApiError::not_found(target.kind, &name)));
    };
    if pod.pointer("/spec/nodeName").and_then(Value::as_str).is_none_or(str::is_empty) {
        let message = format!("pod {name} does not have a host assigned");
        return Err(error(ApiError::bad_request(message)));
    }
    let upgrade = match &req.upgrade {
        Some(u) if u.is_websocket() => u,
        Some(_) => {
            let message = "the test server forwards ports over WebSocket (v4.channel.k8s.io) only";
            return Err(Reply::text(400, message));
        }
        None => return Err(error(ApiError::bad_request("Upgrade request required"))),
    };

    // The kubelet reads the ports, then completes the WebSocket handshake.
    if ports.is_empty() {
        return Err(Reply::text(400, "query parameter \"port\" is required\n"));
    }
    if upgrade.version.as_deref() != Some("13") {
        let mut reply = Reply::text(400, "missing or bad WebSocket Version");
        reply.headers.push(("Sec-WebSocket-Version".into(), "13".into()));
        return Err(reply);
    }
    let Some(key) = upgrade.key.as_deref().filter(|k| !k.is_empty()) else {
        return Err(Reply::text(400, "missing Sec-WebSocket-Key"));
    };
    let protocol = negotiate(&upgrade.protocols).ok_or_else(|| Reply::text(403, ""))?;

    let mut reply = Reply::text(101, "");
    reply.content_type = String::new();
    reply.headers = vec![
        ("Upgrade".into(), "websocket".into()),
        ("Connection".into(), "Upgrade".into()),
        ("Sec-WebSocket-Accept".into(), derive_accept_key(key.as_bytes())),
    ];
    if !protocol.is_empty() {
        reply.headers.push(("Sec-WebSocket-Protocol".into(), protocol.to_string()));
    }
    reply.tunnel = Some(Box::new(Tunnel {
        namespace,
        pod: name,
        uid: meta_str(&pod, "uid").to_string(),
        ports,
    }));
    Ok(reply)
}

/// The `ports` query values, each possibly a comma-separated list.
fn query_ports(req: &Req) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for (_, value) in req.query.iter().filter(|(k, _)| k == "ports") {
        for part in value.split(',') {
            let port = part
                .parse::<u16>()
                .map_err(|e| format!("cannot convert to []int32: parsing {part:?}: {e}"))?;
            if port == 0 {
                return Err(format!("port {value:?} must be > 0"));
            }
            ports.push(port);
        }
    }
    Ok(ports)
}

/// The first offered subprotocol the kubelet serves; no offer means the unversioned one ("").
fn negotiate(offered: &[String]) -> Option<&'static str> {
    if offered.is_empty() {
        return Some("");
    }
    offered.iter().find(|p| p.as_str() == V4_CHANNEL).map(|_| V4_CHANNEL)
}

/// One binary message on `channel`.
fn frame(channel: u8, payload: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(payload.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(payload);
    Message::binary(bytes)
}

/// Relays a tunnel once hyper hands over the upgraded connection; ends when every port has
/// ended or the client closes the WebSocket.
pub async fn serve(shared: Arc<Shared>, tunnel: Tunnel, upgrade: OnUpgrade) {
    let Ok(upgraded) = upgrade.await else { return };
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
    let (mut sink, mut source) = ws.split();

    // Both channels of every port open with the port number.
    for (index, port) in tunnel.ports.iter().enumerate() {
        for channel in [2 * index, 2 * index + 1] {
            if sink.send(frame(channel as u8, &port.to_le_bytes())).await.is_err() {
                return;
            }
        }
    }

    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let (gone_tx, gone_rx) = watch::channel(false);
    let watcher = tokio::spawn(watch_pod(shared.clone(), tunnel.clone(), gone_tx));
    let mut inboxes = Vec::new();
    for (index, port) in tunnel.ports.iter().enumerate() {
        let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
        inboxes.push(tx);
        let port = Port { shared: shared.clone(), tunnel: tunnel.clone(), index, port: *port };
        tokio::spawn(port.run(rx, out_tx.clone(), gone_rx.clone()));
    }
    drop(out_tx);
    let mut writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            if sink.send(message).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(None)).await;
        let _ = sink.close().await;
    });

    // Data from the client goes to its port; the error channels are the server's to write.
    let mut written = false;
    loop {
        tokio::select! {
            _ = &mut writer => {
                written = true;
                break;
            }
            message = source.next() => match message {
                Some(Ok(Message::Binary(bytes))) if bytes.len() > 1 => {
                    let channel = usize::from(bytes[0]);
                    if channel % 2 == 0
                        && let Some(inbox) = inboxes.get(channel / 2)
                    {
                        let _ = inbox.send(bytes[1..].to_vec()).await;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    drop(inboxes);
    if !written {
        let _ = tokio::time::timeout(DRAIN * 2, writer).await;
    }
    watcher.abort();
}

/// Flags the tunnel when its pod is deleted (or replaced by one of the same name).
async fn watch_pod(shared: Arc<Shared>, tunnel: Tunnel, gone: watch::Sender<bool>) {
    loop {
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let alive = {
            let state = shared.lock();
            let kind = shared.catalog.resolve("pods").expect("the catalog serves pods");
            state
                .store
                .get(kind, &tunnel.namespace, &tunnel.pod)
                .is_some_and(|pod| meta_str(&pod, "uid") == tunnel.uid)
        };
        if !alive {
            let _ = gone.send(true);
            return;
        }
        notified.await;
    }
}

/// One forwarded port of a tunnel.
struct Port {
    shared: Arc<Shared>,
    tunnel: Tunnel,
    index: usize,
    port: u16,
}

impl Port {
    fn error_message(&self, cause: &str) -> String {
        format!(
            "error forwarding port {} to pod {}, uid {}: {cause}",
            self.port, self.tunnel.pod, self.tunnel.uid
        )
    }

    /// Connects the registered target and relays until it closes, the client stops sending
    /// (after a short drain), or the pod goes away.
    async fn run(
        self,
        mut inbox: mpsc::Receiver<Vec<u8>>,
        out: mpsc::Sender<Message>,
        mut gone: watch::Receiver<bool>,
    ) {
        let data = (2 * self.index) as u8;
        let error = data + 1;
        let key = (self.tunnel.namespace.clone(), self.tunnel.pod.clone(), self.port);
        let target = self.shared.lock().forwards.get(&key).copied();
        let connected = match target {
            Some(addr) => {
                match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => Ok(stream),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("connection timed out".to_string()),
                }
            }
            None => Err("connection refused".to_string()),
        };
        let stream = match connected {
            Ok(stream) => stream,
            Err(why) => {
                let cause =
                    format!("failed to connect to localhost:{} inside the pod: {why}", self.port);
                let _ = out.send(frame(error, self.error_message(&cause).as_bytes())).await;
                return;
            }
        };

        let (mut from_pod, mut to_pod) = stream.into_split();
        let mut buf = vec![0u8; 32 * 1024];
        let mut sending = true;
        let mut watching = true;
        let mut drain_until: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                read = from_pod.read(&mut buf) => match read {
                    Ok(0) => return,
                    Ok(n) => {
                        if out.send(frame(data, &buf[..n])).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let message = self.error_message(&e.to_string());
                        let _ = out.send(frame(error, message.as_bytes())).await;
                        return;
                    }
                },
                received = inbox.recv(), if sending => match received {
                    Some(bytes) => {
                        if to_pod.write_all(&bytes).await.is_err() {
                            sending = false;
                        }
                    }
                    None => {
                        sending = false;
                        let _ = to_pod.shutdown().await;
                        drain_until = Some(tokio::time::Instant::now() + DRAIN);
                    }
                },
                _ = tokio::time::sleep_until(drain_until.unwrap_or_else(tokio::time::Instant::now)),
                    if drain_until.is_some() => return,
                changed = gone.changed(), if watching => match changed {
                    Ok(()) if *gone.borrow() => {
                        let message = self.error_message("lost connection to pod");
                        let _ = out.send(frame(error, message.as_bytes())).await;
                        return;
                    }
                    Ok(()) => {}
                    Err(_) => watching = false,
                },
            }
        }
    }
}

impl TestServer {
    /// Makes port-forwards to `port` of pod `namespace/pod` connect to `target`, as the
    /// kubelet would reach the container's port. Ports without a target are refused, as a
    /// port nothing listens on in the pod.
    ///
    /// # Panics
    ///
    /// When `target` is not on 127.0.0.1: tests forward only to what they start themselves.
    pub fn forward_pod(&self, namespace: &str, pod: &str, port: u16, target: SocketAddr) {
        assert!(
            target.ip() == std::net::Ipv4Addr::LOCALHOST,
            "port-forward targets must be on 127.0.0.1, not {target}"
        );
        let key = (namespace.to_string(), pod.to_string(), port);
        self.shared.lock().forwards.insert(key, target);
    }

    /// Deletes an object at once, as a finished graceful deletion would, and wakes watches
    /// and port-forwards to it. Not logged.
    pub fn remove(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let kind = self.kind(resource);
        let gone = self.shared.lock().store.remove(kind, namespace, name);
        self.shared.changed.notify_waiters();
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_served_protocol_wins() {
        assert_eq!(negotiate(&offered(&["v5.channel.k8s.io", V4_CHANNEL])), Some(V4_CHANNEL));
        assert_eq!(negotiate(&[]), Some(""));
        assert_eq!(negotiate(&offered(&["SPDY/3.1+portforward.k8s.io"])), None);
    }
}
