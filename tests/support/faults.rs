//! Injected faults: status codes, delays and dropped connections, matched per request.

use std::time::Duration;

/// Which request paths a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// Every path.
    Any,
    /// Exactly this path (no query).
    Exact(String),
    /// Paths starting with this.
    Prefix(String),
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Any => true,
            PathMatch::Exact(p) => path == p,
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
        }
    }
}

/// A fault the server injects before normal handling. Build with [`Fault::status`],
/// [`Fault::delay`] or [`Fault::drop_connection`], then narrow it.
///
/// ```ignore
/// server.fault(Fault::status(503).prefix("/apis/networking.istio.io").retry_after(1).times(2));
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    /// HTTP method to match (`GET`, `PATCH`...); `None` matches all.
    pub method: Option<String>,
    pub path: PathMatch,
    /// Status to answer with; `None` only delays (or drops) and then handles normally.
    pub status: Option<u16>,
    /// `Retry-After` header and `details.retryAfterSeconds`.
    pub retry_after: Option<u64>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Close the connection without any response.
    pub drop_connection: bool,
    /// How many matching requests it hits; `None` means every one.
    pub times: Option<u32>,
    /// Body to send instead of the generated `Status`, verbatim.
    pub body: Option<String>,
}

impl Fault {
    fn new() -> Fault {
        Fault {
            method: None,
            path: PathMatch::Any,
            status: None,
            retry_after: None,
            delay: None,
            drop_connection: false,
            times: None,
            body: None,
        }
    }

    /// Answer matching requests with `code` and a `Status` body.
    pub fn status(code: u16) -> Fault {
        Fault { status: Some(code), ..Fault::new() }
    }

    /// Delay matching requests, then handle them normally.
    pub fn delay(delay: Duration) -> Fault {
        Fault { delay: Some(delay), ..Fault::new() }
    }

    /// Close the connection of matching requests without answering.
    pub fn drop_connection() -> Fault {
        Fault { drop_connection: true, ..Fault::new() }
    }

    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    pub fn path(mut self, path: &str) -> Fault {
        self.path = PathMatch::Exact(path.to_string());
        self
    }

    pub fn prefix(mut self, prefix: &str) -> Fault {
        self.path = PathMatch::Prefix(prefix.to_string());
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Fault {
        self.retry_after = Some(secs);
        self
    }

    pub fn with_delay(mut self, delay: Duration) -> Fault {
        self.delay = Some(delay);
        self
    }

    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }

    pub fn body(mut self, body: &str) -> Fault {
        self.body = Some(body.to_string());
        self
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method) && self.path.matches(path)
    }
}

/// How long continue tokens stay expired after [`expire_continue_tokens`].
///
/// [`expire_continue_tokens`]: super::TestServer::expire_continue_tokens
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The next request with a continue token gets 410; later ones work.
    Once,
    /// Every request with a continue token gets 410.
    Always,
}

/// Picks the first fault matching a request and counts the hit.
pub(crate) fn take(faults: &mut Vec<(Fault, u32)>, method: &str, path: &str) -> Option<Fault> {
    let index = faults
        .iter()
        .position(|(f, used)| f.matches(method, path) && f.times.is_none_or(|n| *used < n))?;
    let (fault, used) = &mut faults[index];
    *used += 1;
    let hit = fault.clone();
    if hit.times.is_some_and(|n| *used >= n) {
        faults.remove(index);
    }
    Some(hit)
}
