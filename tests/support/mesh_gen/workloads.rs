//! The Kubernetes side of a generated namespace: the Namespace, ServiceAccounts, a Secret,
//! and per app a Service, a Deployment, its ReplicaSet and its Pods.

use serde_json::{Value, json};

use super::pod::{PodPlan, pod};
use super::{Mistakes, Out, Rng};

/// When every generated object was created.
pub const CREATED: &str = "2024-05-01T10:00:00Z";

const TEAMS: &[&str] = &["shop", "bank", "media", "travel", "games", "health", "maps", "mail"];

/// App names, in the order a namespace takes them (every namespace has the first eight); the
/// first three carry the Istio routing.
pub const APPS: &[&str] = &[
    "frontend",
    "cart",
    "checkout",
    "payments",
    "catalog",
    "search",
    "reviews",
    "ratings",
    "inventory",
    "shipping",
    "users",
    "notifications",
];

/// The name of application namespace `index`.
pub fn namespace_name(index: usize) -> String {
    format!("{}-{index:05}", TEAMS[index % TEAMS.len()])
}

/// Whether namespace `index` asks for sidecar injection (19 in 20 do).
pub fn is_injected(index: usize) -> bool {
    index % 20 != 19
}

/// One app of a namespace.
#[derive(Debug, Clone)]
pub struct App {
    pub name: &'static str,
    /// `(version, replicas)` per Deployment: `cart` runs v1 and v2.
    pub versions: Vec<(&'static str, usize)>,
    /// Serves gRPC beside HTTP.
    pub grpc: bool,
}

/// Everything decided about one namespace before its objects are written.
#[derive(Debug, Clone)]
pub struct NamespacePlan {
    pub index: usize,
    pub name: String,
    pub injected: bool,
    pub apps: Vec<App>,
    pub missing_gateway: bool,
    pub missing_subset: bool,
    pub pod_without_sidecar: bool,
    pub port_without_protocol: bool,
}

impl NamespacePlan {
    pub fn new(index: usize, rng: &mut Rng, mistakes: &Mistakes) -> NamespacePlan {
        let count = rng.range(8, 12);
        let apps = APPS[..count]
            .iter()
            .map(|&name| {
                let replicas = rng.range(2, 4);
                let versions = if name == "cart" {
                    vec![("v1", replicas), ("v2", 1)]
                } else {
                    vec![("v1", replicas)]
                };
                App { name, versions, grpc: rng.below(3) == 0 }
            })
            .collect();
        NamespacePlan {
            index,
            name: namespace_name(index),
            injected: is_injected(index),
            apps,
            missing_gateway: mistakes.missing_gateway.contains(&index),
            missing_subset: mistakes.missing_subset.contains(&index),
            pod_without_sidecar: mistakes.pod_without_sidecar.contains(&index),
            port_without_protocol: mistakes.port_without_protocol.contains(&index),
        }
    }
}

/// A uid in the apiserver's format.
pub fn uid(rng: &mut Rng) -> String {
    format!("{}-{}-{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(4), rng.hex(4), rng.hex(12))
}

/// Writes a namespace and its workloads.
pub fn namespace(out: &mut Out<'_>, plan: &NamespacePlan, rng: &mut Rng) {
    let ns = plan.name.clone();
    let mut labels = json!({"kubernetes.io/metadata.name": ns, "team": TEAMS[plan.index % 8]});
    if plan.injected {
        if plan.index % 10 == 3 {
            labels["istio.io/rev"] = json!("default");
        } else {
            labels["istio-injection"] = json!("enabled");
        }
    }
    out.emit(
        "namespaces",
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "uid": uid(rng), "creationTimestamp": CREATED, "labels": labels},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }),
    );
    out.emit("serviceaccounts", service_account(&ns, "default", rng));
    out.emit(
        "secrets",
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "app-config", "namespace": ns, "uid": uid(rng),
                         "creationTimestamp": CREATED, "labels": {"team": TEAMS[plan.index % 8]}},
            "data": {"DATABASE_URL": "cG9zdGdyZXM6Ly9kYi5leGFtcGxlOjU0MzIvYXBw",
                     "API_KEY": "c3ludGhldGljLWtleQ=="},
        }),
    );

    let mut first_pod = true;
    for app in plan.apps.clone() {
        out.emit("serviceaccounts", service_account(&ns, app.name, rng));
        let no_protocol = plan.port_without_protocol && app.name == "catalog";
        if no_protocol {
            out.mistake("Service", &ns, app.name, "port named \"web\" gives no protocol");
        }
        out.emit("services", service(&ns, &app, no_protocol, rng));
        for &(version, replicas) in &app.versions {
            let deploy = if app.versions.len() > 1 {
                format!("{}-{version}", app.name)
            } else {
                app.name.to_string()
            };
            let deploy_uid = uid(rng);
            out.emit("deployments", deployment(&ns, &deploy, &deploy_uid, &app, version, replicas));
            let hash = rng.suffix(10);
            let rs = format!("{deploy}-{hash}");
            let rs_uid = uid(rng);
            let owner = (deploy.as_str(), deploy_uid.as_str());
            let rs_obj = replica_set(&ns, &rs, &rs_uid, owner, &app, version, &hash, replicas);
            out.emit("replicasets", rs_obj);
            for _ in 0..replicas {
                let name = format!("{rs}-{}", rng.suffix(5));
                let sidecar = plan.injected && !(plan.pod_without_sidecar && first_pod);
                if plan.injected && !sidecar {
                    out.mistake("Pod", &ns, &name, "no sidecar in an injected namespace");
                }
                first_pod = false;
                let pod_plan = PodPlan {
                    namespace: &ns,
                    name: &name,
                    app: app.name,
                    version,
                    hash: &hash,
                    owner: (&rs, &rs_uid),
                    sidecar,
                    grpc: app.grpc,
                };
                out.emit("pods", pod(&pod_plan, rng));
            }
        }
    }
}

