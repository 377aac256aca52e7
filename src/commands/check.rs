//! `check`: read a Snapshot (cluster, files, or files over the cluster), run every analyzer,
//! and print the findings as a table, JSON, YAML or SARIF. Exit 1 when a finding reaches
//! `--fail-on`.

use crate::{
    analysis::{self, Level, Suppression},
    cli::{CheckArgs, GlobalArgs},
    error::{ExitStatus, Problems, UsageError},
    output::{
        Format, Ui,
        findings::{self, Context},
        table,
    },
};

use super::input;

/// Runs `check`.
pub async fn run(global: &GlobalArgs, args: CheckArgs, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    let format = Format::parse(
        global.output.as_deref(),
        &[Format::Table, Format::Json, Format::Yaml, Format::Sarif],
    )?;
    let fail_on = level(&args.fail_on, "--fail-on")?;
    let threshold = level(&args.output_threshold, "--output-threshold")?;
    let suppressions =
        args.suppress.iter().map(|s| Suppression::parse(s)).collect::<Result<Vec<_>, _>>()?;
    if args.all_namespaces && global.namespace.is_some() {
        return Err(UsageError::new("-A and -n cannot be used together").into());
    }
    if args.list_analyzers {
        return list_analyzers(ui);
    }

    let input = input::load(global, &args.input, ui).await?;
    // Live, the current namespace unless -A; from files, everything unless -n.
    let namespace = match (&global.namespace, args.all_namespaces, input.live) {
        (_, true, _) => None,
        (Some(ns), false, _) => Some(ns.clone()),
        (None, false, true) => Some(input.namespace.clone()),
        (None, false, false) => None,
    };
    let options = analysis::Options { suppressions, threshold, namespace };
    let result = analysis::analyze(&input.snapshot, &options);
    if !result.skipped.is_empty() {
        let names: Vec<String> = result
            .skipped
            .iter()
            .map(|(name, kinds)| {
                let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
                format!("{name} (needs {})", kinds.join(", "))
            })
            .collect();
        ui.note(&format!("skipped analyzers whose input was not loaded: {}", names.join("; ")));
    }

    let context = Context { objects: input.objects };
    let report = &result.report;
    match format {
        Format::Json => ui.json(&findings::document(report, &context))?,
        Format::Yaml => ui.yaml(&findings::document(report, &context))?,
        Format::Sarif => ui.json(&findings::sarif(report))?,
        _ => ui.text(&findings::table(report, &context, ui.color()))?,
    }
    if report.has_at_least(fail_on) {
        return Err(Problems::reported().into());
    }
    Ok(ExitStatus::Success)
}

fn level(text: &str, flag: &str) -> Result<Level, UsageError> {
    Level::parse(text).ok_or_else(|| {
        UsageError::new(format!("invalid value {text:?} for {flag}: use error, warning or info"))
    })
}

fn list_analyzers(ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    let rows: Vec<Vec<String>> = analysis::analyzers()
        .iter()
        .map(|a| {
            let codes: Vec<&str> = a.codes().iter().map(|c| c.code).collect();
            vec![a.name().to_string(), codes.join(","), a.description().to_string()]
        })
        .collect();
    ui.text(&table::render(&["ANALYZER", "CODES", "DESCRIPTION"], &rows))?;
    Ok(ExitStatus::Success)
}
