//! Durations: Go `time.ParseDuration` syntax, then Istio's rule for duration fields.
//!
//! Istio's CRDs declare these fields as strings checked by the CEL rule
//! `duration(self) >= duration('1ms')`, and CEL reads the string as Go's `time.ParseDuration`
//! does: an optional sign, then one or more number-and-unit terms (`1h2m3.5s`), with units `ns`,
//! `us` (or `µs`, `μs`), `ms`, `s`, `m`, `h`; a bare `0` is the only unitless value. The webhook
//! then applies `agent.ValidateDuration`: at least 1ms and a whole number of milliseconds.
//!
//! Where that rule applies (every field in [`DurationField`]):
//!
//! | field | webhook `ValidateDuration` | CRD CEL `>= 1ms` |
//! |---|---|---|
//! | VirtualService `http[].timeout` | yes | yes |
//! | VirtualService `http[].retries.perTryTimeout` | yes | yes |
//! | VirtualService `http[].retries.backoff` | yes | yes |
//! | DestinationRule `outlierDetection.interval` | yes | yes |
//! | DestinationRule `outlierDetection.baseEjectionTime` | yes | yes |
//! | DestinationRule `connectionPool.tcp.connectTimeout` | yes | yes |
//! | DestinationRule `connectionPool.tcp.maxConnectionDuration` | yes | yes |
//! | DestinationRule `connectionPool.tcp.idleTimeout` | yes | no |
//! | DestinationRule `connectionPool.tcp.tcpKeepalive.time`, `.interval` | yes | yes |
//! | DestinationRule `connectionPool.http.idleTimeout` | yes | yes |
//!
//! Values are written back in a canonical form: whole seconds as `Ns`, anything else as `Nms`.

use std::fmt;
use std::time::Duration;

use super::error::ValidationError;

const NANOS_PER_MILLI: u64 = 1_000_000;
const LIMIT: u64 = 1 << 63;

/// A duration field of an Istio resource, each checked by `agent.ValidateDuration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationField {
    /// VirtualService `http[].timeout`.
    Timeout,
    /// VirtualService `http[].retries.perTryTimeout`.
    PerTryTimeout,
    /// VirtualService `http[].retries.backoff`.
    RetryBackoff,
    /// DestinationRule `outlierDetection.interval`.
    OutlierInterval,
    /// DestinationRule `outlierDetection.baseEjectionTime`.
    BaseEjectionTime,
    /// DestinationRule `connectionPool.tcp.connectTimeout`.
    ConnectTimeout,
    /// DestinationRule `connectionPool.tcp.maxConnectionDuration`.
    MaxConnectionDuration,
    /// DestinationRule `connectionPool.tcp.idleTimeout` (webhook only; the CRD has no CEL rule).
    TcpIdleTimeout,
    /// DestinationRule `connectionPool.tcp.tcpKeepalive.time`.
    TcpKeepaliveTime,
    /// DestinationRule `connectionPool.tcp.tcpKeepalive.interval`.
    TcpKeepaliveInterval,
    /// DestinationRule `connectionPool.http.idleTimeout`.
    HttpIdleTimeout,
}

impl DurationField {
    /// Every duration field.
    pub const ALL: [DurationField; 11] = [
        Self::Timeout,
        Self::PerTryTimeout,
        Self::RetryBackoff,
        Self::OutlierInterval,
        Self::BaseEjectionTime,
        Self::ConnectTimeout,
        Self::MaxConnectionDuration,
        Self::TcpIdleTimeout,
        Self::TcpKeepaliveTime,
        Self::TcpKeepaliveInterval,
        Self::HttpIdleTimeout,
    ];

