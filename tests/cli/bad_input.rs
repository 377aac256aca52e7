//! The bad-input corpus: flags and `-f` files that are wrong in every way a user can get them
//! wrong. Each exits 2 with one `error:` line naming the flag or file, the value and what is
//! allowed; flags fail before any request at all, files before any write (`check -f` sends
//! nothing). Inputs that look odd but are not bad input are listed apart, with their outcome.

use std::path::PathBuf;

use crate::harness::Env;

/// Flag cases: the command line and a part of the one error line.
const FLAGS: &[(&[&str], &str)] = &[
    (&["inject", "Bad_NS"], "invalid value \"Bad_NS\" for NS: namespaces must be at most 63"),
    (&["inject", ""], "invalid value \"\" for NS"),
    (&["inject", "shop", "--revision", "bad rev!"], "invalid value \"bad rev!\" for --revision"),
    (&["inject", "shop", "--revision", "1-22", "--ambient"], "cannot be used with '--ambient'"),
    (&["inject", "status", "Bad_NS"], "invalid value \"Bad_NS\" for NS"),
    (&["inject", "status", "-n", "Bad_NS"], "invalid value \"Bad_NS\" for --namespace"),
    (&["inject", "shop", "--dry-run=maybe"], "invalid value 'maybe' for '--dry-run[=<MODE>]'"),
    (&["check", "--fail-on", "fatal"], "invalid value \"fatal\" for --fail-on: use error"),
    (&["check", "-o", "xml"], "invalid value \"xml\" for -o: this command supports table"),
    (&["check", "--page-size", "0"], "invalid value '0' for '--page-size <N>'"),
    (&["check", "-n", "bad ns"], "invalid value \"bad ns\" for --namespace"),
    (&["check", "--istio-namespace", "Bad_NS"], "invalid value \"Bad_NS\" for --istio-namespace"),
    (&["check", "--request-timeout", "abc"], "invalid value \"abc\" for --request-timeout"),
    (&["check", "--kubeconfig", "/"], "/ is a folder, not a kubeconfig file (--kubeconfig)"),
    (&["check", "--request-timeout=-5s"], "invalid value \"-5s\" for --request-timeout"),
    (&["expose", "My_Service"], "invalid value \"My_Service\" for SVC: Service names"),
    (&["expose", "my-service", "--host", "shop"], "for --host: gateway hosts must be fully"),
    (&["expose", "my-service", "--host", "shop.example.com:80"], "hosts take no port"),
    (&["expose", "my-service", "--host", "http://shop.example.com"], "not URLs: drop the scheme"),
    (&["expose", "my-service", "--host", "foo.*.example.com"], "for --host: label \"*\""),
    (&["expose", "my-service", "--host", ""], "for --host"),
    (&["expose", "my-service", "--path", "my-service"], "for --path: paths must start with '/'"),
    (&["expose", "my-service", "--path", "/a b"], "for --path: paths must not contain spaces"),
    (&["expose", "my-service", "--port", "70000"], "for --port: ports are whole numbers from 1"),
    (&["expose", "my-service", "--port", "0"], "invalid value \"0\" for --port"),
    (&["expose", "my-service", "--tls-secret", "Bad_Secret"], "for --tls-secret: names must"),
    (
        &["expose", "my-service", "--gateway", "a/b/c"],
        "for --gateway: references are NAMESPACE/NAME",
    ),
    (&["expose", "my-service", "--api", "envoy"], "invalid value 'envoy' for '--api <API>'"),
    (&["expose", "my-service", "--gateway-selector", "istio"], "\"istio\" is not key=value"),
    (&["expose", "my-service", "--cluster-domain", "*.local"], "for --cluster-domain"),
    (&["expose", "my-service", "--rewrite", "v1"], "for --rewrite: paths must start with '/'"),
    (&["expose", "my-service", "-o", "wide"], "invalid value \"wide\" for -o"),
    (&["unexpose", "My_Service"], "invalid value \"My_Service\" for SVC"),
    (
        &["resilience", "my-service", "--retries", "-1"],
        "for --retries: attempts cannot be negative",
    ),
    (
        &["resilience", "my-service", "--retries", "abc"],
        "for --retries: attempts is a whole number",
    ),
    (&["resilience", "my-service", "--retries", "99999999999"], "for --retries"),
    (&["resilience", "my-service", "--per-try-timeout", "2"], "need a unit after each number"),
    (&["resilience", "my-service", "--per-try-timeout", "0.5ms"], "must be at least 1ms"),
    (&["resilience", "my-service", "--timeout", "10x"], "for --timeout: unknown unit \"x\""),
    (&["resilience", "my-service", "--timeout", "-1s"], "for --timeout"),
    (
        &["resilience", "my-service", "--retry-on", "5xx,teapot"],
        "\"teapot\" is not a retry condition",
    ),
    (&["resilience", "my-service", "--retry-on", ""], "for --retry-on"),
    (
        &["resilience", "my-service", "--max-connections", "-5"],
        "maxConnections must not be negative",
    ),
    (&["resilience", "my-service", "--max-pending-requests", "1e3"], "for --max-pending-requests"),
    (&["resilience", "my-service", "--max-ejection-percent", "101"], "whole numbers from 0 to 100"),
    (&["resilience", "my-service", "--max-ejection-percent", "50.5"], "for --max-ejection-percent"),
    (&["resilience", "my-service", "--consecutive-5xx-errors", "-1"], "must not be negative"),
    (
        &["resilience", "my-service", "--interval", "0s"],
        "for --interval: interval must be at least",
    ),
    (&["resilience", "my-service", "--base-ejection-time", "forever"], "durations are numbers"),
    (&["resilience", "my-service", "--preset", "extreme"], "for --preset: presets are standard"),
    (&["resilience", "My_Service", "--retries", "3"], "invalid value \"My_Service\" for SVC"),
    (&["resilience", "show", "Bad_Svc"], "invalid value \"Bad_Svc\" for SVC"),
    (&["mtls", "default", "--mode", "STRICTER"], "for --mode: modes are STRICT, PERMISSIVE"),
    (&["mtls", "default", "--mode", "STRICT", "--selector", "app"], "for --selector"),
    (&["mtls", "default", "--mode", "STRICT", "--port", "8080=LOOSE"], "\"8080=LOOSE\" for --port"),
    (&["mtls", "default", "--mode", "STRICT", "--port", "70000=STRICT"], "port \"70000\" must be"),
    (&["mtls", "Bad_NS", "--mode", "STRICT"], "invalid value \"Bad_NS\" for NS"),
    (&["mtls", "default", "--mode", "STRICT", "-o", "wide"], "invalid value \"wide\" for -o"),
    (&["allow", "app=my-service", "--from", "ns/Bad_NS"], "namespace \"Bad_NS\" is not a valid"),
    (&["allow", "app=my-service", "--from", "sa/shop"], "for --from: use ns/NAMESPACE"),
    (&["allow", "app=my-service", "--from", "cluster.local/ns/shop/sa/"], "service account \"\""),
    (&["allow", "app=my-service", "--from", "ns/shop", "--methods", "GET POST"], "for --methods"),
    (&["allow", "app=my-service", "--from", "ns/shop", "--paths", "api"], "for --paths: paths"),
    (&["allow", "app=my-service", "--from", "ns/shop", "--ports", "99999"], "for --ports"),
    (&["allow", "app=my-service", "--from", "ns/shop", "--hosts", "http://x"], "for --hosts"),
    (&["allow", "=web", "--from", "ns/shop"], "invalid value \"=web\" for TARGET"),
    (&["allow", "app=my-service"], "required arguments were not provided: --from <PEER>"),
    (&["deny", "app=my-service", "--from", "ns/shop", "--name", "Bad_Name"], "for --name"),
    (&["deny", "app=my-service", "--from", "ns/shop", "--paths", "/a b"], "for --paths"),
    (&["dashboard", "kibana"], "invalid value 'kibana' for '[ADDON]'"),
    (&["dashboard", "--port", "70000"], "invalid value \"70000\" for --port"),
    (&["dashboard", "--address", "example.com"], "for --address: use an IP address"),
    (&["dashboard", "--wait", "forever"], "invalid value \"forever\" for --wait"),
    (&["can", "ingress", "my-service", "--port", "70000"], "for --port"),
    (&["can", "ingress", "my-service", "--method", "FETCH"], "for --method"),
    (&["can", "ingress", "my-service", "--path", "api"], "for --path"),
    (&["can", "ingress", "my-service", "-H", "novalue"], "for --header"),
    (&["can", "sa/x/y/z/w", "my-service"], "for FROM"),
    (&["can", "ingress", "My_Service"], "for TO"),
    (&["can", "ingress", "my-service", "-o", "sarif"], "invalid value \"sarif\" for -o"),
    (&["can", "ingress", "my-service", "-o", "dot"], "dot and mermaid draw the matrix"),
    (&["can", "--diff-against", "new.yaml", "ingress", "my-service"], "needs --matrix"),
    (&["can", "--matrix", "-o", "yaml"], "invalid value \"yaml\" for -o with --matrix"),
    (&["can", "--matrix", "--diff-against", "no-such.yaml"], "for --diff-against: no such file"),
    (&["can", "--matrix", "--path", "api"], "for --path"),
    (&["version", "-o", "xml"], "invalid value \"xml\" for -o"),
    (&["no-such-command"], "unrecognized subcommand 'no-such-command'"),
];

