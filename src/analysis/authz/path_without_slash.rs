//! `DM0407` PathWithoutLeadingSlash: a `paths` or `notPaths` value that is not `*`, a suffix
//! (`*.html`) or a path from the root, so it can never equal a request path.
//!
//! Istio rule: `paths` match the request's `:path` (normalized, without the query), which
//! always starts with `/`; values match exactly, by prefix (`/api/*`), by suffix (`*.html`) or
//! by presence (`*`), or as `{*}`/`{**}` templates
//! (<https://istio.io/latest/docs/reference/config/security/authorization-policy/#Operation>,
//! <https://istio.io/latest/docs/reference/config/security/normalization/>). Shapes are read by
//! `validate::authz::match_shape`, the validator behind `allow --paths`.
//!
//! Limitations: values `*` cannot shape (a `*` in the middle) are left to the validators; the
//! `request.headers[:path]` condition is not checked.

use super::fields;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::attrs::Attr;
use crate::mesh::Kind;
use crate::mesh::snapshot::Snapshot;
use crate::mesh::validate::authz::{MatchShape, match_shape};

/// See the module docs.
pub struct PathWithoutSlash;

impl Analyzer for PathWithoutSlash {
    fn name(&self) -> &'static str {
        "authz-path-without-slash"
    }

    fn description(&self) -> &'static str {
        "Rule paths that do not start with '/'"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_PATH_WITHOUT_SLASH]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        for ap in snapshot.authorization_policies() {
            for (i, rule) in ap.spec.rules.iter().enumerate() {
                for field in fields(rule).into_iter().filter(|f| f.attr == Some(Attr::Path)) {
                    for value in field.values.iter().filter(|v| is_unrooted(v)) {
                        let effect = if field.negated {
                            "so it excludes nothing and the rule matches more than written"
                        } else {
                            "so it never matches"
                        };
                        let message = format!(
                            "{} value {value:?} does not start with '/': request paths always \
                             do, {effect}",
                            field.path(i)
                        );
                        let fix = format!("write it from the root: \"/{value}\"");
                        out.push(finding(&codes::AP_PATH_WITHOUT_SLASH, ap, message).fix(fix));
                    }
                }
            }
        }
    }
}

/// Whether a path value is exact, a prefix or a template that does not start with `/`.
pub fn is_unrooted(value: &str) -> bool {
    match match_shape(value) {
        Ok(MatchShape::Exact(p) | MatchShape::Prefix(p)) => !p.starts_with('/'),
        Ok(MatchShape::Presence | MatchShape::Suffix(_)) => false,
        Err(_) => (value.contains("{*}") || value.contains("{**}")) && !value.starts_with('/'),
    }
}
