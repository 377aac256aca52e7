//! Flags of `mtls`.

use clap::Args;

use super::WriteArgs;

/// `mtls [NS] --mode MODE [--selector k=v,...] [--port PORT=MODE]... [--mesh]`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
        # Require mTLS for every workload in shop (refused while callers without a sidecar \
        call it)\n  \
        kubectl debatemesh mtls shop --mode STRICT\n\n  \
        # Require mTLS for one workload, but accept plaintext on its metrics port\n  \
        kubectl debatemesh mtls shop --selector app=web --mode STRICT --port 9090=PERMISSIVE\n\n  \
        # Mesh-wide PERMISSIVE, in the root namespace from mesh config\n  \
        kubectl debatemesh mtls --mesh --mode PERMISSIVE\n\n  \
        # Print the PeerAuthentication instead of writing it\n  \
        kubectl debatemesh mtls shop --mode STRICT --dry-run=client -o yaml")]
pub struct MtlsArgs {
    /// The namespace of the policy (default: -n, then the context's namespace)
    #[arg(value_name = "NS", conflicts_with = "mesh")]
    pub namespace: Option<String>,

    /// The mTLS mode: STRICT, PERMISSIVE, DISABLE or UNSET (inherit from the level above)
    #[arg(long, value_name = "MODE", required_unless_present = "ports")]
    pub mode: Option<String>,

    /// Only the workloads whose pods carry these labels, e.g. app=web (default: the namespace)
    #[arg(long, value_name = "k=v,...", conflicts_with = "mesh")]
    pub selector: Option<String>,

    /// The policy name (default: `default` for a namespace or the mesh, else the workload's
    /// `app.kubernetes.io/name` or `app` label)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A mode for one container port of the selected workload, e.g. 9090=PERMISSIVE; needs
    /// --selector (repeatable)
    #[arg(long = "port", value_name = "PORT=MODE", conflicts_with = "mesh")]
    pub ports: Vec<String>,

    /// Write the mesh-wide policy, in the root namespace named by mesh config
    #[arg(long)]
    pub mesh: bool,

    /// The Istio control-plane namespace, whose `istio` ConfigMap holds mesh config
    #[arg(long, value_name = "NS", default_value = "istio-system")]
    pub istio_namespace: String,

    #[command(flatten)]
    pub write: WriteArgs,
}
