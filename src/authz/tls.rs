//! What a client sends to a destination (DestinationRule TLS or auto mTLS)
//! against what the server accepts (its effective PeerAuthentication), and
//! whether the two meet.
//!
//! A client with a sidecar uses the TLS mode of the DestinationRule it
//! applies for the host (Service port and subset overrides included); with
//! no mode set, auto mTLS sends Istio mTLS only to endpoints labelled
//! `security.istio.io/tlsMode: istio` whose effective mode is not DISABLE
//! (istio/istio `pilot/pkg/xds/endpoints/mtls_checker.go`), plaintext
//! otherwise. A client without a sidecar sends what the application sends.
//! See <https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/>.

use std::fmt;

use serde::Serialize;

use super::mtls::{EffectiveMtls, MtlsMode, effective_mtls};
use super::request::{Caller, Destination, RequestError, ResolvedCaller, Target};
use super::request::{destination_host, resolve_caller, resolve_target};
use crate::mesh::destination_rule::{ClientTls, TlsMode};
use crate::mesh::dr_lookup::effective_destination_rule;
use crate::mesh::protocol::PortProtocol;
use crate::mesh::snapshot::{Snapshot, Workload, target_port};

/// What the client puts on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Wire {
    /// Plaintext.
    Plaintext,
    /// Istio mutual TLS with workload certificates.
    IstioMutual,
    /// TLS with server verification only.
    Tls,
    /// Mutual TLS with user-provided certificates.
    MutualTls,
}

impl Wire {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::Plaintext => "PLAINTEXT",
            Wire::IstioMutual => "ISTIO_MUTUAL",
            Wire::Tls => "TLS",
            Wire::MutualTls => "MUTUAL",
        }
    }
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the client sends what it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ClientSource {
    /// The caller has no proxy.
    NoProxy,
    /// A DestinationRule's TLS mode.
    DestinationRule {
        /// Table index.
        id: u32,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// Auto mTLS (no DestinationRule TLS mode).
    AutoMtls,
    /// Auto mTLS is off in mesh config and no DestinationRule sets TLS.
    NoAutoMtls,
    /// The application itself speaks TLS (an HTTPS or TLS port).
    Application,
}

/// The client's choice for one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientChoice {
    /// What goes on the wire.
    pub wire: Wire,
    /// Why.
    pub source: ClientSource,
    /// The DestinationRule TLS settings, when a rule set the mode.
    pub settings: Option<ClientTls>,
}

/// Whether the two ends meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TlsVerdict {
    /// They meet.
    Ok,
    /// They meet, with a caveat.
    Warning,
    /// The connection fails.
    Conflict,
}

impl TlsVerdict {
    /// `OK`, `WARNING` or `CONFLICT`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVerdict::Ok => "OK",
            TlsVerdict::Warning => "WARNING",
            TlsVerdict::Conflict => "CONFLICT",
        }
    }
}

/// The outcome towards one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointTls {
    /// The endpoint (`namespace/pod`, or the external host).
    pub endpoint: String,
    /// The client's choice.
    pub client: ClientChoice,
    /// What the server accepts.
    pub accepts: Vec<Wire>,
    /// The server's effective mode, for mesh workloads.
    pub server_mtls: Option<EffectiveMtls>,
    /// The verdict.
    pub verdict: TlsVerdict,
    /// Whether the connection succeeds.
    pub succeeds: bool,
    /// How the client verifies the server for TLS origination:
    /// `ca-certificates`, `credential`, `os-ca-bundle` or `none`.
    pub server_verified: Option<&'static str>,
    /// Caveats.
    pub warnings: Vec<String>,
}

/// The outcome of a connection to a destination: the worst endpoint first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsReport {
    /// The worst endpoint's outcome.
    pub summary: EndpointTls,
    /// Every endpoint.
    pub endpoints: Vec<EndpointTls>,
}

