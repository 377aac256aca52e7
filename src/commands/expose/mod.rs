//! `expose SVC`: route a Service from outside the mesh through an ingress gateway in one safe
//! step, with Istio's Gateway and VirtualService or the Gateway API's Gateway and HTTPRoute,
//! then say where it can be reached. `unexpose SVC` takes it back.

mod conflicts;
mod gateway_api;
mod ingress;
mod istio;
mod plan;
mod preflight;
pub mod unexpose;

use serde_json::{Value, json};

use crate::{
    cli::{Api, DryRun, ExposeArgs, GlobalArgs},
    cluster::{Cluster, ClusterError, ListOptions, Resource, Scope, kinds, ownership::is_ours},
    commands::writes::{Intent, Writer},
    error::{ExitStatus, UsageError},
    mesh::expose::{Backend, urls, with_our_label},
    output::{Format, Ui, diff::strip_server_fields},
};

pub use plan::{Plan, PortRef, resolve_port};

/// The writes `expose` will make and how the gateway is reached afterwards.
pub(crate) struct Prepared {
    pub intents: Vec<Intent>,
    /// How the gateway's HTTP port is reached from outside, when known.
    pub http: Option<urls::Reach>,
    /// The same for HTTPS.
    pub https: Option<urls::Reach>,
    /// A line to print after the URLs, e.g. how to wait for a new gateway.
    pub after: Option<String>,
    /// What was read, for the checks on the objects after the writes.
    pub read: preflight::Read,
}

/// Warnings and notes gathered while the writes are prepared, printed only once the input
/// proved good, so that a refusal stays one line.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    lines: Vec<(bool, String)>,
}

impl Notes {
    /// A `warning:` line.
    pub fn warn(&mut self, message: &str) {
        self.lines.push((true, message.to_string()));
    }

    /// A `note:` line.
    pub fn note(&mut self, message: &str) {
        self.lines.push((false, message.to_string()));
    }

    /// Prints them all, in order.
    pub fn flush(self, ui: &mut Ui) {
        for (warning, line) in self.lines {
            if warning { ui.warn(&line) } else { ui.note(&line) }
        }
    }
}

/// Runs `expose`.
pub async fn run(global: &GlobalArgs, args: ExposeArgs, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Yaml, Format::Json])?;
    let cluster = Cluster::connect(global).await?;
    let plan = Plan::new(&args, cluster.namespace())?;
    let mut notes = Notes::default();
    let api = choose_api(&cluster, plan.api, &mut notes).await?;

    // The Service and the port to route to.
    let service = read_service(&cluster, &plan).await?;
    let qualified = format!("{}/{}", plan.namespace, plan.service);
    let port = resolve_port(&service, plan.port.as_ref(), &qualified)?;
    let exposure = plan.exposure(port);
    if plan.has_wildcard_host() {
        notes.warn(
            "host \"*\" takes every request the gateway receives; on a shared gateway it \
             captures everyone's traffic (name your hosts with --host)",
        );
    }

    if api == Api::Istio {
        note_rewrite(&exposure, &mut notes);
    }
    let prepared = match api {
        Api::Istio => {
            istio::prepare(&cluster, &plan, &exposure, args.write.force, &mut notes).await?
        }
        Api::GatewayApi => {
            gateway_api::prepare(&cluster, &plan, &exposure, args.write.force, &mut notes).await?
        }
    };
    let mut prepared = prepared;
    let outcome = check_route(&cluster, &plan, &service, &mut prepared, &mut notes).await?;
    outcome.refuse_new(args.write.force)?;
    let broken = preflight::Outcome::lines(&outcome.errors);
    for line in &broken {
        notes.warn(&format!("the route is broken: {line}"));
    }
    let writer = Writer::new(&cluster, &args.write, format);
    writer.check_ownership(&prepared.intents)?;
    notes.flush(ui);
    let status = writer.run(prepared.intents, ui).await?;

    if args.write.dry_run != DryRun::None || args.write.diff {
        return Ok(status);
    }
    let lines = match &prepared.http {
        Some(http) => urls::lines(&exposure, http, prepared.https.as_ref()),
        None => Vec::new(),
    };
    let mut text = String::new();
    if !lines.is_empty() {
        let verb = if broken.is_empty() { "is" } else { "would be" };
        text.push_str(&format!("{qualified} {verb} reachable at:\n"));
        for line in lines {
            text.push_str(&format!("  {line}\n"));
        }
        if !broken.is_empty() {
            text.push_str("but the route is broken:\n");
            for line in &broken {
                text.push_str(&format!("  {line}\n"));
            }
        }
    }
    if let Some(after) = &prepared.after {
        text.push_str(after);
        text.push('\n');
    }
    if format.is_structured() {
        for line in text.lines().filter(|l| !l.is_empty()) {
            ui.note(line.trim_start());
        }
    } else {
        ui.text(&text)?;
    }
    Ok(status)
}

/// Runs `check`'s analyzers on what the route relies on, as it will be after the writes: one
/// more list, of DestinationRules (all namespaces, else the Service's); when it fails, a
/// warning, like the other checks that cannot be made.
async fn check_route(
    cluster: &Cluster,
    plan: &Plan,
    service: &Value,
    prepared: &mut Prepared,
    notes: &mut Notes,
) -> anyhow::Result<preflight::Outcome> {
    let (rules, all) = match preflight::list_destination_rules(cluster, &plan.namespace).await {
        Ok(found) => found,
        Err(e) => {
            notes.warn(&format!(
                "cannot list DestinationRules ({}); the route's subsets were not checked",
                e.failure()
            ));
            (Vec::new(), false)
        }
    };
    let read = &mut prepared.read;
    if all {
        // A subset may be defined in any namespace's rule for the host, so the rules count
        // as read only when all were listed.
        read.kinds.push(crate::mesh::Kind::DestinationRule);
    }
    read.objects.extend(rules);
    let mut service = service.clone();
    service["apiVersion"] = json!("v1");
    service["kind"] = json!("Service");
    read.objects.push(service);
    preflight::run(read, &prepared.intents, &plan.backend(), &plan.cluster_domain)
}

