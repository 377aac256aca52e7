//! What `resilience` was asked to do, checked with Istio's own rules before anything is sent:
//! every value, the retry policy as a whole, and the preset the flags start from.

use crate::cli::ResilienceArgs;
use crate::error::UsageError;
use crate::mesh::resilience::{OutlierSettings, PoolSettings, Preset, RouteSettings, Settings};
use crate::mesh::validate::k8s::{is_dns1123_subdomain, validate_dns1123_label};
use crate::mesh::validate::{
    CountField, DurationField, MeshDuration, PercentField, ResultExt, ValidationError,
    check_retry_policy, parse_attempts, parse_count, parse_mesh_duration, parse_percent,
    parse_retry_on,
};

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub service: String,
    pub domain: String,
    /// Put back what was replaced instead of setting anything.
    pub clear: bool,
    pub settings: Settings,
    /// The only HTTP route to change.
    pub route: Option<String>,
}

impl Plan {
    /// Checks the command line.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the flag, the value and what Istio allows, or a
    /// [`UsageError`] when nothing was asked for.
    pub fn new(args: &ResilienceArgs) -> anyhow::Result<Self> {
        let service = args.service.clone().unwrap_or_default();
        validate_dns1123_label(&service).for_flag("SVC")?;
        if !is_dns1123_subdomain(&args.cluster_domain) {
            return Err(ValidationError::new(
                "--cluster-domain",
                &args.cluster_domain,
                "the cluster domain is a DNS name such as cluster.local",
            )
            .into());
        }
        let flags = settings_from_flags(args)?;
        let preset = match &args.preset {
            Some(name) => Some(Preset::parse(name).ok_or_else(|| {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                ValidationError::new("--preset", name, format!("presets are {}", names.join(", ")))
            })?),
            None => None,
        };
        let settings = match preset {
            Some(preset) => flags.over(preset.settings()),
            None => flags,
        };
        if !args.clear && settings.is_empty() {
            return Err(UsageError::new(
                "nothing to change: give --preset, a setting such as --retries or \
                 --max-connections, or --clear",
            )
            .into());
        }
        if let Some(route) = &args.route {
            if route.is_empty() {
                return Err(
                    ValidationError::new("--route", "", "give the name of an http route").into()
                );
            }
            if !args.clear && settings.route.is_empty() {
                return Err(ValidationError::new(
                    "--route",
                    route,
                    "--route narrows --retries, --per-try-timeout, --retry-on and --timeout, and \
                     none of them is given",
                )
                .into());
            }
        }
        Ok(Self {
            service,
            domain: args.cluster_domain.clone(),
            clear: args.clear,
            settings,
            route: args.route.clone(),
        })
    }
}

fn duration(
    value: &Option<String>,
    field: DurationField,
    flag: &str,
) -> Result<Option<MeshDuration>, ValidationError> {
    value.as_deref().map(|v| parse_mesh_duration(v, field).for_flag(flag)).transpose()
}

fn count(
    value: &Option<String>,
    field: CountField,
    flag: &str,
) -> Result<Option<u32>, ValidationError> {
    value.as_deref().map(|v| parse_count(v, field).for_flag(flag)).transpose()
}

fn percent(
    value: &Option<String>,
    field: PercentField,
    flag: &str,
) -> Result<Option<u8>, ValidationError> {
    value.as_deref().map(|v| parse_percent(v, field).for_flag(flag)).transpose()
}

