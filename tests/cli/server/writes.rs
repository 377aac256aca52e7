//! The server's writes over raw HTTP: creates, conflicts, patches, apply, dry runs, deletes.

use serde_json::{Value, json};

use crate::support::TestServer;

const VS: &str = "/apis/networking.istio.io/v1/namespaces/shop/virtualservices";
const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const APPLY: &str = "application/apply-patch+yaml";
const REVIEWS: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
";

fn vs(name: &str) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"hosts": [name]},
    })
}

fn server_with_shop() -> TestServer {
    let server = TestServer::builder().start();
    server.insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}));
    server
}

#[test]
fn create_assigns_identity_and_refuses_duplicates_and_missing_namespaces() {
    let server = server_with_shop();
    let r = server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap();
    assert_eq!(r.status, 201);
    let created = r.json();
    assert!(created["metadata"]["uid"].as_str().unwrap().len() == 36);
    assert_eq!(created["metadata"]["generation"], 1);
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(
        (entry["manager"].as_str(), entry["operation"].as_str()),
        (Some("support-client"), Some("Update"))
    );
    assert_eq!(entry["fieldsV1"], json!({"f:spec": {"f:hosts": {}}}));

    let again = server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap();
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["reason"], "AlreadyExists");
    assert_eq!(
        again.json()["message"],
        "virtualservices.networking.istio.io \"reviews\" already exists"
    );

    let elsewhere = "/apis/networking.istio.io/v1/namespaces/nowhere/virtualservices";
    let mut body = vs("x");
    body["metadata"]["namespace"] = json!("nowhere");
    let missing = server.http().send("POST", elsewhere, JSON, &body.to_string()).unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["message"], "namespaces \"nowhere\" not found");

    let bad = server.http().send("POST", VS, JSON, &vs("Bad_Name").to_string()).unwrap();
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["details"]["causes"][0]["field"], "metadata.name");
    let mut generated = vs("");
    generated["metadata"] = json!({"generateName": "gen-"});
    let g = server.http().send("POST", VS, JSON, &generated.to_string()).unwrap().json();
    assert!(g["metadata"]["name"].as_str().unwrap().starts_with("gen-"));
    assert!(server.http().send("POST", VS, JSON, "{not json").unwrap().status == 400);
}

#[test]
fn body_type_and_name_must_match_the_url() {
    let server = server_with_shop();
    let mut beta = vs("a");
    beta["apiVersion"] = json!("networking.istio.io/v1beta1");
    let r = server.http().send("POST", VS, JSON, &beta.to_string()).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "the API version in the data (networking.istio.io/v1beta1) does not match the expected API version (networking.istio.io/v1)"
    );
    let mut dr = vs("a");
    dr["kind"] = json!("DestinationRule");
    assert_eq!(server.http().send("POST", VS, JSON, &dr.to_string()).unwrap().status, 422);
    server.http().send("POST", VS, JSON, &vs("a").to_string()).unwrap();
    let r = server.http().send("PUT", &format!("{VS}/b"), JSON, &vs("a").to_string()).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "the name of the object (a) does not match the name on the URL (b)"
    );
}

