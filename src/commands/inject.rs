//! `inject NS...`: label namespaces for sidecar, revision or ambient mode (or take them out of
//! the mesh), then name the workloads whose running pods no longer match and, with
//! `--restart`, restart them the way `kubectl rollout restart` does.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use serde_json::{Value, json};

use crate::{
    analysis::injection::{UnservedRevision, unserved_revision},
    cli::{DryRun, GlobalArgs, InjectArgs},
    cluster::{Cluster, ClusterError, ListOptions, Resource, Scope, WriteMode, kinds, ownership},
    commands::{
        inject_restart::{
            find_mismatches, list_pods, list_replica_set_owners, report_mismatches, restart,
        },
        writes,
    },
    error::{ExitStatus, Problems, UsageError},
    mesh::{
        injection::{self, DATAPLANE_MODE_LABEL, INJECTION_LABEL, MeshMode, REVISION_LABEL},
        validate::{self, ResultExt},
        webhook::{MutatingWebhookConfiguration, Revisions},
    },
    output::{
        Format, Ui,
        changes::{Change, Verb},
        diff,
    },
};

/// Namespaces that are never labelled without `--force`.
const PROTECTED: &[&str] = crate::analysis::injection::PROTECTED_NAMESPACES;

/// What the user asked for, validated before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub namespaces: Vec<String>,
    pub target: MeshMode,
}

impl Plan {
    /// Checks the arguments: names, the revision, protected namespaces.
    pub fn new(args: &InjectArgs) -> anyhow::Result<Self> {
        let mut namespaces = Vec::new();
        for ns in &args.namespaces {
            validate::validate_namespace(ns).for_flag("NS")?;
            let protected = PROTECTED.contains(&ns.as_str()) || *ns == args.istio_namespace;
            if protected && !args.write.force {
                return Err(UsageError::new(format!(
                    "refusing to change namespace {ns}: it belongs to Kubernetes or the Istio \
                     control plane (use --force to do it anyway)"
                ))
                .into());
            }
            if !namespaces.contains(ns) {
                namespaces.push(ns.clone());
            }
        }
        let target = match (&args.revision, args.ambient, args.disable) {
            (Some(rev), _, _) => {
                if rev.is_empty() {
                    return Err(
                        UsageError::new("--revision needs a revision name, e.g. canary").into()
                    );
                }
                validate::validate_label_value(rev).for_flag("--revision")?;
                MeshMode::Revision(rev.clone())
            }
            (None, true, _) => MeshMode::Ambient,
            (None, false, true) => MeshMode::Off,
            (None, false, false) => MeshMode::Sidecar,
        };
        Ok(Self { namespaces, target })
    }

    /// The labels a namespace has after the change.
    pub fn labels_after(&self, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut out = labels.clone();
        for key in [INJECTION_LABEL, REVISION_LABEL] {
            out.remove(key);
        }
        if out.get(DATAPLANE_MODE_LABEL).map(String::as_str) == Some("ambient") {
            out.remove(DATAPLANE_MODE_LABEL);
        }
        match &self.target {
            MeshMode::Sidecar => {
                out.insert(INJECTION_LABEL.into(), "enabled".into());
            }
            MeshMode::Revision(rev) => {
                out.insert(REVISION_LABEL.into(), rev.clone());
            }
            MeshMode::Ambient => {
                out.insert(DATAPLANE_MODE_LABEL.into(), "ambient".into());
            }
            MeshMode::Off | MeshMode::Conflicting(_) => {}
        }
        out
    }
}

