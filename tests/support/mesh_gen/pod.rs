//! A Pod as a cluster holds it after the sidecar injector and the kubelet have been at it:
//! owner reference, managed fields, the injector's annotations, `istio-init` and
//! `istio-proxy`, volumes and a running status.

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::Rng;
use super::workloads::{CREATED, app_container};

/// What the injector writes into `sidecar.istio.io/status`.
const SIDECAR_STATUS: &str = "{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"],\
\"volumes\":[\"workload-socket\",\"credential-socket\",\"workload-certs\",\"istio-envoy\",\
\"istio-data\",\"istio-podinfo\",\"istio-token\",\"istiod-ca-cert\"],\"imagePullSecrets\":null,\
\"revision\":\"default\"}";

const PROXY_IMAGE: &str = "docker.io/istio/proxyv2:1.24.2";

// What every pod shares, made once: cloning a value is cheaper than building it.
static TOKEN_VOLUME: OnceLock<Value> = OnceLock::new();
static INIT: OnceLock<Value> = OnceLock::new();
static ISTIO_VOLUMES: OnceLock<Value> = OnceLock::new();
static MANAGED_FIELDS: OnceLock<Value> = OnceLock::new();
static CONDITIONS: OnceLock<Value> = OnceLock::new();
static PROXY: OnceLock<Value> = OnceLock::new();

fn cached(cell: &'static OnceLock<Value>, make: impl FnOnce() -> Value) -> Value {
    cell.get_or_init(make).clone()
}

/// One pod to write.
pub struct PodPlan<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub app: &'a str,
    pub version: &'a str,
    pub hash: &'a str,
    /// The owning ReplicaSet's name and uid.
    pub owner: (&'a str, &'a str),
    pub sidecar: bool,
    pub grpc: bool,
}

/// A running pod.
pub fn pod(p: &PodPlan<'_>, rng: &mut Rng) -> Value {
    let ip = format!("10.{}.{}.{}", 64 + rng.below(64), rng.below(256), rng.range(2, 254));
    let node = format!("node-{:03}", rng.below(120));
    let host_ip = format!("192.0.2.{}", rng.range(1, 254));
    let mut labels = json!({"app": p.app, "version": p.version, "pod-template-hash": p.hash});
    let mut annotations = json!({"prometheus.io/scrape": "true"});
    let mut containers = vec![app_container(p.app, p.version, p.grpc)];
    let mut init_containers = Vec::new();
    let mut volumes = vec![cached(&TOKEN_VOLUME, || token_volume("kube-api-access"))];
    let mut statuses =
        vec![container_status(p.app, &format!("registry.example.com/{}", p.app), rng)];
    if p.sidecar {
        labels["security.istio.io/tlsMode"] = json!("istio");
        labels["service.istio.io/canonical-name"] = json!(p.app);
        labels["service.istio.io/canonical-revision"] = json!(p.version);
        annotations["sidecar.istio.io/status"] = json!(SIDECAR_STATUS);
        annotations["istio.io/rev"] = json!("default");
        annotations["kubectl.kubernetes.io/default-container"] = json!(p.app);
        annotations["kubectl.kubernetes.io/default-logs-container"] = json!(p.app);
        annotations["prometheus.io/path"] = json!("/stats/prometheus");
        annotations["prometheus.io/port"] = json!("15020");
        containers.push(proxy(p));
        init_containers.push(cached(&INIT, init));
        if let Value::Array(more) = cached(&ISTIO_VOLUMES, || Value::Array(istio_volumes())) {
            volumes.extend(more);
        }
        statuses.push(container_status("istio-proxy", PROXY_IMAGE, rng));
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": p.name,
            "generateName": format!("{}-", p.owner.0),
            "namespace": p.namespace,
            "uid": super::workloads::uid(rng),
            "creationTimestamp": CREATED,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": p.owner.0,
                                 "uid": p.owner.1, "controller": true, "blockOwnerDeletion": true}],
            "managedFields": cached(&MANAGED_FIELDS, managed_fields),
        },
        "spec": {
            "serviceAccountName": p.app,
            "serviceAccount": p.app,
            "nodeName": node,
            "initContainers": init_containers,
            "containers": containers,
            "volumes": volumes,
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "terminationGracePeriodSeconds": 30,
            "schedulerName": "default-scheduler",
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "securityContext": {},
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
        },
        "status": {
            "phase": "Running",
            "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
            "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": CREATED,
            "qosClass": "Burstable",
            "conditions": cached(&CONDITIONS, || Value::Array(conditions())),
            "containerStatuses": statuses,
        },
    })
}

fn conditions() -> Vec<Value> {
    ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": CREATED}))
        .collect()
}

