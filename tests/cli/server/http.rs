//! The server over raw HTTP: discovery, authentication, reads, pages and faults.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Expiry, Fault, Forbid, TestServer};

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
                          application/json";
const META_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const VS: &str = "/apis/networking.istio.io/v1/namespaces/shop/virtualservices";

fn pod(namespace: &str, name: &str, labels: Value, phase: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                     "annotations": {"sidecar.istio.io/status": "{}"}},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
        "status": {"phase": phase},
    })
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn seed_virtual_services(server: &TestServer, count: usize) {
    for i in 0..count {
        server.insert(json!({
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": format!("vs-{i}"), "namespace": "shop"},
            "spec": {"hosts": [format!("h{i}")]},
        }));
    }
}

#[test]
fn version_reports_1_32_unless_told_otherwise() {
    let server = TestServer::builder().start();
    let v = server.http().get("/version").unwrap().json();
    assert_eq!(
        (v["gitVersion"].as_str(), v["major"].as_str(), v["minor"].as_str()),
        (Some("v1.32.4"), Some("1"), Some("32"))
    );
    let older = TestServer::builder().version("v1.30.2").start();
    assert_eq!(older.http().get("/version").unwrap().json()["minor"], "30");
}

#[test]
fn aggregated_discovery_answers_with_its_content_type() {
    let server = TestServer::builder().start();
    let r = server.http().get_as("/apis", AGGREGATED).unwrap();
    assert_eq!(
        r.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    let doc = r.json();
    assert_eq!(doc["kind"], "APIGroupDiscoveryList");
    let istio = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "networking.istio.io")
        .unwrap();
    let versions: Vec<&str> = istio["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v1", "v1beta1", "v1alpha3"]);
    let vs = istio["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "virtualservices")
        .unwrap();
    assert_eq!(vs["shortNames"], json!(["vs"]));
    assert_eq!(vs["scope"], "Namespaced");

    let core = server.http().get_as("/api", AGGREGATED).unwrap().json();
    let pods = core["items"][0]["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "pods")
        .unwrap();
    assert!(
        pods["subresources"].as_array().unwrap().iter().any(|s| s["subresource"] == "portforward")
    );

    let legacy = server.http().get("/api/v1").unwrap().json();
    assert!(
        legacy["resources"].as_array().unwrap().iter().any(|r| r["name"] == "pods/portforward")
    );
}

#[test]
fn legacy_istio_serves_v1beta1_and_shows_stored_objects_in_it() {
    let server = TestServer::builder().legacy_istio().start();
    server.insert(json!({
        "apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "shop"}, "spec": {"hosts": ["reviews"]},
    }));
    let groups = server.http().get("/apis").unwrap().json();
    let net = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "networking.istio.io")
        .unwrap();
    assert_eq!(net["preferredVersion"]["version"], "v1beta1");
    let versions: Vec<&str> = net["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v1beta1", "v1alpha3"]);
    let sec = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "security.istio.io")
        .unwrap();
    assert_eq!(sec["versions"].as_array().unwrap().len(), 1);

    assert_eq!(server.http().get(&format!("{VS}/reviews")).unwrap().status, 404);
    let old = server
        .http()
        .get("/apis/networking.istio.io/v1alpha3/namespaces/shop/virtualservices/reviews")
        .unwrap();
    assert_eq!(old.status, 200);
    assert_eq!(old.json()["apiVersion"], "networking.istio.io/v1alpha3");
}

#[test]
fn without_istio_the_groups_are_absent() {
    let server = TestServer::builder().without_istio().without_gateway_api().start();
    let groups = server.http().get("/apis").unwrap().json();
    let served: Vec<&str> =
        groups["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(served, ["apps", "admissionregistration.k8s.io", "authorization.k8s.io"]);
    let r = server.http().get(VS).unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.body, "404 page not found\n");
    assert_eq!(server.http().get("/openapi/v3/apis/networking.istio.io/v1").unwrap().status, 404);
}

#[test]
fn openapi_patch_operations_take_field_validation() {
    let server = TestServer::builder().start();
    let root = server.http().get("/openapi/v3").unwrap().json();
    let url = root["paths"]["apis/networking.istio.io/v1"]["serverRelativeURL"].as_str().unwrap();
    assert!(url.starts_with("/openapi/v3/apis/networking.istio.io/v1?hash="));
    let doc = server.http().get(url).unwrap().json();
    let patch = &doc["paths"]["/apis/networking.istio.io/v1/namespaces/{namespace}/virtualservices/{name}"]
        ["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "VirtualService");
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
    );
    let schema = &doc["components"]["schemas"]["io.istio.networking.v1.VirtualService"];
    assert_eq!(schema["x-kubernetes-group-version-kind"][0]["version"], "v1");
}