/// Says how the route keeps the slash Istio's prefix rewrite would lose or double.
fn note_rewrite(exposure: &crate::mesh::expose::Exposure, notes: &mut Notes) {
    use crate::mesh::expose::istio::{rewrite_uri, uri_matches};
    let (Some(given), Some(written)) = (&exposure.rewrite, rewrite_uri(exposure)) else {
        return;
    };
    let path = exposure.path.path();
    if uri_matches(exposure).len() > 1 {
        notes.note(&format!(
            "Istio replaces the matched prefix with the rewrite, so prefix {path} rewritten to \
             {given} would forward {path}/foo as {given}/foo with a doubled slash; the route \
             matches {path}/ and exactly {path} instead"
        ));
    } else if written != *given {
        notes.note(&format!(
            "Istio replaces the matched prefix {path} with the rewrite, so --rewrite {given} \
             would join it to the rest of the path without a slash; {written} is written"
        ));
    }
}

/// `--api`, else Istio when `networking.istio.io` is served, else the Gateway API when only it
/// is served. Neither served: Istio, whose resources then fail with a clear exit-3 error.
async fn choose_api(
    cluster: &Cluster,
    asked: Option<Api>,
    notes: &mut Notes,
) -> anyhow::Result<Api> {
    if let Some(api) = asked {
        return Ok(api);
    }
    if cluster.try_resource(&kinds::VIRTUAL_SERVICE).await?.is_some() {
        return Ok(Api::Istio);
    }
    if cluster.try_resource(&kinds::HTTP_ROUTE).await?.is_some() {
        notes.note(
            "the cluster does not serve networking.istio.io; using the Gateway API \
             (gateway.networking.k8s.io) instead",
        );
        return Ok(Api::GatewayApi);
    }
    Ok(Api::Istio)
}

async fn read_service(cluster: &Cluster, plan: &Plan) -> anyhow::Result<Value> {
    let resource = cluster.resource(&kinds::SERVICE).await?;
    cluster.get(&resource, Some(&plan.namespace), &plan.service).await?.ok_or_else(|| {
        UsageError::new(format!(
            "service {:?} not found in namespace {} (kubectl get services -n {} lists them)",
            plan.service, plan.namespace, plan.namespace
        ))
        .into()
    })
}

/// Every object of `resource` in `scope` (one paginated list), each with the `apiVersion`
/// and `kind` list items lack.
pub(crate) async fn list_objects(
    cluster: &Cluster,
    resource: &Resource,
    scope: Scope<'_>,
) -> Result<Vec<Value>, ClusterError> {
    let mut items: Vec<Value> = cluster.list(resource, scope, &ListOptions::default()).await?;
    for item in &mut items {
        item["apiVersion"] = json!(resource.api_version());
        item["kind"] = json!(resource.kind.kind);
    }
    Ok(items)
}

/// What to apply for an object of ours that exists: the live object without server fields,
/// with our label, so nothing it holds is dropped.
pub(crate) fn ours_from(live: &Value) -> Value {
    with_our_label(&strip_server_fields(live))
}

/// How one route API takes our routes out of its route objects.
pub(crate) struct RouteRemoval {
    /// The list under `spec` our routes sit in (`http`, `rules`).
    pub field: &'static str,
    /// The object without our routes for the backend; `None` when it holds none.
    pub remove: fn(&Value, &Backend) -> Option<Value>,
    /// Whether the object still routes anything.
    pub has_routes: fn(&Value) -> bool,
}

/// The write that takes our routes for `backend` out of `live`: delete an object of ours left
/// without routes, apply one of ours, edit anyone else's. `None` when it holds none.
pub(crate) fn route_removal(
    how: &RouteRemoval,
    resource: &Resource,
    live: &Value,
    backend: &Backend,
) -> Option<Intent> {
    let (field, remove) = (how.field, how.remove);
    let after = remove(live, backend)?;
    if is_ours(live) {
        if !(how.has_routes)(&after) {
            return Some(Intent::Delete { resource: *resource, live: live.clone() });
        }
        return Some(Intent::Apply {
            resource: *resource,
            object: ours_from(&after),
            live: Some(live.clone()),
        });
    }
    let backend = backend.clone();
    Some(Intent::Edit {
        resource: *resource,
        live: live.clone(),
        fields: vec![vec!["spec", field]],
        edit: std::sync::Arc::new(move |live: &Value| Ok(remove(live, &backend))),
    })
}

/// The name of an object.
pub(crate) fn name_of(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

/// `namespace/name` of an object.
pub(crate) fn qualified(object: &Value) -> String {
    let ns = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    format!("{ns}/{}", name_of(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_objects_are_applied_from_live_without_server_fields() {
        let live = json!({"apiVersion": "v", "kind": "K", "metadata": {
            "name": "a", "namespace": "d", "uid": "u", "resourceVersion": "9",
            "managedFields": [{}], "labels": {"team": "x"}}, "spec": {"x": 1}, "status": {}});
        let out = ours_from(&live);
        assert_eq!(
            out,
            json!({"apiVersion": "v", "kind": "K", "metadata": {"name": "a", "namespace": "d",
                "labels": {"team": "x", "app.kubernetes.io/managed-by": "kubectl-debatemesh"}},
                "spec": {"x": 1}})
        );
        assert_eq!(qualified(&out), "d/a");
    }
}
