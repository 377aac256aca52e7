//! The kinds the server knows, one table row each, and which versions a server serves.

use super::util::NameRule;

/// How server-side apply treats a list: keyed by fields, a set of scalars, or atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    Map(&'static [&'static str]),
    Set,
}

/// One resource type, as the real API or its CRD describes it.
#[derive(Debug)]
pub struct Kind {
    pub group: &'static str,
    /// Versions the real API serves, in discovery order (preferred first).
    pub versions: &'static [&'static str],
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Subresources with their verbs, as discovery lists them.
    pub subresources: &'static [(&'static str, &'static [&'static str])],
    /// Built into Kubernetes (as opposed to a custom resource).
    pub builtin: bool,
    /// Whether `metadata.generation` is kept.
    pub generation: bool,
    pub name_rule: NameRule,
    /// Table columns besides Name: (header, JSONPath or `@computed`, type).
    pub columns: &'static [(&'static str, &'static str, &'static str)],
    /// Lists that are not atomic, by path suffix (`spec.containers[].ports`).
    pub lists: &'static [(&'static str, ListType)],
}

impl Kind {
    pub fn has_status(&self) -> bool {
        self.subresources.iter().any(|(s, _)| *s == "status")
    }

    pub fn verbs(&self) -> &'static [&'static str] {
        if self.is_access_review() {
            &["create"]
        } else if self.plural == "namespaces" {
            &["create", "delete", "get", "list", "patch", "update", "watch"]
        } else {
            &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        }
    }

    /// `SelfSubjectAccessReview`: answered from the forbid rules, never stored.
    pub fn is_access_review(&self) -> bool {
        self.group == "authorization.k8s.io" && self.plural == "selfsubjectaccessreviews"
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// How apply treats the list at `path` (`spec.template.spec.containers`), if not atomic.
    pub fn list_type(&self, path: &str) -> Option<ListType> {
        let matches = |pattern: &str| {
            path == pattern || path.strip_suffix(pattern).is_some_and(|head| head.ends_with('.'))
        };
        COMMON_LISTS.iter().chain(self.lists).find(|(p, _)| matches(p)).map(|(_, t)| *t)
    }
}

const AGE: (&str, &str, &str) = ("Age", ".metadata.creationTimestamp", "date");
const CRUD: &[&str] = &["get", "patch", "update"];
const STATUS: (&str, &[&str]) = ("status", CRUD);
const SCALE: (&str, &[&str]) = ("scale", CRUD);
const ISTIO_NET: &[&str] = &["v1", "v1beta1", "v1alpha3"];
const ISTIO_SEC: &[&str] = &["v1", "v1beta1"];
const GATEWAY_API: &[&str] = &["v1", "v1beta1"];
const NET_CATEGORIES: &[&str] = &["istio-io", "networking-istio-io"];
const SEC_CATEGORIES: &[&str] = &["istio-io", "security-istio-io"];

const COMMON_LISTS: &[(&str, ListType)] = &[
    ("metadata.ownerReferences", ListType::Map(&["uid"])),
    ("metadata.finalizers", ListType::Set),
];

const POD_LISTS: &[(&str, ListType)] = &[
    ("spec.containers", ListType::Map(&["name"])),
    ("spec.initContainers", ListType::Map(&["name"])),
    ("spec.ephemeralContainers", ListType::Map(&["name"])),
    ("containers[].ports", ListType::Map(&["containerPort", "protocol"])),
    ("initContainers[].ports", ListType::Map(&["containerPort", "protocol"])),
    ("containers[].env", ListType::Map(&["name"])),
    ("initContainers[].env", ListType::Map(&["name"])),
    ("containers[].volumeMounts", ListType::Map(&["mountPath"])),
    ("initContainers[].volumeMounts", ListType::Map(&["mountPath"])),
    ("spec.volumes", ListType::Map(&["name"])),
    ("spec.imagePullSecrets", ListType::Map(&["name"])),
    ("status.conditions", ListType::Map(&["type"])),
];

const CONDITIONS: &[(&str, ListType)] = &[("status.conditions", ListType::Map(&["type"]))];

fn core(
    plural: &'static str,
    kind: &'static str,
    singular: &'static str,
    short_names: &'static [&'static str],
) -> Kind {
    Kind {
        group: "",
        versions: &["v1"],
        kind,
        plural,
        singular,
        namespaced: true,
        short_names,
        categories: &[],
        subresources: &[],
        builtin: true,
        generation: false,
        name_rule: NameRule::Subdomain,
        columns: &[AGE],
        lists: &[],
    }
}

