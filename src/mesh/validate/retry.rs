//! VirtualService retry policies as Istio's `validateHTTPRetry` judges them.
//!
//! - `attempts` is an `int32` and must not be negative; 0 turns retries off, and then
//!   `perTryTimeout`, `retryOn` and `retryRemoteLocalities` must not be set (an unset
//!   `attempts` is 0, so they need an explicit one).
//! - `retryOn` is a comma-separated list, split on ',' with no trimming. Each entry is one of
//!   the `x-envoy-retry-on` or `x-envoy-retry-grpc-on` policies Istio lists, or an HTTP status
//!   code: Istio reads the entry with Go's `strconv.Atoi` and accepts it when Go's
//!   `http.StatusText` knows the code (the registered codes from 100 to 511, not a whole range).
//! - `perTryTimeout` is a duration, checked in [`super::duration`].

use std::fmt;

use super::error::{ValidationError, quoted};
use super::numbers::{NumberError, parse_decimal};

/// The `retryOn` policies Istio accepts, from Envoy's `x-envoy-retry-on` and
/// `x-envoy-retry-grpc-on` lists.
pub const RETRY_ON_POLICIES: [&str; 16] = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// The HTTP status codes Go's `http.StatusText` names, and so the codes `retryOn` accepts.
pub const KNOWN_STATUS_CODES: [u16; 62] = [
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
    305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
    416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 510, 511,
];

/// Parses `attempts`: a whole number from 0 to 2147483647 (0 turns retries off).
pub fn parse_attempts(s: &str) -> Result<u32, ValidationError> {
    match parse_decimal(s, i32::MAX as u64) {
        Ok(n) => Ok(n as u32),
        Err(NumberError::Negative) => {
            Err(ValidationError::new("attempts", s, "attempts cannot be negative"))
        }
        Err(_) => Err(ValidationError::new(
            "attempts",
            s,
            "attempts is a whole number from 0 to 2147483647 (0 turns retries off)",
        )),
    }
}

/// One entry of `retryOn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryOnEntry {
    /// A named policy from [`RETRY_ON_POLICIES`].
    Policy(&'static str),
    /// An HTTP status code from [`KNOWN_STATUS_CODES`].
    Status(u16),
}

impl fmt::Display for RetryOnEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Policy(p) => f.write_str(p),
            Self::Status(code) => write!(f, "{code}"),
        }
    }
}

/// A parsed `retryOn` list, in the order given, without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RetryOn {
    entries: Vec<RetryOnEntry>,
}

impl RetryOn {
    /// The entries.
    pub fn entries(&self) -> &[RetryOnEntry] {
        &self.entries
    }

    /// The status codes among the entries.
    pub fn status_codes(&self) -> impl Iterator<Item = u16> + '_ {
        self.entries.iter().filter_map(|e| match e {
            RetryOnEntry::Status(code) => Some(*code),
            RetryOnEntry::Policy(_) => None,
        })
    }
}

/// The canonical form to write: entries joined by ',' with no spaces.
impl fmt::Display for RetryOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

/// Parses a `retryOn` list such as `5xx,connect-failure,503`.
pub fn parse_retry_on(s: &str) -> Result<RetryOn, ValidationError> {
    let err = |why: String| Err(ValidationError::new("retryOn", s, why));
    if s.is_empty() {
        return err("give at least one retry condition, e.g. 5xx,connect-failure".into());
    }
    let mut entries = Vec::new();
    for token in s.split(',') {
        let entry = match parse_retry_on_entry(token) {
            Ok(entry) => entry,
            Err(why) => return err(why),
        };
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }
    Ok(RetryOn { entries })
}

