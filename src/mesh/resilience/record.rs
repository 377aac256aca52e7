//! What `resilience` replaced, kept in an annotation on the object it edited so that `--clear`
//! can put it back.
//!
//! Each entry is one block the command manages (a route's `retries` or `timeout`, a rule's
//! `connectionPool` or `outlierDetection`) with the value it had before the command first
//! changed it (`was`, absent when there was none) and the value the command wrote (`set`).
//! `--clear` restores `was` only where the block still holds `set`; a block someone changed
//! since is left as they made it. When a run finds a block changed since the last run, the
//! current value becomes the new `was`, so a later `--clear` never discards someone's edit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The annotation holding the record.
pub const ANNOTATION: &str = "debatemesh.io/resilience";

/// Where a recorded block lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    /// The route's name, for named HTTP routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The route's position, for unnamed HTTP routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// `retries`, `timeout`, `connectionPool` or `outlierDetection`.
    pub field: String,
}

impl Key {
    /// A field of HTTP route `index`, named `name` if it has one.
    pub fn route(name: Option<&str>, index: usize, field: &str) -> Self {
        match name {
            Some(name) => Self { route: Some(name.into()), index: None, field: field.into() },
            None => Self { route: None, index: Some(index), field: field.into() },
        }
    }

    /// A block of the top-level traffic policy.
    pub fn policy(field: &str) -> Self {
        Self { route: None, index: None, field: field.into() }
    }

    /// How messages name the block, e.g. `route "api" retries`.
    pub fn describe(&self) -> String {
        match (&self.route, self.index) {
            (Some(name), _) => format!("route {name:?} {}", self.field),
            (None, Some(i)) => format!("route #{i} {}", self.field),
            (None, None) => format!("trafficPolicy.{}", self.field),
        }
    }
}

/// One recorded block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub key: Key,
    /// The value before the command changed it; absent when the block did not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<Value>,
    /// The value the command wrote; absent when it removed the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Value>,
}

/// Every recorded block of one object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub entries: Vec<Entry>,
}

impl Record {
    /// The record of `object`; empty when it has none or the annotation cannot be read.
    pub fn read(object: &Value) -> Self {
        object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(ANNOTATION))
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }

    /// Notes that the block at `key` goes from `current` to `next`. A first change keeps
    /// `current` as the value to restore; so does a change of a block that holds what the
    /// last run wrote. Writing what is already there records nothing new.
    pub fn note(&mut self, key: Key, current: Option<&Value>, next: Option<&Value>) {
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(entry) => {
                if entry.set.as_ref() != current {
                    entry.was = current.cloned();
                }
                entry.set = next.cloned();
            }
            None if current == next => {}
            None => self.entries.push(Entry { key, was: current.cloned(), set: next.cloned() }),
        }
    }

    /// Removes and returns the entries `keep` selects.
    pub fn take(&mut self, mut keep: impl FnMut(&Key) -> bool) -> Vec<Entry> {
        let (taken, rest) =
            std::mem::take(&mut self.entries).into_iter().partition(|e| keep(&e.key));
        self.entries = rest;
        taken
    }

    /// Stores the record in `object`'s annotations, or removes the annotation when the record
    /// is empty (and the annotations map too, when nothing else is in it).
    pub fn write(&self, object: &mut Value) {
        let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        if self.entries.is_empty() {
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.remove(ANNOTATION);
                if annotations.is_empty() {
                    meta.remove("annotations");
                }
            }
            return;
        }
        let text = serde_json::to_string(self).expect("a record always serializes");
        let annotations =
            meta.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
        if !annotations.is_object() {
            *annotations = Value::Object(Default::default());
        }
        annotations[ANNOTATION] = Value::String(text);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_first_value_is_kept_across_runs_unless_someone_changed_it() {
        let mut r = Record::default();
        let key = Key::route(Some("api"), 0, "timeout");
        r.note(key.clone(), Some(&json!("30s")), Some(&json!("10s")));
        r.note(key.clone(), Some(&json!("10s")), Some(&json!("5s")));
        assert_eq!(r.entries[0].was, Some(json!("30s")));
        assert_eq!(r.entries[0].set, Some(json!("5s")));

        // Someone set 7s by hand; that is what a later --clear brings back.
        r.note(key.clone(), Some(&json!("7s")), Some(&json!("10s")));
        assert_eq!(r.entries[0].was, Some(json!("7s")));

        let mut same = Record::default();
        same.note(key, Some(&json!("10s")), Some(&json!("10s")));
        assert!(same.entries.is_empty(), "writing what is there records nothing");
    }

    #[test]
    fn the_record_round_trips_through_the_annotation() {
        let mut object = json!({"metadata": {"name": "x", "annotations": {"team": "web"}}});
        let mut r = Record::default();
        r.note(Key::policy("outlierDetection"), None, Some(&json!({"interval": "30s"})));
        r.note(Key::route(None, 2, "retries"), Some(&json!({"attempts": 1})), None);
        r.write(&mut object);
        assert_eq!(Record::read(&object), r);
        assert_eq!(object["metadata"]["annotations"]["team"], "web");

        let taken = r.take(|k| k.field == "retries");
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].key.describe(), "route #2 retries");
        r.take(|_| true);
        r.write(&mut object);
        assert_eq!(object["metadata"]["annotations"], json!({"team": "web"}));

        let mut bare = json!({"metadata": {"name": "x", "annotations": {ANNOTATION: "{}"}}});
        Record::default().write(&mut bare);
        assert_eq!(bare, json!({"metadata": {"name": "x"}}));
        let garbled = json!({"metadata": {"annotations": {ANNOTATION: "not json"}}});
        assert!(Record::read(&garbled).entries.is_empty());
    }
}
