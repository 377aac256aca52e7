//! kubectl-debatemesh: configure Istio with safe commands and prove the mesh is configured right.
//!
//! The binary is thin; this library holds everything: `cli` parses, `commands` runs one command
//! each, `cluster` is the only code that talks to the API server, `mesh` holds the Istio rules,
//! and `output` owns every byte written.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod analysis;
pub mod authz;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod error;
pub mod mesh;
pub mod output;

use error::ExitStatus;

/// Runs a parsed command line on a fresh runtime.
pub fn run(cli: cli::Cli, ui: &mut output::Ui) -> anyhow::Result<ExitStatus> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(commands::run(cli, ui))
}

/// Answers `__complete` (cobra's shell completion protocol); never fails.
pub fn complete(words: &[String]) -> String {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(commands::complete::answer(words)),
        Err(_) => ":4\n".to_string(),
    }
}
