//! `resilience show SVC`: the retries, timeout, pool limits and outlier detection the proxies
//! use for a Service, per route and per destination, with every value Istio or Envoy fills in
//! marked as a default.
//!
//! The defaults, and where they come from:
//! - retries: 2 on `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`
//!   (503), or the mesh config's `defaultHttpRetryPolicy` (istio `route/retry/retry.go`);
//!   no per-try timeout; no route timeout (istio.io request-timeouts task).
//! - connection pool: 2^32-1 connections, pending requests, requests and retries in flight;
//!   unlimited requests per connection; the mesh `connectTimeout`, 10s by default (istio
//!   `cluster_traffic_policy.go`, `getDefaultCircuitBreakerThresholds`; `mesh.go`).
//! - outlier detection: off without an `outlierDetection` block; with one, Envoy's 5
//!   consecutive 5xx, a 10s interval, 30s base ejection and 10% maximum, gateway errors off and
//!   Istio's panic threshold of 0 (`minHealthPercent`) (envoy `outlier_detection.proto`).

use serde::Serialize;
use serde_json::{Value, json};

use super::read::{self, Live};
use super::warn;
use crate::analysis::resilience::traps::{self, RetrySource};
use crate::cli::{GlobalArgs, ResilienceShowArgs};
use crate::cluster::Cluster;
use crate::error::ExitStatus;
use crate::mesh::destination_rule::{DestinationRule, TrafficPolicy};
use crate::mesh::resilience::Target;
use crate::mesh::resilience::select::{self, qualified};
use crate::mesh::validate::ResultExt;
use crate::mesh::validate::k8s::validate_dns1123_label;
use crate::mesh::virtual_service::VirtualService;
use crate::output::{Format, Ui, table};

/// 2^32-1, Istio's circuit-breaker thresholds when none is set.
const UNLIMITED: u64 = 4_294_967_295;

/// Where a value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Written in the object.
    Set,
    /// The mesh config.
    MeshConfig,
    /// Istio's default.
    IstioDefault,
    /// Envoy's default, which Istio leaves in place.
    EnvoyDefault,
    /// Worked out from the other values.
    Derived,
}

impl Source {
    fn word(self) -> &'static str {
        match self {
            Source::Set => "set",
            Source::MeshConfig => "mesh config",
            Source::IstioDefault => "istio default",
            Source::EnvoyDefault => "envoy default",
            Source::Derived => "derived",
        }
    }
}

/// One value in effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    pub field: String,
    /// `null` when there is none (no timeout, no per-try timeout).
    pub value: Value,
    pub source: Source,
    /// Whether the value is a default rather than written in an object.
    pub default: bool,
}

fn setting(field: &str, value: Value, source: Source) -> Setting {
    let default = !matches!(source, Source::Set | Source::Derived);
    Setting { field: field.into(), value, source, default }
}

/// The policy of one HTTP route.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteView {
    /// `namespace/name`, or `None` when no VirtualService is for the host.
    pub virtual_service: Option<String>,
    pub route: String,
    /// The Gateways (`namespace/name`) whose traffic the route applies to; empty for the
    /// mesh's routes, which apply to calls between workloads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    pub settings: Vec<Setting>,
}

/// The policy of one destination: a rule's top level, a port or a subset.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationView {
    /// `namespace/name`, or `None` when no DestinationRule is for the host.
    pub destination_rule: Option<String>,
    pub scope: String,
    pub settings: Vec<Setting>,
}

/// Everything in effect for one Service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    pub service: String,
    pub host: String,
    pub endpoints: usize,
    pub routes: Vec<RouteView>,
    pub destinations: Vec<DestinationView>,
}

/// Runs `resilience show SVC`.
pub async fn run(
    global: &GlobalArgs,
    args: ResilienceShowArgs,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Json, Format::Yaml])?;
    validate_dns1123_label(&args.service).for_flag("SVC")?;
    let cluster = Cluster::connect(global).await?;
    let target = Target::new(&args.service, cluster.namespace(), &args.cluster_domain);
    let live = read::collect(&cluster, &target, ui).await?;

    let found = select::virtual_services(&target, &live.virtual_services);
    let vss = found.named;
    let drs = select::destination_rules(&target, &live.destination_rules).named;
    let mut effective = describe(&target, &vss, &drs, &live);
    effective.routes.extend(gateway_routes(&target, &found.gateway, &live));
    warn::live_traps(&target, &vss, &drs, &live, ui);
    match format {
        Format::Json => ui.json(&effective)?,
        Format::Yaml => ui.yaml(&effective)?,
        _ => ui.text(&render(&effective))?,
    }
    Ok(ExitStatus::Success)
}