fn istio(
    group: &'static str,
    plural: &'static str,
    kind: &'static str,
    singular: &'static str,
    short_names: &'static [&'static str],
    columns: &'static [(&'static str, &'static str, &'static str)],
) -> Kind {
    let networking = group == "networking.istio.io";
    Kind {
        group,
        versions: if networking { ISTIO_NET } else { ISTIO_SEC },
        kind,
        plural,
        singular,
        namespaced: true,
        short_names,
        categories: if networking { NET_CATEGORIES } else { SEC_CATEGORIES },
        subresources: &[STATUS],
        builtin: false,
        generation: true,
        name_rule: NameRule::Subdomain,
        columns,
        lists: &[],
    }
}

fn gateway_api(
    plural: &'static str,
    kind: &'static str,
    singular: &'static str,
    short_names: &'static [&'static str],
    columns: &'static [(&'static str, &'static str, &'static str)],
) -> Kind {
    Kind {
        group: "gateway.networking.k8s.io",
        versions: GATEWAY_API,
        kind,
        plural,
        singular,
        namespaced: plural != "gatewayclasses",
        short_names,
        categories: &["gateway-api"],
        subresources: &[STATUS],
        builtin: false,
        generation: true,
        name_rule: NameRule::Subdomain,
        columns,
        lists: &[],
    }
}

fn workload(
    plural: &'static str,
    kind: &'static str,
    singular: &'static str,
    short_names: &'static [&'static str],
    scale: bool,
) -> Kind {
    Kind {
        group: "apps",
        versions: &["v1"],
        kind,
        plural,
        singular,
        namespaced: true,
        short_names,
        categories: &["all"],
        subresources: if scale { &[STATUS, SCALE] } else { &[STATUS] },
        builtin: true,
        generation: true,
        name_rule: NameRule::Subdomain,
        columns: &[
            ("Ready", "@ready-replicas", "string"),
            ("Up-to-date", ".status.updatedReplicas", "integer"),
            ("Available", ".status.availableReplicas", "integer"),
            AGE,
        ],
        lists: POD_LISTS,
    }
}

