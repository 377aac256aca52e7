//! The write rules every mutating command shares: ownership checks before anything is sent,
//! `--dry-run=client` printing exactly what would be sent, `--dry-run=server`, `--diff`,
//! server-side apply for our objects, guarded edits of other objects, and a report of each
//! object (created, configured, unchanged) that says what was already written when a later
//! write fails.

use std::sync::Arc;

use anyhow::Context;
use serde_json::Value;

use crate::{
    cli::{DryRun, WriteArgs},
    cluster::{
        Cluster, ClusterError, Failure, Resource, WriteMode,
        ownership::{self, Owner},
    },
    error::{ExitStatus, Problems},
    output::{
        Format, Ui,
        changes::{Change, Verb},
        diff,
    },
};

/// Maps the live object to the intended one; `None` when nothing needs to change.
pub type EditFn = Arc<dyn Fn(&Value) -> anyhow::Result<Option<Value>> + Send + Sync>;

/// One intended change.
#[derive(Clone)]
pub enum Intent {
    /// An object this tool owns, written with server-side apply. `object` holds only the
    /// fields we manage; `live` is the object as it is now, if it exists.
    Apply { resource: Resource, object: Value, live: Option<Value> },
    /// Someone else's object, edited in place under a resourceVersion guard. `fields` are the
    /// top-level paths the edit changes (e.g. `["spec", "http"]`), checked for other appliers.
    Edit { resource: Resource, live: Value, fields: Vec<Vec<&'static str>>, edit: EditFn },
    /// An object this tool created, deleted if it has not changed since it was read.
    Delete { resource: Resource, live: Value },
}

impl Intent {
    fn resource(&self) -> &Resource {
        match self {
            Intent::Apply { resource, .. }
            | Intent::Edit { resource, .. }
            | Intent::Delete { resource, .. } => resource,
        }
    }

    fn live(&self) -> Option<&Value> {
        match self {
            Intent::Apply { live, .. } => live.as_ref(),
            Intent::Edit { live, .. } | Intent::Delete { live, .. } => Some(live),
        }
    }

    fn name(&self) -> String {
        let object = match self {
            Intent::Apply { object, .. } => object,
            Intent::Edit { live, .. } | Intent::Delete { live, .. } => live,
        };
        text(object, "/metadata/name")
    }

    fn namespace(&self) -> Option<String> {
        let object = match self {
            Intent::Apply { object, .. } => object,
            Intent::Edit { live, .. } | Intent::Delete { live, .. } => live,
        };
        Some(text(object, "/metadata/namespace")).filter(|n| !n.is_empty())
    }

    /// The object as it would be after this change, computed locally.
    fn intended(&self) -> anyhow::Result<Option<Value>> {
        Ok(match self {
            Intent::Apply { object, .. } => Some(object.clone()),
            Intent::Edit { live, edit, .. } => Some(edit(live)?.unwrap_or_else(|| live.clone())),
            Intent::Delete { .. } => None,
        })
    }
}

/// Carries out intents under the shared write flags.
pub struct Writer<'a> {
    cluster: &'a Cluster,
    args: &'a WriteArgs,
    format: Format,
}

/// What a run of intents did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    /// The objects as written (or as they would be, for `--dry-run=client`).
    pub objects: Vec<Value>,
}

impl<'a> Writer<'a> {
    pub fn new(cluster: &'a Cluster, args: &'a WriteArgs, format: Format) -> Self {
        Self { cluster, args, format }
    }

