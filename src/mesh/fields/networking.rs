//! The field checks of `networking.istio.io` kinds: VirtualService hosts, route timeouts,
//! retries and destinations; DestinationRule hosts, subsets, connection pools, outlier
//! detection and client TLS; Gateway servers; ServiceEntry hosts, ports, location and
//! resolution; Sidecar egress hosts and outbound policy. Istio's rules for each are those of
//! the validator named (see [`crate::mesh::validate`]).

use serde_json::Value;

use super::{Checker, Path, get, items};
use crate::mesh::validate::{
    CountField, DurationField, EnumField, PercentField, RouteActions, VirtualServiceScope,
    check_retry_policy, check_route_actions, k8s::validate_dns1123_label, parse_attempts,
    parse_count, parse_enum, parse_gateway_host, parse_ip_block, parse_mesh_duration,
    parse_percent, parse_port, parse_port_protocol, parse_redirect_code, parse_retry_on,
    validate_destination_rule_host, validate_route_destination_host, validate_service_entry_host,
    validate_sidecar_host, validate_virtual_service_host,
};

fn port(c: &mut Checker, at: &Path, value: Option<&Value>) {
    c.integer(at, value, parse_port);
}

fn duration(c: &mut Checker, at: &Path, block: Option<&Value>, key: &str, field: DurationField) {
    c.text(&at.key(key), get(block, key), |s| parse_mesh_duration(s, field));
}

fn count(c: &mut Checker, at: &Path, block: Option<&Value>, key: &str, field: CountField) {
    c.integer(&at.key(key), get(block, key), |s| parse_count(s, field));
}

fn percent(c: &mut Checker, at: &Path, block: Option<&Value>, key: &str, field: PercentField) {
    c.integer(&at.key(key), get(block, key), |s| parse_percent(s, field));
}

/// `VirtualService.spec`.
pub(super) fn virtual_service(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    let gateways: Vec<&str> =
        items(get(spec, "gateways")).filter_map(|(_, g)| g.as_str()).collect();
    let scope = match gateways.is_empty() || gateways.contains(&"mesh") {
        true => VirtualServiceScope::Mesh,
        false => VirtualServiceScope::Gateway,
    };
    for (i, host) in items(get(spec, "hosts")) {
        c.text(&at.key("hosts").index(i), Some(host), |h| validate_virtual_service_host(h, scope));
    }
    for (i, route) in items(get(spec, "http")) {
        http_route(c, &at.key("http").index(i), route);
    }
    for section in ["tcp", "tls"] {
        for (i, route) in items(get(spec, section)) {
            let at = at.key(section).index(i);
            matches(c, &at, route);
            destinations(c, &at, route);
        }
    }
}

fn http_route(c: &mut Checker, at: &Path, route: &Value) {
    let r = Some(route);
    duration(c, at, r, "timeout", DurationField::Timeout);
    if let Some(retries) = get(r, "retries") {
        retry_policy(c, &at.key("retries"), retries);
    }
    matches(c, at, route);
    destinations(c, at, route);
    if let Some(redirect) = get(r, "redirect") {
        let at = at.key("redirect");
        c.integer(
            &at.key("redirectCode"),
            get(Some(redirect), "redirectCode"),
            parse_redirect_code,
        );
        port(c, &at.key("port"), get(Some(redirect), "port"));
        let actions = RouteActions {
            destinations: get(r, "route")
                .is_some_and(|d| d.as_array().is_some_and(|a| !a.is_empty())),
            redirect: true,
            rewrite: get(r, "rewrite").is_some(),
            fault: get(r, "fault").is_some(),
        };
        if let Err(e) = check_route_actions(actions) {
            c.report(&at, e);
        }
    }
}

