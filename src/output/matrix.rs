//! The reachability matrix of `can --matrix` as a table (callers as rows, destinations as
//! columns), as a per-destination summary of counts when the table is wider than the terminal,
//! and as a JSON document streamed pair by pair; and the changes of `--diff-against` as a table
//! and JSON. Decisions are words; colour only adds to them.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use colored::Colorize;
use serde_json::Value;

use super::table;

/// The width assumed when stdout is not a terminal and `COLUMNS` is not set: files and pipes
/// get the whole table while its lines stay readable in a pager or an editor, and the summary
/// beyond (`-o json` lists every pair whatever the size).
pub const UNKNOWN_WIDTH: usize = 512;

/// The most callers named in the summary's ALLOWED FROM column before `+N more`.
const NAMED_CALLERS: usize = 3;

/// A caller or a destination.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable id, as in JSON (`shop/cart`, `shop/cart:80`, `ingress`).
    pub id: String,
    /// What people read (`others (37)`, `shop/cart (no sidecar)`).
    pub label: String,
    /// The namespace it belongs to, for grouping in pictures; `None` outside the mesh.
    pub namespace: Option<String>,
    /// A short fact shown beside it: the protocol of a destination.
    pub detail: &'static str,
}

/// One decision of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct CellView<'a> {
    /// `ALLOW`, `DENY` or `UNKNOWN`.
    pub decision: &'static str,
    /// Whether every workload of the destination answers alike.
    pub consistent: bool,
    /// The deciding policy in a few words, for edge labels.
    pub edge: &'a str,
    /// The deciding policy in one line.
    pub by: &'a str,
    /// The `decidedBy` object, serialized.
    pub by_json: &'a str,
}

/// A matrix as the renderers read it.
pub trait Grid: Sync {
    /// Rows.
    fn callers(&self) -> &[Node];
    /// Columns.
    fn destinations(&self) -> &[Node];
    /// The decision for a caller and a destination.
    fn cell(&self, caller: usize, destination: usize) -> CellView<'_>;
}

/// Counts of ALLOW, DENY and UNKNOWN.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub allow: usize,
    pub deny: usize,
    pub unknown: usize,
}

impl Counts {
    fn add(&mut self, decision: &str) {
        match decision {
            "ALLOW" => self.allow += 1,
            "DENY" => self.deny += 1,
            _ => self.unknown += 1,
        }
    }

    fn merge(&mut self, other: Counts) {
        self.allow += other.allow;
        self.deny += other.deny;
        self.unknown += other.unknown;
    }
}