    /// The field's name in the resource, e.g. `perTryTimeout`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::PerTryTimeout => "perTryTimeout",
            Self::RetryBackoff => "backoff",
            Self::OutlierInterval => "interval",
            Self::BaseEjectionTime => "baseEjectionTime",
            Self::ConnectTimeout => "connectTimeout",
            Self::MaxConnectionDuration => "maxConnectionDuration",
            Self::TcpIdleTimeout | Self::HttpIdleTimeout => "idleTimeout",
            Self::TcpKeepaliveTime => "time",
            Self::TcpKeepaliveInterval => "interval",
        }
    }

    /// The field's path from the resource's `spec`, e.g. `http[].retries.perTryTimeout`.
    pub fn path(self) -> &'static str {
        match self {
            Self::Timeout => "http[].timeout",
            Self::PerTryTimeout => "http[].retries.perTryTimeout",
            Self::RetryBackoff => "http[].retries.backoff",
            Self::OutlierInterval => "trafficPolicy.outlierDetection.interval",
            Self::BaseEjectionTime => "trafficPolicy.outlierDetection.baseEjectionTime",
            Self::ConnectTimeout => "trafficPolicy.connectionPool.tcp.connectTimeout",
            Self::MaxConnectionDuration => "trafficPolicy.connectionPool.tcp.maxConnectionDuration",
            Self::TcpIdleTimeout => "trafficPolicy.connectionPool.tcp.idleTimeout",
            Self::TcpKeepaliveTime => "trafficPolicy.connectionPool.tcp.tcpKeepalive.time",
            Self::TcpKeepaliveInterval => "trafficPolicy.connectionPool.tcp.tcpKeepalive.interval",
            Self::HttpIdleTimeout => "trafficPolicy.connectionPool.http.idleTimeout",
        }
    }

    /// Whether the CRD schema also carries the `duration(self) >= duration('1ms')` rule.
    pub fn has_crd_rule(self) -> bool {
        self != Self::TcpIdleTimeout
    }
}

/// A duration Istio accepts: at least 1ms and a whole number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MeshDuration(Duration);

impl MeshDuration {
    /// The value as a standard duration.
    pub fn as_duration(self) -> Duration {
        self.0
    }

