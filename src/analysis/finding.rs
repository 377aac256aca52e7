//! Findings: what an analyzer reports about one resource, with a level, a message and a fix.

use std::fmt;

use serde::Serialize;

use super::codes::Code;

/// How bad a finding is. Always written as a word; colour only adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    /// `error`, `warning`, `info`.
    pub fn word(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }

    /// Reads `error`, `warning` or `info` (and `warn`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Some(Level::Error),
            "warning" | "warn" => Some(Level::Warning),
            "info" => Some(Level::Info),
            _ => None,
        }
    }

    /// Whether this level is at least as severe as `threshold`.
    pub fn at_least(self, threshold: Level) -> bool {
        self <= threshold
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The resource a finding is about: `Kind namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind: kind.to_string(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// Whether this resource belongs to namespace `ns`: it lives there, or it is the
    /// cluster-scoped Namespace object of that name (its labels decide injection there).
    pub fn belongs_to(&self, ns: &str) -> bool {
        match &self.namespace {
            Some(own) => own == ns,
            None => self.kind == "Namespace" && self.name == ns,
        }
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Where a resource came from, when it came from a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static Code,
    pub resource: ObjRef,
    pub location: Option<Location>,
    /// What is wrong with this resource, in one line.
    pub message: String,
    /// The concrete fix: a command or the YAML change.
    pub fix: String,
}

impl Finding {
    /// A finding with the code's general fix; use [`Finding::fix`] for a concrete one.
    pub fn new(code: &'static Code, resource: ObjRef, message: impl Into<String>) -> Self {
        Self { code, resource, location: None, message: message.into(), fix: code.fix.to_string() }
    }

    /// Sets the concrete fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    /// Sets where the resource is defined.
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// The level, from the catalogue.
    pub fn level(&self) -> Level {
        self.code.level
    }

    /// The total order of output: level, then resource, then code, then message.
    pub fn sort_key(&self) -> (Level, &ObjRef, &'static str, &str) {
        (self.code.level, &self.resource, self.code.code, &self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_belongs_to_itself_and_namespaced_objects_to_theirs() {
        assert!(ObjRef::new("Namespace", None, "shop").belongs_to("shop"));
        assert!(!ObjRef::new("Namespace", None, "shop").belongs_to("default"));
        assert!(ObjRef::new("Pod", Some("shop"), "cart").belongs_to("shop"));
        assert!(!ObjRef::new("Pod", Some("default"), "shop").belongs_to("shop"));
        assert!(!ObjRef::new("MutatingWebhookConfiguration", None, "shop").belongs_to("shop"));
    }
}
