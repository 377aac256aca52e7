//! The result of a check made before a security policy is written: a refusal (nothing is
//! written without `--force`), a warning, or a note; and how the lot is reported.

use crate::{analysis::codes::Code, error::Problems, output::Ui};

/// At most this many objects are listed under one check.
pub const MAX_ITEMS: usize = 25;

/// How much a check weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Traffic would break or a rule would not do what it says: nothing is written without
    /// `--force`.
    Refuse,
    /// Worth knowing; the write goes ahead.
    Warn,
    /// For information.
    Note,
}

/// One finding of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub severity: Severity,
    /// The `check` code that reports the same problem, when there is one.
    pub code: Option<&'static Code>,
    /// What is wrong, in one line.
    pub message: String,
    /// The objects concerned, one line each.
    pub items: Vec<String>,
}

impl Check {
    pub fn new(
        severity: Severity,
        code: Option<&'static Code>,
        message: impl Into<String>,
    ) -> Self {
        Self { severity, code, message: message.into(), items: Vec::new() }
    }

    /// Adds the objects concerned, listing at most [`MAX_ITEMS`] and counting the rest.
    pub fn items(mut self, items: impl IntoIterator<Item = String>) -> Self {
        self.items.extend(items);
        let more = self.items.len().saturating_sub(MAX_ITEMS);
        if more > 0 {
            self.items.truncate(MAX_ITEMS);
            self.items.push(format!("... and {more} more"));
        }
        self
    }

    /// The text printed after `warning:` or `note:`.
    pub fn text(&self) -> String {
        let mut text = match self.code {
            Some(code) => format!("{} {}", code.code, self.message),
            None => self.message.clone(),
        };
        if !self.items.is_empty() {
            text.push(':');
        }
        for item in &self.items {
            text.push_str("\n  ");
            text.push_str(item);
        }
        text
    }
}

/// Joins `items` with `separator`, naming at most `max` of them and counting the rest.
pub fn some_of(items: &[String], max: usize, separator: &str) -> String {
    let shown = items.iter().take(max).cloned().collect::<Vec<_>>().join(separator);
    match items.len().saturating_sub(max) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// Prints the checks (notes, then warnings, then refusals) on stderr and refuses when any
/// refusal stands: `what` names the object, e.g. `PeerAuthentication shop/default`.
pub fn report(checks: &[Check], force: bool, what: &str, ui: &mut Ui) -> Result<(), Problems> {
    let mut sorted: Vec<&Check> = checks.iter().collect();
    sorted.sort_by_key(|c| std::cmp::Reverse(c.severity));
    for check in &sorted {
        match check.severity {
            Severity::Note => ui.note(&check.text()),
            Severity::Warn | Severity::Refuse => ui.warn(&check.text()),
        }
    }
    let refusals = checks.iter().filter(|c| c.severity == Severity::Refuse).count();
    if refusals == 0 {
        return Ok(());
    }
    if force {
        ui.note(&format!("writing {what} anyway (--force)"));
        return Ok(());
    }
    let checks = if refusals == 1 { "a check above" } else { "checks above" };
    Err(Problems::new(format!("refusing to write {what}: {checks} failed; nothing was written"))
        .with_hint("fix what is listed, or re-run with --force to write it anyway"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::codes;

    #[test]
    fn checks_read_as_one_message_with_an_item_per_line() {
        let check =
            Check::new(Severity::Refuse, Some(&codes::STRICT_WITHOUT_SIDECAR), "no sidecar")
                .items(["shop/pod a".to_string(), "shop/pod b".to_string()]);
        assert_eq!(check.text(), "DM0301 no sidecar:\n  shop/pod a\n  shop/pod b");
        assert_eq!(Check::new(Severity::Note, None, "fine").text(), "fine");
        let long = Check::new(Severity::Note, None, "many").items((0..30).map(|i| i.to_string()));
        assert_eq!(long.items.len(), MAX_ITEMS + 1);
        assert_eq!(long.items.last().unwrap(), "... and 5 more");
    }

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(some_of(&items, 3, ", "), "a, b, c");
        assert_eq!(some_of(&items, 2, "; "), "a; b and 1 more");
    }

    #[test]
    fn refusals_stop_the_write_unless_forced() {
        let mut ui = Ui::with_writer(Box::new(std::io::sink()));
        let refuse = [Check::new(Severity::Refuse, None, "x")];
        let err = report(&refuse, false, "PeerAuthentication a/b", &mut ui).unwrap_err();
        assert!(err.to_string().contains("nothing was written"), "{err}");
        assert!(report(&refuse, true, "PeerAuthentication a/b", &mut ui).is_ok());
        let warn = [Check::new(Severity::Warn, None, "x")];
        assert!(report(&warn, false, "PeerAuthentication a/b", &mut ui).is_ok());
    }
}
