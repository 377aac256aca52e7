//! What `can` is asked, parsed and validated before anything is read: the caller, the
//! destination and the request's details, from the command line or from one line of a batch
//! file. Namespaces left out are filled in later from `-n` (or the context), and a missing
//! port from the destination once the Snapshot is read.

use crate::authz::{Caller, Request, Target};
use crate::error::UsageError;
use crate::mesh::host::parse_service_host;
use crate::mesh::snapshot::Snapshot;
use crate::mesh::validate::{
    ResultExt, ValidationError, parse_header, parse_method, parse_port, parse_service_account,
    validate_authz_host, validate_fqdn, validate_namespace, validate_object_name,
    validate_request_path,
};

const FROM_FORMS: &str = "callers are ns/NAMESPACE/sa/SERVICE_ACCOUNT, pod/NAME, NAMESPACE/pod/NAME, ingress or plaintext";
const TO_FORMS: &str = "destinations are NAME or svc/NAME (a Service in -n), NAMESPACE/svc/NAME, a \
                        host such as NAME.NAMESPACE.svc.cluster.local, pod/NAME or NAMESPACE/pod/NAME";

/// Who sends the request, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    /// `ns/NS/sa/SA` or `sa/NS/SA`: a workload identity with a sidecar.
    Identity { namespace: String, service_account: String },
    /// `pod/NAME` or `NS/pod/NAME`.
    Pod { namespace: Option<String>, name: String },
    /// `ingress`.
    Ingress,
    /// `plaintext`.
    Plaintext,
}

/// Where it goes, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// `NAME`, `svc/NAME` or `NS/svc/NAME`.
    Service { namespace: Option<String>, name: String },
    /// A dotted host: a Service FQDN or a ServiceEntry host.
    Host(String),
    /// `pod/NAME` or `NS/pod/NAME`.
    Pod { namespace: Option<String>, name: String },
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub from: From,
    pub to: To,
    pub port: Option<u16>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub headers: Vec<(String, String)>,
    /// `-n` given on a batch line.
    pub namespace: Option<String>,
}

/// The request's details as typed on the command line.
#[derive(Debug, Default)]
pub struct Details<'a> {
    pub port: Option<&'a str>,
    pub method: Option<&'a str>,
    pub path: Option<&'a str>,
    pub host: Option<&'a str>,
    pub headers: Vec<&'a str>,
    pub namespace: Option<&'a str>,
}

impl Query {
    /// Validates a query.
    pub fn parse(from: &str, to: &str, d: &Details<'_>) -> Result<Query, ValidationError> {
        let port = d.port.map(|p| parse_port(p).for_flag("--port")).transpose()?;
        let method = match d.method {
            Some("*") => {
                return Err(ValidationError::new("--method", "*", "give one method, e.g. GET"));
            }
            Some(m) => Some(parse_method(m).for_flag("--method")?.to_string()),
            None => None,
        };
        if let Some(p) = d.path {
            validate_request_path(p).for_flag("--path")?;
        }
        if let Some(h) = d.host {
            validate_authz_host(h).for_flag("--host")?;
            if h.contains('*') {
                return Err(ValidationError::new(
                    "--host",
                    h,
                    "give the Host header a client sends",
                ));
            }
        }
        let headers = d
            .headers
            .iter()
            .map(|h| parse_header(h).for_flag("--header"))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(ns) = d.namespace {
            validate_namespace(ns).for_flag("--namespace")?;
        }
        Ok(Query {
            from: parse_from(from)?,
            to: parse_to(to)?,
            port,
            method,
            path: d.path.map(str::to_string),
            host: d.host.map(str::to_string),
            headers,
            namespace: d.namespace.map(str::to_string),
        })
    }

