//! `unexpose`: only what `expose` added goes, and whatever stays is named with the reason.

use super::{FRONTEND, env, public_gateway, stored};

const VS: &str = "virtualservices.networking.istio.io";
const GW: &str = "gateways.networking.istio.io";

#[test]
fn unexpose_removes_what_expose_created() {
    let env = env();
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service in default deleted\n\
         gateway.networking.istio.io/my-service-gateway in default deleted\n"
    );
    assert!(env.server.object(VS, "default", "my-service").is_none());
    assert!(env.server.object(GW, "default", "my-service-gateway").is_none());

    env.server.clear_log();
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("note: nothing to remove: no route to default/my-service"),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[test]
fn unexpose_leaves_a_shared_gateway_alone() {
    let env = env();
    env.seed(&public_gateway("*"));
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service in default deleted\n\
         gateway.networking.istio.io/public in default kept: not created by kubectl-debatemesh\n"
    );
    assert!(env.server.object(GW, "default", "public").is_some());
    assert_eq!(env.writes().iter().filter(|w| w.path.contains("/gateways/")).count(), 0);
}

#[test]
fn a_gateway_of_ours_that_another_service_uses_is_kept() {
    let env = env();
    env.seed(
        "apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: default}\n\
              spec:\n  ports: [{port: 80}]\n",
    );
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    let run = env.run(&["expose", "other", "--path", "/other"]).ok();
    assert!(run.stderr.contains("reusing gateway default/my-service-gateway"), "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("virtualservice.networking.istio.io/my-service in default configured\n"),
        "{}",
        run.stdout
    );

    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service in default configured\n\
         virtualservice.networking.istio.io/my-service in default kept: it still holds routes of other\n\
         gateway.networking.istio.io/my-service-gateway in default kept: still used by VirtualService default/my-service\n"
    );
    let vs = stored(&env, VS, "default", "my-service");
    assert_eq!(vs["spec"]["http"].as_array().unwrap().len(), 1);
    assert_eq!(vs["spec"]["http"][0]["name"], "other");

    let run = env.run(&["unexpose", "other"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service in default deleted\n\
         gateway.networking.istio.io/my-service-gateway in default deleted\n"
    );
}

#[test]
fn unexpose_takes_its_route_out_of_someone_elses_virtual_service() {
    let env = env();
    env.seed(&public_gateway("shop.example.com"));
    env.seed(FRONTEND);
    let before = stored(&env, VS, "default", "frontend");
    env.run(&["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"]).ok();

    let run = env.run(&["unexpose", "my-service", "--dry-run"]).ok();
    assert!(
        run.stdout.contains(
            "virtualservice.networking.istio.io/frontend in default configured (dry run)"
        ),
        "{}",
        run.stdout
    );
    env.server.clear_log();
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert!(
        run.stdout
            .starts_with("virtualservice.networking.istio.io/frontend in default configured\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(
        "gateway.networking.istio.io/public in default kept: not created by kubectl-debatemesh"
    ));
    let after = stored(&env, VS, "default", "frontend");
    assert_eq!(after["spec"], before["spec"], "back to what it was");
    let writes = env.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PUT");
}

#[test]
fn a_route_someone_wrote_to_the_service_is_kept() {
    let env = env();
    env.seed(&public_gateway("*"));
    env.seed(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: my-service-vs, namespace: default}\n\
         spec:\n  hosts: ['*']\n  gateways: [public]\n  http:\n  - match: [{uri: {prefix: /my-service}}]\n    \
         route: [{destination: {host: my-service.default.svc.cluster.local, port: {number: 8080}}}]\n",
    );
    // The guide's own objects already route /my-service: expose has nothing to add.
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(
        run.stdout
            .starts_with("virtualservice.networking.istio.io/my-service-vs in default unchanged\n"),
        "{}",
        run.stdout
    );
    assert!(env.writes().is_empty());
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(
        run.stdout,
        "virtualservice.networking.istio.io/my-service-vs in default kept: its routes http[0] to my-service were not added by expose\n"
    );
    assert!(env.writes().is_empty());
}

#[test]
fn unexpose_removes_gateway_api_objects_too() {
    let env = env();
    env.run(&["expose", "my-service", "--api", "gateway-api"]).ok();
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(
        run.stdout,
        "httproute.gateway.networking.k8s.io/my-service in default deleted\n\
         gateway.gateway.networking.k8s.io/my-service-gateway in default deleted\n"
    );
    assert_eq!(env.server.objects("httproutes", Some("default")), Vec::<serde_json::Value>::new());
}

#[test]
fn an_unknown_service_is_not_found_as_kubectl_delete_says_unless_ignored() {
    let env = env();
    env.run(&["unexpose", "nosuch"])
        .code(2)
        .one_error_line("service \"nosuch\" not found in namespace default, and no route to it");
    assert!(env.writes().is_empty());
    let run = env.run(&["unexpose", "nosuch", "--ignore-not-found"]).ok();
    assert!(run.stderr.contains("note: nothing to remove"), "{}", run.stderr);

    // Routes left for a Service since deleted are still removed.
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    env.server.remove("services", "default", "my-service").expect("the Service was stored");
    env.run(&["unexpose", "my-service"]).ok();
    assert!(env.server.object(VS, "default", "my-service").is_none());
    assert!(env.server.object(GW, "default", "my-service-gateway").is_none());
    env.run(&["unexpose", "my-service"]).code(2);
}