/// What the caller sends to a mesh workload at `port` (the Service port)
/// reaching `container_port`.
pub fn client_choice(
    snapshot: &Snapshot,
    caller: &ResolvedCaller,
    host: &str,
    service_ns: Option<&str>,
    service_port: u16,
    server: Option<(&Workload<'_>, &EffectiveMtls)>,
) -> ClientChoice {
    let rule = rule_choice(snapshot, caller, host, service_ns, service_port);
    with_auto_mtls(rule, snapshot, server)
}

/// The choice made before looking at endpoints: plaintext for a caller
/// without proxy, or the TLS mode of the DestinationRule the caller applies
/// for the host and Service port. `None` leaves it to auto mTLS.
pub fn rule_choice(
    snapshot: &Snapshot,
    caller: &ResolvedCaller,
    host: &str,
    service_ns: Option<&str>,
    service_port: u16,
) -> Option<ClientChoice> {
    if !caller.has_proxy {
        return Some(ClientChoice {
            wire: Wire::Plaintext,
            source: ClientSource::NoProxy,
            settings: None,
        });
    }
    let rule =
        effective_destination_rule(snapshot, &caller.namespace, &caller.labels, host, service_ns)?;
    let tls = rule.policy_for(service_port, None).tls;
    let wire = match tls.as_ref().and_then(|t| t.mode)? {
        TlsMode::Disable => Wire::Plaintext,
        TlsMode::Simple => Wire::Tls,
        TlsMode::Mutual => Wire::MutualTls,
        TlsMode::IstioMutual => Wire::IstioMutual,
        TlsMode::Unknown => return None,
    };
    let id = rule.primary();
    let m = &snapshot.destination_rules().at(id).metadata;
    let source =
        ClientSource::DestinationRule { id, namespace: m.namespace.clone(), name: m.name.clone() };
    Some(ClientChoice { wire, source, settings: tls })
}

/// Completes a [`rule_choice`] for one endpoint: without a rule mode, auto
/// mTLS sends Istio mTLS to an Istio endpoint whose mode is not DISABLE.
pub fn with_auto_mtls(
    rule: Option<ClientChoice>,
    snapshot: &Snapshot,
    server: Option<(&Workload<'_>, &EffectiveMtls)>,
) -> ClientChoice {
    if let Some(choice) = rule {
        return choice;
    }
    if !snapshot.mesh().enable_auto_mtls {
        return ClientChoice {
            wire: Wire::Plaintext,
            source: ClientSource::NoAutoMtls,
            settings: None,
        };
    }
    let istio =
        server.is_some_and(|(w, m)| w.is_istio_tls_endpoint() && m.mode != MtlsMode::Disable);
    let wire = if istio { Wire::IstioMutual } else { Wire::Plaintext };
    ClientChoice { wire, source: ClientSource::AutoMtls, settings: None }
}

/// What a mesh workload accepts in a mode.
pub fn accepted(mode: MtlsMode) -> Vec<Wire> {
    match mode {
        MtlsMode::Strict => vec![Wire::IstioMutual],
        MtlsMode::Permissive => vec![Wire::IstioMutual, Wire::Plaintext],
        MtlsMode::Disable | MtlsMode::NoSidecar => vec![Wire::Plaintext],
    }
}

/// Judges one endpoint.
pub fn judge(
    endpoint: String,
    client: ClientChoice,
    accepts: Vec<Wire>,
    server_mtls: Option<EffectiveMtls>,
) -> EndpointTls {
    let mut warnings = Vec::new();
    let mut server_verified = None;
    if matches!(client.wire, Wire::Tls | Wire::MutualTls)
        && client.source != ClientSource::Application
    {
        let s = client.settings.clone().unwrap_or_default();
        server_verified = Some(if s.insecure_skip_verify == Some(true) {
            warnings.push("insecureSkipVerify: the server certificate is not verified".to_string());
            "none"
        } else if s.ca_certificates.as_deref().is_some_and(|c| !c.is_empty()) {
            "ca-certificates"
        } else if s.credential_name.as_deref().is_some_and(|c| !c.is_empty()) {
            "credential"
        } else {
            warnings.push("no caCertificates in DestinationRule (IST0128)".to_string());
            "os-ca-bundle"
        });
    }
    let (verdict, succeeds) = if accepts.contains(&client.wire) {
        (if warnings.is_empty() { TlsVerdict::Ok } else { TlsVerdict::Warning }, true)
    } else {
        (TlsVerdict::Conflict, false)
    };
    EndpointTls {
        endpoint,
        client,
        accepts,
        server_mtls,
        verdict,
        succeeds,
        server_verified,
        warnings,
    }
}

/// The outcome of a connection from `caller` to `target`.
///
/// # Errors
///
/// Fails when the caller or target is not in the Snapshot.
pub fn effective_tls(
    snapshot: &Snapshot,
    caller: &Caller,
    target: &Target,
) -> Result<TlsReport, RequestError> {
    let caller = resolve_caller(snapshot, caller)?;
    let destination = resolve_target(snapshot, target)?;
    let host = destination_host(snapshot, destination);
    let mut endpoints = Vec::new();
    match destination {
        Destination::Service { service, port_index } => {
            let svc = snapshot.services().at(service);
            let port = &svc.spec.ports[port_index];
            let ns = Some(svc.metadata.namespace.as_str());
            let rule = rule_choice(snapshot, &caller, &host, ns, port.port);
            for w in snapshot.workloads_for_service(service) {
                let cport = target_port(port, &w.ports).unwrap_or(port.port);
                let mtls = effective_mtls(snapshot, &w, cport);
                endpoints.push(workload_tls(
                    snapshot,
                    rule.clone(),
                    &w,
                    mtls,
                    port.istio_protocol(),
                ));
            }
        }
        Destination::Pod { pod, port } => {
            let w = snapshot.workload_of_pod(pod);
            let rule = rule_choice(snapshot, &caller, &host, None, port);
            let mtls = effective_mtls(snapshot, &w, port);
            endpoints.push(workload_tls(snapshot, rule, &w, mtls, PortProtocol::Unspecified));
        }
        Destination::External { entry, port } => {
            endpoints.push(external_tls(snapshot, &caller, &host, entry, port));
        }
    }
    let summary = endpoints.iter().max_by_key(|e| e.verdict).cloned().ok_or_else(|| {
        let (Target::Service { namespace, name, .. } | Target::Pod { namespace, name, .. }) =
            target;
        RequestError::NoEndpoints { namespace: namespace.clone(), name: name.clone() }
    })?;
    Ok(TlsReport { summary, endpoints })
}

/// The outcome towards a ServiceEntry host: the external server takes TLS
/// when its port is HTTPS or TLS, or when the client originates TLS.
fn external_tls(
    snapshot: &Snapshot,
    caller: &ResolvedCaller,
    host: &str,
    entry: u32,
    port: u16,
) -> EndpointTls {
    let se = snapshot.service_entries().at(entry);
    let protocol = se.port(port).and_then(|p| p.protocol.as_deref()).and_then(PortProtocol::parse);
    let app_tls = matches!(protocol, Some(PortProtocol::Https | PortProtocol::Tls));
    let se_ns = Some(se.metadata.namespace.as_str());
    let mut client = client_choice(snapshot, caller, host, se_ns, port, None);
    // On an HTTPS or TLS port the application speaks TLS itself.
    if app_tls && client.wire == Wire::Plaintext {
        client =
            ClientChoice { wire: Wire::Tls, source: ClientSource::Application, settings: None };
    }
    let accepts = match client.wire {
        Wire::MutualTls => vec![Wire::MutualTls],
        Wire::Tls => vec![Wire::Tls],
        _ if app_tls => vec![Wire::Tls],
        _ => vec![Wire::Plaintext],
    };
    judge(host.to_string(), client, accepts, None)
}

/// The outcome towards one mesh workload whose effective mode is `mtls`,
/// given the [`rule_choice`] for the destination.
pub fn workload_tls(
    snapshot: &Snapshot,
    rule: Option<ClientChoice>,
    w: &Workload<'_>,
    mtls: EffectiveMtls,
    protocol: PortProtocol,
) -> EndpointTls {
    let mut client = with_auto_mtls(rule, snapshot, Some((w, &mtls)));
    let mut accepts = accepted(mtls.mode);
    let tls_port = matches!(protocol, PortProtocol::Https | PortProtocol::Tls);
    if tls_port && client.wire == Wire::Plaintext {
        // Nothing wraps it, so what is on the wire is the application's TLS.
        client =
            ClientChoice { wire: Wire::Tls, source: ClientSource::Application, settings: None };
    }
    // TLS that is not Istio's passes a non-STRICT sidecar as opaque bytes:
    // the application must terminate it, which an HTTPS or TLS port says it
    // does, an HTTP or TCP port says it does not, and an unnamed port leaves
    // open.
    let origination = matches!(client.wire, Wire::Tls | Wire::MutualTls);
    let mut caveat = None;
    if origination && mtls.mode != MtlsMode::Strict {
        if tls_port {
            accepts.push(client.wire);
        } else if protocol == PortProtocol::Unspecified {
            accepts.push(client.wire);
            caveat =
                Some("TLS reaches the application as opaque bytes: it must terminate TLS itself");
        }
    }
    if mtls.mode == MtlsMode::NoSidecar && tls_port {
        accepts.retain(|w| *w != Wire::Plaintext);
    }
    let mut e = judge(w.key(), client, accepts, Some(mtls));
    if let Some(c) = caveat {
        e.warnings.push(c.to_string());
        e.verdict = e.verdict.max(TlsVerdict::Warning);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::tests::{fixture, mesh, sleep};

    fn dr(ns: &str, name: &str, body: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  host: httpbin.foo.svc.cluster.local\n{body}"
        )
    }

    const STRICT: &str = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: foo}\nspec:\n  mtls: {mode: STRICT}\n";

    fn outcome(snap: &Snapshot, caller: Caller, port: u16) -> (Wire, TlsVerdict) {
        let to = Target::Service { namespace: "foo".into(), name: "httpbin".into(), port };
        let r = effective_tls(snap, &caller, &to).unwrap();
        (r.summary.client.wire, r.summary.verdict)
    }

    #[test]
    fn auto_mtls_follows_the_server() {
        let s = fixture(STRICT);
        assert_eq!(outcome(&s, sleep(), 8000), (Wire::IstioMutual, TlsVerdict::Ok));
        let disable = STRICT.replace("STRICT", "DISABLE");
        let s = fixture(&disable);
        assert_eq!(outcome(&s, sleep(), 8000), (Wire::Plaintext, TlsVerdict::Ok));
        let s = fixture(&format!("{STRICT}---\n{}", mesh("enableAutoMtls: false")));
        assert_eq!(outcome(&s, sleep(), 8000), (Wire::Plaintext, TlsVerdict::Conflict));
    }

    #[test]
    fn destination_rule_modes_and_ports() {
        let rule = dr(
            "foo",
            "r",
            "  trafficPolicy:\n    tls: {mode: DISABLE}\n    portLevelSettings:\n    - port: {number: 9000}\n      tls: {mode: ISTIO_MUTUAL}\n",
        );
        let s = fixture(&format!("{STRICT}---\n{rule}"));
        assert_eq!(outcome(&s, sleep(), 8000), (Wire::Plaintext, TlsVerdict::Conflict));
        assert_eq!(outcome(&s, sleep(), 9000), (Wire::IstioMutual, TlsVerdict::Ok));
        let simple = dr(
            "foo",
            "r",
            "  trafficPolicy:\n    tls: {mode: SIMPLE, caCertificates: /etc/ca.pem}\n",
        );
        let s = fixture(&format!("{STRICT}---\n{simple}"));
        assert_eq!(outcome(&s, sleep(), 8000), (Wire::Tls, TlsVerdict::Conflict));
    }

    #[test]
    fn tls_origination_towards_mesh_ports() {
        let simple =
            dr("foo", "r", "  trafficPolicy:\n    tls: {mode: SIMPLE, caCertificates: /ca.pem}\n");
        // The `http` port's application expects plaintext.
        let s = fixture(&simple);
        assert_eq!(outcome(&s, sleep(), 8000), (Wire::Tls, TlsVerdict::Conflict));
        // An `https` port's application terminates TLS itself.
        let https = "apiVersion: v1\nkind: Service\nmetadata: {name: httpbin, namespace: foo}\nspec:\n  selector: {app: httpbin}\n  ports:\n  - {name: https, port: 8443, targetPort: 8080}\n";
        let s = fixture(&format!("{https}---\n{simple}"));
        assert_eq!(outcome(&s, sleep(), 8443), (Wire::Tls, TlsVerdict::Ok));
        let plain = Caller::Identity {
            namespace: "foo".into(),
            service_account: "x".into(),
            sidecar: false,
        };
        assert_eq!(outcome(&s, plain, 8443), (Wire::Tls, TlsVerdict::Ok));
    }

    #[test]
    fn client_namespace_rules_win_and_export_to_limits() {
        let other = Caller::Identity {
            namespace: "bar".into(),
            service_account: "x".into(),
            sidecar: true,
        };
        let svc_rule =
            dr("foo", "svc", "  exportTo: ['.']\n  trafficPolicy:\n    tls: {mode: DISABLE}\n");
        let s = fixture(&format!("{STRICT}---\n{svc_rule}"));
        // Not exported to `bar`: auto mTLS applies there.
        assert_eq!(outcome(&s, other.clone(), 8000), (Wire::IstioMutual, TlsVerdict::Ok));
        assert_eq!(outcome(&s, sleep(), 8000), (Wire::Plaintext, TlsVerdict::Conflict));
        let client_rule = dr("bar", "client", "  trafficPolicy:\n    tls: {mode: DISABLE}\n");
        let exported = dr("foo", "svc", "  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n");
        let s = fixture(&format!("{STRICT}---\n{exported}---\n{client_rule}"));
        assert_eq!(outcome(&s, other, 8000), (Wire::Plaintext, TlsVerdict::Conflict));
    }
}
