//! `can FROM TO`: would this request be allowed? Reads one Snapshot (the cluster, or `-f`
//! files), evaluates the request as the destination's sidecars would (`authz::evaluate`), and
//! prints the decision with its chain of reasoning. `--batch` answers one query per line from
//! the same Snapshot. Every query is validated before anything is read.
//!
//! `--matrix` asks every caller against every Service port instead ([`super::can_matrix`]).
//!
//! Exit status: 0 ALLOW, 1 DENY or UNKNOWN (a CUSTOM authorizer decides at run time); with
//! `--batch`, 0 only when every query is allowed. 2 for bad input (including a query naming what
//! the Snapshot lacks), 3 when the cluster cannot be read.

use std::io::Read;
use std::path::Path;

use super::can_output;
use super::can_query::{Details, Query, parse_line};
use super::input;
use crate::authz::{Decision, evaluate};
use crate::cli::{CanArgs, GlobalArgs};
use crate::error::{ExitStatus, UsageError};
use crate::output::{Format, Ui};

/// Runs `can`.
pub async fn run(global: &GlobalArgs, args: CanArgs, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    if args.matrix {
        return super::can_matrix::run(global, args, ui).await;
    }
    refuse_matrix_flags(global, &args)?;
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Json, Format::Yaml])?;
    let queries = match &args.batch {
        Some(path) => read_batch(path, &args)?,
        None => {
            let (Some(from), Some(to)) = (&args.from, &args.to) else {
                return Err(UsageError::new("can needs FROM and TO, or --batch FILE").into());
            };
            let details = Details {
                port: args.port.as_deref(),
                method: args.method.as_deref(),
                path: args.path.as_deref(),
                host: args.host.as_deref(),
                headers: args.headers.iter().map(String::as_str).collect(),
                namespace: None,
            };
            vec![(0, format!("{from} {to}"), Query::parse(from, to, &details)?)]
        }
    };

    let input = input::load_with_accounts(global, &args.input, ui).await?;
    let snapshot = &input.snapshot;
    let namespace = input.namespace.as_str();
    if args.batch.is_none() {
        let (_, text, query) = &queries[0];
        let request = query.request(snapshot, namespace)?;
        let verdict = evaluate(snapshot, &request).map_err(|e| UsageError::new(e.to_string()))?;
        let answer = can_output::Answer::new(text, &request, &verdict);
        match format {
            Format::Json => ui.json(&answer)?,
            Format::Yaml => ui.yaml(&answer)?,
            _ => ui.text(&can_output::tree(&answer))?,
        }
        return Ok(exit_status(verdict.decision));
    }

    let mut out = String::with_capacity(queries.len() * 96);
    let mut worst = Decision::Allow;
    let mut answers = Vec::new();
    for (line, text, query) in &queries {
        let at = |e: String| UsageError::new(format!("line {line} ({text}): {e}"));
        let request = query.request(snapshot, namespace).map_err(|e| at(e.to_string()))?;
        let verdict = evaluate(snapshot, &request).map_err(|e| at(e.to_string()))?;
        worst = worst.max(verdict.decision);
        match format {
            Format::Json => can_output::json_line(&mut out, *line, text, &verdict)?,
            Format::Yaml => answers.push(can_output::Summary::new(*line, text, &verdict)),
            _ => can_output::text_line(&mut out, text, &verdict),
        }
    }
    match format {
        Format::Yaml => ui.yaml(&answers)?,
        _ => ui.text(&out)?,
    }
    Ok(exit_status(worst))
}

/// Flags that only mean something for the matrix, refused with a word on what they need.
fn refuse_matrix_flags(global: &GlobalArgs, args: &CanArgs) -> Result<(), UsageError> {
    if args.all_namespaces {
        return Err(UsageError::new(
            "-A needs --matrix: can FROM TO asks about one pair; can --matrix -A asks every pair",
        ));
    }
    if let Some(path) = args.diff_against.first() {
        return Err(UsageError::new(format!(
            "--diff-against {} needs --matrix: it compares two matrices",
            path.display()
        )));
    }
    match global.output.as_deref().map(str::trim) {
        Some(o @ ("dot" | "mermaid")) => Err(UsageError::new(format!(
            "invalid value {o:?} for -o: dot and mermaid draw the matrix, so need --matrix; \
             can FROM TO supports table, json, yaml"
        ))),
        _ => Ok(()),
    }
}

fn exit_status(decision: Decision) -> ExitStatus {
    match decision {
        Decision::Allow => ExitStatus::Success,
        // UNKNOWN is not a yes: an external authorizer may still refuse.
        Decision::Deny | Decision::Unknown => ExitStatus::Problems,
    }
}

/// Reads and validates every line of a batch file: `(line number, query text, query)`.
fn read_batch(path: &Path, args: &CanArgs) -> anyhow::Result<Vec<(usize, String, Query)>> {
    let name = path.display().to_string();
    let text = if path.as_os_str() == "-" {
        if args.input.files.iter().any(|f| f.as_os_str() == "-") {
            return Err(UsageError::new("--batch - and -f - cannot both read stdin").into());
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| UsageError::new(format!("cannot read the queries from stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| UsageError::new(format!("cannot read --batch {name}: {e}")))?
    };
    let mut queries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        match parse_line(line) {
            Ok(Some(query)) => queries.push((number, line.trim().to_string(), query)),
            Ok(None) => {}
            Err(e) => return Err(UsageError::new(format!("line {number} of {name}: {e}")).into()),
        }
    }
    if queries.is_empty() {
        return Err(UsageError::new(format!(
            "--batch {name} holds no query (FROM TO [flags] per line)"
        ))
        .into());
    }
    Ok(queries)
}
