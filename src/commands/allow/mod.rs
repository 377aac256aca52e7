//! `allow TARGET` and `deny TARGET`: write an ALLOW or DENY AuthorizationPolicy for a
//! Service's pods, a selector's pods or a whole namespace, after laying it over the Snapshot
//! and checking whom it would lock out and whether its rule can match as written. A rule is
//! appended to an existing policy of that name; no rule is ever dropped.

pub mod access;
pub mod checks;
pub mod plan;

use std::sync::Arc;

use crate::{
    authz::{Caller, request::resolve_caller},
    cli::{AuthzArgs, GlobalArgs},
    cluster::{Cluster, kinds},
    commands::{
        authz::{
            checks::{Check, Severity, report},
            lay_over,
            scope::Scope,
            snapshot::list_snapshot,
        },
        writes::{EditFn, Intent, Writer},
    },
    error::{ExitStatus, Problems, UsageError},
    mesh::{
        Snapshot,
        authorization_policy::{Action, AuthorizationPolicy},
        meta::ANNOTATION_DRY_RUN,
        policy_build::{
            authorization_policy::{self as build, RuleSpec},
            match_labels,
        },
        validate::{self, Peer, ResultExt},
    },
    output::{Format, Ui},
};

use checks::Checks;
use plan::{Plan, Target};

/// Runs `allow` (`Action::Allow`) or `deny` (`Action::Deny`).
pub async fn run(
    global: &GlobalArgs,
    args: AuthzArgs,
    action: Action,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let plan = Plan::new(&args, action, global.namespace.as_deref())?;
    validate::validate_namespace(&args.istio_namespace).for_flag("--istio-namespace")?;
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Yaml, Format::Json])?;
    let cluster = Cluster::connect(global).await?;
    let namespace = plan.namespace.clone().unwrap_or_else(|| cluster.namespace().to_string());
    validate::validate_namespace(&namespace).for_flag("--namespace")?;

    let resource = cluster.resource(&kinds::AUTHORIZATION_POLICY).await?;
    let loaded = list_snapshot(&cluster, &args.istio_namespace).await?;
    for note in &loaded.notes {
        ui.note(note);
    }
    let snap = loaded.snapshot;
    if snap.namespaces().get("", &namespace).is_none() {
        return Err(UsageError::new(format!("namespace {namespace} not found"))
            .with_hint(format!("check the name with: kubectl get namespace {namespace}"))
            .into());
    }
    let (scope, selector) = scope_of(&plan, &snap, &namespace)?;
    let mut checks = Vec::new();
    if scope == Scope::Mesh {
        checks.push(Check::new(
            Severity::Note,
            None,
            format!("{namespace} is the root namespace: a policy here without a selector applies to every workload of the mesh"),
        ));
    }
    let rule = rule_of(&plan, &snap, &mut checks);
    let rule_value = rule.to_value();

    let live = cluster.get(&resource, Some(&namespace), &plan.name).await?;
    if let Some(live) = &live {
        clash(live, &namespace, &plan, selector.as_ref())?;
        if !plan.dry_run_policy && is_dry_run(live) {
            checks.push(Check::new(
                Severity::Note,
                None,
                format!(
                    "AuthorizationPolicy {namespace}/{} stays istio.io/dry-run; enforce it with: \
                     kubectl annotate authorizationpolicy {} -n {namespace} {ANNOTATION_DRY_RUN}-",
                    plan.name, plan.name
                ),
            ));
        }
    }
    let dry_run = plan.dry_run_policy || live.as_ref().is_some_and(is_dry_run);
    let (intended, intent) = match &live {
        None => {
            let object = build::build(
                &resource.api_version(),
                &namespace,
                &plan.name,
                selector.as_ref(),
                action,
                std::slice::from_ref(&rule_value),
                plan.dry_run_policy,
            );
            (object.clone(), Intent::Apply { resource, object, live: None })
        }
        Some(live) => {
            let next = build::append_rule(live, &rule_value, plan.dry_run_policy)
                .unwrap_or_else(|| live.clone());
            let (rule_value, set_dry_run) = (rule_value.clone(), plan.dry_run_policy);
            let edit: EditFn =
                Arc::new(move |live| Ok(build::append_rule(live, &rule_value, set_dry_run)));
            let fields = vec![vec!["spec", "rules"], vec!["metadata", "annotations"]];
            (next, Intent::Edit { resource, live: live.clone(), fields, edit })
        }
    };

    let after = lay_over::<AuthorizationPolicy>(&snap, &intended, live.as_ref())?;
    checks.extend(
        Checks { before: &snap, after: &after, scope: &scope, action, rule: &rule, dry_run }.run(),
    );
    let what = format!("AuthorizationPolicy {namespace}/{}", plan.name);
    report(&checks, args.write.force, &what, ui)?;

    Writer::new(&cluster, &args.write, format).run(vec![intent], ui).await
}

