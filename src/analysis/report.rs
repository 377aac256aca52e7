//! A report: the findings of one run, filtered by suppressions and the output threshold, in a
//! stable order.

use std::collections::BTreeMap;

use super::{Finding, Level, ObjRef};
use crate::error::UsageError;

/// `--suppress CODE=Kind ns/name`, with `*` wildcards in the kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    code: String,
    kind: String,
    namespace: String,
    name: String,
}

impl Suppression {
    /// Reads `CODE=Kind ns/name`, `CODE=Kind name` (cluster-scoped) or `CODE=*`. CODE is a DM
    /// code, its name, an IST code, or `*`.
    pub fn parse(text: &str) -> Result<Self, UsageError> {
        let invalid = |why: &str| {
            UsageError::new(format!(
                "invalid value {text:?} for --suppress: {why}; write CODE=Kind ns/name, e.g. \
                 DM0503=Pod shop/*"
            ))
        };
        let (code, target) = text.split_once('=').ok_or_else(|| invalid("no '='"))?;
        let code = code.trim();
        if code != "*" && super::codes::lookup(code).is_empty() {
            return Err(invalid("unknown code"));
        }
        let target = target.trim();
        let (kind, object) = match target.split_once(char::is_whitespace) {
            Some((k, o)) => (k.trim(), o.trim()),
            None if target == "*" => ("*", "*"),
            None => return Err(invalid("no resource after the kind")),
        };
        let (namespace, name) = match object.split_once('/') {
            Some((ns, name)) => (ns, name),
            None => ("*", object),
        };
        if kind.is_empty() || name.is_empty() || namespace.is_empty() {
            return Err(invalid("empty kind, namespace or name"));
        }
        Ok(Self {
            code: code.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    /// Whether this suppression hides `finding`.
    pub fn hides(&self, finding: &Finding) -> bool {
        let code = finding.code;
        let code_matches = self.code == "*"
            || self.code == code.code
            || self.code.eq_ignore_ascii_case(code.name)
            || code.istio == Some(self.code.as_str());
        let r = &finding.resource;
        code_matches
            && glob(&self.kind, &r.kind)
            && glob(&self.namespace, r.namespace.as_deref().unwrap_or(""))
            && glob(&self.name, &r.name)
    }
}

/// `*` matches any run of characters; matching ignores ASCII case for kinds' sake.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == t;
    }
    let mut rest = t.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The findings of a run, and what was left out.
#[derive(Debug, Default)]
pub struct Report {
    findings: Vec<Finding>,
    /// Findings hidden by `--suppress` or annotations.
    pub suppressed: usize,
    /// Findings below the output threshold.
    pub below_threshold: usize,
}

impl Report {
    /// Adds a finding.
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Drops findings hidden by suppressions (flags, or per-resource codes from annotations)
    /// and those below `threshold`, then sorts what is left.
    pub fn finish(
        mut self,
        suppressions: &[Suppression],
        annotated: &BTreeMap<ObjRef, Vec<String>>,
        threshold: Level,
    ) -> Self {
        let before = self.findings.len();
        self.findings.retain(|f| {
            let by_flag = suppressions.iter().any(|s| s.hides(f));
            let by_annotation = annotated.get(&f.resource).is_some_and(|codes| {
                codes
                    .iter()
                    .any(|c| c == f.code.code || Some(c.as_str()) == f.code.istio || c == "*")
            });
            !(by_flag || by_annotation)
        });
        self.suppressed = before - self.findings.len();
        let before = self.findings.len();
        self.findings.retain(|f| f.level().at_least(threshold));
        self.below_threshold = before - self.findings.len();
        self.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.findings.dedup_by(|a, b| a.sort_key() == b.sort_key());
        self
    }

    /// The findings, in output order once finished.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// How many findings have each level.
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level() == level).count()
    }

    /// Whether any finding is at least as severe as `level`.
    pub fn has_at_least(&self, level: Level) -> bool {
        self.findings.iter().any(|f| f.level().at_least(level))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::codes;

    fn finding(code: &'static codes::Code, kind: &str, ns: &str, name: &str) -> Finding {
        Finding::new(code, ObjRef::new(kind, Some(ns), name), "m")
    }

    #[test]
    fn suppressions_match_codes_and_resources_with_wildcards() {
        let f = finding(&codes::POD_MISSING_SIDECAR, "Pod", "shop", "cart-1");
        assert!(Suppression::parse("DM0503=Pod shop/*").unwrap().hides(&f));
        assert!(Suppression::parse("IST0103=Pod */cart-*").unwrap().hides(&f));
        assert!(Suppression::parse("PodMissingSidecar=pod shop/cart-1").unwrap().hides(&f));
        assert!(!Suppression::parse("DM0503=Pod other/*").unwrap().hides(&f));
        assert!(!Suppression::parse("DM0101=Pod shop/*").unwrap().hides(&f));
        assert!(Suppression::parse("*=*").unwrap().hides(&f));
        assert!(Suppression::parse("DM9999=Pod a/b").is_err());
        assert!(Suppression::parse("DM0503").is_err());
    }

    #[test]
    fn globs_match_like_shells() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbc"));
        assert!(glob("*-gateway", "shop-gateway"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("Pod", "pod"));
    }

    #[test]
    fn reports_filter_sort_and_count() {
        let mut r = Report::default();
        r.push(finding(&codes::PORT_NAME_NO_PROTOCOL, "Service", "b", "x"));
        r.push(finding(&codes::VS_GATEWAY_NOT_FOUND, "VirtualService", "b", "y"));
        r.push(finding(&codes::POD_MISSING_SIDECAR, "Pod", "a", "z"));
        let mut annotated = BTreeMap::new();
        annotated.insert(ObjRef::new("Pod", Some("a"), "z"), vec!["DM0503".to_string()]);
        let r = r.finish(&[], &annotated, Level::Info);
        assert_eq!(r.suppressed, 1);
        let codes: Vec<_> = r.findings().iter().map(|f| f.code.code).collect();
        assert_eq!(codes, vec!["DM0101", "DM0601"]);
        assert!(r.has_at_least(Level::Error));
        let r2 = {
            let mut r = Report::default();
            r.push(finding(&codes::PORT_NAME_NO_PROTOCOL, "Service", "b", "x"));
            r.finish(&[], &BTreeMap::new(), Level::Warning)
        };
        assert_eq!(r2.below_threshold, 1);
        assert!(r2.findings().is_empty());
    }
}
