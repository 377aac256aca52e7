//! `expose` runs `check`'s analyzers on the route as it will be: a route `check` reports as
//! broken is never called reachable, and a write that would break it is refused.

use super::env;

/// The user's VirtualService: a canary route to a subset no DestinationRule defines.
const CANARY: &str = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: my-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: my-service-vs, namespace: default}
spec:
  hosts: ['*']
  gateways: [my-gateway]
  http:
  - name: canary
    match: [{uri: {prefix: /my-service/canary}}]
    route: [{destination: {host: my-service.default.svc.cluster.local, port: {number: 8080}, subset: canary}}]
  - name: main
    match: [{uri: {prefix: /my-service}}]
    route: [{destination: {host: my-service.default.svc.cluster.local, port: {number: 8080}}}]
"#;

#[test]
fn an_unchanged_route_to_an_undefined_subset_is_not_called_reachable() {
    let env = env();
    env.seed(CANARY);
    let run = env.run(&["expose", "my-service", "--path", "/my-service/canary"]).ok();
    assert!(
        run.stdout
            .contains("virtualservice.networking.istio.io/my-service-vs in default unchanged"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("is reachable"), "{}", run.stdout);
    assert!(
        run.stdout.contains("would be reachable at:\n  http://203.0.113.10/my-service/canary\n")
            && run.stdout.contains(
                "but the route is broken:\n  DM0105 VirtualService default/my-service-vs"
            ),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("warning: the route is broken: DM0105"), "{}", run.stderr);
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    assert_eq!(env.lists_of("destinationrules").len(), 1, "one list of DestinationRules");
}

#[test]
fn a_destination_rule_with_the_subset_makes_it_reachable() {
    let env = env();
    env.seed(CANARY);
    env.seed(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: my-service-dr, namespace: default}\n\
         spec:\n  host: my-service\n  subsets: [{name: canary, labels: {version: canary}}]\n",
    );
    let run = env.run(&["expose", "my-service", "--path", "/my-service/canary"]).ok();
    assert!(
        run.stdout.contains(
            "default/my-service is reachable at:\n  http://203.0.113.10/my-service/canary\n"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("DM0105"), "{}", run.stderr);
}

#[test]
fn a_new_route_in_a_virtual_service_already_broken_is_written_with_a_warning() {
    let env = env();
    env.seed(CANARY);
    let run = env.run(&["expose", "my-service", "--path", "/api"]).ok();
    assert!(run.stdout.contains("my-service-vs in default configured"), "{}", run.stdout);
    assert!(run.stdout.contains("but the route is broken:\n  DM0105"), "{}", run.stdout);
}
