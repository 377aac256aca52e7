//! Offline defaults: what every Istio cluster has but manifest files rarely
//! include, so file-only checks see the same mesh a cluster would show.
//!
//! Added only when missing: the `istio-system` Namespace, the default mesh
//! config, the default revision's sidecar injector webhook, and the ingress gateway workload (`istio-ingressgateway`
//! Deployment, Pod, ServiceAccount and Service with ports http2 80->8080,
//! https 443->8443, tls 15443). Each addition is reported so the caller can
//! print it; `--no-defaults` skips the call.

use serde_json::json;

use super::builder::SnapshotBuilder;
use crate::mesh::kind::Kind;
use crate::mesh::mesh_config::DEFAULT_ROOT_NAMESPACE;
use crate::mesh::resource::Origin;

/// Name of the default ingress gateway objects.
pub const INGRESS_GATEWAY: &str = "istio-ingressgateway";
/// Service account of the default ingress gateway.
pub const INGRESS_GATEWAY_ACCOUNT: &str = "istio-ingressgateway-service-account";

/// One object the defaults added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultAdded {
    /// Its kind.
    pub kind: Kind,
    /// `namespace/name`.
    pub name: String,
    /// Why it was added.
    pub reason: &'static str,
}

/// Adds what the input lacks of a stock Istio installation and reports it.
pub fn add_offline_defaults(builder: &mut SnapshotBuilder) -> Vec<DefaultAdded> {
    let ns = DEFAULT_ROOT_NAMESPACE;
    let mut added = Vec::new();
    let mut add = |b: &mut SnapshotBuilder, value: serde_json::Value, reason: &'static str| {
        let kind = value["kind"].as_str().unwrap_or_default().to_string();
        let name = value["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let namespaced = value["metadata"]["namespace"].as_str().map(str::to_string);
        if let Ok(super::builder::Added::Object(k)) = b.add_value(value, Origin::Default) {
            let name = namespaced.map_or(name.clone(), |n| format!("{n}/{name}"));
            added.push(DefaultAdded { kind: k, name, reason });
        } else {
            tracing::debug!(kind, name, "offline default not added");
        }
    };

    if builder.store.namespaces.get("", ns).is_none() {
        let value = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}});
        add(builder, value, "the control plane namespace");
    }
    if builder.store.config_maps.is_empty() {
        let value = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio", "namespace": ns}, "data": {"mesh": ""}});
        add(builder, value, "Istio's default mesh config");
    }
    if builder.store.webhooks.is_empty() {
        let value = json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "istio-sidecar-injector", "labels": {"istio.io/rev": "default"}}});
        add(builder, value, "the default revision's sidecar injector");
    }
    let has_gateway =
        builder.store.pods.iter().any(|p| p.metadata.label("istio") == Some("ingressgateway"))
            || builder.store.deployments.iter().any(|d| {
                d.template().is_some_and(|t| t.metadata.label("istio") == Some("ingressgateway"))
            });
    if has_gateway {
        return added;
    }
    let labels = json!({"app": INGRESS_GATEWAY, "istio": "ingressgateway"});
    let containers = json!([{"name": "istio-proxy", "ports": [
        {"containerPort": 8080, "protocol": "TCP"},
        {"containerPort": 8443, "protocol": "TCP"},
        {"containerPort": 15443, "protocol": "TCP"},
        {"containerPort": 15021, "name": "status-port", "protocol": "TCP"}
    ]}]);
    let spec = json!({"serviceAccountName": INGRESS_GATEWAY_ACCOUNT, "containers": containers});
    let reason = "the default ingress gateway";
    if builder.store.service_accounts.get(ns, INGRESS_GATEWAY_ACCOUNT).is_none() {
        let value = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": INGRESS_GATEWAY_ACCOUNT, "namespace": ns}});
        add(builder, value, reason);
    }
    if builder.store.deployments.get(ns, INGRESS_GATEWAY).is_none() {
        let value = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": INGRESS_GATEWAY, "namespace": ns, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}});
        add(builder, value, reason);
    }
    if builder.store.pods.get(ns, INGRESS_GATEWAY).is_none() {
        let value = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": INGRESS_GATEWAY, "namespace": ns, "labels": labels},
            "spec": spec});
        add(builder, value, reason);
    }
    if builder.store.services.get(ns, INGRESS_GATEWAY).is_none() {
        let value = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": INGRESS_GATEWAY, "namespace": ns, "labels": labels},
        "spec": {"type": "LoadBalancer", "selector": labels, "ports": [
            {"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
            {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"},
            {"name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP"}
        ]}});
        add(builder, value, reason);
    }
    added
}
