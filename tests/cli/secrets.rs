//! Secrets never leave: at -vvv, with a bearer token, a client key and a password in the
//! kubeconfig, none of them appears on stdout or stderr of any command, in success or failure.

use crate::{
    harness::TOKEN,
    support::{KubeUser, TestServer},
};

const PASSWORD: &str = "pa55-w0rd-do-not-print";

/// Secret values in the cluster: a TLS certificate and key for the gateway, and a password.
const CERT_MARK: &str = "CERT-BODY-do-not-print-7d1e";
const KEY_MARK: &str = "KEY-BODY-do-not-print-93ab";
const DB_MARK: &str = "hunter2-do-not-print-5c0f";

fn cluster_secrets() -> String {
    let cert =
        base64(&format!("-----BEGIN CERTIFICATE-----\n{CERT_MARK}\n-----END CERTIFICATE-----\n"));
    let key =
        base64(&format!("-----BEGIN PRIVATE KEY-----\n{KEY_MARK}\n-----END PRIVATE KEY-----\n"));
    let db = base64(DB_MARK);
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: shop-cert, namespace: istio-system}}\n\
         type: kubernetes.io/tls\ndata: {{tls.crt: {cert}, tls.key: {key}}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: default}}\n\
         type: Opaque\ndata: {{password: {db}}}\nstringData: {{}}\n"
    )
}

/// Beyond the matrix's commands: structured output, TLS Secrets read by expose, and failures
/// at the server and in the input.
const MORE: &[&[&str]] = &[
    &["check", "-A", "-o", "json"],
    &["check", "-A", "-o", "yaml"],
    &[
        "expose",
        "my-service",
        "--host",
        "shop.example.com",
        "--tls-secret",
        "shop-cert",
        "--dry-run=client",
        "-o",
        "yaml",
    ],
    &[
        "expose",
        "my-service",
        "--host",
        "shop.example.com",
        "--tls-secret",
        "shop-cert",
        "-o",
        "json",
    ],
    &["expose", "my-service", "--host", "shop.example.com", "--tls-secret", "no-such-cert"],
    &["mtls", "default", "--mode", "STRICT", "--dry-run=client", "-o", "yaml"],
    &["inject", "status", "-A", "-o", "yaml"],
    &["resilience", "show", "my-service", "-o", "json"],
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
    let env = crate::faults::matrix_env(TestServer::builder());
    env.seed(&cluster_secrets());

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
    let cluster = cluster_secrets();
    let encoded: Vec<&str> =
        cluster.split(['{', '}', ',', ' ']).filter(|w| w.len() > 20 && !w.contains(':')).collect();
    assert_eq!(encoded.len(), 3, "the three encoded values: {encoded:?}");
    let mut secrets = vec![TOKEN, PASSWORD, key_marker.as_str(), &key_body[..40], "PRIVATE KEY"];
    secrets.extend([CERT_MARK, KEY_MARK, DB_MARK, "BEGIN CERTIFICATE"]);
    secrets.extend(&encoded);

    let mut runs: Vec<(Vec<&str>, Option<&'static crate::faults::Case>)> = Vec::new();
    for config in &configs {
        for verbosity in [None, Some("-vvv")] {
            let mut extra = vec!["--kubeconfig", config.as_str()];
            extra.extend(verbosity);
            for case in crate::faults::CASES {
                runs.push((extra.clone(), Some(case)));
            }
            for command in MORE {
                let mut args = command.to_vec();
                args.extend(&extra);
                runs.push((args, None));
            }
        }
    }
    // Sixteen processes at a time.
    let logged: Vec<usize> = runs
        .chunks(16)
        .flat_map(|chunk| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|(args, case)| {
                        let (env, secrets) = (&env, &secrets);
                        scope.spawn(move || {
                            let run = match case {
                                Some(case) => crate::faults::run(env, case, args),
                                None => env.run(args),
                            };
                            let what =
                                format!("{:?} {args:?} (exit {})", case.map(|c| c.name), run.code);
                            assert_clean(&what, &run.stdout, secrets);
                            assert_clean(&what, &run.stderr, secrets);
                            run.stderr.lines().count()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("no leak")).collect::<Vec<_>>()
            })
        })
        .collect();
    // -vvv logs what happens: the checks above looked at real logs, not silence.
    let most = logged.iter().max().copied().unwrap_or_default();
    assert!(most > 100, "-vvv logs at length ({most} lines at most)");

    // On a cluster of its own (the runs above race each other for the objects expose makes),
    // expose reads the TLS Secret for real and prints none of it.
    for args in &MORE[2..4] {
        let env = crate::faults::matrix_env(TestServer::builder());
        env.seed(&cluster_secrets());
        let mut args = args.to_vec();
        args.push("-vvv");
        let run = env.run(&args).ok();
        assert_clean(&format!("{args:?}"), &run.stdout, &secrets);
        assert_clean(&format!("{args:?}"), &run.stderr, &secrets);
        assert!(
            run.stdout.contains("\"credentialName\": \"shop-cert\"")
                || run.stdout.contains("credentialName: shop-cert")
        );
        let secret = "/api/v1/namespaces/istio-system/secrets/shop-cert";
        assert!(env.server.requests().iter().any(|r| r.path == secret), "the Secret was read");
    }
}

fn base64(text: &str) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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
