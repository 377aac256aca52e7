//! The checks: a [`Snapshot`] in, findings out. One analyzer per file under a folder per
//! family; `codes` holds every code. Analyzers are pure: the same Snapshot gives the same
//! findings whether it came from a cluster or from files.

pub mod authz;
pub mod codes;
pub mod conflicts;
mod finding;
pub(crate) mod injection;
mod input;
pub mod mtls;
mod ports;
mod references;
pub mod report;
pub mod resilience;

use std::collections::BTreeMap;

pub use finding::{Finding, Level, Location, ObjRef};
pub use report::{Report, Suppression};

use crate::mesh::{
    Entry, Kind, Origin, Resource,
    meta::ANNOTATION_SUPPRESS,
    snapshot::{Snapshot, Stored},
};

/// istioctl's per-resource suppression annotation, honoured too.
pub const ANNOTATION_ISTIO_SUPPRESS: &str = "galley.istio.io/analyze-suppress";

/// One check.
pub trait Analyzer: Sync {
    /// A short name, e.g. `virtualservice-gateways`.
    fn name(&self) -> &'static str;
    /// What it checks, in one line.
    fn description(&self) -> &'static str;
    /// The kinds it reads; when one was not loaded the analyzer is skipped and says so.
    fn inputs(&self) -> &'static [Kind];
    /// The codes it can report.
    fn codes(&self) -> &'static [&'static codes::Code];
    /// Adds its findings.
    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>);
}

/// Every analyzer, in a stable order.
pub fn analyzers() -> Vec<&'static dyn Analyzer> {
    let mut all: Vec<&'static dyn Analyzer> = vec![
        // input
        &input::FieldValues,
        &input::DuplicateObjects,
        // references
        &references::VirtualServiceGateways,
        &references::VirtualServiceDestinations,
        &references::VirtualServiceSubsets,
        &references::GatewayWorkloads,
        &references::GatewayCredentials,
        &references::DestinationRuleHosts,
        &references::DestinationRuleSubsets,
        &references::HttpRouteParents,
        &references::HttpRouteBackends,
        // conflicts
        &conflicts::GatewayConflicts,
        &conflicts::VirtualServiceHostConflicts,
        &conflicts::VirtualServiceGatewayMerges,
        &conflicts::DestinationRuleConflicts,
        &conflicts::ShadowedRoutes,
        &conflicts::PeerAuthenticationLevelConflicts,
        &conflicts::PeerAuthenticationWorkloadConflicts,
        // injection
        &injection::NamespaceInjectionLabels,
        &injection::InjectionRevisions,
        &injection::PodSidecars,
        &injection::NamespaceNotInjected,
        &injection::SidecarRevisions,
        // ports
        &ports::ServicePortProtocols,
        &ports::WorkloadPortProtocols,
        // resilience
        &resilience::RouteRetries,
        &resilience::EjectAll,
        &resilience::GatewayErrorThreshold,
    ];
    // mtls and authz, in code order
    all.extend(mtls::analyzers());
    all.extend(authz::analyzers());
    all
}

/// What one run of every analyzer gave.
#[derive(Debug, Default)]
pub struct Analysis {
    pub report: Report,
    /// Analyzers that did not run, with the kinds they were missing.
    pub skipped: Vec<(&'static str, Vec<Kind>)>,
}

/// How to run the analyzers.
#[derive(Debug, Clone)]
pub struct Options {
    pub suppressions: Vec<Suppression>,
    /// The least severe level to report.
    pub threshold: Level,
    /// Only report findings about resources in this namespace, or about the namespace itself.
    pub namespace: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self { suppressions: Vec::new(), threshold: Level::Info, namespace: None }
    }
}

/// Runs every analyzer whose inputs were loaded.
pub fn analyze(snapshot: &Snapshot, options: &Options) -> Analysis {
    analyze_with(&analyzers(), snapshot, options)
}

