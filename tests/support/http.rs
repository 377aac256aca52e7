//! The network side: a tokio runtime on its own thread serving HTTP/1.1 (or HTTPS) on
//! 127.0.0.1, with faults applied and every request logged.

use std::convert::Infallible;
use std::fmt;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use super::dispatch::{Outcome, Shared};
use super::faults;
use super::portforward::{self, UpgradeRequest};
use super::router::{Reply, Req};
use super::status::ApiError;
use super::store::LoggedRequest;
use super::tls::common_name;
use super::util::parse_query;
use super::watch;

/// A server thread; dropping it stops the server and waits for the thread.
pub struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds 127.0.0.1 on an ephemeral port.
pub fn bind() -> (StdListener, SocketAddr) {
    let listener = StdListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 works");
    listener.set_nonblocking(true).expect("a fresh socket can be made non-blocking");
    let addr = listener.local_addr().expect("a bound socket has an address");
    (listener, addr)
}

/// Starts serving `listener` on a background runtime.
pub fn spawn(
    listener: StdListener,
    shared: Arc<Shared>,
    tls: Option<Arc<ServerConfig>>,
) -> Running {
    let (tx, rx) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("test-apiserver".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime starts");
            runtime.block_on(accept_loop(listener, shared, tls, rx));
        })
        .expect("a thread starts");
    Running { shutdown: Some(tx), thread: Some(thread) }
}

async fn accept_loop(
    listener: StdListener,
    shared: Arc<Shared>,
    tls: Option<Arc<ServerConfig>>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let acceptor = tls.map(TlsAcceptor::from);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => serve(stream, shared, None).await,
                Some(acceptor) => {
                    // A failed handshake (an untrusted certificate, say) just ends here.
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let cert_user = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .and_then(|der| common_name(der));
                    serve(tls, shared, cert_user).await;
                }
            }
        });
    }
}

async fn serve<I>(io: I, shared: Arc<Shared>, cert_user: Option<String>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(shared.clone(), req, cert_user.clone()));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await;
}

/// Returned to hyper to close a connection without answering.
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
    cert_user: Option<String>,
) -> Result<Response<Body>, Dropped> {
    let upgrade = UpgradeRequest::read(req.headers());
    let on_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let req = Req {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parse_query(parts.uri.query().unwrap_or("")),
        accept: header(&parts.headers, "accept"),
        content_type: header(&parts.headers, "content-type"),
        user_agent: header(&parts.headers, "user-agent"),
        authorization: parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        upgrade,
        body: body.to_vec(),
    };

    // Faults come first; one that only delays lets the request through afterwards.
    let fault = faults::take(&mut shared.lock().faults, &req.method, &req.path);
    let mut faulted = false;
    if let Some(fault) = fault {
        faulted = true;
        if let Some(delay) = fault.delay {
            tokio::time::sleep(delay).await;
        }
        if fault.drop_connection {
            log(&shared, &req, 0, None, false, true);
            return Err(Dropped);
        }
        if let Some(code) = fault.status {
            let e = ApiError::from_code(code, None, fault.retry_after);
            let mut reply = Reply::error(&e);
            if let Some(body) = fault.body {
                reply.body = body.into_bytes();
            }
            log(&shared, &req, code, None, false, true);
            return Ok(respond(&shared, reply));
        }
    }

    // A panic in a handler is a bug in this server; answer 500 rather than drop the request.
    let dispatched = catch_unwind(AssertUnwindSafe(|| shared.dispatch(&req, cert_user.as_deref())));
    let outcome = dispatched.unwrap_or_else(|_| Outcome {
        reply: Reply::error(&ApiError::from_code(
            500,
            Some("the test server panicked".into()),
            None,
        )),
        user: None,
        reached_handler: false,
    });
    log(&shared, &req, outcome.reply.status, outcome.user, outcome.reached_handler, faulted);
    let mut reply = outcome.reply;
    if req.method == "HEAD" {
        reply.body.clear();
    }
    // A port-forward runs on the connection once hyper has sent the 101 and handed it over.
    if let (Some(tunnel), Some(on_upgrade)) = (reply.tunnel.take(), on_upgrade) {
        tokio::spawn(portforward::serve(shared.clone(), *tunnel, on_upgrade));
    }
    if req.is_write() {
        shared.changed.notify_waiters();
    }
    Ok(respond(&shared, reply))
}

fn log(shared: &Shared, req: &Req, status: u16, user: Option<String>, reached: bool, fault: bool) {
    let entry = LoggedRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        accept: req.accept.clone(),
        content_type: req.content_type.clone(),
        user_agent: req.user_agent.clone(),
        body: String::from_utf8_lossy(&req.body).into_owned(),
        status,
        write: req.is_write(),
        reached_handler: reached,
        dry_run: req.dry_run(),
        user,
        fault,
    };
    shared.lock().log.push(entry);
}

/// Response bodies: whole, or a watch stream.
type Body = UnsyncBoxBody<Bytes, Infallible>;

fn respond(shared: &Arc<Shared>, mut reply: Reply) -> Response<Body> {
    let body = match reply.watch.take() {
        Some(spec) => {
            let (tx, rx) = mpsc::channel::<Bytes>(64);
            tokio::spawn(watch::run(shared.clone(), *spec, tx));
            let frames = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
            });
            StreamBody::new(frames).boxed_unsync()
        }
        None => Full::new(Bytes::from(reply.body)).boxed_unsync(),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if !reply.content_type.is_empty()
        && let Ok(v) = HeaderValue::from_str(&reply.content_type)
    {
        headers.insert("content-type", v);
    }
    headers.insert("cache-control", HeaderValue::from_static("no-cache, private"));
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) =
            (hyper::header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
        {
            headers.insert(n, v);
        }
    }
    response
}
