//! Findings as a table grouped by resource with a summary line, as JSON or YAML, and as SARIF
//! 2.1.0 for code-scanning tools.

use colored::Colorize;
use serde_json::{Value, json};

use crate::analysis::{Finding, Level, Report, codes};

/// Extra lines for the summary: notes the run made (defaults supplied, analyzers skipped).
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// How many objects were analyzed.
    pub objects: usize,
}

/// The table: one block per resource, levels in words, then a summary line. Resources come in
/// the order of their most severe finding (the report is sorted by level first), and each
/// block lists all of that resource's findings.
pub fn table(report: &Report, context: &Context, color: bool) -> String {
    let mut blocks: Vec<(&crate::analysis::ObjRef, Vec<&Finding>)> = Vec::new();
    for f in report.findings() {
        match blocks.iter_mut().find(|(r, _)| *r == &f.resource) {
            Some((_, items)) => items.push(f),
            None => blocks.push((&f.resource, vec![f])),
        }
    }
    let mut out = String::new();
    for (i, (resource, items)) in blocks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let header = resource.to_string();
        out.push_str(&if color { header.bold().to_string() } else { header });
        if let Some(location) = items.iter().find_map(|f| f.location.as_ref()) {
            out.push_str(&format!("  ({location})"));
        }
        out.push('\n');
        for f in items {
            let word = format!("{:<8}", f.level().word());
            let word = if color { paint(f.level(), &word) } else { word };
            out.push_str(&format!("  {word} {}  {}\n", f.code.code, f.message));
            out.push_str(&format!("  {:<8} {:<6}  fix: {}\n", "", "", f.fix));
        }
    }
    if !blocks.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary(report, context));
    out.push('\n');
    out
}

fn paint(level: Level, text: &str) -> String {
    match level {
        Level::Error => text.red().bold().to_string(),
        Level::Warning => text.yellow().bold().to_string(),
        Level::Info => text.cyan().to_string(),
    }
}

/// `2 errors, 1 warning, 0 info in 14 objects (3 suppressed)`.
pub fn summary(report: &Report, context: &Context) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 || word == "info" { format!("{n} {word}") } else { format!("{n} {word}s") }
    };
    let mut text = if report.findings().is_empty() {
        format!("no problems found in {}", super::count(context.objects, "object", "objects"))
    } else {
        format!(
            "{}, {}, {} in {}",
            plural(report.count(Level::Error), "error"),
            plural(report.count(Level::Warning), "warning"),
            plural(report.count(Level::Info), "info"),
            super::count(context.objects, "object", "objects")
        )
    };
    let mut hidden = Vec::new();
    if report.suppressed > 0 {
        hidden.push(format!("{} suppressed", report.suppressed));
    }
    if report.below_threshold > 0 {
        hidden.push(format!("{} below the output threshold", report.below_threshold));
    }
    if !hidden.is_empty() {
        text.push_str(&format!(" ({})", hidden.join(", ")));
    }
    text
}

fn finding_json(f: &Finding) -> Value {
    let mut v = json!({
        "code": f.code.code,
        "name": f.code.name,
        "level": f.level().word(),
        "resource": f.resource,
        "message": f.message,
        "fix": f.fix,
    });
    if let Some(ist) = f.code.istio {
        v["istioCode"] = json!(ist);
    }
    if let Some(location) = &f.location {
        v["location"] = json!(location);
    }
    v
}

/// The document behind `-o json` and `-o yaml`.
pub fn document(report: &Report, context: &Context) -> Value {
    json!({
        "findings": report.findings().iter().map(finding_json).collect::<Vec<_>>(),
        "summary": {
            "objects": context.objects,
            "errors": report.count(Level::Error),
            "warnings": report.count(Level::Warning),
            "infos": report.count(Level::Info),
            "suppressed": report.suppressed,
            "belowThreshold": report.below_threshold,
        },
    })
}

