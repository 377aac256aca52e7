//! Istio's value rules for every `resilience` flag, through the binary: each value accepted
//! and written as Istio stores it, or refused with one line and nothing sent.

use super::{env_with, resilience};

/// One value through the binary, and Istio's verdict on it.
struct Row {
    flag: &'static str,
    value: &'static str,
    /// `Some(text)`: accepted, and the output holds `text`; `None`: refused.
    written: Option<&'static str>,
    /// Why, from Istio's rules.
    why: &'static str,
}

const fn ok(
    flag: &'static str,
    value: &'static str,
    written: &'static str,
    why: &'static str,
) -> Row {
    Row { flag, value, written: Some(written), why }
}

const fn bad(flag: &'static str, value: &'static str, why: &'static str) -> Row {
    Row { flag, value, written: None, why }
}

/// Verdicts from Istio's rules: durations are Go `time.ParseDuration` text that the CRD's CEL
/// rule holds to `>= 1ms` and the webhook's `ValidateDuration` to whole milliseconds;
/// `validateHTTPRetry` for attempts and retryOn (Envoy's policies, or codes Go's
/// `http.StatusText` knows); `ValidatePercent` for 0..=100; non-negative int32 pool limits;
/// uint32 consecutive-error counts (the CRD's `maximum: 4294967295`).
const ROWS: &[Row] = &[
    ok("--per-try-timeout", "2s", "perTryTimeout: 2s", "whole seconds"),
    ok("--per-try-timeout", "1500ms", "perTryTimeout: 1500ms", "whole milliseconds"),
    ok("--per-try-timeout", "0.5s", "perTryTimeout: 500ms", "a fraction that is whole ms"),
    ok("--per-try-timeout", "1ms", "perTryTimeout: 1ms", "the minimum"),
    ok("--per-try-timeout", "2000us", "perTryTimeout: 2ms", "microseconds adding up to ms"),
    ok("--timeout", "1m30s", "timeout: 90s", "Go compound durations"),
    ok("--timeout", "1h", "timeout: 3600s", "hours"),
    ok("--interval", "30s", "interval: 30s", "outlier interval"),
    ok("--base-ejection-time", "2m", "baseEjectionTime: 120s", "minutes"),
    ok("--connect-timeout", "250ms", "connectTimeout: 250ms", "connect timeout"),
    bad("--per-try-timeout", "1.5ms", "not a whole number of milliseconds"),
    bad("--per-try-timeout", "500us", "below 1ms"),
    bad("--timeout", "0", "below 1ms"),
    bad("--timeout", "0s", "below 1ms"),
    bad("--timeout", "-1s", "negative"),
    bad("--timeout", "10", "a number needs a unit"),
    bad("--timeout", "10sec", "unknown unit"),
    bad("--interval", "1d", "days are no Go unit"),
    bad("--interval", "", "empty"),
    bad("--base-ejection-time", "2 s", "spaces are not Go syntax"),
    bad("--connect-timeout", "9999999999h", "beyond Go's duration range"),
    ok("--retries", "0", "attempts: 0", "0 turns retries off"),
    ok("--retries", "3", "attempts: 3", "a count"),
    ok("--retries", "2147483647", "attempts: 2147483647", "int32 maximum"),
    bad("--retries", "-1", "attempts cannot be negative"),
    bad("--retries", "2147483648", "beyond int32"),
    bad("--retries", "three", "not a number"),
    bad("--retries", "1.5", "not a whole number"),
    ok(
        "--retry-on",
        "5xx,gateway-error,connect-failure",
        "retryOn: 5xx,gateway-error,connect-failure",
        "Envoy policies",
    ),
    ok("--retry-on", "503", r#"retryOn: "503""#, "an HTTP status code"),
    ok(
        "--retry-on",
        "retriable-4xx,reset-before-request",
        "retryOn: retriable-4xx,reset-before-request",
        "Envoy policies",
    ),
    ok(
        "--retry-on",
        "cancelled,deadline-exceeded",
        "retryOn: cancelled,deadline-exceeded",
        "gRPC policies",
    ),
    bad("--retry-on", "5XX", "policies are case-sensitive"),
    bad("--retry-on", "5xx, connect-failure", "Istio splits on ',' without trimming"),
    bad("--retry-on", "599", "Go's http.StatusText knows no 599"),
    bad("--retry-on", "gateway_error", "not a policy"),
    bad("--retry-on", "5xx,,503", "an empty entry"),
    bad("--retry-on", "grpc-unavailable", "not a policy"),
    ok("--max-ejection-percent", "0", "maxEjectionPercent: 0", "percent range"),
    ok("--max-ejection-percent", "100", "maxEjectionPercent: 100", "percent range"),
    ok("--min-health-percent", "50", "minHealthPercent: 50", "percent range"),
    bad("--max-ejection-percent", "101", "above 100"),
    bad("--min-health-percent", "-1", "below 0"),
    bad("--max-ejection-percent", "50%", "a bare number"),
    bad("--min-health-percent", "12.5", "int32"),
    ok("--max-connections", "100", "maxConnections: 100", "non-negative int32"),
    ok("--max-connections", "2147483647", "maxConnections: 2147483647", "int32 maximum"),
    ok(
        "--max-requests-per-connection",
        "1",
        "maxRequestsPerConnection: 1",
        "1 turns keep-alive off",
    ),
    bad("--max-connections", "2147483648", "beyond int32"),
    bad("--max-pending-requests", "-5", "negative"),
    bad("--max-retries", "x", "not a number"),
    ok(
        "--consecutive-5xx-errors",
        "4294967295",
        "consecutive5xxErrors: 4294967295",
        "uint32 maximum",
    ),
    ok("--consecutive-gateway-errors", "0", "consecutiveGatewayErrors: 0", "0 turns it off"),
    bad("--consecutive-5xx-errors", "4294967296", "beyond uint32"),
    bad("--consecutive-gateway-errors", "-1", "negative"),
];

#[test]
fn values_follow_istios_rules_through_the_binary() {
    assert!(ROWS.len() >= 40);
    let env = env_with("");
    for row in ROWS {
        let mut args = vec![row.flag, row.value];
        // retry fields need attempts on a new route, as Istio requires.
        if matches!(row.flag, "--per-try-timeout" | "--retry-on") {
            args.extend(["--retries", "2"]);
        }
        args.extend(["--dry-run=client", "-o", "yaml"]);
        env.server.clear_log();
        let run = resilience(&env, &args);
        match row.written {
            Some(text) => {
                let run = run.ok();
                assert!(
                    run.stdout.contains(text),
                    "{} {}: {}\n{}",
                    row.flag,
                    row.value,
                    row.why,
                    run.stdout
                );
            }
            None => {
                let run = run.code(2).one_error_line(&format!("for {}", row.flag));
                assert!(run.stdout.is_empty());
                assert!(
                    env.server.requests().is_empty(),
                    "{} {}: checked before any request",
                    row.flag,
                    row.value
                );
            }
        }
        assert!(env.writes().is_empty(), "{} {}", row.flag, row.value);
    }

    // Combinations Istio refuses, and a preset that does not exist.
    for args in [
        &["--retries", "0", "--per-try-timeout", "1s"][..],
        &["--retries", "0", "--retry-on", "5xx"],
        &["--preset", "fast"],
    ] {
        resilience(&env, args).code(2).one_error_line("invalid value");
    }
    assert!(env.server.requests().is_empty());
}
