//! `unexpose SVC`: take out the routes `expose` added for a Service, in Istio VirtualServices
//! and Gateway API HTTPRoutes alike, then delete the objects this tool created that hold
//! nothing else: a route object left empty, a Gateway no route uses any more. Everything kept
//! is named with the reason.

use std::collections::BTreeSet;

use super::{gateway_api, istio, list_objects, name_of, qualified};
use crate::{
    cli::{GlobalArgs, UnexposeArgs},
    cluster::{Cluster, Kind, Resource, Scope, kinds, ownership::is_ours},
    commands::writes::{Intent, Writer},
    error::{ExitStatus, UsageError},
    mesh::{
        expose::{self, Backend},
        validate::{self, ResultExt, ValidationError, k8s::validate_dns1123_label},
    },
    output::{
        Format, Ui,
        changes::{Change, Verb},
    },
};

/// What `unexpose` will do: writes, and objects left alone with the reason.
#[derive(Default)]
struct Removal {
    intents: Vec<Intent>,
    kept: Vec<Change>,
}

impl Removal {
    fn keep(&mut self, kind: &'static Kind, namespace: &str, name: &str, why: String) {
        self.kept.push(Change::new(kind, Some(namespace), name, Verb::Kept(why)));
    }
}

/// Which API a removal walks: its route kind and how to read a route object.
struct Api {
    gateways: Resource,
    routes: Resource,
    /// The Gateways a route object attaches to.
    parents: fn(&serde_json::Value) -> Vec<(String, String)>,
    /// The write that takes our routes out of one route object.
    removal: fn(&Resource, &serde_json::Value, &Backend) -> Option<Intent>,
    /// Routes to the Service that someone else wrote, by name.
    others: fn(&serde_json::Value, &Backend) -> Vec<String>,
}

/// Runs `unexpose`.
pub async fn run(
    global: &GlobalArgs,
    args: UnexposeArgs,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Yaml, Format::Json])?;
    let cluster = Cluster::connect(global).await?;
    let ns = cluster.namespace().to_string();
    validate::validate_namespace(&ns).for_flag("--namespace")?;
    validate_dns1123_label(&args.service).map_err(|e| {
        ValidationError::new("SVC", &args.service, format!("Service names {}", e.allowed()))
    })?;
    let domain = args.cluster_domain.trim_end_matches('.');
    validate::validate_fqdn(domain).for_flag("--cluster-domain")?;
    let backend = Backend::new(&args.service, &ns, domain);

    let mut apis = Vec::new();
    if let Some(routes) = cluster.try_resource(&kinds::VIRTUAL_SERVICE).await? {
        apis.push(Api {
            gateways: cluster.resource(&kinds::GATEWAY).await?,
            routes,
            parents: expose::istio::bound_gateways,
            removal: istio::removal,
            others: expose::istio::other_routes_to,
        });
    }
    if let Some(routes) = cluster.try_resource(&kinds::HTTP_ROUTE).await? {
        apis.push(Api {
            gateways: cluster.resource(&kinds::K8S_GATEWAY).await?,
            routes,
            parents: expose::gateway_api::parent_gateways,
            removal: gateway_api::removal,
            others: expose::gateway_api::other_rules_to,
        });
    }
    if apis.is_empty() {
        // Neither API is served: say which group is missing, as expose would.
        cluster.resource(&kinds::VIRTUAL_SERVICE).await?;
    }

    let mut removal = Removal::default();
    for api in &apis {
        plan(&cluster, api, &backend, &mut removal).await?;
    }
    if removal.intents.is_empty() && removal.kept.is_empty() {
        // As kubectl delete: an unknown name is NotFound unless --ignore-not-found. Routes left
        // for a Service since deleted were found above and are removed all the same.
        let services = cluster.resource(&kinds::SERVICE).await?;
        let exists = cluster.get(&services, Some(&ns), &args.service).await?.is_some();
        if !exists && !args.ignore_not_found {
            return Err(UsageError::new(format!(
                "service {:?} not found in namespace {ns}, and no route to it was added by \
                 kubectl debatemesh expose (kubectl get services -n {ns} lists them; \
                 --ignore-not-found makes this a success)",
                args.service
            ))
            .into());
        }
        ui.note(&format!(
            "nothing to remove: no route to {ns}/{} was added by kubectl debatemesh expose",
            args.service
        ));
        return Ok(ExitStatus::Success);
    }

    let status = Writer::new(&cluster, &args.write, format).run(removal.intents, ui).await?;
    if args.write.diff {
        return Ok(status);
    }
    let lines: Vec<String> = removal.kept.iter().map(|c| c.line(args.write.dry_run)).collect();
    if format.is_structured() {
        lines.iter().for_each(|l| ui.note(l));
    } else {
        ui.text(&lines.iter().map(|l| format!("{l}\n")).collect::<String>())?;
    }
    Ok(status)
}

