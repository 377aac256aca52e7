//! What `dashboard` knows about each addon: the Services Istio's sample addons
//! (`samples/addons/*.yaml`) and the common charts install, the port their UI listens on, and
//! where the UI's web root is configured.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::objects::{Container, Pod, ServicePort};
use crate::cli::Addon;

/// The facts about one addon.
#[derive(Debug)]
pub struct AddonInfo {
    /// How the addon is written in messages.
    pub title: &'static str,
    /// Service names to look for, in order.
    pub services: &'static [&'static str],
    /// Service port names of the UI, in order of preference.
    pub port_names: &'static [&'static str],
    /// The port the UI listens on in the pod, when no port name matches.
    pub port: u16,
    /// The web root when nothing configures another.
    pub default_root: &'static str,
    /// The pod volume that mounts the ConfigMap holding the web root, and the ConfigMap's
    /// usual name.
    pub config: Option<(&'static str, &'static str)>,
    /// The Istio page on installing it.
    pub docs: &'static str,
}

const KIALI: AddonInfo = AddonInfo {
    title: "Kiali",
    services: &["kiali"],
    port_names: &["http", "http-kiali", "tcp"],
    port: 20001,
    default_root: "/kiali",
    config: Some(("kiali-configuration", "kiali")),
    docs: "https://istio.io/latest/docs/ops/integrations/kiali/",
};

const GRAFANA: AddonInfo = AddonInfo {
    title: "Grafana",
    services: &["grafana"],
    port_names: &["service", "http", "http-web", "web"],
    port: 3000,
    default_root: "/",
    config: None,
    docs: "https://istio.io/latest/docs/ops/integrations/grafana/",
};

const PROMETHEUS: AddonInfo = AddonInfo {
    title: "Prometheus",
    services: &["prometheus", "prometheus-server", "prometheus-operated"],
    port_names: &["http", "http-web", "web"],
    port: 9090,
    default_root: "/",
    config: None,
    docs: "https://istio.io/latest/docs/ops/integrations/prometheus/",
};

const JAEGER: AddonInfo = AddonInfo {
    title: "Jaeger",
    services: &["tracing", "jaeger-query"],
    port_names: &["http-query", "query-http", "http"],
    port: 16686,
    default_root: "/jaeger",
    config: Some(("jaeger-configuration", "jaeger")),
    docs: "https://istio.io/latest/docs/ops/integrations/jaeger/",
};

/// The facts about `addon`.
pub fn info(addon: Addon) -> &'static AddonInfo {
    match addon {
        Addon::Kiali => &KIALI,
        Addon::Grafana => &GRAFANA,
        Addon::Prometheus => &PROMETHEUS,
        Addon::Jaeger => &JAEGER,
    }
}

/// The addon's name as typed on the command line.
pub fn command_name(addon: Addon) -> &'static str {
    match addon {
        Addon::Kiali => "kiali",
        Addon::Grafana => "grafana",
        Addon::Prometheus => "prometheus",
        Addon::Jaeger => "jaeger",
    }
}

/// The Service port of the UI: by name, else by the UI's port, else the only or first port.
pub fn pick_port<'a>(info: &AddonInfo, ports: &'a [ServicePort]) -> Option<&'a ServicePort> {
    let by_name = info
        .port_names
        .iter()
        .find_map(|name| ports.iter().find(|p| p.name.as_deref() == Some(*name)));
    let by_number = || {
        ports.iter().find(|p| {
            p.port == i32::from(info.port)
                || matches!(&p.target_port, Some(IntOrString::Int(n)) if *n == i32::from(info.port))
        })
    };
    by_name.or_else(by_number).or_else(|| ports.first())
}

/// Which ConfigMap holds the web root for this pod, when the addon keeps it in one.
pub fn config_map_name(info: &AddonInfo, pod: &Pod) -> Option<String> {
    let (volume, default) = info.config?;
    Some(pod.config_map_volume(volume).unwrap_or(default).to_string())
}

/// The web root the UI serves, from the addon's configuration (the ConfigMap's `config.yaml`
/// when it has one, else the container's flags and environment), else the addon's default.
pub fn web_root(addon: Addon, container: Option<&Container>, config_yaml: Option<&str>) -> String {
    let from_config = config_yaml
        .and_then(|text| serde_saphyr::from_str::<serde_json::Value>(text).ok())
        .and_then(|config| {
            let pointer = match addon {
                Addon::Kiali => "/server/web_root",
                Addon::Jaeger => "/extensions/jaeger_query/base_path",
                Addon::Grafana | Addon::Prometheus => return None,
            };
            config.pointer(pointer).and_then(|v| v.as_str()).map(str::to_string)
        });
    let from_container = || {
        let c = container?;
        let root = match addon {
            Addon::Kiali => None,
            Addon::Jaeger => c.env("QUERY_BASE_PATH").or_else(|| c.flag("query.base-path")),
            Addon::Grafana => {
                let sub_path = c
                    .env("GF_SERVER_SERVE_FROM_SUB_PATH")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                c.env("GF_SERVER_ROOT_URL").filter(|_| sub_path).map(url_path)
            }
            Addon::Prometheus => {
                c.flag("web.route-prefix").or_else(|| c.flag("web.external-url").map(url_path))
            }
        };
        root.map(str::to_string)
    };
    let root = from_config.or_else(from_container);
    normalize(root.as_deref().unwrap_or(info(addon).default_root))
}

