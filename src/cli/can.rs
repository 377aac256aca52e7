//! Flags of `can`.

use std::path::PathBuf;

use clap::Args;

use super::InputArgs;

/// `can FROM TO [--port N] [--method M] [--path P] [--host H] [--header K=V]... | --batch FILE |
/// --matrix [-n NS | -A] [--diff-against PATH]`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    # May the sleep service account call GET /ip on the httpbin Service in foo?\n  \
    kubectl debatemesh can ns/foo/sa/sleep svc/httpbin -n foo --port 8000 --path /ip\n\n  \
    # From a pod, to a pod port, with a header; the chain of reasoning as JSON\n  \
    kubectl debatemesh can shop/pod/cart-5d8f-x1 payments/pod/api-0 --port 8080 \\\n      \
    --method POST --path /charge --header x-tenant=blue -o json\n\n  \
    # A client outside the mesh, and the ingress gateway, against files instead of the cluster\n  \
    kubectl debatemesh can plaintext foo/svc/httpbin --port 8000 -f k8s/\n  \
    kubectl debatemesh can ingress foo/svc/httpbin --port 8000 --host httpbin.example.com -f k8s/\n\n  \
    # Many questions from one read of the mesh: one query per line, one answer per line\n  \
    kubectl debatemesh can --batch queries.txt -o json\n\n  \
    # Who may call whom in shop, as a table, and as a picture\n  \
    kubectl debatemesh can --matrix -n shop\n  \
    kubectl debatemesh can --matrix -f k8s/ -o dot | dot -Tsvg > reach.svg\n\n  \
    # What a change takes away: only the pairs whose decision changes\n  \
    kubectl debatemesh can --matrix -A --diff-against new-policy.yaml\n\n\
    FROM is ns/NS/sa/SA (also sa/NS/SA), pod/NAME or NS/pod/NAME, ingress, or plaintext (a\n\
    caller without a sidecar). TO is NAME or svc/NAME (a Service in -n), NS/svc/NAME, a host\n\
    (a Service FQDN or ServiceEntry host), pod/NAME or NS/pod/NAME.\n\n\
    Exit status: 0 ALLOW, 1 DENY or UNKNOWN (a CUSTOM authorizer decides at run time, so it is\n\
    not a certain yes), 2 bad input, 3 the cluster cannot be read. With --batch, 0 only when\n\
    every query is allowed. With --matrix, 0 whatever the answers (a matrix is an answer, not a\n\
    check), 2 bad input, 3 the cluster cannot be read.")]
pub struct CanArgs {
    /// Who sends the request: ns/NS/sa/SA, pod/NAME, NS/pod/NAME, ingress or plaintext
    #[arg(
        value_name = "FROM",
        required_unless_present_any = ["batch", "matrix", "all_namespaces", "diff_against"],
        conflicts_with_all = ["batch", "matrix"]
    )]
    pub from: Option<String>,

    /// Where it goes: NAME, svc/NAME, NS/svc/NAME, a host, pod/NAME or NS/pod/NAME
    // -A and --diff-against without --matrix pass here so that `can` says what they need.
    #[arg(
        value_name = "TO",
        required_unless_present_any = ["batch", "matrix", "all_namespaces", "diff_against"]
    )]
    pub to: Option<String>,

    /// The destination port: a Service port, or a container port for a pod (default: the only
    /// port); with --matrix, only Service ports of this number
    #[arg(long, value_name = "N")]
    pub port: Option<String>,

    /// The HTTP method (default GET)
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,

    /// The HTTP path, as the client sends it (default /); the sidecar normalizes it
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,

    /// The Host header (default: the destination's host, with the port unless it is 80)
    #[arg(long, value_name = "HOST", conflicts_with = "matrix")]
    pub host: Option<String>,

    /// A request header, NAME=VALUE; repeatable
    #[arg(long = "header", short = 'H', value_name = "NAME=VALUE")]
    pub headers: Vec<String>,

    /// Answer many queries from FILE (or - for stdin), one per line: FROM TO [flags]
    #[arg(long, value_name = "FILE", conflicts_with_all = ["port", "method", "path", "host", "headers", "matrix"])]
    pub batch: Option<PathBuf>,

    /// Who may call whom: every caller identity (plus ingress and plaintext) against every
    /// Service port in scope, for one request (--method, --path, default GET /)
    #[arg(long)]
    pub matrix: bool,

    /// With --matrix: every namespace (default: -n, the context's namespace, or everything in
    /// the -f files)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// With --matrix: lay the files in PATH over the input and list only the pairs whose
    /// decision changes; repeatable
    #[arg(long, value_name = "PATH")]
    pub diff_against: Vec<PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,
}
