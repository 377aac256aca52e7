//! What the user typed for `expose`, checked before anything is sent, and the Service port it
//! resolves to once the Service is read.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{
    cli::{Api, ExposeArgs},
    error::UsageError,
    mesh::{
        expose::{Backend, Exposure, PathRule, Tls},
        validate::{self, NamespacedName, ResultExt, ValidationError, k8s::validate_dns1123_label},
    },
};

/// The ingress workload a created Istio Gateway selects unless `--gateway-selector` says.
pub const DEFAULT_SELECTOR: (&str, &str) = ("istio", "ingressgateway");

/// A `--port` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

/// `expose`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub service: String,
    pub namespace: String,
    pub port: Option<PortRef>,
    /// Lower case, without duplicates; `["*"]` when no `--host` was given.
    pub hosts: Vec<String>,
    pub path: PathRule,
    pub rewrite: Option<String>,
    pub gateway: Option<NamespacedName>,
    /// `--gateway` as typed.
    pub gateway_text: String,
    pub selector: BTreeMap<String, String>,
    /// Whether `--gateway-selector` was given.
    pub selector_given: bool,
    pub tls: Option<Tls>,
    pub api: Option<Api>,
    pub cluster_domain: String,
}

impl Plan {
    /// Checks every flag; `namespace` is the one the command works in.
    pub fn new(args: &ExposeArgs, namespace: &str) -> anyhow::Result<Self> {
        validate::validate_namespace(namespace).for_flag("--namespace")?;
        validate_dns1123_label(&args.service).map_err(|e| {
            ValidationError::new("SVC", &args.service, format!("Service names {}", e.allowed()))
        })?;
        let gateway_name = format!("{}-gateway", args.service);
        if args.gateway.is_none() && gateway_name.len() > validate::k8s::MAX_LABEL_LEN {
            return Err(UsageError::new(format!(
                "the Gateway for {} would be named {gateway_name}, longer than 63 characters; \
                 name an existing one with --gateway",
                args.service
            ))
            .into());
        }

        let port = args.port.as_deref().map(parse_port_ref).transpose()?;
        let hosts = parse_hosts(&args.hosts)?;
        validate::validate_path_prefix(&args.path).for_flag("--path")?;
        let path = if args.exact {
            PathRule::Exact(args.path.clone())
        } else {
            PathRule::Prefix(args.path.clone())
        };
        if let Some(r) = &args.rewrite {
            validate::validate_rewrite_uri(r).for_flag("--rewrite")?;
        }
        let gateway = args
            .gateway
            .as_deref()
            .map(|g| validate::parse_gateway_ref(g, namespace).for_flag("--gateway"))
            .transpose()?;
        let selector = match &args.gateway_selector {
            Some(s) => validate::parse_label_map(s).for_flag("--gateway-selector")?,
            None => BTreeMap::from([(DEFAULT_SELECTOR.0.into(), DEFAULT_SELECTOR.1.into())]),
        };
        let tls = match &args.tls_secret {
            Some(secret) => {
                validate::validate_object_name(secret).for_flag("--tls-secret")?;
                Some(Tls { secret: secret.clone(), redirect: args.https_redirect })
            }
            None => None,
        };
        let domain = args.cluster_domain.trim_end_matches('.');
        validate::validate_fqdn(domain).for_flag("--cluster-domain")?;

        Ok(Self {
            service: args.service.clone(),
            namespace: namespace.to_string(),
            port,
            hosts,
            path,
            rewrite: args.rewrite.clone(),
            gateway,
            gateway_text: args.gateway.clone().unwrap_or_default(),
            selector,
            selector_given: args.gateway_selector.is_some(),
            tls,
            api: args.api,
            cluster_domain: domain.to_string(),
        })
    }

    /// The Service as routes name it.
    pub fn backend(&self) -> Backend {
        Backend::new(&self.service, &self.namespace, &self.cluster_domain)
    }

    /// Everything `expose` wants, once the Service port is known.
    pub fn exposure(&self, port: u16) -> Exposure {
        Exposure {
            backend: self.backend(),
            port,
            hosts: self.hosts.clone(),
            path: self.path.clone(),
            rewrite: self.rewrite.clone(),
            tls: self.tls.clone(),
        }
    }

    /// Whether a host is the wildcard `*`.
    pub fn has_wildcard_host(&self) -> bool {
        self.hosts.iter().any(|h| h == "*")
    }
}

fn parse_port_ref(s: &str) -> Result<PortRef, ValidationError> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return validate::parse_port(s).for_flag("--port").map(PortRef::Number);
    }
    validate::validate_service_port_name(s).for_flag("--port")?;
    Ok(PortRef::Name(s.to_string()))
}

/// Hosts as Istio validates a Gateway server host, without the `namespace/` part: DNS names
/// with at most one leading `*.` wildcard label, or `*`; no ports, schemes or paths.
fn parse_hosts(given: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut hosts: Vec<String> = Vec::new();
    for host in given {
        let has_port = host.contains(':') && !validate::is_ip_address(host);
        if host.contains("://") || has_port {
            // The domain check names the mistake: a scheme or a port.
            validate::validate_wildcard_domain(host).for_flag("--host")?;
        }
        if host.contains('/') {
            let why = "hosts are names, without a namespace/ part or a path";
            return Err(ValidationError::new("host", host, why).for_flag("--host"));
        }
        validate::parse_gateway_host(host).for_flag("--host")?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        hosts.push("*".to_string());
    }
    Ok(hosts)
}

/// One Service port as a user would recognise it: `http 8080` or `8080`.
fn describe_port(port: &Value) -> String {
    let number = port.get("port").and_then(Value::as_u64).unwrap_or(0);
    match port.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} {number}"),
        None => number.to_string(),
    }
}

