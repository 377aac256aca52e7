//! Field values Istio would refuse, found while an object is read: each Istio kind's fields
//! that this tool interprets are judged with the validators of [`crate::mesh::validate`], on
//! the object as written (before it is typed), and every problem names its field path, e.g.
//! `spec.http[0].timeout`.
//!
//! Reading never fails on a bad value: [`decode`] keeps the object, with the values its slim
//! type can hold. A value of the wrong shape for that type (a string where a number goes) is
//! taken out, so one bad field neither hides the object nor the objects read with it; when
//! even that is not enough, the object keeps only its metadata. Every value taken out is one
//! of the problems returned.

mod networking;
mod security;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::kind::Kind;
use super::resource::Resource;
use super::validate::ValidationError;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Key(String),
    Index(usize),
}

/// A field path from the object's root, such as `spec.http[0].timeout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Path(Vec<Step>);

impl Path {
    /// `self.key`.
    pub(crate) fn key(&self, key: &str) -> Path {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_string()));
        Path(steps)
    }

    /// `self[index]`.
    pub(crate) fn index(&self, index: usize) -> Path {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        Path(steps)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::Key(k) if k.contains(['.', '/', '[', ']', ' ']) || k.is_empty() => {
                    write!(f, "[{k:?}]")?
                }
                Step::Key(k) if i == 0 => f.write_str(k)?,
                Step::Key(k) => write!(f, ".{k}")?,
            }
        }
        Ok(())
    }
}

/// The problems found in one object, each an error whose subject is the field path.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    found: Vec<(Path, ValidationError)>,
}

/// A scalar as text for the validators, and whether the JSON type was right for the field.
fn scalar_text(value: &Value, want_string: bool) -> Option<(String, bool)> {
    match value {
        Value::String(s) => Some((s.clone(), want_string)),
        Value::Number(n) => Some((n.to_string(), !want_string)),
        Value::Bool(b) => Some((b.to_string(), false)),
        _ => None,
    }
}

/// A value as a message repeats it: strings as they are, anything else as compact JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Checker {
    /// Records a validator's error as a problem of the field at `path`.
    pub(crate) fn report(&mut self, path: &Path, error: ValidationError) {
        self.found.push((path.clone(), error.at_field(&path.to_string())));
    }

    fn wrong_type(&mut self, path: &Path, value: &Value, allowed: &str) {
        let error = ValidationError::new("", &shown(value), allowed);
        self.report(path, error);
    }

    /// A string field: `check` judges its text; a number or boolean written unquoted is a
    /// problem even when its text would pass, since the API server refuses it.
    pub(crate) fn text<T>(
        &mut self,
        path: &Path,
        value: Option<&Value>,
        check: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) {
        self.scalar(path, value, true, check);
    }

    /// An integer field, judged as text by `check` (which holds the range); a quoted number is
    /// a problem even when its text would pass.
    pub(crate) fn integer<T>(
        &mut self,
        path: &Path,
        value: Option<&Value>,
        check: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) {
        self.scalar(path, value, false, check);
    }

    fn scalar<T>(
        &mut self,
        path: &Path,
        value: Option<&Value>,
        want_string: bool,
        check: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) {
        let Some(value) = value.filter(|v| !v.is_null()) else { return };
        let Some((text, right_type)) = scalar_text(value, want_string) else {
            let what = if want_string { "a string" } else { "a whole number" };
            return self.wrong_type(path, value, &format!("this field takes {what}"));
        };
        if let Err(e) = check(&text) {
            return self.report(path, e);
        }
        if !right_type {
            let fix = match want_string {
                true => format!("this field takes a string: quote it, as \"{text}\""),
                false => "this field takes a number: write it without quotes".to_string(),
            };
            self.wrong_type(path, value, &fix);
        }
    }

    /// A map of labels (a workload selector): keys and values as Kubernetes allows them.
    pub(crate) fn labels(&mut self, path: &Path, value: Option<&Value>) {
        let Some(Value::Object(map)) = value else { return };
        for (key, v) in map {
            let at = path.key(key);
            if let Err(e) = super::validate::validate_label_key(key) {
                self.report(&at, e);
                continue;
            }
            self.text(&at, Some(v), super::validate::validate_label_value);
        }
    }
}

