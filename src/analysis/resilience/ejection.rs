//! `destinationrule-eject-all`: outlier detection that can eject every endpoint of a Service.
//!
//! Code: DM0704. Envoy ejects another host only while the ejected share stays within
//! `maxEjectionPercent`; Istio sets the panic threshold from `minHealthPercent`, 0 unless set.
//! With 100% and no `minHealthPercent`, every endpoint can be ejected at once, and with few
//! endpoints one bad spell is enough
//! (<https://istio.io/latest/docs/reference/config/networking/destination-rule/#OutlierDetection>).
//!
//! Limitations: endpoints are the Service's running pods in the Snapshot (a subset's, for a
//! subset's block); hosts that are not a Kubernetes Service, and Services without pods in the
//! input, are not judged.

use super::traps::{eject_all_few_endpoints, outlier_blocks};
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::mesh::host::resolve_host;
use crate::mesh::selector::is_subset;
use crate::mesh::{Kind, snapshot::Snapshot};

/// The analyzer.
pub struct EjectAll;

impl Analyzer for EjectAll {
    fn name(&self) -> &'static str {
        "destinationrule-eject-all"
    }

    fn description(&self) -> &'static str {
        "Outlier detection that can eject every endpoint of a Service with few endpoints"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::DestinationRule, Kind::Service, Kind::Pod]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::EJECT_ALL_FEW_ENDPOINTS]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        let domain = snapshot.cluster_domain();
        for entry in snapshot.destination_rules().iter() {
            let host = resolve_host(&entry.spec.host, &entry.metadata.namespace, domain);
            let Some((name, namespace)) = service_of(&host, domain) else { continue };
            let Some(id) = snapshot.services().id(namespace, name) else { continue };
            let pods = snapshot.pods_for_service(id);
            for (scope, outlier, subset) in outlier_blocks(&entry.spec) {
                let endpoints = match subset {
                    None => pods.len(),
                    Some(subset) => pods
                        .iter()
                        .filter(|&&p| {
                            is_subset(&subset.labels, &snapshot.pods().at(p).metadata.labels)
                        })
                        .count(),
                };
                if let Some(trap) = eject_all_few_endpoints(outlier, endpoints) {
                    let message = format!("{scope}: {}", trap.message);
                    out.push(finding(trap.code, entry, message).fix(trap.fix));
                }
            }
        }
    }
}

/// The Service name and namespace of `name.namespace.svc.<domain>`.
fn service_of<'a>(host: &'a str, domain: &str) -> Option<(&'a str, &'a str)> {
    let rest = host.strip_suffix(domain)?.strip_suffix(".svc.")?;
    let (name, namespace) = rest.split_once('.')?;
    (!namespace.contains('.')).then_some((name, namespace))
}
