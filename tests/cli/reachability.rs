//! `can --matrix` on tests/reachability/mesh.yaml (four workloads in two namespaces, STRICT
//! mTLS, three AuthorizationPolicies): the matrix against Istio's rules and against one `can`
//! call per pair, the table and its summary, DOT and Mermaid read back statement by statement
//! (and drawn by Graphviz where `dot` is installed), `--diff-against` a DENY, the live
//! cluster, and flags that do not go together.
//!
//! Expected decisions, from Istio's authorization semantics
//! (https://istio.io/latest/docs/concepts/security/#authorization-policies): a workload with
//! ALLOW policies takes only requests one of them matches; a workload without policies takes
//! every request; DENY policies are evaluated before ALLOW ones; a client without a sidecar
//! cannot reach a workload under STRICT mTLS
//! (https://istio.io/latest/docs/reference/config/security/peer_authentication/).

mod docs;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{Env, Run};

fn fixture(name: &str) -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reachability/").to_string() + name
}

fn mesh() -> String {
    fixture("mesh.yaml")
}

/// `can --matrix -f mesh.yaml EXTRA... -o json`, parsed.
fn matrix_json(env: &Env, extra: &[&str]) -> Value {
    let mesh = mesh();
    let mut args = vec!["can", "--matrix", "-f", &mesh, "-o", "json"];
    args.extend(extra);
    let run = env.run(&args).ok();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", run.stdout))
}

/// `(from, to)` to `(decision, decidedBy)`.
fn pairs(doc: &Value) -> BTreeMap<(String, String), (String, Value)> {
    let list = doc["pairs"].as_array().expect("pairs");
    list.iter()
        .map(|p| {
            let key = (p["from"].as_str().unwrap().into(), p["to"].as_str().unwrap().into());
            (key, (p["decision"].as_str().unwrap().into(), p["decidedBy"].clone()))
        })
        .collect()
}

/// The four workloads' identities, then ingress and plaintext; the four Service ports.
const CALLERS: [&str; 6] =
    ["payments/api", "payments/ledger", "shop/cart", "shop/frontend", "ingress", "plaintext"];
const DESTINATIONS: [&str; 4] =
    ["payments/api:8080", "payments/ledger:5432", "shop/cart:80", "shop/frontend:80"];

/// Istio's answers, a row per caller in the order of [`CALLERS`], by the rules above:
/// payments/api takes callers api-from-shop names; the ledger takes payments/api on 5432;
/// the cart has no policy, so every caller with a sidecar; the frontend takes GET from the
/// ingress gateway; plaintext meets STRICT mTLS everywhere.
const EXPECTED: [[&str; 4]; 6] = [
    ["DENY", "ALLOW", "ALLOW", "DENY"],
    ["DENY", "DENY", "ALLOW", "DENY"],
    ["ALLOW", "DENY", "ALLOW", "DENY"],
    ["ALLOW", "DENY", "ALLOW", "DENY"],
    ["DENY", "DENY", "ALLOW", "ALLOW"],
    ["DENY", "DENY", "DENY", "DENY"],
];

#[test]
fn the_matrix_is_istios_answer_and_that_of_one_can_call_per_pair() {
    let env = Env::new();
    let doc = matrix_json(&env, &[]);
    assert_eq!(doc["kind"], "ReachabilityMatrix");
    let callers: Vec<&str> =
        doc["callers"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(callers, CALLERS);
    let destinations = doc["destinations"].as_array().unwrap();
    let ids: Vec<&str> = destinations.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, DESTINATIONS);
    let pairs = pairs(&doc);
    assert_eq!(pairs.len(), 24);
    for (r, from) in CALLERS.iter().enumerate() {
        for (c, to) in DESTINATIONS.iter().enumerate() {
            let got = &pairs[&(from.to_string(), to.to_string())].0;
            assert_eq!(got, EXPECTED[r][c], "{from} -> {to}");
        }
    }
    assert_eq!(doc["counts"], serde_json::json!({"ALLOW": 9, "DENY": 15, "UNKNOWN": 0}));

    // The same evaluator: each pair asked on its own gives the same decision and reason.
    let mesh = mesh();
    let mut asked = 0;
    for caller in doc["callers"].as_array().unwrap() {
        let from = match caller["kind"].as_str().unwrap() {
            "identity" => format!("ns/{}/sa/{}", caller["namespace"], caller["serviceAccount"])
                .replace('"', ""),
            other => other.to_string(),
        };
        for d in destinations {
            let to = format!("{}/svc/{}", d["namespace"], d["service"]).replace('"', "");
            let port = d["port"].to_string();
            let run = env.run(&["can", &from, &to, "--port", &port, "-f", &mesh, "-o", "json"]);
            let answer: Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("{from} {to}: {e}: {}", run.stderr));
            let key =
                (caller["id"].as_str().unwrap().to_string(), d["id"].as_str().unwrap().into());
            let (decision, by) = &pairs[&key];
            assert_eq!(answer["decision"], *decision, "{from} -> {to}");
            assert_eq!(answer["decidedBy"], *by, "{from} -> {to}");
            assert_eq!(run.code, if decision == "ALLOW" { 0 } else { 1 }, "{from} -> {to}");
            asked += 1;
        }
    }
    assert_eq!(asked, 24, "16 pairs between the workloads, and ingress and plaintext");
    assert!(env.server.requests().is_empty(), "files only: nothing is sent");
}