/// A field of a mapping, when it is set (not absent, not `null`).
pub(crate) fn get<'v>(value: Option<&'v Value>, key: &str) -> Option<&'v Value> {
    value?.get(key).filter(|v| !v.is_null())
}

/// The items of a list field, with their positions; nothing when it is not a list.
pub(crate) fn items(value: Option<&Value>) -> impl Iterator<Item = (usize, &Value)> {
    value.and_then(Value::as_array).into_iter().flatten().enumerate()
}

/// The problems of an object of `kind`, as written.
pub fn check(kind: Kind, object: &Value) -> Vec<ValidationError> {
    checked(kind, object).found.into_iter().map(|(_, e)| e).collect()
}

fn checked(kind: Kind, object: &Value) -> Checker {
    let mut c = Checker::default();
    let spec = get(Some(object), "spec");
    let at = Path::default().key("spec");
    match kind {
        Kind::VirtualService => networking::virtual_service(&mut c, &at, spec),
        Kind::DestinationRule => networking::destination_rule(&mut c, &at, spec),
        Kind::Gateway => networking::gateway(&mut c, &at, spec),
        Kind::ServiceEntry => networking::service_entry(&mut c, &at, spec),
        Kind::Sidecar => networking::sidecar(&mut c, &at, spec),
        Kind::PeerAuthentication => security::peer_authentication(&mut c, &at, spec),
        Kind::AuthorizationPolicy => security::authorization_policy(&mut c, &at, spec),
        Kind::RequestAuthentication => security::request_authentication(&mut c, &at, spec),
        _ => {}
    }
    c
}

/// Reads an object into its slim type with the problems of its fields. A value the type
/// cannot hold is taken out (and is among the problems); only an object whose metadata cannot
/// be read is an error.
pub fn decode<R: Resource>(value: Value) -> Result<(R, Vec<ValidationError>), serde_json::Error> {
    let mut checker = checked(R::KIND, &value);
    if let Ok(obj) = R::deserialize(&value) {
        return Ok((obj, into_errors(checker)));
    }

    // Take out what the checks found, deepest and last first so positions stay right.
    let mut value = value;
    let mut paths: Vec<Path> = checker.found.iter().map(|(p, _)| p.clone()).collect();
    paths.sort();
    for path in paths.iter().rev() {
        remove(&mut value, path);
    }
    let error = match R::deserialize(&value) {
        Ok(obj) => return Ok((obj, into_errors(checker))),
        Err(e) => e,
    };

    // Then every other value of the spec the type cannot hold, when the rest reads.
    let spec = Path::default().key("spec");
    let mut without_spec = value.clone();
    remove_one(&mut without_spec, &spec);
    if value.get("spec").is_some() && R::deserialize(&without_spec).is_ok() {
        let mut culprits = Vec::new();
        locate::<R>(&value, &spec, &mut culprits);
        culprits.sort_by(|a, b| b.0.cmp(&a.0));
        for (path, why) in culprits {
            let node = lookup(&value, &path).map(shown).unwrap_or_default();
            checker.report(&path, ValidationError::new("", &node, why));
            remove(&mut value, &path);
        }
        if let Ok(obj) = R::deserialize(&value) {
            checker.found.sort_by(|a, b| a.0.cmp(&b.0));
            return Ok((obj, into_errors(checker)));
        }
    }

    // Only the metadata is left to keep.
    let bare = serde_json::json!({"metadata": value.get("metadata").cloned().unwrap_or_default()});
    let obj = R::deserialize(&bare)?;
    let shown_spec = value.get("spec").map(shown).unwrap_or_default();
    checker.report(&spec, ValidationError::new("", &shown_spec, error.to_string()));
    Ok((obj, into_errors(checker)))
}

