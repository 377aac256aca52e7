//! `expose` through Istio: pick the Gateway (named, reused, or `SVC-gateway`), put the route
//! into the VirtualService that already routes the hosts on it (or create `SVC`), take stale
//! copies of the route out of other VirtualServices, and check the gateway workload.

use std::sync::Arc;

use anyhow::anyhow;
use serde_json::{Map, Value, json};

use super::{
    Notes, Plan, Prepared, conflicts, ingress, list_objects, name_of, ours_from, preflight::Read,
    qualified,
};
use crate::{
    cluster::{
        Cluster, Resource, Scope, kinds,
        ownership::{is_ours, made_by},
    },
    commands::writes::Intent,
    error::{Problems, UsageError},
    mesh::{
        Kind,
        expose::array,
        expose::{
            Backend, Exposure, HTTP_PORT, HTTPS_PORT,
            istio::{self, RouteConflict},
        },
        resilience::{Target, carry, record},
    },
};

/// The Gateway the route goes through.
struct Chosen {
    namespace: String,
    name: String,
    /// The workload labels it selects.
    selector: std::collections::BTreeMap<String, String>,
    live: Option<Value>,
    /// What to apply, when the Gateway is ours to create or bring up to date.
    write: Option<Value>,
}

/// Reads what is there, decides every write and runs the checks; writes nothing.
pub(super) async fn prepare(
    cluster: &Cluster,
    plan: &Plan,
    exposure: &Exposure,
    force: bool,
    notes: &mut Notes,
) -> anyhow::Result<Prepared> {
    let gateways = cluster.resource(&kinds::GATEWAY).await?;
    let services = cluster.resource(&kinds::VIRTUAL_SERVICE).await?;
    let ns = exposure.namespace();

    // The namespace's Gateways (or the one named) and VirtualServices, read together.
    let named = async {
        match &plan.gateway {
            Some(r) => cluster.get(&gateways, Some(&r.namespace), &r.name).await,
            None => Ok(None),
        }
    };
    let listed = async {
        match &plan.gateway {
            Some(_) => Ok(None),
            None => conflicts::list_gateways(cluster, &gateways, ns).await.map(Some),
        }
    };
    let (named, listed, virtual_services) =
        tokio::try_join!(named, listed, list_objects(cluster, &services, Scope::Namespace(ns)))?;
    // Gateways count as read for the checks only when every namespace's were listed.
    let (listed, all_gateways) = match listed {
        Some((listed, note)) => {
            let all = note.is_none();
            conflicts::note_scope(note, notes);
            (listed, all)
        }
        None => (Vec::new(), false),
    };

    let chosen = match (&plan.gateway, named) {
        (Some(r), Some(found)) => use_named(&r.to_string(), found, exposure, &gateways, notes)?,
        (Some(r), None) => {
            return Err(UsageError::new(format!(
                "invalid value {:?} for --gateway: gateway {r} not found (kubectl get \
                 gateways.networking.istio.io -n {} lists them)",
                plan.gateway_text, r.namespace
            ))
            .into());
        }
        (None, _) => choose(plan, exposure, &gateways, &listed, &virtual_services, force, notes)?,
    };

    let mut intents = Vec::new();
    if let Some(object) = &chosen.write {
        conflicts::refuse_conflicts(object, &listed, exposure)?;
        intents.push(Intent::Apply {
            resource: gateways,
            object: object.clone(),
            live: chosen.live.clone(),
        });
    }
    let target = Target::new(&plan.service, &plan.namespace, &plan.cluster_domain);
    let settings = carry::recorded(&target, &virtual_services);
    let routes = Routes { exposure, settings: &settings };
    intents.extend(route_intents(&services, &routes, &chosen, &virtual_services, notes)?);

    // The checks: gateway pods, the ports of their Service, the TLS Secret.
    let workload = ingress::find_workload(cluster, &chosen.selector, notes).await;
    let mut ports = vec![HTTP_PORT];
    if exposure.tls.is_some() {
        ports.push(HTTPS_PORT);
    }
    ingress::check_ports(&workload, &ports, notes);
    if let Some(tls) = &exposure.tls {
        ingress::check_tls_secret(cluster, workload.secret_namespace(), &tls.secret).await?;
    }
    let reach = |port| workload.service.as_ref().and_then(|s| s.reach(port, workload.node()));
    let mut kinds = vec![Kind::VirtualService, Kind::Service];
    if all_gateways {
        kinds.push(Kind::Gateway);
    }
    let mut objects = listed;
    objects.extend(virtual_services);
    objects.extend(workload.running.iter().map(ingress::Pod::to_value));
    let read = Read { objects, kinds, relies_on: chosen.live.clone().into_iter().collect() };
    Ok(Prepared {
        intents,
        http: reach(HTTP_PORT),
        https: exposure.tls.as_ref().and_then(|_| reach(HTTPS_PORT)),
        after: None,
        read,
    })
}