/// The path of a URL such as `%(protocol)s://%(domain)s/grafana/`, or the text itself when it
/// is a path.
fn url_path(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

/// One leading slash, no trailing slash (except the root itself).
fn normalize(root: &str) -> String {
    let trimmed = root.trim().trim_matches('/');
    if trimmed.is_empty() { "/".to_string() } else { format!("/{trimmed}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::dashboard::objects::EnvVar;

    fn port(name: &str, port: i32, target: Option<IntOrString>) -> ServicePort {
        ServicePort { name: Some(name.into()), port, target_port: target }
    }

    fn container(env: &[(&str, &str)], args: &[&str]) -> Container {
        Container {
            env: env
                .iter()
                .map(|(n, v)| EnvVar { name: n.to_string(), value: Some(v.to_string()) })
                .collect(),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Container::default()
        }
    }

    #[test]
    fn the_ui_port_is_found_by_name_then_by_number() {
        let kiali = [port("http-metrics", 9090, None), port("http", 20001, None)];
        assert_eq!(pick_port(&KIALI, &kiali).unwrap().port, 20001);
        let tracing = [
            port("grpc-query", 16685, Some(IntOrString::Int(16685))),
            port("web", 80, Some(IntOrString::Int(16686))),
        ];
        assert_eq!(pick_port(&JAEGER, &tracing).unwrap().port, 80);
        let odd = [port("ui", 8080, None)];
        assert_eq!(pick_port(&GRAFANA, &odd).unwrap().port, 8080);
        assert!(pick_port(&GRAFANA, &[]).is_none());
    }

    #[test]
    fn kiali_reads_its_web_root_from_the_config_map() {
        let config = "server:\n  port: 20001\n  web_root: /mesh/kiali/\n";
        assert_eq!(web_root(Addon::Kiali, None, Some(config)), "/mesh/kiali");
        assert_eq!(web_root(Addon::Kiali, None, Some("server:\n  web_root: /\n")), "/");
        assert_eq!(web_root(Addon::Kiali, None, Some("server: {port: 20001}\n")), "/kiali");
        assert_eq!(web_root(Addon::Kiali, None, Some(": not yaml [")), "/kiali");
        assert_eq!(web_root(Addon::Kiali, None, None), "/kiali");
    }

    #[test]
    fn jaeger_reads_the_v2_config_then_the_v1_environment() {
        let v2 = "extensions:\n  jaeger_query:\n    base_path: /traces\n";
        assert_eq!(web_root(Addon::Jaeger, None, Some(v2)), "/traces");
        let v1 = container(&[("QUERY_BASE_PATH", "/jaeger-ui")], &[]);
        assert_eq!(web_root(Addon::Jaeger, Some(&v1), None), "/jaeger-ui");
        let flag = container(&[], &["--query.base-path=/q"]);
        assert_eq!(web_root(Addon::Jaeger, Some(&flag), None), "/q");
        assert_eq!(web_root(Addon::Jaeger, Some(&container(&[], &[])), None), "/jaeger");
    }

    #[test]
    fn grafana_and_prometheus_serve_from_a_sub_path_only_when_told_to() {
        let url = "%(protocol)s://%(domain)s:%(http_port)s/grafana/";
        let served = container(
            &[("GF_SERVER_ROOT_URL", url), ("GF_SERVER_SERVE_FROM_SUB_PATH", "true")],
            &[],
        );
        assert_eq!(web_root(Addon::Grafana, Some(&served), None), "/grafana");
        let proxied = container(&[("GF_SERVER_ROOT_URL", url)], &[]);
        assert_eq!(web_root(Addon::Grafana, Some(&proxied), None), "/");

        let prefix = container(&[], &["--web.route-prefix", "/prom"]);
        assert_eq!(web_root(Addon::Prometheus, Some(&prefix), None), "/prom");
        let external = container(&[], &["--web.external-url=https://example.org/metrics/"]);
        assert_eq!(web_root(Addon::Prometheus, Some(&external), None), "/metrics");
        assert_eq!(web_root(Addon::Prometheus, None, None), "/");
    }
}
