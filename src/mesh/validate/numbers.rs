//! Percentages and counts in DestinationRules, with the ranges Istio's schema and webhook allow.
//!
//! - `outlierDetection.maxEjectionPercent` and `minHealthPercent` are `int32` fields that the
//!   webhook's `ValidatePercent` holds to 0..=100.
//! - The connection-pool limits are `int32` fields the webhook requires to be non-negative;
//!   0 means "not set", so Envoy's or Istio's default applies (for most of them 2^32-1).
//! - `consecutive5xxErrors`, `consecutiveGatewayErrors` and `consecutiveLocalOriginFailures`
//!   are `UInt32Value`s (0..=4294967295 in the CRD) where 0 turns that kind of ejection off.

use super::error::ValidationError;

/// Why a decimal number could not be read.
pub(crate) enum NumberError {
    NotNumber,
    Negative,
    TooLarge,
}

/// Reads a plain decimal number: ASCII digits only, no sign, no spaces, at most `max`.
pub(crate) fn parse_decimal(s: &str, max: u64) -> Result<u64, NumberError> {
    if let Some(rest) = s.strip_prefix('-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(NumberError::Negative);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotNumber);
    }
    match s.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(NumberError::TooLarge),
    }
}

/// Which percentage of a DestinationRule's outlier detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PercentField {
    /// `outlierDetection.maxEjectionPercent` (Istio's default is 10).
    MaxEjectionPercent,
    /// `outlierDetection.minHealthPercent` (0, the default, turns the threshold off).
    MinHealthPercent,
}

impl PercentField {
    /// The field's name in the resource.
    pub fn name(self) -> &'static str {
        match self {
            Self::MaxEjectionPercent => "maxEjectionPercent",
            Self::MinHealthPercent => "minHealthPercent",
        }
    }
}

/// Parses a whole-number percentage from 0 to 100.
pub fn parse_percent(s: &str, field: PercentField) -> Result<u8, ValidationError> {
    let err = |why: &str| Err(ValidationError::new(field.name(), s, why.to_owned()));
    if s.ends_with('%') {
        return err("write the percentage as a bare number from 0 to 100, without '%'");
    }
    match parse_decimal(s, 100) {
        Ok(n) => Ok(n as u8),
        Err(_) => err("percentages are whole numbers from 0 to 100"),
    }
}

/// A count in a DestinationRule's traffic policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountField {
    /// `connectionPool.tcp.maxConnections` (int32).
    MaxConnections,
    /// `connectionPool.http.http1MaxPendingRequests` (int32).
    Http1MaxPendingRequests,
    /// `connectionPool.http.http2MaxRequests` (int32).
    Http2MaxRequests,
    /// `connectionPool.http.maxRequestsPerConnection` (int32; 1 turns keep-alive off).
    MaxRequestsPerConnection,
    /// `connectionPool.http.maxRetries` (int32).
    MaxRetries,
    /// `connectionPool.http.maxConcurrentStreams` (int32).
    MaxConcurrentStreams,
    /// `outlierDetection.consecutive5xxErrors` (uint32; default 5).
    Consecutive5xxErrors,
    /// `outlierDetection.consecutiveGatewayErrors` (uint32; off by default).
    ConsecutiveGatewayErrors,
    /// `outlierDetection.consecutiveLocalOriginFailures` (uint32).
    ConsecutiveLocalOriginFailures,
}

impl CountField {
    /// The field's name in the resource.
    pub fn name(self) -> &'static str {
        match self {
            Self::MaxConnections => "maxConnections",
            Self::Http1MaxPendingRequests => "http1MaxPendingRequests",
            Self::Http2MaxRequests => "http2MaxRequests",
            Self::MaxRequestsPerConnection => "maxRequestsPerConnection",
            Self::MaxRetries => "maxRetries",
            Self::MaxConcurrentStreams => "maxConcurrentStreams",
            Self::Consecutive5xxErrors => "consecutive5xxErrors",
            Self::ConsecutiveGatewayErrors => "consecutiveGatewayErrors",
            Self::ConsecutiveLocalOriginFailures => "consecutiveLocalOriginFailures",
        }
    }

    /// The largest value the field's type holds: 2^31-1 for `int32`, 2^32-1 for `UInt32Value`.
    pub fn max(self) -> u32 {
        match self {
            Self::Consecutive5xxErrors
            | Self::ConsecutiveGatewayErrors
            | Self::ConsecutiveLocalOriginFailures => u32::MAX,
            _ => i32::MAX as u32,
        }
    }

    /// What writing 0 means for the field.
    pub fn zero_means(self) -> &'static str {
        match self {
            Self::Consecutive5xxErrors => "turns 5xx ejection off",
            Self::ConsecutiveGatewayErrors => "turns gateway-error ejection off",
            Self::ConsecutiveLocalOriginFailures => "turns local-origin ejection off",
            Self::MaxRequestsPerConnection => "unlimited requests per connection",
            _ => "not set: the proxy's default applies",
        }
    }
}

/// Parses a non-negative count within the field's type.
pub fn parse_count(s: &str, field: CountField) -> Result<u32, ValidationError> {
    let err = |why: String| Err(ValidationError::new(field.name(), s, why));
    match parse_decimal(s, u64::from(field.max())) {
        Ok(n) => Ok(n as u32),
        Err(NumberError::Negative) => err(format!("{} must not be negative", field.name())),
        Err(_) => err(format!("{} is a whole number from 0 to {}", field.name(), field.max())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected verdicts: istio ValidatePercent (0..=100), validateConnectionPool (non-negative
    // int32 limits) and the CRD's uint32 range (0..=4294967295) for the consecutive-error counts.
    #[test]
    fn ranges_table() {
        use CountField::*;
        let percents: &[(&str, Option<u8>)] = &[
            ("0", Some(0)),
            ("10", Some(10)),
            ("100", Some(100)),
            ("101", None),
            ("-1", None),
            ("50%", None),
            ("12.5", None),
            ("", None),
        ];
        for (input, want) in percents {
            for field in [PercentField::MaxEjectionPercent, PercentField::MinHealthPercent] {
                assert_eq!(parse_percent(input, field).ok(), *want, "{input:?}");
            }
        }
        let counts: &[(&str, CountField, Option<u32>)] = &[
            ("0", MaxConnections, Some(0)),
            ("100", MaxConnections, Some(100)),
            ("2147483647", Http2MaxRequests, Some(2_147_483_647)),
            ("2147483648", Http2MaxRequests, None),
            ("-1", Http1MaxPendingRequests, None),
            ("1", MaxRequestsPerConnection, Some(1)),
            ("3", MaxRetries, Some(3)),
            ("1e3", MaxConnections, None),
            (" 5", MaxConnections, None),
            ("0", Consecutive5xxErrors, Some(0)),
            ("4294967295", ConsecutiveGatewayErrors, Some(u32::MAX)),
            ("4294967296", Consecutive5xxErrors, None),
            ("-5", Consecutive5xxErrors, None),
        ];
        for (input, field, want) in counts {
            assert_eq!(parse_count(input, *field).ok(), *want, "{field:?} {input:?}");
        }
        let e = parse_count("-1", MaxConnections).unwrap_err();
        assert!(e.allowed().contains("must not be negative"), "{e}");
    }
}
