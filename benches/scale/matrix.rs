//! `can --matrix` on a generated mesh read live: one namespace (`-n`) and every namespace
//! (`-A`, whose table is far wider than any terminal, so it prints the summary of counts per
//! destination, for which every pair is still decided and counted). Each is set against the
//! matrix of a namespace that holds nothing, which reads the whole mesh and groups its
//! identities but asks no pair: the difference is the matrix itself.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::measure::{Run, Sample};

/// A namespace name the generator never uses.
const EMPTY: &str = "reachability-bench-empty";

/// What the matrix took on one mesh.
#[derive(Debug, Clone)]
pub struct MatrixTimes {
    /// The namespace of the `-n` run.
    pub namespace: String,
    /// The read of the mesh (the matrix of an empty namespace), median of three.
    pub read: Sample,
    /// `can --matrix -n NAMESPACE`, median of three.
    pub one: Sample,
    /// `can --matrix -A`, once.
    pub all: Sample,
    /// The first line `-A` prints: how many callers, destinations and decisions.
    pub size: String,
}

impl MatrixTimes {
    /// The time of a run less that of the read.
    pub fn beyond_read(&self, s: &Sample) -> Duration {
        s.wall.saturating_sub(self.read.wall)
    }
}

/// Times the three runs; an exit status other than 0 is an error.
pub fn measure(
    ours: &Path,
    kubeconfig: &Path,
    scratch: &Path,
    namespace: &str,
) -> Result<MatrixTimes, String> {
    let run = |args: &[&str], runs: usize, limit: u64| -> Result<Sample, String> {
        let mut full = vec!["can", "--matrix"];
        full.extend(args);
        let run = Run::new(ours, &full, kubeconfig).limit(Duration::from_secs(limit));
        let sample = run.median(scratch, runs);
        match sample.code {
            0 => Ok(sample),
            code => Err(format!("can --matrix {} exited {code}", args.join(" "))),
        }
    };
    let read = run(&["-n", EMPTY], 3, 120)?;
    let one = run(&["-n", namespace], 3, 120)?;
    let all = run(&["-A"], 1, 300)?;
    let size = first_line(ours, kubeconfig, scratch)?;
    println!("  can --matrix -A: {size}");
    let times = MatrixTimes { namespace: namespace.to_string(), read, one, all, size };
    for (what, s) in [("-n ".to_string() + namespace, &times.one), ("-A".into(), &times.all)] {
        println!(
            "  can --matrix {what}: {:.2} s ({:.2} s CPU, {:.0} MiB), {:.2} s beyond the read \
             of the mesh ({:.2} s)",
            s.wall.as_secs_f64(),
            s.cpu.as_secs_f64(),
            s.rss_mib(),
            times.beyond_read(s).as_secs_f64(),
            times.read.wall.as_secs_f64()
        );
    }
    Ok(times)
}

/// The first line of `can --matrix -A`, run once more to read it.
fn first_line(ours: &Path, kubeconfig: &Path, scratch: &Path) -> Result<String, String> {
    let home = tempfile::tempdir_in(scratch).map_err(|e| e.to_string())?;
    let out = Command::new(ours)
        .args(["can", "--matrix", "-A"])
        .env_clear()
        .env("HOME", home.path())
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or_default().to_string())
}
