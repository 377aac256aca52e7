//! `can --matrix`: who may call whom, from policy alone. Every caller identity of the
//! Snapshot (service account, with or without a proxy), the ingress gateway and a plaintext
//! client, against every Service port in scope, for one representative request, each pair
//! decided by `authz::evaluate` as `can FROM TO` decides it. `--diff-against PATH` computes the
//! matrix again with the files in PATH laid over the input and lists the pairs whose decision
//! changes.
//!
//! Output: a table (a summary of counts per destination when wider than the terminal), JSON,
//! Graphviz DOT or Mermaid. Exit status: 0 whatever the answers (a matrix is an answer, not a
//! check), 2 for bad input, 3 when the cluster cannot be read.

mod callers;
mod classes;
mod compute;
mod diff;
pub mod lost;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde_json::{Value, json};

pub use compute::{Matrix, Probe, Scope};

use self::callers::Caller;
use self::compute::Cell;
use super::input;
use crate::cli::{CanArgs, GlobalArgs};
use crate::error::{ExitStatus, UsageError};
use crate::mesh::validate::{
    ResultExt, ValidationError, parse_header, parse_method, parse_port, validate_request_path,
};
use crate::output::graph::{self, Edge, EdgeStyle, Picture};
use crate::output::matrix::{self as render, CellView, Change, Grid, Node, UNKNOWN_WIDTH, Width};
use crate::output::{Format, Ui};

/// Runs `can --matrix`.
pub async fn run(global: &GlobalArgs, args: CanArgs, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    let format = format(global.output.as_deref())?;
    let probe = probe(&args)?;
    if args.all_namespaces && global.namespace.is_some() {
        return Err(UsageError::new("-A and -n cannot be used together").into());
    }
    check_paths(&args.diff_against, &args.input.files)?;

    let input = input::load_with_accounts(global, &args.input, ui).await?;
    // Live, the current namespace unless -A; from files, everything unless -n.
    let scope = match (&global.namespace, args.all_namespaces, input.live) {
        (_, true, _) | (None, false, false) => Scope::All,
        (Some(ns), false, _) => Scope::Namespace(ns.clone()),
        (None, false, true) => Scope::Namespace(input.namespace.clone()),
    };
    let layer = match args.diff_against.is_empty() {
        true => None,
        false => Some(input::read_layer(&args.diff_against, &args.input, &input.namespace)?.0),
    };
    let compute = |snapshot| {
        Matrix::compute(snapshot, &scope, &probe).map_err(|e| UsageError::new(e.to_string()))
    };
    let before = compute(&input.snapshot)?;
    notes(&before, &probe, &scope, ui);
    let asked = Asked { text: describe(&probe, &before), probe: &probe, scope: &scope };

    let Some(layer) = layer else {
        let view = View::of(&before);
        render_matrix(&view, &before, format, &asked, ui)?;
        return Ok(ExitStatus::Success);
    };
    let after = compute(&input.snapshot.clone().overlay(layer))?;
    let changes = diff::diff(&before, &after);
    let paths: Vec<String> = args.diff_against.iter().map(|p| p.display().to_string()).collect();
    render_diff(&before, &after, &changes, format, &paths.join(", "), &asked, ui)?;
    Ok(ExitStatus::Success)
}

fn format(flag: Option<&str>) -> Result<Format, UsageError> {
    let allowed = [Format::Table, Format::Json, Format::Dot, Format::Mermaid];
    match flag {
        None => Ok(Format::Table),
        Some(f) => allowed.into_iter().find(|a| a.name() == f.trim()).ok_or_else(|| {
            UsageError::new(format!(
                "invalid value {f:?} for -o with --matrix: use table, json, dot or mermaid"
            ))
        }),
    }
}

/// The representative request, validated as `can` validates its flags.
fn probe(args: &CanArgs) -> Result<Probe, ValidationError> {
    let method = match args.method.as_deref() {
        Some("*") => {
            return Err(ValidationError::new("--method", "*", "give one method, e.g. GET"));
        }
        Some(m) => Some(parse_method(m).for_flag("--method")?.to_string()),
        None => None,
    };
    if let Some(p) = &args.path {
        validate_request_path(p).for_flag("--path")?;
    }
    let headers = (args.headers.iter())
        .map(|h| parse_header(h).for_flag("--header"))
        .collect::<Result<Vec<_>, _>>()?;
    let port = args.port.as_deref().map(|p| parse_port(p).for_flag("--port")).transpose()?;
    Ok(Probe { method, path: args.path.clone(), headers, port })
}

