//! `expose` through the Gateway API: pick the Gateway (named, reused with class `istio`, or
//! `SVC-gateway`), put the rule into the HTTPRoute that already routes the hosts on it (or
//! create `SVC`), add the redirect route for `--https-redirect`, and find the address.

use std::sync::Arc;

use anyhow::anyhow;
use serde_json::{Value, json};

use super::{
    Notes, Plan, Prepared, ingress, list_objects, name_of, ours_from, preflight::Read, qualified,
};
use crate::{
    cluster::{Cluster, ListOptions, Resource, Scope, kinds, ownership::is_ours},
    commands::writes::Intent,
    error::{Problems, UsageError},
    mesh::{
        Kind,
        expose::{
            Backend, Exposure, HTTP_PORT, HTTPS_PORT,
            gateway_api::{self, GATEWAY_CLASS, GATEWAY_NAME_LABEL, Parent},
            urls::Reach,
        },
        validate::is_ip_address,
    },
};

/// The Gateway the routes attach to.
struct Chosen {
    namespace: String,
    name: String,
    live: Option<Value>,
    write: Option<Value>,
}

/// The name of the route that redirects HTTP to HTTPS.
fn redirect_name(service: &str) -> String {
    format!("{service}-https-redirect")
}

/// Reads what is there, decides every write and runs the checks; writes nothing.
pub(super) async fn prepare(
    cluster: &Cluster,
    plan: &Plan,
    exposure: &Exposure,
    force: bool,
    notes: &mut Notes,
) -> anyhow::Result<Prepared> {
    if plan.selector_given {
        return Err(UsageError::new(
            "--gateway-selector picks Istio gateway pods; with the Gateway API, Istio runs a \
             gateway for each Gateway (leave it out, or use --api istio)",
        )
        .into());
    }
    if let Some(ip) = exposure.hosts.iter().find(|h| is_ip_address(h)) {
        return Err(UsageError::new(format!(
            "invalid value {ip:?} for --host: Gateway API hostnames are DNS names, not IP addresses"
        ))
        .into());
    }
    let gateways = cluster.resource(&kinds::K8S_GATEWAY).await?;
    let routes = cluster.resource(&kinds::HTTP_ROUTE).await?;
    let ns = exposure.namespace();

    let named = async {
        match &plan.gateway {
            Some(r) => cluster.get(&gateways, Some(&r.namespace), &r.name).await,
            None => Ok(None),
        }
    };
    let listed = async {
        match &plan.gateway {
            Some(_) => Ok(Vec::new()),
            None => list_objects(cluster, &gateways, Scope::Namespace(ns)).await,
        }
    };
    let (named, listed, http_routes) =
        tokio::try_join!(named, listed, list_objects(cluster, &routes, Scope::Namespace(ns)))?;

    let chosen = match (&plan.gateway, named) {
        (Some(r), Some(found)) => {
            let gaps = gateway_api::gateway_gaps(&found, exposure);
            if !gaps.is_empty() {
                return Err(UsageError::new(format!(
                    "gateway {r} lacks {}; pass --host with a host it serves, or leave out \
                     --gateway to use a gateway of this Service's own",
                    gaps.join(", ")
                ))
                .into());
            }
            notes.note(&format!("routing through {} {r}", gateways.kind.display_name()));
            Chosen {
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                live: Some(found),
                write: None,
            }
        }
        (Some(r), None) => {
            return Err(UsageError::new(format!(
                "invalid value {:?} for --gateway: gateway {r} not found (kubectl get \
                 gateways.gateway.networking.k8s.io -n {} lists them)",
                plan.gateway_text, r.namespace
            ))
            .into());
        }
        (None, _) => choose(exposure, &gateways, &listed, &http_routes, force, notes)?,
    };
    let created = chosen.live.is_none();
    let gateway_now = chosen.write.as_ref().or(chosen.live.as_ref()).cloned().unwrap_or_default();

    let mut intents = Vec::new();
    if let Some(object) = &chosen.write {
        intents.push(Intent::Apply {
            resource: gateways,
            object: object.clone(),
            live: chosen.live.clone(),
        });
    }
    intents.extend(route_intents(&routes, exposure, &chosen, &gateway_now, &http_routes, force)?);

    // The checks: the GatewayClass, a reused Gateway's readiness, the TLS Secret.
    check_class(cluster, notes).await;
    if !created && !is_programmed(&gateway_now) {
        notes.warn(&format!(
            "gateway {}/{} is not Programmed yet; check: kubectl describe gateway {} -n {}",
            chosen.namespace, chosen.name, chosen.name, chosen.namespace
        ));
    }
    if let Some(tls) = &exposure.tls {
        ingress::check_tls_secret(cluster, &chosen.namespace, &tls.secret).await?;
    }

    let (http, https) = reach(cluster, &chosen, &gateway_now, exposure).await;
    let after = created.then(|| {
        format!(
            "Istio starts a gateway for {ns}/{name}; wait for it with: kubectl wait -n {ns} \
             --for=condition=programmed gateways.gateway.networking.k8s.io/{name}",
            ns = chosen.namespace,
            name = chosen.name
        )
    });
    // The routes are read for the namespace only and parents and backends may be elsewhere:
    // the checks see HTTPRoutes (and DestinationRules) but not Gateways or Services.
    let read = Read {
        objects: http_routes,
        kinds: vec![Kind::HttpRoute],
        relies_on: chosen.live.clone().into_iter().collect(),
    };
    Ok(Prepared { intents, http, https, after, read })
}

