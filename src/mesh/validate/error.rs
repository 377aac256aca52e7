//! The one error every validator returns: what was checked, the value, and what is allowed.
//!
//! It renders as a single lowercase line, for example
//! `invalid value "1.5ms" for --per-try-timeout: durations must be whole milliseconds (e.g. 1500ms
//! or 2s)`. Validators name the thing they check ("namespace", "perTryTimeout"); the caller says
//! where the value came from with [`ValidationError::for_flag`] or [`ValidationError::at_field`],
//! or with the same methods on a `Result` through [`ResultExt`].

use std::fmt;

/// The most characters of a user's value that an error repeats.
const MAX_ECHO_CHARS: usize = 100;

/// A value a user typed that Istio's or Kubernetes' rules reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {} for {subject}: {allowed}", echo(.value, *.total_chars))]
pub struct ValidationError {
    subject: String,
    value: String,
    total_chars: usize,
    allowed: String,
}

impl ValidationError {
    /// An error about `value`, checked as `subject`, with `allowed` saying what would pass.
    ///
    /// `subject` is what the value is ("namespace", "retryOn"); `allowed` is one lowercase
    /// clause with no trailing period. The value is kept only up to a bounded length.
    pub fn new(subject: impl Into<String>, value: &str, allowed: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            value: value.chars().take(MAX_ECHO_CHARS).collect(),
            total_chars: value.chars().count(),
            allowed: allowed.into(),
        }
    }

    /// Names the command-line flag the value came from, e.g. `--per-try-timeout`.
    #[must_use]
    pub fn for_flag(mut self, flag: &str) -> Self {
        self.subject = flag.to_owned();
        self
    }

    /// Names the field path the value came from, e.g. `spec.http[0].retries.perTryTimeout`.
    #[must_use]
    pub fn at_field(mut self, path: &str) -> Self {
        self.subject = path.to_owned();
        self
    }

    /// What was checked: a flag, a field path, or the validator's own name for the value.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The rejected value, or its first 100 characters when it was longer.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What the rule allows.
    pub fn allowed(&self) -> &str {
        &self.allowed
    }
}

/// Attaching where a value came from to a validator's `Result`.
pub trait ResultExt<T> {
    /// See [`ValidationError::for_flag`].
    fn for_flag(self, flag: &str) -> Result<T, ValidationError>;
    /// See [`ValidationError::at_field`].
    fn at_field(self, path: &str) -> Result<T, ValidationError>;
}

impl<T> ResultExt<T> for Result<T, ValidationError> {
    fn for_flag(self, flag: &str) -> Result<T, ValidationError> {
        self.map_err(|e| e.for_flag(flag))
    }

    fn at_field(self, path: &str) -> Result<T, ValidationError> {
        self.map_err(|e| e.at_field(path))
    }
}

/// Quotes a part of a value for use inside an `allowed` clause, bounded like the value itself.
pub(crate) fn quoted(part: &str) -> String {
    format!("{:?}", bounded_part(part))
}

fn bounded_part(part: &str) -> String {
    if part.chars().count() <= 40 {
        return part.to_owned();
    }
    let kept: String = part.chars().take(40).collect();
    format!("{kept}\u{2026}")
}

/// The value quoted, with control characters escaped so the error stays one line, and its
/// full length noted when it was cut.
struct Echo<'a> {
    kept: &'a str,
    total: usize,
}

fn echo(kept: &str, total: usize) -> Echo<'_> {
    Echo { kept, total }
}

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kept)?;
        if self.total > MAX_ECHO_CHARS {
            write!(f, "\u{2026} ({} characters)", self.total)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_line_with_flag() {
        let err = ValidationError::new("perTryTimeout", "1.5ms", "durations must be whole ms")
            .for_flag("--per-try-timeout");
        assert_eq!(
            err.to_string(),
            "invalid value \"1.5ms\" for --per-try-timeout: durations must be whole ms"
        );
    }

    #[test]
    fn huge_values_are_cut() {
        let huge = "a".repeat(10_000);
        let line = ValidationError::new("host", &huge, "too long").to_string();
        assert!(line.len() < 200, "{line}");
        assert!(line.contains("(10000 characters)"), "{line}");
    }

    #[test]
    fn control_characters_are_escaped() {
        let line = ValidationError::new("host", "a\nb\u{0}", "no").to_string();
        assert!(!line.contains('\n'));
        assert!(line.contains("\\n"));
    }

    #[test]
    fn result_ext_sets_field_path() {
        let r: Result<(), _> = Err(ValidationError::new("host", "x", "y"));
        let err = r.at_field("spec.host").unwrap_err();
        assert_eq!(err.subject(), "spec.host");
    }
}