/// The counts of each destination, computed on every core.
pub fn column_counts(grid: &dyn Grid) -> Vec<Counts> {
    let columns = grid.destinations().len();
    let rows = grid.callers().len();
    let count = |c: usize| {
        let mut counts = Counts::default();
        for r in 0..rows {
            counts.add(grid.cell(r, c).decision);
        }
        counts
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if workers < 2 || columns < 64 {
        return (0..columns).map(count).collect();
    }
    let chunk = columns.div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..columns)
            .step_by(chunk)
            .map(|start| {
                let count = &count;
                s.spawn(move || {
                    (start..(start + chunk).min(columns)).map(count).collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The sum of per-destination counts.
pub fn total(counts: &[Counts]) -> Counts {
    let mut all = Counts::default();
    for c in counts {
        all.merge(*c);
    }
    all
}

/// Where the width of the output comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// `COLUMNS`, set to a number.
    Columns(usize),
    /// The terminal stdout is.
    Terminal(usize),
    /// Neither: stdout is a file or a pipe.
    Unknown,
}

/// The width to fit: `COLUMNS` when set to a number, else the terminal's when stdout is one.
pub fn terminal_width() -> Width {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|v| v.trim().parse::<usize>().ok())
        && n > 0
    {
        return Width::Columns(n);
    }
    if !io::stdout().is_terminal() {
        return Width::Unknown;
    }
    stdout_columns().map_or(Width::Unknown, Width::Terminal)
}

#[cfg(unix)]
fn stdout_columns() -> Option<usize> {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own and pass by pointer.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn stdout_columns() -> Option<usize> {
    None
}

const GAP: usize = 3;
const FROM: &str = "FROM";

fn cell_text(cell: &CellView<'_>) -> String {
    if cell.consistent { cell.decision.to_string() } else { format!("{}*", cell.decision) }
}

fn paint(text: &str, decision: &str) -> String {
    match decision {
        "ALLOW" => text.green().to_string(),
        "DENY" => text.red().to_string(),
        _ => text.yellow().to_string(),
    }
}

fn column_widths(grid: &dyn Grid) -> (usize, Vec<usize>) {
    let first = grid.callers().iter().map(|n| n.label.len()).chain([FROM.len()]).max();
    // A cell is at most `UNKNOWN*`.
    let widths = grid.destinations().iter().map(|d| d.label.len().max(8)).collect();
    (first.unwrap_or(0), widths)
}

/// How wide the table would be, in characters.
pub fn table_width(grid: &dyn Grid) -> usize {
    let (first, widths) = column_widths(grid);
    widths.iter().fold(first, |w, c| w + GAP + c)
}

/// The whole matrix: one row per caller, one column per destination. A `*` marks a
/// destination whose workloads answer differently (the most restrictive answer is shown).
pub fn table(grid: &dyn Grid, color: bool) -> String {
    let (first, widths) = column_widths(grid);
    let mut out = String::new();
    let _ = write!(out, "{FROM:<first$}");
    for (d, w) in grid.destinations().iter().zip(&widths) {
        let _ = write!(out, "{:gap$}{:<w$}", "", d.label, gap = GAP);
    }
    trim_line(&mut out);
    let mut mixed = false;
    for (r, caller) in grid.callers().iter().enumerate() {
        let _ = write!(out, "{:<first$}", caller.label);
        for (c, w) in widths.iter().enumerate() {
            let cell = grid.cell(r, c);
            mixed |= !cell.consistent;
            let text = format!("{:<w$}", cell_text(&cell));
            let text = if color { paint(&text, cell.decision) } else { text };
            let _ = write!(out, "{:gap$}{text}", "", gap = GAP);
        }
        trim_line(&mut out);
    }
    if mixed {
        out.push_str(
            "\n* the destination's workloads answer differently; the most restrictive answer is \
             shown (can FROM TO shows each)\n",
        );
    }
    out
}

fn trim_line(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}

/// One line of totals, such as `4 callers x 3 destinations (GET /): 5 ALLOW, 7 DENY, 0 UNKNOWN`.
pub fn totals_line(grid: &dyn Grid, request: &str, all: Counts) -> String {
    format!(
        "{} x {} ({request}): {} ALLOW, {} DENY, {} UNKNOWN\n",
        super::count(grid.callers().len(), "caller", "callers"),
        super::count(grid.destinations().len(), "destination", "destinations"),
        all.allow,
        all.deny,
        all.unknown
    )
}

/// The matrix summed up per destination: counts and the callers allowed.
pub fn summary(grid: &dyn Grid, request: &str, counts: &[Counts]) -> String {
    let callers = grid.callers();
    let mut rows = Vec::with_capacity(counts.len());
    for (c, (dest, n)) in grid.destinations().iter().zip(counts).enumerate() {
        let allowed = if n.allow == callers.len() {
            format!("all {} callers", callers.len())
        } else if n.allow == 0 {
            "-".to_string()
        } else {
            let mut names = Vec::new();
            for (r, caller) in callers.iter().enumerate() {
                if grid.cell(r, c).decision == "ALLOW" {
                    names.push(caller.label.as_str());
                    if names.len() == NAMED_CALLERS {
                        break;
                    }
                }
            }
            let more = n.allow - names.len();
            let mut text = names.join(", ");
            if more > 0 {
                let _ = write!(text, ", +{more} more");
            }
            text
        };
        rows.push(vec![
            dest.label.clone(),
            dest.detail.to_string(),
            n.allow.to_string(),
            n.deny.to_string(),
            n.unknown.to_string(),
            allowed,
        ]);
    }
    let mut out = totals_line(grid, request, total(counts));
    out.push('\n');
    out.push_str(&table::render(
        &["DESTINATION", "PROTOCOL", "ALLOW", "DENY", "UNKNOWN", "ALLOWED FROM"],
        &rows,
    ));
    out
}

/// Writes `{ "key": value, ... }` with one top-level key a line and each array item on a
/// line of its own, then the `pairs` the grid holds, one a line: readable, and linear in size.
pub fn json(out: &mut dyn Write, head: &[(&str, Value)], grid: &dyn Grid) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    w.write_all(b"{\n")?;
    for (key, value) in head {
        write_field(&mut w, key, value)?;
        w.write_all(b",\n")?;
    }
    w.write_all(b"  \"pairs\": [")?;
    let (callers, destinations) = (grid.callers(), grid.destinations());
    let mut first = true;
    let mut line = String::with_capacity(256);
    for (r, from) in callers.iter().enumerate() {
        for (c, to) in destinations.iter().enumerate() {
            let cell = grid.cell(r, c);
            line.clear();
            line.push_str(if first { "\n    " } else { ",\n    " });
            first = false;
            pair_json(&mut line, &from.id, &to.id, &cell);
            w.write_all(line.as_bytes())?;
        }
    }
    w.write_all(if first { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    w.flush()
}

fn pair_json(line: &mut String, from: &str, to: &str, cell: &CellView<'_>) {
    let _ = write!(
        line,
        "{{\"from\": {}, \"to\": {}, \"decision\": \"{}\", \"decidedBy\": {}, \"consistent\": {}}}",
        quote(from),
        quote(to),
        cell.decision,
        cell.by_json,
        cell.consistent
    );
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn write_field(w: &mut dyn Write, key: &str, value: &Value) -> io::Result<()> {
    write!(w, "  {}: ", quote(key))?;
    match value {
        Value::Array(items) if !items.is_empty() => {
            w.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                let sep = if i == 0 { "\n    " } else { ",\n    " };
                write!(w, "{sep}{}", serde_json::to_string(item).map_err(io::Error::other)?)?;
            }
            w.write_all(b"\n  ]")
        }
        other => write!(w, "{}", serde_json::to_string(other).map_err(io::Error::other)?),
    }
}

/// A pair whose decision changes.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub before: CellView<'a>,
    pub after: CellView<'a>,
}

/// Whether a change takes access away (`cut`), gives it (`opened`), or neither (`changed`).
pub fn change_kind(c: &Change<'_>) -> &'static str {
    match (c.before.decision == "ALLOW", c.after.decision == "ALLOW") {
        (true, false) => "cut",
        (false, true) => "opened",
        _ => "changed",
    }
}

/// The changes as a table, after one line that counts them.
pub fn diff_table(changes: &[Change<'_>], request: &str, color: bool) -> String {
    let mut out = diff_line(changes, request);
    if changes.is_empty() {
        return out;
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let word = |cell: &CellView<'_>| {
                let text = cell_text(cell);
                if color { paint(&text, cell.decision) } else { text }
            };
            vec![
                c.from.to_string(),
                c.to.to_string(),
                word(&c.before),
                word(&c.after),
                c.after.by.to_string(),
            ]
        })
        .collect();
    out.push_str(&table::render(&["FROM", "TO", "BEFORE", "AFTER", "DECIDED BY (AFTER)"], &rows));
    out
}

/// `2 pairs change (GET /): 2 cut off, 0 opened, 0 other`, or `no pair changes (GET /)`.
pub fn diff_line(changes: &[Change<'_>], request: &str) -> String {
    if changes.is_empty() {
        return format!("no pair changes its decision ({request})\n");
    }
    let count = |k: &str| changes.iter().filter(|c| change_kind(c) == k).count();
    let noun = if changes.len() == 1 { "pair changes" } else { "pairs change" };
    format!(
        "{} {noun} ({request}): {} cut off, {} opened, {} other\n",
        changes.len(),
        count("cut"),
        count("opened"),
        count("changed")
    )
}

/// The changes as JSON: the head fields, then `changes`.
pub fn diff_json(
    out: &mut dyn Write,
    head: &[(&str, Value)],
    changes: &[Change<'_>],
) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    w.write_all(b"{\n")?;
    for (key, value) in head {
        write_field(&mut w, key, value)?;
        w.write_all(b",\n")?;
    }
    w.write_all(b"  \"changes\": [")?;
    for (i, c) in changes.iter().enumerate() {
        let side = |cell: &CellView<'_>| {
            format!("{{\"decision\": \"{}\", \"decidedBy\": {}}}", cell.decision, cell.by_json)
        };
        write!(
            w,
            "{}{{\"from\": {}, \"to\": {}, \"change\": \"{}\", \"before\": {}, \"after\": {}}}",
            if i == 0 { "\n    " } else { ",\n    " },
            quote(c.from),
            quote(c.to),
            change_kind(c),
            side(&c.before),
            side(&c.after)
        )?;
    }
    w.write_all(if changes.is_empty() { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed {
        callers: Vec<Node>,
        destinations: Vec<Node>,
        cells: Vec<Vec<(&'static str, bool)>>,
    }

    fn node(id: &str) -> Node {
        Node { id: id.into(), label: id.into(), namespace: None, detail: "HTTP" }
    }

    impl Grid for Fixed {
        fn callers(&self) -> &[Node] {
            &self.callers
        }
        fn destinations(&self) -> &[Node] {
            &self.destinations
        }
        fn cell(&self, r: usize, c: usize) -> CellView<'_> {
            let (decision, consistent) = self.cells[r][c];
            CellView {
                decision,
                consistent,
                edge: "p",
                by: "policy a/p",
                by_json: "{\"kind\":\"policy\"}",
            }
        }
    }

    fn grid() -> Fixed {
        Fixed {
            callers: vec![node("a/x"), node("plaintext")],
            destinations: vec![node("a/web:80"), node("b/db:5432")],
            cells: vec![
                vec![("ALLOW", true), ("DENY", false)],
                vec![("DENY", true), ("DENY", true)],
            ],
        }
    }

    #[test]
    fn the_table_lines_up_and_marks_mixed_answers() {
        let text = table(&grid(), false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FROM        a/web:80   b/db:5432");
        assert_eq!(lines[1], "a/x         ALLOW      DENY*");
        assert_eq!(lines[2], "plaintext   DENY       DENY");
        assert!(text.contains("* the destination's workloads answer differently"));
        assert_eq!(table_width(&grid()), lines[0].len());
    }

    #[test]
    fn colour_only_adds_to_the_words() {
        colored::control::set_override(true);
        let text = table(&grid(), true);
        colored::control::unset_override();
        assert!(text.contains("\u{1b}["), "{text}");
        assert!(text.contains("ALLOW") && text.contains("DENY"));
    }

    #[test]
    fn the_summary_counts_each_destination() {
        let g = grid();
        let counts = column_counts(&g);
        assert_eq!(counts[0], Counts { allow: 1, deny: 1, unknown: 0 });
        let text = summary(&g, "GET /", &counts);
        assert!(
            text.starts_with("2 callers x 2 destinations (GET /): 1 ALLOW, 3 DENY, 0 UNKNOWN\n")
        );
        assert!(text.contains("a/web:80      HTTP       1       1      0         a/x"), "{text}");
        assert!(text.contains("b/db:5432     HTTP       0       2      0         -"), "{text}");
    }

    #[test]
    fn the_totals_take_their_nouns_in_the_right_number() {
        let mut g = grid();
        g.destinations.truncate(1);
        let line = totals_line(&g, "GET /", Counts { allow: 1, deny: 1, unknown: 0 });
        assert_eq!(line, "2 callers x 1 destination (GET /): 1 ALLOW, 1 DENY, 0 UNKNOWN\n");
    }

    #[test]
    fn json_is_one_document_with_every_pair() {
        let mut out = Vec::new();
        json(&mut out, &[("kind", Value::from("ReachabilityMatrix"))], &grid()).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["kind"], "ReachabilityMatrix");
        assert_eq!(doc["pairs"].as_array().unwrap().len(), 4);
        assert_eq!(doc["pairs"][1]["consistent"], false);
        assert_eq!(doc["pairs"][0]["decidedBy"]["kind"], "policy");
    }
}
