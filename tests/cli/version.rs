//! `version` and shell completion, including kubectl's plugin completion through the shim.

use crate::harness::Env;

#[test]
fn version_reports_client_and_server() {
    let env = Env::new();
    let run = env.run(&["version"]).ok();
    assert_eq!(
        run.stdout,
        format!("Client Version: v{}\nServer Version: v1.32.4\n", env!("CARGO_PKG_VERSION"))
    );
    env.server.clear_log();
    let run = env.run(&["version", "--client", "-o", "json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(doc.get("serverVersion").is_none());
    assert!(env.server.requests().is_empty(), "--client sends nothing");
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let env = Env::new();
    let mut command = env.command(&["version", "-v"]);
    command.env_remove("NO_COLOR");
    let run = crate::harness::capture(command).ok();
    assert!(run.stderr.contains("DEBUG"), "-v logs requests: {}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "escape codes in piped logs: {:?}", run.stderr);
}

#[test]
fn kubectl_completes_plugin_commands_flags_and_namespaces_through_the_shim() {
    let env = Env::new();
    env.seed("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    let shim_dir = env.dir.path().to_str().unwrap().to_string();
    env.run(&["completion", "kubectl-shim", &shim_dir]).ok();

    let run = env.run_kubectl(&["__complete", "debatemesh", "inj"]).ok();
    assert!(run.stdout.lines().any(|l| l.starts_with("inject")), "{}", run.stdout);
    let run = env.run_kubectl(&["__complete", "debatemesh", "inject", "--rev"]).ok();
    assert!(run.stdout.lines().any(|l| l.starts_with("--revision")), "{}", run.stdout);
    let run = env.run_kubectl(&["__complete", "debatemesh", "inject", "sh"]).ok();
    assert!(run.stdout.lines().any(|l| l == "shop"), "{}", run.stdout);
}

#[test]
fn completion_scripts_name_the_protocol_entry_point() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = env.run(&["completion", shell]).ok();
        assert!(run.stdout.contains("kubectl-debatemesh __complete"), "{shell}: {}", run.stdout);
    }
    let run = env.run(&["__complete", "version", "-o", ""]).ok();
    assert!(run.stdout.contains("json\n") && run.stdout.ends_with(":4\n"), "{}", run.stdout);
}