#[test]
fn updates_with_a_stale_resource_version_conflict() {
    let server = server_with_shop();
    let created = server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap().json();
    let mut edit = created.clone();
    edit["spec"]["hosts"] = json!(["reviews", "ratings"]);
    let updated =
        server.http().send("PUT", &format!("{VS}/reviews"), JSON, &edit.to_string()).unwrap();
    assert_eq!(updated.status, 200);
    let updated = updated.json();
    assert_ne!(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
    assert_eq!(updated["metadata"]["generation"], 2);

    let stale =
        server.http().send("PUT", &format!("{VS}/reviews"), JSON, &edit.to_string()).unwrap();
    assert_eq!(stale.status, 409);
    let status = stale.json();
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        "Operation cannot be fulfilled on virtualservices.networking.istio.io \"reviews\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(
        server.object("vs", "shop", "reviews").unwrap()["spec"]["hosts"],
        json!(["reviews", "ratings"])
    );

    let mut unconditional = edit.clone();
    unconditional["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    let r = server
        .http()
        .send("PUT", &format!("{VS}/reviews"), JSON, &unconditional.to_string())
        .unwrap();
    assert_eq!(r.status, 422, "custom resources need a resourceVersion to update");
    let stale_patch = json!({"metadata": {"resourceVersion": "1"}, "spec": {"hosts": ["x"]}});
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/reviews"), MERGE, &stale_patch.to_string())
        .unwrap();
    assert_eq!(r.status, 409);
}

#[test]
fn json_patch_test_failure_is_422_and_changes_nothing() {
    let server = server_with_shop();
    server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap();
    let before = server.object("vs", "shop", "reviews").unwrap();
    let patch = json!([
        {"op": "test", "path": "/spec/hosts/0", "value": "ratings"},
        {"op": "replace", "path": "/spec/hosts/0", "value": "x"},
    ]);
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/reviews"), "application/json-patch+json", &patch.to_string())
        .unwrap();
    assert_eq!(r.status, 422);
    let status = r.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "testing value /spec/hosts/0 failed: test failed"
    );
    assert_eq!(server.object("vs", "shop", "reviews").unwrap(), before);

    let good = json!([
        {"op": "test", "path": "/spec/hosts/0", "value": "reviews"},
        {"op": "add", "path": "/spec/hosts/-", "value": "b"},
    ]);
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/reviews"), "application/json-patch+json", &good.to_string())
        .unwrap();
    assert_eq!(r.json()["spec"]["hosts"], json!(["reviews", "b"]));
}

#[test]
fn strategic_merge_patch_is_unsupported_for_custom_resources() {
    let server = server_with_shop();
    server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap();
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/reviews"), "application/strategic-merge-patch+json", "{}")
        .unwrap();
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["reason"], "UnsupportedMediaType");
    let ns = server
        .http()
        .send(
            "PATCH",
            "/api/v1/namespaces/shop",
            "application/strategic-merge-patch+json",
            "{\"metadata\":{\"labels\":{\"istio-injection\":\"enabled\"}}}",
        )
        .unwrap()
        .json();
    assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
    assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "shop");
}

#[test]
fn dry_run_writes_answer_in_full_and_persist_nothing() {
    let server = server_with_shop();
    let list_rv = || {
        server.http().get("/api/v1/namespaces").unwrap().json()["metadata"]["resourceVersion"]
            .clone()
    };
    let rv_before = list_rv();
    let r = server
        .http()
        .send("POST", &format!("{VS}?dryRun=All"), JSON, &vs("reviews").to_string())
        .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["spec"]["hosts"], json!(["reviews"]));
    assert!(server.object("vs", "shop", "reviews").is_none());

    let apply = REVIEWS;
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/reviews?fieldManager=me&dryRun=All"), APPLY, apply)
        .unwrap();
    assert_eq!(r.status, 201);
    assert!(server.object("vs", "shop", "reviews").is_none());
    let writes = server.writes();
    assert_eq!(writes.len(), 2);
    assert!(writes.iter().all(|w| w.dry_run));
    assert_eq!(list_rv(), rv_before, "no resourceVersion was used up");

    server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap();
    let stored = server.object("vs", "shop", "reviews").unwrap();
    let patch = json!({"spec": {"hosts": ["changed"]}});
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/reviews?dryRun=All"), MERGE, &patch.to_string())
        .unwrap();
    assert_eq!(r.json()["spec"]["hosts"], json!(["changed"]));
    assert_eq!(r.json()["metadata"]["resourceVersion"], stored["metadata"]["resourceVersion"]);
    assert_eq!(server.object("vs", "shop", "reviews").unwrap(), stored);
    assert!(
        server.http().send("DELETE", &format!("{VS}/reviews?dryRun=All"), JSON, "").unwrap().status
            == 200
    );
    assert!(server.object("vs", "shop", "reviews").is_some());
}

