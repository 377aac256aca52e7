//! The settings `resilience` writes, each one optional: retries and a timeout for HTTP routes,
//! connection-pool limits and outlier detection for a destination, and the presets that fill
//! them. Values are already validated: durations are [`MeshDuration`]s and `retryOn` a
//! [`RetryOn`], so nothing here can produce a value Istio rejects on its own.

use crate::mesh::validate::{
    DurationField, MeshDuration, RetryOn, parse_mesh_duration, parse_retry_on,
};

/// What to set on each HTTP route of a VirtualService.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSettings {
    /// `retries.attempts`: how many retries after the first try (0 turns retries off).
    pub attempts: Option<u32>,
    /// `retries.perTryTimeout`.
    pub per_try_timeout: Option<MeshDuration>,
    /// `retries.retryOn`.
    pub retry_on: Option<RetryOn>,
    /// `timeout`: the whole request, every try included.
    pub timeout: Option<MeshDuration>,
}

impl RouteSettings {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        !self.touches_retries() && self.timeout.is_none()
    }

    /// Whether any field of the `retries` block is asked for.
    pub fn touches_retries(&self) -> bool {
        self.attempts.is_some() || self.per_try_timeout.is_some() || self.retry_on.is_some()
    }

    /// `self` where it sets a value, `base` elsewhere. When `self` turns retries off, the
    /// retry fields of `base` are dropped, since Istio refuses them next to `attempts: 0`.
    pub fn over(self, base: RouteSettings) -> RouteSettings {
        let base = if self.attempts == Some(0) {
            RouteSettings { per_try_timeout: None, retry_on: None, ..base }
        } else {
            base
        };
        RouteSettings {
            attempts: self.attempts.or(base.attempts),
            per_try_timeout: self.per_try_timeout.or(base.per_try_timeout),
            retry_on: self.retry_on.or(base.retry_on),
            timeout: self.timeout.or(base.timeout),
        }
    }
}

/// What to set in `trafficPolicy.connectionPool` of a DestinationRule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolSettings {
    /// `tcp.maxConnections`.
    pub max_connections: Option<u32>,
    /// `tcp.connectTimeout`.
    pub connect_timeout: Option<MeshDuration>,
    /// `http.http1MaxPendingRequests`.
    pub max_pending_requests: Option<u32>,
    /// `http.maxRequestsPerConnection`.
    pub max_requests_per_connection: Option<u32>,
    /// `http.maxRetries`.
    pub max_retries: Option<u32>,
}

impl PoolSettings {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == PoolSettings::default()
    }

    /// `self` where it sets a value, `base` elsewhere.
    pub fn over(self, base: PoolSettings) -> PoolSettings {
        PoolSettings {
            max_connections: self.max_connections.or(base.max_connections),
            connect_timeout: self.connect_timeout.or(base.connect_timeout),
            max_pending_requests: self.max_pending_requests.or(base.max_pending_requests),
            max_requests_per_connection: self
                .max_requests_per_connection
                .or(base.max_requests_per_connection),
            max_retries: self.max_retries.or(base.max_retries),
        }
    }
}

/// What to set in `trafficPolicy.outlierDetection` of a DestinationRule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutlierSettings {
    /// `consecutive5xxErrors` (0 turns 5xx ejection off).
    pub consecutive_5xx_errors: Option<u32>,
    /// `consecutiveGatewayErrors` (0 turns gateway-error ejection off).
    pub consecutive_gateway_errors: Option<u32>,
    /// `interval`.
    pub interval: Option<MeshDuration>,
    /// `baseEjectionTime`.
    pub base_ejection_time: Option<MeshDuration>,
    /// `maxEjectionPercent`.
    pub max_ejection_percent: Option<u8>,
    /// `minHealthPercent`.
    pub min_health_percent: Option<u8>,
}

impl OutlierSettings {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == OutlierSettings::default()
    }

    /// `self` where it sets a value, `base` elsewhere.
    pub fn over(self, base: OutlierSettings) -> OutlierSettings {
        OutlierSettings {
            consecutive_5xx_errors: self.consecutive_5xx_errors.or(base.consecutive_5xx_errors),
            consecutive_gateway_errors: self
                .consecutive_gateway_errors
                .or(base.consecutive_gateway_errors),
            interval: self.interval.or(base.interval),
            base_ejection_time: self.base_ejection_time.or(base.base_ejection_time),
            max_ejection_percent: self.max_ejection_percent.or(base.max_ejection_percent),
            min_health_percent: self.min_health_percent.or(base.min_health_percent),
        }
    }
}

/// Everything one run of `resilience` sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub route: RouteSettings,
    pub pool: PoolSettings,
    pub outlier: OutlierSettings,
}

impl Settings {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.route.is_empty() && !self.touches_destination()
    }

    /// Whether the DestinationRule needs a change.
    pub fn touches_destination(&self) -> bool {
        !self.pool.is_empty() || !self.outlier.is_empty()
    }

    /// `self` (the flags) where it sets a value, `base` (a preset) elsewhere.
    pub fn over(self, base: Settings) -> Settings {
        Settings {
            route: self.route.over(base.route),
            pool: self.pool.over(base.pool),
            outlier: self.outlier.over(base.outlier),
        }
    }
}

