//! `check`: its input (files, folders, stdin, the live cluster), its request pattern, its
//! output formats and exit codes. What it says about the input itself (field values Istio
//! refuses, objects defined twice) has a module of its own.

mod input;

use crate::harness::Env;

pub fn write(env: &Env, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn broken_yaml_names_the_file_and_line() {
    let env = Env::new();
    let file = write(
        &env,
        "bad.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  labels: [unclosed\n",
    );
    let run = env.run(&["check", "-f", &file]).code(2);
    let line = run.stderr.lines().next().unwrap();
    assert!(line.starts_with(&format!("error: {file}:")), "{line}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(env.server.requests().is_empty());
}

#[test]
fn documents_without_a_name_or_kind_are_errors_naming_the_line() {
    let env = Env::new();
    let file =
        write(&env, "noname.yaml", "apiVersion: v1\nkind: Service\nmetadata: {}\n---\nfoo: bar\n");
    let run = env.run(&["check", "-f", &file]).code(2);
    assert!(run.stderr.starts_with(&format!("error: {file}:1")), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn missing_paths_and_bad_flags_exit_2_with_one_line() {
    let env = Env::new();
    env.run(&["check", "-f", "/nonexistent/dir"]).code(2).one_error_line("/nonexistent/dir");
    let file = write(&env, "ok.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    env.run(&["check", "-f", &file, "--fail-on", "fatal"]).code(2).one_error_line("--fail-on");
    env.run(&["check", "-f", &file, "--suppress", "nonsense"]).code(2).one_error_line("--suppress");
    env.run(&["check", "-f", &file, "-o", "xml"]).code(2).one_error_line("-o");
    env.run(&["check", "-f", &file, "-n", "Bad_NS"]).code(2).one_error_line("Bad_NS");
    assert!(env.server.requests().is_empty());
}

#[test]
fn unknown_kinds_are_skipped_and_counted() {
    let env = Env::new();
    let file = write(
        &env,
        "mixed.yaml",
        "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: f, namespace: a}\n\
         ---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: a}\n\
         ---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    );
    let run = env.run(&["check", "-f", &file, "--no-defaults"]).ok();
    assert!(
        run.stderr.contains("skipped 2 objects of kinds this tool does not analyze"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("in 1 object\n"), "{}", run.stdout);
    let one = write(
        &env,
        "one.yaml",
        "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: f, namespace: a}\n",
    );
    let run = env.run(&["check", "-f", &one, "--no-defaults"]).ok();
    assert!(run.stderr.contains("skipped 1 object of kinds"), "{}", run.stderr);
    assert!(run.stdout.contains("in 0 objects\n"), "{}", run.stdout);
}

#[test]
fn folders_stdin_and_lists_are_read() {
    let env = Env::new();
    write(&env, "in/a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    write(&env, "in/sub/b.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n");
    write(&env, "in/notes.txt", "not a manifest");
    let dir = env.dir.path().join("in");
    let dir = dir.to_str().unwrap();
    let run = env.run(&["check", "-f", dir, "--no-defaults"]).ok();
    assert!(run.stdout.contains("in 1 object\n"), "{}", run.stdout);
    let run = env.run(&["check", "-f", dir, "-R", "--no-defaults"]).ok();
    assert!(run.stdout.contains("in 2 objects"), "{}", run.stdout);

    let list = write(
        &env,
        "list.json",
        r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}},
            {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"y"}}]}"#,
    );
    let run = env.run(&["check", "-f", &list, "--no-defaults", "-o", "json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["summary"]["objects"], 2);
}

#[test]
fn offline_defaults_are_announced_and_can_be_turned_off() {
    let env = Env::new();
    let file = write(&env, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    let run = env.run(&["check", "-f", &file]).ok();
    assert!(
        run.stderr.contains("no cluster: assuming what every Istio cluster has"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Service istio-system/istio-ingressgateway"), "{}", run.stderr);
    let run = env.run(&["check", "-f", &file, "--no-defaults"]).ok();
    assert!(!run.stderr.contains("assuming"), "{}", run.stderr);
}

#[test]
fn live_check_lists_each_kind_once_and_gets_nothing_by_name() {
    let env = Env::new();
    env.seed(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: a, image: b}]}\n",
    );
    let run = env.run(&["check", "-A", "--page-size", "1"]).ok();
    assert!(run.stdout.ends_with("objects\n"), "{}", run.stdout);
    let requests = env.server.requests();
    let lists: Vec<_> = requests.iter().filter(|r| r.param("limit").is_some()).collect();
    for r in &requests {
        assert!(r.method == "GET", "no writes: {r:?}");
        let is_discovery = r.path == "/apis" || r.path == "/api" || r.path == "/version";
        assert!(
            is_discovery || r.param("limit") == Some("1"),
            "only paginated lists: {} {:?}",
            r.path,
            r.query
        );
    }
    let pods: Vec<_> = lists.iter().filter(|r| r.path == "/api/v1/pods").collect();
    assert!(!pods.is_empty());
    assert!(pods.iter().all(|r| r.accept.contains("as=PartialObjectMetadataList")));
    // Several namespaces at one item per page: the namespaces list continues across pages.
    let ns_pages = lists.iter().filter(|r| r.path == "/api/v1/namespaces").count();
    assert!(ns_pages > 1, "pages: {ns_pages}");
}

#[test]
fn without_istio_the_core_checks_still_run_and_say_what_is_missing() {
    let env = Env::with(crate::support::TestServer::builder().without_istio());
    let run = env.run(&["check", "-A"]).ok();
    assert!(run.stderr.contains("does not serve networking.istio.io"), "{}", run.stderr);
    assert!(run.stderr.contains("does not serve security.istio.io"), "{}", run.stderr);
}

#[test]
fn sarif_output_carries_the_required_fields() {
    let env = Env::new();
    let file = write(&env, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    let run = env.run(&["check", "-f", &file, "-o", "sarif"]).ok();
    let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["runs"][0]["tool"]["driver"]["name"].is_string());
    assert!(log["runs"][0]["results"].is_array());
}

/// The examples hold the team guide's manifests with deliberate mistakes; `check` finds each.
#[test]
fn the_examples_give_the_golden_table_json_and_sarif() {
    let env = Env::new();
    let table = env.run(&["check", "-f", "examples/"]).code(1);
    crate::harness::assert_golden_text("check/examples.txt", &table.stdout);
    for code in ["DM0105", "DM0407", "DM0601", "DM0701", "DM0704"] {
        assert!(table.stdout.contains(code), "the examples' deliberate mistake {code} is found");
    }
    let json = env.run(&["check", "-f", "examples/", "-o", "json"]).code(1);
    crate::harness::assert_golden_text("check/examples.json", &json.stdout);
    let sarif = env.run(&["check", "-f", "examples/", "-o", "sarif"]).code(1);
    crate::harness::assert_golden_text("check/examples.sarif.json", &sarif.stdout);
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_sarif_required_fields(&log);
    assert!(env.server.requests().is_empty(), "files need no cluster");
}

/// The properties SARIF 2.1.0's schema requires, for the objects this log uses.
fn assert_sarif_required_fields(log: &serde_json::Value) {
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs is an array");
    assert!(!runs.is_empty());
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(driver["name"].is_string(), "tool.driver.name is required");
        let rules = driver["rules"].as_array().expect("rules");
        for rule in rules {
            assert!(rule["id"].is_string(), "reportingDescriptor.id is required");
        }
        for result in run["results"].as_array().expect("results") {
            assert!(result["message"]["text"].is_string(), "result.message is required");
            let level = result["level"].as_str().unwrap();
            assert!(["none", "note", "warning", "error"].contains(&level), "{level}");
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"], "ruleIndex points at ruleId");
            for location in result["locations"].as_array().expect("locations") {
                if let Some(physical) = location.get("physicalLocation") {
                    assert!(physical["artifactLocation"]["uri"].is_string());
                    assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
                }
            }
        }
    }
}

/// The same objects give the same findings from files and from the cluster.
#[test]
fn live_and_files_give_the_same_findings() {
    let files: Vec<String> = std::fs::read_dir("examples")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let fixture = files.join("\n---\n");
    let env = Env::new();
    env.seed(&fixture);
    let from_files = env.run(&["check", "-f", "examples/", "--no-defaults", "-o", "json"]);
    let live = env.run(&["check", "-A", "-o", "json"]);
    let findings = |text: &str| -> std::collections::BTreeSet<String> {
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {} {}", f["code"], f["resource"], f["message"]))
            .collect()
    };
    let (a, b) = (findings(&from_files.stdout), findings(&live.stdout));
    assert!(!a.is_empty());
    assert_eq!(a, b, "files and cluster disagree");
    assert_eq!(from_files.code, live.code);
}

/// `-n NS` keeps the findings about the Namespace object NS, live and from files, so a CI gate
/// on one namespace fails when its injection label asks for a revision nothing serves.
#[test]
fn scoping_to_a_namespace_keeps_the_findings_on_that_namespace() {
    let fixture = "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n\
                   metadata: {name: istio-sidecar-injector-1-20, labels: {istio.io/rev: 1-20}}\n---\n\
                   apiVersion: v1\nkind: Namespace\n\
                   metadata: {name: shop, labels: {istio.io/rev: canary}}\n---\n\
                   apiVersion: v1\nkind: Namespace\n\
                   metadata: {name: other, labels: {istio.io/rev: canary}}\n";
    let env = Env::new();
    env.seed(fixture);
    let file = write(&env, "ns.yaml", fixture);
    for args in [
        vec!["check", "-n", "shop", "-o", "json"],
        vec!["check", "-f", &file, "--no-defaults", "-n", "shop", "-o", "json"],
    ] {
        let run = env.run(&args).code(1);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let found: Vec<String> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "DM0502")
            .map(|f| f["resource"]["name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(found, ["shop"], "{args:?}: {}", run.stdout);
    }
}

/// A route bound to a gateway is resolved by the gateway's pods (here in istio-system): a
/// DestinationRule exported only to its own namespace gives them no subset, over the cluster.
#[test]
fn a_subset_the_gateway_pods_cannot_see_is_an_error_over_the_cluster() {
    let env = Env::new();
    env.seed(crate::expose::GUIDE);
    for example in ["examples/gateway.yaml", "examples/virtual-service.yaml"] {
        env.seed(&std::fs::read_to_string(example).unwrap());
    }
    let dr = write(
        &env,
        "dr.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n\
         metadata: {name: my-service-dr, namespace: default}\nspec:\n  \
         host: my-service.default.svc.cluster.local\n  exportTo: [\".\"]\n  \
         subsets: [{name: canary, labels: {version: v1}}]\n",
    );
    let run = env.run(&["check", "-f", &dr, "--use-cluster", "-A"]).code(1);
    let line = run.stdout.lines().find(|l| l.contains("DM0105")).unwrap_or_else(|| {
        panic!("DM0105 expected:\n{}", run.stdout);
    });
    assert!(line.contains("Gateway default/my-gateway in namespace istio-system"), "{line}");
    assert!(line.contains("DestinationRule default/my-service-dr defines it"), "{line}");
    assert!(run.stdout.contains("Add namespace istio-system to spec.exportTo"), "{}", run.stdout);
}