/// Runs `inject`.
pub async fn run(global: &GlobalArgs, args: InjectArgs, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Yaml, Format::Json])?;
    let plan = Plan::new(&args)?;
    let dry_run = args.write.dry_run;
    let mode = WriteMode::new(dry_run, args.write.force);

    let cluster = Cluster::connect(global).await?;
    let ns_resource = cluster.resource(&kinds::NAMESPACE).await?;
    let namespaces = list_namespaces(&cluster, &ns_resource, &plan.namespaces).await?;
    let missing: Vec<&str> = plan
        .namespaces
        .iter()
        .filter(|n| !namespaces.contains_key(n.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(UsageError::new(format!(
            "namespace {} not found; nothing was changed",
            missing.join(", ")
        ))
        .with_hint("list namespaces with: kubectl get namespaces")
        .into());
    }
    // As DM0502 in `check`: a revision no injector webhook serves gives new pods no sidecar,
    // so restarting them would take their sidecar away rather than add one.
    let unserved = unserved_target(&cluster, &plan.target).await;
    if let Some(u) = &unserved {
        let which = match plan.namespaces.as_slice() {
            [one] => format!("namespace {one}"),
            many => format!("namespaces {}", many.join(", ")),
        };
        let fix = u.fix(&plan.namespaces.join(","));
        ui.warn(&format!(
            "{which}: {}
  fix: {fix}",
            u.message()
        ));
        if args.restart && !args.write.force && !args.write.diff {
            return Err(Problems::new(format!(
                "refusing to restart: no injector webhook serves revision {}, so restarted pods \
                 would come back without a sidecar; nothing was written",
                u.wanted
            ))
            .with_hint(
                "install or tag that revision first, then re-run; or re-run with --force to \
                 label and restart anyway",
            )
            .into());
        }
    }
    // A namespace another tool manages is refused before anything is written.
    if !args.write.force {
        for name in &plan.namespaces {
            if let Some(owner) = ownership::managing_tool(&namespaces[name.as_str()]) {
                return Err(writes::refusal(&format!("Namespace {name}"), &owner).into());
            }
        }
    }
    if args.write.diff {
        let refused = unserved.is_some() && !args.write.force;
        return print_diff(&cluster, &plan, &namespaces, args.restart, refused, ui).await;
    }

    // Label each namespace; a failure is reported and the rest still go ahead.
    let mut changes = Vec::new();
    let mut objects = Vec::new();
    let mut modes: BTreeMap<&str, MeshMode> = BTreeMap::new();
    let mut failed = false;
    for name in &plan.namespaces {
        let live = &namespaces[name.as_str()];
        match label_namespace(&cluster, &ns_resource, &plan, live, dry_run, mode).await {
            Ok((verb, object)) => {
                changes.push(Change::new(&kinds::NAMESPACE, None, name, verb));
                // Judge pods against what the namespace says now (or would say, in a dry run).
                let labels = match dry_run {
                    DryRun::None => labels_of(&object),
                    _ => plan.labels_after(&labels_of(live)),
                };
                modes.insert(name, injection::namespace_mode(&labels));
                objects.push(super::writes::printed(&object, dry_run));
            }
            Err(e) => {
                failed = true;
                modes.insert(name, injection::namespace_mode(&labels_of(live)));
                let mut why = crate::output::errors::one_line(&e);
                if super::writes::is_uncertain(&e) {
                    why.push_str("; the label may have been written: the reply never came");
                }
                changes.push(Change::new(&kinds::NAMESPACE, None, name, Verb::Failed(why)));
            }
        }
    }

    // The labels are reported before anything else is read, so a later failure cannot hide
    // what was written.
    if format.is_structured() {
        ui.objects(format, &objects)?;
    } else {
        let lines: String = changes.iter().map(|c| format!("{}\n", c.line(dry_run))).collect();
        ui.text(&lines)?;
    }
    ui.flush()?;

    // Which running pods no longer match their namespace.
    let pods = list_pods(&cluster, &plan.namespaces).await?;
    let owners = list_replica_set_owners(&cluster, &plan.namespaces).await?;
    let mismatches = find_mismatches(&pods, &owners, &modes);

    if args.restart && !mismatches.is_empty() {
        if let Some(u) = &unserved {
            ui.warn(&format!(
                "restarting anyway (--force): the restarted pods get no sidecar until revision {} \
                 is served",
                u.wanted
            ));
        }
        let restarted = restart(&cluster, &mismatches, dry_run, mode, ui).await?;
        if !format.is_structured() {
            let lines: String =
                restarted.iter().map(|c| format!("{}\n", c.line(dry_run))).collect();
            ui.text(&lines)?;
        }
        failed |= restarted.iter().any(|c| matches!(c.verb, Verb::Failed(_)));
        for m in mismatches.iter().filter(|m| m.kind == "Pod") {
            ui.warn(&format!(
                "pod {}/{} has no Deployment, StatefulSet or DaemonSet to restart: {}; delete it \
                 and recreate it to pick up the change",
                m.namespace, m.name, m.reason
            ));
        }
    } else if !mismatches.is_empty() {
        report_mismatches(&mismatches, unserved.as_ref(), ui);
    }

    if failed {
        return Err(Problems::new("some changes failed; re-running is safe").into());
    }
    Ok(ExitStatus::Success)
}

