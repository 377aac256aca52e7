//! Failures talking to the API server, each turned into a message a user can act on.

use std::{fmt, time::Duration};

use crate::error::ExitStatus;

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No connection could be made.
    Unreachable(String),
    /// The TLS handshake failed, for example a server certificate from an unknown CA.
    Tls(String),
    /// The connection closed before a reply arrived.
    Dropped(String),
    /// No reply within `--request-timeout`.
    Timeout(Duration),
    /// The server answered with an error status.
    Status(ApiStatus),
    /// The reply could not be read.
    Decode(String),
    /// The kubeconfig's credentials could not be obtained (exec plugin, token file).
    Credentials(String),
    /// The server answered, but what the command needs is not there or not ready (an addon
    /// that is not installed, a Service without a ready pod).
    Unavailable(String),
}

/// An error reply from the API server: the fields of its `Status` body that matter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiStatus {
    /// HTTP status code.
    pub code: u16,
    /// The machine-readable reason (`NotFound`, `Conflict`, `Expired`, ...).
    pub reason: String,
    /// The server's message.
    pub message: String,
    /// Seconds the server asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// For server-side apply conflicts: the other managers and their fields.
    pub conflicts: Vec<FieldConflict>,
}

/// One field another field manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The manager that owns the field.
    pub manager: String,
    /// The field path, e.g. `.spec.http`.
    pub field: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unreachable(why) => write!(f, "cannot connect to the API server: {why}"),
            Failure::Tls(why) => write!(f, "TLS handshake with the API server failed: {why}"),
            Failure::Dropped(why) => write!(f, "the connection closed before a reply: {why}"),
            Failure::Timeout(t) => {
                write!(f, "no reply within {} (--request-timeout)", humantime(*t))
            }
            Failure::Status(s) if s.message.is_empty() => {
                write!(f, "the server answered {} {}", s.code, s.reason)
            }
            Failure::Status(s) => write!(f, "{} ({})", s.message, s.code),
            Failure::Decode(why) => write!(f, "the reply could not be read: {why}"),
            Failure::Credentials(why) => write!(f, "cannot get credentials: {why}"),
            Failure::Unavailable(why) => f.write_str(why),
        }
    }
}

/// A request that failed, with what we were doing and what to try.
#[derive(Debug, Clone)]
pub struct ClusterError {
    action: String,
    failure: Box<Failure>,
    hint: Option<String>,
    /// For a write the server refused or a conflict, exit 1; otherwise 3.
    status: ExitStatus,
}

impl ClusterError {
    /// `action` reads as "failed to ..." would: "list VirtualService in namespace shop".
    pub fn new(action: impl Into<String>, failure: Failure) -> Self {
        let status = match &failure {
            Failure::Status(s) if matches!(s.code, 400 | 409 | 422) => ExitStatus::Problems,
            _ => ExitStatus::Cluster,
        };
        Self { action: action.into(), failure: Box::new(failure), hint: None, status }
    }

    /// Sets the hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Overrides the exit code.
    pub fn with_exit_status(mut self, status: ExitStatus) -> Self {
        self.status = status;
        self
    }

    /// The exit code this error gives.
    pub fn exit_status(&self) -> ExitStatus {
        self.status
    }

    /// What to try next.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// What went wrong.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// The HTTP status code, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match self.failure.as_ref() {
            Failure::Status(s) => Some(s.code),
            _ => None,
        }
    }

    /// Whether the server said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// Whether the server refused a write because the object changed or already exists.
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to {}", self.action)
    }
}

impl std::error::Error for ClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.failure.as_ref())
    }
}

impl std::error::Error for Failure {}

/// Formats a duration the way kubectl users write it: `2s`, `1m30s`, `250ms`.
pub fn humantime(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 || !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_kubectl_flags() {
        assert_eq!(humantime(Duration::from_millis(250)), "250ms");
        assert_eq!(humantime(Duration::from_secs(2)), "2s");
        assert_eq!(humantime(Duration::from_secs(90)), "1m30s");
        assert_eq!(humantime(Duration::from_secs(120)), "2m");
        assert_eq!(humantime(Duration::from_secs(3700)), "1h1m40s");
    }

    #[test]
    fn rejected_writes_exit_1_and_the_rest_exit_3() {
        let conflict = Failure::Status(ApiStatus { code: 409, ..Default::default() });
        assert_eq!(ClusterError::new("x", conflict).exit_status(), ExitStatus::Problems);
        let forbidden = Failure::Status(ApiStatus { code: 403, ..Default::default() });
        assert_eq!(ClusterError::new("x", forbidden).exit_status(), ExitStatus::Cluster);
        let down = Failure::Unreachable("refused".into());
        assert_eq!(ClusterError::new("x", down).exit_status(), ExitStatus::Cluster);
    }
}
