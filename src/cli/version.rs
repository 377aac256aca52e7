//! Flags of `version` and `completion`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `version [--client]`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  kubectl debatemesh version\n  \
                        kubectl debatemesh version --client -o json")]
pub struct VersionArgs {
    /// Print only the client version; do not contact the server
    #[arg(long)]
    pub client: bool,
}

/// `completion bash|zsh|fish` and `completion kubectl-shim DIR`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  \
        # bash: load completion for this shell\n  \
        source <(kubectl-debatemesh completion bash)\n\n  \
        # make `kubectl debatemesh <TAB>` complete (kubectl 1.26 and later)\n  \
        kubectl debatemesh completion kubectl-shim ~/.local/bin"
)]
pub struct CompletionArgs {
    #[command(subcommand)]
    pub shim: Option<ShimCommand>,

    /// The shell to print a completion script for
    #[arg(value_enum, required = true)]
    pub shell: Option<Shell>,
}

/// Shells with a completion script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// `completion kubectl-shim DIR`.
#[derive(Debug, Subcommand)]
pub enum ShimCommand {
    /// Write an executable `kubectl_complete-debatemesh` into DIR (a folder on PATH)
    #[command(name = "kubectl-shim")]
    KubectlShim {
        /// Folder to write the shim into
        dir: PathBuf,
    },
}
