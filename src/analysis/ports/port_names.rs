//! `service-port-protocols`: Service ports whose name and `appProtocol` give Istio no
//! protocol, so sidecars sniff the traffic.
//!
//! Codes: DM0601 (IST0118).
//!
//! Istio rule (<https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/>,
//! <https://istio.io/latest/docs/reference/config/analysis/ist0118/>, istio/istio
//! `pkg/config/kube/conversion.go` `ConvertProtocol` and
//! `pkg/config/analysis/analyzers/service/portname.go`): `appProtocol` first, then the name
//! prefix before the first `-` (`http`, `http2`, `https`, `grpc`, `grpc-web`, `tcp`, `tls`,
//! `mongo`, `mysql`, `redis`, `udp`, case-insensitive); UDP ports need nothing. Exempt as
//! istioctl exempts them: the well-known ports 25 (SMTP), 53 (DNS), 3306 (MySQL) and 27017
//! (MongoDB), which Istio treats as TCP; Services of the control plane (label `istio` or
//! `release: istio`); Services Istio's Gateway API controller manages
//! (`gateway.istio.io/managed`).
//!
//! Limitations: `ExternalName` Services are reported like others (istioctl gives them their
//! own code, IST0157); Istio's `http_proxy` and other rarely used protocol names are not known
//! to `mesh::protocol` and read as unspecified.

use super::describe;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::protocol::PortProtocol;
use crate::mesh::{Kind, snapshot::Snapshot};

/// Ports Istio treats as TCP when their name gives no protocol.
const WELL_KNOWN_TCP: &[u16] = &[25, 53, 3306, 27017];

/// Label Istio's Gateway API controllers put on the Services they manage.
const GATEWAY_MANAGED: &str = "gateway.istio.io/managed";

/// See the module documentation.
pub struct ServicePortProtocols;

impl Analyzer for ServicePortProtocols {
    fn name(&self) -> &'static str {
        "service-port-protocols"
    }

    fn description(&self) -> &'static str {
        "Service ports declare their protocol by name or appProtocol"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::Service]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::PORT_NAME_NO_PROTOCOL]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for entry in snap.services() {
            let meta = &entry.metadata;
            let managed = matches!(
                meta.label(GATEWAY_MANAGED),
                Some(
                    "istio.io-gateway-controller"
                        | "istio.io-mesh-controller"
                        | "istio.io-eastwest-controller"
                )
            );
            if managed
                || meta.labels.contains_key("istio")
                || meta.label("release") == Some("istio")
            {
                continue;
            }
            for (i, port) in entry.spec.ports.iter().enumerate() {
                if port.istio_protocol() != PortProtocol::Unspecified
                    || WELL_KNOWN_TCP.contains(&port.port)
                {
                    continue;
                }
                let said =
                    match (port.name.as_deref().filter(|n| !n.is_empty()), &port.app_protocol) {
                        (_, Some(app)) => {
                            format!("appProtocol {app} names no protocol Istio knows")
                        }
                        (Some(name), None) => format!("name {name} does not start with a protocol"),
                        (None, None) => "it has no name and no appProtocol".to_string(),
                    };
                let message = format!(
                    "port {} gives Istio no protocol ({said}), so sidecars guess it from the \
                     first bytes of each connection",
                    describe(port)
                );
                let suggestion = match port.name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) => format!("http-{name}"),
                    None => "http".to_string(),
                };
                let fix = format!(
                    "Set spec.ports[{i}].appProtocol (http, http2, grpc, tcp...), or rename the \
                     port <protocol>[-suffix], e.g. {suggestion} or tcp"
                );
                out.push(finding(&codes::PORT_NAME_NO_PROTOCOL, entry, message).fix(fix));
            }
        }
    }
}