/// `check -f FILE` cases, files in tests/bad_input/: the one error line names file and line.
const FILES: &[(&str, &str)] = &[
    ("empty.yaml", "no objects in the -f input: nothing but empty documents in"),
    ("only-comments.yaml", "no objects in the -f input"),
    ("truncated.yaml", "truncated.yaml:8:7: illegal placement of ':' indicator"),
    ("binary.yaml", "binary.yaml: not UTF-8 text"),
    ("deep.yaml", "deep.yaml:68:129: nested deeper than 64 levels"),
    ("alias-bomb.yaml", "alias-bomb.yaml:6:8: aliases expand to more than 100000 nodes"),
    ("duplicate-keys.yaml", "duplicate-keys.yaml:8:3: duplicate mapping key: hosts"),
    ("missing-metadata.yaml", "missing-metadata.yaml:1: DestinationRule has no metadata.name"),
    ("missing-name.yaml", "missing-name.yaml:1: DestinationRule has no metadata.name"),
    ("numeric-name.yaml", "numeric-name.yaml:1: Namespace metadata.name is a number"),
    ("missing-kind.yaml", "missing-kind.yaml:1: document has no apiVersion and kind"),
    ("not-an-object-api.yaml", "not-an-object-api.yaml:1: document has no apiVersion and kind"),
    ("scalar.yaml", "scalar.yaml:1: document is a string, not a Kubernetes object"),
    ("sequence.yaml", "sequence.yaml:1: document is a sequence, not a Kubernetes object"),
    ("bad.json", "bad.json:1:72: trailing comma"),
    ("tabs.yaml", "tabs.yaml:4:2: tabs disallowed"),
    ("unclosed-quote.yaml", "unclosed-quote.yaml:4:9: unclosed quote"),
    ("list-bad-item.yaml", "list-bad-item.yaml:7: document has no apiVersion and kind"),
];

