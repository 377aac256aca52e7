//! What `allow` or `deny` was asked to write, validated with Istio's rules before anything is
//! sent.

use std::collections::BTreeMap;

use crate::{
    cli::AuthzArgs,
    commands::mtls::plan::name_after,
    error::UsageError,
    mesh::{
        authorization_policy::Action,
        validate::{
            self, Peer, ResultExt, parse_authz_port, parse_label_map, parse_method, parse_peer,
            validate_authz_host, validate_authz_path,
        },
    },
};

/// The TARGET word that means every workload of the namespace.
pub const NAMESPACE_TARGET: &str = "namespace";

/// What the policy protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every workload of the namespace.
    Namespace,
    /// The pods carrying these labels.
    Selector(BTreeMap<String, String>),
    /// The pods a Service selects.
    Service(String),
}

/// A validated `allow` or `deny` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub action: Action,
    /// `-n`, when given.
    pub namespace: Option<String>,
    pub target: Target,
    pub name: String,
    pub peers: Vec<Peer>,
    pub methods: Vec<String>,
    pub paths: Vec<String>,
    pub ports: Vec<String>,
    pub hosts: Vec<String>,
    pub dry_run_policy: bool,
}

impl Plan {
    /// Checks every flag; `namespace_flag` is `-n`.
    pub fn new(
        args: &AuthzArgs,
        action: Action,
        namespace_flag: Option<&str>,
    ) -> anyhow::Result<Self> {
        if let Some(ns) = namespace_flag {
            validate::validate_namespace(ns).for_flag("--namespace")?;
        }
        let target = if args.target == NAMESPACE_TARGET {
            Target::Namespace
        } else if args.target.contains('=') {
            Target::Selector(parse_label_map(&args.target).for_flag("TARGET")?)
        } else {
            validate::k8s::validate_dns1123_label(&args.target).map_err(|e| {
                validate::ValidationError::new(
                    "TARGET",
                    &args.target,
                    format!(
                        "a TARGET is a Service name, a k=v,... pod selector, or `namespace`; as a \
                         Service name: {}",
                        e.allowed()
                    ),
                )
            })?;
            Target::Service(args.target.clone())
        };

        let mut peers: Vec<Peer> = Vec::new();
        for text in &args.from {
            let peer = parse_peer(text).for_flag("--from")?;
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
        if peers.len() > 1 && peers.contains(&Peer::Any) {
            return Err(UsageError::new(
                "invalid value \"any\" for --from: any matches every caller, so the other --from \
                 values add nothing; give either any or the callers",
            )
            .into());
        }

        let mut methods = Vec::new();
        for m in &args.methods {
            methods.push(parse_method(m).for_flag("--methods")?.to_string());
        }
        for p in &args.paths {
            validate_authz_path(p).for_flag("--paths")?;
        }
        let mut ports = Vec::new();
        for p in &args.ports {
            ports.push(parse_authz_port(p).for_flag("--ports")?.to_string());
        }
        for h in &args.hosts {
            validate_authz_host(h).for_flag("--hosts")?;
        }

        let suffix = match action {
            Action::Deny => "deny",
            _ => "allow",
        };
        let name = match (&args.name, &target) {
            (Some(name), _) => {
                validate::validate_object_name(name).for_flag("--name")?;
                name.clone()
            }
            (None, Target::Namespace) => format!("{NAMESPACE_TARGET}-{suffix}"),
            (None, Target::Service(service)) => format!("{service}-{suffix}"),
            (None, Target::Selector(selector)) => format!("{}-{suffix}", name_after(selector)?),
        };
        validate::validate_object_name(&name).for_flag("--name")?;

        Ok(Self {
            action,
            namespace: namespace_flag.map(str::to_string),
            target,
            name,
            peers,
            methods: dedup(methods),
            paths: dedup(args.paths.clone()),
            ports: dedup(ports),
            hosts: dedup(args.hosts.clone()),
            dry_run_policy: args.dry_run_policy,
        })
    }
}

fn dedup(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::WriteArgs;

    fn args(target: &str, from: &[&str], f: impl FnOnce(&mut AuthzArgs)) -> AuthzArgs {
        let mut a = AuthzArgs {
            target: target.into(),
            from: from.iter().map(|s| s.to_string()).collect(),
            methods: Vec::new(),
            paths: Vec::new(),
            ports: Vec::new(),
            hosts: Vec::new(),
            name: None,
            dry_run_policy: false,
            istio_namespace: "istio-system".into(),
            write: WriteArgs::default(),
        };
        f(&mut a);
        a
    }

    fn error(a: AuthzArgs) -> String {
        Plan::new(&a, Action::Allow, None).unwrap_err().to_string()
    }

    #[test]
    fn targets_and_default_names() {
        let p =
            Plan::new(&args("app=my-service", &["ingress"], |_| {}), Action::Allow, None).unwrap();
        assert_eq!(p.target, Target::Selector([("app".into(), "my-service".into())].into()));
        assert_eq!(p.name, "my-service-allow");
        let p = Plan::new(&args("cart", &["ns/shop"], |_| {}), Action::Deny, Some("shop")).unwrap();
        assert_eq!((p.target, p.name.as_str()), (Target::Service("cart".into()), "cart-deny"));
        let p = Plan::new(&args("namespace", &["any"], |_| {}), Action::Allow, None).unwrap();
        assert_eq!((p.target, p.name.as_str()), (Target::Namespace, "namespace-allow"));
    }

    #[test]
    fn values_are_checked_as_istio_checks_them() {
        let ok = Plan::new(
            &args("cart", &["sa/shop/web", "sa/shop/web", "cluster.local/ns/a/sa/b"], |a| {
                a.methods = vec!["GET".into(), "POST".into()];
                a.paths = vec!["/api/*".into(), "/items/{*}/detail".into(), "*.css".into()];
                a.ports = vec!["8080".into()];
                a.hosts = vec!["*.example.com".into()];
            }),
            Action::Allow,
            None,
        )
        .unwrap();
        assert_eq!(ok.peers.len(), 2, "duplicates are dropped");
        assert!(error(args("cart", &["shop"], |_| {})).contains("for --from"));
        assert!(error(args("cart", &["any", "ns/x"], |_| {})).contains("any matches every caller"));
        assert!(
            error(args("cart", &["any"], |a| a.methods = vec!["get".into()]))
                .contains("for --methods")
        );
        assert!(
            error(args("cart", &["any"], |a| a.paths = vec!["api".into()])).contains("for --paths")
        );
        assert!(
            error(args("cart", &["any"], |a| a.ports = vec!["http".into()]))
                .contains("for --ports")
        );
        assert!(
            error(args("cart", &["any"], |a| a.hosts = vec!["a*b*".into()]))
                .contains("for --hosts")
        );
        assert!(error(args("Cart", &["any"], |_| {})).contains("for TARGET"));
        assert!(
            error(args("app", &["any"], |a| a.name = Some("x_y".into()))).contains("for --name")
        );
        assert!(error(args("=x", &["any"], |_| {})).contains("for TARGET"));
    }
}