/// No `--gateway`: `SVC-gateway` when it is ours, else a Gateway of class `istio` in the
/// namespace with listeners for everything, else a new `SVC-gateway`.
fn choose(
    exposure: &Exposure,
    resource: &Resource,
    listed: &[Value],
    routes: &[Value],
    force: bool,
    notes: &mut Notes,
) -> anyhow::Result<Chosen> {
    let ns = exposure.namespace();
    let own_name = exposure.gateway_name();
    let own = listed.iter().find(|g| name_of(g) == own_name);
    let desired = gateway_api::gateway(&resource.api_version(), &own_name, exposure);
    let updated = |live: &Value| {
        let mut next = ours_from(live);
        next["spec"]["gatewayClassName"] = json!(GATEWAY_CLASS);
        next["spec"]["listeners"] = desired["spec"]["listeners"].clone();
        next
    };
    let chosen = |g: &Value, write: Option<Value>| Chosen {
        namespace: ns.to_string(),
        name: name_of(g).to_string(),
        live: Some(g.clone()),
        write,
    };

    if let Some(own) = own.filter(|g| is_ours(g)) {
        let others: Vec<String> = routes
            .iter()
            .filter(|r| {
                gateway_api::parent_gateways(r).contains(&(ns.to_string(), own_name.clone()))
            })
            .filter(|r| !gateway_api::holds_only(r, &exposure.backend))
            .map(qualified)
            .collect();
        if others.is_empty() {
            return Ok(chosen(own, Some(updated(own))));
        }
        let gaps = gateway_api::gateway_gaps(own, exposure);
        if gaps.is_empty() {
            return Ok(chosen(own, None));
        }
        return Err(Problems::new(format!(
            "gateway {ns}/{own_name} also serves HTTPRoute {} and lacks {}; nothing was written",
            others.join(", "),
            gaps.join(", ")
        ))
        .with_hint("name another gateway with --gateway, or expose with the hosts it serves")
        .into());
    }

    let mut reusable: Vec<&Value> = listed
        .iter()
        .filter(|g| text(g, "/spec/gatewayClassName") == GATEWAY_CLASS)
        .filter(|g| gateway_api::gateway_gaps(g, exposure).is_empty())
        .collect();
    reusable.sort_by_key(|g| name_of(g));
    if let Some(gateway) = reusable.first() {
        notes.note(&format!(
            "reusing gateway {}: it already has listeners for {}",
            qualified(gateway),
            exposure.hosts.join(", ")
        ));
        return Ok(chosen(gateway, None));
    }
    match own {
        Some(own) if !force => Err(Problems::new(format!(
            "gateway {ns}/{own_name} exists, is not managed by kubectl-debatemesh and lacks {}; \
             nothing was written",
            gateway_api::gateway_gaps(own, exposure).join(", ")
        ))
        .with_hint(format!(
            "name the gateway to use with --gateway, or re-run with --force to take over {own_name}"
        ))
        .into()),
        Some(own) => Ok(chosen(own, Some(updated(own)))),
        None => Ok(Chosen {
            namespace: ns.to_string(),
            name: own_name,
            live: None,
            write: Some(desired),
        }),
    }
}