/// `--diff`: each namespace's live labels against the intended ones, and with `--restart` the
/// workloads that would be restarted. Nothing is written.
async fn print_diff(
    cluster: &Cluster,
    plan: &Plan,
    namespaces: &BTreeMap<String, Value>,
    restart: bool,
    restart_refused: bool,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let mut text = String::new();
    let mut modes: BTreeMap<&str, MeshMode> = BTreeMap::new();
    for name in &plan.namespaces {
        let live = &namespaces[name.as_str()];
        let after = plan.labels_after(&labels_of(live));
        modes.insert(name, injection::namespace_mode(&after));
        let mut intended = live.clone();
        intended["metadata"]["labels"] = json!(after);
        text.push_str(&diff::objects(&format!("namespace/{name}"), Some(live), Some(&intended)));
    }
    let mut changes = !text.is_empty();
    if changes {
        ui.text(&text)?;
    }
    if restart {
        let pods = list_pods(cluster, &plan.namespaces).await?;
        let owners = list_replica_set_owners(cluster, &plan.namespaces).await?;
        let mismatches = find_mismatches(&pods, &owners, &modes);
        let restarts: Vec<String> = mismatches
            .iter()
            .filter(|m| m.kind != "Pod")
            .map(|m| format!("  {} {}/{}", m.kind.to_ascii_lowercase(), m.namespace, m.name))
            .collect();
        if !restarts.is_empty() && restart_refused {
            ui.note(&format!(
                "--restart would be refused (the revision is not served; --force overrides), \
                 and would otherwise restart:\n{}",
                restarts.join("\n")
            ));
            changes = true;
        } else if !restarts.is_empty() {
            ui.note(&format!("--restart would restart:\n{}", restarts.join("\n")));
            changes = true;
        }
    }
    // As `kubectl diff`: 1 when something would change, 0 when nothing would.
    if !changes {
        ui.note("no changes: the live objects already match");
        return Ok(ExitStatus::Success);
    }
    Ok(ExitStatus::Problems)
}

/// One list: all namespaces, or just the one asked for (by field selector).
async fn list_namespaces(
    cluster: &Cluster,
    resource: &Resource,
    wanted: &[String],
) -> Result<BTreeMap<String, Value>, ClusterError> {
    let mut options = ListOptions::default();
    if let [only] = wanted {
        options.field_selector = Some(format!("metadata.name={only}"));
    }
    let items: Vec<Value> = cluster.list(resource, Scope::All, &options).await?;
    let wanted: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
    Ok(items
        .into_iter()
        .filter_map(|mut ns| {
            let name = ns.pointer("/metadata/name")?.as_str()?.to_string();
            // List items carry no apiVersion and kind; printed objects need them.
            ns["apiVersion"] = json!("v1");
            ns["kind"] = json!("Namespace");
            wanted.contains(name.as_str()).then_some((name, ns))
        })
        .collect())
}

fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// Sets the labels with a resourceVersion-guarded update; returns what happened and the object.
async fn label_namespace(
    cluster: &Cluster,
    resource: &Resource,
    plan: &Plan,
    live: &Value,
    dry_run: DryRun,
    mode: WriteMode,
) -> anyhow::Result<(Verb, Value)> {
    let name = live.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let intended = |object: &Value| -> Option<Value> {
        let before = labels_of(object);
        let after = plan.labels_after(&before);
        if after == before {
            return None;
        }
        let mut next = object.clone();
        next["metadata"]["labels"] = json!(after);
        Some(next)
    };

    if dry_run == DryRun::Client {
        return Ok(match intended(live) {
            Some(next) => (label_verb(live, &next), next),
            None => (Verb::Unchanged, live.clone()),
        });
    }
    let edited = cluster
        .edit(resource, None, name, mode, |object| Ok(intended(object)))
        .await
        .with_context(|| format!("cannot label namespace {name}"))?;
    let verb = if edited.changed { label_verb(live, &edited.after) } else { Verb::Unchanged };
    Ok((verb, edited.after))
}