/// The policy in effect, from the objects for the Service.
pub fn describe(target: &Target, vss: &[&Value], drs: &[&Value], live: &Live) -> Effective {
    let mut routes = Vec::new();
    for object in vss {
        let Ok(vs) = serde_json::from_value::<VirtualService>((*object).clone()) else { continue };
        for (index, route) in vs.spec.http.iter().enumerate() {
            if !traps::forwards(route) {
                continue;
            }
            routes.push(RouteView {
                virtual_service: Some(qualified(object)),
                route: traps::route_label(route.name.as_deref(), index),
                gateways: Vec::new(),
                settings: route_settings(route, live),
            });
        }
    }
    if vss.is_empty() {
        let bare = crate::mesh::virtual_service::HttpRoute::default();
        routes.push(RouteView {
            virtual_service: None,
            route: "(default route)".into(),
            gateways: Vec::new(),
            settings: route_settings(&bare, live),
        });
    }

    let mut destinations = Vec::new();
    for object in drs {
        let Ok(dr) = serde_json::from_value::<DestinationRule>((*object).clone()) else { continue };
        let name = Some(qualified(object));
        let top = dr.spec.traffic_policy.clone().unwrap_or_default();
        let all = live.endpoints.count(None);
        let view = |scope: String, policy: &TrafficPolicy, endpoints: usize| DestinationView {
            destination_rule: name.clone(),
            scope,
            settings: policy_settings(policy, endpoints, live),
        };
        destinations.push(view("trafficPolicy".into(), &top, all));
        for port in top.port_level_settings.iter().filter_map(|p| p.port) {
            destinations.push(view(
                format!("port {}", port.number),
                &top.for_port(port.number as u16),
                all,
            ));
        }
        for subset in dr.spec.subsets.iter().filter(|s| s.traffic_policy.is_some()) {
            let endpoints = live.endpoints.count(Some(&subset.labels));
            let policy = dr.effective_policy(0, Some(&subset.name));
            destinations.push(view(format!("subset {}", subset.name), &policy, endpoints));
        }
    }
    if drs.is_empty() {
        destinations.push(DestinationView {
            destination_rule: None,
            scope: "trafficPolicy".into(),
            settings: policy_settings(&TrafficPolicy::default(), live.endpoints.count(None), live),
        });
    }
    Effective {
        service: target.display(),
        host: target.fqdn(),
        endpoints: live.endpoints.count(None),
        routes,
        destinations,
    }
}

/// The routes of VirtualServices bound only to Gateways that send to the Service alone (such
/// as those `expose` writes): Istio applies them to requests through those Gateways, not to
/// calls inside the mesh, so each is labelled with its Gateways.
pub fn gateway_routes(target: &Target, vss: &[&Value], live: &Live) -> Vec<RouteView> {
    let mut routes = Vec::new();
    for object in vss {
        let Ok(vs) = serde_json::from_value::<VirtualService>((*object).clone()) else { continue };
        let ns = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
        let gateways: Vec<String> = crate::mesh::expose::istio::bound_gateways(object)
            .into_iter()
            .map(|(gns, name)| format!("{gns}/{name}"))
            .collect();
        let raw = object.pointer("/spec/http").and_then(Value::as_array);
        for (index, route) in vs.spec.http.iter().enumerate() {
            let sends = raw
                .and_then(|r| r.get(index))
                .is_some_and(|r| select::sends_only_to(r, target, ns));
            if !sends || !traps::forwards(route) {
                continue;
            }
            routes.push(RouteView {
                virtual_service: Some(qualified(object)),
                route: traps::route_label(route.name.as_deref(), index),
                gateways: gateways.clone(),
                settings: route_settings(route, live),
            });
        }
    }
    routes
}

fn route_settings(route: &crate::mesh::virtual_service::HttpRoute, live: &Live) -> Vec<Setting> {
    let mesh_default = live.mesh.default_http_retry_policy.as_ref();
    let retries = traps::effective_retries(route, mesh_default);
    let policy_source = match retries.source {
        RetrySource::Route => Source::Set,
        RetrySource::Mesh => Source::MeshConfig,
        RetrySource::Istio => Source::IstioDefault,
    };
    let own = route.retries.as_ref().or(mesh_default);
    let retry_on_set = own.is_some_and(|p| p.retry_on.as_deref().is_some_and(|r| !r.is_empty()));
    let mut out = vec![setting("retries.attempts", json!(retries.attempts), policy_source)];
    if retries.attempts > 0 {
        let per_try = retries.per_try_timeout.clone().map_or(Value::Null, Value::String);
        let per_try_source = if per_try.is_null() { Source::IstioDefault } else { policy_source };
        out.push(setting("retries.perTryTimeout", per_try, per_try_source));
        let on_source = if retry_on_set { policy_source } else { Source::IstioDefault };
        out.push(setting("retries.retryOn", json!(retries.retry_on), on_source));
    }
    out.push(match &route.timeout {
        Some(t) => setting("timeout", json!(t), Source::Set),
        None => setting("timeout", Value::Null, Source::IstioDefault),
    });
    out
}

