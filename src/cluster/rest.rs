//! One request to the API server: send, time out, retry what is safe to retry, and turn every
//! failure into a [`Failure`].
//!
//! Reads are retried on 429, 500, 502, 503 and 504 and on dropped connections, with bounded
//! backoff that honours `Retry-After`. Writes are retried only when the server cannot have acted
//! on them: a 429, or a connection that was never made.

use std::time::Duration;

use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use kube::client::Body;

use super::error::{ApiStatus, Failure, FieldConflict};

/// Accept header for a metadata-only list.
pub const ACCEPT_METADATA_LIST: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
/// Accept header for JSON.
pub const ACCEPT_JSON: &str = "application/json";

/// How many times a request is sent at most.
const MAX_ATTEMPTS: u32 = 4;
/// The longest `Retry-After` we wait for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A request before it is sent.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// Path and query, e.g. `/api/v1/namespaces?limit=500`.
    pub uri: String,
    pub accept: &'static str,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
}

impl Call {
    /// A GET of `uri`.
    pub fn get(uri: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            uri: uri.into(),
            accept: ACCEPT_JSON,
            content_type: None,
            body: Vec::new(),
        }
    }

    /// A request with a JSON (or apply-patch) body.
    pub fn with_body(
        method: Method,
        uri: impl Into<String>,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Self {
        Self {
            method,
            uri: uri.into(),
            accept: ACCEPT_JSON,
            content_type: Some(content_type),
            body,
        }
    }

    fn is_read(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

/// Sends `call`, retrying what is safe, and returns the body of a successful reply.
pub async fn send(
    client: &kube::Client,
    call: &Call,
    timeout: Option<Duration>,
) -> Result<Vec<u8>, Failure> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = send_once(client, call, timeout).await;
        let Err(failure) = result else { return result };
        let Some(wait) = retry_wait(call, &failure, attempt) else { return Err(failure) };
        tracing::debug!(uri = %call.uri, attempt, ?wait, "retrying after: {failure}");
        tokio::time::sleep(wait).await;
    }
}

/// How long to wait before the next attempt, or `None` when the failure is final.
fn retry_wait(call: &Call, failure: &Failure, attempt: u32) -> Option<Duration> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let backoff = Duration::from_millis(200 * 2u64.pow(attempt - 1));
    match failure {
        Failure::Status(s) if s.code == 429 => {
            Some(s.retry_after.map_or(backoff, |r| r.min(MAX_RETRY_AFTER)))
        }
        Failure::Status(s) if call.is_read() && matches!(s.code, 500 | 502 | 503 | 504) => {
            Some(s.retry_after.map_or(backoff, |r| r.min(MAX_RETRY_AFTER)))
        }
        Failure::Dropped(_) if call.is_read() => Some(backoff),
        Failure::Unreachable(_) if attempt < 2 => Some(backoff),
        _ => None,
    }
}

async fn send_once(
    client: &kube::Client,
    call: &Call,
    timeout: Option<Duration>,
) -> Result<Vec<u8>, Failure> {
    let mut builder = Request::builder()
        .method(call.method.clone())
        .uri(&call.uri)
        .header(header::ACCEPT, call.accept)
        .header(header::USER_AGENT, user_agent());
    if let Some(ct) = call.content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    let request = builder
        .body(Body::from(call.body.clone()))
        .map_err(|e| Failure::Decode(format!("cannot build the request: {e}")))?;

    let exchange = async {
        let response = client.send(request).await.map_err(classify)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Failure::Dropped(root_cause(&e)))?
            .to_bytes()
            .to_vec();
        Ok::<_, Failure>((status, retry_after, body))
    };
    let (status, retry_after, body) = match timeout {
        Some(t) => tokio::time::timeout(t, exchange).await.map_err(|_| Failure::Timeout(t))??,
        None => exchange.await?,
    };

    if status.is_success() {
        return Ok(body);
    }
    Err(Failure::Status(parse_status(status, retry_after, &body)))
}

fn user_agent() -> &'static str {
    concat!("kubectl-debatemesh/", env!("CARGO_PKG_VERSION"))
}

