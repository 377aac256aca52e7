//! `resilience SVC`: write retries and a timeout into every VirtualService for a Service's host,
//! and connection-pool limits and outlier detection into its DestinationRule, editing the
//! objects in place or creating one of each when there is none; `--clear` puts back what the
//! command replaced. Every value is checked with Istio's rules before anything is sent, and
//! the traps Istio accepts are printed as warnings.

mod plan;
mod read;
pub mod show;
mod warn;

use std::sync::Arc;

use serde_json::{Value, json};

pub use plan::Plan;

use crate::cli::{GlobalArgs, ResilienceArgs};
use crate::cluster::Cluster;
use crate::cluster::ownership::{MANAGED_BY_LABEL, MANAGED_BY_US, is_ours};
use crate::commands::writes::{EditFn, Intent, Writer, same};
use crate::error::{ExitStatus, UsageError};
use crate::mesh::resilience::record::ANNOTATION;
use crate::mesh::resilience::select::{self, name_of, namespace_of, qualified};
use crate::mesh::resilience::{Settings, Target, build, destination, routes};
use crate::output::{Format, Ui};
use read::Live;

/// The fields a VirtualService edit changes, checked for other appliers.
const VS_FIELDS: &[&[&str]] = &[&["spec", "http"], &["metadata", "annotations", ANNOTATION]];
/// The fields a DestinationRule edit changes.
const DR_FIELDS: &[&[&str]] =
    &[&["spec", "trafficPolicy"], &["metadata", "annotations", ANNOTATION]];

fn fields(list: &[&[&'static str]]) -> Vec<Vec<&'static str>> {
    list.iter().map(|path| path.to_vec()).collect()
}

fn labels() -> Value {
    json!({MANAGED_BY_LABEL: MANAGED_BY_US})
}

/// Runs `resilience SVC`.
pub async fn run(
    global: &GlobalArgs,
    args: ResilienceArgs,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Yaml, Format::Json])?;
    let plan = Plan::new(&args)?;

    let cluster = Cluster::connect(global).await?;
    let target = Target::new(&plan.service, cluster.namespace(), &plan.domain);
    let live = read::collect(&cluster, &target, ui).await?;

    let intents = if plan.clear {
        clear_intents(&plan, &target, &live, ui)?
    } else {
        let intents = set_intents(&plan, &target, &live, ui)?;
        warn::traps(&intents, &plan, &live, ui)?;
        intents
    };
    if intents.is_empty() {
        ui.note(&format!(
            "nothing to clear: no VirtualService or DestinationRule for {} holds settings \
             written by resilience",
            target.fqdn()
        ));
        return Ok(ExitStatus::Success);
    }
    Writer::new(&cluster, &args.write, format).run(intents, ui).await
}

/// An object named after the Service in its namespace that is not for the Service's host: a
/// new object cannot take its name.
fn name_taken(items: &[Value], target: &Target, kind: &str) -> Result<(), UsageError> {
    let taken =
        items.iter().any(|o| namespace_of(o) == target.namespace && name_of(o) == target.name);
    if taken {
        return Err(UsageError::new(format!(
            "{kind} {} exists but is not for host {}, so none can be created under that name; \
             nothing was written",
            target.display(),
            target.fqdn()
        ))
        .with_hint(format!(
            "add {} to its hosts, or create a {kind} for the host yourself and re-run",
            target.fqdn()
        )));
    }
    Ok(())
}

fn note_several(ui: &mut Ui, kind: &str, target: &Target, objects: &[&Value]) {
    if objects.len() > 1 {
        let names: Vec<String> = objects.iter().map(|o| qualified(o)).collect();
        ui.note(&format!(
            "{} {kind}s are for host {}: editing each ({})",
            objects.len(),
            target.fqdn(),
            names.join(", ")
        ));
    }
}

fn note_wildcards(ui: &mut Ui, kind: &str, target: &Target, found: &[(&Value, String)]) {
    for (object, host) in found {
        ui.note(&format!(
            "{kind} {} has host {host}, which also covers {}; it is left unchanged",
            qualified(object),
            target.fqdn()
        ));
    }
}

/// The writes that set the plan's values.
fn set_intents(
    plan: &Plan,
    target: &Target,
    live: &Live,
    ui: &mut Ui,
) -> anyhow::Result<Vec<Intent>> {
    let mut intents = Vec::new();
    let settings: &Settings = &plan.settings;

    if !settings.route.is_empty() {
        note_not_http(ui, target, live);
        let found = select::virtual_services(target, &live.virtual_services);
        note_wildcards(ui, "VirtualService", target, &found.wildcards);
        let mut named = found.named;
        if let Some(route) = &plan.route {
            named.retain(|vs| has_route(vs, route));
            if named.is_empty() {
                return Err(crate::mesh::validate::ValidationError::new(
                    "--route",
                    route,
                    format!(
                        "no VirtualService for host {} has an http route of that name",
                        target.fqdn()
                    ),
                )
                .into());
            }
        }
        note_several(ui, "VirtualService", target, &named);
        if named.is_empty() {
            name_taken(&live.virtual_services, target, "VirtualService")?;
            let skeleton =
                build::virtual_service(target, &live.vs_resource.api_version(), &labels());
            let object = routes::set(&skeleton, &settings.route, None)?.object;
            intents.push(Intent::Apply { resource: live.vs_resource, object, live: None });
        }
        for vs in named {
            if vs.pointer("/spec/http").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                ui.note(&format!(
                    "VirtualService {} has no http routes, so it gets no retries or timeout",
                    qualified(vs)
                ));
            }
            // Checked now, on what was listed, so a value Istio would refuse stops the run
            // before anything is written; the edit runs again on the object as it is then.
            let edited = routes::set(vs, &settings.route, plan.route.as_deref())?;
            for skipped in &edited.skipped {
                ui.note(&format!(
                    "VirtualService {} {skipped} redirects, answers directly or delegates, so it \
                     gets no retries or timeout",
                    qualified(vs)
                ));
            }
            let (route_settings, only) = (settings.route.clone(), plan.route.clone());
            let edit: EditFn = Arc::new(move |now: &Value| {
                let edited = routes::set(now, &route_settings, only.as_deref())?;
                Ok((!same(now, &edited.object)).then_some(edited.object))
            });
            intents.push(Intent::Edit {
                resource: live.vs_resource,
                live: vs.clone(),
                fields: fields(VS_FIELDS),
                edit,
            });
        }
    }

    if settings.touches_destination() {
        let found = select::destination_rules(target, &live.destination_rules);
        note_wildcards(ui, "DestinationRule", target, &found.wildcards);
        note_several(ui, "DestinationRule", target, &found.named);
        if found.named.is_empty() {
            name_taken(&live.destination_rules, target, "DestinationRule")?;
            let skeleton =
                build::destination_rule(target, &live.dr_resource.api_version(), &labels());
            let object = destination::set(&skeleton, &settings.pool, &settings.outlier);
            intents.push(Intent::Apply { resource: live.dr_resource, object, live: None });
        }
        for dr in found.named {
            let (pool, outlier) = (settings.pool.clone(), settings.outlier.clone());
            let edit: EditFn = Arc::new(move |now: &Value| {
                let edited = destination::set(now, &pool, &outlier);
                Ok((!same(now, &edited)).then_some(edited))
            });
            intents.push(Intent::Edit {
                resource: live.dr_resource,
                live: dr.clone(),
                fields: fields(DR_FIELDS),
                edit,
            });
        }
    }
    Ok(intents)
}