fn check_paths(paths: &[PathBuf], files: &[PathBuf]) -> Result<(), UsageError> {
    let stdin = |list: &[PathBuf]| list.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin(paths) + stdin(files) > 1 {
        return Err(UsageError::new("only one of -f and --diff-against can read - (stdin), once"));
    }
    match paths.iter().find(|p| p.as_os_str() != "-" && !p.exists()) {
        Some(p) => Err(UsageError::new(format!(
            "invalid value {:?} for --diff-against: no such file or folder",
            p.display().to_string()
        ))),
        None => Ok(()),
    }
}

/// What every pair is asked, and where.
struct Asked<'a> {
    /// The request in words, such as `GET /`.
    text: String,
    probe: &'a Probe,
    scope: &'a Scope,
}

impl Asked<'_> {
    /// `request` and `scope`, as JSON.
    fn json(&self) -> [(&'static str, Value); 2] {
        let probe = self.probe;
        let headers: Vec<String> = probe.headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let request = json!({"method": probe.method.as_deref().unwrap_or("GET"),
                             "path": probe.path.as_deref().unwrap_or("/"), "headers": headers});
        let scope = match self.scope {
            Scope::All => json!({"allNamespaces": true}),
            Scope::Namespace(ns) => json!({"namespace": ns}),
        };
        [("request", request), ("scope", scope)]
    }
}

/// `GET /`, and how TCP ports are asked when there are any.
fn describe(probe: &Probe, m: &Matrix) -> String {
    let tcp = m.columns.iter().filter(|c| c.protocol == "TCP").count();
    match (tcp, m.columns.len() - tcp) {
        (0, _) => probe.describe(),
        (_, 0) => "a TCP connection".to_string(),
        _ => format!("{} on HTTP ports, a connection on TCP ports", probe.describe()),
    }
}

fn notes(m: &Matrix, probe: &Probe, scope: &Scope, ui: &mut Ui) {
    if !m.skipped.is_empty() {
        let (n, list) = (m.skipped.len(), m.skipped.join(", "));
        let what = if n == 1 { "Service has" } else { "Services have" };
        ui.note(&format!("{n} {what} no workloads behind them and are left out: {list}"));
    }
    if m.ingress.1 {
        ui.note(&format!("no ingress gateway pod: the ingress row assumes {}", m.ingress.0));
    }
    if m.tests_addresses() {
        ui.note(
            "some policies test source or remote addresses, which an identity does not carry: \
             those rules are taken as not matching; ask can NS/pod/NAME for one pod",
        );
    }
    let http_given = probe.method.is_some() || probe.path.is_some() || !probe.headers.is_empty();
    if http_given && m.columns.iter().any(|c| c.protocol == "TCP") {
        ui.note("TCP ports are asked a connection: method, path and headers play no part there");
    }
    if m.columns.is_empty() {
        let place = match scope {
            Scope::All => "the input".to_string(),
            Scope::Namespace(ns) => format!("namespace {ns}"),
        };
        ui.note(&format!("no Service port with workloads behind it in {place}"));
    }
}

/// The matrix as the renderers read it.
struct View<'a> {
    matrix: &'a Matrix,
    callers: Vec<Node>,
    destinations: Vec<Node>,
}

impl<'a> View<'a> {
    fn of(m: &'a Matrix) -> View<'a> {
        let callers = m.rows.iter().map(|r| caller_node(m, r)).collect();
        let destinations = m.columns.iter().map(destination_node).collect();
        View { matrix: m, callers, destinations }
    }
}

fn caller_node(m: &Matrix, r: &callers::Row) -> Node {
    let namespace = match r.caller {
        Caller::Identity(i) => Some(m.identities.list[i as usize].namespace.clone()),
        _ => None,
    };
    Node { id: r.id.clone(), label: r.label.clone(), namespace, detail: "" }
}

fn destination_node(c: &compute::Column) -> Node {
    Node {
        id: c.id.clone(),
        label: c.id.clone(),
        namespace: Some(c.namespace.clone()),
        detail: c.protocol,
    }
}

fn view(cell: &Cell) -> CellView<'_> {
    CellView {
        decision: cell.decision.as_str(),
        consistent: cell.consistent,
        edge: &cell.edge,
        by: &cell.decided_by.text,
        by_json: &cell.by_json,
    }
}

