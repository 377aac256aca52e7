//! What a write did to each object, printed the way kubectl prints it:
//! `namespace/shop labeled`, `virtualservice.networking.istio.io/cart created (dry run)`.

use std::fmt;

use crate::cli::DryRun;

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Created,
    Configured,
    Unchanged,
    Labeled,
    /// Labels only removed, as kubectl label says then.
    Unlabeled,
    Deleted,
    Restarted,
    /// Left alone on purpose; the reason says why.
    Kept(String),
    /// The write failed; the reason says how.
    Failed(String),
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verb::Created => f.write_str("created"),
            Verb::Configured => f.write_str("configured"),
            Verb::Unchanged => f.write_str("unchanged"),
            Verb::Labeled => f.write_str("labeled"),
            Verb::Unlabeled => f.write_str("unlabeled"),
            Verb::Deleted => f.write_str("deleted"),
            Verb::Restarted => f.write_str("restarted"),
            Verb::Kept(why) => write!(f, "kept: {why}"),
            Verb::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// One object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `kind.group` in lower case, as kubectl prints it.
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub verb: Verb,
}

impl Change {
    /// A change to an object of `kind`.
    pub fn new(
        kind: &crate::cluster::Kind,
        namespace: Option<&str>,
        name: &str,
        verb: Verb,
    ) -> Self {
        Self {
            kind: kind.display_name(),
            namespace: namespace.filter(|_| kind.namespaced).map(str::to_string),
            name: name.to_string(),
            verb,
        }
    }

    /// Whether this change wrote something.
    pub fn wrote(&self) -> bool {
        !matches!(self.verb, Verb::Unchanged | Verb::Kept(_) | Verb::Failed(_))
    }

    /// `kind/name`, the way kubectl names an object.
    pub fn object(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// One line, with the dry-run marker kubectl uses.
    pub fn line(&self, dry_run: DryRun) -> String {
        let suffix = match (dry_run, self.wrote()) {
            (DryRun::Client, true) => " (dry run)",
            (DryRun::Server, true) => " (server dry run)",
            _ => "",
        };
        let place = match &self.namespace {
            Some(ns) => format!(" in {ns}"),
            None => String::new(),
        };
        format!("{}{place} {}{suffix}", self.object(), self.verb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kinds;

    #[test]
    fn lines_read_like_kubectl() {
        let c = Change::new(&kinds::NAMESPACE, None, "shop", Verb::Labeled);
        assert_eq!(c.line(DryRun::None), "namespace/shop labeled");
        assert_eq!(c.line(DryRun::Client), "namespace/shop labeled (dry run)");
        let vs = Change::new(&kinds::VIRTUAL_SERVICE, Some("shop"), "cart", Verb::Unchanged);
        assert_eq!(
            vs.line(DryRun::Server),
            "virtualservice.networking.istio.io/cart in shop unchanged"
        );
    }
}
