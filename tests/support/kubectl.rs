//! Runs the real `kubectl` against a test server, each run with a fresh `HOME`.
//!
//! `/usr/bin/kubectl` is the Cloud SDK's version-skew dispatcher: it asks the server's
//! `/version` (User-Agent `kubectl-dispatcher/...`, `?timeout=5s`) and runs the
//! `kubectl.MAJOR.MINOR` beside it, 1.27 to 1.33, falling back to its own built-in 1.32
//! for other versions. kubectl 1.27 and 1.28 need the protobuf OpenAPI v2 document for
//! `apply`, which the server does not serve; 1.29 and later use OpenAPI v3. kubectl caches discovery and OpenAPI under `$HOME/.kube/cache`, so
//! every run gets its own temporary `HOME`. The environment is cleared: no proxy
//! variables, no user kubeconfig, no Cloud SDK configuration or prompts.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::TestServer;

/// The kubectl binary: `$DEBATEMESH_TEST_KUBECTL` if set, else `/usr/bin/kubectl`.
fn binary() -> PathBuf {
    std::env::var_os("DEBATEMESH_TEST_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"))
}

/// Runs `kubectl ARGS` with `kubeconfig` and returns its output.
///
/// # Panics
///
/// When the kubeconfig does not point at `server` (a mix-up in the test), or kubectl
/// cannot be started.
pub fn kubectl(server: &TestServer, kubeconfig: &Path, args: &[&str]) -> Output {
    let text = std::fs::read_to_string(kubeconfig).unwrap_or_default();
    assert!(
        text.contains(server.url()),
        "{} is not a kubeconfig for {}",
        kubeconfig.display(),
        server.url()
    );
    Kubectl::new(kubeconfig).run(args)
}

/// A kubectl invocation with extra environment, PATH entries or standard input.
#[derive(Debug, Clone)]
pub struct Kubectl {
    kubeconfig: PathBuf,
    envs: Vec<(String, String)>,
    path_prepend: Vec<PathBuf>,
    stdin: Option<Vec<u8>>,
}

impl Kubectl {
    pub fn new(kubeconfig: &Path) -> Kubectl {
        Kubectl {
            kubeconfig: kubeconfig.to_path_buf(),
            envs: Vec::new(),
            path_prepend: Vec::new(),
            stdin: None,
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Kubectl {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// Puts `dir` first on PATH, e.g. where `kubectl-debatemesh` is built, for plugin runs.
    pub fn path_prepend(mut self, dir: &Path) -> Kubectl {
        self.path_prepend.push(dir.to_path_buf());
        self
    }

    /// Puts this package's `kubectl-debatemesh` on PATH, so `kubectl debatemesh ...` runs it.
    pub fn with_plugin(self) -> Kubectl {
        let binary = Path::new(env!("CARGO_BIN_EXE_kubectl-debatemesh"));
        self.path_prepend(binary.parent().unwrap_or(Path::new(".")))
    }

    pub fn stdin(mut self, input: &[u8]) -> Kubectl {
        self.stdin = Some(input.to_vec());
        self
    }

    /// Runs `kubectl ARGS` in a fresh `HOME`.
    ///
    /// # Panics
    ///
    /// When kubectl cannot be started or the temporary `HOME` cannot be made.
    pub fn run(&self, args: &[&str]) -> Output {
        let home = tempfile::tempdir().expect("a temporary HOME can be made");
        let mut path: Vec<PathBuf> = self.path_prepend.clone();
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin")),
        ));
        let path = std::env::join_paths(path).unwrap_or_else(|_| OsString::from("/usr/bin:/bin"));
        let mut cmd = Command::new(binary());
        cmd.args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("CLOUDSDK_CONFIG", home.path().join("gcloud"))
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true")
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let mut child =
            cmd.spawn().unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        if let (Some(input), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            let _ = pipe.write_all(input);
        }
        child.wait_with_output().expect("kubectl runs to the end")
    }
}