#[test]
fn the_table_has_a_row_per_caller_and_sums_up_when_too_wide() {
    let env = Env::new();
    let mesh = mesh();
    let run = env.run(&["can", "--matrix", "-f", &mesh]).ok();
    assert_eq!(
        run.stdout,
        "FROM              payments/api:8080   payments/ledger:5432   shop/cart:80   shop/frontend:80
payments/api      DENY                ALLOW                  ALLOW          DENY
payments/ledger   DENY                DENY                   ALLOW          DENY
shop/cart         ALLOW               DENY                   ALLOW          DENY
shop/frontend     ALLOW               DENY                   ALLOW          DENY
ingress           DENY                DENY                   ALLOW          ALLOW
plaintext         DENY                DENY                   DENY           DENY
"
    );

    // Narrower than the table: one line per destination, with the counts.
    let run = env.run_with(&["can", "--matrix", "-f", &mesh], &[("COLUMNS", "60")]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "6 callers x 4 destinations (GET / on HTTP ports, a connection on TCP ports): \
         9 ALLOW, 15 DENY, 0 UNKNOWN"
    );
    let row = |id: &str| -> Vec<String> {
        let line = lines.iter().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(row("payments/api:8080")[1..5], ["HTTP", "2", "4", "0"]);
    assert_eq!(row("payments/ledger:5432")[1..6], ["TCP", "1", "5", "0", "payments/api"]);
    assert_eq!(row("shop/cart:80")[1..5], ["HTTP", "5", "1", "0"]);
    assert!(run.stderr.contains("wider than 60 (COLUMNS)"), "{}", run.stderr);

    // A namespace: its destinations; outsiders that get the same answers share one row.
    let doc = matrix_json(&env, &["-n", "shop"]);
    let ids: Vec<&str> =
        doc["callers"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["shop/cart", "shop/frontend", "others", "ingress", "plaintext"]);
    assert_eq!(doc["callers"][2]["identities"], 2, "payments/api and payments/ledger");
    let to: BTreeSet<&str> =
        doc["pairs"].as_array().unwrap().iter().map(|p| p["to"].as_str().unwrap()).collect();
    assert_eq!(to, BTreeSet::from(["shop/cart:80", "shop/frontend:80"]));
}

/// `(caller, destination, label)` of an edge, or `(caller, destination, change)`.
type Triple = (String, String, String);

/// What an edge says: the deciding policy, or `no policy`.
fn edge_label(by: &Value) -> String {
    match by["kind"].as_str() {
        Some("policy") => format!("{}/{}", by["namespace"], by["name"]).replace('"', ""),
        Some("no-policy") => "no policy".into(),
        other => panic!("an allowed pair decided by {other:?}"),
    }
}

/// `(caller, destination, label)` of every pair that is not denied.
fn allowed_edges(doc: &Value) -> BTreeSet<Triple> {
    pairs(doc)
        .into_iter()
        .filter(|(_, (decision, _))| decision != "DENY")
        .map(|((from, to), (_, by))| (from, to, edge_label(&by)))
        .collect()
}

/// Reads a DOT quoted string at the start of `s`: its text and the rest of `s`.
fn dot_string(s: &str) -> (String, &str) {
    let mut chars = s.strip_prefix('"').unwrap_or_else(|| panic!("not a quoted id: {s}"));
    let mut out = String::new();
    loop {
        let mut it = chars.chars();
        match it.next() {
            Some('"') => return (out, it.as_str()),
            Some('\\') => {
                let next = it.next().expect("an escape is complete");
                out.push(if next == 'n' { '\n' } else { next });
            }
            Some(c) => out.push(c),
            None => panic!("unterminated string"),
        }
        chars = it.as_str();
    }
}

/// A DOT digraph read statement by statement: node ids with their labels, and edges with
/// theirs. Panics on any statement the renderer should not write.
fn read_dot(text: &str) -> (BTreeMap<String, String>, Vec<Triple>) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("digraph reachability {"));
    let (mut nodes, mut edges, mut depth) = (BTreeMap::new(), Vec::new(), 1);
    let label_of = |attrs: &str| {
        let at = attrs.find("label=").unwrap_or_else(|| panic!("no label: {attrs}"));
        dot_string(&attrs[at + 6..]).0
    };
    for line in lines {
        let line = line.trim();
        if line == "}" {
            depth -= 1;
        } else if ["graph [", "node [", "edge ["].iter().any(|p| line.starts_with(p)) {
            assert!(line.ends_with("];"), "{line}");
        } else if let Some(rest) = line.strip_prefix("subgraph ") {
            let (name, rest) = dot_string(rest);
            assert!(name.starts_with("cluster_") && rest == " {", "{line}");
            depth += 1;
        } else if line.starts_with("label=") {
            assert!(depth == 2 && line.ends_with(';'), "a cluster's label: {line}");
        } else {
            assert!(depth >= 1, "a statement after the graph closed: {line}");
            let (a, rest) = dot_string(line);
            if let Some(rest) = rest.strip_prefix(" -> ") {
                let (b, attrs) = dot_string(rest);
                assert!(attrs.starts_with(" [") && attrs.ends_with("];"), "{line}");
                edges.push((a, b, label_of(attrs)));
            } else {
                assert!(rest.starts_with(" [") && rest.ends_with("];"), "{line}");
                assert!(nodes.insert(a, label_of(rest)).is_none(), "declared twice: {line}");
            }
        }
    }
    assert_eq!(depth, 0, "braces balance");
    for (a, b, _) in &edges {
        assert!(nodes.contains_key(a) && nodes.contains_key(b), "undeclared node: {a} -> {b}");
    }
    (nodes, edges)
}

