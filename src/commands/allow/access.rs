//! Who would lose access: the callers config names for the protected Services, each asked of
//! the authorization evaluator before and after the intended policy is laid over the Snapshot.
//!
//! Each caller is asked twice per Service port: a plain `GET /`, and a request shaped like the
//! new rule (its first method, a path and host its patterns match). For ALLOW a caller loses
//! access when it got in before and neither request gets in after; for DENY, when the shaped
//! request got in before and is denied after.

use crate::{
    authz::{self, Decision, Request, Target},
    commands::authz::{
        callers::{Caller, Who, callers},
        scope::Scope,
    },
    mesh::{Snapshot, authorization_policy::Action, policy_build::authorization_policy::RuleSpec},
};

/// A caller and the Service ports it would lose.
#[derive(Debug, Clone)]
pub struct Lost {
    pub caller: Caller,
    /// `namespace/service:port`.
    pub ports: Vec<String>,
}

/// The callers of the Services in front of `scope` that would lose access.
pub fn lost_access(
    before: &Snapshot,
    after: &Snapshot,
    scope: &Scope,
    action: Action,
    rule: &RuleSpec,
) -> Vec<Lost> {
    let services = scope.services(after);
    let mut out = Vec::new();
    for caller in callers(after, &services, false) {
        let from = match &caller.who {
            Who::Pods(group) => {
                let m = &after.pods().at(group.representative()).metadata;
                authz::Caller::Pod { namespace: m.namespace.clone(), name: m.name.clone() }
            }
            Who::Outside => authz::Caller::Plaintext,
        };
        let mut ports = Vec::new();
        for &service in &caller.services {
            let svc = after.services().at(service);
            for port in &svc.spec.ports {
                let to = Target::Service {
                    namespace: svc.metadata.namespace.clone(),
                    name: svc.metadata.name.clone(),
                    port: port.port,
                };
                let plain = Request::new(from.clone(), to.clone());
                let shaped = shaped(Request::new(from.clone(), to), rule);
                let gets_in = |snap: &Snapshot, req: &Request| {
                    authz::evaluate(snap, req).is_ok_and(|v| v.decision != Decision::Deny)
                };
                let lost = match action {
                    Action::Deny => gets_in(before, &shaped) && !gets_in(after, &shaped),
                    _ => {
                        (gets_in(before, &plain) || gets_in(before, &shaped))
                            && !gets_in(after, &plain)
                            && !gets_in(after, &shaped)
                    }
                };
                if lost {
                    ports.push(format!("{}:{}", svc.metadata.key(), port.port));
                }
            }
        }
        if !ports.is_empty() {
            out.push(Lost { caller, ports });
        }
    }
    out
}

/// A request the rule's operation matches, as far as its first method, path and host tell.
fn shaped(mut request: Request, rule: &RuleSpec) -> Request {
    request.method = rule.methods.first().map(|m| if m == "*" { "GET".into() } else { m.clone() });
    request.path = rule.paths.first().map(|p| example_path(p));
    request.host = rule.hosts.first().and_then(|h| example_host(h));
    request
}

/// A path that an AuthorizationPolicy path pattern matches.
pub fn example_path(pattern: &str) -> String {
    if pattern == "*" {
        return "/".into();
    }
    if pattern.contains("{*}") || pattern.contains("{**}") {
        return pattern.replace("{**}", "x").replace("{*}", "x");
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return format!("/x{suffix}");
    }
    pattern.strip_suffix('*').unwrap_or(pattern).to_string()
}

/// A host that a host pattern matches; `None` for `*` (any host).
fn example_host(pattern: &str) -> Option<String> {
    if pattern == "*" {
        return None;
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return Some(format!("x{suffix}"));
    }
    Some(pattern.strip_suffix('*').unwrap_or(pattern).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_paths_match_their_patterns() {
        assert_eq!(example_path("/api"), "/api");
        assert_eq!(example_path("/api/*"), "/api/");
        assert_eq!(example_path("*.css"), "/x.css");
        assert_eq!(example_path("*"), "/");
        assert_eq!(example_path("/items/{*}/parts/{**}"), "/items/x/parts/x");
        assert_eq!(example_host("*.example.com").as_deref(), Some("x.example.com"));
        assert_eq!(example_host("*"), None);
    }
}