    /// Refuses, before anything is written, to change objects another tool manages, unless
    /// `--force`. The refusal names the owner.
    pub fn check_ownership(&self, intents: &[Intent]) -> Result<(), Problems> {
        if self.args.force {
            return Ok(());
        }
        for intent in intents {
            let Some(live) = intent.live() else { continue };
            let what = format!("{} {}", intent.resource().kind.kind, qualified(intent));
            if let Some(owner) = ownership::managing_tool(live) {
                return Err(refusal(&what, &owner));
            }
            if let Intent::Edit { fields, .. } = intent {
                for path in fields {
                    let managers = ownership::other_appliers(live, path);
                    if let Some(manager) = managers.first() {
                        let owner = Owner {
                            tool: manager.clone(),
                            evidence: format!("field manager owning .{}", path.join(".")),
                        };
                        return Err(refusal(&what, &owner));
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs the intents in order and prints the result. A failure stops the run; what was
    /// already written is named in the error.
    pub async fn run(&self, intents: Vec<Intent>, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
        self.check_ownership(&intents)?;
        if self.args.diff {
            let mut text = String::new();
            for intent in &intents {
                let name =
                    format!("{}/{}", intent.resource().kind.display_name(), qualified(intent));
                text.push_str(&diff::objects(&name, intent.live(), intent.intended()?.as_ref()));
            }
            // As `kubectl diff`: 1 when something would change, 0 when nothing would.
            if text.is_empty() {
                ui.note("no changes: the live objects already match");
                return Ok(ExitStatus::Success);
            }
            ui.text(&text)?;
            return Ok(ExitStatus::Problems);
        }

        let mut outcome = Outcome::default();
        for intent in &intents {
            match self.write(intent).await {
                Ok((change, object)) => {
                    outcome.changes.push(change);
                    outcome.objects.extend(object);
                }
                Err(e) => {
                    self.print(&outcome, ui)?;
                    let written: Vec<String> =
                        outcome.changes.iter().filter(|c| c.wrote()).map(Change::object).collect();
                    let mut note = if written.is_empty() {
                        "nothing was written before the failure".to_string()
                    } else {
                        format!("already written: {}", written.join(", "))
                    };
                    if is_uncertain(&e) {
                        note.push_str(&format!(
                            "; {} may have been written too: the reply never came",
                            qualified_object(intent)
                        ));
                    }
                    return Err(e.context(format!("{note}; re-running is safe")));
                }
            }
        }
        self.print(&outcome, ui)?;
        Ok(ExitStatus::Success)
    }

    fn print(&self, outcome: &Outcome, ui: &mut Ui) -> std::io::Result<()> {
        if self.format.is_structured() {
            let objects: Vec<Value> =
                outcome.objects.iter().map(|o| printed(o, self.args.dry_run)).collect();
            return ui.objects(self.format, &objects);
        }
        let lines: String =
            outcome.changes.iter().map(|c| format!("{}\n", c.line(self.args.dry_run))).collect();
        ui.text(&lines)
    }

    async fn write(&self, intent: &Intent) -> anyhow::Result<(Change, Option<Value>)> {
        let resource = intent.resource();
        let namespace = intent.namespace();
        let ns = namespace.as_deref();
        let name = intent.name();
        let change = |verb| Change::new(resource.kind, ns, &name, verb);

        if self.args.dry_run == DryRun::Client {
            let intended = intent.intended()?;
            let verb = match (intent, intent.live(), &intended) {
                (Intent::Delete { .. }, _, _) => Verb::Deleted,
                (_, None, _) => Verb::Created,
                (_, Some(live), Some(next)) if same(live, next) => Verb::Unchanged,
                _ => Verb::Configured,
            };
            return Ok((change(verb), intended));
        }

        let mode = WriteMode::new(self.args.dry_run, self.args.force);
        match intent {
            Intent::Apply { object, live, .. } => {
                let after = self.cluster.apply(resource, ns, &name, object, mode).await?;
                let verb = match live {
                    None => Verb::Created,
                    Some(live) if same(live, &after) => Verb::Unchanged,
                    Some(_) => Verb::Configured,
                };
                Ok((change(verb), Some(after)))
            }
            Intent::Edit { edit, .. } => {
                let edit = edit.clone();
                let edited = self
                    .cluster
                    .edit(resource, ns, &name, mode, move |live| edit(live))
                    .await
                    .with_context(|| {
                        format!("cannot update {} {}", resource.kind.kind, qualified(intent))
                    })?;
                let verb = if edited.changed { Verb::Configured } else { Verb::Unchanged };
                Ok((change(verb), Some(edited.after)))
            }
            Intent::Delete { live, .. } => {
                let uid = text(live, "/metadata/uid");
                let rv = text(live, "/metadata/resourceVersion");
                let preconditions = (!uid.is_empty()).then_some((uid.as_str(), rv.as_str()));
                self.cluster.delete(resource, ns, &name, preconditions, mode).await?;
                Ok((change(Verb::Deleted), None))
            }
        }
    }
}

/// Whether a write failed without a reply, so the server may have carried it out.
pub(crate) fn is_uncertain(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<ClusterError>()
            .is_some_and(|e| matches!(e.failure(), Failure::Timeout(_) | Failure::Dropped(_)))
    })
}

/// `kind.group/name`, as the report lines name an object.
fn qualified_object(intent: &Intent) -> String {
    format!("{}/{}", intent.resource().kind.display_name(), intent.name())
}

/// Whether two versions of an object are the same apart from server-managed metadata.
pub fn same(a: &Value, b: &Value) -> bool {
    diff::strip_server_fields(a) == diff::strip_server_fields(b)
}

/// An object as `-o yaml|json` prints it. What `--dry-run=client` prints is meant to be
/// applied or committed as it is, so it carries none of the server's fields (resourceVersion
/// would make a later apply a conflict); what the server answered is printed as kubectl
/// prints it.
pub fn printed(object: &Value, dry_run: DryRun) -> Value {
    match dry_run {
        DryRun::Client => diff::strip_server_fields(object),
        _ => without_managed_fields(object),
    }
}

/// An object as `kubectl -o yaml` prints it: without `metadata.managedFields`, which kubectl
/// shows only with `--show-managed-fields`.
fn without_managed_fields(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    out
}

/// The refusal to change `what` (e.g. `Namespace shop`) that `owner` manages.
pub fn refusal(what: &str, owner: &Owner) -> Problems {
    Problems::new(format!(
        "refusing to change {what}: it is managed by {owner}; nothing was written"
    ))
    .with_hint(format!(
        "change it through {} instead, or re-run with --force to change it anyway",
        owner.tool
    ))
}

fn qualified(intent: &Intent) -> String {
    match intent.namespace() {
        Some(ns) => format!("{ns}/{}", intent.name()),
        None => intent.name(),
    }
}

fn text(object: &Value, pointer: &str) -> String {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn server_metadata_does_not_make_objects_differ() {
        let a = json!({"metadata": {"name": "x", "resourceVersion": "1"}, "spec": {"a": 1}});
        let b = json!({"metadata": {"name": "x", "resourceVersion": "9"}, "spec": {"a": 1}});
        assert!(same(&a, &b));
        let c = json!({"metadata": {"name": "x"}, "spec": {"a": 2}});
        assert!(!same(&a, &c));
    }

    #[test]
    fn printed_objects_leave_out_managed_fields_as_kubectl_does() {
        let live = json!({"metadata": {"name": "x", "resourceVersion": "3",
                                       "managedFields": [{"manager": "m"}]}, "spec": {}});
        assert_eq!(
            without_managed_fields(&live),
            json!({"metadata": {"name": "x", "resourceVersion": "3"}, "spec": {}})
        );
    }
}