/// `--gateway NS/NAME`: it must already serve every host and port.
fn use_named(
    reference: &str,
    gateway: Value,
    exposure: &Exposure,
    resource: &Resource,
    notes: &mut Notes,
) -> anyhow::Result<Chosen> {
    let gaps = istio::gateway_gaps(&gateway, exposure);
    if !gaps.is_empty() {
        // Whether the hosts are served on port 80 at all, or only TLS is missing.
        let plain = Exposure { tls: None, ..exposure.clone() };
        let fix = if istio::gateway_gaps(&gateway, &plain).is_empty() {
            "add the HTTPS server (and redirect) to it, or leave out --tls-secret to route plain \
             HTTP through it"
        } else {
            "pass --host with a host it serves, or add a server for the host to it"
        };
        return Err(UsageError::new(format!(
            "gateway {reference} does not serve {}; {fix}; nothing was written",
            gaps.join(", ")
        ))
        .into());
    }
    notes.note(&format!("routing through {} {reference}", resource.kind.display_name()));
    Ok(Chosen {
        namespace: text(&gateway, "/metadata/namespace").to_string(),
        name: name_of(&gateway).to_string(),
        selector: istio::selector_of(&gateway),
        live: Some(gateway),
        write: None,
    })
}

/// No `--gateway`: `SVC-gateway` when it is ours, else a Gateway in the namespace that selects
/// the ingress workload and already serves everything, else a new `SVC-gateway`.
fn choose(
    plan: &Plan,
    exposure: &Exposure,
    resource: &Resource,
    listed: &[Value],
    virtual_services: &[Value],
    force: bool,
    notes: &mut Notes,
) -> anyhow::Result<Chosen> {
    let ns = exposure.namespace();
    let own_name = exposure.gateway_name();
    let own = conflicts::in_namespace(listed, ns, &own_name);
    let chosen = |g: &Value, write: Option<Value>| Chosen {
        namespace: text(g, "/metadata/namespace").to_string(),
        name: name_of(g).to_string(),
        selector: if write.is_some() { plan.selector.clone() } else { istio::selector_of(g) },
        live: Some(g.clone()),
        write,
    };
    let desired = istio::gateway(&resource.api_version(), &own_name, exposure, &plan.selector);
    let updated = |live: &Value| {
        let mut next = ours_from(live);
        next["spec"]["selector"] = desired["spec"]["selector"].clone();
        next["spec"]["servers"] = desired["spec"]["servers"].clone();
        next
    };

    if let Some(own) = own.filter(|g| is_ours(g)) {
        let others: Vec<String> = virtual_services
            .iter()
            .filter(|v| istio::binds_gateway(v, ns, &own_name))
            .filter(|v| !istio::holds_only(v, &exposure.backend))
            .map(qualified)
            .collect();
        if others.is_empty() {
            return Ok(chosen(own, Some(updated(own))));
        }
        let gaps = istio::gateway_gaps(own, exposure);
        if gaps.is_empty() {
            return Ok(chosen(own, None));
        }
        return Err(Problems::new(format!(
            "gateway {ns}/{own_name} also serves VirtualService {} and does not serve {}; \
             nothing was written",
            others.join(", "),
            gaps.join(", ")
        ))
        .with_hint("name another gateway with --gateway, or expose with the hosts it serves")
        .into());
    }

    let reusable = conflicts::reusable(listed, &plan.selector, exposure);
    if let Some(gateway) = reusable.first() {
        notes.note(&format!(
            "reusing gateway {}: it already serves {} on port {HTTP_PORT}",
            qualified(gateway),
            exposure.hosts.join(", ")
        ));
        return Ok(chosen(gateway, None));
    }
    match own {
        Some(own) if !force => Err(Problems::new(format!(
            "gateway {ns}/{own_name} exists, is not managed by kubectl-debatemesh and does not \
             serve {}; nothing was written",
            istio::gateway_gaps(own, exposure).join(", ")
        ))
        .with_hint(format!(
            "name the gateway to use with --gateway, or re-run with --force to take over \
             {own_name}"
        ))
        .into()),
        Some(own) => Ok(chosen(own, Some(updated(own)))),
        None => Ok(Chosen {
            namespace: ns.to_string(),
            name: own_name,
            selector: plan.selector.clone(),
            live: None,
            write: Some(desired),
        }),
    }
}

