//! `mtls [NS] --mode MODE`: write the PeerAuthentication of the mesh, a namespace or a
//! workload, after laying it over the Snapshot and checking whom it would cut off.

pub mod plan;
pub mod preflight;

use std::sync::Arc;

use crate::{
    cli::{GlobalArgs, MtlsArgs},
    cluster::{Cluster, kinds},
    commands::{
        authz::{checks::report, lay_over, scope::Scope, snapshot::list_snapshot},
        writes::{EditFn, Intent, Writer},
    },
    error::{ExitStatus, Problems, UsageError},
    mesh::{
        peer_authentication::PeerAuthentication,
        policy_build::{
            match_labels,
            peer_authentication::{self, PeerSpec},
        },
        validate::{self, ResultExt},
    },
    output::{Format, Ui},
};

use plan::{Plan, Target};
use preflight::{Preflight, check_ports};

/// Runs `mtls`.
pub async fn run(global: &GlobalArgs, args: MtlsArgs, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    let plan = Plan::new(&args, global.namespace.as_deref())?;
    validate::validate_namespace(&args.istio_namespace).for_flag("--istio-namespace")?;
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Yaml, Format::Json])?;
    let cluster = Cluster::connect(global).await?;

    let resource = cluster.resource(&kinds::PEER_AUTHENTICATION).await?;
    let loaded = list_snapshot(&cluster, &args.istio_namespace).await?;
    for note in &loaded.notes {
        ui.note(note);
    }
    let snap = loaded.snapshot;
    let scope = scope_of(&plan, cluster.namespace())?;
    let namespace = match &scope {
        Scope::Mesh => {
            let root = snap.root_namespace().to_string();
            ui.note(&format!(
                "the mesh-wide policy goes in the root namespace {root} (mesh config rootNamespace)"
            ));
            root
        }
        Scope::Namespace(ns) | Scope::Workload { namespace: ns, .. } => ns.clone(),
    };
    if snap.namespaces().get("", &namespace).is_none() {
        return Err(UsageError::new(format!("namespace {namespace} not found"))
            .with_hint(format!("check the name with: kubectl get namespace {namespace}"))
            .into());
    }
    let mut checks = check_ports(&snap, &scope, &plan.ports)?;

    let live = cluster.get(&resource, Some(&namespace), &plan.name).await?;
    let selector = match &scope {
        Scope::Workload { selector, .. } => Some(selector),
        _ => None,
    };
    if let Some(live) = &live {
        let have = match_labels(live);
        if have != selector.cloned().unwrap_or_default() {
            return Err(selector_clash(&namespace, &plan.name, &have).into());
        }
    }
    let ports = plan.port_modes();
    let spec = PeerSpec { selector, mode: plan.mode, ports: &ports };
    let (intended, intent) = match &live {
        None => {
            let object =
                peer_authentication::build(&resource.api_version(), &namespace, &plan.name, &spec);
            (object.clone(), Intent::Apply { resource, object, live: None })
        }
        Some(live) => {
            let next = peer_authentication::edit(live, &spec).unwrap_or_else(|| live.clone());
            let mode = plan.mode;
            let edit: EditFn = Arc::new(move |live| {
                let spec = PeerSpec { selector: None, mode, ports: &ports };
                Ok(peer_authentication::edit(live, &spec))
            });
            let fields = vec![vec!["spec", "mtls"], vec!["spec", "portLevelMtls"]];
            (next, Intent::Edit { resource, live: live.clone(), fields, edit })
        }
    };

    let after = lay_over::<PeerAuthentication>(&snap, &intended, live.as_ref())?;
    let policy = after
        .peer_authentications()
        .id(&namespace, &plan.name)
        .expect("the intended policy was just laid over the Snapshot");
    checks.extend(Preflight { before: &snap, after: &after, scope: &scope, policy }.checks());
    let what = format!("PeerAuthentication {namespace}/{}", plan.name);
    report(&checks, args.write.force, &what, ui)?;

    Writer::new(&cluster, &args.write, format).run(vec![intent], ui).await
}

/// The workloads the plan governs, with the current namespace filled in.
fn scope_of(plan: &Plan, current: &str) -> anyhow::Result<Scope> {
    let resolve = |ns: &Option<String>| -> anyhow::Result<String> {
        let ns = ns.clone().unwrap_or_else(|| current.to_string());
        validate::validate_namespace(&ns).for_flag("--namespace")?;
        Ok(ns)
    };
    Ok(match &plan.target {
        Target::Mesh => Scope::Mesh,
        Target::Namespace(ns) => Scope::Namespace(resolve(ns)?),
        Target::Workload { namespace, selector } => {
            Scope::Workload { namespace: resolve(namespace)?, selector: selector.clone() }
        }
    })
}

/// An existing policy of that name selects other pods.
fn selector_clash(
    namespace: &str,
    name: &str,
    have: &std::collections::BTreeMap<String, String>,
) -> Problems {
    let have = if have.is_empty() {
        "every workload of the namespace".to_string()
    } else {
        let pairs: Vec<String> = have.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("pods {}", pairs.join(","))
    };
    Problems::new(format!(
        "PeerAuthentication {namespace}/{name} exists and applies to {have}; nothing was written"
    ))
    .with_hint("give the new policy another name with --name")
}