fn corpus(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input").join(name);
    path.to_str().expect("a UTF-8 path").to_string()
}

/// Runs the cases on threads of their own and fails with all that failed.
fn each<T: Sync>(cases: &[T], f: impl Fn(&T) -> Result<(), String> + Sync) {
    // Sixteen processes at a time.
    let failures: Vec<String> = cases
        .chunks(16)
        .flat_map(|chunk| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunk.iter().map(|c| scope.spawn(|| f(c))).collect();
                let errors = handles.into_iter().filter_map(|h| h.join().expect("no panic").err());
                errors.collect::<Vec<_>>()
            })
        })
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Exit 2, one `error:` line containing `text`.
fn refused(args: &[&str], run: &crate::harness::Run, text: &str) -> Result<(), String> {
    let lines: Vec<&str> = run.stderr.lines().collect();
    if run.code != 2 || lines.len() != 1 || !lines[0].starts_with("error: ") {
        return Err(format!("{args:?}: exit {}, stderr:\n{}", run.code, run.stderr));
    }
    if !lines[0].contains(text) {
        return Err(format!("{args:?}: {:?} lacks {text:?}", lines[0]));
    }
    if !run.stdout.is_empty() {
        return Err(format!("{args:?}: stdout is not empty: {}", run.stdout));
    }
    Ok(())
}

#[test]
fn the_corpus_is_large() {
    assert!(FLAGS.len() + FILES.len() + generated().len() >= 60);
}

#[test]
fn every_bad_flag_exits_2_with_one_line_before_any_request() {
    let env = Env::new();
    env.seed(&crate::faults::fixture().replace("KIALI_PORT", "20001"));
    each(FLAGS, |(args, text)| refused(args, &env.run(args), text));
    assert!(env.server.requests().is_empty(), "{:?}", env.server.requests());
}

