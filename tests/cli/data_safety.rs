//! Data safety: edits keep the fields this tool does not model (objects from a newer Istio or
//! another tool), a change made between our read and our write is never overwritten, and
//! nothing is deleted that the tool did not create.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::faults::{MatrixEnv, matrix_env};
use crate::support::{Fault, TestServer};

/// A hand-made object for every command that edits one, each with fields from a newer Istio
/// (or Kubernetes) that no type of ours names.
const HAND_MADE: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {owner: team-a}
  annotations: {scheduler.alpha.kubernetes.io/node-selector: pool=shop}
spec: {finalizers: [kubernetes, example.com/keep]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: frontend, namespace: default, annotations: {team: web}}
spec:
  hosts: [shop.example.com]
  gateways: [public]
  futureField: {keep: me}
  http:
  - name: frontend
    match: [{uri: {prefix: /}}]
    route: [{destination: {host: frontend.default.svc.cluster.local, port: {number: 80}, futureTag: blue}}]
    mirrorPercentage: {value: 5}
    futureRouteField: [1, 2]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: my-service, namespace: default}
spec:
  hosts: [my-service.default.svc.cluster.local]
  exportTo: ["."]
  futureTopLevel: {mode: next}
  http:
  - name: main
    headers: {request: {set: {x-team: a}}}
    route: [{destination: {host: my-service.default.svc.cluster.local}, weight: 100}]
    futureRouteField: true
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: my-service, namespace: default}
spec:
  host: my-service.default.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    futurePolicy: {level: 3}
    connectionPool: {tcp: {connectTimeout: 3s, futureTcp: 1}}
  subsets: [{name: v1, labels: {version: v1}, futureSubsetField: x}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default, annotations: {reviewed: "yes"}}
spec:
  mtls: {mode: PERMISSIVE}
  futureField: {x: 1}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: my-service-allow, namespace: default, labels: {team: sec}}