/// The workloads the policy protects and its selector.
fn scope_of(
    plan: &Plan,
    snap: &Snapshot,
    namespace: &str,
) -> anyhow::Result<(Scope, Option<std::collections::BTreeMap<String, String>>)> {
    let selector = match &plan.target {
        Target::Namespace if namespace == snap.root_namespace() => return Ok((Scope::Mesh, None)),
        Target::Namespace => return Ok((Scope::Namespace(namespace.to_string()), None)),
        Target::Selector(selector) => selector.clone(),
        Target::Service(name) => {
            let Some(svc) = snap.services().get(namespace, name) else {
                return Err(UsageError::new(format!(
                    "invalid value {name:?} for TARGET: service {namespace}/{name} not found; a \
                     TARGET is a Service, a k=v,... pod selector, or `namespace`"
                ))
                .into());
            };
            if !svc.has_selector() {
                return Err(UsageError::new(format!(
                    "invalid value {name:?} for TARGET: service {namespace}/{name} has no pod \
                     selector, so there are no pods to protect; give their labels as k=v instead"
                ))
                .into());
            }
            svc.spec.selector.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        }
    };
    let scope = Scope::Workload { namespace: namespace.to_string(), selector: selector.clone() };
    Ok((scope, Some(selector)))
}

/// The rule, with `sa/` sources and the ingress gateway turned into principals of the mesh's
/// trust domain.
fn rule_of(plan: &Plan, snap: &Snapshot, checks: &mut Vec<Check>) -> RuleSpec {
    let trust_domain = &snap.mesh().trust_domain;
    let mut rule = RuleSpec {
        methods: plan.methods.clone(),
        paths: plan.paths.clone(),
        ports: plan.ports.clone(),
        hosts: plan.hosts.clone(),
        ..RuleSpec::default()
    };
    for peer in &plan.peers {
        let principal = match peer {
            Peer::Any => continue,
            Peer::Namespace(ns) => {
                rule.namespaces.push(ns.clone());
                continue;
            }
            Peer::ServiceAccount { namespace, name } => {
                format!("{trust_domain}/ns/{namespace}/sa/{name}")
            }
            Peer::Principal(p) => p.clone(),
            Peer::Ingress => {
                let gateway = resolve_caller(snap, &Caller::IngressGateway)
                    .expect("the ingress gateway always resolves, to Istio's default if need be");
                let account = gateway.service_account.clone().unwrap_or_default();
                let found =
                    snap.pods().iter().any(|p| p.metadata.label("istio") == Some("ingressgateway"));
                let (severity, message) = match (found, gateway.inferred) {
                    (false, _) => (
                        Severity::Warn,
                        format!(
                            "no ingress gateway pod (label istio=ingressgateway) was found; using \
                             Istio's default account {}/{account}",
                            gateway.namespace
                        ),
                    ),
                    (true, true) => (
                        Severity::Warn,
                        format!(
                            "the service account of {} could not be read from its controller; \
                             assuming {account}",
                            gateway.description
                        ),
                    ),
                    (true, false) => {
                        (Severity::Note, format!("--from ingress is {}", gateway.description))
                    }
                };
                checks.push(Check::new(severity, None, message));
                format!("{trust_domain}/ns/{}/sa/{account}", gateway.namespace)
            }
        };
        if !rule.principals.contains(&principal) {
            rule.principals.push(principal);
        }
    }
    rule
}

fn is_dry_run(object: &serde_json::Value) -> bool {
    object
        .pointer(&format!("/metadata/annotations/{}", ANNOTATION_DRY_RUN.replace('/', "~1")))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|v| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// An existing policy of that name must have the same action and selector.
fn clash(
    live: &serde_json::Value,
    namespace: &str,
    plan: &Plan,
    selector: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<(), Problems> {
    let what = format!("AuthorizationPolicy {namespace}/{}", plan.name);
    let hint = "give the new policy another name with --name";
    let have = build::action_of(live);
    if have != plan.action {
        return Err(Problems::new(format!(
            "{what} exists with action {have}, not {}; nothing was written",
            plan.action
        ))
        .with_hint(hint));
    }
    let labels = match_labels(live);
    if labels != selector.cloned().unwrap_or_default() {
        let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let applies = if pairs.is_empty() {
            "every workload of the namespace".to_string()
        } else {
            format!("pods {}", pairs.join(","))
        };
        return Err(Problems::new(format!(
            "{what} exists and applies to {applies}; nothing was written"
        ))
        .with_hint(hint));
    }
    Ok(())
}