/// A SARIF 2.1.0 log with one run: every code used as a rule, every finding as a result.
pub fn sarif(report: &Report) -> Value {
    let mut used: Vec<&codes::Code> = report.findings().iter().map(|f| f.code).collect();
    used.sort_by_key(|c| c.code);
    used.dedup_by_key(|c| c.code);
    let rules: Vec<Value> = used
        .iter()
        .map(|c| {
            let mut rule = json!({
                "id": c.code,
                "name": c.name,
                "shortDescription": {"text": c.summary},
                "help": {"text": c.fix},
                "defaultConfiguration": {"level": sarif_level(c.level)},
                "properties": {"family": c.family()},
            });
            if let Some(ist) = c.istio {
                rule["properties"]["istioCode"] = json!(ist);
            }
            rule
        })
        .collect();
    let results: Vec<Value> = report
        .findings()
        .iter()
        .map(|f| {
            let logical = json!({
                "name": f.resource.name,
                "fullyQualifiedName": f.resource.to_string(),
                "kind": f.resource.kind,
            });
            let mut location = json!({ "logicalLocations": [logical] });
            if let Some(at) = &f.location {
                location["physicalLocation"] = json!({
                    "artifactLocation": {"uri": at.file},
                    "region": {"startLine": at.line.max(1)},
                });
            }
            let mut result = json!({
                "ruleId": f.code.code,
                "ruleIndex": used.iter().position(|c| c.code == f.code.code).unwrap_or(0),
                "level": sarif_level(f.level()),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [location],
            });
            if let Some(ist) = f.code.istio {
                result["properties"] = json!({"istioCode": ist});
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubectl-debatemesh",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/debatemesh/kubectl-debatemesh",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::analysis::{Location, ObjRef};

    fn report() -> Report {
        let mut r = Report::default();
        r.push(
            Finding::new(
                &codes::VS_GATEWAY_NOT_FOUND,
                ObjRef::new("VirtualService", Some("shop"), "cart"),
                "bound to Gateway shop/missing, which does not exist",
            )
            .at(Some(Location { file: "vs.yaml".into(), line: 3 })),
        );
        r.push(Finding::new(
            &codes::PORT_NAME_NO_PROTOCOL,
            ObjRef::new("Service", Some("shop"), "cart"),
            "port 8080 is named web",
        ));
        r.finish(&[], &BTreeMap::new(), Level::Info)
    }

    #[test]
    fn tables_group_by_resource_and_end_with_a_summary() {
        let text = table(&report(), &Context { objects: 5 }, false);
        assert!(text.starts_with("VirtualService shop/cart  (vs.yaml:3)\n  error    DM0101  "));
        assert!(text.ends_with("1 error, 0 warnings, 1 info in 5 objects\n"), "{text}");
    }

    #[test]
    fn a_resource_is_one_block_whatever_the_levels_of_its_findings() {
        let mut r = Report::default();
        let vs = ObjRef::new("VirtualService", Some("shop"), "cart");
        r.push(Finding::new(&codes::VS_GATEWAY_NOT_FOUND, vs.clone(), "e"));
        r.push(Finding::new(
            &codes::PORT_NAME_NO_PROTOCOL,
            ObjRef::new("Service", Some("a"), "b"),
            "i",
        ));
        r.push(Finding::new(&codes::DEFAULT_RETRIES, vs, "i2"));
        let r = r.finish(&[], &BTreeMap::new(), Level::Info);
        let text = table(&r, &Context { objects: 2 }, false);
        assert_eq!(text.matches("VirtualService shop/cart").count(), 1, "{text}");
        let vs_at = text.find("VirtualService").unwrap();
        let svc_at = text.find("Service a/b").unwrap();
        assert!(vs_at < svc_at, "the resource with the error comes first:\n{text}");
        assert!(text.find("DM0703").unwrap() < svc_at, "{text}");
    }

    #[test]
    fn sarif_has_the_required_fields() {
        let log = sarif(&report());
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "kubectl-debatemesh");
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        for r in results {
            assert!(r["message"]["text"].is_string());
            assert!(r["ruleId"].is_string());
        }
        assert_eq!(results[1]["level"], "note");
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
    }
}
