//! Flags of `expose` and `unexpose`.

use clap::{Args, ValueEnum};

use super::WriteArgs;

/// `expose SVC [--host H]... [--path /p] [--port N] [--gateway NS/NAME] [--tls-secret S]`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
        # Reach my-service from outside the mesh on /my-service, through the ingress gateway\n  \
        kubectl debatemesh expose my-service --path /my-service\n\n  \
        # Serve one host over HTTPS, redirecting plain HTTP, with the certificate in a Secret\n  \
        kubectl debatemesh expose shop --host shop.example.com --tls-secret shop-cert \
        --https-redirect\n\n  \
        # Route through a shared gateway in another namespace, rewriting the prefix away\n  \
        kubectl debatemesh expose api --host api.example.com --path /v1 --rewrite / \
        --gateway istio-system/public\n\n  \
        # Print the Gateway API objects for GitOps instead of writing them\n  \
        kubectl debatemesh expose shop --api gateway-api --dry-run=client -o yaml")]
pub struct ExposeArgs {
    /// The Service to expose, in the current namespace
    #[arg(value_name = "SVC")]
    pub service: String,

    /// The Service port to route to, by number or name (needed when it has several)
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,

    /// A host name to serve, e.g. shop.example.com or *.example.com (repeatable; default `*`)
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,

    /// The request path prefix to route
    #[arg(long, value_name = "PREFIX", default_value = "/")]
    pub path: String,

    /// Match --path exactly instead of as a prefix
    #[arg(long)]
    pub exact: bool,

    /// Rewrite the matched path (or prefix) to this before it reaches the Service
    #[arg(long, value_name = "PREFIX")]
    pub rewrite: Option<String>,

    /// Use this existing gateway, as NAME or NAMESPACE/NAME (default: reuse one in the
    /// namespace that already serves the hosts, else create SVC-gateway)
    #[arg(long, value_name = "NS/NAME")]
    pub gateway: Option<String>,

    /// The labels that select the ingress gateway pods, for a Gateway this command creates
    #[arg(long, value_name = "K=V,...", conflicts_with = "gateway")]
    pub gateway_selector: Option<String>,

    /// Also serve HTTPS on port 443 with the certificate in this Secret (tls.crt and tls.key)
    #[arg(long, value_name = "SECRET")]
    pub tls_secret: Option<String>,

    /// Redirect plain HTTP requests to HTTPS
    #[arg(long, requires = "tls_secret")]
    pub https_redirect: bool,

    /// Which API to write: Istio's Gateway and VirtualService, or the Gateway API's Gateway
    /// and HTTPRoute (default: istio, or gateway-api when only that is served)
    #[arg(long, value_enum, value_name = "API")]
    pub api: Option<Api>,

    /// The cluster's DNS domain, for the Service's fully qualified name
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// `unexpose SVC`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
        # Remove what `expose my-service` added, keeping anything others still use\n  \
        kubectl debatemesh unexpose my-service\n\n  \
        # See what would be removed\n  \
        kubectl debatemesh unexpose my-service --diff")]
pub struct UnexposeArgs {
    /// The Service whose routes to remove, in the current namespace
    #[arg(value_name = "SVC")]
    pub service: String,

    /// The cluster's DNS domain, for the Service's fully qualified name
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,

    /// Succeed when the Service does not exist and nothing was exposed for it, as kubectl
    /// delete --ignore-not-found does
    #[arg(long)]
    pub ignore_not_found: bool,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// The routing API `expose` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// networking.istio.io Gateway and VirtualService
    Istio,
    /// gateway.networking.k8s.io Gateway and HTTPRoute
    GatewayApi,
}