    /// The request to evaluate, with namespaces defaulted to `namespace` and the port to the
    /// destination's only port.
    pub fn request(&self, snapshot: &Snapshot, namespace: &str) -> Result<Request, UsageError> {
        let ns = self.namespace.as_deref().unwrap_or(namespace);
        let from = match &self.from {
            From::Identity { namespace, service_account } => Caller::Identity {
                namespace: namespace.clone(),
                service_account: service_account.clone(),
                sidecar: true,
            },
            From::Pod { namespace, name } => Caller::Pod {
                namespace: namespace.clone().unwrap_or_else(|| ns.to_string()),
                name: name.clone(),
            },
            From::Ingress => Caller::IngressGateway,
            From::Plaintext => Caller::Plaintext,
        };
        let to = match &self.to {
            To::Service { namespace, name } => {
                let namespace = namespace.clone().unwrap_or_else(|| ns.to_string());
                let port = self.port_or_only(|| service_ports(snapshot, &namespace, name))?;
                Target::Service { namespace, name: name.clone(), port }
            }
            To::Host(host) => {
                let port = self.port_or_only(|| host_ports(snapshot, ns, host))?;
                Target::Service { namespace: ns.to_string(), name: host.clone(), port }
            }
            To::Pod { namespace, name } => {
                let namespace = namespace.clone().unwrap_or_else(|| ns.to_string());
                let port = self.port_or_only(|| pod_ports(snapshot, &namespace, name))?;
                Target::Pod { namespace, name: name.clone(), port }
            }
        };
        let mut request = Request::new(from, to);
        request.method.clone_from(&self.method);
        request.path.clone_from(&self.path);
        request.host.clone_from(&self.host);
        request.headers.clone_from(&self.headers);
        Ok(request)
    }

    fn port_or_only(
        &self,
        ports: impl FnOnce() -> Option<(String, Vec<u16>)>,
    ) -> Result<u16, UsageError> {
        if let Some(p) = self.port {
            return Ok(p);
        }
        match ports() {
            Some((_, list)) if list.len() == 1 => Ok(list[0]),
            Some((what, list)) if list.is_empty() => {
                Err(UsageError::new(format!("{what} declares no port: give --port")))
            }
            Some((what, list)) => {
                let list: Vec<String> = list.iter().map(u16::to_string).collect();
                Err(UsageError::new(format!(
                    "{what} has several ports ({}): give --port",
                    list.join(", ")
                )))
            }
            // Not found: the evaluator names what is missing.
            None => Ok(0),
        }
    }
}

fn service_ports(snapshot: &Snapshot, ns: &str, name: &str) -> Option<(String, Vec<u16>)> {
    let svc = snapshot.services().get(ns, name)?;
    Some((format!("service {ns}/{name}"), svc.spec.ports.iter().map(|p| p.port).collect()))
}

fn host_ports(snapshot: &Snapshot, ns: &str, host: &str) -> Option<(String, Vec<u16>)> {
    if let Some((name, svc_ns)) = parse_service_host(host, snapshot.cluster_domain()) {
        return service_ports(snapshot, svc_ns, name);
    }
    let entries = snapshot.service_entries();
    let has = |e: &&crate::mesh::Entry<_>| {
        let se: &crate::mesh::service_entry::ServiceEntry = e;
        se.spec.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    };
    let se = entries.in_namespace(ns).find(has).or_else(|| entries.iter().find(has))?;
    let ports = se.spec.ports.iter().filter_map(|p| u16::try_from(p.number).ok()).collect();
    Some((format!("host {host}"), ports))
}

fn pod_ports(snapshot: &Snapshot, ns: &str, name: &str) -> Option<(String, Vec<u16>)> {
    let id = snapshot.pods().id(ns, name)?;
    let w = snapshot.workload_of_pod(id);
    let mut ports: Vec<u16> = w.ports.iter().map(|p| p.container_port).collect();
    ports.sort_unstable();
    ports.dedup();
    Some((format!("pod {ns}/{name}"), ports))
}

