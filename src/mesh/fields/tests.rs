//! Field checks: each kind's bad values named by path, good objects clean, and objects kept
//! whatever their values.

use serde_json::{Value, json};

use super::*;
use crate::mesh::authorization_policy::{Action, AuthorizationPolicy};
use crate::mesh::destination_rule::DestinationRule;
use crate::mesh::virtual_service::VirtualService;

fn object(kind: &str, spec: Value) -> Value {
    json!({"kind": kind, "metadata": {"name": "x", "namespace": "shop"}, "spec": spec})
}

/// `path: value` of each problem, for short assertions.
fn problems(kind: Kind, spec: Value) -> Vec<String> {
    let errors = check(kind, &object(kind.kind_name(), spec));
    errors.iter().map(|e| format!("{} {}", e.subject(), e.value())).collect()
}

// Expected verdicts: the validators' own sources (istio pkg/config/validation and the CRDs),
// applied at each field path.
#[test]
fn bad_values_are_named_by_their_field_path() {
    let vs = json!({
        "hosts": ["cart", "bad_host!", "*.*.example.com"],
        "http": [{
            "timeout": "banana",
            "retries": {"attempts": -1, "perTryTimeout": "1x", "retryOn": "5xx,sometimes"},
            "route": [{"destination": {"host": "cart", "port": {"number": 70000}}}]
        }],
        "tcp": [{"route": [{"destination": {"host": "*"}}]}]
    });
    assert_eq!(
        problems(Kind::VirtualService, vs),
        [
            "spec.hosts[1] bad_host!",
            "spec.hosts[2] *.*.example.com",
            "spec.http[0].timeout banana",
            "spec.http[0].retries.attempts -1",
            "spec.http[0].retries.perTryTimeout 1x",
            "spec.http[0].retries.retryOn 5xx,sometimes",
            "spec.http[0].route[0].destination.port.number 70000",
            "spec.tcp[0].route[0].destination.host *",
        ]
    );

    let dr = json!({
        "host": "cart",
        "trafficPolicy": {
            "outlierDetection": {"maxEjectionPercent": 150, "interval": "0s"},
            "connectionPool": {"tcp": {"maxConnections": -5}},
            "tls": {"mode": "istio_mutual"},
            "portLevelSettings": [{"port": {"number": 0}}]
        },
        "subsets": [{"name": "V1", "labels": {"version": "v1"}}]
    });
    assert_eq!(
        problems(Kind::DestinationRule, dr),
        [
            "spec.trafficPolicy.connectionPool.tcp.maxConnections -5",
            "spec.trafficPolicy.outlierDetection.interval 0s",
            "spec.trafficPolicy.outlierDetection.maxEjectionPercent 150",
            "spec.trafficPolicy.tls.mode istio_mutual",
            "spec.trafficPolicy.portLevelSettings[0].port.number 0",
            "spec.subsets[0].name V1",
        ]
    );

    let pa = json!({"mtls": {"mode": "STRIKT"}, "selector": {"matchLabels": {"app": "a"}},
        "portLevelMtls": {"http": {"mode": "STRICT"}, "8080": {"mode": "OFF"}}});
    assert_eq!(
        problems(Kind::PeerAuthentication, pa),
        [
            "spec.mtls.mode STRIKT",
            "spec.portLevelMtls.8080.mode OFF",
            "spec.portLevelMtls.http http"
        ]
    );

    let ap = json!({"action": "PERMIT", "rules": [{
        "from": [{"source": {"ipBlocks": ["10.0.0.0/33"], "principals": ["spiffe://cluster.local/ns/a/sa/b"]}}],
        "to": [{"operation": {"ports": ["http"], "paths": ["/api/{**}/x/{*}", "no-slash"]}}],
        "when": [{"key": "request.color", "values": ["red"]}]
    }]});
    assert_eq!(
        problems(Kind::AuthorizationPolicy, ap),
        [
            "spec.action PERMIT",
            "spec.rules[0].from[0].source.principals[0] spiffe://cluster.local/ns/a/sa/b",
            "spec.rules[0].from[0].source.ipBlocks[0] 10.0.0.0/33",
            "spec.rules[0].to[0].operation.ports[0] http",
            "spec.rules[0].to[0].operation.paths[0] /api/{**}/x/{*}",
            "spec.rules[0].when[0] request.color",
        ]
    );

    let gw = json!({"selector": {"istio": "ingress gateway"}, "servers": [{
        "port": {"number": 80, "protocol": "HTTP3", "name": "http"},
        "hosts": ["shop"], "tls": {"mode": "STRICT"}}]});
    assert_eq!(
        problems(Kind::Gateway, gw),
        [
            "spec.selector.istio ingress gateway",
            "spec.servers[0].port.protocol HTTP3",
            "spec.servers[0].hosts[0] shop",
            "spec.servers[0].tls.mode STRICT",
        ]
    );

    let se = json!({"hosts": ["*"], "ports": [{"number": 443, "protocol": "QUIC"}],
        "location": "EXTERNAL", "resolution": "DNS"});
    assert_eq!(
        problems(Kind::ServiceEntry, se),
        ["spec.hosts[0] *", "spec.ports[0].protocol QUIC", "spec.location EXTERNAL"]
    );

    let sidecar = json!({"egress": [{"hosts": ["istio-system/*", "reviews"]}],
        "outboundTrafficPolicy": {"mode": "DENY_ALL"}});
    assert_eq!(
        problems(Kind::Sidecar, sidecar),
        ["spec.egress[0].hosts[1] reviews", "spec.outboundTrafficPolicy.mode DENY_ALL"]
    );

    let ra = json!({"selector": {"matchLabels": {"-app": "a"}}});
    assert_eq!(problems(Kind::RequestAuthentication, ra), ["spec.selector.matchLabels.-app -app"]);
}

