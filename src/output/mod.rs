//! Every byte of output: results on stdout, warnings, notes and errors on stderr, colour only
//! on a terminal and never with `NO_COLOR` or `--no-color`.

pub mod changes;
pub mod diff;
pub mod errors;
pub mod findings;
pub mod graph;
pub mod log;
pub mod matrix;
pub mod redact;
pub mod table;

use std::io::{self, IsTerminal, Write};

use colored::Colorize;
use serde::Serialize;

use crate::error::UsageError;

/// The `-o` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    Sarif,
    Name,
    Dot,
    Mermaid,
}

impl Format {
    /// The name as typed after `-o`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Wide => "wide",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Sarif => "sarif",
            Format::Name => "name",
            Format::Dot => "dot",
            Format::Mermaid => "mermaid",
        }
    }

    /// Reads `-o` for a command that supports `allowed`; the first is the default.
    pub fn parse(flag: Option<&str>, allowed: &[Format]) -> Result<Format, UsageError> {
        let Some(flag) = flag else { return Ok(allowed[0]) };
        allowed.iter().copied().find(|f| f.name() == flag.trim()).ok_or_else(|| {
            let names: Vec<_> = allowed.iter().map(|f| f.name()).collect();
            UsageError::new(format!(
                "invalid value {flag:?} for -o: this command supports {}",
                names.join(", ")
            ))
        })
    }

    /// Whether this is a machine-readable format, where stdout must hold nothing else.
    pub fn is_structured(self) -> bool {
        !matches!(self, Format::Table | Format::Wide)
    }
}

/// The terminal: stdout for results, stderr for everything else.
pub struct Ui {
    out: Box<dyn Write>,
    color_out: bool,
    color_err: bool,
}

impl Ui {
    /// The process's stdout and stderr. Colour when each is a terminal, unless disabled.
    pub fn stdio(no_color: bool) -> Self {
        let disabled = no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color_out = !disabled && io::stdout().is_terminal();
        let color_err = !disabled && io::stderr().is_terminal();
        colored::control::set_override(color_out);
        Self { out: Box::new(io::stdout().lock()), color_out, color_err }
    }

    /// A Ui writing results into `out`, without colour (tests).
    pub fn with_writer(out: Box<dyn Write>) -> Self {
        Self { out, color_out: false, color_err: false }
    }

    /// Where results go.
    pub fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    /// Whether results may be coloured.
    pub fn color(&self) -> bool {
        self.color_out
    }

    /// `warning: ...` on stderr.
    pub fn warn(&mut self, message: &str) {
        let label = if self.color_err {
            "warning:".yellow().bold().to_string()
        } else {
            "warning:".to_string()
        };
        stderr_line(&format!("{label} {message}"));
    }

    /// `note: ...` on stderr.
    pub fn note(&mut self, message: &str) {
        let label =
            if self.color_err { "note:".cyan().bold().to_string() } else { "note:".to_string() };
        stderr_line(&format!("{label} {message}"));
    }

    /// A line of progress on stderr, for long-running commands.
    pub fn progress(&mut self, message: &str) {
        stderr_line(message);
    }

    /// Writes `value` as pretty JSON.
    pub fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, value)?;
        writeln!(self.out)
    }

    /// Writes `value` as one YAML document.
    pub fn yaml<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        let text = to_yaml(value)?;
        self.out.write_all(text.as_bytes())
    }

    /// Writes several objects as kubectl does: a `List` in JSON, `---`-separated YAML documents.
    pub fn objects(&mut self, format: Format, objects: &[serde_json::Value]) -> io::Result<()> {
        match (format, objects) {
            (Format::Json, [one]) => self.json(one),
            (Format::Json, many) => self.json(&serde_json::json!({
                "apiVersion": "v1",
                "kind": "List",
                "items": many,
                "metadata": {},
            })),
            (_, many) => {
                for (i, object) in many.iter().enumerate() {
                    if i > 0 {
                        self.out.write_all(b"---\n")?;
                    }
                    self.yaml(object)?;
                }
                Ok(())
            }
        }
    }

    /// Writes text to stdout as is.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())
    }

    /// Flushes stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `1 pod`, `2 pods`: a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Writes one line to stderr, redacted; a closed stderr is ignored rather than fatal.
pub fn stderr_line(line: &str) {
    let _ = writeln!(io::stderr(), "{}", redact::redact(line));
}

/// One YAML document, ending in a newline.
pub fn to_yaml<T: Serialize>(value: &T) -> io::Result<String> {
    let mut text = serde_saphyr::to_string(value).map_err(io::Error::other)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_take_the_noun_in_the_right_number() {
        assert_eq!(super::count(1, "pod", "pods"), "1 pod");
        assert_eq!(super::count(0, "pod", "pods"), "0 pods");
        assert_eq!(super::count(3, "policy", "policies"), "3 policies");
    }

    use super::*;

    #[test]
    fn formats_are_checked_against_what_the_command_supports() {
        let allowed = [Format::Table, Format::Json, Format::Yaml];
        assert_eq!(Format::parse(None, &allowed).unwrap(), Format::Table);
        assert_eq!(Format::parse(Some("yaml"), &allowed).unwrap(), Format::Yaml);
        let err = Format::parse(Some("xml"), &allowed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"xml\" for -o: this command supports table, json, yaml"
        );
    }

    #[test]
    fn yaml_documents_end_in_a_newline() {
        let text = to_yaml(&serde_json::json!({"a": 1, "b": ["x"]})).unwrap();
        assert!(text.ends_with('\n'));
        assert!(text.contains("a: 1"));
    }
}