fn service_account(ns: &str, name: &str, rng: &mut Rng) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns, "uid": uid(rng), "creationTimestamp": CREATED},
    })
}

fn service(ns: &str, app: &App, no_protocol: bool, rng: &mut Rng) -> Value {
    let mut ports =
        vec![json!({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080})];
    if app.grpc {
        ports.push(json!({"name": "grpc-api", "port": 9090, "protocol": "TCP",
                          "targetPort": "grpc", "appProtocol": "grpc"}));
    }
    if no_protocol {
        ports.push(json!({"name": "web", "port": 8081, "protocol": "TCP", "targetPort": 8081}));
    }
    let ip = format!("10.96.{}.{}", rng.below(256), rng.range(1, 254));
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": app.name, "namespace": ns, "uid": uid(rng), "creationTimestamp": CREATED,
            "labels": {"app": app.name, "service": app.name},
        },
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": app.name},
            "ports": ports,
            "clusterIP": ip, "clusterIPs": [ip],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    })
}

/// The app container of a pod template.
pub fn app_container(app: &str, version: &str, grpc: bool) -> Value {
    let mut ports = vec![json!({"name": "http", "containerPort": 8080, "protocol": "TCP"})];
    if grpc {
        ports.push(json!({"name": "grpc", "containerPort": 9090, "protocol": "TCP"}));
    }
    json!({
        "name": app,
        "image": format!("registry.example.com/{app}:{version}.4.2"),
        "imagePullPolicy": "IfNotPresent",
        "ports": ports,
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "PORT", "value": "8080"},
            {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "app-config", "key": "DATABASE_URL"}}},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                           "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    })
}

fn template(app: &App, version: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": app.name, "version": version});
    if let Some(h) = hash {
        labels["pod-template-hash"] = json!(h);
    }
    json!({
        "metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true"}},
        "spec": {
            "serviceAccountName": app.name,
            "containers": [app_container(app.name, version, app.grpc)],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
            "securityContext": {},
        },
    })
}

fn deployment(ns: &str, name: &str, uid: &str, app: &App, version: &str, replicas: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": ns, "uid": uid, "creationTimestamp": CREATED, "generation": 1,
            "labels": {"app": app.name, "version": version},
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app.name, "version": version}},
            "template": template(app, version, None),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        },
        "status": {
            "observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "lastTransitionTime": CREATED, "lastUpdateTime": CREATED},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "lastTransitionTime": CREATED, "lastUpdateTime": CREATED},
            ],
        },
    })
}

#[allow(clippy::too_many_arguments)]
fn replica_set(
    ns: &str,
    name: &str,
    uid: &str,
    owner: (&str, &str),
    app: &App,
    version: &str,
    hash: &str,
    replicas: usize,
) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": name, "namespace": ns, "uid": uid, "creationTimestamp": CREATED, "generation": 1,
            "labels": {"app": app.name, "version": version, "pod-template-hash": hash},
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                "deployment.kubernetes.io/max-replicas": (replicas + 1).to_string(),
                "deployment.kubernetes.io/revision": "1",
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner.0,
                                 "uid": owner.1, "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app.name, "version": version, "pod-template-hash": hash}},
            "template": template(app, version, Some(hash)),
        },
        "status": {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                   "availableReplicas": replicas, "observedGeneration": 1},
    })
}