#[test]
fn values_istio_accepts_are_clean() {
    let vs = json!({
        "hosts": ["*"], "gateways": ["shop-gateway"],
        "http": [{"match": [{"uri": {"prefix": "/"}, "port": 80}],
            "timeout": "10s",
            "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,503"},
            "route": [{"destination": {"host": "cart.shop.svc.cluster.local", "port": {"number": 8080}}}]},
            {"redirect": {"uri": "/new", "redirectCode": 308}}]
    });
    assert!(problems(Kind::VirtualService, vs).is_empty());
    let dr = json!({"host": "cart", "trafficPolicy": {
        "connectionPool": {"tcp": {"maxConnections": 100, "connectTimeout": "1500ms"},
            "http": {"http1MaxPendingRequests": 100, "idleTimeout": "5m"}},
        "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s",
            "baseEjectionTime": "60s", "maxEjectionPercent": 100},
        "tls": {"mode": "ISTIO_MUTUAL"}}});
    assert!(problems(Kind::DestinationRule, dr).is_empty());
    let ap = json!({"action": "DENY", "rules": [{"from": [{"source":
        {"principals": ["cluster.local/ns/a/sa/b"], "namespaces": ["prod-*"]}}],
        "to": [{"operation": {"ports": ["8080"], "methods": ["get"], "paths": ["api"]}}],
        "when": [{"key": "request.headers[x-token]", "values": ["a"]}]}]});
    assert!(problems(Kind::AuthorizationPolicy, ap).is_empty(), "methods and paths are DM0407/8's");
    let sidecar = json!({"egress": [{"hosts": ["./*", "istio-system/*"]}],
        "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}});
    assert!(problems(Kind::Sidecar, sidecar).is_empty());
}

#[test]
fn unquoted_strings_and_quoted_numbers_are_refused_as_the_api_server_refuses_them() {
    let spec = json!({"http": [{"retries": {"attempts": "3", "retryOn": 503},
        "route": [{"destination": {"host": "cart"}}]}]});
    let errors = check(Kind::VirtualService, &object("VirtualService", spec));
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "invalid value \"3\" for spec.http[0].retries.attempts: this field takes a number: \
             write it without quotes",
            "invalid value \"503\" for spec.http[0].retries.retryOn: this field takes a string: \
             quote it, as \"503\"",
        ]
    );
}

