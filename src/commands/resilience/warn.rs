//! The warnings `resilience` prints before writing: the DM07xx traps of the objects as they will
//! be, judged by the same functions `check` uses, plus the overrides that will hide the new
//! values for some subsets or ports.

use serde_json::Value;

use super::Plan;
use super::read::Live;
use crate::analysis::Level;
use crate::analysis::resilience::traps::{self, Trap};
use crate::commands::writes::Intent;
use crate::mesh::destination_rule::{DestinationRule, TrafficPolicy};
use crate::mesh::resilience::Target;
use crate::mesh::resilience::routes::Routes;
use crate::mesh::resilience::select::{namespace_of, qualified};
use crate::mesh::virtual_service::{Destination, HttpRoute, HttpRouteDestination, VirtualService};
use crate::output::Ui;

/// Prints the traps of every object the intents would write.
pub fn traps(
    intents: &[Intent],
    plan: &Plan,
    target: &Target,
    live: &Live,
    ui: &mut Ui,
) -> anyhow::Result<()> {
    for intent in intents {
        let (resource, object) = match intent {
            Intent::Apply { resource, object, .. } => (resource, object.clone()),
            Intent::Edit { resource, live, edit, .. } => {
                (resource, edit(live)?.unwrap_or_else(|| live.clone()))
            }
            Intent::Delete { .. } => continue,
        };
        match resource.kind.kind {
            "VirtualService" => {
                let only = Routes::of(&object, target, plan.route.as_deref());
                route_traps(&object, &only, live, ui)
            }
            "DestinationRule" => {
                if !plan.settings.outlier.is_empty() {
                    outlier_traps(&object, live, ui);
                }
                overrides(&object, plan, ui);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Prints the traps of the live objects for the Service, as `resilience show` finds them; with
/// no VirtualService, those of the route Istio makes for the host.
pub fn live_traps(
    target: &Target,
    virtual_services: &[&Value],
    rules: &[&Value],
    live: &Live,
    ui: &mut Ui,
) {
    for vs in virtual_services {
        route_traps(vs, &Routes::default(), live, ui);
    }
    if virtual_services.is_empty() {
        let implicit = HttpRoute {
            route: vec![HttpRouteDestination {
                destination: Destination { host: target.fqdn(), ..Destination::default() },
                weight: None,
            }],
            ..HttpRoute::default()
        };
        let mesh_default = live.mesh.default_http_retry_policy.as_ref();
        if let Some(trap) = traps::default_retries(&implicit, mesh_default) {
            say(ui, &format!("no VirtualService for {}", target.fqdn()), trap);
        }
    }
    for dr in rules {
        outlier_traps(dr, live, ui);
    }
}

fn say(ui: &mut Ui, what: &str, trap: Trap) {
    let line = format!("{what}: {}; {} ({})", trap.message, trap.fix, trap.code.code);
    match trap.code.level {
        Level::Info => ui.note(&line),
        _ => ui.warn(&line),
    }
}

fn route_traps(object: &Value, only: &Routes, live: &Live, ui: &mut Ui) {
    let Ok(vs) = serde_json::from_value::<VirtualService>(object.clone()) else { return };
    let mesh_default = live.mesh.default_http_retry_policy.as_ref();
    let raw = object.pointer("/spec/http").and_then(Value::as_array);
    let ns = namespace_of(object);
    for (index, route) in vs.spec.http.iter().enumerate() {
        if raw.and_then(|r| r.get(index)).is_none_or(|r| !only.takes(r, ns)) {
            continue;
        }
        let what = format!(
            "VirtualService {} {}",
            qualified(object),
            traps::route_label(route.name.as_deref(), index)
        );
        let found = [
            traps::retry_budget(route, mesh_default),
            traps::retries_non_idempotent(route),
            traps::default_retries(route, mesh_default),
            traps::retries_without_per_try_timeout(route),
        ];
        for trap in found.into_iter().flatten() {
            say(ui, &what, trap);
        }
    }
}

fn outlier_traps(object: &Value, live: &Live, ui: &mut Ui) {
    let Ok(dr) = serde_json::from_value::<DestinationRule>(object.clone()) else { return };
    let name = qualified(object);
    for (scope, outlier, subset) in traps::outlier_blocks(&dr.spec) {
        let endpoints = live.endpoints.count(subset.map(|s| &s.labels));
        let what = format!("DestinationRule {name} {scope}");
        if let Some(trap) = traps::eject_all_few_endpoints(outlier, endpoints) {
            say(ui, &what, trap);
        }
        if let Some(trap) = traps::gateway_errors_no_effect(outlier) {
            say(ui, &what, trap);
        }
        let effective = traps::effective_outlier(outlier);
        let ejects = effective.consecutive_5xx > 0 || effective.consecutive_gateway > 0;
        if ejects && endpoints > 0 && traps::ejectable(outlier, endpoints) == 0 {
            let percent = effective.max_ejection_percent;
            ui.warn(&format!(
                "{what}: maxEjectionPercent {percent} of {} is less than one endpoint, and \
                 Envoy ejects a host only while the ejected stay within that share, so outlier \
                 detection ejects nothing; {}",
                crate::output::count(endpoints, "endpoint", "endpoints"),
                traps::ejection_percent_advice(endpoints)
            ));
        }
    }
}

/// Notes the subsets and ports whose own blocks Istio uses instead of the new top-level ones.
fn overrides(object: &Value, plan: &Plan, ui: &mut Ui) {
    let Ok(dr) = serde_json::from_value::<DestinationRule>(object.clone()) else { return };
    let name = qualified(object);
    let settings = &plan.settings;
    let Some(top) = &dr.spec.traffic_policy else { return };
    let mut hidden = Vec::new();
    let mut check = |policy: &TrafficPolicy, scope: String| {
        if !settings.pool.is_empty() && policy.connection_pool.is_some() {
            hidden.push(format!("{scope} has its own connectionPool"));
        }
        if !settings.outlier.is_empty() && policy.outlier_detection.is_some() {
            hidden.push(format!("{scope} has its own outlierDetection"));
        }
    };
    for port in &top.port_level_settings {
        let number = port.port.map_or(0, |p| p.number);
        let policy = TrafficPolicy {
            connection_pool: port.connection_pool.clone(),
            outlier_detection: port.outlier_detection.clone(),
            ..TrafficPolicy::default()
        };
        check(&policy, format!("port {number}"));
    }
    for subset in &dr.spec.subsets {
        if let Some(policy) = &subset.traffic_policy {
            check(policy, format!("subset {}", subset.name));
        }
    }
    for line in hidden {
        ui.note(&format!(
            "DestinationRule {name} {line}, which Istio uses there instead of the top-level one"
        ));
    }
}