#[test]
fn dot_draws_every_allowed_pair_labelled_by_its_policy() {
    let env = Env::new();
    let mesh = mesh();
    let doc = matrix_json(&env, &[]);
    let run = env.run(&["can", "--matrix", "-f", &mesh, "-o", "dot"]).ok();
    let (nodes, edges) = read_dot(&run.stdout);
    assert_eq!(nodes.len(), CALLERS.len() + DESTINATIONS.len());
    let got: BTreeSet<Triple> = edges
        .iter()
        .map(|(a, b, label)| {
            let from = a.strip_prefix("from:").expect("a caller node").to_string();
            let to = b.strip_prefix("to:").expect("a destination node").to_string();
            (from, to, label.clone())
        })
        .collect();
    assert_eq!(got.len(), edges.len(), "one edge per pair");
    assert_eq!(got, allowed_edges(&doc));
    assert!(got.contains(&(
        "shop/cart".into(),
        "payments/api:8080".into(),
        "payments/api-from-shop".into()
    )));

    // Graphviz itself, where installed.
    if Command::new("dot").arg("-V").stderr(Stdio::null()).status().is_err() {
        return;
    }
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), run.stdout.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "dot: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "dot warns: {}", String::from_utf8_lossy(&out.stderr));
    assert!(svg.contains("<svg") && svg.contains("payments/ledger&#45;from&#45;api"), "{svg}");
}

