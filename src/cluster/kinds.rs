//! The resource kinds this tool reads or writes, with the API versions it understands in order
//! of preference. Discovery picks the first version the cluster serves.

/// A kind of object and where the API serves it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Kind {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// The kind as written in `kind:`.
    pub kind: &'static str,
    /// The resource name in URLs.
    pub plural: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Versions this tool can read and write, most preferred first.
    pub versions: &'static [&'static str],
}

impl Kind {
    /// `plural.group` as `kubectl auth can-i` and RBAC rules name it (`pods` for core).
    pub fn resource_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `kind.group` in lower case, the way kubectl prints objects (`virtualservice.networking.istio.io`).
    pub fn display_name(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        if self.group.is_empty() { kind } else { format!("{kind}.{}", self.group) }
    }

    /// Whether the kind belongs to Istio or the Gateway API rather than to Kubernetes itself.
    pub fn is_extension(&self) -> bool {
        ISTIO_GROUPS.contains(&self.group) || self.group == GATEWAY_API_GROUP
    }
}

/// The API groups Istio installs.
pub const ISTIO_GROUPS: &[&str] = &["networking.istio.io", "security.istio.io"];
/// The Gateway API group.
pub const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";

const ISTIO_NETWORKING: &[&str] = &["v1", "v1beta1", "v1alpha3"];
const ISTIO_SECURITY: &[&str] = &["v1", "v1beta1"];
const V1: &[&str] = &["v1"];

macro_rules! kind {
    ($name:ident, $group:expr, $kind:expr, $plural:expr, $namespaced:expr, $versions:expr) => {
        #[doc = concat!("`", $kind, "` objects.")]
        pub const $name: Kind = Kind {
            group: $group,
            kind: $kind,
            plural: $plural,
            namespaced: $namespaced,
            versions: $versions,
        };
    };
}

kind!(NAMESPACE, "", "Namespace", "namespaces", false, V1);
kind!(POD, "", "Pod", "pods", true, V1);
kind!(SERVICE, "", "Service", "services", true, V1);
kind!(SERVICE_ACCOUNT, "", "ServiceAccount", "serviceaccounts", true, V1);
kind!(CONFIG_MAP, "", "ConfigMap", "configmaps", true, V1);
kind!(SECRET, "", "Secret", "secrets", true, V1);
kind!(ENDPOINTS, "", "Endpoints", "endpoints", true, V1);
kind!(DEPLOYMENT, "apps", "Deployment", "deployments", true, V1);
kind!(STATEFUL_SET, "apps", "StatefulSet", "statefulsets", true, V1);
kind!(DAEMON_SET, "apps", "DaemonSet", "daemonsets", true, V1);
kind!(REPLICA_SET, "apps", "ReplicaSet", "replicasets", true, V1);
kind!(
    MUTATING_WEBHOOK,
    "admissionregistration.k8s.io",
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
    false,
    V1
);
kind!(GATEWAY, "networking.istio.io", "Gateway", "gateways", true, ISTIO_NETWORKING);
kind!(
    VIRTUAL_SERVICE,
    "networking.istio.io",
    "VirtualService",
    "virtualservices",
    true,
    ISTIO_NETWORKING
);
kind!(
    DESTINATION_RULE,
    "networking.istio.io",
    "DestinationRule",
    "destinationrules",
    true,
    ISTIO_NETWORKING
);
kind!(
    SERVICE_ENTRY,
    "networking.istio.io",
    "ServiceEntry",
    "serviceentries",
    true,
    ISTIO_NETWORKING
);
kind!(SIDECAR, "networking.istio.io", "Sidecar", "sidecars", true, ISTIO_NETWORKING);
kind!(
    PEER_AUTHENTICATION,
    "security.istio.io",
    "PeerAuthentication",
    "peerauthentications",
    true,
    ISTIO_SECURITY
);
kind!(
    AUTHORIZATION_POLICY,
    "security.istio.io",
    "AuthorizationPolicy",
    "authorizationpolicies",
    true,
    ISTIO_SECURITY
);
kind!(
    REQUEST_AUTHENTICATION,
    "security.istio.io",
    "RequestAuthentication",
    "requestauthentications",
    true,
    ISTIO_SECURITY
);
kind!(K8S_GATEWAY, GATEWAY_API_GROUP, "Gateway", "gateways", true, V1);
kind!(HTTP_ROUTE, GATEWAY_API_GROUP, "HTTPRoute", "httproutes", true, V1);
kind!(GATEWAY_CLASS, GATEWAY_API_GROUP, "GatewayClass", "gatewayclasses", false, V1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kubectl() {
        assert_eq!(POD.resource_name(), "pods");
        assert_eq!(VIRTUAL_SERVICE.resource_name(), "virtualservices.networking.istio.io");
        assert_eq!(VIRTUAL_SERVICE.display_name(), "virtualservice.networking.istio.io");
        assert_eq!(NAMESPACE.display_name(), "namespace");
        assert!(HTTP_ROUTE.is_extension());
        assert!(!DEPLOYMENT.is_extension());
    }
}
