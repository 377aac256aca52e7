//! Write faults on every command that writes: a 500 is not blindly repeated, a 429 is, a 409
//! gets a fresh read or names the other manager, a dropped or slow write is reported, and a
//! refused write names the verb and the `kubectl auth can-i` line.

use std::time::Duration;

use super::{
    Case, Run, assert_failed, assert_normal, assert_writes_reported, each, env, run, write_hits,
    writers,
};
use crate::support::Fault;

fn write_fault(case: &Case, fault: Fault) -> Fault {
    let (method, prefix) = case.write.expect("a writing case");
    fault.method(method).prefix(prefix)
}

/// Asserts a write that failed at the server: inject reports each namespace on stdout and
/// exits 1; the other commands name what was already written and the write that failed.
#[track_caller]
fn assert_write_failed(case: &Case, run: &Run, code: i32, cause: &str) {
    let (method, _) = case.write.expect("a writing case");
    if case.name == "inject" {
        assert_failed(run, 1, "some changes failed; re-running is safe", &[]);
        assert!(run.stdout.starts_with("namespace/shop failed: cannot label namespace shop: failed to update Namespace shop: "), "{}", run.stdout);
        assert!(run.stdout.contains(cause), "{}", run.stdout);
        return;
    }
    let verb = if method == "DELETE" { "delete" } else { "patch" };
    assert_failed(
        run,
        code,
        "re-running is safe",
        &[&format!("\ncaused by: failed to {verb} "), cause],
    );
}

#[test]
fn a_500_on_a_write_is_not_repeated_and_is_reported() {
    each(&writers(), |case| {
        let env = env(case);
        env.server.fault(write_fault(case, Fault::status(500)));
        let run = run(&env, case, &[]);
        assert_write_failed(case, &run, 3, "injected fault (500)");
        assert!(
            run.stderr.contains("nothing was written before the failure") || case.name == "inject"
        );
        assert_eq!(write_hits(&env, case).len(), 1, "the write is sent once");
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn a_fault_on_a_later_write_reports_the_earlier_ones_and_a_rerun_converges() {
    let two: Vec<&Case> = writers().into_iter().filter(|c| case_writes(c) == 2).collect();
    each(&two, |case| {
        let env = env(case);
        let (method, _) = case.write.unwrap();
        let second = match case.name {
            "resilience" => "/apis/networking.istio.io/v1/namespaces/default/destinationrules/",
            "expose" => "/apis/networking.istio.io/v1/namespaces/default/virtualservices/",
            _ => "/apis/networking.istio.io/v1/namespaces/default/gateways/",
        };
        env.server.fault(Fault::status(500).method(method).prefix(second).times(1));
        let run = run(&env, case, &[]);
        assert_write_failed(case, &run, 3, "injected fault (500)");
        assert!(run.stderr.contains("error: already written: "), "{}", run.stderr);
        assert_eq!(run.stdout.lines().count(), 1, "the first write is reported: {}", run.stdout);
        assert_writes_reported(&env, &run);
        let again = super::run(&env, case, &[]);
        assert_eq!(again.code, 0, "a re-run converges: {}", again.stderr);
    });
}

#[test]
fn a_429_on_a_write_is_retried_after_the_wait() {
    each(&writers(), |case| {
        let env = env(case);
        env.server.fault(write_fault(case, Fault::status(429).retry_after(1).times(1)));
        assert_normal(case, &run(&env, case, &[]));
        let writes = write_hits(&env, case);
        assert_eq!(writes[0].status, 429);
        assert!((200..300).contains(&writes[1].status), "the same write again");
    });
}

#[test]
fn a_dropped_write_is_not_repeated_blindly() {
    each(&writers(), |case| {
        let env = env(case);
        env.server.fault(write_fault(case, Fault::drop_connection()));
        let run = run(&env, case, &[]);
        assert_write_failed(case, &run, 3, "closed before a reply");
        assert!(
            format!("{}{}", run.stdout, run.stderr).contains("may have been written"),
            "{}",
            run.stderr
        );
        assert_eq!(write_hits(&env, case).len(), 1, "the write is sent once");
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn a_write_slower_than_the_request_timeout_is_reported_as_maybe_written() {
    each(&writers(), |case| {
        let env = env(case);
        env.server.fault(write_fault(case, Fault::delay(Duration::from_secs(5)).times(1)));
        let started = std::time::Instant::now();
        let run = run(&env, case, &["--request-timeout", "2s"]);
        assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
        assert_write_failed(case, &run, 3, "no reply within 2s");
        assert!(
            format!("{}{}", run.stdout, run.stderr).contains("may have been written"),
            "{}",
            run.stderr
        );
        // Nothing is sent again after the timeout (the delayed write is logged only if the
        // server finishes it, so at most once).
        let others = env.server.requests().into_iter().filter(|r| r.write).count();
        assert!(others <= 1, "the write is sent once");
    });
}

#[test]
fn a_409_on_a_write_is_retried_on_fresh_data_or_names_the_other_manager() {
    let conflict = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Conflict","code":409,
        "message":"Apply failed with 1 conflict: conflict with \"gitops-sync\" using v1: .spec",
        "details":{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"gitops-sync\" using v1","field":".spec"}]}}"#;
    each(&writers(), |case| {
        let env = env(case);
        let method = case.write.unwrap().0;
        let fault =
            if method == "PATCH" { Fault::status(409).body(conflict) } else { Fault::status(409) };
        env.server.fault(write_fault(case, fault.times(1)));
        let run = run(&env, case, &[]);
        match method {
            // A guarded edit reads again and retries on the fresh object.
            "PUT" => {
                assert_normal(case, &run);
                assert_eq!(write_hits(&env, case).len(), 2);
            }
            // A guarded delete: the object changed after it was read, so it is left alone.
            "DELETE" => {
                assert_write_failed(
                    case,
                    &run,
                    1,
                    "changed after it was read, so nothing was overwritten",
                );
                assert!(
                    env.server
                        .object("virtualservices.networking.istio.io", "default", "my-service")
                        .is_some()
                );
                assert_eq!(write_hits(&env, case).len(), 1);
            }
            // Server-side apply: the other manager is named and nothing is forced.
            _ => {
                assert_write_failed(case, &run, 1, "gitops-sync owns .spec");
                assert!(
                    run.stderr.contains("re-run with --force to take them over"),
                    "{}",
                    run.stderr
                );
                assert_eq!(write_hits(&env, case).len(), 1, "not forced behind the user's back");
            }
        }
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn a_409_that_keeps_coming_is_bounded() {
    let case = super::CASES.iter().find(|c| c.name == "inject").unwrap();
    let env = env(case);
    env.server.fault(write_fault(case, Fault::status(409)));
    let run = run(&env, case, &[]);
    assert_write_failed(case, &run, 1, "kept changing");
    assert_eq!(write_hits(&env, case).len(), 5, "bounded");
}

/// How many writes the case sends when nothing goes wrong.
fn case_writes(case: &Case) -> usize {
    match case.name {
        "unexpose" | "expose" | "resilience" => 2,
        _ => 1,
    }
}
