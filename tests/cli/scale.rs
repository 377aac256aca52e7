//! The request pattern at scale, on the small generated mesh (100 namespaces, about 8,000
//! objects): `check -A` sends one paginated list per kind, as many pages as the objects
//! need at the page size, metadata-only where metadata is enough, and no GET of a single
//! object. Not timed: the benchmark (`cargo bench --bench scale`) measures.

use std::collections::BTreeMap;

use crate::harness::Env;
use crate::support::mesh_gen::{self, CHECK_KINDS as KINDS, Size, Spec};
use crate::support::{Expiry, LoggedRequest, TestServer};

/// The kind a request lists, when it is a list of one of [`KINDS`] across all namespaces
/// (or, for the mesh config, in `istio-system`).
fn listed_kind(r: &LoggedRequest) -> Option<(&'static str, &'static str, bool)> {
    KINDS.iter().copied().find(|(group, plural, _)| {
        let prefix =
            if group.is_empty() { "/api/v1/".to_string() } else { format!("/apis/{group}/") };
        let Some(rest) = r.path.strip_prefix(&prefix) else { return false };
        let rest =
            if group.is_empty() { rest } else { rest.split_once('/').map_or("", |(_, p)| p) };
        rest == *plural || (*plural == "configmaps" && rest == "namespaces/istio-system/configmaps")
    })
}

fn stored(server: &TestServer, group: &str, plural: &str) -> usize {
    let resource = if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") };
    server.count(&resource, None)
}

#[test]
fn check_lists_each_kind_once_in_pages_and_gets_nothing_by_name() {
    let env = Env::new();
    let summary = mesh_gen::seed(&env.server, &Spec::of(Size::Small));
    assert_eq!(summary.count("pods"), stored(&env.server, "", "pods"));
    assert_eq!(
        summary.count("authorizationpolicies"),
        stored(&env.server, "security.istio.io", "authorizationpolicies")
    );
    assert!(summary.count("pods") > 2_000, "{:?}", summary.counts);
    env.server.clear_log();

    let run = env.run(&["check", "-A"]);
    assert!(run.code == 0 || run.code == 1, "{}\n{}", run.stdout, run.stderr);
    let requests = env.server.requests();

    // Only reads, and besides discovery only lists of the kinds analysis needs.
    let mut pages: BTreeMap<(&str, &str), Vec<&LoggedRequest>> = BTreeMap::new();
    for r in &requests {
        assert_eq!(r.method, "GET", "only reads: {r:?}");
        if r.path == "/apis" || r.path == "/api" {
            continue;
        }
        let (group, plural, _) = listed_kind(r)
            .unwrap_or_else(|| panic!("not a list of a needed kind: {} {:?}", r.path, r.query));
        pages.entry((group, plural)).or_default().push(r);
    }
    let discovery = requests.len() - pages.values().map(Vec::len).sum::<usize>();
    assert!(discovery <= 1, "one discovery request at most: {requests:#?}");

    for &(group, plural, metadata_only) in KINDS {
        let list = pages.get(&(group, plural)).map(Vec::as_slice).unwrap_or_default();
        let objects = if plural == "configmaps" { 1 } else { stored(&env.server, group, plural) };
        let expected = objects.div_ceil(500).max(1);
        assert_eq!(list.len(), expected, "{group}/{plural}: {objects} objects at 500 a page");
        for (i, page) in list.iter().enumerate() {
            assert_eq!(page.param("limit"), Some("500"), "{}", page.path);
            assert_eq!(page.param("continue").is_some(), i > 0, "{} page {i}", page.path);
            assert_eq!(
                page.accept.contains("as=PartialObjectMetadataList"),
                metadata_only,
                "{group}/{plural}: metadata only is {metadata_only}"
            );
            assert_eq!(page.status, 200, "{}", page.path);
        }
        if list.len() > 1 {
            let tokens: std::collections::BTreeSet<_> =
                list.iter().filter_map(|p| p.param("continue")).collect();
            assert_eq!(tokens.len(), list.len() - 1, "each page continues where the last ended");
        }
    }
    let configmaps = &pages[&("", "configmaps")];
    assert_eq!(configmaps[0].param("fieldSelector"), Some("metadata.name=istio"));
    assert_eq!(configmaps[0].path, "/api/v1/namespaces/istio-system/configmaps");
}

