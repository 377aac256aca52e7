//! The running forward: every local connection gets its own port-forward to the current pod;
//! when that pod is gone, or a connection to it fails, the next connection goes to another
//! ready pod behind the Service. A failed connection is reported on its own and ends only
//! itself.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::FutureExt;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{Mutex, mpsc},
    task::JoinSet,
};

use super::target::{self, AddonService, Backend};
use crate::{
    cluster::{Cluster, ClusterError, Forward},
    output::Ui,
};

/// How long the reply may still come after the local side stopped sending. The v4 protocol
/// cannot close one direction, so closing the forward any earlier would lose the reply.
const REPLY_GRACE: Duration = Duration::from_secs(5);

/// Something to tell the user while forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Note(String),
    Warn(String),
}

/// What every connection shares: the cluster, the Service, and the pod connections go to.
pub struct Session {
    cluster: Arc<Cluster>,
    service: AddonService,
    state: Mutex<State>,
    events: mpsc::UnboundedSender<Event>,
}

struct State {
    backend: Backend,
    /// A connection to `backend` failed: the next one picks again.
    stale: bool,
}

impl Session {
    pub fn new(
        cluster: Arc<Cluster>,
        service: AddonService,
        backend: Backend,
        events: mpsc::UnboundedSender<Event>,
    ) -> Arc<Self> {
        let state = Mutex::new(State { backend, stale: false });
        Arc::new(Self { cluster, service, state, events })
    }

    fn tell(&self, event: Event) {
        // The receiver lives as long as the listener; after that nothing is left to tell.
        let _ = self.events.send(event);
    }

    /// Where the next connection goes.
    async fn backend(&self) -> Result<Backend, ClusterError> {
        let (backend, stale) = {
            let state = self.state.lock().await;
            (state.backend.clone(), state.stale)
        };
        if stale { self.replace(&backend, "failed a connection").await } else { Ok(backend) }
    }

    /// Moves to another ready pod when `failed` is still the current one; prefers any pod but
    /// `failed`, and keeps it when it is the only ready pod.
    async fn replace(&self, failed: &Backend, why: &str) -> Result<Backend, ClusterError> {
        let mut state = self.state.lock().await;
        if state.backend != *failed {
            return Ok(state.backend.clone());
        }
        let candidates = target::candidates(&self.cluster, &self.service).await?;
        let (pod, port) = target::pick(&candidates, Some(&failed.pod))
            .ok_or_else(|| target::no_ready_pod(&self.service, &candidates, ""))?;
        let next = Backend { namespace: pod.metadata.namespace, pod: pod.metadata.name, port };
        if next != *failed {
            self.tell(Event::Note(format!(
                "pod {} {why}; forwarding to pod {} port {}",
                failed.id(),
                next.id(),
                next.port
            )));
        }
        state.backend = next.clone();
        state.stale = false;
        Ok(next)
    }

    async fn suspect(&self, backend: &Backend) {
        let mut state = self.state.lock().await;
        if state.backend == *backend {
            state.stale = true;
        }
    }

    /// Forwards one local connection; whatever fails is reported and ends only this one.
    async fn connection(self: Arc<Self>, local: TcpStream, peer: SocketAddr) {
        let warn = |message: String| {
            self.tell(Event::Warn(format!("connection from {peer}: {message}")));
        };
        let backend = match self.backend().await {
            Ok(backend) => backend,
            Err(e) => return warn(describe(&e)),
        };
        let (backend, forward) = match self.open(&backend).await {
            Ok(forward) => (backend, forward),
            Err(e) if is_pod_gone(&e) => {
                let next = match self.replace(&backend, "is gone").await {
                    Ok(next) => next,
                    Err(e) => return warn(describe(&e)),
                };
                match self.open(&next).await {
                    Ok(forward) => (next, forward),
                    Err(e) => return warn(describe(&e)),
                }
            }
            Err(e) => return warn(describe(&e)),
        };
        if let Some(message) = relay(local, forward).await {
            self.tell(Event::Warn(format!(
                "connection from {peer} to pod {} port {}: {message}",
                backend.id(),
                backend.port
            )));
            self.suspect(&backend).await;
        }
    }

    async fn open(&self, backend: &Backend) -> Result<Forward, ClusterError> {
        self.cluster.port_forward(&backend.namespace, &backend.pod, backend.port).await
    }
}

/// Whether a failed forward means the pod is gone (404) or not on a node (400), so another
/// pod may do.
pub fn is_pod_gone(e: &ClusterError) -> bool {
    matches!(e.code(), Some(404 | 400))
}

/// A cluster error on one line, with its hint.
fn describe(e: &ClusterError) -> String {
    let mut text = format!("{e}: {}", e.failure());
    if let Some(hint) = e.hint() {
        text.push_str(&format!(" (hint: {hint})"));
    }
    text
}

/// Copies both ways until the pod side ends, or the local side ends and the reply is in;
/// returns what went wrong, if anything did.
async fn relay(local: TcpStream, forward: Forward) -> Option<String> {
    let Forward { stream, mut error, .. } = forward;
    let (mut from_local, mut to_local) = local.into_split();
    let (mut from_pod, mut to_pod) = tokio::io::split(stream);
    let sent = AtomicU64::new(0);
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from_local.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to_pod.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    sent.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        }
    };
    let downstream = async {
        let copied = tokio::io::copy(&mut from_pod, &mut to_local).await;
        let _ = to_local.shutdown().await;
        copied
    };
    tokio::pin!(upstream, downstream);

    let (mut local_done, mut errors_open) = (false, true);
    let mut grace_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            biased;
            message = &mut error, if errors_open => match message {
                Some(message) => return Some(message),
                None => errors_open = false,
            },
            received = &mut downstream => {
                // The server writes a port's error before it closes the forward, so it is in
                // by now, unless kube-rs lost it in the race with our own sending.
                if let Some(message) = errors_open.then(|| error.now_or_never().flatten()).flatten()
                {
                    return Some(message);
                }
                // A local client that went away is no failure of the pod.
                let sent = sent.load(Ordering::Relaxed);
                return matches!(received, Ok(0) if sent > 0).then(|| {
                    format!("the forward closed after {sent} bytes sent and none received")
                });
            }
            _ = &mut upstream, if !local_done => {
                local_done = true;
                grace_until = Some(tokio::time::Instant::now() + REPLY_GRACE);
            }
            _ = tokio::time::sleep_until(grace_until.unwrap_or_else(tokio::time::Instant::now)),
                if grace_until.is_some() => return None,
        }
    }
}

/// Accepts connections until `stop` resolves, then closes the listener and every open
/// connection. Returns how many connections were accepted.
pub async fn serve<S>(
    listener: TcpListener,
    session: Arc<Session>,
    mut events: mpsc::UnboundedReceiver<Event>,
    stop: S,
    ui: &mut Ui,
) -> usize
where
    S: Future,
{
    let show = |ui: &mut Ui, event: Event| match event {
        Event::Note(message) => ui.note(&message),
        Event::Warn(message) => ui.warn(&message),
    };
    tokio::pin!(stop);
    let mut connections = JoinSet::new();
    let mut accepted = 0;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            incoming = listener.accept() => match incoming {
                Ok((stream, peer)) => {
                    accepted += 1;
                    connections.spawn(session.clone().connection(stream, peer));
                }
                Err(e) => {
                    ui.warn(&format!("cannot accept a connection: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(event) = events.recv() => show(ui, event),
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
    while let Ok(event) = events.try_recv() {
        show(ui, event);
    }
    accepted
}