/// A Mermaid flowchart read line by line: callers and destinations by generated id with the
/// namespace of their subgraph, and the edges with their labels. Panics on anything else.
fn read_mermaid(text: &str) -> Vec<Triple> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("---"));
    assert!(lines.next().unwrap().starts_with("title: \""));
    assert_eq!(lines.next(), Some("---"));
    assert_eq!(lines.next(), Some("flowchart LR"));
    let quoted = |s: &str| -> String {
        let inner = s.strip_prefix('"').and_then(|s| s.strip_suffix('"'));
        let inner = inner.unwrap_or_else(|| panic!("not quoted: {s}"));
        assert!(!inner.contains('"'), "a bare quote inside: {s}");
        inner.to_string()
    };
    let (mut nodes, mut edges, mut styled) = (BTreeMap::new(), Vec::new(), BTreeSet::new());
    let mut group: Option<String> = None;
    for line in lines {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("subgraph ") {
            assert!(group.is_none(), "subgraphs do not nest here: {line}");
            let (_, title) = rest.split_once('[').expect("subgraph id[title]");
            group = Some(quoted(title.strip_suffix(']').expect("]")));
        } else if line == "end" {
            assert!(group.take().is_some(), "end without subgraph");
        } else if let Some(rest) = line.strip_prefix("linkStyle ") {
            let (list, style) = rest.split_once(' ').expect("indexes then style");
            assert!(style.starts_with("stroke:#"), "{line}");
            for i in list.split(',') {
                assert!(styled.insert(i.parse::<usize>().expect("an index")), "styled twice");
            }
        } else if let Some((from, rest)) = line.split_once(" -->|").or(line.split_once(" -.->|")) {
            let (label, to) = rest.split_once("| ").expect("|label| target");
            edges.push((from.to_string(), to.to_string(), quoted(label)));
        } else {
            let (id, shape) = line.split_at(line.find(['(', '[']).expect("a node"));
            let label = match id.chars().next() {
                Some('c') => quoted(
                    shape
                        .strip_prefix("([")
                        .and_then(|s| s.strip_suffix("])"))
                        .expect("a caller is a stadium"),
                ),
                Some('d') => {
                    let inner = shape.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
                    let text = quoted(inner.expect("a destination is a box"));
                    let short = text.split(' ').next().unwrap().to_string();
                    format!("{}/{short}", group.as_deref().expect("destinations are grouped"))
                }
                _ => panic!("unexpected line: {line}"),
            };
            assert!(nodes.insert(id.to_string(), label).is_none(), "declared twice: {line}");
        }
    }
    assert!(group.is_none(), "every subgraph ends");
    assert_eq!(styled, (0..edges.len()).collect(), "every edge is coloured once");
    edges
        .into_iter()
        .map(|(a, b, label)| {
            let name = |id: &str| nodes.get(id).unwrap_or_else(|| panic!("undeclared {id}"));
            (name(&a).clone(), name(&b).clone(), label)
        })
        .collect()
}

#[test]
fn mermaid_draws_the_same_edges() {
    let env = Env::new();
    let mesh = mesh();
    let doc = matrix_json(&env, &[]);
    let run = env.run(&["can", "--matrix", "-f", &mesh, "-o", "mermaid"]).ok();
    let edges = read_mermaid(&run.stdout);
    let got: BTreeSet<_> = edges.iter().cloned().collect();
    assert_eq!(got.len(), edges.len(), "one edge per pair");
    assert_eq!(got, allowed_edges(&doc));
}

/// `can --matrix ... --diff-against deny-from-payments.yaml -o json`: `(from, to, change)`.
fn changes(run: &Run) -> Vec<Triple> {
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["kind"], "ReachabilityDiff");
    assert_eq!(doc["request"], serde_json::json!({"method": "GET", "path": "/", "headers": []}));
    let list = doc["changes"].as_array().unwrap();
    list.iter()
        .map(|c| {
            assert_eq!(c["after"]["decidedBy"]["name"], "deny-from-payments", "{c}");
            let text = |k: &str| c[k].as_str().unwrap().to_string();
            (text("from"), text("to"), text("change"))
        })
        .collect()
}

/// The DENY in shop names the payments namespace: it cuts payments' callers off the cart
/// (which took every caller), and changes nothing where they were already denied.
fn cut() -> Vec<Triple> {
    ["payments/api", "payments/ledger"]
        .iter()
        .map(|from| (from.to_string(), "shop/cart:80".to_string(), "cut".to_string()))
        .collect()
}

