//! The Istio side: the control plane in `istio-system` (istiod, the ingress gateway and its
//! Gateway, the mesh config, the injector webhook) and each namespace's routing and security
//! objects.

use serde_json::{Value, json};

use super::workloads::{CREATED, NamespacePlan, uid};
use super::{Out, Rng};

const ROOT: &str = "istio-system";
const GATEWAY: &str = "public-gateway";
const INGRESS_ACCOUNT: &str = "istio-ingressgateway-service-account";

fn meta(ns: &str, name: &str, rng: &mut Rng) -> Value {
    json!({"name": name, "namespace": ns, "uid": uid(rng), "creationTimestamp": CREATED, "generation": 1})
}

/// Writes `istio-system`.
pub fn control_plane(out: &mut Out<'_>) {
    let rng = &mut Rng::new(0x0015_710d);
    out.emit(
        "namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": ROOT, "creationTimestamp": CREATED,
                            "labels": {"kubernetes.io/metadata.name": ROOT}}}),
    );
    for sa in ["default", "istiod", INGRESS_ACCOUNT] {
        out.emit(
            "serviceaccounts",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ROOT, sa, rng)}),
        );
    }
    out.emit(
        "configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "istio", "namespace": ROOT, "creationTimestamp": CREATED,
                            "labels": {"istio.io/rev": "default"}},
               "data": {"mesh": "rootNamespace: istio-system\ntrustDomain: cluster.local\n\
                                 enableAutoMtls: true\ndefaultConfig:\n  discoveryAddress: \
                                 istiod.istio-system.svc:15012\n",
                        "meshNetworks": "networks: {}\n"}}),
    );
    out.emit(
        "secrets",
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
               "metadata": meta(ROOT, "public-gateway-cert", rng),
               "data": {"tls.crt": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t", "tls.key": "LS0tLS1CRUdJTiBLRVktLS0tLQ=="}}),
    );
    out.emit(
        "mutatingwebhookconfigurations",
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
               "metadata": {"name": "istio-sidecar-injector", "creationTimestamp": CREATED,
                            "labels": {"app": "sidecar-injector", "istio.io/rev": "default"}},
               "webhooks": [{"name": "namespace.sidecar-injector.istio.io",
                             "admissionReviewVersions": ["v1"], "sideEffects": "None",
                             "clientConfig": {"service": {"name": "istiod", "namespace": ROOT,
                                                          "path": "/inject", "port": 443}},
                             "namespaceSelector": {"matchExpressions": [
                                 {"key": "istio-injection", "operator": "In", "values": ["enabled"]}]},
                             "rules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                        "operations": ["CREATE"], "resources": ["pods"]}]}]}),
    );
    control_workload(
        out,
        rng,
        "istiod",
        "istiod",
        "discovery",
        1,
        &[("app", "istiod"), ("istio", "pilot")],
    );
    control_workload(
        out,
        rng,
        "istio-ingressgateway",
        INGRESS_ACCOUNT,
        "istio-proxy",
        2,
        &[("app", "istio-ingressgateway"), ("istio", "ingressgateway")],
    );
    let svc = |name: &str, selector: Value, ports: Value, ty: &str, ip: &str| {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": ROOT, "creationTimestamp": CREATED},
               "spec": {"type": ty, "selector": selector, "ports": ports,
                        "clusterIP": ip, "clusterIPs": [ip]}})
    };
    out.emit(
        "services",
        svc(
            "istiod",
            json!({"app": "istiod"}),
            json!([{"name": "grpc-xds", "port": 15010, "targetPort": 15010, "protocol": "TCP"},
                   {"name": "https-dns", "port": 15012, "targetPort": 15012, "protocol": "TCP"},
                   {"name": "https-webhook", "port": 443, "targetPort": 15017, "protocol": "TCP"},
                   {"name": "http-monitoring", "port": 15014, "targetPort": 15014, "protocol": "TCP"}]),
            "ClusterIP",
            "10.96.0.20",
        ),
    );
    out.emit(
        "services",
        svc(
            "istio-ingressgateway",
            json!({"app": "istio-ingressgateway", "istio": "ingressgateway"}),
            json!([{"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
                   {"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                   {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]),
            "LoadBalancer",
            "10.96.0.30",
        ),
    );
    out.emit(
        "gateways",
        json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
               "metadata": meta(ROOT, GATEWAY, rng),
               "spec": {"selector": {"istio": "ingressgateway"},
                        "servers": [
                            {"port": {"number": 80, "name": "http", "protocol": "HTTP"},
                             "hosts": ["*.example.com"]},
                            {"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                             "hosts": ["*.example.com"],
                             "tls": {"mode": "SIMPLE", "credentialName": "public-gateway-cert"}}]}}),
    );
    out.emit(
        "peerauthentications",
        json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
               "metadata": meta(ROOT, "default", rng),
               "spec": {"mtls": {"mode": "PERMISSIVE"}}}),
    );
}

