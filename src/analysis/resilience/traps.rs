//! The resilience traps: values Istio accepts that do not do what people expect. Each is a pure
//! function over one typed route or outlier-detection block, called both by the `DM07xx`
//! analyzers and by `resilience`, which warns about the objects it is about to write.
//!
//! The rules, with their sources:
//! - Istio turns a route without `retries` into its default policy: 2 retries on
//!   `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes` with 503
//!   retriable, unless the mesh config sets `defaultHttpRetryPolicy`; `attempts: 0` turns
//!   retries off (istio/istio `pilot/pkg/networking/core/route/retry/retry.go`, `ConvertPolicy`).
//! - The route `timeout` covers every try, and is off by default
//!   (<https://istio.io/latest/docs/tasks/traffic-management/request-timeouts/>).
//! - `consecutive5xxErrors` defaults to 5 when outlier detection is on; gateway errors are 5xx
//!   too, so `consecutiveGatewayErrors` at or above it never ejects first
//!   (<https://istio.io/latest/docs/reference/config/networking/destination-rule/#OutlierDetection>).
//! - Envoy ejects another host only while the ejected share stays within `maxEjectionPercent`
//!   (default 10); Istio turns the panic threshold into `minHealthPercent`, 0 unless set, so
//!   with 100% every host can be ejected (envoy `source/common/upstream/outlier_detection_impl.cc`,
//!   istio `cluster_traffic_policy.go`, `applyOutlierDetection`).

use super::super::codes::{self, Code};
use crate::mesh::destination_rule::{DestinationRuleSpec, OutlierDetection, Subset, TrafficPolicy};
use crate::mesh::validate::parse_go_duration;
use crate::mesh::virtual_service::{HttpRetry, HttpRoute};
use crate::output::count;

/// Istio's retry conditions for a route without a retry policy.
pub const ISTIO_DEFAULT_RETRY_ON: &str =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
/// Istio's retries for a route without a retry policy.
pub const ISTIO_DEFAULT_ATTEMPTS: u32 = 2;
/// Envoy's `consecutive_5xx` when outlier detection is on and Istio sets none.
pub const DEFAULT_CONSECUTIVE_5XX: u32 = 5;
/// Envoy's `max_ejection_percent` when Istio sets none.
pub const DEFAULT_MAX_EJECTION_PERCENT: u32 = 10;
/// With this many endpoints or fewer, one bad spell can eject them all at once.
pub const FEW_ENDPOINTS: usize = 5;

/// Retry conditions under which the request never reached the service, so repeating it is
/// safe whatever the method (Envoy router `x-envoy-retry-on`).
const UNDELIVERED: [&str; 3] = ["connect-failure", "refused-stream", "reset-before-request"];
/// Methods RFC 9110 does not define as idempotent.
const NON_IDEMPOTENT: [&str; 3] = ["POST", "PATCH", "CONNECT"];

/// One trap found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    pub code: &'static Code,
    /// What is wrong, in one line.
    pub message: String,
    /// The concrete change to make.
    pub fix: String,
}

impl Trap {
    fn new(code: &'static Code, message: String, fix: String) -> Self {
        Self { code, message, fix }
    }
}

/// The retry policy Istio gives a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveRetries {
    /// Retries after the first try; 0 means retries are off.
    pub attempts: u32,
    pub per_try_timeout: Option<String>,
    pub retry_on: String,
    /// Where it came from.
    pub source: RetrySource,
}

/// Where a route's retry policy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetrySource {
    /// The route's own `retries` block.
    Route,
    /// The mesh config's `defaultHttpRetryPolicy`.
    Mesh,
    /// Istio's built-in default.
    Istio,
}

/// The retry policy of `route`, given the mesh config's `defaultHttpRetryPolicy`.
pub fn effective_retries(route: &HttpRoute, mesh_default: Option<&HttpRetry>) -> EffectiveRetries {
    let (policy, source) = match (&route.retries, mesh_default) {
        (Some(own), _) => (own, RetrySource::Route),
        (None, Some(mesh)) => (mesh, RetrySource::Mesh),
        (None, None) => {
            return EffectiveRetries {
                attempts: ISTIO_DEFAULT_ATTEMPTS,
                per_try_timeout: None,
                retry_on: ISTIO_DEFAULT_RETRY_ON.into(),
                source: RetrySource::Istio,
            };
        }
    };
    let attempts = policy.attempts.map_or(0, |n| u32::try_from(n).unwrap_or(0));
    let retry_on = match policy.retry_on.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => ISTIO_DEFAULT_RETRY_ON.into(),
    };
    EffectiveRetries { attempts, per_try_timeout: policy.per_try_timeout.clone(), retry_on, source }
}