impl Grid for View<'_> {
    fn callers(&self) -> &[Node] {
        &self.callers
    }

    fn destinations(&self) -> &[Node] {
        &self.destinations
    }

    fn cell(&self, caller: usize, destination: usize) -> CellView<'_> {
        view(self.matrix.cell(caller, destination))
    }
}

fn render_matrix(
    view: &View<'_>,
    m: &Matrix,
    format: Format,
    asked: &Asked<'_>,
    ui: &mut Ui,
) -> anyhow::Result<()> {
    let request = asked.text.as_str();
    let title = format!("who may call whom ({request}) in {}", scope_words(asked.scope));
    match format {
        Format::Json => {
            let counts = render::total(&render::column_counts(view));
            let head = head(m, asked, counts);
            render::json(ui.out(), &head, view)?;
        }
        Format::Dot | Format::Mermaid => {
            let picture =
                Picture { title: &title, callers: &view.callers, destinations: &view.destinations };
            let mut edges = allowed_edges(view);
            match format {
                Format::Dot => graph::dot(ui.out(), &picture, &mut edges)?,
                _ => graph::mermaid(ui.out(), &picture, &mut edges)?,
            }
        }
        _ if m.columns.is_empty() => {}
        _ => {
            let width = render::table_width(view);
            let (limit, source) = match render::terminal_width() {
                Width::Columns(n) => (n, "COLUMNS"),
                Width::Terminal(n) => (n, "the terminal"),
                Width::Unknown => (UNKNOWN_WIDTH, "output that is not a terminal"),
            };
            if width <= limit {
                ui.text(&render::table(view, ui.color()))?;
            } else {
                let counts = render::column_counts(view);
                ui.text(&render::summary(view, request, &counts))?;
                ui.note(&format!(
                    "the matrix is {width} characters wide, wider than {limit} ({source}): \
                     one line per destination; -n NS narrows it, COLUMNS={width} shows it whole, \
                     -o json lists every pair"
                ));
            }
        }
    }
    Ok(())
}

fn scope_words(scope: &Scope) -> String {
    match scope {
        Scope::All => "every namespace".to_string(),
        Scope::Namespace(ns) => format!("namespace {ns}"),
    }
}

/// Every pair that is not denied, as an edge.
fn allowed_edges<'a>(view: &'a View<'a>) -> impl Iterator<Item = Edge<'a>> + 'a {
    let columns = view.destinations.len();
    (0..view.callers.len()).flat_map(move |r| {
        (0..columns).filter_map(move |c| {
            let cell = view.matrix.cell(r, c);
            let style = match cell.decision.as_str() {
                "ALLOW" => EdgeStyle::Allow,
                "UNKNOWN" => EdgeStyle::Unknown,
                _ => return None,
            };
            Some(Edge { from: r, to: c, label: &cell.edge, style })
        })
    })
}

/// The JSON fields before `pairs`.
fn head(m: &Matrix, asked: &Asked<'_>, counts: render::Counts) -> Vec<(&'static str, Value)> {
    let callers: Vec<Value> = m
        .rows
        .iter()
        .map(|r| match &r.caller {
            Caller::Identity(i) => {
                let id = &m.identities.list[*i as usize];
                json!({"id": r.id, "kind": "identity", "namespace": id.namespace,
                       "serviceAccount": id.service_account, "sidecar": id.proxy,
                       "workloads": id.workloads})
            }
            Caller::Others { count, .. } => {
                json!({"id": r.id, "kind": "others", "identities": count})
            }
            Caller::Ingress => json!({"id": r.id, "kind": "ingress", "identity": m.ingress.0,
                                      "assumed": m.ingress.1}),
            Caller::Plaintext => json!({"id": r.id, "kind": "plaintext"}),
        })
        .collect();
    let destinations: Vec<Value> = m
        .columns
        .iter()
        .map(|c| {
            json!({"id": c.id, "namespace": c.namespace, "service": c.service, "port": c.port,
                   "portName": c.port_name, "protocol": c.protocol, "workloads": c.workloads})
        })
        .collect();
    let mut head = vec![("kind", json!("ReachabilityMatrix"))];
    head.extend(asked.json());
    head.extend([
        ("counts", json!({"ALLOW": counts.allow, "DENY": counts.deny, "UNKNOWN": counts.unknown})),
        ("skipped", json!(m.skipped)),
        ("callers", Value::Array(callers)),
        ("destinations", Value::Array(destinations)),
    ]);
    head
}

