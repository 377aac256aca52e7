//! Flags of `resilience` and `resilience show`.

use clap::{Args, Subcommand};

use super::WriteArgs;

/// Every flag that sets a value; `--clear` conflicts with all of them.
const SETTING_FLAGS: [&str; 16] = [
    "retries",
    "per_try_timeout",
    "retry_on",
    "timeout",
    "max_connections",
    "max_pending_requests",
    "max_requests_per_connection",
    "max_retries",
    "connect_timeout",
    "consecutive_5xx_errors",
    "consecutive_gateway_errors",
    "interval",
    "base_ejection_time",
    "max_ejection_percent",
    "min_health_percent",
    "preset",
];

/// `resilience SVC [settings] | --clear`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Presets (flags override their values):\n  \
        standard        3 retries, 2s per try, on 5xx,gateway-error,connect-failure, 10s timeout;\n                  \
        100 connections, 100 pending requests; eject after 5 consecutive 5xx,\n                  \
        every 30s, for 60s, up to 100% of endpoints (the team guide, section 5)\n  \
        non-idempotent  as standard, but retry only on connect-failure,refused-stream,\n                  \
        reset-before-request, so a request the service handled is never repeated\n  \
        no-retries      retries.attempts: 0, turning off Istio's default of 2 retries\n\n\
        Examples:\n  \
        # The team guide's retries, timeout and circuit breaker for the cart Service\n  \
        kubectl debatemesh resilience cart -n shop --preset standard\n\n  \
        # Only a timeout on the route named api, printing the result instead of saving it\n  \
        kubectl debatemesh resilience cart --route api --timeout 3s --dry-run=client -o yaml\n\n  \
        # Eject a host after 3 gateway errors, but never more than half of them\n  \
        kubectl debatemesh resilience cart --consecutive-gateway-errors 3 --max-ejection-percent 50\n\n  \
        # What the proxies do now, Istio's defaults included\n  \
        kubectl debatemesh resilience show cart\n\n  \
        # Put back what resilience replaced\n  \
        kubectl debatemesh resilience cart --clear"
)]
pub struct ResilienceArgs {
    #[command(subcommand)]
    pub show: Option<ResilienceSubcommand>,

    /// The Service, in the current namespace (-n to choose another)
    #[arg(value_name = "SVC", required = true)]
    pub service: Option<String>,

    /// retries.attempts: retries after the first try, 0 to turn retries off (Istio's default is 2)
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Retries and timeout (VirtualService)"
    )]
    pub retries: Option<String>,

    /// retries.perTryTimeout: how long each try may take, e.g. 2s or 500ms
    #[arg(
        long,
        value_name = "D",
        allow_hyphen_values = true,
        help_heading = "Retries and timeout (VirtualService)"
    )]
    pub per_try_timeout: Option<String>,

    /// retries.retryOn: when to retry, e.g. 5xx,gateway-error,connect-failure or 503
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Retries and timeout (VirtualService)"
    )]
    pub retry_on: Option<String>,

    /// timeout: the whole request, every try included (no timeout by default)
    #[arg(
        long,
        value_name = "D",
        allow_hyphen_values = true,
        help_heading = "Retries and timeout (VirtualService)"
    )]
    pub timeout: Option<String>,

    /// Only change the HTTP route with this name
    #[arg(long, value_name = "NAME", help_heading = "Retries and timeout (VirtualService)")]
    pub route: Option<String>,

    /// connectionPool.tcp.maxConnections: connections to each endpoint
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Circuit breaker (DestinationRule)"
    )]
    pub max_connections: Option<String>,

    /// connectionPool.http.http1MaxPendingRequests: requests waiting for a connection
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Circuit breaker (DestinationRule)"
    )]
    pub max_pending_requests: Option<String>,

    /// connectionPool.http.maxRequestsPerConnection: 1 turns keep-alive off, 0 means unlimited
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Circuit breaker (DestinationRule)"
    )]
    pub max_requests_per_connection: Option<String>,

    /// connectionPool.http.maxRetries: retries in flight to the whole Service at once
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Circuit breaker (DestinationRule)"
    )]
    pub max_retries: Option<String>,

    /// connectionPool.tcp.connectTimeout: TCP connect timeout (the mesh default is 10s)
    #[arg(
        long,
        value_name = "D",
        allow_hyphen_values = true,
        help_heading = "Circuit breaker (DestinationRule)"
    )]
    pub connect_timeout: Option<String>,

    /// outlierDetection.consecutive5xxErrors: 5xx answers in a row that eject an endpoint
    #[arg(
        long = "consecutive-5xx-errors",
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Outlier detection (DestinationRule)"
    )]
    pub consecutive_5xx_errors: Option<String>,

    /// outlierDetection.consecutiveGatewayErrors: 502, 503 or 504 in a row that eject one
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Outlier detection (DestinationRule)"
    )]
    pub consecutive_gateway_errors: Option<String>,

    /// outlierDetection.interval: how often endpoints are judged
    #[arg(
        long,
        value_name = "D",
        allow_hyphen_values = true,
        help_heading = "Outlier detection (DestinationRule)"
    )]
    pub interval: Option<String>,

    /// outlierDetection.baseEjectionTime: how long a first ejection lasts
    #[arg(
        long,
        value_name = "D",
        allow_hyphen_values = true,
        help_heading = "Outlier detection (DestinationRule)"
    )]
    pub base_ejection_time: Option<String>,

    /// outlierDetection.maxEjectionPercent: the most endpoints ejected at once, 0 to 100
    #[arg(
        long,
        value_name = "P",
        allow_hyphen_values = true,
        help_heading = "Outlier detection (DestinationRule)"
    )]
    pub max_ejection_percent: Option<String>,

    /// outlierDetection.minHealthPercent: below this share of healthy endpoints, use them all
    #[arg(
        long,
        value_name = "P",
        allow_hyphen_values = true,
        help_heading = "Outlier detection (DestinationRule)"
    )]
    pub min_health_percent: Option<String>,

    /// Start from a named set of values: standard, non-idempotent or no-retries
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,

    /// Put back what resilience replaced, and delete the objects it created
    #[arg(long, conflicts_with_all = SETTING_FLAGS)]
    pub clear: bool,

    /// The cluster's DNS domain, for the Service's FQDN
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// The subcommands of `resilience`.
#[derive(Debug, Subcommand)]
pub enum ResilienceSubcommand {
    /// Show the retries, timeouts, pool limits and outlier detection in effect, defaults included
    #[command(after_help = "Examples:\n  kubectl debatemesh resilience show cart\n  \
                            kubectl debatemesh resilience show cart -n shop -o yaml")]
    Show(ResilienceShowArgs),
}

/// `resilience show SVC`.
#[derive(Debug, Args)]
pub struct ResilienceShowArgs {
    /// The Service, in the current namespace (-n to choose another)
    #[arg(value_name = "SVC")]
    pub service: String,

    /// The cluster's DNS domain, for the Service's FQDN
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,
}
