//! Bad input to `expose`: one clear `error:` line, exit 2, and no write in the request log.

use super::{FRONTEND, env, public_gateway};
use crate::harness::Env;

/// Runs `args`, expecting exit 2 with one error line containing `text` and no write.
#[track_caller]
fn refused(env: &Env, args: &[&str], text: &str) {
    env.run(args).code(2).one_error_line(text);
    assert!(env.writes().is_empty(), "{args:?} wrote: {:?}", env.writes());
}

const TWO_PORTS: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default}\n\
    spec:\n  ports: [{name: http, port: 8080}, {name: grpc, port: 9000}]\n";

#[test]
fn every_bad_input_exits_2_with_one_line_and_no_write() {
    let env = env();
    env.seed(TWO_PORTS);
    refused(&env, &["expose", "nope"], "service \"nope\" not found in namespace default");
    refused(
        &env,
        &["expose", "api"],
        "service default/api has several ports (http 8080, grpc 9000); choose one with --port",
    );
    refused(
        &env,
        &["expose", "api", "--port", "web"],
        "invalid value \"web\" for --port: service default/api has no such port (its ports: http 8080, grpc 9000)",
    );
    refused(&env, &["expose", "api", "--port", "7070"], "no such port");
    refused(
        &env,
        &["expose", "my-service", "--host", "shop.example.com:80"],
        "invalid value \"shop.example.com:80\" for --host: hosts take no port",
    );
    refused(&env, &["expose", "my-service", "--host", "foo.*.example.com"], "for --host");
    refused(&env, &["expose", "my-service", "--host", "shop"], "fully qualified");
    refused(
        &env,
        &["expose", "my-service", "--path", "my-service"],
        "invalid value \"my-service\" for --path: paths must start with '/'",
    );
    refused(
        &env,
        &["expose", "my-service", "--gateway", "istio-system/missing"],
        "invalid value \"istio-system/missing\" for --gateway: gateway istio-system/missing not found",
    );
    refused(&env, &["expose", "my-service", "--gateway", "a/b/c"], "for --gateway");
    refused(
        &env,
        &["expose", "my-service", "--gateway-selector", "istio"],
        "for --gateway-selector",
    );
    refused(&env, &["expose", "my-service", "--https-redirect"], "--tls-secret");
    refused(&env, &["expose", "my-service", "--api", "envoy"], "--api");
    refused(&env, &["expose", "my-service", "-o", "wide"], "-o");
    refused(&env, &["expose", "My_Service"], "invalid value \"My_Service\" for SVC");
    refused(&env, &["unexpose", "My_Service"], "for SVC");
}

#[test]
fn flag_errors_are_found_before_anything_is_sent() {
    let env = env();
    for args in [
        &["expose", "my-service", "--host", "http://shop.example.com"][..],
        &["expose", "my-service", "--path", "/a b"],
        &["expose", "my-service", "--rewrite", "v1"],
        &["expose", "my-service", "--port", "70000"],
        &["expose", "my-service", "--tls-secret", "Bad_Secret"],
        &["expose", "my-service", "--cluster-domain", "*.local"],
    ] {
        env.run(args).code(2).one_error_line("invalid value");
    }
    assert!(env.server.requests().is_empty(), "{:?}", env.server.requests());
}

#[test]
fn a_named_gateway_must_serve_the_hosts() {
    let env = env();
    env.seed(&public_gateway("shop.example.com"));
    refused(
        &env,
        &["expose", "my-service", "--gateway", "public"],
        "gateway default/public does not serve host \"*\" on port 80 (HTTP); pass --host",
    );
    env.run(&["expose", "my-service", "--gateway", "default/public", "--host", "shop.example.com"])
        .ok();
}

#[test]
fn a_path_routed_elsewhere_is_a_conflict() {
    let env = env();
    env.seed(&public_gateway("shop.example.com"));
    env.seed(FRONTEND);
    refused(
        &env,
        &["expose", "my-service", "--host", "shop.example.com"],
        "VirtualService default/frontend already routes prefix / to frontend.default.svc.cluster.local",
    );
}