fn parse_retry_on_entry(token: &str) -> Result<RetryOnEntry, String> {
    if token.is_empty() {
        return Err("entries are separated by single commas; remove the empty entry".into());
    }
    if let Some(&policy) = RETRY_ON_POLICIES.iter().find(|p| **p == token) {
        return Ok(RetryOnEntry::Policy(policy));
    }
    if let Some(code) = go_atoi(token) {
        return match u16::try_from(code).ok().filter(|c| KNOWN_STATUS_CODES.contains(c)) {
            Some(code) => Ok(RetryOnEntry::Status(code)),
            None => Err(format!(
                "{} is not an HTTP status code Istio knows (registered codes from 100 to 511)",
                quoted(token)
            )),
        };
    }
    if token.trim() != token {
        return Err(format!("{} has spaces; Istio splits on ',' only", quoted(token)));
    }
    if let Some(&policy) = RETRY_ON_POLICIES.iter().find(|p| p.eq_ignore_ascii_case(token)) {
        return Err(format!("{} must be written {policy:?}", quoted(token)));
    }
    if let Some(grpc) = token.strip_prefix("grpc-")
        && RETRY_ON_POLICIES.contains(&grpc)
    {
        return Err(format!("write {grpc:?}, not {}", quoted(token)));
    }
    Err(format!(
        "{} is not a retry condition; use an HTTP status code or one of {}",
        quoted(token),
        RETRY_ON_POLICIES.join(", ")
    ))
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits that fit an int64.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Checks the parts of a retry policy together, as the written object will hold them.
///
/// `attempts` is `None` when the policy will carry no `attempts` field, which Istio reads as 0.
pub fn check_retry_policy(
    attempts: Option<u32>,
    has_per_try_timeout: bool,
    has_retry_on: bool,
    has_retry_remote_localities: bool,
) -> Result<(), ValidationError> {
    if attempts.unwrap_or(0) > 0 {
        return Ok(());
    }
    let mut set = Vec::new();
    if has_per_try_timeout {
        set.push("perTryTimeout");
    }
    if has_retry_on {
        set.push("retryOn");
    }
    if has_retry_remote_localities {
        set.push("retryRemoteLocalities");
    }
    if set.is_empty() {
        return Ok(());
    }
    let shown = attempts.map_or_else(|| "(unset)".to_owned(), |n| n.to_string());
    Err(ValidationError::new(
        "attempts",
        &shown,
        format!(
            "attempts 0 turns retries off, so {} cannot be set; give attempts of 1 or more",
            set.join(" and ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected verdicts: istio validateHTTPRetry (supportedRetryOnPolicies, strconv.Atoi plus
    // http.StatusText for codes, split on ',' without trimming; attempts >= 0 within int32;
    // attempts 0 with perTryTimeout/retryOn/retryRemoteLocalities refused).
    #[test]
    fn retry_on_table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("5xx", Some("5xx")),
            (
                "gateway-error,connect-failure,refused-stream",
                Some("gateway-error,connect-failure,refused-stream"),
            ),
            (
                "reset-before-request,http3-post-connect-failure",
                Some("reset-before-request,http3-post-connect-failure"),
            ),
            (
                "retriable-4xx,retriable-status-codes,retriable-headers",
                Some("retriable-4xx,retriable-status-codes,retriable-headers"),
            ),
            ("envoy-ratelimited", Some("envoy-ratelimited")),
            (
                "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable",
                Some("cancelled,deadline-exceeded,internal,resource-exhausted,unavailable"),
            ),
            ("503", Some("503")),
            ("5xx,503,504", Some("5xx,503,504")),
            ("100", Some("100")),
            ("418", Some("418")),
            ("511", Some("511")),
            ("+503", Some("503")),
            ("0503", Some("503")),
            ("5xx,5xx", Some("5xx")),
            ("306", None),
            ("509", None),
            ("599", None),
            ("600", None),
            ("99", None),
            ("0", None),
            ("-503", None),
            ("", None),
            ("5xx,", None),
            (",5xx", None),
            ("5xx,,503", None),
            ("5xx, connect-failure", None),
            ("5XX", None),
            ("grpc-unavailable", None),
            ("retriable-status-code", None),
            ("4xx", None),
            ("per-try-timeout", None),
        ];
        for (input, want) in rows {
            let got = parse_retry_on(input).map(|r| r.to_string()).ok();
            assert_eq!(got.as_deref(), *want, "{input:?}");
        }
        let codes: Vec<u16> = parse_retry_on("5xx,503,429").unwrap().status_codes().collect();
        assert_eq!(codes, [503, 429]);
        let e = parse_retry_on("5XX").unwrap_err();
        assert!(e.allowed().contains("\"5xx\""), "{e}");
    }

    #[test]
    fn attempts_table() {
        let rows: &[(&str, Option<u32>)] = &[
            ("0", Some(0)),
            ("3", Some(3)),
            ("2147483647", Some(2_147_483_647)),
            ("2147483648", None),
            ("-1", None),
            ("three", None),
            ("", None),
        ];
        for (input, want) in rows {
            assert_eq!(parse_attempts(input).ok(), *want, "{input:?}");
        }
        assert!(parse_attempts("-1").unwrap_err().allowed().contains("negative"));
    }

    #[test]
    fn policy_combinations() {
        assert!(check_retry_policy(Some(3), true, true, true).is_ok());
        assert!(check_retry_policy(Some(0), false, false, false).is_ok());
        assert!(check_retry_policy(None, false, false, false).is_ok());
        assert!(check_retry_policy(Some(0), true, false, false).is_err());
        assert!(check_retry_policy(Some(0), false, true, false).is_err());
        assert!(check_retry_policy(Some(0), false, false, true).is_err());
        let e = check_retry_policy(None, true, true, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"(unset)\" for attempts: attempts 0 turns retries off, so \
             perTryTimeout and retryOn cannot be set; give attempts of 1 or more"
        );
    }
}