fn retry_policy(c: &mut Checker, at: &Path, retries: &Value) {
    let r = Some(retries);
    let attempts = get(r, "attempts");
    c.integer(&at.key("attempts"), attempts, parse_attempts);
    duration(c, at, r, "perTryTimeout", DurationField::PerTryTimeout);
    duration(c, at, r, "backoff", DurationField::RetryBackoff);
    // An empty retryOn is the proto default: no conditions given.
    let retry_on = get(r, "retryOn").filter(|v| v.as_str() != Some(""));
    c.text(&at.key("retryOn"), retry_on, parse_retry_on);

    // The policy as a whole, once attempts is a number that can be read.
    let attempts = match attempts {
        None => Some(None),
        Some(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some),
    };
    if let Some(attempts) = attempts {
        let set = |f: &str| get(r, f).is_some_and(|v| v.as_str() != Some(""));
        let verdict = check_retry_policy(
            attempts,
            set("perTryTimeout"),
            set("retryOn"),
            set("retryRemoteLocalities"),
        );
        if let Err(e) = verdict {
            c.report(&at.key("attempts"), e);
        }
    }
}

fn matches(c: &mut Checker, at: &Path, route: &Value) {
    for (j, m) in items(get(Some(route), "match")) {
        port(c, &at.key("match").index(j).key("port"), get(Some(m), "port"));
    }
}

fn destinations(c: &mut Checker, at: &Path, route: &Value) {
    for (j, d) in items(get(Some(route), "route")) {
        let at = at.key("route").index(j).key("destination");
        let destination = get(Some(d), "destination");
        c.text(&at.key("host"), get(destination, "host"), validate_route_destination_host);
        port(c, &at.key("port").key("number"), get(get(destination, "port"), "number"));
    }
}

/// `DestinationRule.spec`.
pub(super) fn destination_rule(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    c.text(&at.key("host"), get(spec, "host"), validate_destination_rule_host);
    if let Some(policy) = get(spec, "trafficPolicy") {
        traffic_policy(c, &at.key("trafficPolicy"), policy, true);
    }
    for (i, subset) in items(get(spec, "subsets")) {
        let at = at.key("subsets").index(i);
        c.text(&at.key("name"), get(Some(subset), "name"), validate_dns1123_label);
        c.labels(&at.key("labels"), get(Some(subset), "labels"));
        if let Some(policy) = get(Some(subset), "trafficPolicy") {
            traffic_policy(c, &at.key("trafficPolicy"), policy, true);
        }
    }
    let selector = get(spec, "workloadSelector");
    c.labels(&at.key("workloadSelector").key("matchLabels"), get(selector, "matchLabels"));
}

fn traffic_policy(c: &mut Checker, at: &Path, policy: &Value, top: bool) {
    use CountField::*;
    use DurationField::*;
    let p = Some(policy);
    let pool = get(p, "connectionPool");
    let pool_at = at.key("connectionPool");

    let (tcp, tcp_at) = (get(pool, "tcp"), pool_at.key("tcp"));
    count(c, &tcp_at, tcp, "maxConnections", MaxConnections);
    duration(c, &tcp_at, tcp, "connectTimeout", ConnectTimeout);
    duration(c, &tcp_at, tcp, "maxConnectionDuration", MaxConnectionDuration);
    duration(c, &tcp_at, tcp, "idleTimeout", TcpIdleTimeout);
    let (keepalive, keepalive_at) = (get(tcp, "tcpKeepalive"), tcp_at.key("tcpKeepalive"));
    duration(c, &keepalive_at, keepalive, "time", TcpKeepaliveTime);
    duration(c, &keepalive_at, keepalive, "interval", TcpKeepaliveInterval);

    let (http, http_at) = (get(pool, "http"), pool_at.key("http"));
    count(c, &http_at, http, "http1MaxPendingRequests", Http1MaxPendingRequests);
    count(c, &http_at, http, "http2MaxRequests", Http2MaxRequests);
    count(c, &http_at, http, "maxRequestsPerConnection", MaxRequestsPerConnection);
    count(c, &http_at, http, "maxRetries", MaxRetries);
    count(c, &http_at, http, "maxConcurrentStreams", MaxConcurrentStreams);
    duration(c, &http_at, http, "idleTimeout", HttpIdleTimeout);

    let (outlier, outlier_at) = (get(p, "outlierDetection"), at.key("outlierDetection"));
    count(c, &outlier_at, outlier, "consecutive5xxErrors", Consecutive5xxErrors);
    count(c, &outlier_at, outlier, "consecutiveGatewayErrors", ConsecutiveGatewayErrors);
    count(
        c,
        &outlier_at,
        outlier,
        "consecutiveLocalOriginFailures",
        ConsecutiveLocalOriginFailures,
    );
    duration(c, &outlier_at, outlier, "interval", OutlierInterval);
    duration(c, &outlier_at, outlier, "baseEjectionTime", BaseEjectionTime);
    percent(c, &outlier_at, outlier, "maxEjectionPercent", PercentField::MaxEjectionPercent);
    percent(c, &outlier_at, outlier, "minHealthPercent", PercentField::MinHealthPercent);

    let tls = get(p, "tls");
    c.text(&at.key("tls").key("mode"), get(tls, "mode"), |m| {
        parse_enum(m, EnumField::ClientTlsMode)
    });

    if top {
        for (i, setting) in items(get(p, "portLevelSettings")) {
            let at = at.key("portLevelSettings").index(i);
            port(c, &at.key("port").key("number"), get(get(Some(setting), "port"), "number"));
            traffic_policy(c, &at, setting, false);
        }
    }
}