spec:
  selector: {matchLabels: {app: my-service}}
  action: ALLOW
  futureField: {y: 2}
  rules:
  - from: [{source: {namespaces: [shop]}}]
    futureRuleField: z
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: my-service-deny, namespace: default}
spec:
  selector: {matchLabels: {app: my-service}}
  action: DENY
  futureField: {y: 3}
  rules:
  - to: [{operation: {paths: [/debug/*]}}]
"#;

/// One edit: the command, the object it edits, the fields it must keep (`BEFORE => AFTER` when
/// the edit moves them, as a more specific route goes first) and one it must set.
struct Edit {
    args: &'static [&'static str],
    resource: &'static str,
    namespace: &'static str,
    name: &'static str,
    keeps: &'static [&'static str],
    sets: &'static str,
}

const NS: &str = "namespaces";
const VS: &str = "virtualservices.networking.istio.io";
const DR: &str = "destinationrules.networking.istio.io";
const PA: &str = "peerauthentications.security.istio.io";
const AP: &str = "authorizationpolicies.security.istio.io";

const EDITS: &[Edit] = &[
    Edit {
        args: &["inject", "shop"],
        resource: NS,
        namespace: "",
        name: "shop",
        keeps: &["/metadata/labels/owner", "/metadata/annotations", "/spec/finalizers"],
        sets: "/metadata/labels/istio-injection",
    },
    Edit {
        args: &["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"],
        resource: VS,
        namespace: "default",
        name: "frontend",
        keeps: &["/metadata/annotations", "/spec/futureField", "/spec/http/0 => /spec/http/1"],
        sets: "/spec/http/0/route/0/destination/host",
    },
    Edit {
        args: &["resilience", "my-service", "--retries", "3", "--per-try-timeout", "2s"],
        resource: VS,
        namespace: "default",
        name: "my-service",
        keeps: &[
            "/spec/exportTo",
            "/spec/futureTopLevel",
            "/spec/http/0/headers",
            "/spec/http/0/route",
            "/spec/http/0/futureRouteField",
        ],
        sets: "/spec/http/0/retries/perTryTimeout",
    },
    Edit {
        args: &["resilience", "my-service", "--max-connections", "50"],
        resource: DR,
        namespace: "default",
        name: "my-service",
        keeps: &[
            "/spec/trafficPolicy/tls",
            "/spec/trafficPolicy/futurePolicy",
            "/spec/trafficPolicy/connectionPool/tcp/connectTimeout",
            "/spec/trafficPolicy/connectionPool/tcp/futureTcp",
            "/spec/subsets",
        ],
        sets: "/spec/trafficPolicy/connectionPool/tcp/maxConnections",
    },
    Edit {
        args: &["mtls", "default", "--mode", "STRICT"],
        resource: PA,
        namespace: "default",
        name: "default",
        keeps: &["/metadata/annotations", "/spec/futureField"],
        sets: "/spec/mtls/mode",
    },
    Edit {
        args: &["allow", "app=my-service", "--from", "ns/istio-system"],
        resource: AP,
        namespace: "default",
        name: "my-service-allow",
        keeps: &["/metadata/labels/team", "/spec/futureField", "/spec/selector"],
        sets: "/spec/rules",
    },
    Edit {
        args: &["deny", "app=my-service", "--from", "any", "--paths", "/admin/*"],
        resource: AP,
        namespace: "default",
        name: "my-service-deny",
        keeps: &["/spec/futureField", "/spec/selector", "/spec/action"],
        sets: "/spec/rules",
    },
];

fn env() -> MatrixEnv {
    let env = matrix_env(TestServer::builder());
    env.seed(HAND_MADE);
    env
}

fn stored(env: &MatrixEnv, edit: &Edit) -> Value {
    env.server.object(edit.resource, edit.namespace, edit.name).expect("the object is stored")
}

#[test]
fn edits_keep_every_field_this_tool_does_not_model() {
    for edit in EDITS {
        let env = env();
        let before = stored(&env, edit);
        let run = env.run(edit.args);
        assert_eq!(run.code, 0, "{:?}\n{}\n{}", edit.args, run.stdout, run.stderr);
        let after = stored(&env, edit);
        for keep in edit.keeps {
            let (from, to) = keep.split_once(" => ").unwrap_or((keep, keep));
            assert_eq!(
                before.pointer(from),
                after.pointer(to),
                "{:?} changed {keep} of {}",
                edit.args,
                edit.name
            );
            assert!(before.pointer(from).is_some(), "the fixture has {from}");
        }
        assert_ne!(before.pointer(edit.sets), after.pointer(edit.sets), "{:?} wrote", edit.args);
        let puts: Vec<_> =
            env.writes().into_iter().filter(|w| w.path.ends_with(edit.name)).collect();
        assert!(puts.iter().all(|w| w.method == "PUT"), "edited in place: {puts:?}");
    }
}

/// Runs `args` in the background; once the command has read `read` (a GET of that path),
/// runs `change` while the command's `method` to `write` waits at the server, then waits for
/// the exit.
fn race(
    env: &MatrixEnv,
    args: &[&str],
    (read, method, write): (&str, &str, &str),
    change: impl FnOnce(),
) -> i32 {
    let delay = Fault::delay(Duration::from_millis(700));
    env.server.fault(delay.method(method).path(write).times(1));
    let mut child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while !env.server.requests().iter().any(|r| r.method == "GET" && r.path == read) {
        assert!(started.elapsed() < Duration::from_secs(20), "the command never read {read}");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(150));
    change();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_change_between_read_and_write_is_never_overwritten() {
    let edits: Vec<&Edit> = [0, 1, 2, 3, 4, 5].iter().map(|i| &EDITS[*i]).collect();
    std::thread::scope(|scope| {
        for edit in edits {
            scope.spawn(move || {
                let env = env();
                let path = object_path(edit);
                let code = race(&env, edit.args, (&path, "PUT", &path), || {
                    let mut object = stored(&env, edit);
                    object["metadata"]["annotations"]["changed-meanwhile"] = "by someone".into();
                    env.server.insert(object);
                });
                assert_eq!(code, 0, "{:?}", edit.args);
                let after = stored(&env, edit);
                assert_eq!(
                    after.pointer("/metadata/annotations/changed-meanwhile"),
                    Some(&Value::from("by someone")),
                    "{:?} overwrote the concurrent change",
                    edit.args
                );
                assert!(after.pointer(edit.sets).is_some(), "{:?} still wrote", edit.args);
                let puts = env.writes().into_iter().filter(|w| w.path == path).count();
                assert_eq!(puts, 2, "{:?}: a conflict, then a write on fresh data", edit.args);
            });
        }
    });
}

#[test]
fn a_delete_of_an_object_changed_after_it_was_read_is_left_alone() {
    let env = matrix_env(TestServer::builder());
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    env.server.clear_log();
    let list = "/apis/networking.istio.io/v1/namespaces/default/virtualservices";
    let path = format!("{list}/my-service");
    let code = race(&env, &["unexpose", "my-service"], (list, "DELETE", &path), || {
        let mut vs = env.server.object(VS, "default", "my-service").unwrap();
        vs["spec"]["http"][0]["timeout"] = "5s".into();
        env.server.insert(vs);
    });
    assert_eq!(code, 1, "the delete was refused by its preconditions");
    let vs = env.server.object(VS, "default", "my-service").expect("not deleted");
    assert_eq!(vs["spec"]["http"][0]["timeout"], "5s", "the change made meanwhile stays");
    let deletes = env.server.requests().into_iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(deletes, 1, "not retried blindly");
}

fn object_path(edit: &Edit) -> String {
    match edit.resource {
        NS => format!("/api/v1/namespaces/{}", edit.name),
        resource => {
            let (plural, group) = resource.split_once('.').expect("plural.group");
            format!("/apis/{group}/v1/namespaces/{}/{plural}/{}", edit.namespace, edit.name)
        }
    }
}
/// Every DELETE in the log, as `plural/namespace/name`.
fn deletes(env: &MatrixEnv) -> Vec<String> {
    env.writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .map(|w| {
            // .../namespaces/NS/PLURAL/NAME
            let parts: Vec<&str> = w.path.rsplit('/').take(3).collect();
            format!("{}/{}/{}", parts[1], parts[2], parts[0])
        })
        .collect()
}

fn is_ours(object: &Value) -> bool {
    object.pointer("/metadata/labels/app.kubernetes.io~1managed-by")
        == Some(&Value::from("kubectl-debatemesh"))
}

#[test]
fn unexpose_deletes_only_what_expose_created() {
    // expose only added a route to someone's VirtualService on someone's Gateway: unexpose
    // takes the route out and deletes nothing.
    let env = env();
    let frontend = env.server.object(VS, "default", "frontend").unwrap();
    env.run(&["expose", "my-service", "--host", "shop.example.com", "--path", "/my-service"]).ok();
    env.server.clear_log();
    env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(deletes(&env), Vec::<String>::new());
    let after = env.server.object(VS, "default", "frontend").expect("frontend is kept");
    assert_eq!(after["spec"], frontend["spec"], "back to what it was");
    assert!(env.server.object("gateways.networking.istio.io", "default", "public").is_some());

    // expose created a Gateway and a VirtualService; someone else then routed through that
    // Gateway. Our VirtualService goes; the Gateway someone uses, and their route, stay.
    let env = matrix_env(TestServer::builder());
    env.run(&["expose", "my-service", "--path", "/my-service"]).ok();
    env.seed(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n\
         metadata: {name: legacy, namespace: default}\nspec:\n  hosts: ['*']\n  \
         gateways: [my-service-gateway]\n  http:\n  - match: [{uri: {prefix: /legacy}}]\n    \
         route: [{destination: {host: my-service}}]\n",
    );
    let before: Vec<Value> = ["virtualservices", "gateways"]
        .iter()
        .flat_map(|k| env.server.objects(&format!("{k}.networking.istio.io"), Some("default")))
        .collect();
    let run = env.run(&["unexpose", "my-service"]).ok();
    assert_eq!(deletes(&env), ["virtualservices/default/my-service"], "{}", run.stdout);
    for object in &before {
        let name = object["metadata"]["name"].as_str().unwrap();
        if deletes(&env).iter().any(|d| d.ends_with(&format!("/{name}"))) {
            assert!(is_ours(object), "{name} was deleted but not created by us");
        }
    }
    assert!(
        run.stdout.contains("gateway.networking.istio.io/my-service-gateway in default kept"),
        "{}",
        run.stdout
    );
    assert!(env.server.object(VS, "default", "legacy").is_some());
}

#[test]
fn resilience_clear_restores_hand_made_objects_and_deletes_only_its_own() {
    let env = env();
    let vs = env.server.object(VS, "default", "my-service").unwrap();
    let dr = env.server.object(DR, "default", "my-service").unwrap();
    env.run(&["resilience", "my-service", "--retries", "3", "--max-connections", "50"]).ok();
    assert_ne!(env.server.object(VS, "default", "my-service").unwrap()["spec"], vs["spec"]);
    env.server.clear_log();
    env.run(&["resilience", "my-service", "--clear"]).ok();
    assert_eq!(deletes(&env), Vec::<String>::new(), "hand-made objects are never deleted");
    assert_eq!(env.server.object(VS, "default", "my-service").unwrap()["spec"], vs["spec"]);
    assert_eq!(env.server.object(DR, "default", "my-service").unwrap()["spec"], dr["spec"]);

    // Objects the command created are deleted by --clear, and nothing else.
    let env = matrix_env(TestServer::builder());
    env.run(&["resilience", "my-service", "--retries", "3", "--max-connections", "50"]).ok();
    assert!(is_ours(&env.server.object(VS, "default", "my-service").unwrap()));
    env.server.clear_log();
    env.run(&["resilience", "my-service", "--clear"]).ok();
    let mut deleted = deletes(&env);
    deleted.sort();
    assert_eq!(
        deleted,
        ["destinationrules/default/my-service", "virtualservices/default/my-service"]
    );
    assert!(env.server.object(VS, "default", "web").is_some(), "the fixture's own route stays");
    assert!(env.server.object(DR, "shop", "web").is_some());
}