/// A control-plane Deployment with its ReplicaSet and Pods.
fn control_workload(
    out: &mut Out<'_>,
    rng: &mut Rng,
    name: &str,
    account: &str,
    container: &str,
    replicas: usize,
    labels: &[(&str, &str)],
) {
    let labels: serde_json::Map<String, Value> =
        labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let spec = json!({"serviceAccountName": account,
                      "containers": [{"name": container, "image": "docker.io/istio/pilot:1.24.2",
                                      "ports": [{"containerPort": 15010, "protocol": "TCP"}]}]});
    let deploy_uid = uid(rng);
    out.emit(
        "deployments",
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": ROOT, "uid": deploy_uid, "creationTimestamp": CREATED,
                            "labels": labels},
               "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels}, "spec": spec}}}),
    );
    let hash = rng.suffix(10);
    let rs = format!("{name}-{hash}");
    let rs_uid = uid(rng);
    out.emit(
        "replicasets",
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": rs, "namespace": ROOT, "uid": rs_uid, "creationTimestamp": CREATED,
                            "labels": labels,
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                 "uid": deploy_uid, "controller": true}]},
               "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels}, "spec": spec}}}),
    );
    for _ in 0..replicas {
        out.emit(
            "pods",
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": format!("{rs}-{}", rng.suffix(5)), "namespace": ROOT,
                                "uid": uid(rng), "creationTimestamp": CREATED, "labels": labels,
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                     "name": rs, "uid": rs_uid, "controller": true}]},
                   "spec": spec,
                   "status": {"phase": "Running", "podIP": format!("10.64.0.{}", rng.range(2, 254))}}),
        );
    }
}