/// `Gateway.spec`.
pub(super) fn gateway(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    c.labels(&at.key("selector"), get(spec, "selector"));
    for (i, server) in items(get(spec, "servers")) {
        let at = at.key("servers").index(i);
        let s = Some(server);
        let server_port = get(s, "port");
        port(c, &at.key("port").key("number"), get(server_port, "number"));
        c.text(&at.key("port").key("protocol"), get(server_port, "protocol"), parse_port_protocol);
        for (j, host) in items(get(s, "hosts")) {
            c.text(&at.key("hosts").index(j), Some(host), parse_gateway_host);
        }
        let mode = get(get(s, "tls"), "mode");
        c.text(&at.key("tls").key("mode"), mode, |m| parse_enum(m, EnumField::ServerTlsMode));
    }
}

/// `ServiceEntry.spec`.
pub(super) fn service_entry(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    for (i, host) in items(get(spec, "hosts")) {
        c.text(&at.key("hosts").index(i), Some(host), validate_service_entry_host);
    }
    for (i, address) in items(get(spec, "addresses")) {
        c.text(&at.key("addresses").index(i), Some(address), parse_ip_block);
    }
    for (i, p) in items(get(spec, "ports")) {
        let at = at.key("ports").index(i);
        port(c, &at.key("number"), get(Some(p), "number"));
        port(c, &at.key("targetPort"), get(Some(p), "targetPort"));
        c.text(&at.key("protocol"), get(Some(p), "protocol"), parse_port_protocol);
    }
    c.text(&at.key("location"), get(spec, "location"), |v| parse_enum(v, EnumField::Location));
    c.text(&at.key("resolution"), get(spec, "resolution"), |v| {
        parse_enum(v, EnumField::Resolution)
    });
    let selector = get(spec, "workloadSelector");
    c.labels(&at.key("workloadSelector").key("labels"), get(selector, "labels"));
}

/// `Sidecar.spec`.
pub(super) fn sidecar(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    let selector = get(spec, "workloadSelector");
    c.labels(&at.key("workloadSelector").key("labels"), get(selector, "labels"));
    for (i, listener) in items(get(spec, "egress")) {
        let at = at.key("egress").index(i);
        port(c, &at.key("port").key("number"), get(get(Some(listener), "port"), "number"));
        for (j, host) in items(get(Some(listener), "hosts")) {
            c.text(&at.key("hosts").index(j), Some(host), validate_sidecar_host);
        }
    }
    let mode = get(get(spec, "outboundTrafficPolicy"), "mode");
    c.text(&at.key("outboundTrafficPolicy").key("mode"), mode, |m| {
        parse_enum(m, EnumField::OutboundTrafficMode)
    });
}
