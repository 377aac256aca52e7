//! Faults of access on every command: wrong credentials (401), missing permissions (403), Istio
//! not installed (404 on its kinds), a refused connection, a server certificate from an unknown
//! CA, and networking served only as v1beta1.

use super::{
    all, assert_failed, assert_normal, assert_writes_reported, each, env, env_for, env_seeded_for,
    run, writers,
};
use crate::harness::{TOKEN, closed_port, write_kubeconfig};
use crate::support::{Forbid, KubeUser, TestServer};

/// The verb, resource, group and namespace of a request path, as RBAC sees it.
fn rbac(method: &str, path: &str) -> (String, String, String, Option<String>) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match parts[0] {
        "api" => (String::new(), &parts[2..]),
        _ => (parts[1].to_string(), &parts[3..]),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let verb = match (method, rest.len()) {
        ("GET", 1) => "list",
        ("GET", _) => "get",
        ("PATCH", _) => "patch",
        ("PUT", _) => "update",
        ("DELETE", _) => "delete",
        _ => "create",
    };
    (verb.to_string(), rest[0].to_string(), group, namespace)
}

fn forbid(verb: &str, resource: &str, group: &str, namespace: &Option<String>) -> Forbid {
    let rule = Forbid::user("alice").verb(verb).resource(resource).group(group);
    match namespace {
        Some(ns) => rule.namespace(ns),
        None => rule,
    }
}

/// `kubectl auth can-i VERB RESOURCE[.GROUP] -n NS|-A`.
fn can_i(verb: &str, resource: &str, group: &str, namespace: &Option<String>) -> String {
    let resource =
        if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
    let scope = match namespace {
        Some(ns) => format!(" -n {ns}"),
        None => " -A".to_string(),
    };
    format!("kubectl auth can-i {verb} {resource}{scope}")
}

#[test]
fn a_401_names_the_credentials() {
    each(&all(), |case| {
        let env = env(case);
        let config = env.dir.path().join("wrong-token");
        let text =
            std::fs::read_to_string(&env.kubeconfig).unwrap().replace(TOKEN, "not-the-token");
        std::fs::write(&config, text).unwrap();
        let run = run(&env, case, &["--kubeconfig", config.to_str().unwrap()]);
        if case.name == "version" {
            assert_eq!(run.code, 0);
            assert!(run.stderr.contains("(401)"), "{}", run.stderr);
        } else {
            assert_failed(&run, 3, "failed to", &["(401)", "rejected the credentials"]);
        }
        assert!(env.writes().iter().all(|w| w.status == 401), "nothing written");
    });
}

