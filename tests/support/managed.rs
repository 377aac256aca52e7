//! Field ownership: `metadata.managedFields` for updates and server-side apply.
//!
//! Follows structured-merge-diff: an update takes the fields it added or changed from
//! everyone else; an apply fails on fields another manager owns with a different value
//! unless forced, owns exactly what it applied, and prunes fields it applied before and
//! dropped now when nobody else owns them.

use serde_json::{Value, json};

use super::catalog::Kind;
use super::fieldset::{FieldSet, Scope, compare, merge, path_string, remove_path};
use super::status::ApiError;

/// One `managedFields` entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub set: FieldSet,
}

impl Entry {
    /// Whether two entries are the same manager: apply identities ignore the version.
    fn same_identity(&self, manager: &str, operation: &str, api_version: &str, sub: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == sub
            && (operation == "Apply" || self.api_version == api_version)
    }

    /// How the apiserver names this manager in a conflict message.
    fn display(&self) -> String {
        let mut name = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            name = format!("{name} with subresource {:?}", self.subresource);
        }
        if self.operation == "Update" {
            name = format!("{name} using {}", self.api_version);
        }
        name
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.set.to_fields_v1(),
        });
        if let Some(t) = &self.time {
            v["time"] = json!(t);
        }
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }
}

/// Reads `metadata.managedFields`; `None` when it is absent or malformed.
pub fn decode(obj: &Value) -> Option<Vec<Entry>> {
    let list = obj.pointer("/metadata/managedFields")?.as_array()?;
    list.iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
            Some(Entry {
                manager: s("manager").unwrap_or_default(),
                operation: s("operation")?,
                api_version: s("apiVersion").unwrap_or_default(),
                time: s("time"),
                subresource: s("subresource").unwrap_or_default(),
                set: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&json!({}))).ok()?,
            })
        })
        .collect()
}

/// Writes entries back, sorted as the apiserver sorts them, dropping empty ones.
pub fn encode(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (a.operation.as_str(), a.time.as_deref(), a.manager.as_str(), a.api_version.as_str())
            .cmp(&(b.operation.as_str(), b.time.as_deref(), b.manager.as_str(), &b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    });
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert(
                "managedFields".into(),
                Value::Array(entries.iter().map(Entry::to_json).collect()),
            );
        }
    }
}

/// The entries a write starts from: those in the request when it sends a non-empty list,
/// none when it sends `[{}]` (a reset), otherwise the live object's.
pub fn base_entries(live: Option<&Value>, request: &Value) -> Vec<Entry> {
    let sent = request.pointer("/metadata/managedFields").and_then(Value::as_array);
    match sent {
        Some(list) if list.len() == 1 && list[0].as_object().is_some_and(|m| m.is_empty()) => {
            Vec::new()
        }
        Some(list) if !list.is_empty() => {
            decode(request).or_else(|| live.and_then(decode)).unwrap_or_default()
        }
        _ => live.and_then(decode).unwrap_or_default(),
    }
}

/// Who is writing and through which version and subresource.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub scope: Scope,
    pub now: &'a str,
}

impl Writer<'_> {
    fn subresource(&self) -> &'static str {
        match self.scope {
            Scope::Main => "",
            Scope::Status => "status",
        }
    }
}

/// Records an update (create, PUT or non-apply patch): `new` gets its managedFields.
pub fn record_update(
    kind: &Kind,
    live: Option<&Value>,
    new: &mut Value,
    mut entries: Vec<Entry>,
    w: &Writer<'_>,
) {
    let empty = json!({});
    let old = live.unwrap_or(&empty);
    let old_set = FieldSet::from_object(old, kind, w.scope);
    let new_set = FieldSet::from_object(new, kind, w.scope);
    let cmp = compare(old, new, &old_set, &new_set);
    let taken = cmp.modified.union(&cmp.added);
    let sub = w.subresource();

    // Everyone else loses what this write changed (updates always force) or removed.
    for e in entries.iter_mut() {
        if !e.same_identity(w.manager, "Update", w.api_version, sub) {
            e.set = e.set.difference(&taken).difference(&cmp.removed);
        }
    }
    let mine =
        entries.iter().position(|e| e.same_identity(w.manager, "Update", w.api_version, sub));
    let previous = mine.map(|i| entries[i].set.clone()).unwrap_or_default();
    let set = previous.difference(&cmp.removed).union(&taken);
    let changed = mine.is_none() || set != previous;
    let entry = Entry {
        manager: w.manager.to_string(),
        operation: "Update".into(),
        api_version: w.api_version.to_string(),
        time: if changed {
            Some(w.now.to_string())
        } else {
            mine.and_then(|i| entries[i].time.clone())
        },
        subresource: sub.to_string(),
        set,
    };
    match mine {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
    encode(new, entries);
}

/// Applies `config` over `live` (or over nothing, creating) and returns the new object
/// with its managedFields, or the conflict the apiserver would report.
pub fn apply(
    kind: &Kind,
    live: Option<&Value>,
    config: &Value,
    force: bool,
    w: &Writer<'_>,
) -> Result<Value, ApiError> {
    let empty = json!({});
    let old = live.unwrap_or(&empty);
    let mut entries = live.and_then(decode).unwrap_or_default();
    let sub = w.subresource();
    let config_set = FieldSet::from_object(config, kind, w.scope);

    // Merge, then see which fields of other managers that changes.
    let mut merged = merge(old, &strip_server_fields(config, kind, w.scope), "", kind);
    let old_set = FieldSet::from_object(old, kind, w.scope);
    let merged_set = FieldSet::from_object(&merged, kind, w.scope);
    let cmp = compare(old, &merged, &old_set, &merged_set);
    let touched = cmp.modified.union(&cmp.added);
    let mine = |e: &Entry| e.same_identity(w.manager, "Apply", w.api_version, sub);
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for e in entries.iter().filter(|e| !mine(e)) {
        for path in e.set.intersection(&touched).0 {
            conflicts.push((e.display(), path_string(&path)));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&conflicts));
    }

    // Forced or clean: others give up what changed; the applier owns what it sent.
    for e in entries.iter_mut().filter(|e| !mine(e)) {
        e.set = e.set.difference(&touched).difference(&cmp.removed);
    }
    let index = entries.iter().position(mine);
    let previous = index.map(|i| entries[i].set.clone()).unwrap_or_default();
    let others =
        entries.iter().filter(|e| !mine(e)).fold(FieldSet::default(), |acc, e| acc.union(&e.set));
    // Prune what this applier dropped, unless someone else owns it or something inside it.
    for path in previous.difference(&config_set).0.iter().rev() {
        if !others.0.iter().any(|p| p.starts_with(path)) {
            remove_path(&mut merged, path);
        }
    }
    let changed = index.is_none() || previous != config_set;
    let entry = Entry {
        manager: w.manager.to_string(),
        operation: "Apply".into(),
        api_version: w.api_version.to_string(),
        time: if changed {
            Some(w.now.to_string())
        } else {
            index.and_then(|i| entries[i].time.clone())
        },
        subresource: sub.to_string(),
        set: config_set,
    };
    match index {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
    encode(&mut merged, entries);
    Ok(merged)
}

/// Drops from an applied configuration what the server controls, so merging keeps the
/// live identity and, through the main resource, the live status.
fn strip_server_fields(config: &Value, kind: &Kind, scope: Scope) -> Value {
    let mut c = config.clone();
    if let Some(map) = c.as_object_mut() {
        if scope == Scope::Main && kind.has_status() {
            map.remove("status");
        }
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"]
            {
                meta.remove(k);
            }
        }
    }
    c
}

