//! Errors as users read them: `error:` with the top message, one `caused by:` per cause, then
//! a blank line and `hint:` with the exact thing to try. Bad input gets exactly one line.

use std::io::IsTerminal;

use colored::Colorize;

use crate::error::{self, ExitStatus};

/// Renders an error chain; `color` paints the labels.
pub fn render(err: &anyhow::Error, color: bool) -> String {
    let paint = |label: &str| {
        if color { label.red().bold().to_string() } else { label.to_string() }
    };
    let usage = error::exit_status(err) == ExitStatus::Usage;

    let mut lines = vec![format!("{} {}", paint("error:"), err)];
    if !usage {
        let mut previous = err.to_string();
        for cause in err.chain().skip(1) {
            let text = cause.to_string();
            // Some libraries repeat their cause in their own message; print it once.
            if previous.contains(&text) {
                continue;
            }
            lines.push(format!("caused by: {text}"));
            previous = text;
        }
    }
    if let Some(hint) = error::hint(err) {
        if !usage {
            lines.push(String::new());
        }
        lines.push(format!("hint: {hint}"));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    super::redact::redact(&text).into_owned()
}

/// Renders an error chain on one line, for a report that names several objects: the message
/// and each cause joined by `: `, then `; hint: ...`. No `error:` label, no empty parts.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if parts.last().is_some_and(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    let mut text = parts.join(": ");
    if let Some(hint) = error::hint(err) {
        text.push_str("; hint: ");
        text.push_str(&hint);
    }
    super::redact::redact(&text).into_owned()
}

/// The one line a crash prints instead of a backtrace: where, that it is a bug, and what to
/// send. It names no value from the crashed run, so it can carry no secret.
pub fn crash_report(place: Option<(&str, u32)>) -> String {
    let place = place.map(|(file, line)| format!(" at {file}:{line}")).unwrap_or_default();
    format!(
        "error: kubectl-debatemesh {} crashed{place}; this is a bug. Please report it with the \
         command you ran (rerun with RUST_BACKTRACE=1 for details)",
        env!("CARGO_PKG_VERSION")
    )
}

/// Prints `err` on stderr.
pub fn print(err: &anyhow::Error, no_color: bool) {
    use std::io::Write;
    let color = !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal();
    let _ = std::io::stderr().write_all(render(err, color).as_bytes());
}

/// Prints a command-line parsing error as one line (help and version go to stdout), and gives
/// the exit code.
pub fn clap(err: &clap::Error) -> std::process::ExitCode {
    use std::io::Write;

    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = write!(std::io::stdout(), "{}", err.render());
            return std::process::ExitCode::SUCCESS;
        }
        _ => {}
    }
    let rendered = err.render().to_string();
    // The first paragraph is the message; clap indents the names it lists below the first line.
    let message = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message).trim_end_matches(':');
    let usage = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map(|u| {
            u.split_whitespace()
                .take_while(|w| !w.starts_with(['-', '<', '[']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "kubectl debatemesh".to_string());
    let _ = writeln!(std::io::stderr(), "error: {message} (see '{usage} --help')");
    std::process::ExitCode::from(crate::error::ExitStatus::Usage.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UsageError;

    #[test]
    fn usage_errors_are_one_line() {
        let err = anyhow::Error::new(UsageError::new("invalid value \"\" for NS: empty"));
        assert_eq!(render(&err, false), "error: invalid value \"\" for NS: empty\n");
    }

    #[test]
    fn a_crash_prints_one_line_asking_for_a_report() {
        let text = crash_report(Some(("src/commands/check.rs", 42)));
        assert_eq!(
            text,
            format!(
                "error: kubectl-debatemesh {} crashed at src/commands/check.rs:42; this is a bug. \
                 Please report it with the command you ran (rerun with RUST_BACKTRACE=1 for \
                 details)",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(!text.contains('\n'));
        assert!(crash_report(None).contains(" crashed; this is a bug."));
    }

    #[test]
    fn a_failed_write_reads_as_one_line() {
        let err = anyhow::Error::new(
            crate::cluster::ClusterError::new(
                "update Namespace shop",
                crate::cluster::Failure::Dropped("connection reset".into()),
            )
            .with_hint("re-run"),
        )
        .context("cannot label namespace shop");
        assert_eq!(
            one_line(&err),
            "cannot label namespace shop: failed to update Namespace shop: the connection closed \
             before a reply: connection reset; hint: re-run"
        );
    }

    #[test]
    fn causes_print_once_and_hints_come_last() {
        let err = anyhow::anyhow!("connection refused")
            .context("cannot connect: connection refused")
            .context("failed to list pods");
        assert_eq!(
            render(&err, false),
            "error: failed to list pods\ncaused by: cannot connect: connection refused\n"
        );
    }
}