#[test]
fn an_object_is_kept_with_the_values_its_type_can_hold() {
    let value = object(
        "VirtualService",
        json!({"hosts": ["cart"], "http": [{
            "timeout": 5,
            "retries": {"attempts": "three"},
            "route": [{"destination": {"host": "cart", "port": {"number": "x"}}, "weight": "heavy"}]
        }]}),
    );
    let (vs, problems) = decode::<VirtualService>(value).unwrap();
    assert_eq!(vs.metadata.name, "x");
    assert_eq!(vs.spec.hosts, ["cart"]);
    let route = &vs.spec.http[0];
    assert_eq!(route.timeout, None);
    assert_eq!(route.retries.as_ref().and_then(|r| r.attempts), None);
    assert_eq!(route.route[0].destination.host, "cart");
    assert_eq!(route.route[0].destination.port, None, "no port 0 is made up");
    let paths: Vec<&str> = problems.iter().map(|e| e.subject()).collect();
    assert_eq!(
        paths,
        [
            "spec.http[0].retries.attempts",
            "spec.http[0].route[0].destination.port.number",
            "spec.http[0].route[0].weight",
            "spec.http[0].timeout",
        ]
    );
    assert!(problems[2].to_string().contains("expected i32"), "{}", problems[2]);
}

#[test]
fn several_values_of_the_wrong_shape_are_each_found() {
    let value = object(
        "VirtualService",
        json!({"hosts": "cart", "gateways": ["mesh", 7], "http": {"route": true},
            "tcp": [{"route": [{"destination": {"host": "db"}}]}]}),
    );
    let (vs, problems) = decode::<VirtualService>(value).unwrap();
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "invalid value \"7\" for spec.gateways[1]: invalid type: integer `7`, expected a string",
            "invalid value \"cart\" for spec.hosts: invalid type: string \"cart\", expected a sequence",
            "invalid value \"{\\\"route\\\":true}\" for spec.http: invalid type: map, expected a sequence",
        ]
    );
    assert_eq!(vs.spec.gateways, ["mesh"], "the good values stay");
    assert_eq!(vs.spec.tcp[0].route[0].destination.host, "db");
}

#[test]
fn enum_values_that_parse_are_kept_for_the_analyzers() {
    let value = object("AuthorizationPolicy", json!({"action": "PERMIT"}));
    let (ap, problems) = decode::<AuthorizationPolicy>(value).unwrap();
    assert_eq!(ap.spec.action, Some(Action::Unknown));
    assert_eq!(problems.len(), 1);
}

#[test]
fn a_spec_that_cannot_be_read_leaves_the_metadata() {
    let value = json!({"metadata": {"name": "x", "namespace": "shop"}, "spec": "not a mapping"});
    let (dr, problems) = decode::<DestinationRule>(value).unwrap();
    assert_eq!(dr.metadata.name, "x");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].subject(), "spec");
    let broken = json!({"metadata": {"name": ["x"]}});
    assert!(decode::<DestinationRule>(broken).is_err());
}

#[test]
fn a_list_page_with_one_bad_object_reads_every_object() {
    let page = json!([
        {"metadata": {"name": "a", "namespace": "shop"}, "spec": {"host": "a"}},
        {"metadata": {"name": "b", "namespace": "shop"},
         "spec": {"host": "b", "trafficPolicy": {"outlierDetection": {"maxEjectionPercent": "lots"}}}},
    ]);
    let items: Vec<Checked<DestinationRule>> = serde_json::from_value(page).unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0].problems.is_empty());
    assert_eq!(items[1].obj.spec.host, "b");
    assert_eq!(
        items[1].problems[0].subject(),
        "spec.trafficPolicy.outlierDetection.maxEjectionPercent"
    );
}