fn conflict_error(conflicts: &[(String, String)]) -> ApiError {
    let causes = conflicts
        .iter()
        .map(|(who, field)| {
            let message = format!("conflict with {who}");
            json!({"reason": "FieldManagerConflict", "message": message, "field": field})
        })
        .collect();
    let message = match conflicts {
        [(who, field)] => format!("Apply failed with 1 conflict: conflict with {who}: {field}"),
        many => {
            let mut managers: Vec<&String> = many.iter().map(|(w, _)| w).collect();
            managers.sort();
            managers.dedup();
            let mut lines = Vec::new();
            for m in managers {
                lines.push(format!("conflicts with {m}:"));
                for (_, field) in many.iter().filter(|(w, _)| w == m) {
                    lines.push(format!("- {field}"));
                }
            }
            format!("Apply failed with {} conflicts: {}", many.len(), lines.join("\n"))
        }
    };
    ApiError::apply_conflict(message, causes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::support::catalog::{Catalog, IstioApis};

    fn writer<'a>(manager: &'a str) -> Writer<'a> {
        Writer { manager, api_version: "networking.istio.io/v1", scope: Scope::Main, now: "t" }
    }

    fn vs(spec: Value) -> Value {
        json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
               "metadata": {"name": "r", "namespace": "ns"}, "spec": spec})
    }

    #[test]
    fn shared_fields_survive_one_owner_dropping_them() {
        let catalog = Catalog::new(IstioApis::Current, true);
        let kind = catalog.resolve("vs").unwrap();
        let both = vs(json!({"hosts": ["r"], "gateways": ["mesh"]}));
        let one = apply(kind, None, &both, false, &writer("one")).unwrap();
        let two =
            apply(kind, Some(&one), &vs(json!({"gateways": ["mesh"]})), false, &writer("two"))
                .unwrap();
        let dropped =
            apply(kind, Some(&two), &vs(json!({"hosts": ["r"]})), false, &writer("one")).unwrap();
        assert_eq!(dropped["spec"]["gateways"], json!(["mesh"]), "two still owns it");
        let gone = apply(kind, Some(&dropped), &vs(json!({"hosts": ["r"]})), false, &writer("two"))
            .unwrap();
        assert!(gone["spec"].get("gateways").is_none(), "no owner left");
    }

    #[test]
    fn updates_take_changed_fields_from_appliers() {
        let catalog = Catalog::new(IstioApis::Current, true);
        let kind = catalog.resolve("vs").unwrap();
        let applied =
            apply(kind, None, &vs(json!({"hosts": ["r"]})), false, &writer("one")).unwrap();
        let mut edited = applied.clone();
        edited["spec"]["hosts"] = json!(["s"]);
        let entries = decode(&applied).unwrap();
        record_update(kind, Some(&applied), &mut edited, entries, &writer("editor"));
        let managers: Vec<String> = decode(&edited)
            .unwrap()
            .into_iter()
            .map(|e| format!("{}/{}", e.manager, e.operation))
            .collect();
        assert_eq!(managers, ["editor/Update"], "the applier lost its only field");
        let conflict =
            apply(kind, Some(&edited), &vs(json!({"hosts": ["r"]})), false, &writer("one"));
        let message = conflict.unwrap_err().message;
        assert_eq!(
            message,
            "Apply failed with 1 conflict: conflict with \"editor\" using networking.istio.io/v1: .spec.hosts"
        );
    }
}
