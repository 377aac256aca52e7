//! Edits of a VirtualService's HTTP routes: set `retries` and `timeout`, or put back what was
//! there before. The object is edited as the server returned it; only those two fields of the
//! chosen routes and the record annotation change, so fields this tool does not model (fault
//! injection, mirrors, headers, fields of a newer Istio) stay as they are.
//!
//! Routes that redirect, answer directly or delegate never send a request upstream, so they
//! get no retries or timeout and are reported as skipped.

use serde_json::{Map, Value, json};

use super::record::{Key, Record};
use super::select::{self, Target, qualified};
use super::settings::RouteSettings;
use crate::mesh::validate::{ValidationError, check_retry_policy};

/// Route fields that mean the route never forwards a request.
const NON_FORWARDING: [&str; 3] = ["redirect", "directResponse", "delegate"];

/// The outcome of editing one VirtualService.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    /// The object after the edit (the same as the input when nothing changed).
    pub object: Value,
    /// Routes left alone because they do not forward requests, as `route "x"` or `route #2`.
    pub skipped: Vec<String>,
    /// Recorded blocks `--clear` left because someone changed them since.
    pub kept: Vec<String>,
}

/// Which HTTP routes of a VirtualService `resilience` changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    /// Only the route with this name (`--route`).
    pub named: Option<String>,
    /// Only the routes that send to this Service alone: on a VirtualService for other hosts
    /// (bound to gateways), the other routes are other Services'.
    pub to: Option<Target>,
}

impl Routes {
    /// Every route, or the one named.
    pub fn named(named: Option<&str>) -> Self {
        Self { named: named.map(str::to_string), to: None }
    }

    /// The routes of `vs` that are `target`'s: all of them when its hosts name the Service,
    /// else those that send to it alone; only the one named, when a name is given.
    pub fn of(vs: &Value, target: &Target, named: Option<&str>) -> Self {
        let to = (!select::names(vs, target)).then(|| target.clone());
        Self { named: named.map(str::to_string), to }
    }

    /// Whether `route`, in a VirtualService in `namespace`, is one of them.
    pub fn takes(&self, route: &Value, namespace: &str) -> bool {
        let name = route.get("name").and_then(Value::as_str);
        self.named.as_deref().is_none_or(|n| name == Some(n))
            && self.to.as_ref().is_none_or(|t| select::sends_only_to(route, t, namespace))
    }
}

/// How messages name HTTP route `index`.
pub fn route_label(route: &Value, index: usize) -> String {
    match route.get("name").and_then(Value::as_str) {
        Some(name) => format!("route {name:?}"),
        None => format!("route #{index}"),
    }
}

/// Sets `settings` on the HTTP routes of `live` that `only` takes.
///
/// # Errors
///
/// When `only` names no route, or the retry policy a route would end up with is one Istio
/// rejects (retry fields without `attempts`, which Istio reads as 0).
pub fn set(
    live: &Value,
    settings: &RouteSettings,
    only: &Routes,
) -> Result<Edited, ValidationError> {
    let mut object = live.clone();
    let mut record = Record::read(live);
    let mut skipped = Vec::new();
    let mut matched = false;
    let what = qualified(live);
    let namespace = select::namespace_of(live).to_string();
    let routes = object.pointer_mut("/spec/http").and_then(Value::as_array_mut);
    for (index, route) in routes.into_iter().flatten().enumerate() {
        let name = route.get("name").and_then(Value::as_str).map(str::to_string);
        if !only.takes(route, &namespace) {
            continue;
        }
        matched = true;
        let label = route_label(route, index);
        if NON_FORWARDING.iter().any(|f| route.get(*f).is_some()) {
            skipped.push(label);
            continue;
        }
        let Some(fields) = route.as_object_mut() else { continue };
        if settings.touches_retries() {
            let next = merged_retries(fields.get("retries"), settings);
            check_retries(&next, settings, &label, &what)?;
            let key = Key::route(name.as_deref(), index, "retries");
            record.note(key, fields.get("retries"), Some(&next));
            fields.insert("retries".into(), next);
        }
        if let Some(timeout) = settings.timeout {
            let next = Value::String(timeout.canonical());
            let key = Key::route(name.as_deref(), index, "timeout");
            record.note(key, fields.get("timeout"), Some(&next));
            fields.insert("timeout".into(), next);
        }
    }
    if let Some(only) = only.named.as_deref().filter(|_| !matched) {
        return Err(ValidationError::new(
            "--route",
            only,
            format!("VirtualService {what} has no http route of that name"),
        ));
    }
    record.write(&mut object);
    Ok(Edited { object, skipped, kept: Vec::new() })
}

