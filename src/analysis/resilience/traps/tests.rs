//! Unit tests of the resilience traps.
use serde_json::json;

use super::*;

fn route(value: serde_json::Value) -> HttpRoute {
    let mut value = value;
    if value.get("route").is_none() && value.get("redirect").is_none() {
        value["route"] = json!([{"destination": {"host": "cart"}}]);
    }
    serde_json::from_value(value).unwrap()
}

fn outlier(value: serde_json::Value) -> OutlierDetection {
    serde_json::from_value(value).unwrap()
}

fn retries(attempts: i32, per_try: &str, retry_on: &str) -> serde_json::Value {
    json!({"attempts": attempts, "perTryTimeout": per_try, "retryOn": retry_on})
}

#[test]
fn the_guide_fits_its_timeout_and_longer_tries_do_not() {
    let guide = route(json!({"retries": retries(3, "2s", "5xx"), "timeout": "10s"}));
    assert!(retry_budget(&guide, None).is_none(), "2s × 4 = 8s fits in 10s");
    let long = route(json!({"retries": retries(3, "3s", "5xx"), "timeout": "10s"}));
    let trap = retry_budget(&long, None).unwrap();
    assert_eq!(trap.code.code, "DM0701");
    assert!(trap.message.contains("= 12s"), "{}", trap.message);
    assert!(
        trap.message.contains("the last of the 4 tries is cut short at 10s (it gets 1s)"),
        "tries start at 0s, 3s, 6s and 9s: {}",
        trap.message
    );
    assert!(trap.fix.contains("at least 12s"), "{}", trap.fix);
    let guide = route(json!({"retries": retries(3, "4s", "5xx"), "timeout": "10s"}));
    let trap = retry_budget(&guide, None).unwrap();
    assert!(
        trap.message.contains(
            "only 3 of the 4 tries start and the last of them is cut short at 10s (it gets 2s)"
        ),
        "tries start at 0s, 4s and 8s: {}",
        trap.message
    );
    assert!(trap.fix.contains("lower attempts to 1 or perTryTimeout to 2500ms"));
    let even = route(json!({"retries": retries(3, "5s", "5xx"), "timeout": "10s"}));
    let trap = retry_budget(&even, None).unwrap();
    assert!(trap.message.ends_with("so only 2 of the 4 tries start"), "{}", trap.message);
    let one = route(json!({"retries": retries(1, "8s", "5xx"), "timeout": "10s"}));
    let trap = retry_budget(&one, None).unwrap();
    assert!(trap.message.contains("(1 + 1 attempt)"), "{}", trap.message);
    let exact = route(json!({"retries": retries(4, "2s", "5xx"), "timeout": "10s"}));
    assert!(retry_budget(&exact, None).is_none(), "2s × 5 = 10s is not beyond 10s");
    let no_timeout = route(json!({"retries": retries(3, "30s", "5xx")}));
    assert!(retry_budget(&no_timeout, None).is_none(), "no route timeout by default");
    let off = route(json!({"retries": {"attempts": 0}, "timeout": "1s"}));
    assert!(retry_budget(&off, None).is_none());
    let mesh: HttpRetry = serde_json::from_value(retries(2, "5s", "5xx")).unwrap();
    let bare = route(json!({"timeout": "10s"}));
    assert!(retry_budget(&bare, Some(&mesh)).is_some(), "the mesh default counts");
}

#[test]
fn retries_on_writes_are_found_from_the_method_matches() {
    let any = route(json!({"retries": retries(3, "2s", "5xx,gateway-error,connect-failure")}));
    let trap = retries_non_idempotent(&any).unwrap();
    assert_eq!(trap.code.code, "DM0702");
    assert!(trap.message.contains("any method"), "{}", trap.message);
    let get = |m: serde_json::Value| {
        route(json!({"match": [{"method": m}], "retries": retries(2, "1s", "5xx")}))
    };
    assert!(retries_non_idempotent(&get(json!({"exact": "GET"}))).is_none());
    assert!(retries_non_idempotent(&get(json!({"exact": "POST"}))).is_some());
    assert!(retries_non_idempotent(&get(json!({"prefix": "P"}))).is_some());
    assert!(retries_non_idempotent(&get(json!({"prefix": "PU"}))).is_none());
    assert!(retries_non_idempotent(&get(json!({"regex": "^(GET|HEAD)$"}))).is_none());
    assert!(retries_non_idempotent(&get(json!({"regex": "GET|POST"}))).is_some());
    assert!(retries_non_idempotent(&get(json!({"regex": "G.*"}))).is_some());
    let two = route(json!({"match": [{"method": {"exact": "GET"}}, {"uri": {"prefix": "/"}}],
                           "retries": retries(2, "1s", "5xx")}));
    assert!(retries_non_idempotent(&two).is_some(), "a match without a method lets all in");
    let safe = route(json!({"retries": retries(2, "1s", "connect-failure,reset-before-request")}));
    assert!(retries_non_idempotent(&safe).is_none(), "undelivered requests are safe to repeat");
    assert!(retries_non_idempotent(&route(json!({}))).is_none(), "the default is DM0703's");
}

