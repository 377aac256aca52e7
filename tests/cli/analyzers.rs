//! The analyzer test grid: every `tests/analyzers/*.yaml` file holds cases of a fixture (YAML
//! with objects that pass and fail), the codes the case examines, and the exact findings of
//! those codes Istio's documented rules lead to, each case naming its source.
//!
//! ```yaml
//! cases:
//! - id: vs-gateway-missing
//!   source: https://istio.io/latest/docs/reference/config/analysis/ist0101/
//!   codes: [DM0101]          # findings of these codes must be exactly `expect`
//!   defaults: false          # add the offline defaults (ingress gateway...)?
//!   namespace: shop          # report as `check -n shop` does (everything when absent)
//!   fixture: |
//!     ...
//!   expect:
//!   - DM0101 VirtualService shop/cart
//! ```

use std::collections::BTreeSet;

use debatemesh::{
    analysis::{self, codes},
    mesh::{
        manifest::load_manifest,
        snapshot::{SnapshotBuilder, add_offline_defaults},
    },
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Grid {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    source: serde_json::Value,
    codes: Vec<String>,
    #[serde(default)]
    defaults: bool,
    fixture: String,
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

fn grid_files() -> Vec<std::path::PathBuf> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/analyzers");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/analyzers exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Runs every case; returns how many ran.
fn run_grid() -> usize {
    let mut count = 0;
    let mut failures = Vec::new();
    let mut ids = BTreeSet::new();
    for file in grid_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let grid: Grid =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in grid.cases {
            count += 1;
            assert!(ids.insert(case.id.clone()), "duplicate case id {}", case.id);
            assert!(!case.source.is_null(), "{}: every case names its source", case.id);
            for code in &case.codes {
                assert!(!codes::lookup(code).is_empty(), "{}: unknown code {code}", case.id);
            }
            // A fixture is the whole world, as `check -f` treats files.
            let mut builder = SnapshotBuilder::new();
            for kind in debatemesh::mesh::Kind::ALL {
                builder.mark_loaded(kind);
            }
            let (_, errors) =
                load_manifest(&mut builder, &format!("{}.yaml", case.id), case.fixture.as_bytes())
                    .unwrap_or_else(|e| panic!("{}: fixture does not parse: {e}", case.id));
            assert!(errors.is_empty(), "{}: fixture errors: {errors:?}", case.id);
            if case.defaults {
                add_offline_defaults(&mut builder);
            }
            let snapshot = builder.finish();
            let options =
                analysis::Options { namespace: case.namespace.clone(), ..Default::default() };
            let analysis = analysis::analyze(&snapshot, &options);
            let got: BTreeSet<String> = analysis
                .report
                .findings()
                .iter()
                .filter(|f| case.codes.iter().any(|c| c == f.code.code))
                .map(|f| format!("{} {}", f.code.code, f.resource))
                .collect();
            let want: BTreeSet<String> = case.expect.iter().cloned().collect();
            if got != want {
                let messages: Vec<String> = analysis
                    .report
                    .findings()
                    .iter()
                    .map(|f| format!("  {} {}: {}", f.code.code, f.resource, f.message))
                    .collect();
                failures.push(format!(
                    "{} ({}):\n  expected {want:?}\n  got      {got:?}\n  all findings:\n{}{}",
                    case.id,
                    file.file_name().unwrap().to_string_lossy(),
                    messages.join("\n"),
                    case.note.map(|n| format!("\n  note: {n}")).unwrap_or_default(),
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} grid cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    count
}

#[test]
fn analyzer_grid() {
    let count = run_grid();
    assert!(count > 0 || grid_files().is_empty(), "the grid ran");
}

#[test]
fn every_code_is_registered_with_an_analyzer() {
    let registered: BTreeSet<&str> =
        analysis::analyzers().iter().flat_map(|a| a.codes().iter().map(|c| c.code)).collect();
    // Families gain their analyzers one at a time: once a family has one, every live code of
    // that family must be reported by some analyzer.
    let families: BTreeSet<&str> =
        codes::ALL.iter().filter(|c| registered.contains(c.code)).map(|c| c.family()).collect();
    // The notes about a run (skipped kinds, assumed defaults, skipped analyzers) are printed
    // by `check` on stderr, not reported by an analyzer.
    let notes =
        [&codes::UNKNOWN_KINDS_SKIPPED, &codes::DEFAULTS_SUPPLIED, &codes::ANALYZER_SKIPPED];
    let unregistered: Vec<&str> = codes::ALL
        .iter()
        .filter(|c| !c.retired && families.contains(c.family()))
        .filter(|c| !notes.contains(c))
        .map(|c| c.code)
        .filter(|c| !registered.contains(c))
        .collect();
    assert!(unregistered.is_empty(), "codes no analyzer reports: {unregistered:?}");
}