fn into_errors(checker: Checker) -> Vec<ValidationError> {
    checker.found.into_iter().map(|(_, e)| e).collect()
}

/// Finds the values under `path` that keep `doc` (which cannot be read as `R`) from being
/// read, with why: each child is tried alone, its siblings taken out; a child that fails alone
/// and reads once taken out is searched further; when taking a failing child out does not
/// help, the value at `path` itself has the wrong shape.
fn locate<R: Resource>(doc: &Value, path: &Path, out: &mut Vec<(Path, String)>) {
    let children: Vec<Path> = match lookup(doc, path) {
        Some(Value::Object(map)) => map.keys().map(|k| path.key(k)).collect(),
        Some(Value::Array(list)) => (0..list.len()).map(|i| path.index(i)).collect(),
        _ => Vec::new(),
    };
    let why = |d: &Value| R::deserialize(d).err().map(|e| e.to_string()).unwrap_or_default();
    let mut culprits = Vec::new();
    for child in &children {
        let mut alone = doc.clone();
        for sibling in children.iter().rev().filter(|s| *s != child) {
            remove_one(&mut alone, sibling);
        }
        if R::deserialize(&alone).is_ok() {
            continue;
        }
        // Positions move once the siblings are out: the child is then the first item.
        let at = match child.0.last() {
            Some(Step::Index(_)) => path.index(0),
            _ => child.clone(),
        };
        let mut without = alone.clone();
        remove_one(&mut without, &at);
        if R::deserialize(&without).is_err() {
            out.push((path.clone(), why(doc)));
            return;
        }
        culprits.push((child.clone(), at, alone));
    }
    if culprits.is_empty() {
        out.push((path.clone(), why(doc)));
        return;
    }
    for (child, at, alone) in culprits {
        let mut found = Vec::new();
        locate::<R>(&alone, &at, &mut found);
        // Put the positions back as they are in `doc`.
        for (p, w) in found {
            let mut steps = p.0;
            steps.splice(..child.0.len(), child.0.iter().cloned());
            out.push((Path(steps), w));
        }
    }
}

fn lookup<'v>(value: &'v Value, path: &Path) -> Option<&'v Value> {
    path.0.iter().try_fold(value, |node, step| match step {
        Step::Key(k) => node.get(k),
        Step::Index(i) => node.get(i),
    })
}

/// Takes the field at `path` out, and with it the mappings above it that are left empty (an
/// empty `port: {}` would read as port 0); list items stay, so positions do not move.
fn remove(value: &mut Value, path: &Path) {
    remove_one(value, path);
    let mut at = path.0.clone();
    while at.len() > 1 {
        at.pop();
        let is_field = matches!(at.last(), Some(Step::Key(_)));
        let parent = Path(at.clone());
        let empty = lookup(value, &parent).and_then(Value::as_object).is_some_and(|m| m.is_empty());
        if !is_field || !empty {
            break;
        }
        remove_one(value, &parent);
    }
}

fn remove_one(value: &mut Value, path: &Path) {
    let Some((last, parent)) = path.0.split_last() else { return };
    let mut node = value;
    for step in parent {
        let next = match step {
            Step::Key(k) => node.get_mut(k),
            Step::Index(i) => node.get_mut(i),
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    match (last, node) {
        (Step::Key(k), Value::Object(map)) => {
            map.remove(k);
        }
        (Step::Index(i), Value::Array(list)) if *i < list.len() => {
            list.remove(*i);
        }
        _ => {}
    }
}

/// An object read from an API list, with the problems of its fields; reading it never fails
/// on a field value, so one bad object cannot fail the list it came in.
#[derive(Debug, Clone)]
pub struct Checked<R> {
    /// The object.
    pub obj: R,
    /// Its problems.
    pub problems: Vec<ValidationError>,
}

impl<'de, R: Resource> Deserialize<'de> for Checked<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let (obj, problems) = decode::<R>(value).map_err(serde::de::Error::custom)?;
        Ok(Checked { obj, problems })
    }
}