#[test]
fn routes_without_retries_get_the_default_unless_the_mesh_turns_it_off() {
    let bare = route(json!({}));
    let trap = default_retries(&bare, None).unwrap();
    assert!(trap.message.contains("2 retries on connect-failure"), "{}", trap.message);
    let off: HttpRetry = serde_json::from_value(json!({"attempts": 0})).unwrap();
    assert!(default_retries(&bare, Some(&off)).is_none());
    let mesh: HttpRetry = serde_json::from_value(json!({"attempts": 4})).unwrap();
    assert!(default_retries(&bare, Some(&mesh)).unwrap().message.contains("mesh config"));
    assert!(default_retries(&route(json!({"redirect": {"uri": "/x"}})), None).is_none());
    let set = route(json!({"retries": {"attempts": 1}}));
    assert!(default_retries(&set, None).is_none());
    assert_eq!(effective_retries(&set, None).retry_on, ISTIO_DEFAULT_RETRY_ON);
}

#[test]
fn retries_need_a_per_try_timeout() {
    let without = route(json!({"retries": {"attempts": 3, "retryOn": "5xx"}, "timeout": "10s"}));
    let trap = retries_without_per_try_timeout(&without).unwrap();
    assert_eq!(trap.code.code, "DM0706");
    assert!(trap.message.contains("10s"), "{}", trap.message);
    let one = route(json!({"retries": {"attempts": 1, "retryOn": "5xx"}}));
    let trap = retries_without_per_try_timeout(&one).unwrap();
    assert!(trap.message.starts_with("1 retry without"), "{}", trap.message);
    let trap = retries_non_idempotent(&one).unwrap();
    assert!(trap.message.starts_with("1 retry on 5xx"), "{}", trap.message);
    assert!(
        retries_without_per_try_timeout(&route(json!({"retries": retries(3, "2s", "5xx")})))
            .is_none()
    );
    assert!(retries_without_per_try_timeout(&route(json!({"retries": {"attempts": 0}}))).is_none());
}

#[test]
fn ejection_limits_follow_envoy() {
    let all = outlier(json!({"consecutive5xxErrors": 5, "maxEjectionPercent": 100}));
    assert_eq!(ejectable(&all, 3), 3);
    assert_eq!(eject_all_few_endpoints(&all, 3).unwrap().code.code, "DM0704");
    assert!(eject_all_few_endpoints(&all, 6).is_none(), "more than a few endpoints");
    assert!(eject_all_few_endpoints(&all, 0).is_none(), "no endpoints to judge");
    let guarded = outlier(json!({"maxEjectionPercent": 100, "minHealthPercent": 50}));
    assert!(eject_all_few_endpoints(&guarded, 2).is_none());
    let half = outlier(json!({"maxEjectionPercent": 50}));
    assert_eq!(ejectable(&half, 3), 1);
    assert!(eject_all_few_endpoints(&half, 2).is_none());
    let default = outlier(json!({}));
    assert_eq!(ejectable(&default, 3), 0, "10% of 3 hosts is no host");
    assert_eq!(ejectable(&default, 10), 1);
    let off = outlier(json!({"consecutive5xxErrors": 0, "maxEjectionPercent": 100}));
    assert_eq!(ejectable(&off, 2), 0);
    assert!(eject_all_few_endpoints(&off, 2).is_none());
}

/// Each value advised ejects one endpoint and never all, by `ejectable`'s rule.
#[test]
fn ejection_advice_ejects_one_and_never_all() {
    assert!(ejection_percent_advice(1).contains("run more replicas"));
    assert!(ejection_percent_advice(2).contains("set maxEjectionPercent to 50 "));
    assert!(ejection_percent_advice(4).contains("between 25 and 75"));
    for n in 2..=FEW_ENDPOINTS {
        for pct in [100_usize.div_ceil(n), 100 * (n - 1) / n] {
            let od = outlier(json!({"maxEjectionPercent": pct}));
            let k = ejectable(&od, n);
            assert!(k >= 1 && k < n, "{pct}% of {n} ejects {k}");
        }
    }
}

#[test]
fn gateway_errors_must_be_below_5xx_errors() {
    let same = outlier(json!({"consecutive5xxErrors": 5, "consecutiveGatewayErrors": 5}));
    assert_eq!(gateway_errors_no_effect(&same).unwrap().code.code, "DM0705");
    let default_5xx = outlier(json!({"consecutiveGatewayErrors": 7}));
    let trap = gateway_errors_no_effect(&default_5xx).unwrap();
    assert!(trap.message.contains("default 5"), "{}", trap.message);
    let below = outlier(json!({"consecutive5xxErrors": 5, "consecutiveGatewayErrors": 3}));
    assert!(gateway_errors_no_effect(&below).is_none());
    let only = outlier(json!({"consecutive5xxErrors": 0, "consecutiveGatewayErrors": 3}));
    assert!(gateway_errors_no_effect(&only).is_none(), "5xx ejection off");
}

#[test]
fn every_outlier_block_of_a_rule_is_found() {
    let spec: DestinationRuleSpec = serde_json::from_value(json!({
        "host": "cart",
        "trafficPolicy": {"outlierDetection": {}, "portLevelSettings": [
            {"port": {"number": 8080}, "outlierDetection": {"interval": "1s"}}]},
        "subsets": [{"name": "v2", "labels": {"v": "2"},
                     "trafficPolicy": {"outlierDetection": {}}}, {"name": "v1"}]
    }))
    .unwrap();
    let scopes: Vec<String> = outlier_blocks(&spec).into_iter().map(|b| b.0).collect();
    assert_eq!(scopes, ["trafficPolicy", "trafficPolicy port 8080", "subset v2"]);
}