/// What goes into the route: the exposure, and the route settings `resilience` wrote for the
/// Service on its mesh routes.
struct Routes<'a> {
    exposure: &'a Exposure,
    settings: &'a Map<String, Value>,
}

impl Routes<'_> {
    /// `live` with the route added (or brought up to date) and the Service's route settings on
    /// it where it lacks them; `None` when nothing changes.
    fn add(&self, live: &Value) -> Result<Option<Value>, RouteConflict> {
        let edited = istio::add_route(live, self.exposure)?;
        let base = edited.as_ref().unwrap_or(live);
        Ok(carry::carry(base, self.exposure.route_name(), self.settings).or(edited))
    }

    /// Says so when the route will carry the Service's settings.
    fn note_settings(&self, before: Option<&Value>, after: &Value, notes: &mut Notes) {
        let route = |vs: &Value| {
            array(vs, "/spec/http")
                .iter()
                .find(|r| r.get("name").and_then(Value::as_str) == Some(self.exposure.route_name()))
                .cloned()
        };
        let gained: Vec<&str> = carry::CARRIED
            .iter()
            .filter(|f| self.settings.contains_key(**f))
            .filter(|f| route(after).is_some_and(|r| r.get(**f).is_some()))
            .filter(|f| before.and_then(route).is_none_or(|r| r.get(**f).is_none()))
            .copied()
            .collect();
        if !gained.is_empty() {
            notes.note(&format!(
                "the route gets the {} resilience set for {}/{}: Istio applies the mesh's \
                 VirtualService only to calls inside the mesh, not to requests through the gateway",
                gained.join(" and "),
                self.exposure.namespace(),
                self.exposure.route_name()
            ));
        }
    }
}