fn render_diff(
    before: &Matrix,
    after: &Matrix,
    d: &diff::Diff,
    format: Format,
    paths: &str,
    asked: &Asked<'_>,
    ui: &mut Ui,
) -> anyhow::Result<()> {
    let request = asked.text.as_str();
    let changes: Vec<Change<'_>> = d
        .changes
        .iter()
        .map(|c| {
            let caller = &d.callers[c.caller];
            Change {
                from: &caller.id,
                to: &after.columns[c.after].id,
                before: view(before.cell_of(&caller.before, c.before)),
                after: view(after.cell_of(&caller.after, c.after)),
            }
        })
        .collect();
    let side = |what: &str, added: &[String], removed: &[String], ui: &mut Ui| {
        if !added.is_empty() {
            ui.note(&format!("{what} only after (not compared): {}", added.join(", ")));
        }
        if !removed.is_empty() {
            ui.note(&format!("{what} only before (not compared): {}", removed.join(", ")));
        }
    };
    side("callers", &d.callers_added, &d.callers_removed, ui);
    side("destinations", &d.destinations_added, &d.destinations_removed, ui);
    match format {
        Format::Json => {
            let mut head = vec![("kind", json!("ReachabilityDiff"))];
            head.extend(asked.json());
            head.extend([
                ("against", json!(paths)),
                ("callers", json!({"added": d.callers_added, "removed": d.callers_removed})),
                (
                    "destinations",
                    json!({"added": d.destinations_added,
                                        "removed": d.destinations_removed}),
                ),
            ]);
            render::diff_json(ui.out(), &head, &changes)?;
        }
        Format::Dot | Format::Mermaid => {
            let (callers, destinations, edges) = changed_graph(after, d, &changes);
            let title = format!("what {paths} changes ({request})");
            let picture = Picture { title: &title, callers: &callers, destinations: &destinations };
            let mut edges = edges.into_iter();
            match format {
                Format::Dot => graph::dot(ui.out(), &picture, &mut edges)?,
                _ => graph::mermaid(ui.out(), &picture, &mut edges)?,
            }
        }
        _ => ui.text(&render::diff_table(&changes, request, ui.color()))?,
    }
    Ok(())
}

/// The callers and destinations the changes involve, and one edge per change.
fn changed_graph<'a>(
    after: &Matrix,
    d: &diff::Diff,
    changes: &[Change<'a>],
) -> (Vec<Node>, Vec<Node>, Vec<Edge<'a>>) {
    let mut rows: Vec<usize> = d.changes.iter().map(|c| c.caller).collect();
    let mut columns: Vec<usize> = d.changes.iter().map(|c| c.after).collect();
    rows.sort_unstable();
    rows.dedup();
    columns.sort_unstable();
    columns.dedup();
    let callers = (rows.iter().map(|&r| &d.callers[r]))
        .map(|c| Node {
            id: c.id.clone(),
            label: c.id.clone(),
            namespace: c.namespace.clone(),
            detail: "",
        })
        .collect();
    let destinations = columns.iter().map(|&c| destination_node(&after.columns[c])).collect();
    let edges = (d.changes.iter().zip(changes))
        .map(|(at, change)| {
            let style = match render::change_kind(change) {
                "cut" => EdgeStyle::Cut,
                "opened" => EdgeStyle::Opened,
                _ => EdgeStyle::Changed,
            };
            Edge {
                from: rows.binary_search(&at.caller).unwrap_or(0),
                to: columns.binary_search(&at.after).unwrap_or(0),
                label: change.after.edge,
                style,
            }
        })
        .collect();
    (callers, destinations, edges)
}