/// The route's `retries` block after the change: the existing block with the asked-for fields
/// replaced. Turning retries off removes the fields Istio refuses next to `attempts: 0`.
pub fn merged_retries(existing: Option<&Value>, settings: &RouteSettings) -> Value {
    let mut block: Map<String, Value> =
        existing.and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(attempts) = settings.attempts {
        block.insert("attempts".into(), json!(attempts));
        if attempts == 0 {
            for field in ["perTryTimeout", "retryOn", "retryRemoteLocalities"] {
                block.remove(field);
            }
        }
    }
    if let Some(per_try) = settings.per_try_timeout {
        block.insert("perTryTimeout".into(), json!(per_try.canonical()));
    }
    if let Some(retry_on) = &settings.retry_on {
        block.insert("retryOn".into(), json!(retry_on.to_string()));
    }
    Value::Object(block)
}

/// Applies Istio's rule for the whole block, blaming the flag that added the refused field.
fn check_retries(
    block: &Value,
    settings: &RouteSettings,
    label: &str,
    what: &str,
) -> Result<(), ValidationError> {
    let attempts = block.get("attempts").and_then(Value::as_u64);
    let attempts = attempts.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let has = |f: &str| block.get(f).is_some_and(|v| !v.is_null() && *v != json!(""));
    let verdict = check_retry_policy(
        attempts,
        has("perTryTimeout"),
        has("retryOn"),
        has("retryRemoteLocalities"),
    );
    if verdict.is_ok() {
        return Ok(());
    }
    let (flag, value) = match (&settings.per_try_timeout, &settings.retry_on) {
        (Some(d), _) => ("--per-try-timeout", d.canonical()),
        (None, Some(r)) => ("--retry-on", r.to_string()),
        (None, None) => return verdict.map_err(|e| e.at_field(&format!("{what} {label}"))),
    };
    let attempts =
        attempts.map_or_else(|| "no retries.attempts".into(), |n| format!("attempts {n}"));
    Err(ValidationError::new(
        flag,
        &value,
        format!(
            "{label} of VirtualService {what} has {attempts}, which Istio reads as retries off, \
             and then refuses retry settings; add --retries N (Istio's default is 2)"
        ),
    ))
}

/// Puts back what the record says this command replaced on the routes `only` takes, where the
/// route still holds what the command wrote.
pub fn clear(live: &Value, only: &Routes) -> Edited {
    let mut object = live.clone();
    let mut record = Record::read(live);
    let namespace = select::namespace_of(live);
    let taken = record.take(|k| {
        let is_route = k.index.is_some() || k.route.is_some();
        let named = only.named.as_deref().is_none_or(|o| k.route.as_deref() == Some(o));
        // A route that is gone can no longer tell whose it was: only a clear of every route
        // of the object takes its entry.
        let whose = match route_at(live, k.route.as_deref(), k.index) {
            Some(route) => only.takes(route, namespace),
            None => only.to.is_none(),
        };
        is_route && named && whose
    });
    let mut kept = Vec::new();
    for entry in taken {
        let Some(route) = find_route(&mut object, entry.key.route.as_deref(), entry.key.index)
        else {
            kept.push(format!("{} (the route is gone)", entry.key.describe()));
            continue;
        };
        let field = entry.key.field.as_str();
        if route.get(field) != entry.set.as_ref() {
            kept.push(entry.key.describe());
            continue;
        }
        match entry.was {
            Some(was) => route.insert(field.into(), was),
            None => route.remove(field),
        };
    }
    record.write(&mut object);
    Edited { object, skipped: Vec::new(), kept }
}

pub(crate) fn route_at<'a>(
    object: &'a Value,
    name: Option<&str>,
    index: Option<usize>,
) -> Option<&'a Value> {
    let routes = object.pointer("/spec/http")?.as_array()?;
    match (name, index) {
        (Some(name), _) => {
            routes.iter().find(|r| r.get("name").and_then(Value::as_str) == Some(name))
        }
        (None, Some(i)) => routes.get(i).filter(|r| r.get("name").is_none()),
        (None, None) => None,
    }
}