/// The HTTPRoute writes: the rule into the route that already attaches to the Gateway (at the
/// same listener) with the hosts, else into `SVC`; the redirect route; our rule out of the
/// namespace's other routes.
fn route_intents(
    resource: &Resource,
    exposure: &Exposure,
    gateway: &Chosen,
    gateway_now: &Value,
    routes: &[Value],
    force: bool,
) -> anyhow::Result<Vec<Intent>> {
    let backend = &exposure.backend;
    let service = exposure.route_name();
    let redirect = exposure.tls.as_ref().is_some_and(|t| t.redirect);
    let section = |port, protocol| gateway_api::listener_for(gateway_now, exposure, port, protocol);
    let main = Parent {
        namespace: gateway.namespace.clone(),
        name: gateway.name.clone(),
        section: if redirect { section(HTTPS_PORT, "HTTPS") } else { None },
    };
    let redirect_route = redirect_name(service);

    let mut candidates: Vec<&Value> = routes
        .iter()
        .filter(|r| name_of(r) != redirect_route)
        .filter(|r| {
            gateway_api::attaches_to(r, &main.namespace, &main.name, main.section.as_deref())
        })
        .filter(|r| gateway_api::routes_hostnames(r, &exposure.hosts))
        .collect();
    candidates.sort_by_key(|r| {
        (
            name_of(r) != service,
            gateway_api::remove_rule(r, backend).is_none(),
            name_of(r).to_string(),
        )
    });

    let mut intents = Vec::new();
    let target = match candidates.first() {
        Some(live) => {
            let edited =
                gateway_api::add_rule(live, exposure).map_err(|b| conflict(live, &b, exposure))?;
            if is_ours(live) {
                let object = ours_from(edited.as_ref().unwrap_or(live));
                intents.push(Intent::Apply {
                    resource: *resource,
                    object,
                    live: Some((*live).clone()),
                });
            } else {
                let wanted = exposure.clone();
                intents.push(Intent::Edit {
                    resource: *resource,
                    live: (*live).clone(),
                    fields: vec![vec!["spec", "rules"]],
                    edit: Arc::new(move |live: &Value| {
                        gateway_api::add_rule(live, &wanted)
                            .map_err(|b| anyhow!(conflict(live, &b, &wanted)))
                    }),
                });
            }
            name_of(live).to_string()
        }
        None => {
            let own = routes.iter().find(|r| name_of(r) == service);
            let fresh = gateway_api::http_route(&resource.api_version(), service, exposure, &main);
            let object = match own {
                Some(live) if is_ours(live) && gateway_api::holds_only(live, backend) => {
                    let mut next = ours_from(live);
                    next["spec"]["parentRefs"] = fresh["spec"]["parentRefs"].clone();
                    match fresh["spec"].get("hostnames") {
                        Some(h) => next["spec"]["hostnames"] = h.clone(),
                        None => {
                            if let Some(spec) = next["spec"].as_object_mut() {
                                spec.remove("hostnames");
                            }
                        }
                    }
                    gateway_api::add_rule(&next, exposure).ok().flatten().unwrap_or(next)
                }
                Some(live) => return Err(taken(live, exposure, gateway)),
                None => fresh,
            };
            intents.push(Intent::Apply { resource: *resource, object, live: own.cloned() });
            service.to_string()
        }
    };

    // The redirect is a route of its own on the HTTP listener.
    let live_redirect = routes.iter().find(|r| name_of(r) == redirect_route);
    if redirect {
        if let Some(live) = live_redirect.filter(|r| !is_ours(r) && !force) {
            return Err(taken(live, exposure, gateway));
        }
        let parent = Parent { section: section(HTTP_PORT, "HTTP"), ..main.clone() };
        let object = gateway_api::redirect_route(
            &resource.api_version(),
            &redirect_route,
            exposure,
            &parent,
        );
        intents.push(Intent::Apply { resource: *resource, object, live: live_redirect.cloned() });
    }

    for live in routes.iter().filter(|r| name_of(r) != target) {
        if redirect && name_of(live) == redirect_route {
            continue;
        }
        intents.extend(removal(resource, live, backend));
    }
    Ok(intents)
}

