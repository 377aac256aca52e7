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
use crate::cluster::ownership::{MANAGED_BY_LABEL, MANAGED_BY_US, is_ours, made_by};
use crate::commands::writes::{EditFn, Intent, Writer, same};
use crate::error::{ExitStatus, UsageError};
use crate::mesh::resilience::record::ANNOTATION;
use crate::mesh::resilience::routes::Routes;
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
        warn::traps(&intents, &plan, &target, &live, ui)?;
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

/// Why a new object cannot take the name `name` in the Service's namespace: an object there
/// has it and is not for the Service's host. Says who made it and the way out.
fn name_taken(object: &Value, target: &Target, kind: &str) -> UsageError {
    UsageError::new(format!(
        "{kind} {} exists ({}) but is not for host {}, so none can be created under that name; \
         nothing was written",
        qualified(object),
        made_by(object),
        target.fqdn()
    ))
    .with_hint(format!(
        "add {} to its hosts, or create a {kind} for the host yourself and re-run",
        target.fqdn()
    ))
}

/// The object of `items` in the Service's namespace named `name`.
fn named<'a>(items: &'a [Value], target: &Target, name: &str) -> Option<&'a Value> {
    items.iter().find(|o| namespace_of(o) == target.namespace && name_of(o) == name)
}

/// The name of the mesh VirtualService to create: the Service's, or `SVC-mesh` when a
/// VirtualService bound only to gateways (the one `expose` writes) has that name. Both route
/// the Service, each in its own context, so neither is taken over.
fn mesh_vs_name(items: &[Value], target: &Target) -> Result<String, UsageError> {
    let Some(taken) = named(items, target, &target.name) else { return Ok(target.name.clone()) };
    if !select::is_gateway_only(taken) {
        return Err(name_taken(taken, target, "VirtualService"));
    }
    let other = format!("{}-mesh", target.name);
    match named(items, target, &other) {
        None => Ok(other),
        Some(taken) => Err(name_taken(taken, target, "VirtualService")),
    }
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
        let (mut named, mut gateway) = (found.named, found.gateway);
        if let Some(route) = &plan.route {
            named.retain(|vs| has_route(vs, route, target));
            gateway.retain(|vs| has_route(vs, route, target));
            if named.is_empty() && gateway.is_empty() {
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
        if named.is_empty() && plan.route.is_none() {
            let name = mesh_vs_name(&live.virtual_services, target)?;
            let api = live.vs_resource.api_version();
            let skeleton = build::virtual_service(target, &name, &api, &labels());
            let object = routes::set(&skeleton, &settings.route, &Routes::default())?.object;
            intents.push(Intent::Apply { resource: live.vs_resource, object, live: None });
        }
        for vs in &gateway {
            ui.note(&format!(
                "VirtualService {} routes {} from outside the mesh: its routes to the Service \
                 get the same settings",
                qualified(vs),
                target.display()
            ));
        }
        for vs in named.into_iter().chain(gateway) {
            if vs.pointer("/spec/http").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                ui.note(&format!(
                    "VirtualService {} has no http routes, so it gets no retries or timeout",
                    qualified(vs)
                ));
            }
            // Checked now, on what was listed, so a value Istio would refuse stops the run
            // before anything is written; the edit runs again on the object as it is then.
            let only = Routes::of(vs, target, plan.route.as_deref());
            let edited = routes::set(vs, &settings.route, &only)?;
            for skipped in &edited.skipped {
                ui.note(&format!(
                    "VirtualService {} {skipped} redirects, answers directly or delegates, so it \
                     gets no retries or timeout",
                    qualified(vs)
                ));
            }
            let route_settings = settings.route.clone();
            let edit: EditFn = Arc::new(move |now: &Value| {
                let edited = routes::set(now, &route_settings, &only)?;
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
            if let Some(taken) = named(&live.destination_rules, target, &target.name) {
                return Err(name_taken(taken, target, "DestinationRule").into());
            }
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

/// Whether `vs` has a route named `name` among the Service's routes.
fn has_route(vs: &Value, name: &str, target: &Target) -> bool {
    let only = Routes::of(vs, target, Some(name));
    let ns = namespace_of(vs);
    vs.pointer("/spec/http")
        .and_then(Value::as_array)
        .is_some_and(|routes| routes.iter().any(|r| only.takes(r, ns)))
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
    let found = select::virtual_services(target, &live.virtual_services);
    for vs in found.named.into_iter().chain(found.gateway) {
        let only = Routes::of(vs, target, plan.route.as_deref());
        let cleared = routes::clear(vs, &only);
        report_kept(ui, "VirtualService", vs, &cleared.kept);
        if same(vs, &cleared.object) {
            continue;
        }
        if is_ours(vs) && build::is_bare(&cleared.object, target) {
            intents.push(Intent::Delete { resource: live.vs_resource, live: vs.clone() });
            continue;
        }
        let edit: EditFn = Arc::new(move |now: &Value| {
            let cleared = routes::clear(now, &only);
            Ok((!same(now, &cleared.object)).then_some(cleared.object))
        });
        intents.push(Intent::Edit {
            resource: live.vs_resource,
            live: vs.clone(),
            fields: fields(VS_FIELDS),
            edit,
        });
    }
    // A route name narrows the clear to that route; the DestinationRule is no route's.
    if plan.route.is_some() {
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
