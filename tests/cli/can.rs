//! `can` against its case tables, `tests/can/*.yaml`: every case through the real binary with
//! `-f` (one query per run, then all of a file in one `--batch` run), and each fixture seeded
//! into the test server and asked live, which must give the same answers. Then bad input.
//!
//! ```yaml
//! fixture: |                  # objects that read alike from files and from the cluster
//!   ...
//! cases:
//! - id: order-deny-before-allow
//!   rule: DENY is evaluated before ALLOW
//!   source: https://istio.io/...      # where Istio says so
//!   query: ns/foo/sa/sleep svc/httpbin --path /admin   # FROM TO [flags], as in --batch
//!   namespace: foo                    # -n, for what the query leaves out
//!   expect:
//!     decision: DENY                  # ALLOW, DENY or UNKNOWN
//!     by: policy foo/deny-admin rule 0   # or no-policy, no-allow-policy-matched,
//!                                        # peerauthentication NS/NAME, destinationrule NS/NAME,
//!                                        # rejected
//!     mtls: STRICT                    # optional: the mode at the deciding workload
//! ```

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use crate::harness::{Env, Run};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    fixture: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    rule: String,
    source: Value,
    query: String,
    #[serde(default)]
    namespace: Option<String>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: String,
    by: String,
    #[serde(default)]
    mtls: Option<String>,
}

fn tables() -> Vec<(String, Table)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/can");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/can exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let table: Table =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f.file_stem().unwrap().to_string_lossy().into_owned(), table)
        })
        .collect()
}

fn exit_code(decision: &str) -> i32 {
    match decision {
        "ALLOW" => 0,
        "DENY" => 1,
        "UNKNOWN" => 1,
        other => panic!("unknown decision {other}"),
    }
}

/// `decidedBy` in the table's words: `policy NS/NAME rule N`, `peerauthentication NS/NAME`...
fn by(decided: &Value) -> String {
    let kind = decided["kind"].as_str().unwrap_or("?");
    let target = match (decided["namespace"].as_str(), decided["name"].as_str()) {
        (Some(ns), Some(name)) => format!(" {ns}/{name}"),
        _ => String::new(),
    };
    let rule = decided["rule"].as_u64().map(|r| format!(" rule {r}")).unwrap_or_default();
    format!("{kind}{target}{rule}")
}

/// Compares one answer (the single-query document or a batch line) with the case.
fn check(case: &Case, answer: &Value) -> Result<(), String> {
    let got = (answer["decision"].as_str().unwrap_or("?"), by(&answer["decidedBy"]));
    if got.0 != case.expect.decision || got.1 != case.expect.by {
        return Err(format!(
            "{}: expected {} by {}, got {} by {} ({})",
            case.id, case.expect.decision, case.expect.by, got.0, got.1, case.rule
        ));
    }
    if let Some(mode) = &case.expect.mtls
        && answer["mtls"].as_str() != Some(mode.as_str())
    {
        return Err(format!("{}: expected mTLS {mode}, got {}", case.id, answer["mtls"]));
    }
    Ok(())
}