/// The write that takes our rules for `backend` out of `live`: delete an HTTPRoute of ours
/// left empty, apply one of ours, edit anyone else's. `None` when it has none.
pub(super) fn removal(resource: &Resource, live: &Value, backend: &Backend) -> Option<Intent> {
    let how = super::RouteRemoval {
        field: "rules",
        remove: gateway_api::remove_rule,
        has_routes: |route| {
            route.pointer("/spec/rules").and_then(Value::as_array).is_some_and(|r| !r.is_empty())
        },
    };
    super::route_removal(&how, resource, live, backend)
}

fn taken(live: &Value, exposure: &Exposure, gateway: &Chosen) -> anyhow::Error {
    Problems::new(format!(
        "HTTPRoute {} exists but does not route {} on gateway {}/{} with only this Service's \
         rules; nothing was written",
        qualified(live),
        exposure.hosts.join(", "),
        gateway.namespace,
        gateway.name
    ))
    .with_hint("route through its gateway and hosts with --gateway and --host, or remove it")
    .into()
}

fn conflict(route: &Value, backends: &[String], exposure: &Exposure) -> UsageError {
    UsageError::new(format!(
        "HTTPRoute {} already routes {} to {}; choose another --path, or change that rule; \
         nothing was written",
        qualified(route),
        exposure.path.path(),
        if backends.is_empty() { "a redirect".to_string() } else { backends.join(", ") }
    ))
}

/// Warns when Istio's GatewayClass is missing; a failed read is only logged.
async fn check_class(cluster: &Cluster, notes: &mut Notes) {
    let Ok(resource) = cluster.resource(&kinds::GATEWAY_CLASS).await else { return };
    match cluster.get(&resource, None, GATEWAY_CLASS).await {
        Ok(Some(_)) => {}
        Ok(None) => notes.warn(&format!(
            "GatewayClass {GATEWAY_CLASS} not found, so no controller will run the gateway; \
             is Istio installed with Gateway API support? (kubectl get gatewayclass)"
        )),
        Err(e) => tracing::debug!("cannot read GatewayClass {GATEWAY_CLASS}: {e}"),
    }
}

fn is_programmed(gateway: &Value) -> bool {
    gateway.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|c| {
        c.iter().any(|c| text(c, "/type") == "Programmed" && text(c, "/status") == "True")
    })
}

/// The Gateway's own addresses when it has them, else the Service Istio runs for it, else a
/// port-forward to the Service Istio will create (`NAME-istio`).
async fn reach(
    cluster: &Cluster,
    gateway: &Chosen,
    object: &Value,
    exposure: &Exposure,
) -> (Option<Reach>, Option<Reach>) {
    let https = exposure.tls.is_some();
    let addresses = object.pointer("/status/addresses").and_then(Value::as_array);
    if let Some(host) = addresses.and_then(|a| a.iter().find_map(|a| a.get("value")?.as_str())) {
        let at = |port| Reach::Address { host: host.to_string(), port };
        return (Some(at(HTTP_PORT)), https.then(|| at(HTTPS_PORT)));
    }
    let resource = Resource { kind: &kinds::SERVICE, version: "v1" };
    let options = ListOptions {
        label_selector: Some(format!("{GATEWAY_NAME_LABEL}={}", gateway.name)),
        ..Default::default()
    };
    let services: Vec<ingress::Service> = cluster
        .list(&resource, Scope::Namespace(&gateway.namespace), &options)
        .await
        .unwrap_or_default();
    if let Some(service) = services.first() {
        return (
            service.reach(HTTP_PORT, None),
            if https { service.reach(HTTPS_PORT, None) } else { None },
        );
    }
    let forward = |port| Reach::PortForward {
        namespace: gateway.namespace.clone(),
        service: format!("{}-{GATEWAY_CLASS}", gateway.name),
        port,
    };
    (Some(forward(HTTP_PORT)), https.then(|| forward(HTTPS_PORT)))
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}