/// Parses FROM.
pub fn parse_from(s: &str) -> Result<From, ValidationError> {
    let err = || ValidationError::new("FROM", s, FROM_FORMS);
    let parts: Vec<&str> = s.split('/').collect();
    let identity = |ns: &str, sa: &str| {
        let account = parse_service_account(&format!("{ns}/{sa}"))
            .map_err(|e| ValidationError::new("FROM", s, e.allowed()))?;
        Ok(From::Identity { namespace: ns.to_string(), service_account: account.name })
    };
    match parts.as_slice() {
        ["ingress"] => Ok(From::Ingress),
        ["plaintext"] => Ok(From::Plaintext),
        ["ns", ns, "sa", sa] | ["sa", ns, sa] => identity(ns, sa),
        ["pod", name] => Ok(From::Pod { namespace: None, name: object(s, "FROM", name)? }),
        [ns, "pod", name] => Ok(From::Pod {
            namespace: Some(namespace(s, "FROM", ns)?),
            name: object(s, "FROM", name)?,
        }),
        _ => Err(err()),
    }
}

/// Parses TO.
pub fn parse_to(s: &str) -> Result<To, ValidationError> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        ["svc" | "service" | "services", name] => {
            Ok(To::Service { namespace: None, name: object(s, "TO", name)? })
        }
        [ns, "svc" | "service" | "services", name] => Ok(To::Service {
            namespace: Some(namespace(s, "TO", ns)?),
            name: object(s, "TO", name)?,
        }),
        ["pod" | "pods", name] => Ok(To::Pod { namespace: None, name: object(s, "TO", name)? }),
        [ns, "pod" | "pods", name] => {
            Ok(To::Pod { namespace: Some(namespace(s, "TO", ns)?), name: object(s, "TO", name)? })
        }
        [name] if name.contains('.') => match validate_fqdn(name) {
            Ok(()) => Ok(To::Host(name.to_ascii_lowercase())),
            Err(e) => Err(ValidationError::new("TO", s, e.allowed())),
        },
        [name] => Ok(To::Service { namespace: None, name: object(s, "TO", name)? }),
        _ => Err(ValidationError::new("TO", s, TO_FORMS)),
    }
}

fn object(whole: &str, what: &str, name: &str) -> Result<String, ValidationError> {
    validate_object_name(name)
        .map(|()| name.to_string())
        .map_err(|e| ValidationError::new(what, whole, e.allowed()))
}

fn namespace(whole: &str, what: &str, ns: &str) -> Result<String, ValidationError> {
    validate_namespace(ns)
        .map(|()| ns.to_string())
        .map_err(|e| ValidationError::new(what, whole, e.allowed()))
}

/// Parses one line of a batch file: `FROM TO [flags]`, `#` comments and blank lines give
/// `None`. Flags: `--port`, `--method`, `--path`, `--host`, `--header`/`-H` (repeatable) and
/// `-n`/`--namespace`, each as `--flag VALUE` or `--flag=VALUE`; values may be quoted.
pub fn parse_line(line: &str) -> Result<Option<Query>, String> {
    let words = split_words(line)?;
    if words.is_empty() || words[0].starts_with('#') {
        return Ok(None);
    }
    let mut positional = Vec::new();
    let mut d = Details::default();
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        i += 1;
        if !word.starts_with('-') || word == "-" {
            positional.push(word);
            continue;
        }
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (word, None),
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let Some(v) = words.get(i) else { return Err(format!("{flag} needs a value")) };
                i += 1;
                v.as_str()
            }
        };
        match flag {
            "--port" => d.port = Some(value),
            "--method" => d.method = Some(value),
            "--path" => d.path = Some(value),
            "--host" => d.host = Some(value),
            "--header" | "-H" => d.headers.push(value),
            "-n" | "--namespace" => d.namespace = Some(value),
            other => {
                return Err(format!(
                    "unknown flag {other} (a query takes --port, --method, --path, --host, \
                     --header and -n)"
                ));
            }
        }
    }
    match positional.as_slice() {
        [from, to] => Query::parse(from, to, &d).map(Some).map_err(|e| e.to_string()),
        _ => Err(format!(
            "a query is FROM TO [flags], got {} words before the flags",
            positional.len()
        )),
    }
}

