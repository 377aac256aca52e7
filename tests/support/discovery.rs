//! `/version` and API discovery: the legacy documents and aggregated discovery v2/v2beta1.

use serde_json::{Value, json};

use super::catalog::{Catalog, Kind};
use super::router::Reply;

/// What `/version` reports.
#[derive(Debug, Clone)]
pub struct ServerVersion {
    pub git_version: String,
    pub major: String,
    pub minor: String,
}

impl Default for ServerVersion {
    fn default() -> Self {
        ServerVersion::parse("v1.32.4")
    }
}

impl ServerVersion {
    /// Reads `vMAJOR.MINOR.PATCH[-suffix]`; major and minor follow from it.
    pub fn parse(git_version: &str) -> ServerVersion {
        let mut parts = git_version.trim_start_matches('v').split(['.', '-', '+']);
        ServerVersion {
            git_version: git_version.to_string(),
            major: parts.next().unwrap_or("1").to_string(),
            minor: parts.next().unwrap_or("0").to_string(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "major": self.major,
            "minor": self.minor,
            "gitVersion": self.git_version,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2025-04-22T16:02:27Z",
            "goVersion": "go1.23.8",
            "compiler": "gc",
            "platform": "linux/amd64",
        })
    }
}

/// Which aggregated discovery version an Accept header asks for, if any, in its order.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        if media == "application/json" && param("g") == Some("apidiscovery.k8s.io") {
            if param("as") != Some("APIGroupDiscoveryList") {
                continue;
            }
            match param("v") {
                Some("v2") => return Some("v2"),
                Some("v2beta1") => return Some("v2beta1"),
                _ => continue,
            }
        }
        if media == "application/json" || media == "*/*" {
            return None;
        }
    }
    None
}

fn aggregated_reply(version: &str, items: Vec<Value>) -> Reply {
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    let content_type =
        format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    let mut reply = Reply::typed(200, &content_type, &body);
    reply.headers.push(("Vary".into(), "Accept".into()));
    reply
}

/// `/api`: the legacy `APIVersions` or the aggregated core group.
pub fn api(catalog: &Catalog, accept: &str, address: &str) -> Reply {
    if let Some(v) = aggregated_version(accept) {
        let versions = vec![aggregated_group_version(catalog, "", "v1")];
        return aggregated_reply(
            v,
            vec![json!({"metadata": {"creationTimestamp": null}, "versions": versions})],
        );
    }
    Reply::json(
        200,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
        }),
    )
}

/// `/apis`: the legacy `APIGroupList` or the aggregated list of every named group.
pub fn apis(catalog: &Catalog, accept: &str) -> Reply {
    let groups: Vec<_> = catalog.groups().into_iter().filter(|(g, _)| !g.is_empty()).collect();
    if let Some(v) = aggregated_version(accept) {
        let items = groups
            .iter()
            .map(|(g, versions)| {
                let versions: Vec<Value> =
                    versions.iter().map(|ver| aggregated_group_version(catalog, g, ver)).collect();
                json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": versions})
            })
            .collect();
        return aggregated_reply(v, items);
    }
    let groups: Vec<Value> = groups.iter().map(|(g, vs)| api_group(g, vs)).collect();
    Reply::json(200, &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
}

fn api_group(group: &str, versions: &[&str]) -> Value {
    let gv = |v: &&str| json!({"groupVersion": format!("{group}/{v}"), "version": v});
    json!({
        "name": group,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv).unwrap_or(Value::Null),
    })
}

/// `/apis/{group}`: one `APIGroup`.
pub fn group(catalog: &Catalog, group: &str) -> Reply {
    let versions = catalog
        .groups()
        .into_iter()
        .find(|(g, _)| *g == group)
        .map(|(_, vs)| vs)
        .unwrap_or_default();
    let mut doc = api_group(group, &versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Reply::json(200, &doc)
}

/// The kind a subresource answers with, as (group, version, kind).
fn subresource_kind(kind: &Kind, version: &str, sub: &str) -> (String, String, String) {
    let own = (kind.group.to_string(), version.to_string(), kind.kind.to_string());
    let other = |g: &str, v: &str, k: &str| (g.to_string(), v.to_string(), k.to_string());
    match (kind.plural, sub) {
        (_, "scale") => other("autoscaling", "v1", "Scale"),
        ("pods", "attach") => other("", "v1", "PodAttachOptions"),
        ("pods", "binding") => other("", "v1", "Binding"),
        ("pods", "eviction") => other("policy", "v1", "Eviction"),
        ("pods", "exec") => other("", "v1", "PodExecOptions"),
        ("pods", "portforward") => other("", "v1", "PodPortForwardOptions"),
        ("pods", "proxy") => other("", "v1", "PodProxyOptions"),
        ("services", "proxy") => other("", "v1", "ServiceProxyOptions"),
        ("serviceaccounts", "token") => other("authentication.k8s.io", "v1", "TokenRequest"),
        _ => own,
    }
}

fn aggregated_group_version(catalog: &Catalog, group: &str, version: &str) -> Value {
    let resources: Vec<Value> = catalog
        .in_version(group, version)
        .into_iter()
        .map(|k| {
            let subresources: Vec<Value> = k
                .subresources
                .iter()
                .map(|(sub, verbs)| {
                    let (g, v, kind) = subresource_kind(k, version, sub);
                    json!({
                        "subresource": sub,
                        "responseKind": {"group": g, "version": v, "kind": kind},
                        "verbs": verbs,
                    })
                })
                .collect();
            let mut r = json!({
                "resource": k.plural,
                "responseKind": {"group": k.group, "version": version, "kind": k.kind},
                "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
                "singularResource": k.singular,
                "verbs": k.verbs(),
            });
            if !k.short_names.is_empty() {
                r["shortNames"] = json!(k.short_names);
            }
            if !k.categories.is_empty() {
                r["categories"] = json!(k.categories);
            }
            if !subresources.is_empty() {
                r["subresources"] = json!(subresources);
            }
            r
        })
        .collect();
    json!({"version": version, "resources": resources, "freshness": "Current"})
}

/// `/api/v1` or `/apis/{group}/{version}`: the legacy `APIResourceList`.
pub fn resource_list(catalog: &Catalog, group: &str, version: &str) -> Reply {
    let mut resources = Vec::new();
    for k in catalog.in_version(group, version) {
        let mut r = json!({
            "name": k.plural,
            "singularName": k.singular,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": k.verbs(),
        });
        if !k.short_names.is_empty() {
            r["shortNames"] = json!(k.short_names);
        }
        if !k.categories.is_empty() {
            r["categories"] = json!(k.categories);
        }
        resources.push(r);
        for (sub, verbs) in k.subresources {
            let (g, v, kind) = subresource_kind(k, version, sub);
            let mut s = json!({
                "name": format!("{}/{sub}", k.plural),
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if g != k.group || v != version {
                s["group"] = json!(g);
                s["version"] = json!(v);
            }
            resources.push(s);
        }
    }
    let group_version =
        if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Reply::json(
        200,
        &json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        }),
    )
}