fn find_route<'a>(
    object: &'a mut Value,
    name: Option<&str>,
    index: Option<usize>,
) -> Option<&'a mut Map<String, Value>> {
    let routes = object.pointer_mut("/spec/http")?.as_array_mut()?;
    let route = match (name, index) {
        (Some(name), _) => {
            routes.iter_mut().find(|r| r.get("name").and_then(Value::as_str) == Some(name))?
        }
        (None, Some(i)) => routes.get_mut(i).filter(|r| r.get("name").is_none())?,
        (None, None) => return None,
    };
    route.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::resilience::settings::Preset;
    use crate::mesh::validate::{DurationField, parse_mesh_duration};

    fn two_routes() -> Value {
        json!({
            "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {
                "hosts": ["cart"],
                "http": [
                    {"name": "api", "match": [{"uri": {"prefix": "/api"}}],
                     "fault": {"delay": {"fixedDelay": "1s", "percentage": {"value": 5}}},
                     "route": [{"destination": {"host": "cart"}}], "timeout": "30s",
                     "newIstioField": {"x": 1}},
                    {"route": [{"destination": {"host": "cart", "subset": "v1"}}]},
                    {"redirect": {"uri": "/new"}}
                ]
            }
        })
    }

    #[test]
    fn set_then_clear_gives_back_the_original() {
        let live = two_routes();
        let standard = Preset::Standard.settings().route;
        let edited = set(&live, &standard, &Routes::default()).unwrap();
        assert_eq!(edited.skipped, ["route #2"]);
        let http = &edited.object["spec"]["http"];
        assert_eq!(
            http[0]["retries"],
            json!({"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,gateway-error,connect-failure"})
        );
        assert_eq!(http[0]["timeout"], "10s");
        assert_eq!(http[0]["fault"], live["spec"]["http"][0]["fault"]);
        assert_eq!(http[0]["newIstioField"], json!({"x": 1}));
        assert_eq!(http[1]["timeout"], "10s");
        assert!(http[2].get("retries").is_none());

        let again = set(&edited.object, &standard, &Routes::default()).unwrap();
        assert_eq!(again.object, edited.object, "a second run changes nothing");

        let cleared = clear(&again.object, &Routes::default());
        assert_eq!(cleared.object, live);
        assert!(cleared.kept.is_empty());
    }

    #[test]
    fn clear_leaves_what_someone_changed_since() {
        let standard = Preset::Standard.settings().route;
        let mut edited = set(&two_routes(), &standard, &Routes::default()).unwrap().object;
        edited["spec"]["http"][1]["timeout"] = json!("3s");
        let cleared = clear(&edited, &Routes::default());
        assert_eq!(cleared.kept, ["route #1 timeout"]);
        assert_eq!(cleared.object["spec"]["http"][1]["timeout"], "3s");
        assert_eq!(cleared.object["spec"]["http"][0]["timeout"], "30s");
        assert!(cleared.object["spec"]["http"][1].get("retries").is_none());
    }

    #[test]
    fn one_named_route_only() {
        let timeout = parse_mesh_duration("5s", DurationField::Timeout).unwrap();
        let s = RouteSettings { timeout: Some(timeout), ..RouteSettings::default() };
        let edited = set(&two_routes(), &s, &Routes::named(Some("api"))).unwrap().object;
        assert_eq!(edited["spec"]["http"][0]["timeout"], "5s");
        assert!(edited["spec"]["http"][1].get("timeout").is_none());
        let e = set(&two_routes(), &s, &Routes::named(Some("nope"))).unwrap_err();
        assert_eq!(e.subject(), "--route");

        let cleared = clear(&edited, &Routes::named(Some("other")));
        assert_eq!(cleared.object, edited, "clearing another route leaves this one");
        assert_eq!(clear(&edited, &Routes::named(Some("api"))).object, two_routes());
    }

    #[test]
    fn on_a_gateway_virtual_service_only_the_services_own_routes_change() {
        let ingress = json!({
            "metadata": {"name": "public", "namespace": "shop"},
            "spec": {"hosts": ["*"], "gateways": ["public"], "http": [
                {"name": "cart", "route": [{"destination": {"host": "cart.shop.svc.cluster.local"}}]},
                {"name": "web", "route": [{"destination": {"host": "web"}}]}
            ]}
        });
        let (cart, web) = (
            Target::new("cart", "shop", "cluster.local"),
            Target::new("web", "shop", "cluster.local"),
        );
        let timeout = parse_mesh_duration("2s", DurationField::Timeout).unwrap();
        let s = RouteSettings { timeout: Some(timeout), ..RouteSettings::default() };
        let only_cart = Routes::of(&ingress, &cart, None);
        assert_eq!(only_cart.to.as_ref(), Some(&cart), "the hosts do not name cart");
        let edited = set(&ingress, &s, &only_cart).unwrap().object;
        assert_eq!(edited["spec"]["http"][0]["timeout"], "2s");
        assert!(edited["spec"]["http"][1].get("timeout").is_none(), "web's route is web's");

        let both = set(&edited, &s, &Routes::of(&edited, &web, None)).unwrap().object;
        let cleared = clear(&both, &Routes::of(&both, &cart, None)).object;
        assert!(cleared["spec"]["http"][0].get("timeout").is_none());
        assert_eq!(cleared["spec"]["http"][1]["timeout"], "2s", "web's settings stay");
        assert_eq!(clear(&cleared, &Routes::of(&cleared, &web, None)).object, ingress);
    }

    #[test]
    fn retry_fields_without_attempts_are_refused_and_attempts_zero_cleans_the_block() {
        let per_try = parse_mesh_duration("1s", DurationField::PerTryTimeout).unwrap();
        let s = RouteSettings { per_try_timeout: Some(per_try), ..RouteSettings::default() };
        let e = set(&two_routes(), &s, &Routes::default()).unwrap_err();
        assert_eq!(e.subject(), "--per-try-timeout");
        assert!(e.allowed().contains("--retries"), "{e}");

        let existing = json!({"attempts": 2, "perTryTimeout": "1s", "retryRemoteLocalities": true,
                              "backoff": "50ms"});
        let off = RouteSettings { attempts: Some(0), ..RouteSettings::default() };
        assert_eq!(
            merged_retries(Some(&existing), &off),
            json!({"attempts": 0, "backoff": "50ms"})
        );
    }
}
