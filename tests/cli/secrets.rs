//! Secrets never leave: at -vvv, with a bearer token, a client key and a password in the
//! kubeconfig, none of them appears on stdout or stderr of any command, in success or failure.

use crate::{
    harness::{Env, TOKEN},
    support::{KubeUser, TestServer},
};

const PASSWORD: &str = "pa55-w0rd-do-not-print";

/// Commands that succeed, fail at the server, and fail on input.
const COMMANDS: &[&[&str]] = &[
    &["version"],
    &["inject", "shop", "--dry-run=server"],
    &["inject", "status", "-A"],
    &["check", "-A"],
    &["check", "-A", "-o", "json"],
    &["inject", "nope"],
    &["inject", "Bad_NS"],
];

fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} leaked a secret ({} chars):\n{text}", secret.len());
    }
}

#[test]
fn no_secret_appears_at_any_verbosity() {
    let env = Env::new();
    env.seed("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");

    // A kubeconfig with a token (accepted), one with a client key (accepted by a second
    // server), and one with a wrong token and a password (rejected with 401).
    let cert_server = TestServer::builder().client_certs().start();
    let cert_config = cert_server.write_kubeconfig_in(
        env.dir.path(),
        KubeUser::ClientCert("carol".into()),
        "default",
    );
    let key_text = std::fs::read_to_string(&cert_config).unwrap();
    let key_marker = key_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-key-data: "))
        .expect("the kubeconfig embeds a client key")
        .to_string();

    let bad = env.dir.path().join("bad-config");
    std::fs::write(
        &bad,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\n\
             contexts:\n- name: test\n  context: {{cluster: c, user: u}}\ncurrent-context: test\n\
             users:\n- name: u\n  user:\n    token: wrong-{TOKEN}\n    username: admin\n    password: {PASSWORD}\n",
            env.server.url()
        ),
    )
    .unwrap();

    let configs = [
        env.kubeconfig.to_str().unwrap().to_string(),
        cert_config.to_str().unwrap().to_string(),
        bad.to_str().unwrap().to_string(),
    ];
    let pem = String::from_utf8(base64_decode(&key_marker)).expect("the key is PEM text");
    let key_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(key_body.len() > 40, "the decoded key has a body");
    let secrets = [TOKEN, PASSWORD, key_marker.as_str(), &key_body[..40], "PRIVATE KEY"];
    for config in &configs {
        for command in COMMANDS {
            for verbosity in ["-v", "-vv", "-vvv"] {
                let mut args: Vec<&str> = command.to_vec();
                args.extend(["--kubeconfig", config, verbosity]);
                let run = env.run(&args);
                let what = format!("{args:?} (exit {})", run.code);
                assert_clean(&what, &run.stdout, &secrets);
                assert_clean(&what, &run.stderr, &secrets);
                if verbosity == "-vvv" && config == &configs[0] && command[0] == "check" {
                    let lines = run.stderr.lines().count();
                    assert!(lines > 20, "-vvv logs what happens ({lines} lines)");
                }
            }
        }
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    digits
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().fold(0u32, |acc, d| acc << 6 | u32::from(*d)) << (6 * (4 - c.len()));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes.into_iter().take(c.len().saturating_sub(1))
        })
        .collect()
}