/// Every kind the server can store, in discovery order: built-in groups first, then
/// custom resource groups sorted by name, as the apiserver orders them.
pub fn all_kinds() -> Vec<Kind> {
    vec![
        Kind {
            namespaced: false,
            subresources: &[STATUS, ("finalize", &["update"])],
            name_rule: NameRule::Label,
            columns: &[("Status", ".status.phase", "string"), AGE],
            ..core("namespaces", "Namespace", "namespace", &["ns"])
        },
        Kind {
            categories: &["all"],
            subresources: &[
                ("attach", &["create", "get"]),
                ("binding", &["create"]),
                ("ephemeralcontainers", CRUD),
                ("eviction", &["create"]),
                ("exec", &["create", "get"]),
                ("log", &["get"]),
                ("portforward", &["create", "get"]),
                ("proxy", &["create", "delete", "get", "patch", "update"]),
                STATUS,
            ],
            columns: &[
                ("Ready", "@ready-containers", "string"),
                ("Status", ".status.phase", "string"),
                ("Restarts", "@restarts", "string"),
                AGE,
            ],
            lists: POD_LISTS,
            ..core("pods", "Pod", "pod", &["po"])
        },
        Kind {
            categories: &["all"],
            subresources: &[("proxy", &["create", "delete", "get", "patch", "update"]), STATUS],
            name_rule: NameRule::Dns1035,
            columns: &[
                ("Type", ".spec.type", "string"),
                ("Cluster-IP", ".spec.clusterIP", "string"),
                ("Port(s)", "@ports", "string"),
                AGE,
            ],
            lists: &[("spec.ports", ListType::Map(&["port", "protocol"]))],
            ..core("services", "Service", "service", &["svc"])
        },
        Kind {
            subresources: &[("token", &["create"])],
            ..core("serviceaccounts", "ServiceAccount", "serviceaccount", &["sa"])
        },
        Kind {
            columns: &[("Data", "@data-count", "integer"), AGE],
            ..core("configmaps", "ConfigMap", "configmap", &["cm"])
        },
        Kind {
            columns: &[("Type", ".type", "string"), ("Data", "@data-count", "integer"), AGE],
            ..core("secrets", "Secret", "secret", &[])
        },
        core("endpoints", "Endpoints", "endpoints", &["ep"]),
        workload("deployments", "Deployment", "deployment", &["deploy"], true),
        workload("statefulsets", "StatefulSet", "statefulset", &["sts"], true),
        Kind {
            columns: &[
                ("Desired", ".status.desiredNumberScheduled", "integer"),
                ("Current", ".status.currentNumberScheduled", "integer"),
                ("Ready", ".status.numberReady", "integer"),
                AGE,
            ],
            ..workload("daemonsets", "DaemonSet", "daemonset", &["ds"], false)
        },
        Kind {
            columns: &[
                ("Desired", ".spec.replicas", "integer"),
                ("Current", ".status.replicas", "integer"),
                ("Ready", ".status.readyReplicas", "integer"),
                AGE,
            ],
            ..workload("replicasets", "ReplicaSet", "replicaset", &["rs"], true)
        },
        Kind {
            group: "admissionregistration.k8s.io",
            namespaced: false,
            categories: &["api-extensions"],
            generation: true,
            columns: &[("Webhooks", "@webhook-count", "integer"), AGE],
            lists: &[("webhooks", ListType::Map(&["name"]))],
            ..core(
                "mutatingwebhookconfigurations",
                "MutatingWebhookConfiguration",
                "mutatingwebhookconfiguration",
                &[],
            )
        },
        Kind {
            group: "authorization.k8s.io",
            namespaced: false,
            columns: &[],
            ..core(
                "selfsubjectaccessreviews",
                "SelfSubjectAccessReview",
                "selfsubjectaccessreview",
                &[],
            )
        },
        Kind {
            lists: &[
                ("spec.listeners", ListType::Map(&["name"])),
                ("status.conditions", ListType::Map(&["type"])),
                ("status.listeners", ListType::Map(&["name"])),
                ("status.listeners[].conditions", ListType::Map(&["type"])),
            ],
            ..gateway_api(
                "gateways",
                "Gateway",
                "gateway",
                &["gtw"],
                &[
                    ("Class", ".spec.gatewayClassName", "string"),
                    ("Address", ".status.addresses[*].value", "string"),
                    (
                        "Programmed",
                        ".status.conditions[?(@.type==\"Programmed\")].status",
                        "string",
                    ),
                    AGE,
                ],
            )
        },
        Kind {
            lists: CONDITIONS,
            ..gateway_api(
                "gatewayclasses",
                "GatewayClass",
                "gatewayclass",
                &["gc"],
                &[
                    ("Controller", ".spec.controllerName", "string"),
                    ("Accepted", ".status.conditions[?(@.type==\"Accepted\")].status", "string"),
                    AGE,
                    ("Description", ".spec.description", "string"),
                ],
            )
        },
        gateway_api(
            "httproutes",
            "HTTPRoute",
            "httproute",
            &[],
            &[("Hostnames", ".spec.hostnames", "string"), AGE],
        ),
        istio(
            "networking.istio.io",
            "destinationrules",
            "DestinationRule",
            "destinationrule",
            &["dr"],
            &[("Host", ".spec.host", "string"), AGE],
        ),
        istio("networking.istio.io", "gateways", "Gateway", "gateway", &["gw"], &[]),
        Kind {
            lists: &[("spec.ports", ListType::Map(&["name"]))],
            ..istio(
                "networking.istio.io",
                "serviceentries",
                "ServiceEntry",
                "serviceentry",
                &["se"],
                &[
                    ("Hosts", ".spec.hosts", "string"),
                    ("Location", ".spec.location", "string"),
                    ("Resolution", ".spec.resolution", "string"),
                    AGE,
                ],
            )
        },
        istio("networking.istio.io", "sidecars", "Sidecar", "sidecar", &[], &[]),
        istio(
            "networking.istio.io",
            "virtualservices",
            "VirtualService",
            "virtualservice",
            &["vs"],
            &[("Gateways", ".spec.gateways", "string"), ("Hosts", ".spec.hosts", "string"), AGE],
        ),
        istio(
            "security.istio.io",
            "authorizationpolicies",
            "AuthorizationPolicy",
            "authorizationpolicy",
            &["ap"],
            &[("Action", ".spec.action", "string"), AGE],
        ),
        istio(
            "security.istio.io",
            "peerauthentications",
            "PeerAuthentication",
            "peerauthentication",
            &["pa"],
            &[("Mode", ".spec.mtls.mode", "string"), AGE],
        ),
        istio(
            "security.istio.io",
            "requestauthentications",
            "RequestAuthentication",
            "requestauthentication",
            &["ra"],
            &[],
        ),
    ]
}