/// A named set of settings, chosen with `--preset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The team guide's section 5: 3 retries of 2s each on 5xx, gateway errors and connection
    /// failures within 10s; at most 100 connections and 100 pending requests; eject a host after
    /// 5 consecutive 5xx, checked every 30s, for 60s, up to every host.
    Standard,
    /// As `standard`, but retry only when the request never reached the service (connection
    /// failure, refused stream, reset before the request was sent), so a POST is never repeated.
    NonIdempotent,
    /// `retries.attempts: 0` only: turns off the 2 retries Istio adds to every route by default.
    NoRetries,
}

impl Preset {
    /// Every preset, in the order the help lists them.
    pub const ALL: [Preset; 3] = [Preset::Standard, Preset::NonIdempotent, Preset::NoRetries];

    /// The name typed after `--preset`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Standard => "standard",
            Preset::NonIdempotent => "non-idempotent",
            Preset::NoRetries => "no-retries",
        }
    }

    /// The preset with this name.
    pub fn parse(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The settings the preset stands for.
    pub fn settings(self) -> Settings {
        match self {
            Preset::Standard => guide(RETRY_ON_GUIDE),
            Preset::NonIdempotent => guide(RETRY_ON_UNDELIVERED),
            Preset::NoRetries => Settings {
                route: RouteSettings { attempts: Some(0), ..RouteSettings::default() },
                ..Settings::default()
            },
        }
    }
}

/// The guide's `retryOn`.
const RETRY_ON_GUIDE: &str = "5xx,gateway-error,connect-failure";
/// The conditions under which the request was never handed to the service.
const RETRY_ON_UNDELIVERED: &str = "connect-failure,refused-stream,reset-before-request";

/// The guide's section 5 values with `retry_on` as the retry conditions.
fn guide(retry_on: &str) -> Settings {
    let duration = |text: &str, field| {
        parse_mesh_duration(text, field).expect("preset durations are valid Istio durations")
    };
    Settings {
        route: RouteSettings {
            attempts: Some(3),
            per_try_timeout: Some(duration("2s", DurationField::PerTryTimeout)),
            retry_on: Some(parse_retry_on(retry_on).expect("preset retryOn lists are valid")),
            timeout: Some(duration("10s", DurationField::Timeout)),
        },
        pool: PoolSettings {
            max_connections: Some(100),
            max_pending_requests: Some(100),
            ..PoolSettings::default()
        },
        outlier: OutlierSettings {
            consecutive_5xx_errors: Some(5),
            interval: Some(duration("30s", DurationField::OutlierInterval)),
            base_ejection_time: Some(duration("60s", DurationField::BaseEjectionTime)),
            max_ejection_percent: Some(100),
            ..OutlierSettings::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_preset_is_the_guide() {
        let s = Preset::Standard.settings();
        assert_eq!(s.route.attempts, Some(3));
        assert_eq!(s.route.per_try_timeout.unwrap().canonical(), "2s");
        assert_eq!(s.route.retry_on.unwrap().to_string(), "5xx,gateway-error,connect-failure");
        assert_eq!(s.route.timeout.unwrap().canonical(), "10s");
        assert_eq!(s.pool.max_connections, Some(100));
        assert_eq!(s.pool.max_pending_requests, Some(100));
        assert_eq!(s.outlier.consecutive_5xx_errors, Some(5));
        assert_eq!(s.outlier.interval.unwrap().canonical(), "30s");
        assert_eq!(s.outlier.base_ejection_time.unwrap().canonical(), "60s");
        assert_eq!(s.outlier.max_ejection_percent, Some(100));
    }

    #[test]
    fn flags_override_a_preset_and_attempts_zero_drops_its_retry_fields() {
        let flags = Settings {
            route: RouteSettings { attempts: Some(5), ..RouteSettings::default() },
            outlier: OutlierSettings { max_ejection_percent: Some(50), ..Default::default() },
            ..Settings::default()
        };
        let s = flags.over(Preset::Standard.settings());
        assert_eq!(s.route.attempts, Some(5));
        assert_eq!(s.route.per_try_timeout.unwrap().canonical(), "2s");
        assert_eq!(s.outlier.max_ejection_percent, Some(50));
        assert_eq!(s.outlier.consecutive_5xx_errors, Some(5));

        let off = Settings {
            route: RouteSettings { attempts: Some(0), ..RouteSettings::default() },
            ..Settings::default()
        };
        let s = off.over(Preset::Standard.settings());
        assert_eq!(s.route.attempts, Some(0));
        assert!(s.route.per_try_timeout.is_none() && s.route.retry_on.is_none());
        assert_eq!(s.route.timeout.unwrap().canonical(), "10s");
    }

    #[test]
    fn presets_are_found_by_name() {
        for preset in Preset::ALL {
            assert_eq!(Preset::parse(preset.name()), Some(preset));
        }
        assert_eq!(Preset::parse("Standard"), None);
        assert!(Preset::NoRetries.settings().pool.is_empty());
    }
}
