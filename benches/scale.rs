//! The scale benchmark: each generated mesh size in the in-process test API server, and side
//! by side on it `check -A` against `kubectl get <the same kinds> -A -o json` (wall time,
//! peak RSS, requests by user agent), then `--help` against `kubectl version --client`, and
//! `can --batch` throughput and `can --matrix` times. Prints ratios and writes them into
//! docs/performance.md.
//!
//! `cargo bench --bench scale` runs every size; `cargo bench --bench scale -- small large`
//! picks sizes, `--no-write` leaves the docs alone, `--no-kubectl` measures only
//! `check` (for quick iterations), `--budget SECONDS` (600 by default)
//! bounds the run: a kubectl comparison whose estimate would break it is skipped and the
//! table says so.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "scale/matrix.rs"]
mod matrix;
#[path = "scale/measure.rs"]
mod measure;
#[path = "scale/report.rs"]
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use measure::Run;
use report::{Kubectl, Requests, Results, SizeResult};
use support::mesh_gen::{self, CHECK_KINDS, Size, Spec};
use support::{KubeUser, LoggedRequest, TestServer};

const TOKEN: &str = "scale-bench-token-3e9b";
const PAGE: usize = 500;
const OUR_AGENT: &str = "kubectl-debatemesh/";

struct Options {
    sizes: Vec<Size>,
    write: bool,
    kubectl: bool,
    budget: Duration,
}

fn options() -> Options {
    let mut sizes = Vec::new();
    let mut write = true;
    let mut kubectl = true;
    let mut budget = Duration::from_secs(600);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // cargo bench passes --bench to harness-less benchmarks.
            "--bench" => {}
            "--no-write" => write = false,
            "--no-kubectl" => kubectl = false,
            "--budget" => {
                let value = args.next().and_then(|v| v.parse().ok());
                budget = Duration::from_secs(value.expect("--budget takes a number of seconds"));
            }
            other => match Size::parse(other) {
                Some(size) => sizes.push(size),
                None => panic!(
                    "unknown argument {other:?}: use small, large, xlarge, --no-write, --no-kubectl, --budget N"
                ),
            },
        }
    }
    if sizes.is_empty() {
        sizes = vec![Size::Small, Size::Large, Size::XLarge];
    }
    Options { sizes, write, kubectl, budget }
}

fn kubectl_binary() -> PathBuf {
    std::env::var_os("DEBATEMESH_TEST_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"))
}

fn main() {
    if measure::is_helper() {
        measure::helper_main();
    }
    let options = options();
    let started = Instant::now();
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_kubectl-debatemesh"));
    let kubectl = kubectl_binary();
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let machine = machine();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0);
    println!("machine: {machine}");

    // Start-up: nothing but the process, against kubectl's lightest command.
    let (help, kubectl_version) = {
        let server = TestServer::builder().https().token(TOKEN, "bench").start();
        let kubeconfig = server.write_kubeconfig(scratch.path(), KubeUser::Token(TOKEN.into()));
        let help = Run::new(&ours, &["--help"], &kubeconfig).limit(Duration::from_secs(30));
        let version = Run::new(&kubectl, &["version", "--client"], &kubeconfig)
            .limit(Duration::from_secs(30));
        help.sample(scratch.path());
        version.sample(scratch.path());
        (help.median(scratch.path(), 21), version.median(scratch.path(), 21))
    };
    println!(
        "--help {:.1} ms, kubectl version --client {:.1} ms",
        help.wall.as_secs_f64() * 1e3,
        kubectl_version.wall.as_secs_f64() * 1e3
    );

    let mut sizes: Vec<SizeResult> = Vec::new();
    for &size in &options.sizes {
        let large = sizes.iter().find(|s| s.size == "large").cloned();
        let result =
            run_size(size, &ours, &kubectl, scratch.path(), &options, started, large.as_ref());
        sizes.push(result);
    }

    let can_batch = sizes.iter().find_map(|s| s.can_batch.clone()).unwrap_or_else(|| {
        Err("not measured: it runs on the large mesh, which this run left out".into())
    });
    let matrix = sizes.iter().find_map(|s| s.matrix.clone()).unwrap_or_else(|| {
        Err("not measured: it runs on the large mesh, which this run left out".into())
    });
    let results = Results {
        machine,
        sizes,
        help,
        kubectl_version,
        load,
        can_batch,
        matrix,
        elapsed: started.elapsed(),
    };
    let table = results.markdown();
    println!("\n{table}");
    if options.write {
        let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.md");
        match report::write_into(&doc, &table) {
            Ok(()) => println!("wrote the table into {}", doc.display()),
            Err(e) => eprintln!("could not write {}: {e}", doc.display()),
        }
    }
}