/// The removals for one API: our routes out of the namespace's route objects, then the
/// Gateways of ours that no route uses any more.
async fn plan(
    cluster: &Cluster,
    api: &Api,
    backend: &Backend,
    out: &mut Removal,
) -> anyhow::Result<()> {
    let ns = backend.namespace.as_str();
    let routes = list_objects(cluster, &api.routes, Scope::Namespace(ns)).await?;
    let kind = api.routes.kind;
    let mut deleted = BTreeSet::new();
    let mut gateways: Vec<((String, String), bool)> = Vec::new();

    for route in &routes {
        let intent = (api.removal)(&api.routes, route, backend).or_else(|| {
            // An empty route object of ours named after the Service: a leftover.
            let empty = is_ours(route) && name_of(route) == backend.service && !has_routes(route);
            empty.then(|| Intent::Delete { resource: api.routes, live: route.clone() })
        });
        let Some(intent) = intent else {
            // Routes inside the mesh (a VirtualService bound to no gateway, such as the one
            // `resilience` writes) are not what expose adds; they are not its to mention.
            let others = (api.others)(route, backend);
            if !others.is_empty() && !(api.parents)(route).is_empty() {
                let why = format!(
                    "its routes {} to {} were not added by expose",
                    others.join(", "),
                    backend.service
                );
                out.keep(kind, ns, name_of(route), why);
            }
            continue;
        };
        gateways.extend((api.parents)(route).into_iter().map(|g| (g, true)));
        match &intent {
            Intent::Delete { .. } => {
                deleted.insert(qualified(route));
            }
            Intent::Apply { object, .. } => {
                let why = format!("it still holds routes of {}", holders(object).join(", "));
                out.keep(kind, ns, name_of(route), why);
            }
            Intent::Edit { .. } => {}
        }
        out.intents.push(intent);
    }
    gateways.push(((ns.to_string(), format!("{}-gateway", backend.service)), false));

    // Which Gateways are still used: every route object in the cluster, after the deletions.
    let (users, partial) = match list_objects(cluster, &api.routes, Scope::All).await {
        Ok(all) => (all, false),
        Err(e) => {
            tracing::debug!("cannot list {} in all namespaces: {e}", kind.kind);
            (routes.clone(), true)
        }
    };
    let users: Vec<_> = users.into_iter().filter(|r| !deleted.contains(&qualified(r))).collect();
    let mut seen = BTreeSet::new();
    for ((gns, gname), referenced) in gateways {
        if !seen.insert((gns.clone(), gname.clone())) {
            continue;
        }
        let Some(live) = cluster.get(&api.gateways, Some(&gns), &gname).await? else { continue };
        let gkind = api.gateways.kind;
        if !is_ours(&live) {
            if referenced {
                out.keep(gkind, &gns, &gname, "not created by kubectl-debatemesh".into());
            }
            continue;
        }
        let using: Vec<String> = users
            .iter()
            .filter(|r| (api.parents)(r).contains(&(gns.clone(), gname.clone())))
            .map(qualified)
            .collect();
        if !using.is_empty() {
            let why = format!("still used by {} {}", kind.kind, using.join(", "));
            out.keep(gkind, &gns, &gname, why);
        } else if partial {
            let why = format!(
                "cannot list {} in all namespaces to tell whether others use it",
                kind.kind
            );
            out.keep(gkind, &gns, &gname, why);
        } else {
            out.intents.push(Intent::Delete { resource: api.gateways, live });
        }
    }
    Ok(())
}

/// Whether a route object routes anything.
fn has_routes(route: &serde_json::Value) -> bool {
    ["/spec/http", "/spec/tcp", "/spec/tls", "/spec/rules"]
        .iter()
        .any(|p| route.pointer(p).and_then(|v| v.as_array()).is_some_and(|a| !a.is_empty()))
}

/// The names of the routes (or rules) an object still holds.
fn holders(object: &serde_json::Value) -> Vec<String> {
    ["/spec/http", "/spec/rules"]
        .iter()
        .filter_map(|p| object.pointer(p).and_then(|v| v.as_array()))
        .flatten()
        .enumerate()
        .map(|(i, r)| match r.get("name").and_then(|n| n.as_str()) {
            Some(name) => name.to_string(),
            None => format!("#{}", i + 1),
        })
        .collect()
}