/// How messages name HTTP route `index`: `route "api"`, or `route #2` when it has no name.
pub fn route_label(name: Option<&str>, index: usize) -> String {
    match name {
        Some(name) => format!("route {name:?}"),
        None => format!("route #{index}"),
    }
}

/// Whether the route sends requests upstream (not a redirect, direct response or delegate).
pub fn forwards(route: &HttpRoute) -> bool {
    !route.route.is_empty() && route.redirect.is_none()
}

/// A positive duration in milliseconds, or `None` for unset, zero or unreadable values.
fn millis(text: Option<&str>) -> Option<u64> {
    let nanos = parse_go_duration(text?).ok()?;
    u64::try_from(nanos / 1_000_000).ok().filter(|ms| *ms > 0)
}

fn show_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// DM0701: every try at `perTryTimeout` does not fit in the route timeout.
pub fn retry_budget(route: &HttpRoute, mesh_default: Option<&HttpRetry>) -> Option<Trap> {
    let retries = effective_retries(route, mesh_default);
    let timeout = millis(route.timeout.as_deref())?;
    let per_try = millis(retries.per_try_timeout.as_deref())?;
    if !forwards(route) || retries.attempts == 0 {
        return None;
    }
    let tries = u64::from(retries.attempts) + 1;
    let budget = per_try.saturating_mul(tries);
    if budget <= timeout {
        return None;
    }
    // Each try starts when the one before it times out (back-off aside): at 0, perTryTimeout,
    // 2 × perTryTimeout... A try starts only before the route timeout, and the last to start
    // gets only what is left of it.
    let started = timeout.div_ceil(per_try).min(tries);
    let left = timeout - (started - 1) * per_try;
    let outcome = match (started < tries, left < per_try) {
        (true, true) => format!(
            "so only {started} of the {tries} tries start and the last of them is cut short at {} \
             (it gets {})",
            show_ms(timeout),
            show_ms(left)
        ),
        (true, false) => format!("so only {started} of the {tries} tries start"),
        _ => format!(
            "so the last of the {tries} tries is cut short at {} (it gets {})",
            show_ms(timeout),
            show_ms(left)
        ),
    };
    let whole = (timeout / per_try).max(1);
    Some(Trap::new(
        &codes::RETRY_BUDGET_EXCEEDS_TIMEOUT,
        format!(
            "perTryTimeout {} × (1 + {}) = {} is longer than the route timeout {}, {outcome}",
            show_ms(per_try),
            count(retries.attempts as usize, "attempt", "attempts"),
            show_ms(budget),
            show_ms(timeout)
        ),
        format!(
            "set timeout to at least {}, or lower attempts to {} or perTryTimeout to {}",
            show_ms(budget),
            whole - 1,
            show_ms((timeout / tries).max(1))
        ),
    ))
}

/// Which request methods a route's matches let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Methods {
    /// Every method: no match, or a match without a method condition.
    Any,
    /// Only these non-idempotent methods (empty: only idempotent ones).
    Some(Vec<String>),
    /// A regex this check cannot read, which may let POST through.
    Unknown(String),
}

/// The non-idempotent methods `route` lets through.
pub fn non_idempotent_methods(route: &HttpRoute) -> Methods {
    if route.matches.is_empty() {
        return Methods::Any;
    }
    let mut found: Vec<String> = Vec::new();
    for m in &route.matches {
        let Some(method) = &m.method else { return Methods::Any };
        let listed: Vec<String> = if let Some(exact) = &method.exact {
            vec![exact.clone()]
        } else if let Some(prefix) = &method.prefix {
            NON_IDEMPOTENT
                .iter()
                .filter(|n| n.starts_with(prefix.as_str()))
                .map(|n| n.to_string())
                .collect()
        } else if let Some(regex) = &method.regex {
            match literal_alternatives(regex) {
                Some(list) => list,
                None => return Methods::Unknown(regex.clone()),
            }
        } else {
            return Methods::Any;
        };
        for name in listed.into_iter().filter(|n| NON_IDEMPOTENT.contains(&n.as_str())) {
            if !found.contains(&name) {
                found.push(name);
            }
        }
    }
    Methods::Some(found)
}

/// The methods of a regex that is only a list of literal names, such as `GET|HEAD` or
/// `^(PUT|DELETE)$`; `None` for anything else.
fn literal_alternatives(regex: &str) -> Option<Vec<String>> {
    let body = regex.strip_prefix('^').unwrap_or(regex);
    let body = body.strip_suffix('$').unwrap_or(body);
    let body = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')).unwrap_or(body);
    let parts: Vec<String> = body.split('|').map(str::to_string).collect();
    parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase()))
        .then_some(parts)
}