    /// The value in milliseconds.
    pub fn as_millis(self) -> u64 {
        // At most 2^63 ns, so the millisecond count fits.
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// The form to write into a resource: `2s` for whole seconds, else `1500ms`.
    pub fn canonical(self) -> String {
        let ms = self.as_millis();
        if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
    }
}

impl fmt::Display for MeshDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// Parses a duration field's value and applies Istio's rule for it.
pub fn parse_mesh_duration(s: &str, field: DurationField) -> Result<MeshDuration, ValidationError> {
    let nanos = parse_go_duration(s).map_err(|e| e.at_field(field.name()))?;
    let err = |why: String| Err(ValidationError::new(field.name(), s, why));
    if nanos < 0 {
        return err(format!(
            "durations must not be negative; {} must be at least 1ms",
            field.name()
        ));
    }
    let nanos = nanos.unsigned_abs();
    if nanos < NANOS_PER_MILLI {
        return err(format!("{} must be at least 1ms", field.name()));
    }
    if !nanos.is_multiple_of(NANOS_PER_MILLI) {
        return err("durations must be whole milliseconds (e.g. 1500ms or 2s)".into());
    }
    Ok(MeshDuration(Duration::from_nanos(nanos)))
}

/// Parses Go `time.ParseDuration` syntax into signed nanoseconds, with Go's exact arithmetic
/// (including its float rounding of long fractions).
pub fn parse_go_duration(s: &str) -> Result<i64, ValidationError> {
    go_parse(s.as_bytes()).map_err(|e| {
        let why = match e {
            GoError::Invalid => "durations are numbers with units, e.g. 1500ms, 2s, 1m30s or 1h \
                                 (units: ns, us, ms, s, m, h)"
                .to_owned(),
            GoError::MissingUnit => {
                "durations need a unit after each number, e.g. 2s or 500ms".into()
            }
            GoError::UnknownUnit(u) => {
                format!("unknown unit {}; use ns, us, µs, ms, s, m or h", super::error::quoted(&u))
            }
            GoError::Overflow => "durations must be shorter than 2562047h47m16.854775807s".into(),
        };
        ValidationError::new("duration", s, why)
    })
}

enum GoError {
    Invalid,
    MissingUnit,
    UnknownUnit(String),
    Overflow,
}

fn go_parse(mut s: &[u8]) -> Result<i64, GoError> {
    let mut negative = false;
    if let Some(&sign @ (b'-' | b'+')) = s.first() {
        negative = sign == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(GoError::Invalid);
    }
    let mut total: u64 = 0;
    while let Some(&first) = s.first() {
        if first != b'.' && !first.is_ascii_digit() {
            return Err(GoError::Invalid);
        }
        let before = s.len();
        let (whole, rest) = leading_int(s)?;
        s = rest;
        let has_whole = before != s.len();

        let (mut frac, mut scale, mut has_frac) = (0u64, 1f64, false);
        if let Some(rest) = s.strip_prefix(b".") {
            let (f, sc, rest2) = leading_fraction(rest);
            has_frac = rest2.len() != rest.len();
            (frac, scale, s) = (f, sc, rest2);
        }
        if !has_whole && !has_frac {
            return Err(GoError::Invalid);
        }

        let unit_len = s.iter().position(|&c| c == b'.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_len == 0 {
            return Err(GoError::MissingUnit);
        }
        let (unit_text, rest) = s.split_at(unit_len);
        s = rest;
        let unit: u64 = match unit_text {
            b"ns" => 1,
            // `µs` is U+00B5 (micro sign) or U+03BC (Greek mu) before the `s`.
            b"us" | [0xc2, 0xb5, b's'] | [0xce, 0xbc, b's'] => 1_000,
            b"ms" => NANOS_PER_MILLI,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ => return Err(GoError::UnknownUnit(String::from_utf8_lossy(unit_text).into_owned())),
        };
        if whole > LIMIT / unit {
            return Err(GoError::Overflow);
        }
        let mut term = whole * unit;
        if frac > 0 {
            // Go computes the fraction in float64; doing the same keeps results identical.
            term += (frac as f64 * (unit as f64 / scale)) as u64;
            if term > LIMIT {
                return Err(GoError::Overflow);
            }
        }
        total += term;
        if total > LIMIT {
            return Err(GoError::Overflow);
        }
    }
    if negative {
        // total <= 2^63, and -(2^63) is i64::MIN.
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| GoError::Overflow)
}

/// The leading `[0-9]*`, failing past 2^63 as Go's `leadingInt` does.
fn leading_int(s: &[u8]) -> Result<(u64, &[u8]), GoError> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut x: u64 = 0;
    for &c in &s[..digits] {
        if x > LIMIT / 10 {
            return Err(GoError::Overflow);
        }
        x = x * 10 + u64::from(c - b'0');
        if x > LIMIT {
            return Err(GoError::Overflow);
        }
    }
    Ok((x, &s[digits..]))
}