#[test]
fn the_generated_mesh_holds_its_mistakes_and_references_real_accounts() {
    let server = TestServer::builder().start();
    let summary = mesh_gen::seed(&server, &Spec { namespaces: 20, seed: 11 });
    let whats: Vec<&str> = summary.mistakes.iter().map(|m| m.what).collect();
    assert_eq!(whats.len(), 4, "{:?}", summary.mistakes);

    // Every principal an AuthorizationPolicy names is an account that exists.
    let accounts: std::collections::BTreeSet<String> =
        server.names("serviceaccounts").into_iter().collect();
    for policy in server.objects("authorizationpolicies", None) {
        let text = policy["spec"].to_string();
        for principal in text.split("cluster.local/ns/").skip(1) {
            let mut parts = principal.split(['/', '"']);
            let (ns, _, sa) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
            assert!(accounts.contains(&format!("{ns}/{sa}")), "{ns}/{sa} in {text}");
        }
    }

    // Pods are owned through ReplicaSets by Deployments that exist.
    let replica_sets: std::collections::BTreeSet<String> =
        server.names("replicasets").into_iter().collect();
    for pod in server.objects("pods", None) {
        let ns = pod["metadata"]["namespace"].as_str().unwrap();
        let owner = pod["metadata"]["ownerReferences"][0]["name"].as_str().unwrap();
        assert!(replica_sets.contains(&format!("{ns}/{owner}")), "{ns}/{owner}");
    }
    let bare: Vec<_> = summary.mistakes.iter().filter(|m| m.kind == "Pod").collect();
    let pod = server.object("pods", &bare[0].namespace, &bare[0].name).unwrap();
    assert!(pod["metadata"]["annotations"].get("sidecar.istio.io/status").is_none());
}

#[test]
fn an_expired_continue_token_restarts_that_list_alone() {
    let env = Env::new();
    mesh_gen::seed(&env.server, &Spec { namespaces: 10, seed: 3 });
    env.server.clear_log();
    env.server.expire_continue_tokens(Expiry::Once);

    let run = env.run(&["check", "-A", "--page-size", "50"]);
    assert!(run.code == 0 || run.code == 1, "{}\n{}", run.stdout, run.stderr);
    let requests = env.server.requests();
    let expired: Vec<&LoggedRequest> = requests.iter().filter(|r| r.status == 410).collect();
    assert_eq!(expired.len(), 1, "{requests:#?}");
    let path = &expired[0].path;
    let list: Vec<&LoggedRequest> = requests.iter().filter(|r| &r.path == path).collect();
    let at = list.iter().position(|r| r.status == 410).unwrap();
    assert!(at > 0 && list[at].param("continue").is_some());
    let (group, plural, _) = listed_kind(list[0]).unwrap();
    let pages = stored(&env.server, group, plural).div_ceil(50);
    let again = &list[at + 1..];
    assert!(again[0].param("continue").is_none(), "restarted from the first page");
    assert_eq!(again.len(), pages, "then read to the end, once");
    assert!(again.iter().all(|r| r.status == 200));
    // Every other list started once.
    let mut starts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.param("limit").is_some() && r.param("continue").is_none())
    {
        *starts.entry(r.path.as_str()).or_default() += 1;
    }
    assert_eq!(starts.remove(path.as_str()), Some(2));
    assert!(starts.values().all(|&n| n == 1), "{starts:?}");
}

#[test]
fn check_finds_each_generated_mistake_where_it_was_made() {
    let env = Env::new();
    let summary = mesh_gen::seed(&env.server, &Spec { namespaces: 20, seed: 5 });
    let run = env.run(&["check", "-A", "-o", "json"]);
    assert_eq!(run.code, 1, "the mistakes include errors\n{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["code"].as_str().unwrap(), f["resource"]))
        .collect();

    // The codes Istio's analyzers give these mistakes (IST0101, IST0103, IST0118).
    for mistake in &summary.mistakes {
        let code = match (mistake.kind, mistake.what) {
            ("VirtualService", w) if w.contains("Gateway") => "DM0101",
            ("VirtualService", _) => "DM0105",
            ("Pod", _) => "DM0503",
            ("Service", _) => "DM0601",
            other => panic!("no code for {other:?}"),
        };
        let hit = found.iter().any(|f| {
            f.starts_with(code)
                && f.contains(&format!("\"{}\"", mistake.namespace))
                && f.contains(&format!("\"{}\"", mistake.name))
        });
        assert!(hit, "{code} for {mistake:?} not in {found:#?}");
    }

    // Everything else is written right: no other error (STRICT mTLS over the pod without a
    // sidecar is a warning that follows from its mistake).
    let errors: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["level"] == "error" && !["DM0101", "DM0105"].contains(&f["code"].as_str().unwrap())
        })
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