#[test]
fn a_403_on_a_read_names_verb_resource_group_namespace_and_the_can_i_line() {
    each(&all(), |case| {
        if case.name == "version" {
            return;
        }
        let (verb, resource, group, namespace) = rbac("GET", case.read);
        let builder = TestServer::builder().forbid(forbid(&verb, &resource, &group, &namespace));
        let env = env_seeded_for(case, builder);
        let run = run(&env, case, &[]);
        // resilience reads across all namespaces and, refused, falls back to its own: the
        // request that failed last is the one named.
        let namespace = match case.name {
            "resilience" | "resilience show" => Some("default".to_string()),
            _ => namespace,
        };
        let group_text = format!("in API group \"{group}\"");
        let scope = match &namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let hint = format!(
            "hint: check your permissions: {}",
            can_i(&verb, &resource, &group, &namespace)
        );
        assert_failed(
            &run,
            3,
            &format!("failed to {verb}"),
            &[&format!("cannot {verb} resource \"{resource}\""), &group_text, &scope, &hint],
        );
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn a_403_on_a_write_names_the_verb_and_the_can_i_line() {
    each(&writers(), |case| {
        let (method, prefix) = case.write.unwrap();
        let path = format!("{prefix}x");
        let (verb, _, group, namespace) = rbac(method, &path);
        let resource = match case.name {
            "inject" => "namespaces",
            "expose" | "unexpose" => "gateways",
            "resilience" => "virtualservices",
            _ => "authorizationpolicies",
        };
        let resource = if case.name == "mtls" { "peerauthentications" } else { resource };
        let namespace = if case.name == "inject" { None } else { namespace };
        let builder = TestServer::builder().forbid(forbid(&verb, resource, &group, &namespace));
        let env = env_seeded_for(case, builder);
        let run = run(&env, case, &[]);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(matches!(run.code, 1 | 3), "exit {}: {all}", run.code);
        let can_i = can_i(&verb, resource, &group, &namespace);
        let can_i = if case.name == "inject" { can_i.replace(" -A", "") } else { can_i };
        assert!(all.contains(&can_i), "no {can_i:?} in:\n{all}");
        assert!(all.contains(&format!("cannot {verb} resource \"{resource}\"")), "{all}");
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn without_istio_the_commands_that_need_it_name_the_missing_group() {
    each(&all(), |case| {
        let env = env_for(case, TestServer::builder().without_istio());
        let run = run(&env, case, &[]);
        match case.name {
            "inject" | "inject status" | "dashboard" | "version" => assert_normal(case, &run),
            // The readers go on without Istio's kinds and say which checks they skip.
            "check" | "can" => {
                assert_eq!(run.code, case.ok, "{}", run.stderr);
                assert!(run.stdout.contains(case.done), "{}", run.stdout);
                for group in ["networking.istio.io", "security.istio.io"] {
                    let note = format!(
                        "note: the cluster does not serve {group}; checks of its kinds are skipped"
                    );
                    assert!(run.stderr.contains(&note), "{}", run.stderr);
                }
            }
            // Without Istio's APIs, expose falls back to the Gateway API, and unexpose finds
            // what it made there.
            "expose" | "unexpose" => {
                assert_eq!(run.code, 0, "{}", run.stderr);
                assert!(run.stdout.contains("gateway.networking.k8s.io/"), "{}", run.stdout);
            }
            "resilience" | "resilience show" => assert_failed(
                &run,
                3,
                "failed to use VirtualService networking.istio.io",
                &["does not serve virtualservices.networking.istio.io", "is Istio installed?"],
            ),
            "mtls" => assert_failed(
                &run,
                3,
                "failed to use PeerAuthentication security.istio.io",
                &["does not serve peerauthentications.security.istio.io", "is Istio installed?"],
            ),
            _ => assert_failed(
                &run,
                3,
                "failed to use AuthorizationPolicy security.istio.io",
                &["does not serve authorizationpolicies.security.istio.io", "is Istio installed?"],
            ),
        }
        assert!(env.writes().iter().all(|w| !w.path.contains("istio.io")));
        assert_writes_reported(&env, &run);
    });
}

#[test]
fn a_refused_connection_and_an_unknown_ca_exit_3() {
    each(&all(), |case| {
        let env = env(case);
        let down = write_kubeconfig(
            env.dir.path(),
            "down",
            &format!("https://127.0.0.1:{}", closed_port()),
        );
        let run = run(&env, case, &["--kubeconfig", down.to_str().unwrap()]);
        if case.name == "version" {
            assert_eq!(run.code, 0);
            assert!(run.stderr.contains("cannot connect to the API server"), "{}", run.stderr);
        } else {
            assert_failed(&run, 3, "failed to", &["cannot connect to the API server"]);
        }

        let untrusted = TestServer::builder().https_unknown_ca().token(TOKEN, "alice").start();
        let config =
            untrusted.write_kubeconfig_in(env.dir.path(), KubeUser::Token(TOKEN.into()), "default");
        let run = super::run(&env, case, &["--kubeconfig", config.to_str().unwrap()]);
        if case.name == "version" {
            assert_eq!(run.code, 0);
            assert!(run.stderr.contains("certificate"), "{}", run.stderr);
        } else {
            assert_failed(&run, 3, "failed to", &["TLS handshake", "certificate"]);
        }
        assert!(untrusted.requests().iter().all(|r| !r.reached_handler), "nothing reached it");
    });
}

#[test]
fn networking_served_only_as_v1beta1_still_works() {
    each(&all(), |case| {
        let env = env_for(case, TestServer::builder().legacy_istio());
        let run = run(&env, case, &[]);
        let requests = env.server.requests();
        let istio: Vec<&str> = requests
            .iter()
            .filter(|r| r.path.contains(".istio.io/"))
            .map(|r| r.path.as_str())
            .collect();
        assert!(istio.iter().all(|p| p.contains("/v1beta1/")), "{istio:?}");
        assert_normal(case, &run);
        assert_writes_reported(&env, &run);
    });
}

/// A kubeconfig whose user gets its token from an exec plugin: `sh` running a script with
/// `body`. The script is read by `sh`, not run itself, so a file just written is never busy.
fn exec_kubeconfig(env: &crate::harness::Env, name: &str, body: &str) -> std::path::PathBuf {
    let plugin = env.dir.path().join(format!("{name}-plugin"));
    std::fs::write(&plugin, format!("{body}\n")).unwrap();
    let config = env.dir.path().join(format!("{name}.kubeconfig"));
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    \
             insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    exec:\n      \
             apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      \
             args: [{}]\n      interactiveMode: Never\ncontexts:\n- name: {name}\n  context: {{cluster: c, user: u, \
             namespace: default}}\ncurrent-context: {name}\n",
            env.server.url(),
            plugin.display()
        ),
    )
    .unwrap();
    config
}

#[test]
fn exec_credential_plugins_authenticate_and_their_failures_exit_3() {
    each(&all(), |case| {
        let env = env(case);
        let good = exec_kubeconfig(
            &env,
            "good",
            &format!(
                "echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\
                 \"ExecCredential\",\"status\":{{\"token\":\"{TOKEN}\"}}}}'"
            ),
        );
        let run = run(&env, case, &["--kubeconfig", good.to_str().unwrap()]);
        assert_normal(case, &run);

        let expired =
            exec_kubeconfig(&env, "expired", "echo 'the session expired; run login' >&2; exit 4");
        let run = super::run(&env, case, &["--kubeconfig", expired.to_str().unwrap()]);
        let plugin = "/bin/sh exited with status 4: the session expired; run login";
        if case.name == "version" {
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert!(run.stderr.contains(plugin), "{}", run.stderr);
        } else {
            assert_failed(
                &run,
                3,
                "failed to get credentials for expired",
                &[plugin, "hint: run "],
            );
        }
        assert!(!run.stderr.contains("KUBERNETES_EXEC_INFO"), "no dump: {}", run.stderr);
    });
}