#[test]
fn apply_needs_a_field_manager_and_prunes_what_its_manager_dropped() {
    let server = server_with_shop();
    let url = format!("{VS}/reviews?fieldManager=mesh");
    let missing = server.http().send("PATCH", &format!("{VS}/reviews"), APPLY, "{}").unwrap();
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );

    let full = REVIEWS.replace("name: reviews\n", "name: reviews\n  labels: {team: a}\n")
        + "  gateways: [mesh]\n";
    assert_eq!(server.http().send("PATCH", &url, APPLY, &full).unwrap().status, 201);
    let label = json!({"metadata": {"labels": {"owner": "ops"}}, "spec": {"gateways": ["edge"]}});
    server
        .http()
        .send("PATCH", &format!("{VS}/reviews?fieldManager=ops"), MERGE, &label.to_string())
        .unwrap();

    let r = server.http().send("PATCH", &url, APPLY, REVIEWS).unwrap().json();
    assert!(r["metadata"]["labels"].get("team").is_none(), "dropped and owned by nobody else");
    assert_eq!(r["metadata"]["labels"]["owner"], "ops", "never applied by mesh");
    assert_eq!(r["spec"]["gateways"], json!(["edge"]), "ops took it over, so it stays");
    let mesh = r["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "mesh")
        .unwrap();
    assert_eq!(mesh["fieldsV1"], json!({"f:spec": {"f:hosts": {}}}));

    let bad_version = full.replace("networking.istio.io/v1", "networking.istio.io/v1beta1");
    let r = server.http().send("PATCH", &url, APPLY, &bad_version).unwrap();
    assert_eq!(r.status, 400);
}

#[test]
fn apply_conflicts_list_every_field_and_keyed_lists_merge() {
    let server = server_with_shop();
    let se = |manager: &str, spec: Value| {
        let url = format!(
            "/apis/networking.istio.io/v1/namespaces/shop/serviceentries/ext?fieldManager={manager}"
        );
        let body = json!({
            "apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": "ext"}, "spec": spec,
        });
        server.http().send("PATCH", &url, APPLY, &body.to_string()).unwrap()
    };
    let a = json!({
        "hosts": ["a.example"], "location": "MESH_EXTERNAL",
        "ports": [{"name": "http", "number": 80, "protocol": "HTTP"}],
    });
    assert_eq!(se("one", a).status, 201);
    let b = json!({"ports": [{"name": "https", "number": 443, "protocol": "HTTPS"}]});
    let merged = se("two", b).json();
    assert_eq!(merged["spec"]["ports"].as_array().unwrap().len(), 2, "keyed by name, so both stay");

    let c = json!({"hosts": ["b.example"], "location": "MESH_INTERNAL"});
    let r = se("two", c);
    assert_eq!(r.status, 409);
    let status = r.json();
    assert_eq!(
        status["message"],
        "Apply failed with 2 conflicts: conflicts with \"one\":\n- .spec.hosts\n- .spec.location"
    );
    let causes = status["details"]["causes"].as_array().unwrap();
    assert_eq!(
        causes[0],
        json!({
            "reason": "FieldManagerConflict",
            "message": "conflict with \"one\"",
            "field": ".spec.hosts",
        })
    );
}

#[test]
fn delete_honours_preconditions_and_finalizers() {
    let server = server_with_shop();
    let created = server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap().json();
    let wrong = json!({"preconditions": {"uid": "not-the-uid"}});
    let r =
        server.http().send("DELETE", &format!("{VS}/reviews"), JSON, &wrong.to_string()).unwrap();
    assert_eq!(r.status, 409);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Precondition failed: UID in precondition: not-the-uid")
    );
    let right = json!({"preconditions": {"uid": created["metadata"]["uid"]}});
    let r = server
        .http()
        .send("DELETE", &format!("{VS}/reviews"), JSON, &right.to_string())
        .unwrap()
        .json();
    assert_eq!((r["kind"].as_str(), r["status"].as_str()), (Some("Status"), Some("Success")));
    assert_eq!(r["details"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        server.http().send("DELETE", &format!("{VS}/reviews"), JSON, "").unwrap().status,
        404
    );

    let mut held = vs("held");
    held["metadata"]["finalizers"] = json!(["example.com/keep"]);
    server.http().send("POST", VS, JSON, &held.to_string()).unwrap();
    let marked = server.http().send("DELETE", &format!("{VS}/held"), JSON, "").unwrap().json();
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert!(server.object("vs", "shop", "held").is_some());
    let release = json!({"metadata": {"finalizers": null}});
    server.http().send("PATCH", &format!("{VS}/held"), MERGE, &release.to_string()).unwrap();
    assert!(server.object("vs", "shop", "held").is_none());
}