/// Runs `analyzers` whose inputs were loaded.
pub fn analyze_with(
    analyzers: &[&'static dyn Analyzer],
    snapshot: &Snapshot,
    options: &Options,
) -> Analysis {
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    for analyzer in analyzers {
        let missing: Vec<Kind> =
            analyzer.inputs().iter().copied().filter(|k| !snapshot.has_kind(*k)).collect();
        if !missing.is_empty() {
            skipped.push((analyzer.name(), missing));
            continue;
        }
        let started = std::time::Instant::now();
        let before = findings.len();
        analyzer.run(snapshot, &mut findings);
        tracing::debug!(
            analyzer = analyzer.name(),
            findings = findings.len() - before,
            "analyzed in {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let started = std::time::Instant::now();
    let mut report = Report::default();
    for finding in findings {
        let in_scope = match &options.namespace {
            Some(ns) => finding.resource.belongs_to(ns),
            None => true,
        };
        if in_scope {
            report.push(finding);
        }
    }
    let annotated = annotated_suppressions(snapshot);
    let report = report.finish(&options.suppressions, &annotated, options.threshold);
    tracing::debug!("report built in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    Analysis { report, skipped }
}

/// The resource a finding about `entry` names.
pub fn obj_ref<R: Resource>(entry: &Entry<R>) -> ObjRef {
    let meta = entry.obj.metadata();
    ObjRef::new(&R::KIND.to_string(), Some(&meta.namespace), &meta.name)
}

/// Where `entry` was defined, when it came from a file.
pub fn location(origin: &Origin) -> Option<Location> {
    match origin {
        Origin::File { path, line, .. } => {
            Some(Location { file: path.to_string(), line: *line as usize })
        }
        Origin::Cluster | Origin::Default => None,
    }
}

/// A finding about `entry`, at its file and line when it came from a file.
pub fn finding<R: Resource>(
    code: &'static codes::Code,
    entry: &Entry<R>,
    message: impl Into<String>,
) -> Finding {
    Finding::new(code, obj_ref(entry), message).at(location(&entry.origin))
}

/// Codes each resource asks to suppress through `debatemesh.io/suppress` (or istioctl's
/// `galley.istio.io/analyze-suppress`): a comma-separated list of DM or IST codes, or `*`.
pub fn annotated_suppressions(snapshot: &Snapshot) -> BTreeMap<ObjRef, Vec<String>> {
    let mut out = BTreeMap::new();
    fn collect<R: Stored>(snapshot: &Snapshot, out: &mut BTreeMap<ObjRef, Vec<String>>) {
        for entry in snapshot.table::<R>().iter() {
            let meta = entry.obj.metadata();
            let codes: Vec<String> = [ANNOTATION_SUPPRESS, ANNOTATION_ISTIO_SUPPRESS]
                .iter()
                .filter_map(|key| meta.annotation(key))
                .flat_map(|v| v.split(','))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            if !codes.is_empty() {
                out.insert(obj_ref(entry), codes);
            }
        }
    }
    use crate::mesh::{
        authorization_policy::AuthorizationPolicy,
        core::{Namespace, ServiceAccount},
        destination_rule::DestinationRule,
        gateway::Gateway,
        gateway_api::{HttpRoute, K8sGateway},
        peer_authentication::PeerAuthentication,
        pod::Pod,
        request_authentication::RequestAuthentication,
        service::Service,
        service_entry::ServiceEntry,
        sidecar::Sidecar,
        virtual_service::VirtualService,
        workload::{DaemonSet, Deployment, StatefulSet},
    };
    collect::<Namespace>(snapshot, &mut out);
    collect::<Service>(snapshot, &mut out);
    collect::<Pod>(snapshot, &mut out);
    collect::<ServiceAccount>(snapshot, &mut out);
    collect::<Deployment>(snapshot, &mut out);
    collect::<StatefulSet>(snapshot, &mut out);
    collect::<DaemonSet>(snapshot, &mut out);
    collect::<Gateway>(snapshot, &mut out);
    collect::<VirtualService>(snapshot, &mut out);
    collect::<DestinationRule>(snapshot, &mut out);
    collect::<ServiceEntry>(snapshot, &mut out);
    collect::<Sidecar>(snapshot, &mut out);
    collect::<PeerAuthentication>(snapshot, &mut out);
    collect::<AuthorizationPolicy>(snapshot, &mut out);
    collect::<RequestAuthentication>(snapshot, &mut out);
    collect::<K8sGateway>(snapshot, &mut out);
    collect::<HttpRoute>(snapshot, &mut out);
    out
}
