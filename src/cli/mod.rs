//! Command-line definitions: the kubectl flags every command shares and one
//! `*Args` struct per command, in the file of that command's name.

mod authz;
mod can;
mod check;
mod dashboard;
mod expose;
mod inject;
mod mtls;
mod resilience;
mod version;

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

pub use authz::AuthzArgs;
pub use can::CanArgs;
pub use check::CheckArgs;
pub use dashboard::{Addon, DashboardArgs};
pub use expose::{Api, ExposeArgs, UnexposeArgs};
pub use inject::{InjectArgs, InjectStatusArgs, InjectSubcommand};
pub use mtls::MtlsArgs;
pub use resilience::{ResilienceArgs, ResilienceShowArgs, ResilienceSubcommand};
pub use version::{CompletionArgs, Shell, ShimCommand, VersionArgs};

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-debatemesh",
    bin_name = "kubectl debatemesh",
    version,
    about = "Configure Istio with safe commands, then prove the mesh is configured right",
    long_about = None,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = "Examples:\n  kubectl debatemesh inject shop\n  kubectl debatemesh inject status -A\n  \
                  kubectl debatemesh expose my-service --path /my-service\n  \
                  kubectl debatemesh resilience my-service --preset standard\n  \
                  kubectl debatemesh mtls shop --mode STRICT\n  \
                  kubectl debatemesh allow app=web -n shop --from ingress --methods GET\n  \
                  kubectl debatemesh dashboard kiali\n  \
                  kubectl debatemesh version"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags that behave as they do in kubectl and may appear anywhere on the line.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,

    /// The namespace to work in (default: the context's namespace, then `default`)
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,

    /// How long to wait for each reply from the API server, e.g. 30s or 1m; 0 waits forever
    #[arg(long, global = true, value_name = "DURATION", default_value = "0")]
    pub request_timeout: String,

    /// Output format (each command says which it supports)
    #[arg(short = 'o', long, global = true, value_name = "FORMAT")]
    pub output: Option<String>,

    /// More logging on stderr: -v debug, -vv trace, -vvv everything (RUST_LOG wins)
    #[arg(short = 'v', long = "verbose", global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Never colour the output (NO_COLOR does the same)
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// How a command that writes to the cluster behaves: shared by every mutating command.
#[derive(Debug, Clone, Default, Args)]
pub struct WriteArgs {
    /// Only print what would be sent (`client`), or have the server check it without saving
    /// (`server`)
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        default_value = "none",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "client"
    )]
    pub dry_run: DryRun,

    /// Print a diff of the live objects against the intended ones, then write nothing; exit 1
    /// when something would change and 0 when nothing would, as kubectl diff does
    #[arg(long)]
    pub diff: bool,

    /// Change objects another tool manages, and skip the safety refusals
    #[arg(long)]
    pub force: bool,
}

/// Where a reading command gets its objects: the live cluster, files, or files laid over the
/// cluster. Shared by `check` and `can`.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Read objects from files, folders or `-` (stdin) instead of the cluster; repeatable
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Read folders given with -f recursively
    #[arg(short = 'R', long, requires = "files")]
    pub recursive: bool,

    /// Lay the -f files over the live cluster state, as if they were applied
    #[arg(long, requires = "files")]
    pub use_cluster: bool,

    /// With -f and no cluster, do not assume what every Istio cluster has (the ingress gateway,
    /// the default mesh config)
    #[arg(long)]
    pub no_defaults: bool,

    /// Objects per page when listing from the cluster
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub page_size: u32,

    /// The Istio control-plane namespace, where the mesh config lives
    #[arg(long, value_name = "NS", default_value = "istio-system")]
    pub istio_namespace: String,
}

