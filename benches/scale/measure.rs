//! Running one child process and measuring it: wall time from spawn to exit and peak
//! resident memory from `wait4`, which on Linux reports the child's own peak or that of the
//! largest descendant it waited for (kubectl's dispatcher runs the real kubectl as its
//! child), whichever is larger. A watchdog kills a child that outlives its time limit.
//!
//! NB: a process starts its peak from the memory of the process that spawned it (Linux
//! records the parent's high-water mark when the child calls exec), and the benchmark
//! holds the whole test API server. So the benchmark runs each measured program through a
//! fresh copy of itself ([`HELPER`]), small at that point, which spawns, waits and reports.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What one run took.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
    /// User and system CPU time of the process (and the descendants it waited for).
    pub cpu: Duration,
    /// Exit code; -1 when killed by a signal.
    pub code: i32,
}

impl Sample {
    pub fn rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// A program to run with a clean environment, its own HOME and stdout to /dev/null.
pub struct Run {
    program: PathBuf,
    args: Vec<String>,
    kubeconfig: PathBuf,
    limit: Duration,
}

impl Run {
    pub fn new(program: &Path, args: &[&str], kubeconfig: &Path) -> Run {
        Run {
            program: program.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            kubeconfig: kubeconfig.to_path_buf(),
            limit: Duration::from_secs(300),
        }
    }

    /// Kills the child after `limit`.
    pub fn limit(mut self, limit: Duration) -> Run {
        self.limit = limit;
        self
    }

    /// Runs once, through the helper. Standard error is kept for a failed run's message.
    pub fn sample(&self, scratch: &Path) -> Sample {
        let home = tempfile::tempdir_in(scratch).expect("a HOME for the run");
        let stderr_path = home.path().join("stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("a file for stderr");
        let path: OsString = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        let mut cmd =
            Command::new(std::env::current_exe().expect("the benchmark knows its own path"));
        cmd.arg(self.limit.as_millis().to_string())
            .arg(&self.program)
            .args(&self.args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("CLOUDSDK_CONFIG", home.path().join("gcloud"))
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true")
            .stdin(Stdio::null())
            .stderr(stderr);

        let output = cmd
            .arg0(HELPER)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<u64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        let [wall_ns, cpu_ns, max_rss_kib, code] = fields[..] else {
            panic!("the measuring helper said {text:?}");
        };
        let code = code as i32 - 1;
        let sample = Sample {
            wall: Duration::from_nanos(wall_ns),
            cpu: Duration::from_nanos(cpu_ns),
            max_rss_kib,
            code,
        };
        if code != 0 && code != 1 {
            let text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            let tail: String = text.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            eprintln!("  {} {:?} exited {code}: {tail}", self.program.display(), self.args);
        }
        sample
    }

    /// The median wall time of `n` runs (and the sample it came from).
    pub fn median(&self, scratch: &Path, n: usize) -> Sample {
        let mut samples: Vec<Sample> = (0..n.max(1)).map(|_| self.sample(scratch)).collect();
        samples.sort_by_key(|s| s.wall);
        samples[samples.len() / 2]
    }
}

/// The name the benchmark is started under to act as the measuring helper.
pub const HELPER: &str = "scale-bench-measure";

/// Whether this process is the measuring helper.
pub fn is_helper() -> bool {
    std::env::args_os().next().is_some_and(|a| a == HELPER)
}

/// The helper: runs `PROGRAM ARGS` (after the time limit in milliseconds) with stdout to
/// /dev/null and stderr inherited, and prints `wall-ns cpu-ns max-rss-kib exit-code+1`.
pub fn helper_main() -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [limit, program, rest @ ..] = &args[..] else {
        eprintln!("usage: {HELPER} LIMIT-MS PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let limit = Duration::from_millis(limit.parse().unwrap_or(300_000));
    let devnull = std::fs::File::create("/dev/null").expect("/dev/null opens");

    let start = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(devnull)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let pid = child.id() as libc::pid_t;
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + limit;
            while !done.load(Ordering::SeqCst) {
                if Instant::now() >= until {
                    // SAFETY: kill(2) on the pid we spawned and have not reaped yet.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let (status, usage) = wait(pid);
    let wall = start.elapsed();
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    // The child is reaped; std's handle must not wait for it again.
    std::mem::forget(child);

    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) + 1 } else { 0 };
    let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
    println!("{} {} {} {code}", wall.as_nanos(), cpu.as_nanos(), usage.ru_maxrss.max(0));
    std::process::exit(0)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

/// CPU time this process has used so far (the benchmark: the test API server's work).
pub fn own_cpu() -> Duration {
    // SAFETY: rusage is plain data; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// Resident memory of this process now, MiB.
pub fn own_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Waits for `pid` and returns its status and resource usage.
fn wait(pid: libc::pid_t) -> (libc::c_int, libc::rusage) {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes only into the two out-parameters, which live for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return (status, usage);
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "wait4 failed: {err}");
    }
}
