//! The errors that decide the exit code, and the exit codes themselves.
//!
//! The exit code comes from the type of the first error in a chain that is one of ours, never
//! from the text of a message: 1 the command ran and found problems or a write failed, 2 the
//! input was wrong (nothing was written), 3 the cluster could not be reached or used, 4 the
//! answer is decided only at run time (`can` and an external authorizer).

use std::fmt;

/// The process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything went as asked.
    Success = 0,
    /// The command ran and found problems, or a write failed.
    Problems = 1,
    /// The command line or an input file was wrong; nothing was written.
    Usage = 2,
    /// The cluster could not be reached or used.
    Cluster = 3,
}

impl ExitStatus {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Bad input: a flag, an argument or a file the user gave. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    message: String,
    hint: Option<String>,
}

impl UsageError {
    /// An error whose message names what was wrong and what is allowed.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None }
    }

    /// Adds the exact thing to try instead.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// What to try instead, when there is a concrete suggestion.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// The command ran, but what it found or failed to do is the answer. Exit code 1.
///
/// A `Problems` error with no message means the result was already printed (for example,
/// `check` found errors) and only the exit code remains to be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    message: Option<String>,
    hint: Option<String>,
}

impl Problems {
    /// A failure with a message, such as a write the server rejected.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: Some(message.into()), hint: None }
    }

    /// The result was printed already; exit 1 without another message.
    pub fn reported() -> Self {
        Self { message: None, hint: None }
    }

    /// Adds the exact thing to try next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// What to try next.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Whether there is anything left to print.
    pub fn is_reported(&self) -> bool {
        self.message.is_none()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or("the command found problems"))
    }
}

impl std::error::Error for Problems {}

/// Decides the exit code of an error chain from the types in it.
pub fn exit_status(err: &anyhow::Error) -> ExitStatus {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<crate::mesh::validate::ValidationError>() {
            return ExitStatus::Usage;
        }
        if let Some(e) = cause.downcast_ref::<crate::cluster::ClusterError>() {
            return e.exit_status();
        }
        if cause.is::<Problems>() {
            return ExitStatus::Problems;
        }
    }
    ExitStatus::Problems
}

/// The first hint anywhere in the chain.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<UsageError>() {
            e.hint().map(str::to_string)
        } else if let Some(e) = cause.downcast_ref::<crate::cluster::ClusterError>() {
            e.hint().map(str::to_string)
        } else if let Some(e) = cause.downcast_ref::<Problems>() {
            e.hint().map(str::to_string)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_typed_error_in_the_chain_decides() {
        let usage = anyhow::Error::new(UsageError::new("bad flag")).context("while planning");
        assert_eq!(exit_status(&usage), ExitStatus::Usage);

        let problems = anyhow::Error::new(Problems::reported());
        assert_eq!(exit_status(&problems), ExitStatus::Problems);

        let other = anyhow::anyhow!("disk full");
        assert_eq!(exit_status(&other), ExitStatus::Problems);
    }

    #[test]
    fn hints_are_found_below_context() {
        let err = anyhow::Error::new(UsageError::new("x").with_hint("try y")).context("outer");
        assert_eq!(hint(&err).as_deref(), Some("try y"));
    }
}
