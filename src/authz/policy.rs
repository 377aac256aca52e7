//! Which AuthorizationPolicies apply to a workload, in the order the proxy
//! evaluates them, and whether a CUSTOM provider can serve them.
//!
//! Selection follows istio/istio `pilot/pkg/model/authorization.go`
//! (`ListAuthorizationPolicies`) and `policyattachment.go`
//! (`ShouldAttachPolicy`): policies come from the root namespace and the
//! workload's namespace; a policy with `targetRef(s)` never applies to a
//! sidecar, only to a Gateway API gateway deployment of that name in the
//! policy's namespace; otherwise an absent or empty selector applies to
//! every workload, and a selector applies when its labels are a subset of
//! the workload's (from the root namespace, in every namespace).

use std::cmp::Ordering;

use crate::mesh::authorization_policy::{Action, AuthorizationPolicy};
use crate::mesh::host::{parse_service_host, resolve_host};
use crate::mesh::kind::{GROUP_GATEWAY_API, Kind};
use crate::mesh::mesh_config::ProviderKind;
use crate::mesh::meta::LABEL_GATEWAY_NAME;
use crate::mesh::selector::selects;
use crate::mesh::snapshot::{Snapshot, Workload};

/// Whether a policy applies to a workload (namespace scope included).
pub fn is_applicable(
    snapshot: &Snapshot,
    policy: &AuthorizationPolicy,
    workload: &Workload<'_>,
) -> bool {
    let ns = policy.metadata.namespace.as_str();
    if ns != snapshot.root_namespace() && ns != workload.namespace {
        return false;
    }
    let refs = policy.target_refs();
    if !refs.is_empty() {
        let Some(gateway) = workload.labels.get(LABEL_GATEWAY_NAME) else { return false };
        return ns == workload.namespace
            && refs.iter().any(|r| {
                r.kind == "Gateway"
                    && r.group == GROUP_GATEWAY_API
                    && r.name == *gateway
                    && r.namespace.as_deref().is_none_or(|n| n.is_empty() || n == ns)
            });
    }
    selects(policy.spec.selector.as_ref(), &workload.labels)
}

/// Indexes of the policies that apply to a workload.
pub fn applicable_policies(snapshot: &Snapshot, workload: &Workload<'_>) -> Vec<u32> {
    let table = snapshot.authorization_policies();
    let root = snapshot.root_namespace();
    let mut ids: Vec<u32> = table.ids_in(root).to_vec();
    if workload.namespace != root {
        ids.extend_from_slice(table.ids_in(workload.namespace));
    }
    ids.retain(|&id| is_applicable(snapshot, table.at(id), workload));
    ids
}

/// Envoy evaluates the policies of one filter in the order of their names,
/// `ns[<ns>]-policy[<name>]-rule[<i>]`; for DENY the root namespace's
/// policies form a filter of their own that runs first.
pub fn evaluation_order(snapshot: &Snapshot, a: u32, b: u32) -> Ordering {
    let table = snapshot.authorization_policies();
    let (pa, pb) = (&table.at(a).metadata, &table.at(b).metadata);
    let root = snapshot.root_namespace();
    let rank = |ns: &str, id: u32| {
        let deny = table.at(id).action() == Action::Deny;
        if deny && ns == root { 0 } else { 1 }
    };
    rank(&pa.namespace, a)
        .cmp(&rank(&pb.namespace, b))
        .then_with(|| envoy_key(&pa.namespace, &pa.name).cmp(&envoy_key(&pb.namespace, &pb.name)))
}

fn envoy_key(ns: &str, name: &str) -> String {
    format!("ns[{ns}]-policy[{name}]-rule[")
}

/// Rule indexes in Envoy's order (`rule[10]` sorts before `rule[2]`).
pub fn rule_order(count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|i| i.to_string());
    order
}

/// Whether the CUSTOM provider named by a workload's enforced CUSTOM
/// policies can serve them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderStatus {
    /// An `envoyExtAuthzHttp` provider: checks HTTP only.
    Http,
    /// An `envoyExtAuthzGrpc` provider: checks HTTP and TCP.
    Grpc,
    /// istiod turns the CUSTOM rules into DENY rules, for this reason.
    Bad(String),
}

/// The status of the providers named by a workload's enforced CUSTOM
/// policies (istio/istio `builder/extauthz.go`): more than one provider, an
/// undefined one, one that is not an ext authz provider, or one whose
/// service cannot be found make istiod deny what the rules match.
pub fn provider_status(snapshot: &Snapshot, providers: &[&str]) -> ProviderStatus {
    let mut names: Vec<&str> = providers.to_vec();
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [] => ProviderStatus::Bad("no provider named".into()),
        [one] => single_provider(snapshot, one),
        many => ProviderStatus::Bad(format!(
            "one workload uses several CUSTOM providers ({})",
            many.join(", ")
        )),
    }
}

fn single_provider(snapshot: &Snapshot, name: &str) -> ProviderStatus {
    let Some(p) = snapshot.mesh().provider(name) else {
        return ProviderStatus::Bad(format!("provider {name:?} is not defined in mesh config"));
    };
    let status = match &p.kind {
        ProviderKind::ExtAuthzHttp => ProviderStatus::Http,
        ProviderKind::ExtAuthzGrpc => ProviderStatus::Grpc,
        ProviderKind::Other(kind) => {
            return ProviderStatus::Bad(format!(
                "provider {name:?} is a {kind} provider, not ext authz"
            ));
        }
    };
    if !p.port.is_some_and(|port| (1..=65535).contains(&port)) {
        return ProviderStatus::Bad(format!("provider {name:?} has no valid port"));
    }
    let service = p.service.as_deref().unwrap_or("");
    if service.is_empty() {
        return ProviderStatus::Bad(format!("provider {name:?} names no service"));
    }
    if snapshot.has_kind(Kind::Service) && !is_known_host(snapshot, service) {
        return ProviderStatus::Bad(format!(
            "provider {name:?} service {service} is not in the registry"
        ));
    }
    status
}

/// Whether a provider `service` (`host` or `namespace/host`) names a Service
/// or ServiceEntry host of the Snapshot.
fn is_known_host(snapshot: &Snapshot, service: &str) -> bool {
    let (ns, host) = match service.split_once('/') {
        Some((ns, host)) => (Some(ns), host),
        None => (None, service),
    };
    let domain = snapshot.cluster_domain();
    let services = snapshot.services();
    let found_service = match parse_service_host(host, domain) {
        Some((name, svc_ns)) => {
            ns.is_none_or(|n| n == svc_ns) && services.get(svc_ns, name).is_some()
        }
        None => ns.is_some_and(|n| services.get(n, host).is_some()),
    };
    found_service
        || snapshot.service_entries().iter().any(|se| {
            ns.is_none_or(|n| n == se.metadata.namespace)
                && se
                    .spec
                    .hosts
                    .iter()
                    .any(|h| resolve_host(h, &se.metadata.namespace, domain) == host)
        })
}