#[test]
fn every_bad_file_exits_2_with_one_line_naming_file_and_line() {
    let env = Env::new();
    each(FILES, |(file, text)| {
        let path = corpus(file);
        let args = ["check", "-f", path.as_str()];
        refused(&args, &env.run(&args), text)?;
        // Laid over the cluster, the files are still read before anything else.
        let args = ["check", "-f", path.as_str(), "--use-cluster"];
        refused(&args, &env.run(&args), text)
    });
    assert!(env.server.requests().is_empty(), "nothing is read or written before the files");
}

/// Inputs made at run time: too large to keep in the repository, or not files at all.
fn generated() -> Vec<(&'static str, &'static str)> {
    vec![
        ("megabytes-of-garbage", "megabytes-of-garbage.yaml:1:"),
        ("missing", "the path"),
        ("empty-folder", "no objects in the -f input: no .yaml, .yml or .json file was found"),
        ("stdin-twice", "-f - (stdin) can be given only once"),
        ("empty-stdin", "no objects in the -f input: nothing but empty documents in -"),
    ]
}

#[test]
fn generated_bad_input_exits_2_too() {
    let env = Env::new();
    let dir = env.dir.path();
    let garbage = dir.join("megabytes-of-garbage.yaml");
    std::fs::write(&garbage, format!("key: [{{a: {}\n", "x".repeat(4 << 20))).unwrap();
    std::fs::create_dir(dir.join("empty-folder")).unwrap();
    std::fs::write(dir.join("empty-folder/notes.txt"), "apiVersion: v1\n").unwrap();
    each(&generated(), |(name, text)| {
        let path = dir.join(name);
        let path = path.to_str().unwrap();
        let args: Vec<&str> = match *name {
            "megabytes-of-garbage" => vec!["check", "-f", garbage.to_str().unwrap()],
            "stdin-twice" => vec!["check", "-f", "-", "-f", "-"],
            "empty-stdin" => vec!["check", "-f", "-"],
            _ => vec!["check", "-f", path],
        };
        refused(&args, &env.run(&args), text)
    });
    assert!(env.server.requests().is_empty());
}

/// Files that look odd but are not bad input, with what they really give.
#[test]
fn odd_files_that_are_not_bad_input_give_their_real_outcome() {
    let env = Env::new();
    let check = |file: &str| env.run(&["check", "-f", &corpus(file), "--no-defaults"]);

    // Only kinds this tool does not analyze: nothing wrong with them, so exit 0, with a note.
    let run = check("unknown-kinds.yaml").ok();
    assert_eq!(run.stdout, "no problems found in 0 objects\n");
    assert_eq!(
        run.stderr,
        "note: skipped 2 objects of kinds this tool does not analyze: batch/v1 CronJob ×1, \
         example.com/v1 Widget ×1\n"
    );
    // A byte-order mark and CRLF line ends are plain YAML.
    assert_eq!(check("bom-crlf.yaml").ok().stdout, "no problems found in 1 object\n");
    // `spec: ~` is an object with nothing set.
    assert_eq!(check("null-spec.yaml").ok().stdout, "no problems found in 1 object\n");
    // check reads what objects mean; a name the API server would refuse is its to refuse.
    assert_eq!(check("bad-name.yaml").ok().stdout, "no problems found in 1 object\n");

    // Megabytes of one valid value are read like any other file.
    let big = env.dir.path().join("big.yaml");
    let value = "x".repeat(4 << 20);
    std::fs::write(&big, format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big, namespace: shop}}\ndata:\n  blob: {value}\n")).unwrap();
    let started = std::time::Instant::now();
    env.run(&["check", "-f", big.to_str().unwrap(), "--no-defaults"]).ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(env.server.requests().is_empty());
}

/// `-n` works on the commands whose first argument is a namespace too.
#[test]
fn the_namespace_flag_reaches_commands_with_a_namespace_argument() {
    let env = Env::new();
    env.seed(&crate::faults::fixture().replace("KIALI_PORT", "20001"));
    let run = env.run(&["inject", "status", "-n", "shop"]).ok();
    assert_eq!(run.stdout.lines().count(), 2, "header and shop: {}", run.stdout);
    assert!(run.stdout.contains("shop "), "{}", run.stdout);
    let run = env.run(&["mtls", "--mode", "PERMISSIVE", "-n", "shop", "--dry-run=client"]).ok();
    assert!(
        run.stdout.contains("peerauthentication.security.istio.io/default in shop"),
        "{}",
        run.stdout
    );
}
