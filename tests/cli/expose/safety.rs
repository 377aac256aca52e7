//! Safety of `expose` writes: objects other tools or field managers own are refused without
//! `--force`, concurrent changes are retried on fresh data, and a failed write says what was
//! already written.

use serde_json::{Value, json};

use super::{FRONTEND, assert_golden, env, guide_objects, public_gateway, stored};
use crate::support::{Fault, Operation};

#[test]
fn a_concurrent_change_is_retried_on_fresh_data() {
    let env = env();
    env.seed(&public_gateway("shop.example.com"));
    env.seed(FRONTEND);
    let path = "/apis/networking.istio.io/v1/namespaces/default/virtualservices/frontend";
    env.server.fault(Fault::status(409).method("PUT").path(path).times(1));
    env.run(&["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"]).ok();
    let log = env.server.requests();
    let calls: Vec<&str> =
        log.iter().filter(|r| r.path == path).map(|r| r.method.as_str()).collect();
    assert_eq!(calls, ["GET", "PUT", "GET", "PUT"], "re-read after the conflict");
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "frontend");
    assert_eq!(vs["spec"]["http"].as_array().unwrap().len(), 2);
}

#[test]
fn a_helm_owned_virtual_service_is_refused_without_force() {
    let env = env();
    env.seed(&public_gateway("shop.example.com"));
    env.seed(&FRONTEND.replace(
        "labels: {team: web}",
        "labels: {team: web}, annotations: {meta.helm.sh/release-name: shop}",
    ));
    let args = ["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"];
    let run = env.run(&args).code(1);
    assert!(
        run.stderr.starts_with(
            "error: refusing to change VirtualService default/frontend: it is managed by Helm \
             (release shop"
        ),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());

    let mut forced = args.to_vec();
    forced.push("--force");
    env.run(&forced).ok();
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "frontend");
    assert_eq!(vs["spec"]["http"][0]["name"], "my-service");
}

#[test]
fn another_field_manager_owning_the_routes_is_named() {
    let env = env();
    env.seed(&public_gateway("shop.example.com"));
    let docs: Vec<Value> = serde_saphyr::from_multiple(FRONTEND).unwrap();
    let vs = docs.into_iter().find(|d| !d.is_null()).unwrap();
    env.server.insert_managed(vs, "gitops-sync", Operation::Apply);
    env.server.clear_log();
    let run = env
        .run(&["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"])
        .code(1);
    assert!(
        run.stderr.contains("managed by gitops-sync (field manager owning .spec.http)"),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[test]
fn a_fault_on_the_second_write_reports_the_first_and_a_rerun_converges() {
    let env = env();
    let prefix = "/apis/networking.istio.io/v1/namespaces/default/virtualservices";
    env.server.fault(Fault::status(500).method("PATCH").prefix(prefix).times(1));
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).code(3);
    assert_eq!(run.stdout, "gateway.networking.istio.io/my-service-gateway in default created\n");
    assert!(
        run.stderr.contains(
            "\nerror: already written: gateway.networking.istio.io/my-service-gateway; re-running is \
             safe\ncaused by: failed to patch VirtualService default/my-service\n"
        ),
        "{}",
        run.stderr
    );
    let run = env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    assert!(run.stdout.starts_with(
        "gateway.networking.istio.io/my-service-gateway in default unchanged\n\
         virtualservice.networking.istio.io/my-service in default created\n"
    ));
    assert_golden("guide", &guide_objects(&env));
}

#[test]
fn an_apply_conflict_on_our_own_object_names_the_other_manager() {
    let env = env();
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    let mut vs = stored(&env, "virtualservices.networking.istio.io", "default", "my-service");
    for key in ["managedFields", "resourceVersion", "uid"] {
        vs["metadata"].as_object_mut().unwrap().remove(key);
    }
    env.server.insert_managed(vs, "gitops-sync", Operation::Apply);
    env.server.clear_log();
    let run = env.run(&["expose", "my-service", "--path", "/api"]).code(1);
    assert!(run.stderr.contains("gitops-sync"), "{}", run.stderr);
    assert!(run.stderr.contains(".spec.http"), "{}", run.stderr);
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "my-service");
    assert_eq!(vs["spec"]["http"][0]["match"], json!([{"uri": {"prefix": "/my-service"}}]));

    env.run(&["expose", "my-service", "--path", "/api", "--force"]).ok();
    let vs = stored(&env, "virtualservices.networking.istio.io", "default", "my-service");
    assert_eq!(vs["spec"]["http"][0]["match"], json!([{"uri": {"prefix": "/api"}}]));
}