fn policy_settings(policy: &TrafficPolicy, endpoints: usize, live: &Live) -> Vec<Setting> {
    let pool = policy.connection_pool.clone().unwrap_or_default();
    let tcp = pool.tcp.unwrap_or_default();
    let http = pool.http.unwrap_or_default();
    let limit = |field: &str, value: Option<i64>, default: u64| match value.filter(|n| *n > 0) {
        Some(n) => setting(field, json!(n), Source::Set),
        None => setting(field, json!(default), Source::IstioDefault),
    };
    let connect = match &tcp.connect_timeout {
        Some(t) => setting("connectionPool.tcp.connectTimeout", json!(t), Source::Set),
        None => {
            let source = if live.mesh_read { Source::MeshConfig } else { Source::IstioDefault };
            setting("connectionPool.tcp.connectTimeout", json!(live.mesh.connect_timeout), source)
        }
    };
    let mut out = vec![
        limit("connectionPool.tcp.maxConnections", tcp.max_connections, UNLIMITED),
        connect,
        limit(
            "connectionPool.http.http1MaxPendingRequests",
            http.http1_max_pending_requests,
            UNLIMITED,
        ),
        limit("connectionPool.http.http2MaxRequests", http.http2_max_requests, UNLIMITED),
        limit("connectionPool.http.maxRequestsPerConnection", http.max_requests_per_connection, 0),
        limit("connectionPool.http.maxRetries", http.max_retries, UNLIMITED),
    ];
    let Some(od) = &policy.outlier_detection else {
        out.push(setting("outlierDetection", json!("off"), Source::IstioDefault));
        return out;
    };
    let e = traps::effective_outlier(od);
    let count = |field: &str, value: Option<i64>, effective: u32, source: Source| match value {
        Some(_) => setting(field, json!(effective), Source::Set),
        None => setting(field, json!(effective), source),
    };
    let duration = |field: &str, value: &Option<String>, default: &str| match value {
        Some(v) => setting(field, json!(v), Source::Set),
        None => setting(field, json!(default), Source::EnvoyDefault),
    };
    out.extend([
        count(
            "outlierDetection.consecutive5xxErrors",
            od.consecutive_5xx_errors,
            e.consecutive_5xx,
            Source::EnvoyDefault,
        ),
        count(
            "outlierDetection.consecutiveGatewayErrors",
            od.consecutive_gateway_errors,
            e.consecutive_gateway,
            Source::IstioDefault,
        ),
        duration("outlierDetection.interval", &od.interval, "10s"),
        duration("outlierDetection.baseEjectionTime", &od.base_ejection_time, "30s"),
        count(
            "outlierDetection.maxEjectionPercent",
            od.max_ejection_percent.filter(|p| *p > 0),
            e.max_ejection_percent,
            Source::EnvoyDefault,
        ),
        count(
            "outlierDetection.minHealthPercent",
            od.min_health_percent,
            e.min_health_percent,
            Source::IstioDefault,
        ),
        setting(
            "ejectableEndpoints",
            json!(format!("{} of {endpoints}", traps::ejectable(od, endpoints))),
            Source::Derived,
        ),
    ]);
    out
}