/// Writes one namespace's VirtualServices, DestinationRules, PeerAuthentication and
/// AuthorizationPolicies.
pub fn namespace_policies(out: &mut Out<'_>, ns: &NamespacePlan, rng: &mut Rng) {
    let name = ns.name.as_str();
    let api = "networking.istio.io/v1";

    // Routing: frontend through the ingress Gateway, cart split by version, checkout retried.
    let gateway = if ns.missing_gateway {
        out.mistake("VirtualService", name, "frontend", "bound to a Gateway that does not exist");
        format!("{ROOT}/missing-gateway")
    } else {
        format!("{ROOT}/{GATEWAY}")
    };
    out.emit(
        "virtualservices",
        json!({"apiVersion": api, "kind": "VirtualService", "metadata": meta(name, "frontend", rng),
               "spec": {"hosts": [format!("frontend.{name}.example.com")], "gateways": [gateway],
                        "http": [{"match": [{"uri": {"prefix": "/"}}],
                                  "route": [{"destination": {"host": format!("frontend.{name}.svc.cluster.local"),
                                                             "port": {"number": 80}}}]}]}}),
    );
    let canary = if ns.missing_subset {
        out.mistake(
            "VirtualService",
            name,
            "cart",
            "routes to subset v3, which no DestinationRule defines",
        );
        "v3"
    } else {
        "v2"
    };
    out.emit(
        "virtualservices",
        json!({"apiVersion": api, "kind": "VirtualService", "metadata": meta(name, "cart", rng),
               "spec": {"hosts": ["cart"],
                        "http": [{"route": [
                            {"destination": {"host": "cart", "subset": "v1", "port": {"number": 80}}, "weight": 90},
                            {"destination": {"host": "cart", "subset": canary, "port": {"number": 80}}, "weight": 10}]}]}}),
    );
    out.emit(
        "virtualservices",
        json!({"apiVersion": api, "kind": "VirtualService", "metadata": meta(name, "checkout", rng),
               "spec": {"hosts": ["checkout"],
                        "http": [{"match": [{"method": {"exact": "GET"}}],
                                  "route": [{"destination": {"host": "checkout", "port": {"number": 80}}}],
                                  "timeout": "5s",
                                  "retries": {"attempts": 3, "perTryTimeout": "1s",
                                              "retryOn": "5xx,connect-failure,refused-stream"}},
                                 {"route": [{"destination": {"host": "checkout", "port": {"number": 80}}}],
                                  "timeout": "5s", "retries": {"attempts": 0}}]}}),
    );
    out.emit(
        "destinationrules",
        json!({"apiVersion": api, "kind": "DestinationRule", "metadata": meta(name, "frontend", rng),
               "spec": {"host": "frontend",
                        "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100},
                                                             "http": {"http1MaxPendingRequests": 100}}}}}),
    );
    out.emit(
        "destinationrules",
        json!({"apiVersion": api, "kind": "DestinationRule", "metadata": meta(name, "cart", rng),
               "spec": {"host": "cart",
                        "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                                    {"name": "v2", "labels": {"version": "v2"}}]}}),
    );
    out.emit(
        "destinationrules",
        json!({"apiVersion": api, "kind": "DestinationRule", "metadata": meta(name, "checkout", rng),
               "spec": {"host": "checkout",
                        "trafficPolicy": {"outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s",
                                                               "baseEjectionTime": "30s",
                                                               "maxEjectionPercent": 50}}}}),
    );

    // Security: STRICT where sidecars run, and allow rules naming accounts that exist.
    let mode = if ns.injected { "STRICT" } else { "PERMISSIVE" };
    out.emit(
        "peerauthentications",
        json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
               "metadata": meta(name, "default", rng), "spec": {"mtls": {"mode": mode}}}),
    );
    if !ns.injected {
        return;
    }
    let sa = |account: &str| format!("cluster.local/ns/{name}/sa/{account}");
    let mut policies = vec![
        (
            "frontend-from-ingress",
            "ALLOW",
            Some("frontend"),
            json!([{"from": [{"source": {"principals": [format!("cluster.local/ns/{ROOT}/sa/{INGRESS_ACCOUNT}")]}}],
                 "to": [{"operation": {"ports": ["8080"]}}]}]),
        ),
        (
            "cart-from-frontend",
            "ALLOW",
            Some("cart"),
            json!([{"from": [{"source": {"principals": [sa("frontend")]}}],
                 "to": [{"operation": {"methods": ["GET", "POST", "DELETE"], "paths": ["/cart", "/cart/*"]}}]}]),
        ),
        (
            "checkout-from-cart",
            "ALLOW",
            Some("checkout"),
            json!([{"from": [{"source": {"principals": [sa("cart"), sa("frontend")]}}],
                 "to": [{"operation": {"methods": ["POST"], "paths": ["/checkout"]}}]}]),
        ),
        (
            "deny-debug",
            "DENY",
            None,
            json!([{"to": [{"operation": {"paths": ["/debug/*", "/admin/*"]}}]}]),
        ),
        (
            "payments-from-checkout",
            "ALLOW",
            Some("payments"),
            json!([{"from": [{"source": {"principals": [sa("checkout")]}}]}]),
        ),
        (
            "catalog-read-only",
            "ALLOW",
            Some("catalog"),
            json!([{"from": [{"source": {"namespaces": [name]}}],
                 "to": [{"operation": {"methods": ["GET", "HEAD"]}}]}]),
        ),
    ];
    policies.truncate(rng.range(5, 6));
    for (policy, action, app, rules) in policies {
        let mut spec = json!({"action": action, "rules": rules});
        if let Some(app) = app {
            spec["selector"] = json!({"matchLabels": {"app": app}});
        }
        out.emit(
            "authorizationpolicies",
            json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                   "metadata": meta(name, policy, rng), "spec": spec}),
        );
    }
}