/// DM0702: the route's own retries can repeat a request the service already handled.
pub fn retries_non_idempotent(route: &HttpRoute) -> Option<Trap> {
    route.retries.as_ref()?;
    let retries = effective_retries(route, None);
    if !forwards(route) || retries.attempts == 0 {
        return None;
    }
    if retries.retry_on.split(',').all(|c| UNDELIVERED.contains(&c)) {
        return None;
    }
    let which = match non_idempotent_methods(route) {
        Methods::Any => "any method, POST and PATCH included".to_string(),
        Methods::Some(list) if list.is_empty() => return None,
        Methods::Some(list) => list.join(" and "),
        Methods::Unknown(regex) => {
            format!("the methods of regex {regex:?}, which may include POST")
        }
    };
    Some(Trap::new(
        &codes::RETRIES_NON_IDEMPOTENT,
        format!(
            "{} on {} apply to {which}: a request the service already handled may be sent again",
            count(retries.attempts as usize, "retry", "retries"),
            retries.retry_on
        ),
        "match the idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) in this route and give \
         writes a route of their own with retries.attempts: 0, or retry only on \
         connect-failure,refused-stream,reset-before-request"
            .into(),
    ))
}

/// DM0703: the route has no `retries`, so a default policy retries it.
pub fn default_retries(route: &HttpRoute, mesh_default: Option<&HttpRetry>) -> Option<Trap> {
    if route.retries.is_some() || !forwards(route) {
        return None;
    }
    let retries = effective_retries(route, mesh_default);
    if retries.attempts == 0 {
        return None;
    }
    let whose = match retries.source {
        RetrySource::Mesh => "the mesh config's defaultHttpRetryPolicy applies",
        _ => "Istio's default applies",
    };
    Some(Trap::new(
        &codes::DEFAULT_RETRIES,
        format!(
            "no retries block, so {whose}: {} on {}{}, whatever the method",
            count(retries.attempts as usize, "retry", "retries"),
            retries.retry_on,
            if retries.source == RetrySource::Istio { " (503)" } else { "" }
        ),
        "set retries explicitly: kubectl debatemesh resilience SVC --retries N (or --retries 0 \
         to turn them off)"
            .into(),
    ))
}

/// DM0706: the route's own retries have no `perTryTimeout`.
pub fn retries_without_per_try_timeout(route: &HttpRoute) -> Option<Trap> {
    let own = route.retries.as_ref()?;
    let retries = effective_retries(route, None);
    if !forwards(route) || retries.attempts == 0 || own.per_try_timeout.is_some() {
        return None;
    }
    let then = match millis(route.timeout.as_deref()) {
        Some(ms) => format!("one slow try can use the whole {} timeout", show_ms(ms)),
        None => "with no route timeout either, a slow try is never cut short".into(),
    };
    Some(Trap::new(
        &codes::RETRIES_WITHOUT_PER_TRY_TIMEOUT,
        format!(
            "{} without perTryTimeout: {then}, leaving no time to retry",
            count(retries.attempts as usize, "retry", "retries")
        ),
        "set retries.perTryTimeout (kubectl debatemesh resilience SVC --per-try-timeout D)".into(),
    ))
}

/// An `outlierDetection` block with where it sits (`trafficPolicy`, `trafficPolicy port 8080`,
/// `subset v2`) and, for a subset's, the subset.
pub type OutlierBlock<'a> = (String, &'a OutlierDetection, Option<&'a Subset>);

/// Every `outlierDetection` block of a rule: top level, port level, and the subsets' own.
pub fn outlier_blocks(spec: &DestinationRuleSpec) -> Vec<OutlierBlock<'_>> {
    let mut out = Vec::new();
    fn push<'a>(
        out: &mut Vec<OutlierBlock<'a>>,
        policy: &'a TrafficPolicy,
        scope: &str,
        subset: Option<&'a Subset>,
    ) {
        if let Some(od) = &policy.outlier_detection {
            out.push((scope.to_string(), od, subset));
        }
        for port in &policy.port_level_settings {
            if let (Some(od), Some(p)) = (&port.outlier_detection, port.port) {
                out.push((format!("{scope} port {}", p.number), od, subset));
            }
        }
    }
    if let Some(policy) = &spec.traffic_policy {
        push(&mut out, policy, "trafficPolicy", None);
    }
    for subset in &spec.subsets {
        if let Some(policy) = &subset.traffic_policy {
            push(&mut out, policy, &format!("subset {}", subset.name), Some(subset));
        }
    }
    out
}

