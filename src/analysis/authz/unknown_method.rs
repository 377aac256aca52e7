//! `DM0408` UnknownHttpMethod: a `methods` or `notMethods` value that no HTTP method matches.
//!
//! Istio rule: `methods` match the request's `:method` case-sensitively, exactly or by prefix,
//! suffix or presence; gRPC calls are always `POST`, and a gRPC method is matched by its path
//! `/package.Service/Method`
//! (<https://istio.io/latest/docs/reference/config/security/authorization-policy/#Operation>).
//! Methods are Go's `net/http` names, as the validator behind `allow --methods`
//! (`validate::parse_method`) knows them; its message says what to write instead.
//!
//! Limitations: extension methods (WebDAV's `PROPFIND`, ...) are reported too.

use super::fields;
use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::attrs::Attr;
use crate::authz::matcher::is_string_match;
use crate::mesh::Kind;
use crate::mesh::snapshot::Snapshot;
use crate::mesh::validate::authz::HTTP_METHODS;
use crate::mesh::validate::parse_method;

/// See the module docs.
pub struct UnknownMethod;

impl Analyzer for UnknownMethod {
    fn name(&self) -> &'static str {
        "authz-unknown-method"
    }

    fn description(&self) -> &'static str {
        "Rule methods that are not HTTP methods"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_UNKNOWN_METHOD]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        for ap in snapshot.authorization_policies() {
            for (i, rule) in ap.spec.rules.iter().enumerate() {
                for field in fields(rule).into_iter().filter(|f| f.attr == Some(Attr::Method)) {
                    for value in field.values {
                        let Some(why) = method_problem(value) else { continue };
                        let effect =
                            if field.negated { "excludes nothing" } else { "never matches" };
                        let message = format!(
                            "{} value {value:?} is not an HTTP method, so it {effect}: {why}",
                            field.path(i)
                        );
                        let fix = if value.starts_with('/') {
                            format!(
                                "match the gRPC method by path: paths: [{value:?}], methods: [\"POST\"]"
                            )
                        } else {
                            match HTTP_METHODS.iter().find(|m| m.eq_ignore_ascii_case(value)) {
                                Some(m) => format!("write {m:?}"),
                                None => format!("use one of {}", HTTP_METHODS.join(", ")),
                            }
                        };
                        out.push(finding(&codes::AP_UNKNOWN_METHOD, ap, message).fix(fix));
                    }
                }
            }
        }
    }
}

/// Why a method value matches no HTTP method, if it matches none.
pub fn method_problem(value: &str) -> Option<String> {
    let err = parse_method(value).err()?;
    let wildcard = value.starts_with('*') || value.ends_with('*');
    if wildcard && HTTP_METHODS.iter().any(|m| is_string_match(value, m, false)) {
        return None;
    }
    Some(err.allowed().to_string())
}
