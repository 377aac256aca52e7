//! Read faults on every command: 500 and 503 retried with bounded backoff, 429 with
//! `Retry-After` honoured, a reply slower than `--request-timeout`, dropped connections and
//! expired continue tokens.

use std::time::Duration;

use super::{
    Case, all, assert_failed, assert_normal, assert_writes_reported, each, env, hits, run,
};
use crate::support::{Expiry, Fault};

/// What a command that could not read says: the verb and kind it was reading.
fn reading(case: &Case) -> &'static str {
    match case.name {
        "expose" => "failed to get Service default/my-service",
        "dashboard" => "failed to get Service istio-system/kiali",
        "unexpose" => "failed to list VirtualService in namespace default",
        "resilience" => "failed to list VirtualService in all namespaces",
        "resilience show" => "failed to list DestinationRule in all namespaces",
        "inject" => "failed to list Pod in namespace shop",
        _ => "failed to list Pod in all namespaces",
    }
}

#[test]
fn a_500_or_503_on_a_read_is_retried() {
    each(&all(), |case| {
        for code in [500, 503] {
            let env = env(case);
            env.server.fault(Fault::status(code).method("GET").path(case.read).times(2));
            assert_normal(case, &run(&env, case, &[]));
            let statuses: Vec<u16> = hits(&env, case.read).iter().map(|r| r.status).collect();
            assert_eq!(&statuses[..3], &[code, code, 200], "two failures, then a success");
        }
    });
}

#[test]
fn a_read_that_keeps_failing_gives_up_with_exit_3() {
    each(&all(), |case| {
        let env = env(case);
        env.server.fault(Fault::status(503).method("GET").path(case.read));
        let run = run(&env, case, &[]);
        if case.name == "version" {
            // As kubectl: the client version is printed, the server's is a warning.
            assert_eq!(run.code, 0);
            assert_eq!(run.stdout, "Client Version: v0.1.0\n");
            assert!(
                run.stderr.contains("warning: the server version is unknown"),
                "{}",
                run.stderr
            );
        } else {
            assert_failed(&run, 3, reading(case), &["(503)", "hint: the API server failed"]);
        }
        assert_eq!(hits(&env, case.read).len(), 4, "four attempts, then give up");
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn a_429_is_honoured_and_retried() {
    each(&all(), |case| {
        let env = env(case);
        env.server.fault(Fault::status(429).method("GET").path(case.read).retry_after(1).times(1));
        let started = std::time::Instant::now();
        assert_normal(case, &run(&env, case, &[]));
        assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was honoured");
        let statuses: Vec<u16> = hits(&env, case.read).iter().map(|r| r.status).collect();
        assert_eq!(&statuses[..2], &[429, 200]);
    });
}

#[test]
fn a_reply_slower_than_the_request_timeout_exits_3() {
    each(&all(), |case| {
        let env = env(case);
        env.server.fault(Fault::delay(Duration::from_secs(8)).method("GET").path(case.read));
        let started = std::time::Instant::now();
        let run = run(&env, case, &["--request-timeout", "2s"]);
        assert!(started.elapsed() < Duration::from_secs(8), "waited {:?}", started.elapsed());
        if case.name == "version" {
            assert_eq!(run.code, 0);
            assert!(
                run.stderr.contains("no reply within 2s (--request-timeout)"),
                "{}",
                run.stderr
            );
        } else {
            assert_failed(&run, 3, reading(case), &["no reply within 2s", "--request-timeout"]);
        }
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn a_dropped_connection_is_retried_for_reads_and_reported_when_it_persists() {
    each(&all(), |case| {
        let env = env(case);
        env.server.fault(Fault::drop_connection().method("GET").path(case.read).times(1));
        assert_normal(case, &run(&env, case, &[]));

        let env = super::env(case);
        env.server.fault(Fault::drop_connection().method("GET").path(case.read));
        let run = run(&env, case, &[]);
        if case.name == "version" {
            assert_eq!(run.code, 0);
            assert!(run.stderr.contains("closed"), "{}", run.stderr);
        } else {
            assert_failed(&run, 3, reading(case), &["closed"]);
        }
        assert_eq!(hits(&env, case.read).len(), 4, "bounded");
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn an_expired_continue_token_restarts_the_list() {
    each(&all(), |case| {
        let env = env(case);
        env.server.cap_page_size(1);
        env.server.expire_continue_tokens(Expiry::Once);
        assert_normal(case, &run(&env, case, &[]));
        let requests = env.server.requests();
        if case.name == "version" {
            assert!(requests.iter().all(|r| r.param("limit").is_none()), "version lists nothing");
            return;
        }
        let expired = requests.iter().find(|r| r.status == 410).expect("a continue token expired");
        let starts = requests
            .iter()
            .filter(|r| r.path == expired.path && r.param("continue").is_none())
            .count();
        assert_eq!(starts, 2, "the list of {} started over", expired.path);
    });
}

#[test]
fn a_continue_token_that_keeps_expiring_gives_up_with_exit_3() {
    each(&all(), |case| {
        if case.name == "version" {
            return;
        }
        let env = env(case);
        env.server.cap_page_size(1);
        env.server.expire_continue_tokens(Expiry::Always);
        let run = run(&env, case, &[]);
        if case.name == "expose" {
            // The gateway Service only gives the address to print: expose is done without it.
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert!(run.stderr.contains("warning: cannot read the gateway Service:"));
            assert!(
                run.stdout
                    .contains("virtualservice.networking.istio.io/my-service in default created")
            );
        } else {
            assert_failed(&run, 3, "failed to list", &["(410)"]);
        }
        let requests = env.server.requests();
        let expired: Vec<&str> =
            requests.iter().filter(|r| r.status == 410).map(|r| r.path.as_str()).collect();
        assert!(!expired.is_empty(), "a continue token expired");
        for path in &expired {
            let times = expired.iter().filter(|p| *p == path).count();
            assert!(times <= 4, "bounded: the list of {path} expired {times} times");
        }
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn discovery_that_keeps_failing_exits_3_before_any_write() {
    each(&all(), |case| {
        let env = env(case);
        env.server.fault(Fault::status(503).method("GET").path("/apis"));
        let run = run(&env, case, &[]);
        if hits(&env, "/apis").is_empty() {
            // Core kinds only: no discovery needed.
            assert_normal(case, &run);
            return;
        }
        assert_failed(&run, 3, "failed to discover", &["(503)"]);
        assert_eq!(hits(&env, "/apis").len(), 4, "bounded");
        assert!(env.writes().is_empty() || case.name == "inject", "{:?}", env.writes());
        assert_writes_reported(&env, &run);
    });
}