/// Notes a Service none of whose ports Istio treats as HTTP (or sniffs): route settings only
/// reach HTTP traffic.
fn note_not_http(ui: &mut Ui, target: &Target, live: &Live) {
    let ports = &live.service.spec.ports;
    let opaque = |p: &crate::mesh::service::ServicePort| {
        let protocol = p.istio_protocol();
        protocol.is_tcp() || protocol == crate::mesh::protocol::PortProtocol::Udp
    };
    if !ports.is_empty() && ports.iter().all(opaque) {
        ui.note(&format!(
            "no port of Service {} carries HTTP as Istio sees it, and retries and timeouts apply \
             only to HTTP traffic",
            target.display()
        ));
    }
}

fn has_route(vs: &Value, name: &str) -> bool {
    vs.pointer("/spec/http").and_then(Value::as_array).is_some_and(|routes| {
        routes.iter().any(|r| r.get("name").and_then(Value::as_str) == Some(name))
    })
}

/// The writes that put back what the command replaced: an edit where something was recorded,
/// a delete for an object this tool created once only its skeleton would be left.
fn clear_intents(
    plan: &Plan,
    target: &Target,
    live: &Live,
    ui: &mut Ui,
) -> anyhow::Result<Vec<Intent>> {
    let mut intents = Vec::new();
    let only = plan.route.clone();
    for vs in select::virtual_services(target, &live.virtual_services).named {
        let cleared = routes::clear(vs, only.as_deref());
        report_kept(ui, "VirtualService", vs, &cleared.kept);
        if same(vs, &cleared.object) {
            continue;
        }
        if is_ours(vs) && build::is_bare(&cleared.object, target) {
            intents.push(Intent::Delete { resource: live.vs_resource, live: vs.clone() });
            continue;
        }
        let edit: EditFn = {
            let only = only.clone();
            Arc::new(move |now: &Value| {
                let cleared = routes::clear(now, only.as_deref());
                Ok((!same(now, &cleared.object)).then_some(cleared.object))
            })
        };
        intents.push(Intent::Edit {
            resource: live.vs_resource,
            live: vs.clone(),
            fields: fields(VS_FIELDS),
            edit,
        });
    }
    // A route name narrows the clear to that route; the DestinationRule is no route's.
    if only.is_some() {
        return Ok(intents);
    }
    for dr in select::destination_rules(target, &live.destination_rules).named {
        let cleared = destination::clear(dr);
        report_kept(ui, "DestinationRule", dr, &cleared.kept);
        if same(dr, &cleared.object) {
            continue;
        }
        if is_ours(dr) && build::is_bare(&cleared.object, target) {
            intents.push(Intent::Delete { resource: live.dr_resource, live: dr.clone() });
            continue;
        }
        let edit: EditFn = Arc::new(|now: &Value| {
            let cleared = destination::clear(now);
            Ok((!same(now, &cleared.object)).then_some(cleared.object))
        });
        intents.push(Intent::Edit {
            resource: live.dr_resource,
            live: dr.clone(),
            fields: fields(DR_FIELDS),
            edit,
        });
    }
    Ok(intents)
}

fn report_kept(ui: &mut Ui, kind: &str, object: &Value, kept: &[String]) {
    for block in kept {
        ui.warn(&format!(
            "{kind} {} {block} changed since resilience set it; left as it is",
            qualified(object)
        ));
    }
}