/// The Service port to route to: the one `--port` names by number or name, or the only port.
pub fn resolve_port(
    service: &Value,
    wanted: Option<&PortRef>,
    qualified: &str,
) -> Result<u16, UsageError> {
    let ports =
        service.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
    let listed = || ports.iter().map(describe_port).collect::<Vec<_>>().join(", ");
    let number =
        |p: &Value| p.get("port").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok());
    let found = match wanted {
        None => match ports.as_slice() {
            [] => {
                return Err(UsageError::new(format!(
                    "service {qualified} has no ports to route to"
                )));
            }
            [only] => Some(only),
            _ => {
                return Err(UsageError::new(format!(
                    "service {qualified} has several ports ({}); choose one with --port",
                    listed()
                )));
            }
        },
        Some(PortRef::Number(n)) => ports.iter().find(|p| number(p) == Some(*n)),
        Some(PortRef::Name(name)) => {
            ports.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        }
    };
    let Some(port) = found else {
        let asked = match wanted {
            Some(PortRef::Number(n)) => n.to_string(),
            Some(PortRef::Name(n)) => n.clone(),
            None => String::new(),
        };
        return Err(UsageError::new(format!(
            "invalid value {asked:?} for --port: service {qualified} has no such port (its ports: {})",
            listed()
        )));
    };
    let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
    if protocol != "TCP" {
        return Err(UsageError::new(format!(
            "port {} of service {qualified} is {protocol}; gateways route HTTP over TCP",
            describe_port(port)
        )));
    }
    number(port)
        .ok_or_else(|| UsageError::new(format!("service {qualified} has a port without a number")))
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ExposeArgs,
    }

    fn plan(argv: &[&str]) -> anyhow::Result<Plan> {
        let mut full = vec!["expose"];
        full.extend_from_slice(argv);
        Plan::new(&Wrapper::try_parse_from(full).unwrap().args, "default")
    }

    fn error(argv: &[&str]) -> String {
        plan(argv).unwrap_err().to_string()
    }

    #[test]
    fn defaults_follow_the_guide() {
        let p = plan(&["my-service"]).unwrap();
        assert_eq!(p.hosts, ["*"]);
        assert_eq!(p.path, PathRule::Prefix("/".into()));
        assert_eq!(p.selector, BTreeMap::from([("istio".into(), "ingressgateway".into())]));
        assert_eq!(p.backend().fqdn, "my-service.default.svc.cluster.local");
        assert!(p.has_wildcard_host());
    }

    #[test]
    fn hosts_are_dns_names_with_one_leading_wildcard() {
        let p = plan(&[
            "s",
            "--host",
            "Shop.Example.com",
            "--host",
            "shop.example.com",
            "--host",
            "*.example.com",
        ])
        .unwrap();
        assert_eq!(p.hosts, ["shop.example.com", "*.example.com"]);
        for bad in [
            "shop",
            "shop.example.com:80",
            "http://shop.example.com",
            "default/shop.example.com",
            "foo.*.com",
            "*-api.example.com",
            "",
        ] {
            let e = error(&["s", "--host", bad]);
            assert!(e.starts_with(&format!("invalid value {bad:?} for --host: ")), "{e}");
        }
    }

    #[test]
    fn every_flag_is_checked() {
        assert!(error(&["s", "--path", "api"]).contains("for --path: paths must start with '/'"));
        assert!(error(&["s", "--rewrite", "x"]).contains("--rewrite"));
        assert!(error(&["s", "--port", "0"]).contains("for --port"));
        assert!(error(&["s", "--port", "Http"]).contains("for --port"));
        assert!(error(&["s", "--gateway", "a/b/c"]).contains("for --gateway"));
        assert!(error(&["s", "--gateway-selector", "istio"]).contains("--gateway-selector"));
        assert!(error(&["s", "--tls-secret", "Bad_Secret"]).contains("--tls-secret"));
        assert!(error(&["Bad_Service"]).contains("for SVC"));
        assert!(error(&[&"a".repeat(60)]).contains("--gateway"));
        let p =
            plan(&["s", "--gateway", "istio-system/public", "--exact", "--path", "/x"]).unwrap();
        assert_eq!(p.gateway.unwrap().to_string(), "istio-system/public");
        assert!(p.path.is_exact());
    }

    #[test]
    fn ports_resolve_by_number_name_or_being_the_only_one() {
        let one = json!({"spec": {"ports": [{"name": "http", "port": 8080}]}});
        assert_eq!(resolve_port(&one, None, "d/s").unwrap(), 8080);
        let two = json!({"spec": {"ports": [{"name": "http", "port": 8080}, {"name": "grpc", "port": 9000}]}});
        let e = resolve_port(&two, None, "d/s").unwrap_err().to_string();
        assert_eq!(
            e,
            "service d/s has several ports (http 8080, grpc 9000); choose one with --port"
        );
        assert_eq!(resolve_port(&two, Some(&PortRef::Name("grpc".into())), "d/s").unwrap(), 9000);
        assert_eq!(resolve_port(&two, Some(&PortRef::Number(8080)), "d/s").unwrap(), 8080);
        let e = resolve_port(&two, Some(&PortRef::Name("web".into())), "d/s").unwrap_err();
        assert!(
            e.to_string().contains("\"web\" for --port") && e.to_string().contains("grpc 9000")
        );
        let udp = json!({"spec": {"ports": [{"port": 53, "protocol": "UDP"}]}});
        assert!(resolve_port(&udp, None, "d/s").unwrap_err().to_string().contains("UDP"));
    }
}