/// Seeds one size, then measures `check -A` and kubectl's fetch of the same kinds on it.
fn run_size(
    size: Size,
    ours: &Path,
    kubectl: &Path,
    scratch: &Path,
    options: &Options,
    started: Instant,
    large: Option<&SizeResult>,
) -> SizeResult {
    let server = TestServer::builder().https().token(TOKEN, "bench").start();
    let seeding = Instant::now();
    let summary = mesh_gen::seed(&server, &Spec::of(size));
    let seed_time = seeding.elapsed();
    let server_rss = measure::own_rss_mib();
    let counts: BTreeMap<(&str, &str), usize> =
        CHECK_KINDS.iter().map(|&(g, p, _)| ((g, p), stored(&server, g, p))).collect();
    let objects: usize = counts.values().sum();
    println!(
        "{}: {} objects ({} generated) seeded in {:.1} s; the benchmark holds {:.0} MiB",
        size.name(),
        objects,
        summary.total(),
        seed_time.as_secs_f64(),
        server_rss
    );
    let kubeconfig = server.write_kubeconfig(scratch, KubeUser::Token(TOKEN.into()));

    // check -A, as a user runs it; requests from the first run. Short runs are repeated and
    // the median taken, since a burst of other work on the machine can double one of them.
    let check_run = Run::new(ours, &["check", "-A"], &kubeconfig).limit(Duration::from_secs(240));
    let runs = if size == Size::XLarge { 1 } else { 3 };
    let mut samples = Vec::new();
    let mut ours_log: Vec<LoggedRequest> = Vec::new();
    for i in 0..runs {
        server.clear_log();
        let cpu_before = measure::own_cpu();
        let sample = check_run.sample(scratch);
        samples.push((sample, measure::own_cpu() - cpu_before));
        if i == 0 {
            ours_log = server.requests();
            ours_log.retain(|r| r.user_agent.starts_with(OUR_AGENT));
        }
    }
    samples.sort_by_key(|(sample, _)| sample.wall);
    let (check, check_server_cpu) = samples[samples.len() / 2];
    let ours_log: Vec<&LoggedRequest> = ours_log.iter().collect();
    let check_requests = classify(&ours_log);
    let (expected_lists, page_mismatches) = expected_pages(&counts, &ours_log);
    println!(
        "  check -A: {:.2} s ({:.2} s CPU, server {:.2} s CPU), {:.0} MiB, {} requests",
        check.wall.as_secs_f64(),
        check.cpu.as_secs_f64(),
        check_server_cpu.as_secs_f64(),
        check.rss_mib(),
        check_requests.total()
    );

    // can --batch on the large mesh, which the target speaks of.
    let can_batch =
        (size == Size::Large).then(|| can_batch(ours, &kubeconfig, size.namespaces(), scratch));
    // can --matrix on the large mesh, of one namespace and of all of them.
    let matrix = (size == Size::Large).then(|| {
        let namespace = mesh_gen::namespace_name(0);
        let times = matrix::measure(ours, &kubeconfig, scratch, &namespace);
        if let Err(why) = &times {
            println!("  can --matrix: {why}");
        }
        times
    });

    // The same kinds through kubectl, unless its estimate would break the budget.
    let skip = match (size, large) {
        _ if !options.kubectl => Some("--no-kubectl".to_string()),
        (Size::XLarge, Some(l)) => match &l.kubectl {
            Kubectl::Measured(k, _, _) => {
                let estimate = k.wall.mul_f64(10.0);
                let memory = k.rss_mib() * 10.0 / 1024.0;
                let left = options.budget.saturating_sub(started.elapsed());
                let mut why = Vec::new();
                if estimate > left {
                    why.push(format!(
                        "an estimated {:.0} s (10× large) would exceed the {:.0} s left of the budget",
                        estimate.as_secs_f64(),
                        left.as_secs_f64()
                    ));
                }
                let available = available_gib();
                if memory > available * 0.6 {
                    why.push(format!(
                        "it would need an estimated {memory:.0} GiB of memory (10× large), \
                         {available:.0} GiB are available"
                    ));
                }
                (!why.is_empty()).then(|| why.join("; "))
            }
            Kubectl::Skipped(_) => Some("the large comparison was skipped".into()),
        },
        _ => None,
    };
    let kubectl_result = match skip {
        Some(why) => {
            println!("  kubectl: skipped, {why}");
            Kubectl::Skipped(why)
        }
        None => {
            server.clear_log();
            let cpu_before = measure::own_cpu();
            let kinds = kubectl_kinds();
            let sample = Run::new(kubectl, &["get", &kinds, "-A", "-o", "json"], &kubeconfig)
                .limit(Duration::from_secs(300))
                .sample(scratch);
            let server_cpu = measure::own_cpu() - cpu_before;
            let log = server.requests();
            let theirs: Vec<&LoggedRequest> =
                log.iter().filter(|r| r.user_agent.starts_with("kubectl")).collect();
            let requests = classify(&theirs);
            println!(
                "  kubectl get: {:.2} s ({:.2} s CPU, server {:.2} s CPU), {:.0} MiB, {} requests (exit {})",
                sample.wall.as_secs_f64(),
                sample.cpu.as_secs_f64(),
                server_cpu.as_secs_f64(),
                sample.rss_mib(),
                requests.total(),
                sample.code
            );
            if sample.code == 0 {
                Kubectl::Measured(sample, requests, server_cpu)
            } else {
                Kubectl::Skipped(format!("kubectl exited {}", sample.code))
            }
        }
    };
    SizeResult {
        size: size.name(),
        namespaces: size.namespaces(),
        objects,
        counts: counts.iter().map(|(&(_, plural), &n)| (plural, n)).collect(),
        seed_time,
        check,
        check_server_cpu,
        check_requests,
        expected_lists,
        page_mismatches,
        kubectl: kubectl_result,
        can_batch,
        matrix,
    }
}