/// The sidecar: the template with the app's name filled in.
fn proxy(p: &PodPlan<'_>) -> Value {
    let mut proxy = cached(&PROXY, proxy_template);
    if let Some(env) = proxy["env"].as_array_mut() {
        for var in env {
            if matches!(
                var["name"].as_str(),
                Some("ISTIO_META_APP_CONTAINERS" | "ISTIO_META_WORKLOAD_NAME")
            ) {
                var["value"] = json!(p.app);
            }
        }
    }
    proxy
}

fn proxy_template() -> Value {
    let app = "app";
    let env = [
        ("PILOT_CERT_PROVIDER", "istiod"),
        ("CA_ADDR", "istiod.istio-system.svc:15012"),
        ("ISTIO_CPU_LIMIT", "0"),
        ("PROXY_CONFIG", "{}"),
        (
            "ISTIO_META_POD_PORTS",
            "[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"}]",
        ),
        ("ISTIO_META_APP_CONTAINERS", app),
        ("ISTIO_META_CLUSTER_ID", "Kubernetes"),
        ("ISTIO_META_INTERCEPTION_MODE", "REDIRECT"),
        ("ISTIO_META_WORKLOAD_NAME", app),
        ("ISTIO_META_MESH_ID", "cluster.local"),
        ("TRUST_DOMAIN", "cluster.local"),
    ];
    let mut env: Vec<Value> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
    for (name, path) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
        ("INSTANCE_IP", "status.podIP"),
        ("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        ("HOST_IP", "status.hostIP"),
    ] {
        env.push(json!({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}));
    }
    json!({
        "name": "istio-proxy",
        "image": PROXY_IMAGE,
        "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                 "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
        "env": env,
        "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                           "periodSeconds": 15, "timeoutSeconds": 3, "failureThreshold": 4},
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": false, "privileged": false, "readOnlyRootFilesystem": true,
                            "runAsGroup": 1337, "runAsNonRoot": true, "runAsUser": 1337,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": "workload-socket", "mountPath": "/var/run/secrets/workload-spiffe-uds"},
            {"name": "credential-socket", "mountPath": "/var/run/secrets/credential-uds"},
            {"name": "workload-certs", "mountPath": "/var/run/secrets/workload-spiffe-credentials"},
            {"name": "istiod-ca-cert", "mountPath": "/var/run/secrets/istio"},
            {"name": "istio-data", "mountPath": "/var/lib/istio/data"},
            {"name": "istio-envoy", "mountPath": "/etc/istio/proxy"},
            {"name": "istio-token", "mountPath": "/var/run/secrets/tokens"},
            {"name": "istio-podinfo", "mountPath": "/etc/istio/pod"},
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    })
}

fn init() -> Value {
    json!({
        "name": "istio-init",
        "image": PROXY_IMAGE,
        "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
                 "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"],
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": false, "privileged": false, "runAsGroup": 0,
                            "runAsNonRoot": false, "runAsUser": 0,
                            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    })
}

fn token_volume(name: &str) -> Value {
    json!({"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}})
}

fn istio_volumes() -> Vec<Value> {
    vec![
        json!({"name": "workload-socket", "emptyDir": {}}),
        json!({"name": "credential-socket", "emptyDir": {}}),
        json!({"name": "workload-certs", "emptyDir": {}}),
        json!({"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}),
        json!({"name": "istio-data", "emptyDir": {}}),
        json!({"name": "istio-podinfo", "downwardAPI": {"defaultMode": 420, "items": [
            {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}},
            {"path": "annotations", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}},
        ]}}),
        json!({"name": "istio-token", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}},
        ]}}),
        json!({"name": "istiod-ca-cert", "configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}}),
    ]
}

fn container_status(name: &str, image: &str, rng: &mut Rng) -> Value {
    json!({
        "name": name, "image": image, "imageID": format!("{image}@sha256:{}", rng.hex(64)),
        "containerID": format!("containerd://{}", rng.hex(64)),
        "ready": true, "started": true, "restartCount": 0,
        "state": {"running": {"startedAt": CREATED}}, "lastState": {},
    })
}

/// What the controller manager and the kubelet record as theirs.
fn managed_fields() -> Value {
    json!([
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": CREATED,
         "fieldsType": "FieldsV1", "fieldsV1": {
            "f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}, "f:version": {}},
                           "f:ownerReferences": {".": {}, "k:{\"uid\"}": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:env": {}, "f:image": {}, "f:ports": {},
                       "f:readinessProbe": {}, "f:resources": {}}},
                       "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
                       "f:schedulerName": {}, "f:securityContext": {}, "f:serviceAccount": {},
                       "f:serviceAccountName": {}, "f:terminationGracePeriodSeconds": {}}}},
        {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": CREATED,
         "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {
            "f:status": {"f:conditions": {"k:{\"type\":\"ContainersReady\"}": {".": {}, "f:status": {}},
                                          "k:{\"type\":\"Initialized\"}": {".": {}, "f:status": {}},
                                          "k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}}},
                         "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {},
                         "f:podIP": {}, "f:podIPs": {}, "f:startTime": {}}}},
    ])
}