/// Splits a line into words: whitespace separates, single quotes keep everything, double
/// quotes keep everything but `\"` and `\\`.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_and_destinations() {
        let id = |ns: &str, sa: &str| From::Identity {
            namespace: ns.into(),
            service_account: sa.into(),
        };
        assert_eq!(parse_from("ns/foo/sa/sleep").unwrap(), id("foo", "sleep"));
        assert_eq!(parse_from("sa/foo/sleep").unwrap(), id("foo", "sleep"));
        assert_eq!(
            parse_from("pod/web-0").unwrap(),
            From::Pod { namespace: None, name: "web-0".into() }
        );
        assert_eq!(
            parse_from("shop/pod/web-0").unwrap(),
            From::Pod { namespace: Some("shop".into()), name: "web-0".into() }
        );
        assert_eq!(parse_from("ingress").unwrap(), From::Ingress);
        assert_eq!(parse_from("plaintext").unwrap(), From::Plaintext);
        for bad in
            ["foo/sleep", "ns/Foo/sa/sleep", "ns/foo/sa/", "pod/", "sa/foo/*", "", "x/y/z/w/v"]
        {
            let e = parse_from(bad).unwrap_err().to_string();
            assert!(e.contains("for FROM"), "{bad:?}: {e}");
        }
        let svc = |ns: Option<&str>, n: &str| To::Service {
            namespace: ns.map(Into::into),
            name: n.into(),
        };
        assert_eq!(parse_to("httpbin").unwrap(), svc(None, "httpbin"));
        assert_eq!(parse_to("svc/httpbin").unwrap(), svc(None, "httpbin"));
        assert_eq!(parse_to("foo/svc/httpbin").unwrap(), svc(Some("foo"), "httpbin"));
        assert_eq!(parse_to("foo/service/httpbin").unwrap(), svc(Some("foo"), "httpbin"));
        assert_eq!(
            parse_to("HTTPBIN.foo.svc.cluster.local").unwrap(),
            To::Host("httpbin.foo.svc.cluster.local".into())
        );
        assert_eq!(
            parse_to("foo/pod/a").unwrap(),
            To::Pod { namespace: Some("foo".into()), name: "a".into() }
        );
        for bad in ["foo/httpbin", "svc/", "Foo/svc/x", "a..b", "x/y/z/w"] {
            assert!(parse_to(bad).unwrap_err().to_string().contains("for TO"), "{bad:?}");
        }
    }

    #[test]
    fn lines_take_flags_and_quotes() {
        let q =
            parse_line("ns/foo/sa/sleep svc/httpbin --port 8000 --path=/ip -H 'x-a=b c' -n bar")
                .unwrap()
                .unwrap();
        assert_eq!(q.port, Some(8000));
        assert_eq!(q.path.as_deref(), Some("/ip"));
        assert_eq!(q.headers, vec![("x-a".to_string(), "b c".to_string())]);
        assert_eq!(q.namespace.as_deref(), Some("bar"));
        assert_eq!(parse_line("   # a comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        let q = parse_line(r#"plaintext httpbin --header "x-q=say \"hi\"""#).unwrap().unwrap();
        assert_eq!(q.headers[0].1, "say \"hi\"");
        for (bad, why) in [
            ("ns/foo/sa/sleep", "FROM TO"),
            ("ns/foo/sa/sleep svc/a --port", "needs a value"),
            ("ns/foo/sa/sleep svc/a --port 0", "--port"),
            ("ns/foo/sa/sleep svc/a --verb GET", "unknown flag"),
            ("ns/foo/sa/sleep svc/a --method get", "--method"),
            ("ns/foo/sa/sleep svc/a --path x", "--path"),
            ("ns/foo/sa/sleep 'svc/a", "unclosed"),
        ] {
            let e = parse_line(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
