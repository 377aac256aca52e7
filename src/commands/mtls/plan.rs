//! What `mtls` was asked to write, validated with Istio's rules before anything is sent.

use std::collections::BTreeMap;

use crate::{
    cli::MtlsArgs,
    error::UsageError,
    mesh::validate::{
        self, MtlsMode, ResultExt, ValidationError, check_port_level_needs_selector,
        parse_label_map, parse_mtls_mode, parse_port_mode,
    },
};

/// The name of a mesh- or namespace-wide PeerAuthentication.
pub const DEFAULT_NAME: &str = "default";

/// Where the policy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The root namespace, no selector.
    Mesh,
    /// A namespace (`None`: the current one), no selector.
    Namespace(Option<String>),
    /// The pods of a namespace that carry the selector's labels.
    Workload { namespace: Option<String>, selector: BTreeMap<String, String> },
}

/// A validated `mtls` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub target: Target,
    pub name: String,
    pub mode: Option<MtlsMode>,
    /// Port-level modes by container port, sorted; each with the `--port` value it came from.
    pub ports: Vec<(u16, MtlsMode, String)>,
}

impl Plan {
    /// Checks every flag; `namespace_flag` is `-n`.
    pub fn new(args: &MtlsArgs, namespace_flag: Option<&str>) -> anyhow::Result<Self> {
        let namespace = match (args.namespace.as_deref(), namespace_flag) {
            (Some(a), Some(b)) if a != b => {
                return Err(UsageError::new(format!(
                    "the namespace is given twice, as {a} and with -n {b}; give one"
                ))
                .into());
            }
            (Some(ns), _) | (None, Some(ns)) => {
                validate::validate_namespace(ns).for_flag("NS")?;
                Some(ns.to_string())
            }
            (None, None) => None,
        };
        let mode = args.mode.as_deref().map(parse_mtls_mode).transpose().for_flag("--mode")?;

        let mut ports: Vec<(u16, MtlsMode, String)> = Vec::new();
        for text in &args.ports {
            let (port, mode) = parse_port_mode(text).for_flag("--port")?;
            if ports.iter().any(|(p, _, _)| *p == port) {
                return Err(ValidationError::new(
                    "--port",
                    text,
                    format!("port {port} is given more than once"),
                )
                .into());
            }
            ports.push((port, mode, text.clone()));
        }
        ports.sort_by_key(|(port, _, _)| *port);

        let selector =
            args.selector.as_deref().map(parse_label_map).transpose().for_flag("--selector")?;
        let labels = selector.as_ref().map_or(0, BTreeMap::len);
        if let (Err(e), Some((_, _, first))) =
            (check_port_level_needs_selector(labels, ports.len()), ports.first())
        {
            return Err(ValidationError::new("--port", first, e.allowed()).into());
        }

        let target = match (args.mesh, selector) {
            (true, _) => Target::Mesh,
            (false, Some(selector)) => Target::Workload { namespace, selector },
            (false, None) => Target::Namespace(namespace),
        };
        let name = match (&args.name, &target) {
            (Some(name), _) => {
                validate::validate_object_name(name).for_flag("--name")?;
                name.clone()
            }
            (None, Target::Workload { selector, .. }) => name_after(selector)?,
            (None, _) => DEFAULT_NAME.to_string(),
        };
        Ok(Self { target, name, mode, ports })
    }

    /// The port-level modes without the flag text.
    pub fn port_modes(&self) -> Vec<(u16, MtlsMode)> {
        self.ports.iter().map(|(p, m, _)| (*p, *m)).collect()
    }
}

/// The name of a workload policy: the workload's `app.kubernetes.io/name` or `app` label, else
/// the selector's values joined by `-`.
pub fn name_after(selector: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let name = ["app.kubernetes.io/name", "app"]
        .iter()
        .find_map(|k| selector.get(*k).filter(|v| !v.is_empty()).cloned())
        .unwrap_or_else(|| {
            let values: Vec<&str> =
                selector.values().map(String::as_str).filter(|v| !v.is_empty()).collect();
            values.join("-").to_ascii_lowercase()
        });
    if validate::validate_object_name(&name).is_err() {
        let sel: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return Err(UsageError::new(format!(
            "cannot name the policy after the selector {}: {name:?} is not a valid object name; \
             give one with --name",
            sel.join(",")
        ))
        .into());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::WriteArgs;

    fn args(f: impl FnOnce(&mut MtlsArgs)) -> MtlsArgs {
        let mut a = MtlsArgs {
            namespace: None,
            mode: Some("STRICT".into()),
            selector: None,
            name: None,
            ports: Vec::new(),
            mesh: false,
            istio_namespace: "istio-system".into(),
            write: WriteArgs::default(),
        };
        f(&mut a);
        a
    }

    fn error(a: MtlsArgs) -> String {
        Plan::new(&a, None).unwrap_err().to_string()
    }

    #[test]
    fn namespace_policies_are_called_default() {
        let plan = Plan::new(&args(|a| a.namespace = Some("shop".into())), None).unwrap();
        assert_eq!(plan.target, Target::Namespace(Some("shop".into())));
        assert_eq!(plan.name, "default");
        assert_eq!(plan.mode, Some(MtlsMode::Strict));
        let plan = Plan::new(&args(|a| a.mesh = true), None).unwrap();
        assert_eq!((plan.target, plan.name.as_str()), (Target::Mesh, "default"));
    }

    #[test]
    fn workload_policies_are_named_after_the_workload() {
        let plan = Plan::new(
            &args(|a| {
                a.selector = Some("app=web,tier=front".into());
                a.ports = vec!["9090=PERMISSIVE".into(), "8080=DISABLE".into()];
            }),
            Some("shop"),
        )
        .unwrap();
        assert_eq!(plan.name, "web");
        assert_eq!(plan.port_modes(), [(8080, MtlsMode::Disable), (9090, MtlsMode::Permissive)]);
        let by_values = name_after(&[("tier".to_string(), "front".to_string())].into()).unwrap();
        assert_eq!(by_values, "front");
        assert!(name_after(&[("x".to_string(), "A_B".to_string())].into()).is_err());
    }

    #[test]
    fn bad_input_names_the_flag() {
        assert!(error(args(|a| a.mode = Some("strict".into()))).contains("for --mode"));
        let no_selector = error(args(|a| a.ports = vec!["8080=DISABLE".into()]));
        assert!(no_selector.contains("\"8080=DISABLE\" for --port"), "{no_selector}");
        assert!(no_selector.contains("selector"), "{no_selector}");
        assert!(error(args(|a| a.selector = Some("app".into()))).contains("for --selector"));
        assert!(error(args(|a| a.name = Some("Bad".into()))).contains("for --name"));
        assert!(error(args(|a| a.namespace = Some("Shop".into()))).contains("for NS"));
        let twice = error(args(|a| {
            a.selector = Some("app=web".into());
            a.ports = vec!["80=STRICT".into(), "80=DISABLE".into()];
        }));
        assert!(twice.contains("more than once"), "{twice}");
        let both = Plan::new(&args(|a| a.namespace = Some("a".into())), Some("b"));
        assert!(both.unwrap_err().to_string().contains("given twice"));
    }
}
