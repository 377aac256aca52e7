//! IP addresses and CIDR blocks, read the way Go's `net/netip` reads them for Istio.
//!
//! Istio checks `ipBlocks`, `remoteIpBlocks`, the `source.ip`/`destination.ip` conditions and
//! host-versus-IP decisions with `netip.ParseAddr` and `netip.ParsePrefix`: dotted IPv4 without
//! leading zeros, IPv6 with an optional zone on plain addresses (never on prefixes), and a
//! prefix length written in decimal without leading zeros.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::ValidationError;

/// An address or a CIDR block from an `ipBlocks`-style list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpBlock {
    /// A single address (an IPv6 one may carry a zone, e.g. `fe80::1%eth0`).
    Address {
        /// The address.
        addr: IpAddr,
        /// The IPv6 zone after `%`, if any.
        zone: Option<String>,
    },
    /// An address and a prefix length, e.g. `10.0.0.0/8`.
    Cidr {
        /// The address as written (host bits may be set, as Go allows).
        addr: IpAddr,
        /// The prefix length.
        bits: u8,
    },
}

impl fmt::Display for IpBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpBlock::Address { addr, zone: Some(zone) } => write!(f, "{addr}%{zone}"),
            IpBlock::Address { addr, zone: None } => write!(f, "{addr}"),
            IpBlock::Cidr { addr, bits } => write!(f, "{addr}/{bits}"),
        }
    }
}

/// An address as `netip.ParseAddr` accepts it, with its zone.
fn parse_addr(s: &str) -> Option<(IpAddr, Option<String>)> {
    if s.contains(':') {
        let (base, zone) = match s.split_once('%') {
            Some((_, "")) => return None,
            Some((base, zone)) => (base, Some(zone.to_owned())),
            None => (s, None),
        };
        return base.parse::<Ipv6Addr>().ok().map(|a| (IpAddr::V6(a), zone));
    }
    // Rust's parser, like Go's, refuses octets with leading zeros and anything but four fields.
    s.parse::<Ipv4Addr>().ok().map(|a| (IpAddr::V4(a), None))
}

/// Is `s` an IP address (IPv4, or IPv6 with an optional zone).
pub fn is_ip_address(s: &str) -> bool {
    parse_addr(s).is_some()
}

/// Parses an IP address or a CIDR block, as Istio's `ValidateIPs` does.
pub fn parse_ip_block(s: &str) -> Result<IpBlock, ValidationError> {
    let Some((addr_part, bits_part)) = s.rsplit_once('/') else {
        return match parse_addr(s) {
            Some((addr, zone)) => Ok(IpBlock::Address { addr, zone }),
            None => Err(ValidationError::new(
                "ip block",
                s,
                "give an IPv4 or IPv6 address (e.g. 10.1.2.3) or a CIDR block (e.g. 10.1.0.0/16)",
            )),
        };
    };
    let err = |why: &str| Err(ValidationError::new("ip block", s, why.to_owned()));
    let Some((addr, zone)) = parse_addr(addr_part) else {
        return err("the part before '/' must be an IPv4 or IPv6 address, e.g. 10.1.0.0/16");
    };
    if zone.is_some() {
        return err("a CIDR block cannot carry an IPv6 zone");
    }
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let well_formed = !bits_part.is_empty()
        && bits_part.bytes().all(|b| b.is_ascii_digit())
        && (bits_part == "0" || !bits_part.starts_with('0'));
    match bits_part.parse::<u8>() {
        Ok(bits) if well_formed && bits <= max => Ok(IpBlock::Cidr { addr, bits }),
        _ if addr.is_ipv4() => err("the prefix length must be a number from 0 to 32"),
        _ => err("the prefix length must be a number from 0 to 128"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected verdicts: Go net/netip ParseAddr / ParsePrefix, as used by Istio's
    // security.ValidateIPs.
    #[test]
    fn ip_blocks_table() {
        let rows: &[(&str, bool)] = &[
            ("10.1.2.3", true),
            ("10.1.0.0/16", true),
            ("10.1.2.3/8", true),
            ("0.0.0.0/0", true),
            ("2001:db8::/32", true),
            ("::1", true),
            ("::ffff:10.1.2.3", true),
            ("fe80::1%eth0", true),
            ("fe80::1%eth0/64", false),
            ("fe80::1%", false),
            ("10.01.2.3", false),
            ("10.1.2", false),
            ("256.1.2.3", false),
            ("10.1.0.0/33", false),
            ("10.1.0.0/08", false),
            ("10.1.0.0/", false),
            ("10.1.0.0/+8", false),
            ("2001:db8::/129", false),
            ("example.com", false),
            ("", false),
            ("10.1.2.3%eth0", false),
        ];
        for (input, want) in rows {
            assert_eq!(parse_ip_block(input).is_ok(), *want, "{input:?}");
        }
        assert_eq!(parse_ip_block("10.1.0.0/16").unwrap().to_string(), "10.1.0.0/16");
    }
}
