//! The kinds a Snapshot holds, with their API groups and the versions read.

use std::fmt;

use serde::Serialize;

/// A kind of object the Snapshot models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    /// `v1` Namespace.
    Namespace,
    /// `v1` Service.
    Service,
    /// `v1` Pod.
    Pod,
    /// `v1` ServiceAccount.
    ServiceAccount,
    /// `v1` Secret (metadata only).
    Secret,
    /// `v1` ConfigMap; only Istio's mesh config ConfigMaps are kept.
    ConfigMap,
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
    /// `apps/v1` DaemonSet.
    DaemonSet,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `admissionregistration.k8s.io/v1` MutatingWebhookConfiguration;
    /// only Istio injector webhooks are kept.
    MutatingWebhookConfiguration,
    /// `networking.istio.io` Gateway.
    Gateway,
    /// `networking.istio.io` VirtualService.
    VirtualService,
    /// `networking.istio.io` DestinationRule.
    DestinationRule,
    /// `networking.istio.io` ServiceEntry.
    ServiceEntry,
    /// `networking.istio.io` Sidecar.
    Sidecar,
    /// `security.istio.io` PeerAuthentication.
    PeerAuthentication,
    /// `security.istio.io` AuthorizationPolicy.
    AuthorizationPolicy,
    /// `security.istio.io` RequestAuthentication.
    RequestAuthentication,
    /// `gateway.networking.k8s.io` Gateway.
    K8sGateway,
    /// `gateway.networking.k8s.io` HTTPRoute.
    HttpRoute,
}

/// API group of the core Kubernetes kinds.
pub const GROUP_CORE: &str = "";
/// API group of Deployments and friends.
pub const GROUP_APPS: &str = "apps";
/// API group of admission webhooks.
pub const GROUP_ADMISSION: &str = "admissionregistration.k8s.io";
/// Istio networking API group.
pub const GROUP_ISTIO_NETWORKING: &str = "networking.istio.io";
/// Istio security API group.
pub const GROUP_ISTIO_SECURITY: &str = "security.istio.io";
/// Gateway API group.
pub const GROUP_GATEWAY_API: &str = "gateway.networking.k8s.io";

impl Kind {
    /// Every kind, in a stable order.
    pub const ALL: [Kind; 21] = [
        Kind::Namespace,
        Kind::Service,
        Kind::Pod,
        Kind::ServiceAccount,
        Kind::Secret,
        Kind::ConfigMap,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicaSet,
        Kind::MutatingWebhookConfiguration,
        Kind::Gateway,
        Kind::VirtualService,
        Kind::DestinationRule,
        Kind::ServiceEntry,
        Kind::Sidecar,
        Kind::PeerAuthentication,
        Kind::AuthorizationPolicy,
        Kind::RequestAuthentication,
        Kind::K8sGateway,
        Kind::HttpRoute,
    ];

    /// The `kind` field value.
    pub fn kind_name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Service => "Service",
            Kind::Pod => "Pod",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::MutatingWebhookConfiguration => "MutatingWebhookConfiguration",
            Kind::Gateway | Kind::K8sGateway => "Gateway",
            Kind::VirtualService => "VirtualService",
            Kind::DestinationRule => "DestinationRule",
            Kind::ServiceEntry => "ServiceEntry",
            Kind::Sidecar => "Sidecar",
            Kind::PeerAuthentication => "PeerAuthentication",
            Kind::AuthorizationPolicy => "AuthorizationPolicy",
            Kind::RequestAuthentication => "RequestAuthentication",
            Kind::HttpRoute => "HTTPRoute",
        }
    }

    /// The API group.
    pub fn group(self) -> &'static str {
        match self {
            Kind::Namespace
            | Kind::Service
            | Kind::Pod
            | Kind::ServiceAccount
            | Kind::Secret
            | Kind::ConfigMap => GROUP_CORE,
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet => GROUP_APPS,
            Kind::MutatingWebhookConfiguration => GROUP_ADMISSION,
            Kind::Gateway
            | Kind::VirtualService
            | Kind::DestinationRule
            | Kind::ServiceEntry
            | Kind::Sidecar => GROUP_ISTIO_NETWORKING,
            Kind::PeerAuthentication | Kind::AuthorizationPolicy | Kind::RequestAuthentication => {
                GROUP_ISTIO_SECURITY
            }
            Kind::K8sGateway | Kind::HttpRoute => GROUP_GATEWAY_API,
        }
    }

    /// The API versions the Snapshot reads, preferred first.
    pub fn versions(self) -> &'static [&'static str] {
        match self.group() {
            GROUP_ISTIO_NETWORKING => &["v1", "v1beta1", "v1alpha3"],
            GROUP_ISTIO_SECURITY => &["v1", "v1beta1"],
            GROUP_GATEWAY_API => &["v1", "v1beta1"],
            _ => &["v1"],
        }
    }

    /// Whether objects of the kind live in a namespace.
    pub fn is_namespaced(self) -> bool {
        !matches!(self, Kind::Namespace | Kind::MutatingWebhookConfiguration)
    }

    /// Looks a kind up by API group and `kind` name.
    pub fn from_group_kind(group: &str, kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.group() == group && k.kind_name() == kind)
    }

    /// The plural resource name, as `kubectl` and the REST paths spell it.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Service => "services",
            Kind::Pod => "pods",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::Secret => "secrets",
            Kind::ConfigMap => "configmaps",
            Kind::Deployment => "deployments",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
            Kind::ReplicaSet => "replicasets",
            Kind::MutatingWebhookConfiguration => "mutatingwebhookconfigurations",
            Kind::Gateway | Kind::K8sGateway => "gateways",
            Kind::VirtualService => "virtualservices",
            Kind::DestinationRule => "destinationrules",
            Kind::ServiceEntry => "serviceentries",
            Kind::Sidecar => "sidecars",
            Kind::PeerAuthentication => "peerauthentications",
            Kind::AuthorizationPolicy => "authorizationpolicies",
            Kind::RequestAuthentication => "requestauthentications",
            Kind::HttpRoute => "httproutes",
        }
    }
}

impl fmt::Display for Kind {
    /// The kind name, qualified with its group where two kinds share a name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::K8sGateway => f.write_str("Gateway.gateway.networking.k8s.io"),
            other => f.write_str(other.kind_name()),
        }
    }
}

/// Splits an `apiVersion` into group and version: `v1` is the core group,
/// `apps/v1` is group `apps` version `v1`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => (GROUP_CORE, api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_kinds_by_group() {
        assert_eq!(Kind::from_group_kind("networking.istio.io", "Gateway"), Some(Kind::Gateway));
        assert_eq!(
            Kind::from_group_kind("gateway.networking.k8s.io", "Gateway"),
            Some(Kind::K8sGateway)
        );
        assert_eq!(Kind::from_group_kind("", "Widget"), None);
        assert_eq!(
            split_api_version("security.istio.io/v1beta1"),
            ("security.istio.io", "v1beta1")
        );
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert!(Kind::VirtualService.versions().contains(&"v1alpha3"));
    }
}
