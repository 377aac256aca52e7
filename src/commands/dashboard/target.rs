//! From an addon to the pod a connection goes to: the addon's Service (in the namespace asked
//! for, else wherever it is), the UI port on it, and a ready pod behind it with the Service's
//! target port resolved to a container port, as the endpoints controller resolves it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;

use super::addon::{self, AddonInfo};
use super::objects::{Endpoints, Pod, Service, ServicePort};
use crate::cli::Addon;
use crate::cluster::{Cluster, ClusterError, Failure, ListOptions, Scope, kinds};

/// The addon's Service and its UI port.
#[derive(Debug, Clone)]
pub struct AddonService {
    pub namespace: String,
    pub name: String,
    pub selector: Option<BTreeMap<String, String>>,
    pub port: ServicePort,
}

impl AddonService {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The selector as `kubectl -l` takes it.
    fn selector_text(&self) -> Option<String> {
        let selector = self.selector.as_ref().filter(|s| !s.is_empty())?;
        Some(selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
    }
}

/// Where connections go: a pod and the container port behind the Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub namespace: String,
    pub pod: String,
    pub port: u16,
}

impl Backend {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.pod)
    }
}

/// The pods behind a Service: those a connection can go to, and the rest.
#[derive(Debug, Default)]
pub struct Candidates {
    pub ready: Vec<(Pod, u16)>,
    pub unready: Vec<(Pod, String)>,
}

fn decode<T: DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T, ClusterError> {
    serde_json::from_value(value)
        .map_err(|e| ClusterError::new(format!("read {what}"), Failure::Decode(e.to_string())))
}

/// Finds the addon's Service in `namespace`, else in any namespace (with a note saying so).
pub async fn find_service(
    cluster: &Cluster,
    addon: Addon,
    namespace: &str,
) -> Result<(AddonService, Option<String>), ClusterError> {
    let info = addon::info(addon);
    let services = cluster.resource(&kinds::SERVICE).await?;
    for name in info.services {
        if let Some(value) = cluster.get(&services, Some(namespace), name).await? {
            let service: Service = decode(value, &format!("Service {namespace}/{name}"))?;
            return Ok((with_port(info, service)?, None));
        }
    }

    // Not where it was expected: one list per name across namespaces, by field selector.
    let mut searched_everywhere = true;
    let mut found: Vec<Service> = Vec::new();
    for name in info.services {
        let options = ListOptions {
            field_selector: Some(format!("metadata.name={name}")),
            ..ListOptions::default()
        };
        match cluster.list::<Service>(&services, Scope::All, &options).await {
            Ok(items) => found.extend(items),
            Err(e) if e.code() == Some(403) => {
                searched_everywhere = false;
                break;
            }
            Err(e) => return Err(e),
        }
        if !found.is_empty() {
            break;
        }
    }
    found.sort_by(|a, b| a.metadata.namespace.cmp(&b.metadata.namespace));
    let mut found = found.into_iter();
    let Some(first) = found.next() else {
        return Err(not_installed(addon, info, namespace, searched_everywhere));
    };
    let mut note = format!(
        "no {} Service in namespace {namespace}; using Service {}/{}",
        info.title, first.metadata.namespace, first.metadata.name
    );
    let others: Vec<String> = found.map(|s| s.metadata.namespace).collect();
    if !others.is_empty() {
        note.push_str(&format!(" (also in {}; choose one with -n)", others.join(", ")));
    }
    Ok((with_port(info, first)?, Some(note)))
}

fn with_port(info: &AddonInfo, service: Service) -> Result<AddonService, ClusterError> {
    let id = format!("{}/{}", service.metadata.namespace, service.metadata.name);
    let port = addon::pick_port(info, &service.spec.ports).cloned().ok_or_else(|| {
        ClusterError::new(
            format!("use Service {id}"),
            Failure::Unavailable("the Service has no ports".into()),
        )
    })?;
    Ok(AddonService {
        namespace: service.metadata.namespace,
        name: service.metadata.name,
        selector: service.spec.selector,
        port,
    })
}