/// The settings the flags give, each value checked as Istio's webhook and CRD check it.
fn settings_from_flags(args: &ResilienceArgs) -> Result<Settings, ValidationError> {
    let attempts = args.retries.as_deref().map(|v| parse_attempts(v).for_flag("--retries"));
    let route = RouteSettings {
        attempts: attempts.transpose()?,
        per_try_timeout: duration(
            &args.per_try_timeout,
            DurationField::PerTryTimeout,
            "--per-try-timeout",
        )?,
        retry_on: args
            .retry_on
            .as_deref()
            .map(|v| parse_retry_on(v).for_flag("--retry-on"))
            .transpose()?,
        timeout: duration(&args.timeout, DurationField::Timeout, "--timeout")?,
    };
    // Istio refuses retry fields next to attempts 0; with attempts unset, the route's own value
    // decides, which is checked against the live object later.
    if route.attempts == Some(0) {
        check_retry_policy(
            Some(0),
            route.per_try_timeout.is_some(),
            route.retry_on.is_some(),
            false,
        )
        .map_err(|_| {
            let (flag, value) = match (&route.per_try_timeout, &route.retry_on) {
                (Some(d), _) => ("--per-try-timeout", d.canonical()),
                (None, Some(r)) => ("--retry-on", r.to_string()),
                (None, None) => ("--retries", "0".to_string()),
            };
            ValidationError::new(
                flag,
                &value,
                "--retries 0 turns retries off, and Istio refuses perTryTimeout and retryOn \
                     next to attempts 0; drop this flag or give --retries 1 or more",
            )
        })?;
    }
    let pool = PoolSettings {
        max_connections: count(
            &args.max_connections,
            CountField::MaxConnections,
            "--max-connections",
        )?,
        connect_timeout: duration(
            &args.connect_timeout,
            DurationField::ConnectTimeout,
            "--connect-timeout",
        )?,
        max_pending_requests: count(
            &args.max_pending_requests,
            CountField::Http1MaxPendingRequests,
            "--max-pending-requests",
        )?,
        max_requests_per_connection: count(
            &args.max_requests_per_connection,
            CountField::MaxRequestsPerConnection,
            "--max-requests-per-connection",
        )?,
        max_retries: count(&args.max_retries, CountField::MaxRetries, "--max-retries")?,
    };
    let outlier = OutlierSettings {
        consecutive_5xx_errors: count(
            &args.consecutive_5xx_errors,
            CountField::Consecutive5xxErrors,
            "--consecutive-5xx-errors",
        )?,
        consecutive_gateway_errors: count(
            &args.consecutive_gateway_errors,
            CountField::ConsecutiveGatewayErrors,
            "--consecutive-gateway-errors",
        )?,
        interval: duration(&args.interval, DurationField::OutlierInterval, "--interval")?,
        base_ejection_time: duration(
            &args.base_ejection_time,
            DurationField::BaseEjectionTime,
            "--base-ejection-time",
        )?,
        max_ejection_percent: percent(
            &args.max_ejection_percent,
            PercentField::MaxEjectionPercent,
            "--max-ejection-percent",
        )?,
        min_health_percent: percent(
            &args.min_health_percent,
            PercentField::MinHealthPercent,
            "--min-health-percent",
        )?,
    };
    Ok(Settings { route, pool, outlier })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn plan(args: &[&str]) -> anyhow::Result<Plan> {
        let mut line = vec!["kubectl-debatemesh", "resilience"];
        line.extend_from_slice(args);
        let cli = Cli::try_parse_from(line).unwrap();
        let Command::Resilience(args) = cli.command else { panic!("not resilience") };
        Plan::new(&args)
    }

    fn flag_of(result: anyhow::Result<Plan>) -> String {
        let err = result.unwrap_err();
        err.downcast_ref::<ValidationError>().map(|e| e.subject().to_string()).unwrap_or_default()
    }

    #[test]
    fn flags_become_settings_over_the_preset() {
        let p =
            plan(&["cart", "--preset", "standard", "--retries", "5", "--interval", "1m"]).unwrap();
        assert_eq!(p.settings.route.attempts, Some(5));
        assert_eq!(p.settings.route.timeout.unwrap().canonical(), "10s");
        assert_eq!(p.settings.outlier.interval.unwrap().canonical(), "60s");
        assert_eq!(p.settings.pool.max_connections, Some(100));
        let off = plan(&["cart", "--preset", "standard", "--retries", "0"]).unwrap();
        assert!(off.settings.route.retry_on.is_none(), "the preset's retryOn goes with attempts 0");
    }

    #[test]
    fn each_bad_value_names_its_flag() {
        assert_eq!(flag_of(plan(&["cart", "--retries", "-1"])), "--retries");
        assert_eq!(flag_of(plan(&["cart", "--per-try-timeout", "1.5ms"])), "--per-try-timeout");
        assert_eq!(flag_of(plan(&["cart", "--retry-on", "5XX"])), "--retry-on");
        assert_eq!(
            flag_of(plan(&["cart", "--max-ejection-percent", "101"])),
            "--max-ejection-percent"
        );
        assert_eq!(
            flag_of(plan(&["cart", "--max-connections", "2147483648"])),
            "--max-connections"
        );
        assert_eq!(flag_of(plan(&["cart", "--preset", "fast"])), "--preset");
        assert_eq!(flag_of(plan(&["cart", "--retries", "0", "--retry-on", "5xx"])), "--retry-on");
        assert_eq!(flag_of(plan(&["Cart", "--retries", "1"])), "SVC");
        let nothing = plan(&["cart"]).unwrap_err();
        assert!(nothing.downcast_ref::<UsageError>().is_some());
        assert!(plan(&["cart", "--clear"]).unwrap().clear);
        assert_eq!(flag_of(plan(&["cart", "--route", "api", "--max-connections", "5"])), "--route");
        assert!(plan(&["cart", "--route", "api", "--clear"]).is_ok());
    }
}