#[test]
fn requests_without_valid_credentials_get_401() {
    let server = TestServer::builder().token("t0ken", "alice").start();
    let none = server.http().get("/api/v1/namespaces").unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["reason"], "Unauthorized");
    assert_eq!(server.http().token("wrong").get("/version").unwrap().status, 401);
    assert_eq!(server.http().token("t0ken").get("/api/v1/namespaces").unwrap().status, 200);
    let log = server.requests();
    assert_eq!(log.last().unwrap().user.as_deref(), Some("alice"));
    assert!(log[0].user.is_none() && !log[0].reached_handler);
}

#[test]
fn a_forbid_rule_answers_403_with_the_apiservers_status() {
    let rule = Forbid::user("alice").verb("list").resource("pods").namespace("foo");
    let server = TestServer::builder().token("t0ken", "alice").forbid(rule).start();
    let client = server.http().token("t0ken");
    let r = client.get("/api/v1/namespaces/foo/pods").unwrap();
    assert_eq!(r.status, 403);
    let status = r.json();
    assert_eq!(
        status["message"],
        "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"foo\""
    );
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(status["details"], json!({"kind": "pods"}));
    assert_eq!(client.get("/api/v1/namespaces/bar/pods").unwrap().status, 200);
    assert_eq!(client.get("/api/v1/namespaces/foo/pods/x").unwrap().status, 404, "get is allowed");
}

#[test]
fn metadata_only_lists_carry_metadata_and_nothing_else() {
    let server = TestServer::builder().start();
    server.insert(pod("shop", "web-1", json!({"app": "web"}), "Running"));
    let list = server.http().get_as("/api/v1/namespaces/shop/pods", META_LIST).unwrap().json();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    let item = &list["items"][0];
    assert_eq!(item["kind"], "PartialObjectMetadata");
    assert_eq!(item["metadata"]["annotations"]["sidecar.istio.io/status"], "{}");
    assert!(item.get("spec").is_none() && item.get("status").is_none());
    let plain = server.http().get("/api/v1/namespaces/shop/pods").unwrap().json();
    assert_eq!(plain["kind"], "PodList");
    assert!(plain["items"][0].get("apiVersion").is_none(), "built-in list items carry no type");
}

#[test]
fn label_and_field_selectors_filter_lists() {
    let server = TestServer::builder().start();
    server.insert(pod("shop", "web-1", json!({"app": "web", "tier": "front"}), "Running"));
    server.insert(pod("shop", "web-2", json!({"app": "web"}), "Pending"));
    server.insert(pod("shop", "db-1", json!({"app": "db"}), "Running"));
    server.insert(pod("bank", "web-3", json!({"app": "web"}), "Running"));
    let get = |q: &str| server.http().get(&format!("/api/v1/pods?{q}")).unwrap();

    assert_eq!(names(&get("labelSelector=app%3Dweb").json()), ["web-3", "web-1", "web-2"]);
    assert_eq!(
        names(&get("labelSelector=app+in+(db,web),!tier").json()),
        ["web-3", "db-1", "web-2"]
    );
    assert_eq!(names(&get("labelSelector=app!=web").json()), ["db-1"]);
    assert_eq!(names(&get("labelSelector=tier").json()), ["web-1"]);
    assert_eq!(
        names(&get("fieldSelector=status.phase%3DRunning,metadata.namespace%3Dshop").json()),
        ["db-1", "web-1"]
    );
    assert_eq!(
        names(&get("fieldSelector=metadata.name!=web-1&labelSelector=app%3Dweb").json()),
        ["web-3", "web-2"]
    );
    let bad = get("fieldSelector=spec.image%3Dx");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["message"], "field label not supported: spec.image");
    assert_eq!(get("labelSelector=app+in+web").status, 400);
}