/// Outlier detection as Envoy runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveOutlier {
    pub consecutive_5xx: u32,
    pub consecutive_gateway: u32,
    pub max_ejection_percent: u32,
    pub min_health_percent: u32,
}

/// The values Envoy uses for an `outlierDetection` block.
pub fn effective_outlier(od: &OutlierDetection) -> EffectiveOutlier {
    let count = |v: Option<i64>| v.map(|n| u32::try_from(n).unwrap_or(0));
    EffectiveOutlier {
        consecutive_5xx: count(od.consecutive_5xx_errors).unwrap_or(DEFAULT_CONSECUTIVE_5XX),
        consecutive_gateway: count(od.consecutive_gateway_errors).unwrap_or(0),
        max_ejection_percent: count(od.max_ejection_percent)
            .filter(|p| *p > 0)
            .unwrap_or(DEFAULT_MAX_EJECTION_PERCENT)
            .min(100),
        min_health_percent: count(od.min_health_percent).unwrap_or(0),
    }
}

/// How many of `endpoints` hosts Envoy can hold ejected at once: another host only while
/// `100 × ejected / endpoints` stays within `maxEjectionPercent`.
pub fn ejectable(od: &OutlierDetection, endpoints: usize) -> usize {
    let e = effective_outlier(od);
    if e.consecutive_5xx == 0 && e.consecutive_gateway == 0 {
        return 0;
    }
    (0..=endpoints)
        .rev()
        .find(|k| 100 * k <= e.max_ejection_percent as usize * endpoints)
        .unwrap_or(0)
}

/// What to set `maxEjectionPercent` to with `endpoints` hosts so Envoy ejects at least one and
/// never all: it ejects a host only while `100 × ejected / endpoints` stays within the
/// percentage (Istio sets no `always_eject_one_host`). With one endpoint no value does both.
pub fn ejection_percent_advice(endpoints: usize) -> String {
    if endpoints < 2 {
        return "with 1 endpoint any maxEjectionPercent below 100 ejects nothing and 100 ejects \
                it: run more replicas"
            .into();
    }
    let low = 100_usize.div_ceil(endpoints);
    let high = 100 * (endpoints - 1) / endpoints;
    let of = count(endpoints, "endpoint", "endpoints");
    if low == high {
        format!("set maxEjectionPercent to {low} (of {of}, Envoy then ejects one and never all)")
    } else {
        format!(
            "set maxEjectionPercent between {low} and {high} (of {of}, Envoy then ejects at \
             least one and never all)"
        )
    }
}

/// DM0704: with few endpoints and no `minHealthPercent`, every endpoint can be ejected.
pub fn eject_all_few_endpoints(od: &OutlierDetection, endpoints: usize) -> Option<Trap> {
    let e = effective_outlier(od);
    if !(1..=FEW_ENDPOINTS).contains(&endpoints) || e.min_health_percent > 0 {
        return None;
    }
    if ejectable(od, endpoints) < endpoints {
        return None;
    }
    let ejection = od.base_ejection_time.as_deref().unwrap_or("30s");
    Some(Trap::new(
        &codes::EJECT_ALL_FEW_ENDPOINTS,
        format!(
            "maxEjectionPercent {} with {} and no minHealthPercent: outlier detection can \
             eject every endpoint, and requests then fail with 503 for at least \
             baseEjectionTime {ejection}",
            e.max_ejection_percent,
            count(endpoints, "endpoint", "endpoints"),
        ),
        format!(
            "{}; or set minHealthPercent (e.g. 50) so Envoy keeps sending to every endpoint once \
             too few are healthy",
            ejection_percent_advice(endpoints)
        ),
    ))
}

/// DM0705: `consecutiveGatewayErrors` is not below `consecutive5xxErrors`, so it never acts.
pub fn gateway_errors_no_effect(od: &OutlierDetection) -> Option<Trap> {
    let e = effective_outlier(od);
    if e.consecutive_gateway == 0
        || e.consecutive_5xx == 0
        || e.consecutive_gateway < e.consecutive_5xx
    {
        return None;
    }
    let five = match od.consecutive_5xx_errors {
        Some(_) => format!("consecutive5xxErrors {}", e.consecutive_5xx),
        None => format!("consecutive5xxErrors (default {})", e.consecutive_5xx),
    };
    Some(Trap::new(
        &codes::GATEWAY_ERRORS_NO_EFFECT,
        format!(
            "consecutiveGatewayErrors {} is not below {five}; gateway errors (502, 503, 504) \
             count as 5xx too, so 5xx ejection always comes first",
            e.consecutive_gateway
        ),
        format!("set consecutiveGatewayErrors below {}, or remove it", e.consecutive_5xx),
    ))
}

#[cfg(test)]
mod tests;