/// The VirtualService writes: the route into the one that already routes the hosts on the
/// Gateway (edited in place, never duplicated), else into `SVC` (or `SVC-ingress` when `SVC`
/// is the Service's mesh VirtualService, such as the one `resilience` creates); then our route
/// out of every other VirtualService in the namespace.
fn route_intents(
    resource: &Resource,
    routes: &Routes<'_>,
    gateway: &Chosen,
    virtual_services: &[Value],
    notes: &mut Notes,
) -> anyhow::Result<Vec<Intent>> {
    let exposure = routes.exposure;
    let backend = &exposure.backend;
    let service = exposure.route_name();
    let reference =
        istio::gateway_reference(exposure.namespace(), &gateway.namespace, &gateway.name);
    let has_ours = |v: &Value| istio::remove_route(v, backend).is_some();
    let mut candidates: Vec<&Value> = virtual_services
        .iter()
        .filter(|v| istio::binds_gateway(v, &gateway.namespace, &gateway.name))
        .filter(|v| istio::routes_hosts(v, &exposure.hosts))
        .collect();
    candidates.sort_by_key(|v| (name_of(v) != service, !has_ours(v), name_of(v).to_string()));
    let mut fields = vec![vec!["spec", "http"]];
    if !routes.settings.is_empty() {
        fields.push(vec!["metadata", "annotations", record::ANNOTATION]);
    }

    let mut intents = Vec::new();
    let target = match candidates.first() {
        Some(live) => {
            let edited = routes.add(live).map_err(|c| conflict(live, &c, exposure))?;
            routes.note_settings(Some(live), edited.as_ref().unwrap_or(live), notes);
            if is_ours(live) {
                let object = ours_from(edited.as_ref().unwrap_or(live));
                intents.push(Intent::Apply {
                    resource: *resource,
                    object,
                    live: Some((*live).clone()),
                });
            } else {
                let (wanted, settings) = (exposure.clone(), routes.settings.clone());
                let edit = Arc::new(move |live: &Value| {
                    let routes = Routes { exposure: &wanted, settings: &settings };
                    routes.add(live).map_err(|c| anyhow!(conflict(live, &c, &wanted)))
                });
                intents.push(Intent::Edit {
                    resource: *resource,
                    live: (*live).clone(),
                    fields,
                    edit,
                });
            }
            name_of(live).to_string()
        }
        None => {
            let name = ingress_name(virtual_services, service, notes);
            let own = virtual_services.iter().find(|v| name_of(v) == name);
            let object = match own {
                Some(live) if is_ours(live) && istio::holds_only(live, backend) => {
                    let mut next = ours_from(live);
                    next["spec"]["hosts"] = json!(exposure.hosts);
                    next["spec"]["gateways"] = json!([reference]);
                    routes.add(&next).ok().flatten().unwrap_or(next)
                }
                Some(live) => {
                    return Err(Problems::new(format!(
                        "VirtualService {} exists ({}) but does not route {} on gateway {}/{}{}; \
                         nothing was written",
                        qualified(live),
                        made_by(live),
                        exposure.hosts.join(", "),
                        gateway.namespace,
                        gateway.name,
                        if is_ours(live) { " and holds routes of other services" } else { "" }
                    ))
                    .with_hint("route through its gateway and hosts with --gateway and --host, or remove it")
                    .into());
                }
                None => {
                    let created = istio::virtual_service(
                        &resource.api_version(),
                        &name,
                        exposure,
                        &reference,
                    );
                    carry::carry(&created, service, routes.settings).unwrap_or(created)
                }
            };
            routes.note_settings(own, &object, notes);
            intents.push(Intent::Apply { resource: *resource, object, live: own.cloned() });
            name
        }
    };

    // A route of ours left in another VirtualService would route the Service twice.
    for live in virtual_services.iter().filter(|v| name_of(v) != target) {
        intents.extend(removal(resource, live, backend));
    }
    Ok(intents)
}

/// The name of the VirtualService to create for the route: the Service's, unless a
/// VirtualService of that name routes the mesh only (the Service's own mesh routes, such as
/// those `resilience` writes): Istio applies it to calls inside the mesh and this one to the
/// gateway, so both are kept, and this one is `SVC-ingress`.
fn ingress_name(virtual_services: &[Value], service: &str, notes: &mut Notes) -> String {
    let mesh = virtual_services
        .iter()
        .find(|v| name_of(v) == service)
        .filter(|v| istio::bound_gateways(v).is_empty());
    let Some(mesh) = mesh else { return service.to_string() };
    let name = format!("{service}-ingress");
    notes.note(&format!(
        "VirtualService {} routes {service} inside the mesh and stays as it is; the gateway \
         route goes into VirtualService {name}",
        qualified(mesh)
    ));
    name
}

/// The write that takes our routes for `backend` out of `live`: delete a VirtualService of
/// ours left empty, apply one of ours, edit anyone else's. `None` when it has none.
pub(super) fn removal(resource: &Resource, live: &Value, backend: &Backend) -> Option<Intent> {
    let how = super::RouteRemoval {
        field: "http",
        remove: istio::remove_route,
        has_routes: istio::has_routes,
    };
    super::route_removal(&how, resource, live, backend)
}

fn conflict(vs: &Value, c: &RouteConflict, exposure: &Exposure) -> UsageError {
    let how = if exposure.path.is_exact() { "path" } else { "prefix" };
    UsageError::new(format!(
        "VirtualService {} already routes {how} {} to {}; choose another --path, or change that \
         route; nothing was written",
        qualified(vs),
        exposure.path.path(),
        c.destinations.join(", ")
    ))
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}
