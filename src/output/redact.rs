//! Keeps credentials out of every byte written to stderr: the secrets found in the kubeconfig
//! are registered once, and every log line and error passes through [`redact`].

use std::{
    borrow::Cow,
    io::{self, Write},
    sync::RwLock,
};

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Adds strings that must never be printed.
pub fn register(secrets: Vec<String>) {
    if let Ok(mut all) = SECRETS.write() {
        all.extend(secrets.into_iter().filter(|s| !s.is_empty()));
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
    }
}

/// Replaces registered secrets and bearer tokens in `text`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    if let Ok(all) = SECRETS.read() {
        for secret in all.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
    }
    if out.to_ascii_lowercase().contains("bearer ") {
        out = Cow::Owned(redact_bearer(&out));
    }
    out
}

/// `Bearer abc.def` becomes `Bearer [redacted]`, whatever the case of `bearer`.
fn redact_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("bearer ") {
        let start = search + found + "bearer ".len();
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .map_or(text.len(), |e| start + e);
        out.push_str(&text[rest..start]);
        out.push_str(REDACTED);
        rest = end;
        search = end.max(start);
        if search >= text.len() {
            break;
        }
    }
    out.push_str(&text[rest..]);
    out
}

/// A stderr writer for the log subscriber that redacts each write.
pub struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_and_bearer_tokens_are_replaced() {
        register(vec!["s3cr3t-value-xyz".into()]);
        assert_eq!(redact("token=s3cr3t-value-xyz ok"), "token=[redacted] ok");
        assert_eq!(
            redact("Authorization: Bearer abc.def.ghi, next"),
            "Authorization: Bearer [redacted], next"
        );
        assert_eq!(redact("authorization: bearer tok"), "authorization: bearer [redacted]");
        assert_eq!(redact("nothing here"), "nothing here");
    }
}