/// The leading `[0-9]*` after a '.', keeping precision only while it fits, as Go's
/// `leadingFraction` does.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    for &c in &s[..digits] {
        if overflow {
            continue;
        }
        if x > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[digits..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1;
    const US: i64 = 1_000;
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;

    // Expected values: Go's time.ParseDuration and its own test table (time_test.go,
    // parseDurationTests / parseDurationErrorTests).
    #[test]
    fn go_syntax_table() {
        let rows: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("-0", Some(0)),
            ("+0", Some(0)),
            ("5s", Some(5 * S)),
            ("30s", Some(30 * S)),
            ("1478s", Some(1478 * S)),
            ("-5s", Some(-5 * S)),
            ("+5s", Some(5 * S)),
            ("-0s", Some(0)),
            ("5.0s", Some(5 * S)),
            ("5.6s", Some(5 * S + 600 * MS)),
            ("5.s", Some(5 * S)),
            (".5s", Some(500 * MS)),
            ("1.004s", Some(S + 4 * MS)),
            ("100.00100s", Some(100 * S + MS)),
            ("10ns", Some(10 * NS)),
            ("11us", Some(11 * US)),
            ("12\u{b5}s", Some(12 * US)),
            ("12\u{3bc}s", Some(12 * US)),
            ("13ms", Some(13 * MS)),
            ("15m", Some(15 * M)),
            ("16h", Some(16 * H)),
            ("3h30m", Some(3 * H + 30 * M)),
            ("10.5s4m", Some(4 * M + 10 * S + 500 * MS)),
            ("-2m3.4s", Some(-(2 * M + 3 * S + 400 * MS))),
            ("1h2m3s4ms5us6ns", Some(H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS)),
            ("39h9m14.425s", Some(39 * H + 9 * M + 14 * S + 425 * MS)),
            ("52763797000ns", Some(52_763_797_000)),
            ("0.3333333333333333333h", Some(20 * M)),
            ("9007199254740993ns", Some((1 << 53) + 1)),
            ("9223372036854775807ns", Some(i64::MAX)),
            ("9223372036854775.807us", Some(i64::MAX)),
            ("9223372036s854ms775us807ns", Some(i64::MAX)),
            ("-9223372036854775808ns", Some(i64::MIN)),
            ("0.100000000000000000000h", Some(6 * M)),
            ("0.830103483285477580700h", Some(49 * M + 48 * S + 372_539_827)),
            ("", None),
            ("3", None),
            ("-", None),
            ("s", None),
            (".", None),
            ("-.", None),
            (".s", None),
            ("+.s", None),
            ("1d", None),
            ("1 s", None),
            ("1s ", None),
            ("1.5.s", None),
            ("1h-2m", None),
            ("9223372036854775808ns", None),
            ("9223372036854775.808us", None),
            ("9223372036854ms775us808ns", None),
            ("-9223372036854775809ns", None),
        ];
        for (input, want) in rows {
            assert_eq!(parse_go_duration(input).ok(), *want, "{input:?}");
        }
    }

    #[test]
    fn a_long_unknown_unit_is_cut_short_in_the_message() {
        let unit = "w".repeat(5_000);
        let message = parse_go_duration(&format!("9{unit}")).unwrap_err().to_string();
        assert!(message.contains("unknown unit \"www"), "{message}");
        assert!(message.len() < 400, "{} bytes", message.len());
    }

    // Expected verdicts: istio agent.ValidateDuration (>= 1ms, whole milliseconds) behind every
    // duration field, and the CRD rule duration(self) >= duration('1ms').
    #[test]
    fn mesh_rule_table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("1ms", Some("1ms")),
            ("2s", Some("2s")),
            ("1500ms", Some("1500ms")),
            ("1.5s", Some("1500ms")),
            ("1m30s", Some("90s")),
            ("1h", Some("3600s")),
            ("0.001s", Some("1ms")),
            ("1000000ns", Some("1ms")),
            ("0", None),
            ("0s", None),
            ("0.5ms", None),
            ("999us", None),
            ("1.5ms", None),
            ("1001us", None),
            ("-1s", None),
            ("10", None),
            ("2 s", None),
            ("2sec", None),
        ];
        for field in DurationField::ALL {
            for (input, want) in rows {
                let got = parse_mesh_duration(input, field).map(|d| d.canonical()).ok();
                assert_eq!(got.as_deref(), *want, "{field:?} {input:?}");
            }
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = parse_mesh_duration("1.5ms", DurationField::PerTryTimeout).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"1.5ms\" for perTryTimeout: durations must be whole milliseconds \
             (e.g. 1500ms or 2s)"
        );
        let e = parse_mesh_duration("2sec", DurationField::Timeout).unwrap_err();
        assert!(e.to_string().contains("unknown unit \"sec\""), "{e}");
        let e = parse_mesh_duration("10", DurationField::Timeout).unwrap_err();
        assert!(e.allowed().contains("need a unit"), "{e}");
        let d = parse_mesh_duration("2s", DurationField::Timeout).unwrap();
        assert_eq!(d.as_duration(), Duration::from_secs(2));
        assert_eq!(
            DurationField::TcpIdleTimeout.path(),
            "trafficPolicy.connectionPool.tcp.idleTimeout"
        );
        assert!(!DurationField::TcpIdleTimeout.has_crd_rule());
    }
}