/// Which Istio API versions a server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IstioApis {
    /// Istio 1.22 and later: networking v1, v1beta1, v1alpha3; security v1, v1beta1.
    #[default]
    Current,
    /// An Istio before 1.22: networking v1beta1 and v1alpha3, security v1beta1, no v1.
    Legacy,
    /// Istio not installed: neither group exists.
    Absent,
}

/// Every kind, each with the versions this server serves (none when its API is absent).
#[derive(Debug)]
pub struct Catalog {
    pub kinds: Vec<(Kind, Vec<&'static str>)>,
}

impl Catalog {
    pub fn new(istio: IstioApis, gateway_api: bool) -> Self {
        let kinds = all_kinds()
            .into_iter()
            .map(|k| {
                let versions: Vec<&'static str> = match k.group {
                    g if g.ends_with(".istio.io") => match istio {
                        IstioApis::Current => k.versions.to_vec(),
                        IstioApis::Legacy => {
                            k.versions.iter().copied().filter(|v| *v != "v1").collect()
                        }
                        IstioApis::Absent => Vec::new(),
                    },
                    "gateway.networking.k8s.io" if !gateway_api => Vec::new(),
                    _ => k.versions.to_vec(),
                };
                (k, versions)
            })
            .collect();
        Catalog { kinds }
    }

    /// The kind served at `group`/`version` under `plural`.
    pub fn served(&self, group: &str, version: &str, plural: &str) -> Option<&Kind> {
        self.kinds
            .iter()
            .find(|(k, vs)| k.group == group && k.plural == plural && vs.contains(&version))
            .map(|(k, _)| k)
    }

    /// Whether `group`/`version` is served at all.
    pub fn serves_version(&self, group: &str, version: &str) -> bool {
        self.kinds.iter().any(|(k, vs)| k.group == group && vs.contains(&version))
    }

    /// Served groups in discovery order, each with its served versions (preferred first).
    pub fn groups(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut groups: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for (k, versions) in self.kinds.iter().filter(|(_, vs)| !vs.is_empty()) {
            match groups.iter_mut().find(|(g, _)| *g == k.group) {
                Some((_, vs)) => {
                    for v in versions {
                        if !vs.contains(v) {
                            vs.push(v);
                        }
                    }
                }
                None => groups.push((k.group, versions.clone())),
            }
        }
        groups
    }

    /// Kinds served in `group`/`version`, in table order.
    pub fn in_version(&self, group: &str, version: &str) -> Vec<&Kind> {
        self.kinds
            .iter()
            .filter(|(k, vs)| k.group == group && vs.contains(&version))
            .map(|(k, _)| k)
            .collect()
    }

    /// The version objects of a kind are stored and shown in: the preferred served one,
    /// or the first the real API has when this server does not serve the kind.
    pub fn storage_version(&self, kind: &Kind) -> &'static str {
        self.kinds
            .iter()
            .find(|(k, _)| k.group == kind.group && k.plural == kind.plural)
            .and_then(|(_, vs)| vs.first().copied())
            .unwrap_or(kind.versions[0])
    }

    /// Finds any kind, served or not, by name (see [`resolve`]).
    pub fn resolve(&self, name: &str) -> Option<&Kind> {
        let kinds: Vec<&Kind> = self.kinds.iter().map(|(k, _)| k).collect();
        resolve(&kinds, name)
    }

    /// Finds any kind by its API group and plural.
    pub fn by_plural(&self, group: &str, plural: &str) -> Option<&Kind> {
        self.kinds.iter().map(|(k, _)| k).find(|k| k.group == group && k.plural == plural)
    }

    /// Finds any kind by its API group and `kind` name.
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&Kind> {
        self.kinds.iter().map(|(k, _)| k).find(|k| k.group == group && k.kind == kind)
    }
}

/// Finds a kind by plural, singular, kind name or short name, optionally `NAME.GROUP`.
pub fn resolve<'a>(kinds: &[&'a Kind], name: &str) -> Option<&'a Kind> {
    let lower = name.to_ascii_lowercase();
    let matches = |k: &Kind, n: &str| {
        k.plural == n
            || k.singular == n
            || k.kind.to_ascii_lowercase() == n
            || k.short_names.contains(&n)
    };
    kinds.iter().copied().find(|k| matches(k, &lower)).or_else(|| {
        let (n, group) = lower.split_once('.')?;
        kinds.iter().copied().find(|k| k.group == group && matches(k, n))
    })
}
