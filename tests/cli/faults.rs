//! The fault matrix: every command against the test server's injected faults. Each case
//! asserts the exit code, the key line of the message, and that no write is left unreported.

use std::time::Duration;

use crate::{
    harness::{Env, Run, closed_port, write_kubeconfig},
    support::{Expiry, Fault, Forbid, TestServer},
};

const FIXTURE: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
    apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: shop}\nspec: {containers: [{name: a, image: b}]}\n---\n\
    apiVersion: v1\nkind: Pod\nmetadata: {name: p2, namespace: shop}\nspec: {containers: [{name: a, image: b}]}\n";

/// The reading and writing commands of the matrix, and how each reads pods.
const COMMANDS: &[(&str, &[&str])] = &[
    ("inject", &["inject", "shop"]),
    ("inject status", &["inject", "status", "-A"]),
    ("check", &["check", "-A"]),
];

fn env() -> Env {
    let env = Env::new();
    env.seed(FIXTURE);
    env
}

fn pods_path(command: &str) -> &'static str {
    if command == "inject" { "/api/v1/namespaces/shop/pods" } else { "/api/v1/pods" }
}

#[track_caller]
fn assert_message(run: &Run, first: &str, also: &[&str]) {
    let line = run.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(line.contains(first), "first error line {line:?} lacks {first:?}\n{}", run.stderr);
    for text in also {
        assert!(run.stderr.contains(text), "stderr lacks {text:?}:\n{}", run.stderr);
    }
}

#[test]
fn a_500_or_503_on_a_read_is_retried() {
    for (name, args) in COMMANDS {
        for code in [500, 503] {
            let env = env();
            env.server.fault(Fault::status(code).method("GET").path(pods_path(name)).times(2));
            env.run(args).ok();
            let hits = env.server.requests().iter().filter(|r| r.path == pods_path(name)).count();
            assert_eq!(hits, 3, "{name}: two failures then a success");
        }
    }
}

#[test]
fn a_read_that_keeps_failing_gives_up_with_exit_3() {
    for (name, args) in COMMANDS {
        let env = env();
        env.server.fault(Fault::status(503).method("GET").path(pods_path(name)));
        let run = env.run(args).code(3);
        assert_message(&run, "failed to list Pod", &["(503)", "hint: the API server failed"]);
        let hits = env.server.requests().iter().filter(|r| r.path == pods_path(name)).count();
        assert!(hits <= 4, "{name}: bounded retries, got {hits}");
        if *name == "inject" {
            // The label was written before the pods were read; it is reported, not hidden.
            assert!(
                run.stdout.contains("namespace/shop labeled") || env.writes().is_empty(),
                "{}",
                run.stdout
            );
        }
    }
}

#[test]
fn a_429_is_honoured_and_retried() {
    for (name, args) in COMMANDS {
        let env = env();
        env.server
            .fault(Fault::status(429).method("GET").path(pods_path(name)).retry_after(1).times(1));
        env.run(args).ok();
        let hits: Vec<_> =
            env.server.requests().into_iter().filter(|r| r.path == pods_path(name)).collect();
        assert_eq!(hits.len(), 2, "{name}");
        assert_eq!(hits[0].status, 429);
    }
}

#[test]
fn a_401_names_the_credentials() {
    for (_, args) in COMMANDS {
        let env = env();
        let config = env.dir.path().join("wrong-token");
        let text = std::fs::read_to_string(&env.kubeconfig)
            .unwrap()
            .replace(crate::harness::TOKEN, "not-the-token");
        std::fs::write(&config, text).unwrap();
        let mut args = args.to_vec();
        args.extend(["--kubeconfig", config.to_str().unwrap()]);
        let run = env.run(&args).code(3);
        assert_message(&run, "failed to", &["(401)", "rejected the credentials"]);
        assert!(env.writes().iter().all(|w| w.status == 401));
    }
}

#[test]
fn a_403_names_verb_resource_group_namespace_and_the_can_i_line() {
    let env = Env::with(
        TestServer::builder().forbid(Forbid::user("alice").verb("list").resource("pods")),
    );
    env.seed(FIXTURE);
    let run = env.run(&["check", "-A"]).code(3);
    assert_message(
        &run,
        "failed to list Pod in all namespaces",
        &[
            "cannot list resource \"pods\" in API group \"\"",
            "hint: check your permissions: kubectl auth can-i list pods -A",
        ],
    );
    let run = env.run(&["inject", "shop"]).code(3);
    assert_message(
        &run,
        "failed to list Pod in namespace shop",
        &["kubectl auth can-i list pods -n shop"],
    );
    assert!(
        run.stdout.contains("namespace/shop labeled"),
        "the write before the failure is reported: {}",
        run.stdout
    );

    let env = Env::with(
        TestServer::builder().forbid(Forbid::user("alice").verb("update").resource("namespaces")),
    );
    env.seed(FIXTURE);
    let run = env.run(&["inject", "shop"]).code(1);
    assert!(run.stdout.contains("namespace/shop failed"), "{}", run.stdout);
    assert!(run.stdout.contains("kubectl auth can-i update namespaces"), "{}", run.stdout);
}

