//! Logging to stderr with `tracing`: warnings by default, `-v` debug and `-vv` trace for this
//! crate, `-vvv` everything; `RUST_LOG` wins. Every line is redacted.

use tracing_subscriber::{EnvFilter, fmt};

use super::redact::RedactingStderr;

/// Installs the subscriber. Safe to call once per process.
pub fn init(verbose: u8, color: bool) {
    // kube logs each failed request itself; our error message already says it, once.
    let default = match verbose {
        0 => "warn,kube_client=off",
        1 => "warn,kube_client=info,debatemesh=debug,kubectl_debatemesh=debug",
        2 => "warn,kube_client=debug,debatemesh=trace,kubectl_debatemesh=trace",
        _ => "trace",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr)
        .with_ansi(color)
        .with_target(verbose >= 2)
        .try_init();
}