/// The table: one line per value.
pub fn render(effective: &Effective) -> String {
    let shown = |v: &Value| match v {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut rows = Vec::new();
    for route in &effective.routes {
        let resource = route
            .virtual_service
            .as_ref()
            .map_or_else(|| "(no VirtualService)".to_string(), |n| format!("VirtualService {n}"));
        let label = match route.gateways.as_slice() {
            [] => route.route.clone(),
            gateways => format!("{} (through gateway {})", route.route, gateways.join(", ")),
        };
        for s in &route.settings {
            rows.push(vec![
                resource.clone(),
                label.clone(),
                s.field.clone(),
                shown(&s.value),
                s.source.word().into(),
            ]);
        }
    }
    for dest in &effective.destinations {
        let resource = dest
            .destination_rule
            .as_ref()
            .map_or_else(|| "(no DestinationRule)".to_string(), |n| format!("DestinationRule {n}"));
        for s in &dest.settings {
            rows.push(vec![
                resource.clone(),
                dest.scope.clone(),
                s.field.clone(),
                shown(&s.value),
                s.source.word().into(),
            ]);
        }
    }
    format!(
        "Service {} (host {}, {})\n\n{}",
        effective.service,
        effective.host,
        crate::output::count(effective.endpoints, "endpoint", "endpoints"),
        table::render(&["RESOURCE", "SCOPE", "SETTING", "VALUE", "SOURCE"], &rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Resource, kinds};
    use crate::mesh::service::Service;

    /// Service d/s selecting `app=s`, with pods of these labels (and `app=s`).
    fn live(pods: &[&[(&str, &str)]]) -> Live {
        let service: Service = serde_json::from_value(json!({"metadata": {"name": "s",
            "namespace": "d"}, "spec": {"selector": {"app": "s"}}}))
        .unwrap();
        let pods = pods
            .iter()
            .enumerate()
            .map(|(i, pairs)| {
                let mut labels: serde_json::Map<String, Value> =
                    pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                labels.insert("app".into(), json!("s"));
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{i}"),
                    "namespace": "d", "labels": labels}})
            })
            .collect();
        Live {
            endpoints: super::super::read::Endpoints::new(&service, pods),
            service,
            vs_resource: Resource { kind: &kinds::VIRTUAL_SERVICE, version: "v1" },
            virtual_services: Vec::new(),
            dr_resource: Resource { kind: &kinds::DESTINATION_RULE, version: "v1" },
            destination_rules: Vec::new(),
            mesh: Default::default(),
            mesh_read: false,
        }
    }

    fn value(view: &DestinationView, field: &str) -> (Value, Source) {
        let s = view.settings.iter().find(|s| s.field == field).unwrap();
        (s.value.clone(), s.source)
    }

    #[test]
    fn subsets_and_ports_with_their_own_blocks_get_their_own_scope() {
        let target = Target::new("cart", "shop", "cluster.local");
        let dr = json!({
            "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {
                "host": "cart",
                "trafficPolicy": {
                    "connectionPool": {"tcp": {"maxConnections": 100}},
                    "portLevelSettings": [{"port": {"number": 9090},
                                           "connectionPool": {"tcp": {"maxConnections": 5}}}]
                },
                "subsets": [
                    {"name": "v1", "labels": {"version": "v1"}},
                    {"name": "v2", "labels": {"version": "v2"},
                     "trafficPolicy": {"outlierDetection": {"maxEjectionPercent": 100}}}
                ]
            }
        });
        let live = live(&[&[("version", "v1")], &[("version", "v1")], &[("version", "v2")]]);
        let shown = describe(&target, &[], &[&dr], &live);
        let scopes: Vec<&str> = shown.destinations.iter().map(|d| d.scope.as_str()).collect();
        assert_eq!(scopes, ["trafficPolicy", "port 9090", "subset v2"]);
        let [top, port, v2] = &shown.destinations[..] else { panic!() };
        assert_eq!(value(top, "connectionPool.tcp.maxConnections"), (json!(100), Source::Set));
        assert_eq!(value(top, "outlierDetection"), (json!("off"), Source::IstioDefault));
        assert_eq!(value(port, "connectionPool.tcp.maxConnections"), (json!(5), Source::Set));
        assert_eq!(value(v2, "connectionPool.tcp.maxConnections"), (json!(100), Source::Set));
        assert_eq!(value(v2, "outlierDetection.interval"), (json!("10s"), Source::EnvoyDefault));
        assert_eq!(value(v2, "ejectableEndpoints"), (json!("1 of 1"), Source::Derived));
        assert_eq!(shown.routes[0].route, "(default route)");
        assert!(render(&shown).contains("DestinationRule shop/cart   subset v2"));
    }

    #[test]
    fn turned_off_retries_show_no_retry_fields() {
        let target = Target::new("cart", "shop", "cluster.local");
        let vs = json!({
            "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {"hosts": ["cart"], "http": [
                {"route": [{"destination": {"host": "cart"}}], "retries": {"attempts": 0}},
                {"redirect": {"uri": "/v2"}}
            ]}
        });
        let shown = describe(&target, &[&vs], &[], &live(&[]));
        assert_eq!(shown.routes.len(), 1, "the redirect sends nothing upstream");
        let fields: Vec<&str> = shown.routes[0].settings.iter().map(|s| s.field.as_str()).collect();
        assert_eq!(fields, ["retries.attempts", "timeout"]);
        assert_eq!(shown.routes[0].settings[0].value, json!(0));
    }
}
