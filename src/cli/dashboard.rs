//! Flags of `dashboard`.

use clap::{Args, ValueEnum};

/// `dashboard [kiali|grafana|prometheus|jaeger] [--port L] [--address A] [--no-browser]`.
#[derive(Debug, Args)]
#[command(after_help = "The addon's Service is looked up in -n (default istio-system), then in \
        every namespace. The command runs until Ctrl-C.\n\n\
        Examples:\n  \
        # Open Kiali in a browser\n  \
        kubectl debatemesh dashboard\n\n  \
        # Forward Grafana to local port 3001 and only print its URL\n  \
        kubectl debatemesh dashboard grafana --port 3001 --no-browser\n\n  \
        # Prometheus installed in the monitoring namespace, waiting for it to start\n  \
        kubectl debatemesh dashboard prometheus -n monitoring --wait 2m")]
pub struct DashboardArgs {
    /// The addon to open
    #[arg(value_enum, value_name = "ADDON", default_value = "kiali")]
    pub addon: Addon,

    /// Local port to listen on (default: the addon's port in the pod, or a free one when that
    /// is taken)
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,

    /// Local address to listen on; anything but a loopback address exposes the dashboard to
    /// the network
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    pub address: String,

    /// Only print the URL; by default a browser opens when a display is available
    #[arg(long)]
    pub no_browser: bool,

    /// How long to wait for a ready pod, e.g. 30s or 2m (default: do not wait)
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}

/// The Istio addons `dashboard` opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Addon {
    /// Kiali, the service mesh console
    Kiali,
    /// Grafana, with Istio's dashboards
    Grafana,
    /// Prometheus, which holds Istio's metrics
    Prometheus,
    /// Jaeger, for traces
    Jaeger,
}