fn resource(group: &str, plural: &str) -> String {
    if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") }
}

/// Objects `check` reads of one kind: all of them, but only the mesh config of ConfigMaps.
fn stored(server: &TestServer, group: &str, plural: &str) -> usize {
    if plural == "configmaps" {
        return usize::from(server.object("configmaps", "istio-system", "istio").is_some());
    }
    server.count(&resource(group, plural), None)
}

/// The kinds `check` reads, as one `kubectl get` argument.
fn kubectl_kinds() -> String {
    CHECK_KINDS.iter().map(|&(g, p, _)| resource(g, p)).collect::<Vec<_>>().join(",")
}

fn classify(log: &[&LoggedRequest]) -> Requests {
    let mut r = Requests::default();
    for req in log {
        if matches!(req.path.as_str(), "/api" | "/apis" | "/version") {
            r.discovery += 1;
        } else if req.method == "GET" && req.param("limit").is_some() {
            r.lists += 1;
        } else {
            r.other += 1;
        }
    }
    r
}

/// Σ ceil(objects ÷ page) over the kinds, and the kinds whose list pages differ from it.
fn expected_pages(
    counts: &BTreeMap<(&str, &str), usize>,
    log: &[&LoggedRequest],
) -> (usize, Vec<String>) {
    let mut expected = 0;
    let mut mismatches = Vec::new();
    for (&(group, plural), &n) in counts {
        let want = n.div_ceil(PAGE).max(1);
        expected += want;
        let suffix = format!("/{plural}");
        let prefix =
            if group.is_empty() { "/api/v1/".to_string() } else { format!("/apis/{group}/") };
        let got = log
            .iter()
            .filter(|r| {
                r.param("limit").is_some()
                    && r.path.starts_with(&prefix)
                    && r.path.ends_with(&suffix)
            })
            .count();
        if got != want {
            mismatches.push(format!("{} {got} of {want}", resource(group, plural)));
        }
    }
    (expected, mismatches)
}

