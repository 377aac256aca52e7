//! Flags of `inject` and `inject status`.

use clap::{Args, Subcommand};

use super::WriteArgs;

/// `inject NS... [--revision REV | --ambient | --disable]`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  \
        # Label shop for sidecar injection and restart what needs a sidecar\n  \
        kubectl debatemesh inject shop --restart\n\n  \
        # Move two namespaces to the canary control plane\n  \
        kubectl debatemesh inject shop cart --revision canary\n\n  \
        # Put a namespace into ambient mode, printing the namespace instead of saving it\n  \
        kubectl debatemesh inject shop --ambient --dry-run=client -o yaml\n\n  \
        # Which namespaces are meshed, and which pods still need a restart\n  \
        kubectl debatemesh inject status -A"
)]
pub struct InjectArgs {
    #[command(subcommand)]
    pub status: Option<InjectSubcommand>,

    /// Namespaces to label
    #[arg(value_name = "NS", required = true)]
    pub namespaces: Vec<String>,

    /// Inject from this control-plane revision (`istio.io/rev=REV`) instead of the default
    #[arg(long, value_name = "REV", conflicts_with_all = ["ambient", "disable"])]
    pub revision: Option<String>,

    /// Use ambient mode (`istio.io/dataplane-mode=ambient`) instead of sidecars
    #[arg(long, conflicts_with = "disable")]
    pub ambient: bool,

    /// Remove the injection labels: take the namespaces out of the mesh
    #[arg(long)]
    pub disable: bool,

    /// Restart the Deployments, StatefulSets and DaemonSets whose pods no longer match (refused
    /// without --force when no injector webhook serves the revision)
    #[arg(long)]
    pub restart: bool,

    /// The Istio control-plane namespace, protected unless --force
    #[arg(long, value_name = "NS", default_value = "istio-system")]
    pub istio_namespace: String,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// The subcommands of `inject`.
#[derive(Debug, Subcommand)]
pub enum InjectSubcommand {
    /// Show each namespace's mesh mode, meshed pods and pods needing a restart
    #[command(after_help = "Examples:\n  kubectl debatemesh inject status\n  \
                            kubectl debatemesh inject status shop\n  \
                            kubectl debatemesh inject status -A -o json")]
    Status(InjectStatusArgs),
}

/// `inject status [NS | -A]`.
#[derive(Debug, Args)]
pub struct InjectStatusArgs {
    /// The namespace to show (default: the current namespace)
    // An id of its own: sharing the global `namespace` id would hide -n from this command.
    #[arg(id = "status_namespace", value_name = "NS", conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,

    /// Show every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Objects per page when listing
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub page_size: u32,
}
