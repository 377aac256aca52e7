//! Where an exposed Service can be reached: URLs from the gateway's load-balancer address, a
//! node port, or a `kubectl port-forward`, with a `curl` line for named hosts that DNS may not
//! resolve yet.

use super::{Exposure, HTTP_PORT, HTTPS_PORT};

/// How one gateway port is reached from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// A load-balancer IP or host name, on the Service port.
    Address { host: String, port: u16 },
    /// A node's address (when known) and the node port.
    NodePort { node: Option<String>, port: u16 },
    /// Only through `kubectl port-forward` to the gateway Service's `port`.
    PortForward { namespace: String, service: String, port: u16 },
}

/// The local port a port-forward uses for a gateway port.
fn local_port(gateway_port: u16) -> u16 {
    if gateway_port == HTTPS_PORT { 8443 } else { 8080 }
}

impl Reach {
    /// `host[:port]` to connect to, with the default port of `scheme` left out.
    fn authority(&self, scheme: &str) -> (String, u16) {
        match self {
            Reach::Address { host, port } => (host.clone(), *port),
            Reach::NodePort { node, port } => {
                (node.clone().unwrap_or_else(|| "NODE".to_string()), *port)
            }
            Reach::PortForward { .. } => {
                let gateway_port = if scheme == "https" { HTTPS_PORT } else { HTTP_PORT };
                ("localhost".to_string(), local_port(gateway_port))
            }
        }
    }
}

fn with_port(scheme: &str, host: &str, port: u16) -> String {
    let default = if scheme == "https" { HTTPS_PORT } else { HTTP_PORT };
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    if port == default { host } else { format!("{host}:{port}") }
}

/// The lines to print: a `kubectl port-forward` to run first when needed, then one URL per
/// host and scheme, each named host followed by a `curl` line that reaches it through the
/// gateway address.
pub fn lines(exposure: &Exposure, http: &Reach, https: Option<&Reach>) -> Vec<String> {
    let mut out = Vec::new();
    let ports: Vec<(u16, &Reach)> =
        std::iter::once((HTTP_PORT, http)).chain(https.map(|r| (HTTPS_PORT, r))).collect();
    let forwards: Vec<String> = ports
        .iter()
        .filter_map(|(gateway_port, r)| match r {
            Reach::PortForward { port, .. } => {
                Some(format!("{}:{port}", local_port(*gateway_port)))
            }
            _ => None,
        })
        .collect();
    if let Some((_, Reach::PortForward { namespace, service, .. })) =
        ports.iter().find(|(_, r)| matches!(r, Reach::PortForward { .. }))
    {
        out.push(format!(
            "first run: kubectl port-forward -n {namespace} svc/{service} {}",
            forwards.join(" ")
        ));
    }

    let path = exposure.path.path();
    let redirect = exposure.tls.as_ref().is_some_and(|t| t.redirect);
    for (gateway_port, reach) in ports {
        let scheme = if gateway_port == HTTPS_PORT { "https" } else { "http" };
        let (address, port) = reach.authority(scheme);
        let base = format!("{scheme}://{}{path}", with_port(scheme, &address, port));
        let suffix = if scheme == "http" && redirect { " (redirects to HTTPS)" } else { "" };
        for host in &exposure.hosts {
            if host == "*" {
                out.push(format!("{base}{suffix}"));
                continue;
            }
            let example = host.replacen('*', "www", 1);
            out.push(format!("{scheme}://{host}{path}{suffix}"));
            let try_line = if scheme == "https" {
                format!(
                    "curl --connect-to {example}:{HTTPS_PORT}:{address}:{port} \
                     https://{example}{path}"
                )
            } else {
                format!("curl -H 'Host: {example}' {base}")
            };
            out.push(format!("  try: {try_line}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::expose::{Backend, PathRule, Tls};

    fn exposure(hosts: &[&str], tls: Option<Tls>) -> Exposure {
        Exposure {
            backend: Backend::new("my-service", "default", "cluster.local"),
            port: 8080,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            path: PathRule::Prefix("/my-service".into()),
            rewrite: None,
            tls,
        }
    }

    #[test]
    fn a_load_balancer_address_gives_plain_urls() {
        let lb = Reach::Address { host: "203.0.113.10".into(), port: 80 };
        assert_eq!(lines(&exposure(&["*"], None), &lb, None), ["http://203.0.113.10/my-service"]);
        let named = lines(&exposure(&["shop.example.com"], None), &lb, None);
        assert_eq!(
            named,
            [
                "http://shop.example.com/my-service",
                "  try: curl -H 'Host: shop.example.com' http://203.0.113.10/my-service"
            ]
        );
    }

    #[test]
    fn https_uses_connect_to_so_sni_matches() {
        let tls = Some(Tls { secret: "c".into(), redirect: true });
        let http = Reach::Address { host: "lb.example.net".into(), port: 80 };
        let https = Reach::Address { host: "lb.example.net".into(), port: 443 };
        let out = lines(&exposure(&["shop.example.com"], tls), &http, Some(&https));
        assert_eq!(out[0], "http://shop.example.com/my-service (redirects to HTTPS)");
        assert_eq!(
            out[3],
            "  try: curl --connect-to shop.example.com:443:lb.example.net:443 \
             https://shop.example.com/my-service"
        );
    }

    #[test]
    fn node_ports_and_port_forwards() {
        let node = Reach::NodePort { node: Some("10.0.0.7".into()), port: 31380 };
        assert_eq!(
            lines(&exposure(&["*"], None), &node, None),
            ["http://10.0.0.7:31380/my-service"]
        );
        let unknown = Reach::NodePort { node: None, port: 31380 };
        assert_eq!(
            lines(&exposure(&["*"], None), &unknown, None),
            ["http://NODE:31380/my-service"]
        );
        let pf = |port| Reach::PortForward {
            namespace: "istio-system".into(),
            service: "istio-ingressgateway".into(),
            port,
        };
        let tls = Some(Tls { secret: "c".into(), redirect: false });
        let out = lines(&exposure(&["*"], tls), &pf(80), Some(&pf(443)));
        assert_eq!(
            out,
            [
                "first run: kubectl port-forward -n istio-system svc/istio-ingressgateway 8080:80 8443:443",
                "http://localhost:8080/my-service",
                "https://localhost:8443/my-service"
            ]
        );
    }
}
