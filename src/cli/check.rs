//! Flags of `check`.

use clap::Args;

use super::InputArgs;

/// `check [-n NS | -A] [-f PATH...]`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # Check files, with no cluster (the ingress gateway and mesh config are assumed)\n  \
    kubectl debatemesh check -f examples/\n\n  \
    # Check the live mesh, every namespace, as SARIF for code scanning\n  \
    kubectl debatemesh check -A -o sarif > mesh.sarif\n\n  \
    # Check a change before applying it: files laid over the live state\n  \
    kubectl debatemesh check -f new-policy.yaml --use-cluster -n shop\n\n  \
    # Fail the build on warnings too; hide one known finding\n  \
    kubectl debatemesh check -f k8s/ --fail-on warning --suppress 'DM0601=Service shop/legacy'")]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Check every namespace (default: the current one, objects in it and its Namespace; with
    /// -f and no -n, everything in the files)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Exit 1 when a finding at this level or worse is reported: error, warning or info
    #[arg(long, value_name = "LEVEL", default_value = "error")]
    pub fail_on: String,

    /// Report only findings at this level or worse: error, warning or info
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub output_threshold: String,

    /// Hide findings: CODE=Kind ns/name, with * wildcards (CODE may be an IST code); repeatable
    #[arg(long, value_name = "CODE=RESOURCE")]
    pub suppress: Vec<String>,

    /// List the analyzers and their codes instead of checking
    #[arg(long)]
    pub list_analyzers: bool,
}