/// `--dry-run` as kubectl spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    /// Write for real
    #[default]
    None,
    /// Send nothing; print the intended objects
    Client,
    /// Send with `dryRun=All`: the server validates and answers but saves nothing
    Server,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Put namespaces into the mesh (sidecar, revision or ambient), or take them out
    Inject(InjectArgs),

    /// Reach a Service from outside the mesh through an ingress gateway (Istio or Gateway API)
    Expose(ExposeArgs),

    /// Remove the routes `expose` added, and the objects it created that nothing else uses
    Unexpose(UnexposeArgs),

    /// Set retries, timeouts and circuit breakers for a Service, or show the ones in effect
    Resilience(Box<ResilienceArgs>),

    /// Set the mTLS mode (PeerAuthentication) of the mesh, a namespace or a workload, after
    /// checking who would be cut off
    Mtls(MtlsArgs),

    /// Let callers in (AuthorizationPolicy ALLOW), after checking who else would be locked out
    #[command(after_help = authz::ALLOW_EXAMPLES)]
    Allow(AuthzArgs),

    /// Keep callers out (AuthorizationPolicy DENY), after checking the rule can match
    #[command(after_help = authz::DENY_EXAMPLES)]
    Deny(AuthzArgs),

    /// Prove the mesh is configured right: references, conflicts, mTLS, authorization,
    /// injection, ports and resilience, live or from files
    Check(CheckArgs),

    /// Would this request be allowed? The decision, the deciding policy and rule, and the chain
    /// of reasoning (mTLS, CUSTOM, DENY, ALLOW)
    Can(CanArgs),

    /// Open Kiali, Grafana, Prometheus or Jaeger through a port-forward to its Service
    Dashboard(DashboardArgs),

    /// Print the client version and, when reachable, the server version
    Version(VersionArgs),

    /// Print a shell completion script, or install the kubectl plugin completion shim
    Completion(CompletionArgs),
}

impl Cli {
    /// Parses the process arguments, accepting kubectl's `-v=N` and `--v=N` verbosity forms.
    pub fn parse_args() -> Result<Self, clap::Error> {
        Self::try_parse_from(normalize_verbosity(std::env::args_os()))
    }
}

/// Rewrites kubectl's numeric verbosity (`-v=6`, `--v=6`, `--v 6`) into the repeated `-v` form:
/// levels 1-4 give debug, 5-7 trace, 8 and above everything.
pub fn normalize_verbosity<I>(args: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = std::ffi::OsString>,
{
    let mut out = Vec::new();
    let mut iter = args.into_iter().peekable();
    let mut after_separator = false;
    while let Some(arg) = iter.next() {
        if after_separator {
            out.push(arg);
            continue;
        }
        let text = arg.to_string_lossy();
        if text == "--" {
            after_separator = true;
            out.push(arg);
            continue;
        }
        let level = if let Some(v) =
            text.strip_prefix("-v=").or_else(|| text.strip_prefix("--v=")).map(str::to_string)
        {
            v.parse::<u8>().ok()
        } else if text == "--v" {
            let next = iter.peek().and_then(|n| n.to_str()).and_then(|n| n.parse::<u8>().ok());
            if next.is_some() {
                iter.next();
            }
            next
        } else {
            out.push(arg);
            continue;
        };
        match level {
            Some(0) => {}
            Some(n) => {
                let count = match n {
                    1..=4 => 1,
                    5..=7 => 2,
                    _ => 3,
                };
                out.push(format!("-{}", "v".repeat(count)).into());
            }
            None => out.push(text.into_owned().into()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_verbosity(args.iter().map(|a| a.into()))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn kubectl_verbosity_forms_become_counts() {
        assert_eq!(norm(&["x", "-v=6", "version"]), ["x", "-vv", "version"]);
        assert_eq!(norm(&["x", "--v=9"]), ["x", "-vvv"]);
        assert_eq!(norm(&["x", "--v", "2", "version"]), ["x", "-v", "version"]);
        assert_eq!(norm(&["x", "-v=0"]), ["x"]);
        assert_eq!(norm(&["x", "-vv"]), ["x", "-vv"]);
        assert_eq!(norm(&["x", "--", "-v=6"]), ["x", "--", "-v=6"]);
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
