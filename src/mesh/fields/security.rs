//! The field checks of `security.istio.io` kinds: PeerAuthentication modes and port-level
//! settings; AuthorizationPolicy actions, sources, operations and conditions; the workload
//! selectors of all three.
//!
//! AuthorizationPolicy methods and paths without a leading `/` are left to their own checks
//! (DM0408 and DM0407), since Istio accepts them; path templates are checked here, since
//! Istio refuses a malformed one.

use serde_json::Value;

use super::{Checker, Path, get, items};
use crate::mesh::validate::{
    EnumField, parse_authz_port, parse_enum, parse_mtls_mode, parse_port, parse_service_account,
    validate_authz_path, validate_condition, validate_ip_block, validate_namespace_match,
    validate_principal,
};

fn selector(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    let selector = get(spec, "selector");
    c.labels(&at.key("selector").key("matchLabels"), get(selector, "matchLabels"));
}

/// `PeerAuthentication.spec`.
pub(super) fn peer_authentication(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    selector(c, at, spec);
    let mode = get(get(spec, "mtls"), "mode");
    c.text(&at.key("mtls").key("mode"), mode, parse_mtls_mode);
    let Some(Value::Object(ports)) = get(spec, "portLevelMtls") else { return };
    for (port, setting) in ports {
        let at = at.key("portLevelMtls").key(port);
        if let Err(e) = parse_port(port) {
            c.report(&at, e);
        }
        c.text(&at.key("mode"), get(Some(setting), "mode"), parse_mtls_mode);
    }
}

/// `AuthorizationPolicy.spec`.
pub(super) fn authorization_policy(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    selector(c, at, spec);
    let action = get(spec, "action");
    c.text(&at.key("action"), action, |a| parse_enum(a, EnumField::Action));
    for (i, rule) in items(get(spec, "rules")) {
        let at = at.key("rules").index(i);
        for (j, from) in items(get(Some(rule), "from")) {
            let at = at.key("from").index(j).key("source");
            source(c, &at, get(Some(from), "source"));
        }
        for (j, to) in items(get(Some(rule), "to")) {
            let at = at.key("to").index(j).key("operation");
            operation(c, &at, get(Some(to), "operation"));
        }
        for (j, condition) in items(get(Some(rule), "when")) {
            when(c, &at.key("when").index(j), condition);
        }
    }
}

/// Each entry of the list field `key` of `block`, judged by `check`.
fn each<T>(
    c: &mut Checker,
    at: &Path,
    block: Option<&Value>,
    key: &str,
    check: impl Fn(&str) -> Result<T, crate::mesh::validate::ValidationError>,
) {
    for (i, entry) in items(get(block, key)) {
        c.text(&at.key(key).index(i), Some(entry), &check);
    }
}

fn source(c: &mut Checker, at: &Path, source: Option<&Value>) {
    for key in ["principals", "notPrincipals"] {
        each(c, at, source, key, validate_principal);
    }
    for key in ["namespaces", "notNamespaces"] {
        each(c, at, source, key, validate_namespace_match);
    }
    for key in ["ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"] {
        each(c, at, source, key, validate_ip_block);
    }
    for key in ["serviceAccounts", "notServiceAccounts"] {
        each(c, at, source, key, parse_service_account);
    }
}

fn operation(c: &mut Checker, at: &Path, operation: Option<&Value>) {
    for key in ["ports", "notPorts"] {
        each(c, at, operation, key, parse_authz_port);
    }
    // Only templates: a path without '/' is accepted by Istio and reported as DM0407.
    for key in ["paths", "notPaths"] {
        each(c, at, operation, key, |p| match p.contains(['{', '}']) {
            true => validate_authz_path(p),
            false => Ok(()),
        });
    }
}

fn when(c: &mut Checker, at: &Path, condition: &Value) {
    let texts = |key: &str| -> Vec<String> {
        items(get(Some(condition), key)).map(|(_, v)| super::shown(v)).collect()
    };
    let key = get(Some(condition), "key").map(super::shown).unwrap_or_default();
    if let Err(e) = validate_condition(&key, &texts("values"), &texts("notValues")) {
        c.report(at, e);
    }
}

/// `RequestAuthentication.spec`.
pub(super) fn request_authentication(c: &mut Checker, at: &Path, spec: Option<&Value>) {
    selector(c, at, spec);
}