#[test]
fn diff_against_a_deny_lists_exactly_the_pairs_it_cuts() {
    let env = Env::new();
    let (mesh, deny) = (mesh(), fixture("deny-from-payments.yaml"));
    let args = ["can", "--matrix", "-f", &mesh, "--diff-against", &deny];
    let json = env.run(&[&args[..], &["-o", "json"]].concat()).ok();
    assert_eq!(changes(&json), cut());

    // With -n, outsiders folded into `others` before get rows of their own once the DENY
    // names their namespace: their pairs are still compared, by identity.
    let run = env.run(&[&args[..], &["-n", "shop", "-o", "json"]].concat()).ok();
    assert_eq!(changes(&run), cut());
    assert!(!run.stderr.contains("not compared"), "{}", run.stderr);

    let table = env.run(&args).ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "2 pairs change (GET / on HTTP ports, a connection on TCP ports): 2 cut off, 0 opened, \
         0 other"
    );
    assert!(lines[2].starts_with("FROM") && lines[2].contains("DECIDED BY (AFTER)"));
    assert!(
        lines[3].starts_with(
            "payments/api      shop/cart:80   ALLOW    DENY    DENY policy shop/deny-from-payments"
        ),
        "{}",
        table.stdout
    );
    assert_eq!(lines.len(), 5, "{}", table.stdout);

    // The change drawn: the two cut edges, in DOT and in Mermaid.
    let dot = env.run(&[&args[..], &["-o", "dot"]].concat()).ok();
    let (_, edges) = read_dot(&dot.stdout);
    assert_eq!(edges.len(), 2);
    assert!(edges.iter().all(|e| e.2 == "cut: shop/deny-from-payments"), "{edges:?}");
    let mermaid = env.run(&[&args[..], &["-o", "mermaid"]].concat()).ok();
    assert_eq!(read_mermaid(&mermaid.stdout).len(), 2);

    // Against itself, nothing changes.
    let same = env.run(&["can", "--matrix", "-f", &mesh, "--diff-against", &mesh]).ok();
    assert_eq!(
        same.stdout,
        "no pair changes its decision (GET / on HTTP ports, a connection on TCP ports)\n"
    );
    assert!(env.server.requests().is_empty());
}

#[test]
fn live_the_matrix_and_the_diff_are_those_of_the_files() {
    let env = Env::new();
    env.seed(&std::fs::read_to_string(mesh()).unwrap());
    let from_files = matrix_json(&env, &[]);
    let run = env.run(&["can", "--matrix", "-A", "-o", "json"]).ok();
    let live: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(pairs(&live), pairs(&from_files));
    assert!(run.stderr.contains("no ingress gateway pod"), "{}", run.stderr);
    assert!(env.writes().is_empty(), "reads only");

    // The change laid over the live state, as a pull request would show it.
    let deny = fixture("deny-from-payments.yaml");
    let run = env.run(&["can", "--matrix", "-A", "--diff-against", &deny, "-o", "json"]).ok();
    assert_eq!(changes(&run), cut());
    // -n scopes the destinations: nothing changes in payments.
    let run = env.run(&["can", "--matrix", "-n", "payments", "--diff-against", &deny]).ok();
    assert!(run.stdout.starts_with("no pair changes"), "{}", run.stdout);
    assert!(env.writes().is_empty(), "reads only");
}

#[test]
fn flags_that_do_not_go_together_exit_2_with_one_line() {
    let env = Env::new();
    let mesh = mesh();
    let cases: &[(&[&str], &str)] = &[
        (
            &["can", "--matrix", "ingress", "shop/svc/cart"],
            "'--matrix' cannot be used with '[FROM]'",
        ),
        (
            &["can", "--diff-against", "x.yaml", "ingress", "shop/svc/cart"],
            "--diff-against x.yaml needs --matrix",
        ),
        (&["can", "--diff-against", "x.yaml"], "--diff-against x.yaml needs --matrix"),
        (&["can", "-A", "ingress", "shop/svc/cart"], "-A needs --matrix"),
        (
            &["can", "ingress", "shop/svc/cart", "-o", "dot"],
            "invalid value \"dot\" for -o: dot and mermaid draw the matrix, so need --matrix",
        ),
        (&["can", "--batch", "q.txt", "-o", "mermaid"], "invalid value \"mermaid\" for -o"),
        (
            &["can", "--matrix", "-o", "yaml"],
            "invalid value \"yaml\" for -o with --matrix: use table, json, dot or mermaid",
        ),
        (&["can", "--matrix", "--batch", "q.txt"], "cannot be used with '--batch <FILE>'"),
        (&["can", "--matrix", "--host", "a.example.com"], "cannot be used with '--host <HOST>'"),
        (&["can", "--matrix", "-A", "-n", "shop"], "-A and -n cannot be used together"),
        (
            &["can", "--matrix", "--diff-against", "no-such.yaml"],
            "invalid value \"no-such.yaml\" for --diff-against: no such file or folder",
        ),
        (&["can", "--matrix", "--method", "FETCH"], "for --method"),
        (&["can", "--matrix", "--port", "0"], "for --port"),
    ];
    for (args, text) in cases {
        let args = [*args, &["-f", &mesh]].concat();
        let run = env.run(&args).code(2).one_error_line(text);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    assert!(env.server.requests().is_empty(), "nothing is read before the flags are checked");
}
