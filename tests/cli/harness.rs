//! The shared harness of the CLI tests: a test API server, a kubeconfig for it, and the real
//! binary run as a user would, directly or as `kubectl debatemesh`, each run with its own HOME.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::support::{Builder, KubeUser, LoggedRequest, TestServer};

/// The bearer token every test kubeconfig uses.
pub const TOKEN: &str = "dm-test-token-5f1c9a";

/// The built binary.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubectl-debatemesh"))
}

/// A server, a kubeconfig for it and a scratch folder.
pub struct Env {
    pub server: TestServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and returns self.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "wrong exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts stderr is exactly one `error:` line containing `text`.
    #[track_caller]
    pub fn one_error_line(self, text: &str) -> Self {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr, got:\n{}", self.stderr);
        assert!(lines[0].starts_with("error: "), "not an error line: {}", lines[0]);
        assert!(lines[0].contains(text), "{:?} does not mention {text:?}", lines[0]);
        self
    }
}

impl Env {
    /// HTTPS with a token user, current namespace `default`.
    pub fn new() -> Self {
        Self::with(TestServer::builder())
    }

    /// A server from `builder`, always over HTTPS with the token user.
    pub fn with(builder: Builder) -> Self {
        let server = builder.https().token(TOKEN, "alice").start();
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig =
            server.write_kubeconfig_in(dir.path(), KubeUser::Token(TOKEN.into()), "default");
        Self { server, dir, kubeconfig }
    }

    /// Seeds the server with multi-document YAML.
    pub fn seed(&self, yaml: &str) -> &Self {
        self.server.apply_yaml(yaml);
        self.server.clear_log();
        self
    }

    /// A fresh HOME for one run.
    fn home(&self) -> PathBuf {
        tempfile::tempdir_in(self.dir.path()).expect("home").keep()
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs the binary with `args` and extra environment.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(binary());
        command.args(args);
        self.prepare(&mut command);
        for (k, v) in env {
            command.env(k, v);
        }
        capture(command)
    }

    /// The binary with `args` in the environment of [`Env::run`], for a test that drives the
    /// process itself (one that runs until interrupted).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command.args(args);
        self.prepare(&mut command);
        command
    }

    /// Runs `kubectl debatemesh ARGS` with the binary's folder on PATH.
    pub fn run_plugin(&self, args: &[&str]) -> Run {
        let mut command = Command::new("kubectl");
        command.arg("debatemesh").args(args);
        self.prepare(&mut command);
        capture(command)
    }

    /// Runs plain `kubectl ARGS` in the same environment (plugin folder on PATH).
    pub fn run_kubectl(&self, args: &[&str]) -> Run {
        let mut command = Command::new("kubectl");
        command.args(args);
        self.prepare(&mut command);
        capture(command)
    }

    /// A folder holding only a link to the binary, so kubectl finds the plugin and nothing else
    /// from the build folder.
    fn plugin_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("bin");
        // Runs of one Env may start at once: whoever links first wins, the others find it.
        if !dir.join("kubectl-debatemesh").exists() {
            std::fs::create_dir_all(&dir).expect("plugin folder");
            match std::os::unix::fs::symlink(binary(), dir.join("kubectl-debatemesh")) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => panic!("link: {e}"),
                _ => {}
            }
        }
        dir
    }

    fn prepare(&self, command: &mut Command) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.plugin_dir(), self.dir.path().to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        command
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("HOME", self.home())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE")
            .env_remove("COLUMNS")
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("http_proxy")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1");
    }

    /// Requests that wrote, dry-run or not.
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.server.writes()
    }

    /// List requests (GETs of collections) for a resource path ending in `/plural`.
    pub fn lists_of(&self, plural: &str) -> Vec<LoggedRequest> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/{plural}")))
            .collect()
    }

    /// The labels of a stored object.
    pub fn labels(&self, resource: &str, namespace: &str, name: &str) -> serde_json::Value {
        let object = self.server.object(resource, namespace, name).expect("object exists");
        object["metadata"]["labels"].clone()
    }
}

pub fn capture(mut command: Command) -> Run {
    let out = command.output().expect("run the command");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A port on 127.0.0.1 that nothing listens on, a different one each call. It is picked below the kernel's ephemeral
/// range, where the test servers of tests running at the same time (bound to port 0) never
/// land, so it stays closed while the test uses it.
pub fn closed_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32768);
    let start = 10_000u16.min(low.saturating_sub(1000));
    let span = low.saturating_sub(start).max(1);
    // Each call gets a port of its own: some tests listen on theirs (`dashboard --port`).
    static CALLS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let offset = (std::process::id() as u16).wrapping_mul(7919).wrapping_add(call) % span;
    (0..span)
        .map(|i| start + (offset + i) % span)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// A kubeconfig pointing at `server` URL with a token, for fault cases.
pub fn write_kubeconfig(dir: &Path, name: &str, server: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
             contexts:\n- name: test\n  context:\n    cluster: c\n    user: u\n    namespace: default\n\
             current-context: test\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n"
        ),
    )
    .expect("write kubeconfig");
    path
}

/// An object as golden files hold it: without what the server assigns (uid, resourceVersion,
/// creation time, managed fields, generation) and without status.
pub fn normalized(object: &serde_json::Value) -> serde_json::Value {
    let mut out = object.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(serde_json::Value::as_object_mut) {
        for key in ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"] {
            meta.remove(key);
        }
    }
    if let Some(map) = out.as_object_mut() {
        map.remove("status");
    }
    out
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn bless() -> bool {
    std::env::var_os("DEBATEMESH_BLESS").is_some_and(|v| v == "1")
}

/// Compares objects, normalized, with the YAML documents of `tests/golden/NAME` (e.g.
/// `expose/guide.yaml`); `DEBATEMESH_BLESS=1` rewrites the file instead.
#[track_caller]
pub fn assert_golden_objects(name: &str, objects: &[serde_json::Value]) {
    let path = golden_path(name);
    let actual: Vec<serde_json::Value> = objects.iter().map(normalized).collect();
    let text: String = actual
        .iter()
        .map(|o| serde_saphyr::to_string(o).expect("objects serialize"))
        .collect::<Vec<_>>()
        .join("---\n");
    if bless() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("golden folder");
        std::fs::write(&path, &text).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (DEBATEMESH_BLESS=1 writes it)", path.display()));
    let want: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&expected).expect("golden YAML parses");
    let want: Vec<serde_json::Value> = want.into_iter().filter(|v| !v.is_null()).collect();
    assert!(
        want == actual,
        "{} differs (DEBATEMESH_BLESS=1 rewrites it)\n--- expected\n{expected}\n+++ actual\n{text}",
        path.display()
    );
}

/// Compares text with `tests/golden/NAME`; `DEBATEMESH_BLESS=1` rewrites the file instead.
#[track_caller]
pub fn assert_golden_text(name: &str, actual: &str) {
    let path = golden_path(name);
    if bless() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("golden folder");
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (DEBATEMESH_BLESS=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{} differs (DEBATEMESH_BLESS=1 rewrites it)\n--- expected\n{expected}\n+++ actual\n{actual}",
        path.display()
    );
}