fn write(env: &Env, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The lines of a batch file for a table, each with its `-n`.
fn batch_text(table: &Table) -> String {
    table
        .cases
        .iter()
        .map(|c| match &c.namespace {
            Some(ns) => format!("{} -n {ns}\n", c.query),
            None => format!("{}\n", c.query),
        })
        .collect()
}

/// Checks a `--batch -o json` run against the table; returns the answers.
fn check_batch(table: &Table, run: &Run, failures: &mut Vec<String>) -> Vec<Value> {
    let answers: Vec<Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(answers.len(), table.cases.len(), "one line per query:\n{}", run.stdout);
    for (case, answer) in table.cases.iter().zip(&answers) {
        failures.extend(check(case, answer).err().map(|e| format!("batch: {e}")));
    }
    let worst = table
        .cases
        .iter()
        .map(|c| match c.expect.decision.as_str() {
            "ALLOW" => 0,
            "UNKNOWN" => 1,
            _ => 2,
        })
        .max()
        .unwrap_or(0);
    assert_eq!(run.code, [0, 1, 1][worst], "only all-ALLOW exits 0");
    answers
}

#[test]
fn case_tables_from_files_single_and_batch() {
    let env = Env::new();
    let mut failures = Vec::new();
    let mut ids = BTreeSet::new();
    let mut count = 0;
    for (name, table) in tables() {
        let fixture = write(&env, &format!("{name}.yaml"), &table.fixture);
        for case in &table.cases {
            count += 1;
            assert!(ids.insert(case.id.clone()), "duplicate case id {}", case.id);
            assert!(!case.source.is_null(), "{}: every case names its source", case.id);
            let mut args: Vec<&str> = vec!["can"];
            args.extend(case.query.split_whitespace());
            args.extend(["-f", &fixture, "-o", "json"]);
            if let Some(ns) = &case.namespace {
                args.extend(["-n", ns]);
            }
            let run = env.run(&args);
            let Ok(answer) = serde_json::from_str::<Value>(&run.stdout) else {
                failures.push(format!(
                    "{}: no JSON answer (exit {}): {}",
                    case.id, run.code, run.stderr
                ));
                continue;
            };
            failures.extend(check(case, &answer).err());
            if run.code != exit_code(&case.expect.decision) {
                failures.push(format!("{}: exit code {}", case.id, run.code));
            }
        }
        let queries = write(&env, &format!("{name}.queries"), &batch_text(&table));
        let run = env.run(&["can", "--batch", &queries, "-f", &fixture, "-o", "json"]);
        check_batch(&table, &run, &mut failures);
    }
    assert!(count >= 40, "the tables hold {count} cases");
    assert!(env.server.requests().is_empty(), "files only: nothing is sent");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn case_tables_live_give_the_same_answers() {
    let mut failures = Vec::new();
    for (name, table) in tables() {
        let env = Env::new();
        env.seed(&table.fixture);
        let fixture = write(&env, &format!("{name}.yaml"), &table.fixture);
        let queries = write(&env, &format!("{name}.queries"), &batch_text(&table));
        let live = env.run(&["can", "--batch", &queries, "-o", "json"]);
        let live_answers = check_batch(&table, &live, &mut failures);
        let files = env.run(&["can", "--batch", &queries, "-f", &fixture, "-o", "json"]);
        let file_answers: Vec<Value> =
            files.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        for (l, f) in live_answers.iter().zip(&file_answers) {
            if (&l["decision"], &l["decidedBy"]) != (&f["decision"], &f["decidedBy"]) {
                failures.push(format!("{name}: live {l} but files {f}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The `order` table's fixture, written into the scratch folder.
fn order_fixture(env: &Env) -> String {
    let table = tables().into_iter().find(|(n, _)| n == "order").expect("order table").1;
    write(env, "order.yaml", &table.fixture)
}

#[test]
fn the_tree_names_the_mtls_outcome_each_stage_and_the_decider() {
    let env = Env::new();
    let fixture = order_fixture(&env);
    let run = env
        .run(&[
            "can",
            "ns/foo/sa/sleep",
            "svc/httpbin",
            "-n",
            "foo",
            "--path",
            "/admin",
            "-f",
            &fixture,
        ])
        .code(1);
    let out = &run.stdout;
    assert!(
        out.starts_with("DENY: foo/sleep -> service foo/httpbin:8000 (HTTP GET /admin)\n"),
        "{out}"
    );
    assert!(out.contains("decided by: DENY policy foo/deny-admin rule 0\n"), "{out}");
    assert!(out.contains("└─ workload foo/httpbin-5f7c9-x1 port 8080: DENY"), "{out}");
    assert!(out.contains("mTLS    PERMISSIVE by default; client sends ISTIO_MUTUAL"), "{out}");
    let line = |stage: &str, name: &str| {
        let twig = format!("─ {stage} ");
        out.lines().find(|l| l.contains(&twig) && l.contains(name)).unwrap_or_default().to_string()
    };
    assert!(
        line("CUSTOM", "foo/ext-authz").contains("no match: rule 0: to[0].operation.paths"),
        "{out}"
    );
    assert!(line("DENY", "foo/deny-admin").ends_with("matched rule 0  <- decides"), "{out}");
    assert!(line("ALLOW", "foo/allow-sleep").contains("matched rule 0"), "{out}");
    assert!(line("AUDIT", "foo/audit-delete").contains("audit only: no match"), "{out}");

    let run = env.run(&["can", "plaintext", "foo/svc/vault", "-f", &fixture, "-o", "yaml"]).code(1);
    assert!(run.stdout.contains("decision: DENY"), "{}", run.stdout);
    assert!(run.stdout.contains("effect: bad-provider"), "{}", run.stdout);
}

#[test]
fn batch_lines_keep_order_and_read_stdin() {
    let env = Env::new();
    let fixture = order_fixture(&env);
    let queries = "# comments and blank lines are skipped\n\n\
                   ns/foo/sa/sleep svc/httpbin -n foo --path /ip\n\
                   plaintext foo/svc/httpbin --path=/ip\n\
                   ns/foo/sa/sleep foo/svc/httpbin --path /custom/x\n";
    let mut child = std::process::Command::new(crate::harness::binary())
        .args(["can", "--batch", "-", "-f", &fixture])
        .env("HOME", env.dir.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(queries.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "ALLOW\tns/foo/sa/sleep svc/httpbin -n foo --path /ip\tALLOW policy foo/allow-sleep rule 0",
            "DENY\tplaintext foo/svc/httpbin --path=/ip\tno ALLOW policy matched",
            "UNKNOWN\tns/foo/sa/sleep foo/svc/httpbin --path /custom/x\tCUSTOM policy foo/ext-authz rule 0",
        ]
    );
    assert_eq!(out.status.code(), Some(1), "a DENY among the answers gives exit 1");
}

#[test]
fn bad_input_exits_2_with_one_line_before_anything_is_read() {
    let env = Env::new();
    let bad = |args: &[&str], text: &str| {
        env.run(args).code(2).one_error_line(text);
    };
    bad(&["can", "ns/Foo/sa/sleep", "svc/httpbin"], "for FROM");
    bad(&["can", "foo/sleep", "svc/httpbin"], "callers are ns/NAMESPACE/sa/SERVICE_ACCOUNT");
    bad(&["can", "ingress", "foo/bar/baz/qux"], "for TO");
    bad(&["can", "ingress", "svc/httpbin", "--port", "0"], "for --port");
    bad(&["can", "ingress", "svc/httpbin", "--port", "http"], "for --port");
    bad(&["can", "ingress", "svc/httpbin", "--method", "get"], r#"write "GET""#);
    bad(&["can", "ingress", "svc/httpbin", "--method", "*"], "for --method");
    bad(&["can", "ingress", "svc/httpbin", "--path", "admin"], "for --path");
    bad(&["can", "ingress", "svc/httpbin", "--header", "x-user"], "for --header");
    bad(&["can", "ingress", "svc/httpbin", "--host", "*.example.com"], "for --host");
    bad(&["can", "ingress", "svc/httpbin", "-o", "wide"], "for -o");
    bad(&["can", "ingress"], "TO");
    bad(&["can", "ingress", "svc/httpbin", "--batch", "q.txt"], "cannot be used with");
    let queries = write(
        &env,
        "bad.queries",
        "ns/foo/sa/sleep svc/httpbin\nns/foo/sa/sleep svc/httpbin --verb GET\n",
    );
    bad(&["can", "--batch", &queries], "line 2 of");
    bad(&["can", "--batch", "/nonexistent/queries"], "cannot read --batch");
    let empty = write(&env, "empty.queries", "# nothing\n");
    bad(&["can", "--batch", &empty], "holds no query");
    bad(&["can", "--batch", "-", "-f", "-"], "cannot both read stdin");
    assert!(env.server.requests().is_empty(), "nothing is sent for bad input");
}

#[test]
fn queries_naming_what_the_mesh_lacks_exit_2() {
    let env = Env::new();
    let fixture = order_fixture(&env);
    let bad = |args: &[&str], text: &str| {
        let mut args = args.to_vec();
        args.extend(["-f", &fixture, "--no-defaults"]);
        env.run(&args).code(2).one_error_line(text);
    };
    bad(&["can", "ingress", "foo/svc/nope"], "service foo/nope not found");
    bad(&["can", "ingress", "foo/svc/httpbin", "--port", "9999"], "has no port 9999 (ports: 8000)");
    bad(&["can", "foo/pod/ghost", "foo/svc/httpbin"], "pod foo/ghost not found");
    let tcp = tables().into_iter().find(|(n, _)| n == "tcp").expect("tcp table").1;
    let tcp = write(&env, "tcp.yaml", &tcp.fixture);
    env.run(&["can", "ingress", "db/svc/admin", "-f", &tcp, "--no-defaults"])
        .code(2)
        .one_error_line("service db/admin has several ports (9000, 8080): give --port");
    let queries = write(&env, "lacking.queries", "ingress foo/svc/httpbin\ningress foo/svc/nope\n");
    bad(&["can", "--batch", &queries], "line 2 (ingress foo/svc/nope): service foo/nope not found");
}

#[test]
fn live_reads_the_cluster_and_cluster_failures_exit_3() {
    let env = Env::new();
    let table = tables().into_iter().find(|(n, _)| n == "identity").expect("identity table").1;
    env.seed(&table.fixture);
    let run = env.run_plugin(&["can", "plaintext", "strict/svc/api", "-o", "json"]).code(1);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(by(&answer["decidedBy"]), "peerauthentication strict/default");
    assert!(!env.lists_of("authorizationpolicies").is_empty(), "policies were listed");

    // A policy not yet applied, laid over the live state.
    let change = write(
        &env,
        "deny.yaml",
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
         metadata: {name: deny-other, namespace: strict}\n\
         spec: {action: DENY, rules: [{from: [{source: {namespaces: [other]}}]}]}\n",
    );
    let query = ["can", "ns/other/sa/x", "strict/svc/api", "-o", "json"];
    let before: Value = serde_json::from_str(&env.run(&query).code(0).stdout).unwrap();
    assert_eq!(by(&before["decidedBy"]), "policy strict/allow-all rule 0");
    let mut over = query.to_vec();
    over.extend(["-f", &change, "--use-cluster"]);
    let after: Value = serde_json::from_str(&env.run(&over).code(1).stdout).unwrap();
    assert_eq!(by(&after["decidedBy"]), "policy strict/deny-other rule 0");
    assert!(env.writes().is_empty(), "can never writes");

    let dir = tempfile::tempdir().unwrap();
    let port = crate::harness::closed_port();
    let kubeconfig =
        crate::harness::write_kubeconfig(dir.path(), "down", &format!("https://127.0.0.1:{port}"));
    let run = env.run_with(
        &["can", "ingress", "svc/web", "--kubeconfig", kubeconfig.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
}

#[test]
fn help_gives_the_exit_status_unknown_has() {
    let env = Env::new();
    let run = env.run(&["can", "--help"]).ok();
    assert!(run.stdout.contains("1 DENY or UNKNOWN"), "{}", run.stdout);
    assert!(!run.stdout.contains("4 UNKNOWN"), "no exit status 4 exists: {}", run.stdout);
}

#[test]
fn live_bare_pods_answer_as_their_own_service_account() {
    let env = Env::new();
    env.seed(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\n\
         spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: api-0, namespace: shop,\n\
           labels: {app: api, security.istio.io/tlsMode: istio},\n\
           annotations: {sidecar.istio.io/status: '{}'}}\n\
         spec: {serviceAccountName: api, containers: [{name: app, ports: [{containerPort: 8080}]}]}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: reporter, namespace: shop,\n\
           labels: {security.istio.io/tlsMode: istio}, annotations: {sidecar.istio.io/status: '{}'}}\n\
         spec: {serviceAccountName: reporter, containers: [{name: app}, {name: istio-proxy}]}\n---\n\
         apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
         metadata: {name: only-reporter, namespace: shop}\n\
         spec: {selector: {matchLabels: {app: api}},\n\
           rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/reporter]}}]}]}\n",
    );
    // The pod list carries metadata only; the bare pod's account comes from one full list of
    // the pods of its namespace, not from a read per pod.
    let run = env.run(&["can", "shop/pod/reporter", "shop/svc/api", "-o", "json"]).code(0);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(by(&answer["decidedBy"]), "policy shop/only-reporter rule 0", "{}", run.stdout);
    let requests = env.server.requests();
    let pods: Vec<_> = requests.iter().filter(|r| r.path.contains("/pods")).collect();
    assert!(pods.iter().all(|r| r.method == "GET"), "can never writes");
    assert!(!pods.iter().any(|r| r.path.ends_with("/pods/reporter")), "no read per pod");
    let full: Vec<_> =
        pods.iter().filter(|r| !r.accept.contains("PartialObjectMetadata")).collect();
    assert_eq!(
        full.len(),
        1,
        "one full list: {:?}",
        full.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(full[0].path, "/api/v1/namespaces/shop/pods");
}

#[test]
fn the_tree_says_why_the_client_sends_plaintext_and_when_nothing_enforces_policy() {
    let env = Env::new();
    let bare = crate::mtls::workload("shop", "web", "app: web", "web", false, 8080);
    let meshed = crate::mtls::workload("shop", "api", "app: api", "api", true, 9090);
    let fixture = write(
        &env,
        "shop.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\n{bare}\n---\n{meshed}\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: shop}}\n\
             spec: {{selector: {{app: web}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: {{name: api, namespace: shop}}\n\
             spec: {{selector: {{app: api}}, ports: [{{name: http, port: 80, targetPort: 9090}}]}}\n---\n\
             apiVersion: networking.istio.io/v1\nkind: DestinationRule\n\
             metadata: {{name: no-tls, namespace: shop}}\n\
             spec: {{host: api, trafficPolicy: {{tls: {{mode: DISABLE}}}}}}\n---\n\
             apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
             metadata: {{name: only-api, namespace: shop}}\n\
             spec: {{rules: [{{from: [{{source: {{principals: [cluster.local/ns/shop/sa/api]}}}}]}}]}}\n"
        ),
    );
    let run = env.run(&["can", "plaintext", "shop/svc/web", "-f", &fixture]).ok();
    let out = &run.stdout;
    assert!(
        out.contains(
            "decided by: the server has no sidecar, so nothing enforces authorization policies \
             there: every request gets in"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "mTLS    none: the server has no sidecar; client sends PLAINTEXT (the client has no \
             sidecar)"
        ),
        "{out}"
    );

    let run = env.run(&["can", "ns/shop/sa/api", "shop/svc/api", "-f", &fixture]);
    assert!(
        run.stdout
            .contains("client sends PLAINTEXT (destinationrule shop/no-tls sets tls.mode DISABLE)"),
        "{}",
        run.stdout
    );
}