#[test]
fn a_409_on_a_write_is_retried_on_fresh_data() {
    let env = env();
    env.server.fault(Fault::status(409).method("PUT").path("/api/v1/namespaces/shop").times(2));
    env.run(&["inject", "shop"]).ok();
    let puts = env.server.requests().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 3);
    assert_eq!(env.labels("namespaces", "", "shop")["istio-injection"], "enabled");

    let env = self::env();
    env.server.fault(Fault::status(409).method("PUT").path("/api/v1/namespaces/shop"));
    let run = env.run(&["inject", "shop"]).code(1);
    assert!(run.stdout.contains("namespace/shop failed"), "{}", run.stdout);
    assert!(run.stdout.contains("kept changing"), "{}", run.stdout);
    let puts = env.server.requests().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 5, "bounded");
}

#[test]
fn an_expired_continue_token_restarts_the_list() {
    for args in
        [&["inject", "status", "-A", "--page-size", "1"][..], &["check", "-A", "--page-size", "1"]]
    {
        let env = env();
        env.server.expire_continue_tokens(Expiry::Once);
        env.run(args).ok();
        let requests = env.server.requests();
        let expired = requests.iter().find(|r| r.status == 410).unwrap_or_else(|| {
            panic!(
                "no 410: {:?}",
                requests
                    .iter()
                    .map(|r| (&r.path, r.status, r.param("continue").is_some()))
                    .collect::<Vec<_>>()
            )
        });
        let restarted = requests
            .iter()
            .filter(|r| r.path == expired.path && r.param("continue").is_none())
            .count();
        assert_eq!(restarted, 2, "{args:?}: the list of {} started over", expired.path);
    }
}

#[test]
fn a_reply_slower_than_the_request_timeout_exits_3() {
    for (name, args) in COMMANDS {
        let env = env();
        env.server.fault(Fault::delay(Duration::from_secs(5)).method("GET").path(pods_path(name)));
        let mut args = args.to_vec();
        args.extend(["--request-timeout", "1s"]);
        let started = std::time::Instant::now();
        let run = env.run(&args).code(3);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} waited {:?}",
            started.elapsed()
        );
        assert_message(&run, "failed to list Pod", &["no reply within 1s", "--request-timeout"]);
    }
}

#[test]
fn a_dropped_connection_is_retried_for_reads_and_reported_when_it_persists() {
    for (name, args) in COMMANDS {
        let env = env();
        env.server.fault(Fault::drop_connection().method("GET").path(pods_path(name)).times(1));
        env.run(args).ok();
        let env = self::env();
        env.server.fault(Fault::drop_connection().method("GET").path(pods_path(name)));
        let run = env.run(args).code(3);
        assert_message(&run, "failed to list Pod", &["closed"]);
    }
}

#[test]
fn a_dropped_write_is_not_repeated_blindly() {
    let env = env();
    env.server.fault(Fault::drop_connection().method("PUT"));
    let run = env.run(&["inject", "shop"]).code(1);
    assert!(run.stdout.contains("namespace/shop failed"), "{}", run.stdout);
    let puts = env.server.requests().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 1, "the write is sent once");
}

#[test]
fn a_refused_connection_and_an_unknown_ca_exit_3() {
    let env = env();
    let down =
        write_kubeconfig(env.dir.path(), "down", &format!("https://127.0.0.1:{}", closed_port()));
    for (_, args) in COMMANDS {
        let mut a = args.to_vec();
        a.extend(["--kubeconfig", down.to_str().unwrap()]);
        let run = env.run(&a).code(3);
        assert_message(&run, "failed to", &["cannot connect to the API server"]);
    }

    let untrusted =
        TestServer::builder().https_unknown_ca().token(crate::harness::TOKEN, "alice").start();
    untrusted.apply_yaml(FIXTURE);
    let config = untrusted.write_kubeconfig_in(
        env.dir.path(),
        crate::support::KubeUser::Token(crate::harness::TOKEN.into()),
        "default",
    );
    for (_, args) in COMMANDS {
        let mut a = args.to_vec();
        a.extend(["--kubeconfig", config.to_str().unwrap()]);
        let run = env.run(&a).code(3);
        assert_message(&run, "failed to", &["TLS handshake", "certificate"]);
    }
    assert!(untrusted.requests().iter().all(|r| !r.reached_handler), "nothing reached a handler");
}

#[test]
fn networking_served_only_as_v1beta1_still_works() {
    let env = Env::with(TestServer::builder().legacy_istio());
    env.seed(FIXTURE);
    env.seed("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: vs, namespace: shop}\nspec: {hosts: [a]}\n");
    let run = env.run(&["check", "-A", "-o", "json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(doc["summary"]["objects"].as_u64().unwrap() >= 4, "{doc}");
    let lists: Vec<_> = env
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("networking.istio.io"))
        .collect();
    assert!(
        lists.iter().all(|r| r.path.contains("/v1beta1/")),
        "{:?}",
        lists.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}