fn not_installed(
    addon: Addon,
    info: &AddonInfo,
    namespace: &str,
    everywhere: bool,
) -> ClusterError {
    let names = info.services.join(" or ");
    let scope = if everywhere {
        format!("in namespace {namespace} or any other namespace")
    } else {
        format!("in namespace {namespace} (other namespaces could not be listed)")
    };
    let sample = addon::command_name(addon);
    ClusterError::new(
        format!("find {}", info.title),
        Failure::Unavailable(format!(
            "{} is not installed: no Service named {names} {scope}",
            info.title
        )),
    )
    .with_hint(format!(
        "install it from your Istio release with: kubectl apply -f samples/addons/{sample}.yaml \
         (see {}); if it runs elsewhere, pass -n NAMESPACE",
        info.docs
    ))
}

/// The pods behind the Service, ready or not, each ready one with its container port.
pub async fn candidates(
    cluster: &Cluster,
    service: &AddonService,
) -> Result<Candidates, ClusterError> {
    let pods = cluster.resource(&kinds::POD).await?;
    let mut out = Candidates::default();
    if let Some(selector) = service.selector_text() {
        let options = ListOptions { label_selector: Some(selector), ..ListOptions::default() };
        let listed: Vec<Pod> =
            cluster.list(&pods, Scope::Namespace(&service.namespace), &options).await?;
        for pod in listed {
            match (pod.is_ready(), target_port(&service.port, &pod)) {
                (true, Some(port)) => out.ready.push((pod, port)),
                (true, None) => {
                    let why = format!("ready, but without the port {}", port_text(&service.port));
                    out.unready.push((pod, why));
                }
                (false, _) => {
                    let state = pod.state();
                    out.unready.push((pod, state));
                }
            }
        }
        return Ok(out);
    }

    // A Service without a selector: its Endpoints name the ready pods and the port.
    let endpoints = cluster.resource(&kinds::ENDPOINTS).await?;
    let Some(value) = cluster.get(&endpoints, Some(&service.namespace), &service.name).await?
    else {
        return Ok(out);
    };
    let endpoints: Endpoints = decode(value, &format!("Endpoints {}", service.id()))?;
    for subset in &endpoints.subsets {
        let port = subset
            .ports
            .iter()
            .find(|p| p.name == service.port.name || subset.ports.len() == 1)
            .and_then(|p| u16::try_from(p.port).ok());
        let Some(port) = port else { continue };
        for address in &subset.addresses {
            let Some(target) = address.target_ref.as_ref().filter(|t| t.kind == "Pod") else {
                continue;
            };
            if let Some(value) = cluster.get(&pods, Some(&service.namespace), &target.name).await? {
                let pod: Pod =
                    decode(value, &format!("Pod {}/{}", service.namespace, target.name))?;
                out.ready.push((pod, port));
            }
        }
    }
    Ok(out)
}

/// The container port a Service port sends to in `pod`: a number as is, a name looked up in
/// the pod's containers, and no target port meaning the Service port's own number.
pub fn target_port(port: &ServicePort, pod: &Pod) -> Option<u16> {
    match &port.target_port {
        Some(IntOrString::Int(n)) => u16::try_from(*n).ok().filter(|n| *n != 0),
        Some(IntOrString::String(name)) => match name.parse::<u16>() {
            Ok(n) if n != 0 => Some(n),
            _ => pod.named_port(name),
        },
        None => u16::try_from(port.port).ok(),
    }
}

fn port_text(port: &ServicePort) -> String {
    match &port.target_port {
        Some(IntOrString::String(name)) => format!("named {name}"),
        Some(IntOrString::Int(n)) => n.to_string(),
        None => port.port.to_string(),
    }
}

/// The best ready pod: not `avoid` when another is ready, then the fewest restarts, the
/// oldest, and by name.
pub fn pick(candidates: &Candidates, avoid: Option<&str>) -> Option<(Pod, u16)> {
    candidates
        .ready
        .iter()
        .min_by_key(|(pod, _)| {
            (
                Some(pod.metadata.name.as_str()) == avoid,
                pod.restarts(),
                pod.metadata.creation_timestamp.clone().unwrap_or_default(),
                pod.metadata.name.clone(),
            )
        })
        .cloned()
}