/// `unlabeled` when labels were only taken away, `labeled` otherwise, as kubectl label says.
fn label_verb(before: &Value, after: &Value) -> Verb {
    let (before, after) = (labels_of(before), labels_of(after));
    let removed_only =
        after.len() < before.len() && after.iter().all(|(k, v)| before.get(k) == Some(v));
    if removed_only { Verb::Unlabeled } else { Verb::Labeled }
}

/// The revision `target` asks for when no injector webhook serves it, judged as DM0502 judges
/// it. `None` when it is served, the target asks for no sidecar, or the webhooks cannot be read
/// (nothing can then be said).
async fn unserved_target(cluster: &Cluster, target: &MeshMode) -> Option<UnservedRevision> {
    if !target.injects() {
        return None;
    }
    let resource = cluster.resource(&kinds::MUTATING_WEBHOOK).await.ok()?;
    let options =
        ListOptions { label_selector: Some(REVISION_LABEL.into()), ..ListOptions::metadata() };
    let hooks =
        match cluster.list::<MutatingWebhookConfiguration>(&resource, Scope::All, &options).await {
            Ok(hooks) => hooks,
            Err(e) => {
                tracing::debug!("cannot list injector webhooks ({e}); not checking the revision");
                return None;
            }
        };
    let served = Revisions::from_webhooks(&hooks);
    unserved_revision(&served, target, &BTreeMap::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::WriteArgs;

    fn args(namespaces: &[&str]) -> InjectArgs {
        InjectArgs {
            status: None,
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            revision: None,
            ambient: false,
            disable: false,
            restart: false,
            istio_namespace: "istio-system".into(),
            write: WriteArgs::default(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn plans_check_names_and_protect_system_namespaces() {
        assert!(Plan::new(&args(&["shop"])).is_ok());
        assert!(Plan::new(&args(&[""])).is_err());
        assert!(Plan::new(&args(&["Shop"])).is_err());
        assert!(Plan::new(&args(&["kube-system"])).is_err());
        assert!(Plan::new(&args(&["istio-system"])).is_err());
        let mut forced = args(&["kube-system"]);
        forced.write.force = true;
        assert!(Plan::new(&forced).is_ok());
        let mut bad_rev = args(&["shop"]);
        bad_rev.revision = Some("-x".into());
        assert!(Plan::new(&bad_rev).is_err());
        assert_eq!(Plan::new(&args(&["a", "a"])).unwrap().namespaces, vec!["a"]);
    }

    #[test]
    fn each_mode_sets_its_label_and_removes_the_others() {
        let start = labels(&[(REVISION_LABEL, "old"), ("team", "x")]);
        let sidecar = Plan::new(&args(&["shop"])).unwrap();
        assert_eq!(
            sidecar.labels_after(&start),
            labels(&[(INJECTION_LABEL, "enabled"), ("team", "x")])
        );

        let mut rev = args(&["shop"]);
        rev.revision = Some("canary".into());
        let rev = Plan::new(&rev).unwrap();
        let start = labels(&[(INJECTION_LABEL, "enabled")]);
        assert_eq!(rev.labels_after(&start), labels(&[(REVISION_LABEL, "canary")]));

        let mut amb = args(&["shop"]);
        amb.ambient = true;
        let amb = Plan::new(&amb).unwrap();
        assert_eq!(amb.labels_after(&start), labels(&[(DATAPLANE_MODE_LABEL, "ambient")]));

        let mut off = args(&["shop"]);
        off.disable = true;
        let off = Plan::new(&off).unwrap();
        let start = labels(&[(DATAPLANE_MODE_LABEL, "ambient"), (INJECTION_LABEL, "enabled")]);
        assert_eq!(off.labels_after(&start), labels(&[]));
    }
}
