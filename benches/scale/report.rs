//! The benchmark's results as Markdown: a table per size side by side, the targets with
//! whether each was met, and the machine. Written to stdout and between the markers in
//! docs/performance.md.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::matrix::MatrixTimes;
use crate::measure::Sample;

pub const BEGIN: &str = "<!-- scale-bench:begin (written by cargo bench --bench scale) -->";
pub const END: &str = "<!-- scale-bench:end -->";

/// Requests one client sent, from the server's log.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    /// Paginated lists (`limit` set).
    pub lists: usize,
    /// `/api`, `/apis` and `/version`.
    pub discovery: usize,
    /// Anything else: GETs of single objects, OpenAPI, writes.
    pub other: usize,
}

impl Requests {
    pub fn total(&self) -> usize {
        self.lists + self.discovery + self.other
    }
}

/// kubectl's side of one size: measured (with the test server's CPU time meanwhile), or
/// why not.
#[derive(Debug, Clone)]
pub enum Kubectl {
    Measured(Sample, Requests, Duration),
    Skipped(String),
}

/// Everything measured on one size.
#[derive(Debug, Clone)]
pub struct SizeResult {
    pub size: &'static str,
    pub namespaces: usize,
    pub objects: usize,
    pub seed_time: Duration,
    /// Objects by plural resource name.
    pub counts: Vec<(&'static str, usize)>,
    pub check: Sample,
    /// The test server's CPU time while `check` ran.
    pub check_server_cpu: Duration,
    pub check_requests: Requests,
    /// Σ ceil(objects / page size) over the kinds `check` lists.
    pub expected_lists: usize,
    /// Kinds whose page count differed from ceil(objects / page size).
    pub page_mismatches: Vec<String>,
    pub kubectl: Kubectl,
    /// `can --batch` queries per second, measured on the large mesh only.
    pub can_batch: Option<Result<f64, String>>,
    /// `can --matrix` times, measured on the large mesh only.
    pub matrix: Option<Result<MatrixTimes, String>>,
}

/// The whole run.
pub struct Results {
    pub machine: String,
    pub sizes: Vec<SizeResult>,
    pub help: Sample,
    pub kubectl_version: Sample,
    /// The load average when the run started.
    pub load: f64,
    /// Queries per second, or why there is no number.
    pub can_batch: Result<f64, String>,
    /// `can --matrix` times, or why there are none.
    pub matrix: Result<MatrixTimes, String>,
    pub elapsed: Duration,
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mib(s: &Sample) -> String {
    format!("{:.0} MiB", s.rss_mib())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

impl Results {
    fn size(&self, name: &str) -> Option<&SizeResult> {
        self.sizes.iter().find(|s| s.size == name)
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "Machine: {}.\n", self.machine);
        let _ = writeln!(md, "Whole run: {}.\n", secs(self.elapsed));

        // One column per size.
        let mut header = "| measure |".to_string();
        let mut rule = "|---|".to_string();
        for s in &self.sizes {
            let _ = write!(header, " {} ({} namespaces) |", s.size, s.namespaces);
            rule.push_str("---|");
        }
        let _ = writeln!(md, "{header}\n{rule}");
        let row = |md: &mut String, name: &str, cell: &dyn Fn(&SizeResult) -> String| {
            let cells: Vec<String> = self.sizes.iter().map(cell).collect();
            let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
        };
        let kubectl = |s: &SizeResult, f: &dyn Fn(&Sample, &Requests) -> String| match &s.kubectl {
            Kubectl::Measured(sample, requests, _) => f(sample, requests),
            Kubectl::Skipped(_) => "not run".into(),
        };
        row(&mut md, "objects `check` reads", &|s| s.objects.to_string());
        for plural in [
            "services",
            "pods",
            "authorizationpolicies",
            "virtualservices",
            "destinationrules",
            "peerauthentications",
        ] {
            row(&mut md, &format!("… of them {plural}"), &|s| {
                let n = s.counts.iter().find(|(p, _)| *p == plural).map_or(0, |(_, n)| *n);
                n.to_string()
            });
        }
        row(&mut md, "seeding (server.insert)", &|s| secs(s.seed_time));
        row(&mut md, "`check -A` wall time", &|s| secs(s.check.wall));
        row(&mut md, "`kubectl get <same kinds> -A -o json` wall time", &|s| match &s.kubectl {
            Kubectl::Measured(k, _, _) => secs(k.wall),
            Kubectl::Skipped(why) => format!("not run: {why}"),
        });
        row(&mut md, "wall time, check ÷ kubectl", &|s| {
            kubectl(s, &|k, _| format!("{:.2}", s.check.wall.as_secs_f64() / k.wall.as_secs_f64()))
        });
        row(&mut md, "CPU time, `check -A` + test server", &|s| {
            format!("{} + {}", secs(s.check.cpu), secs(s.check_server_cpu))
        });
        row(&mut md, "CPU time, kubectl + test server", &|s| match &s.kubectl {
            Kubectl::Measured(k, _, server) => format!("{} + {}", secs(k.cpu), secs(*server)),
            Kubectl::Skipped(_) => "not run".into(),
        });
        row(&mut md, "`check -A` peak RSS", &|s| mib(&s.check));
        row(&mut md, "kubectl peak RSS", &|s| kubectl(s, &|k, _| mib(k)));
        row(&mut md, "peak RSS, check ÷ kubectl", &|s| {
            kubectl(s, &|k, _| format!("{:.2}", s.check.rss_mib() / k.rss_mib()))
        });
        row(&mut md, "`check -A` requests: lists + discovery + other", &|s| {
            let r = &s.check_requests;
            format!("{} + {} + {}", r.lists, r.discovery, r.other)
        });
        row(&mut md, "kinds × pages (Σ ceil(objects ÷ 500))", &|s| s.expected_lists.to_string());
        row(&mut md, "kubectl requests: lists + discovery + other", &|s| {
            kubectl(s, &|_, r| format!("{} + {} + {}", r.lists, r.discovery, r.other))
        });
        row(&mut md, "`check -A` exit code", &|s| s.check.code.to_string());

        // The targets.
        let _ = writeln!(md, "\n| target | measured | goal | result |\n|---|---|---|---|");
        let large = self.size("large");
        let large_kubectl = large.and_then(|l| match &l.kubectl {
            Kubectl::Measured(k, _, _) => Some(*k),
            Kubectl::Skipped(_) => None,
        });
        match (large, large_kubectl) {
            (Some(l), Some(k)) => {
                let wall = l.check.wall.as_secs_f64() / k.wall.as_secs_f64();
                let rss = l.check.rss_mib() / k.rss_mib();
                let _ = writeln!(
                    md,
                    "| large: `check -A` wall time ÷ kubectl's | {wall:.2} | ≤ 0.5 | {} |",
                    verdict(wall <= 0.5)
                );
                let _ = writeln!(
                    md,
                    "| large: `check -A` peak RSS ÷ kubectl's | {rss:.2} | ≤ 0.5 | {} |",
                    verdict(rss <= 0.5)
                );
            }
            _ => {
                let _ = writeln!(
                    md,
                    "| large: wall time and RSS ÷ kubectl's | not run | ≤ 0.5 | not measured |"
                );
            }
        }
        match (large, self.size("xlarge")) {
            (Some(l), Some(x)) => {
                let growth = x.check.wall.as_secs_f64() / l.check.wall.as_secs_f64();
                let ours = x.check.cpu.as_secs_f64() / l.check.cpu.as_secs_f64();
                let server = x.check_server_cpu.as_secs_f64() / l.check_server_cpu.as_secs_f64();
                let why = if growth <= 11.0 {
                    String::new()
                } else {
                    format!(
                        " (why: our CPU time grew {ours:.1}×, the test server's {server:.1}×; the rest \
                         is waiting for the CPU on a machine with load average {:.1})",
                        self.load
                    )
                };
                let _ = writeln!(
                    md,
                    "| xlarge ÷ large `check -A` wall time (10× the objects) | {growth:.2}{why} | ≤ 11 | {} |",
                    verdict(growth <= 11.0)
                );
                let _ = writeln!(
                    md,
                    "| … the same for CPU time: `check -A`, test server | {ours:.2}, {server:.2} | (for reading) | |"
                );
            }
            _ => {
                let _ =
                    writeln!(md, "| xlarge ÷ large wall time | not run | ≤ 11 | not measured |");
            }
        }
        for s in &self.sizes {
            let r = &s.check_requests;
            let ok = r.lists == s.expected_lists && r.other == 0 && s.page_mismatches.is_empty();
            let detail = if s.page_mismatches.is_empty() {
                String::new()
            } else {
                format!(" (pages differ: {})", s.page_mismatches.join(", "))
            };
            let _ = writeln!(
                md,
                "| {}: requests = kinds × pages, nothing else | {} lists{detail}, {} other, {} discovery | {} lists, 0 other | {} |",
                s.size,
                r.lists,
                r.other,
                r.discovery,
                s.expected_lists,
                verdict(ok)
            );
        }
        let help = self.help.wall.as_secs_f64() / self.kubectl_version.wall.as_secs_f64();
        let _ = writeln!(
            md,
            "| `--help` ÷ `kubectl version --client` (medians: {} and {}) | {help:.3} | ≤ 0.1 | {} |",
            ms(self.help.wall),
            ms(self.kubectl_version.wall),
            verdict(help <= 0.1)
        );
        match &self.can_batch {
            Ok(qps) => {
                let _ = writeln!(
                    md,
                    "| large: `can --batch` queries per second (50,000 queries, read live) | {qps:.0} | ≥ 10,000 | {} |",
                    verdict(*qps >= 10_000.0)
                );
            }
            Err(why) => {
                let _ = writeln!(
                    md,
                    "| `can --batch` queries per second | {why} | ≥ 10,000 | not measured |"
                );
            }
        }
        match &self.matrix {
            Ok(m) => {
                let _ = writeln!(
                    md,
                    "| large: `can --matrix -A` size | {} | (for reading) | |",
                    m.size
                );
                for (what, s) in [(format!("-n {}", m.namespace), &m.one), ("-A".into(), &m.all)] {
                    let _ = writeln!(
                        md,
                        "| large: `can --matrix {what}` wall time (read live; the read alone {}) | {}, {} beyond the read, {} | (for reading) | |",
                        secs(m.read.wall),
                        secs(s.wall),
                        secs(m.beyond_read(s)),
                        mib(s)
                    );
                }
            }
            Err(why) => {
                let _ = writeln!(md, "| `can --matrix` wall time | {why} | (for reading) | |");
            }
        }
        md
    }
}

/// Replaces what lies between the markers in `doc` with `table`.
pub fn write_into(doc: &Path, table: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(doc)?;
    let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Err(std::io::Error::other(format!("{} lacks the markers", doc.display())));
    };
    let mut out = String::with_capacity(text.len() + table.len());
    out.push_str(&text[..start + BEGIN.len()]);
    out.push_str("\n\n");
    out.push_str(table.trim_end());
    out.push_str("\n\n");
    out.push_str(&text[end..]);
    std::fs::write(doc, out)
}