/// The error for a Service with no ready pod, naming the pods that are there.
pub fn no_ready_pod(service: &AddonService, candidates: &Candidates, waited: &str) -> ClusterError {
    let why = match (service.selector_text(), candidates.unready.is_empty()) {
        (Some(selector), true) => format!("no pod matches its selector {selector}"),
        (Some(selector), false) => {
            let pods: Vec<String> = candidates
                .unready
                .iter()
                .map(|(pod, state)| format!("{} ({state})", pod.metadata.name))
                .collect();
            format!("pods matching {selector}: {}", pods.join(", "))
        }
        (None, _) => "the Service has no selector and its Endpoints list no ready pod".into(),
    };
    let check = match service.selector_text() {
        Some(selector) => format!("kubectl get pods -n {} -l {selector}", service.namespace),
        None => format!("kubectl get endpoints -n {} {}", service.namespace, service.name),
    };
    ClusterError::new(
        format!("find a ready pod behind Service {}{waited}", service.id()),
        Failure::Unavailable(why),
    )
    .with_hint(if waited.is_empty() {
        format!("check with: {check}; or wait for one with --wait 2m")
    } else {
        format!("check with: {check}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::dashboard::objects::{
        Container, ContainerPort, Meta, PodCondition, PodSpec, PodStatus,
    };

    fn pod(name: &str, ready: bool, restarts: i32, created: &str) -> Pod {
        Pod {
            metadata: Meta {
                name: name.into(),
                namespace: "istio-system".into(),
                creation_timestamp: Some(created.into()),
                ..Meta::default()
            },
            spec: PodSpec {
                containers: vec![Container {
                    ports: vec![ContainerPort {
                        name: Some("api-port".into()),
                        container_port: 20001,
                    }],
                    ..Container::default()
                }],
                ..PodSpec::default()
            },
            status: PodStatus {
                phase: Some("Running".into()),
                conditions: vec![PodCondition {
                    kind: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                }],
                container_statuses: vec![crate::commands::dashboard::objects::ContainerStatus {
                    restart_count: restarts,
                }],
            },
        }
    }

    fn candidates(pods: Vec<Pod>) -> Candidates {
        let mut out = Candidates::default();
        for p in pods {
            if p.is_ready() {
                out.ready.push((p, 20001));
            } else {
                let state = p.state();
                out.unready.push((p, state));
            }
        }
        out
    }

    #[test]
    fn target_ports_resolve_by_number_name_or_the_service_port() {
        let p = pod("kiali-0", true, 0, "2025-01-01T00:00:00Z");
        let port = |target| ServicePort { name: None, port: 80, target_port: target };
        assert_eq!(target_port(&port(None), &p), Some(80));
        assert_eq!(target_port(&port(Some(IntOrString::Int(16686))), &p), Some(16686));
        assert_eq!(
            target_port(&port(Some(IntOrString::String("api-port".into()))), &p),
            Some(20001)
        );
        assert_eq!(target_port(&port(Some(IntOrString::String("missing".into()))), &p), None);
    }

    #[test]
    fn the_steadiest_ready_pod_is_picked_and_a_failed_one_avoided() {
        let c = candidates(vec![
            pod("a", false, 0, "2025-01-01T00:00:00Z"),
            pod("b", true, 3, "2025-01-01T00:00:00Z"),
            pod("c", true, 0, "2025-01-03T00:00:00Z"),
            pod("d", true, 0, "2025-01-02T00:00:00Z"),
        ]);
        assert_eq!(pick(&c, None).unwrap().0.metadata.name, "d");
        assert_eq!(pick(&c, Some("d")).unwrap().0.metadata.name, "c");
        let only = candidates(vec![pod("d", true, 0, "2025-01-02T00:00:00Z")]);
        assert_eq!(pick(&only, Some("d")).unwrap().0.metadata.name, "d");
        assert!(pick(&candidates(vec![pod("a", false, 0, "x")]), None).is_none());
    }

    #[test]
    fn no_ready_pod_names_the_pods_that_are_there() {
        let service = AddonService {
            namespace: "istio-system".into(),
            name: "kiali".into(),
            selector: Some(BTreeMap::from([("app".to_string(), "kiali".to_string())])),
            port: ServicePort { name: Some("http".into()), port: 20001, target_port: None },
        };
        let err = no_ready_pod(&service, &candidates(vec![pod("kiali-0", false, 0, "x")]), "");
        assert_eq!(err.to_string(), "failed to find a ready pod behind Service istio-system/kiali");
        assert_eq!(
            err.failure().to_string(),
            "pods matching app=kiali: kiali-0 (Running, not ready)"
        );
        assert!(err.hint().unwrap().contains("kubectl get pods -n istio-system -l app=kiali"));
    }
}