/// How many queries the `can --batch` measurement asks.
const QUERIES: usize = 50_000;

/// `can --batch` queries per second on a generated mesh read live: the time of `QUERIES`
/// queries less that of one (which is the read of the mesh), the faster of two runs each.
fn can_batch(
    ours: &Path,
    kubeconfig: &Path,
    namespaces: usize,
    scratch: &Path,
) -> Result<f64, String> {
    let queries = can_queries(namespaces, QUERIES);
    let one = scratch.join("one.queries");
    let all = scratch.join("all.queries");
    std::fs::write(&one, queries.lines().next().unwrap_or_default()).map_err(|e| e.to_string())?;
    std::fs::write(&all, &queries).map_err(|e| e.to_string())?;
    let time = |file: &Path| -> Result<Duration, String> {
        let file = file.to_string_lossy();
        let run = Run::new(ours, &["can", "--batch", &file, "-o", "json"], kubeconfig)
            .limit(Duration::from_secs(120));
        let samples = [run.sample(scratch), run.sample(scratch)];
        match samples.iter().find(|s| s.code != 0 && s.code != 1) {
            Some(bad) => Err(format!("can --batch exited {}", bad.code)),
            None => Ok(samples.iter().map(|s| s.wall).min().unwrap_or_default()),
        }
    };
    let base = time(&one)?;
    let whole = time(&all)?;
    let answering = whole.saturating_sub(base).max(Duration::from_millis(1));
    println!(
        "  can --batch: {QUERIES} queries in {:.2} s, one in {:.2} s",
        whole.as_secs_f64(),
        base.as_secs_f64()
    );
    Ok(QUERIES as f64 / answering.as_secs_f64())
}

/// Queries between the generated workloads: callers by service account, within and across
/// namespaces, plaintext callers, and the ingress gateway, on HTTP ports with paths.
fn can_queries(namespaces: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 80);
    for i in 0..count {
        let (a, b) = (i * 7 % namespaces, i * 13 % namespaces);
        let (from, to) = (mesh_gen::namespace_name(a), mesh_gen::namespace_name(b));
        let (app, other) = (mesh_gen::APPS[i % 8], mesh_gen::APPS[(i / 8) % 8]);
        let line = match i % 5 {
            0 => format!(
                "ns/{to}/sa/frontend {to}/svc/cart --port 80 --method POST --path /cart/items"
            ),
            1 => format!("ns/{from}/sa/{app} {to}/svc/{other} --port 80 --path /api/items"),
            2 => format!(
                "ns/{to}/sa/checkout {to}/svc/payments --port 80 --method POST --path /charge"
            ),
            3 => format!("plaintext {to}/svc/{app} --port 80 --path /debug/vars"),
            _ => format!("ingress {to}/svc/frontend --port 80 --host frontend.{to}.example.com"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// CPU, cores, memory, kernel and load, for the table.
fn machine() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU")
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let load = read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{date}, {cpu}, {cores} cores, {:.0} GiB memory, Linux {kernel}, load average {load} at the start; \
         kubectl is /usr/bin/kubectl (the version dispatcher, which runs kubectl 1.32 for this server)",
        mem_kib as f64 / 1024.0 / 1024.0
    )
}

/// Memory available now, GiB.
fn available_gib() -> f64 {
    let kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0 / 1024.0
}
