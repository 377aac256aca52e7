//! PeerAuthentication modes and `--port PORT=MODE` pairs.
//!
//! The CRD lists the modes `UNSET`, `DISABLE`, `PERMISSIVE` and `STRICT` as an enum, which the
//! API server matches case-sensitively. Port-level settings take ports 1 to 65535 (the CRD's CEL
//! rule and the webhook agree) and need a workload selector with labels: a mesh- or
//! namespace-wide PeerAuthentication cannot have them.

use std::fmt;

use super::error::{ValidationError, quoted};
use super::k8s::parse_port;

/// A PeerAuthentication mTLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtlsMode {
    /// Inherit from the parent policy (namespace, then mesh); PERMISSIVE when none sets one.
    Unset,
    /// Plain text only.
    Disable,
    /// mTLS and plain text both accepted.
    Permissive,
    /// mTLS required.
    Strict,
}

impl MtlsMode {
    /// Every mode, in the CRD's order.
    pub const ALL: [MtlsMode; 4] = [Self::Unset, Self::Disable, Self::Permissive, Self::Strict];

    /// The name as the CRD spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "UNSET",
            Self::Disable => "DISABLE",
            Self::Permissive => "PERMISSIVE",
            Self::Strict => "STRICT",
        }
    }
}

impl fmt::Display for MtlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a mode, spelled exactly as the CRD enum spells it.
pub fn parse_mtls_mode(s: &str) -> Result<MtlsMode, ValidationError> {
    if let Some(mode) = MtlsMode::ALL.into_iter().find(|m| m.as_str() == s) {
        return Ok(mode);
    }
    let why = match MtlsMode::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(s)) {
        Some(mode) => format!("modes are written in capitals: {mode}"),
        None => "modes are STRICT, PERMISSIVE, DISABLE or UNSET".to_owned(),
    };
    Err(ValidationError::new("mode", s, why))
}

/// Parses a `PORT=MODE` pair for port-level mTLS.
pub fn parse_port_mode(s: &str) -> Result<(u16, MtlsMode), ValidationError> {
    let err = |why: String| Err(ValidationError::new("port mode", s, why));
    let Some((port, mode)) = s.split_once('=') else {
        return err("port modes are PORT=MODE, e.g. 8080=PERMISSIVE".into());
    };
    let port = match parse_port(port) {
        Ok(p) => p,
        Err(_) => return err(format!("port {} must be a number from 1 to 65535", quoted(port))),
    };
    match parse_mtls_mode(mode) {
        Ok(mode) => Ok((port, mode)),
        Err(e) => err(e.allowed().to_owned()),
    }
}

/// Port-level modes need a selector with labels (the CRD rule "portLevelMtls requires
/// selector").
pub fn check_port_level_needs_selector(
    selector_labels: usize,
    port_modes: usize,
) -> Result<(), ValidationError> {
    if port_modes == 0 || selector_labels > 0 {
        return Ok(());
    }
    Err(ValidationError::new(
        "portLevelMtls",
        &crate::output::count(port_modes, "port", "ports"),
        "port-level modes need a workload selector: a mesh- or namespace-wide policy cannot set \
         them",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected verdicts: the PeerAuthentication CRD (mode enum, portLevelMtls key range 1-65535,
    // "portLevelMtls requires selector") and istio ValidatePeerAuthentication.
    #[test]
    fn modes_and_ports() {
        let rows: &[(&str, Option<MtlsMode>)] = &[
            ("STRICT", Some(MtlsMode::Strict)),
            ("PERMISSIVE", Some(MtlsMode::Permissive)),
            ("DISABLE", Some(MtlsMode::Disable)),
            ("UNSET", Some(MtlsMode::Unset)),
            ("strict", None),
            ("Strict", None),
            ("DISABLED", None),
            ("", None),
        ];
        for (input, want) in rows {
            assert_eq!(parse_mtls_mode(input).ok(), *want, "{input:?}");
        }
        assert!(parse_mtls_mode("strict").unwrap_err().allowed().contains("STRICT"));
        assert_eq!(parse_port_mode("8080=PERMISSIVE").unwrap(), (8080, MtlsMode::Permissive));
        for bad in ["8080", "0=STRICT", "65536=STRICT", "http=STRICT", "8080=strict", "=STRICT"] {
            assert!(parse_port_mode(bad).is_err(), "{bad:?}");
        }
        assert!(check_port_level_needs_selector(0, 1).is_err());
        assert!(check_port_level_needs_selector(1, 1).is_ok());
        assert!(check_port_level_needs_selector(0, 0).is_ok());
    }
}