#[test]
fn pages_follow_continue_tokens_and_expired_tokens_get_410() {
    let server = TestServer::builder().start();
    seed_virtual_services(&server, 5);
    let first = server.http().get(&format!("{VS}?limit=2")).unwrap().json();
    assert_eq!(names(&first), ["vs-0", "vs-1"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let second = server.http().get(&format!("{VS}?limit=2&continue={token}")).unwrap().json();
    assert_eq!(names(&second), ["vs-2", "vs-3"]);
    assert_eq!(second["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"]);
    assert_eq!(second["metadata"]["remainingItemCount"], 1);

    // Across namespaces the count left follows each page too.
    let all = "/apis/networking.istio.io/v1/virtualservices";
    let mut next = String::new();
    let mut left = Vec::new();
    loop {
        let page = server.http().get(&format!("{all}?limit=2{next}")).unwrap().json();
        left.push(page["metadata"]["remainingItemCount"].as_u64());
        match page["metadata"]["continue"].as_str() {
            Some(token) => next = format!("&continue={token}"),
            None => break,
        }
    }
    assert_eq!(left, [Some(3), Some(1), None]);

    server.expire_continue_tokens(Expiry::Once);
    let gone = server.http().get(&format!("{VS}?limit=2&continue={token}")).unwrap();
    assert_eq!(gone.status, 410);
    let status = gone.json();
    assert_eq!(status["reason"], "Expired");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
    assert!(status["metadata"]["continue"].is_string());
    assert_eq!(server.http().get(&format!("{VS}?limit=2&continue={token}")).unwrap().status, 200);

    server.expire_continue_tokens(Expiry::Always);
    for _ in 0..2 {
        assert_eq!(
            server.http().get(&format!("{VS}?limit=2&continue={token}")).unwrap().status,
            410
        );
    }
    assert_eq!(server.http().get(&format!("{VS}?limit=2&continue=garbage")).unwrap().status, 400);
    assert_eq!(names(&server.http().get(VS).unwrap().json()).len(), 5, "no token, no expiry");
}

#[test]
fn status_faults_answer_with_retry_after_then_stop() {
    let server = TestServer::builder().start();
    server.fault(Fault::status(503).prefix("/apis/networking.istio.io").retry_after(2).times(1));
    let r = server.http().get(VS).unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.json()["details"]["retryAfterSeconds"], 2);
    assert_eq!(server.http().get(VS).unwrap().status, 200, "times(1) hits once");
    assert_eq!(server.http().get("/api/v1/pods").unwrap().status, 200);
    let log = server.requests();
    assert!(log[0].fault && log[0].status == 503 && !log[1].fault);

    server
        .fault(Fault::status(429).method("PATCH").path(&format!("{VS}/x")).body("{\"custom\":1}"));
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/x"), "application/merge-patch+json", "{}")
        .unwrap();
    assert_eq!((r.status, r.body.as_str()), (429, "{\"custom\":1}"));
    assert_eq!(server.http().get(&format!("{VS}/x")).unwrap().status, 404, "GET is not matched");
}

#[test]
fn delay_faults_slow_requests_and_drop_faults_close_connections() {
    let server = TestServer::builder().start();
    server.fault(Fault::delay(Duration::from_millis(300)).path("/version").times(1));
    let start = Instant::now();
    assert_eq!(server.http().get("/version").unwrap().status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));

    server.fault(Fault::drop_connection().path("/api").times(1));
    assert!(server.http().get("/api").is_err(), "no response at all");
    assert_eq!(server.http().get("/api").unwrap().status, 200);
    let dropped = &server.requests()[1];
    assert_eq!((dropped.status, dropped.fault), (0, true));
}

#[test]
fn tables_have_name_and_age_columns() {
    let server = TestServer::builder().start();
    server.insert(json!({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": "shop", "creationTimestamp": "2020-01-01T00:00:00Z"},
        "spec": {"host": "reviews.shop.svc.cluster.local"},
    }));
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let t = server
        .http()
        .get_as("/apis/networking.istio.io/v1/namespaces/shop/destinationrules", accept)
        .unwrap()
        .json();
    assert_eq!(t["kind"], "Table");
    let columns: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Host", "Age"]);
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[0], "reviews");
    assert_eq!(cells[1], "reviews.shop.svc.cluster.local");
    assert!(cells[2].as_str().unwrap().contains('y'), "years old: {}", cells[2]);
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[test]
fn watches_replay_current_objects_then_stream_changes_until_their_timeout() {
    let server = TestServer::builder().start();
    seed_virtual_services(&server, 2);
    let list = server.http().get(VS).unwrap().json();
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap().to_string();

    // From the list's resourceVersion: only what changes afterwards.
    let client = server.http();
    let from_rv = std::thread::spawn(move || {
        client.get(&format!("{VS}?watch=true&resourceVersion={rv}&timeoutSeconds=1")).unwrap()
    });
    std::thread::sleep(Duration::from_millis(200));
    let body = json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                      "metadata": {"name": "new"}, "spec": {"hosts": ["new"]}});
    let created = server.http().send("POST", VS, "application/json", &body.to_string()).unwrap();
    assert_eq!(created.status, 201);
    server.http().send("DELETE", &format!("{VS}/vs-0"), "application/json", "").unwrap();
    let events: Vec<Value> =
        from_rv.join().unwrap().body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["object"]["metadata"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("ADDED", "new"), ("DELETED", "vs-0")]);
    assert_eq!(events[0]["object"]["apiVersion"], "networking.istio.io/v1");

    // From nothing: the current objects as ADDED, with a label selector applied.
    let start = Instant::now();
    let r = server
        .http()
        .get(&format!("{VS}?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dnew"))
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(900), "held open until the timeout");
    let names: Vec<Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["object"]["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("new")]);
}
