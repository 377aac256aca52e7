//! Flags of `allow` and `deny`.

use clap::Args;

use super::WriteArgs;

/// Examples of `allow`.
pub const ALLOW_EXAMPLES: &str = "Examples:\n  \
    # Only GET from the ingress gateway to the pods labelled app=my-service\n  \
    kubectl debatemesh allow app=my-service --from ingress --methods GET\n\n  \
    # Let the frontend's service account call the cart Service under /api/\n  \
    kubectl debatemesh allow cart -n shop --from sa/shop/frontend --paths '/api/*'\n\n  \
    # Let every workload of namespace shop reach everything in namespace payments\n  \
    kubectl debatemesh allow namespace -n payments --from ns/shop\n\n  \
    # Watch what a policy would do before enforcing it (istio.io/dry-run)\n  \
    kubectl debatemesh allow cart -n shop --from ns/shop --dry-run-policy";

/// Examples of `deny`.
pub const DENY_EXAMPLES: &str = "Examples:\n  \
    # Refuse DELETE to the cart Service from anyone\n  \
    kubectl debatemesh deny cart -n shop --from any --methods DELETE\n\n  \
    # Keep namespace test away from namespace prod\n  \
    kubectl debatemesh deny namespace -n prod --from ns/test\n\n  \
    # Print the policy instead of writing it\n  \
    kubectl debatemesh deny cart -n shop --from any --paths '/admin/*' --dry-run=client -o yaml";

/// `allow|deny TARGET --from PEER... [--methods ..] [--paths ..] [--ports ..] [--hosts ..]`.
#[derive(Debug, Args)]
pub struct AuthzArgs {
    /// What the policy protects: a Service (its pod selector), a k=v,... pod selector, or
    /// `namespace` for every workload in the namespace
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// Who: ns/NS, sa/NS/SA, a principal TRUST_DOMAIN/ns/NS/sa/SA, ingress (the ingress
    /// gateway's service account), or any (repeatable; any one of them matches)
    #[arg(long = "from", value_name = "PEER", required = true)]
    pub from: Vec<String>,

    /// HTTP methods, e.g. GET,POST (HTTP ports only)
    #[arg(long, value_name = "METHOD,...", value_delimiter = ',')]
    pub methods: Vec<String>,

    /// Paths: exact (/api), prefix (/api/*), suffix (*.css), presence (*) or templates
    /// (/api/{*}/items/{**}) (HTTP ports only)
    #[arg(long, value_name = "PATH,...", value_delimiter = ',')]
    pub paths: Vec<String>,

    /// Container ports the workload listens on, e.g. 8080
    #[arg(long, value_name = "PORT,...", value_delimiter = ',')]
    pub ports: Vec<String>,

    /// Host headers, e.g. shop.example.com or *.example.com (HTTP ports only)
    #[arg(long, value_name = "HOST,...", value_delimiter = ',')]
    pub hosts: Vec<String>,

    /// The policy name (default: the Service or workload name with -allow or -deny, e.g.
    /// cart-allow; `namespace-allow` or `namespace-deny` for the namespace)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Mark the policy `istio.io/dry-run`: Istio evaluates and logs it but does not enforce it
    #[arg(long)]
    pub dry_run_policy: bool,

    /// The Istio control-plane namespace, whose `istio` ConfigMap holds mesh config
    #[arg(long, value_name = "NS", default_value = "istio-system")]
    pub istio_namespace: String,

    #[command(flatten)]
    pub write: WriteArgs,
}
