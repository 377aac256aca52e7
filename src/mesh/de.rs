//! Serde helpers shared by the resource types: tolerant collections and
//! Kubernetes int-or-string values.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Deserializes `null` (an empty YAML key, or JSON `null`) as the default
/// value, so `labels:` with nothing under it reads as an empty map.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A scalar read as text: strings as they are, numbers and booleans as
/// written (`9000`, `true`), null as empty. Fields the API types as strings
/// can arrive unquoted in hand-written YAML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Deserializes a list of scalars as strings (see [`Text`]); `null` is an
/// empty list.
pub fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let v = Option::<Vec<Text>>::deserialize(deserializer)?;
    Ok(v.unwrap_or_default().into_iter().map(|t| t.0).collect())
}

/// A Kubernetes `IntOrString` (Service `targetPort`, for instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntOrString {
    /// A number, such as `8080`.
    Int(i64),
    /// A name, such as `http`.
    Str(String),
}

impl IntOrString {
    /// The value as a port number when it is one (a numeric string counts).
    pub fn as_port(&self) -> Option<u16> {
        match self {
            Self::Int(n) => u16::try_from(*n).ok().filter(|p| *p > 0),
            Self::Str(s) => s.parse::<u16>().ok().filter(|p| *p > 0),
        }
    }

    /// The value as a port name when it is not numeric.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Self::Str(s) if s.parse::<u16>().is_err() => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(n) => write!(f, "{n}"),
            Self::Str(s) => f.write_str(s),
        }
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Int(n) => serializer.serialize_i64(*n),
            Self::Str(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntOrString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(IntOrString::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(IntOrString::Int)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(IntOrString::Str(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Parses an RFC 3339 timestamp (`2024-03-01T00:00:00Z`, fractions and
/// offsets allowed) into seconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        std::str::from_utf8(b.get(from..to)?).ok()?.parse::<i64>().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, min, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let minutes = num(i + 1, i + 3)? * 60 + num(i + 4, i + 6)?;
            if *sign == b'+' { minutes * 60 } else { -minutes * 60 }
        }
        _ => return None,
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_and_order() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2023-03-01T00:00:00Z"), Some(1_677_628_800));
        assert_eq!(parse_rfc3339("2023-03-01T01:00:00+01:00"), Some(1_677_628_800));
        assert_eq!(parse_rfc3339("2023-03-01T00:00:00.123456Z"), Some(1_677_628_800));
        assert!(parse_rfc3339("2023-03-01").is_none());
        assert!(parse_rfc3339("yesterday at noon").is_none());
        assert!(parse_rfc3339("2023-13-01T00:00:00Z").is_none());
    }

    #[test]
    fn scalars_read_as_text() {
        #[derive(Deserialize)]
        struct S {
            #[serde(deserialize_with = "strings")]
            v: Vec<String>,
        }
        let s: S = serde_json::from_str(r#"{"v": ["a", 9000, true, null]}"#).unwrap();
        assert_eq!(s.v, ["a", "9000", "true", ""]);
    }

    #[test]
    fn int_or_string_reads_both_forms() {
        let v: Vec<IntOrString> = serde_json::from_str(r#"[8080, "http", "9090"]"#).unwrap();
        assert_eq!(v[0].as_port(), Some(8080));
        assert_eq!(v[1].as_name(), Some("http"));
        assert_eq!(v[2].as_port(), Some(9090));
        assert_eq!(v[2].as_name(), None);
    }
}