/// Reads the `Status` body of an error reply; tolerates bodies that are not a Status.
pub fn parse_status(code: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> ApiStatus {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let retry_after = retry_after.or_else(|| {
        value
            .pointer("/details/retryAfterSeconds")
            .and_then(|v| v.as_u64())
            .map(Duration::from_secs)
    });
    let conflicts = value
        .pointer("/details/causes")
        .and_then(|c| c.as_array())
        .map(|causes| {
            causes
                .iter()
                .filter(|c| {
                    c.get("reason").and_then(|r| r.as_str()) == Some("FieldManagerConflict")
                })
                .map(|c| FieldConflict {
                    manager: conflict_manager(c.get("message").and_then(|m| m.as_str())),
                    field: c.get("field").and_then(|f| f.as_str()).unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut message = text("message");
    if message.is_empty() && !body.is_empty() && value.is_null() {
        message = String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string();
    }
    ApiStatus { code: code.as_u16(), reason: text("reason"), message, retry_after, conflicts }
}

/// `conflict with "helm" using networking.istio.io/v1` gives `helm`.
fn conflict_manager(message: Option<&str>) -> String {
    let message = message.unwrap_or_default();
    message.split('"').nth(1).map(str::to_string).unwrap_or_else(|| message.to_string())
}

/// A credential failure in a user's words: which plugin failed and the first line it printed,
/// not the command's environment and a dump of its output.
pub(super) fn describe_auth(err: &kube::client::AuthError) -> String {
    use kube::client::AuthError as E;
    let plugin = super::config::exec_plugin().unwrap_or("the credential plugin");
    match err {
        E::AuthExecRun { out, .. } => {
            let said = String::from_utf8_lossy(&out.stderr);
            let first = said.lines().map(str::trim).find(|l| !l.is_empty());
            let status = match out.status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed".to_string(),
            };
            match first {
                Some(line) => format!("{plugin} {status}: {}", truncate(line, 300)),
                None => format!("{plugin} {status} and printed nothing on stderr"),
            }
        }
        E::AuthExecStart(io) => format!("{plugin} could not be started: {io}"),
        E::AuthExecParse(e) => format!("{plugin} printed no ExecCredential: {e}"),
        other => other.to_string(),
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// Sorts a transport error into the failure a user can act on, from the error types inside it.
pub(super) fn classify(err: kube::Error) -> Failure {
    if let kube::Error::Auth(e) = &err {
        return Failure::Credentials(describe_auth(e));
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Failure::Tls(tls.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            // io::Error's source() skips the error it wraps, so walk get_ref() by hand.
            let mut inner = io.get_ref();
            while let Some(wrapped) = inner {
                if let Some(tls) = wrapped.downcast_ref::<rustls::Error>() {
                    return Failure::Tls(tls.to_string());
                }
                inner = wrapped.downcast_ref::<std::io::Error>().and_then(|i| i.get_ref());
            }
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused | AddrNotAvailable | HostUnreachable | NetworkUnreachable
                | NotFound => return Failure::Unreachable(io.to_string()),
                TimedOut => return Failure::Unreachable(format!("connection timed out: {io}")),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return Failure::Dropped(io.to_string());
                }
                _ => {}
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
        {
            return Failure::Dropped(root_cause(&err));
        }
        source = e.source();
    }
    let text = root_cause(&err);
    if text.contains("dns error") || text.contains("failed to lookup address") {
        return Failure::Unreachable(text);
    }
    if text.contains("connection closed") {
        return Failure::Dropped(text);
    }
    Failure::Unreachable(text)
}

/// The innermost message of an error chain, which names the real problem.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_are_read_with_their_conflicts() {
        let body = br#"{"kind":"Status","status":"Failure","reason":"Conflict","code":409,
            "message":"Apply failed with 1 conflict: conflict with \"helm\" using networking.istio.io/v1: .spec.http",
            "details":{"causes":[{"reason":"FieldManagerConflict",
            "message":"conflict with \"helm\" using networking.istio.io/v1","field":".spec.http"}]}}"#;
        let s = parse_status(StatusCode::CONFLICT, None, body);
        assert_eq!(s.code, 409);
        assert_eq!(s.reason, "Conflict");
        assert_eq!(
            s.conflicts,
            vec![FieldConflict { manager: "helm".into(), field: ".spec.http".into() }]
        );
    }

    #[test]
    fn a_body_that_is_not_a_status_still_gives_a_message() {
        let s = parse_status(StatusCode::BAD_GATEWAY, None, b"upstream unavailable\n");
        assert_eq!(s.message, "upstream unavailable");
        assert_eq!(s.code, 502);
    }

    #[test]
    fn reads_are_retried_and_writes_are_not() {
        let read = Call::get("/api/v1/pods");
        let write = Call::with_body(Method::PUT, "/x", "application/json", vec![]);
        let unavailable = Failure::Status(ApiStatus { code: 503, ..Default::default() });
        assert!(retry_wait(&read, &unavailable, 1).is_some());
        assert!(retry_wait(&write, &unavailable, 1).is_none());
        assert!(retry_wait(&read, &unavailable, MAX_ATTEMPTS).is_none());

        let throttled = Failure::Status(ApiStatus {
            code: 429,
            retry_after: Some(Duration::from_secs(60)),
            ..Default::default()
        });
        assert_eq!(retry_wait(&write, &throttled, 1), Some(MAX_RETRY_AFTER));
        let dropped = Failure::Dropped("eof".into());
        assert!(retry_wait(&write, &dropped, 1).is_none());
        assert!(retry_wait(&read, &dropped, 1).is_some());
    }
}