#[test]
fn malformed_requests_get_400_and_the_server_keeps_serving() {
    let server = server_with_shop();
    let bad_bodies = [
        json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": "x"}),
        json!({"metadata": {"name": "a", "labels": {"k": 5}}}),
        json!({"metadata": {"name": "a", "finalizers": "x"}}),
        json!(["not", "an", "object"]),
    ];
    for body in &bad_bodies {
        let r = server.http().send("POST", VS, JSON, &body.to_string()).unwrap();
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["kind"], "Status");
    }
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spec": 1});
    assert_eq!(
        server.http().send("POST", "/api/v1/namespaces", JSON, &ns.to_string()).unwrap().status,
        400
    );
    server.http().send("POST", VS, JSON, &vs("ok").to_string()).unwrap();
    let patches = [
        (MERGE, "{\"metadata\": 7}"),
        (MERGE, "not json"),
        ("application/json-patch+json", "{\"op\": \"add\"}"),
        ("application/json-patch+json", "[{\"op\": \"add\", \"path\": \"spec\", \"value\": 1}]"),
        (APPLY, "{\"apiVersion\": 3"),
        ("text/plain", "x"),
    ];
    for (ct, body) in patches {
        let r = server.http().send("PATCH", &format!("{VS}/ok?fieldManager=m"), ct, body).unwrap();
        assert!((400..500).contains(&r.status), "{ct} {body}: {} {}", r.status, r.body);
    }
    let garbage = ["/api/v1/pods?limit=x", "/api/v1/pods?labelSelector=%ZZ", "/apis/x/y/z", "//"];
    for path in garbage {
        assert!(server.http().get(path).unwrap().status >= 400, "{path}");
    }
    assert_eq!(server.http().get(&format!("{VS}/ok")).unwrap().status, 200);
}

#[test]
fn deleting_a_namespace_takes_its_contents_but_default_stays() {
    let server = server_with_shop();
    server.http().send("POST", VS, JSON, &vs("reviews").to_string()).unwrap();
    let r = server.http().send("DELETE", "/api/v1/namespaces/shop", JSON, "").unwrap().json();
    assert_eq!(
        (r["kind"].as_str(), r["status"]["phase"].as_str()),
        (Some("Namespace"), Some("Terminating"))
    );
    assert!(server.object("namespaces", "", "shop").is_none());
    assert!(server.objects("vs", Some("shop")).is_empty());

    let r = server.http().send("DELETE", "/api/v1/namespaces/default", JSON, "").unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
}

#[test]
fn the_status_subresource_writes_only_status_and_records_its_own_manager() {
    let server = server_with_shop();
    let mut body = vs("reviews");
    body["status"] = json!({"ignored": true});
    let created = server.http().send("POST", VS, JSON, &body.to_string()).unwrap().json();
    assert!(created.get("status").is_none(), "create drops the status of a custom resource");

    let url = format!("{VS}/reviews/status?fieldManager=pilot");
    let status = json!({"status": {"observedGeneration": 1}, "spec": {"hosts": ["changed"]}});
    let r = server.http().send("PATCH", &url, MERGE, &status.to_string()).unwrap().json();
    assert_eq!(r["status"]["observedGeneration"], 1);
    assert_eq!(r["spec"]["hosts"], json!(["reviews"]), "spec is not written through status");
    let pilot = r["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "pilot")
        .unwrap();
    assert_eq!(pilot["subresource"], "status");
    assert_eq!(pilot["fieldsV1"], json!({"f:status": {"f:observedGeneration": {}}}));

    let main = json!({"status": {"observedGeneration": 9}});
    let r = server
        .http()
        .send("PATCH", &format!("{VS}/reviews"), MERGE, &main.to_string())
        .unwrap()
        .json();
    assert_eq!(
        r["status"]["observedGeneration"], 1,
        "status is not written through the main resource"
    );
}
