//! A test API server to try the product by hand, not a test: it serves the guide's Service,
//! an ingress gateway and the `examples/` manifests on 127.0.0.1 until a deadline, and says
//! where its kubeconfig is.
//!
//! ```sh
//! cargo test --test cli sandbox -- --ignored --nocapture
//! # in another shell, with the kubeconfig it printed:
//! KUBECONFIG=/tmp/.../kubeconfig kubectl debatemesh inject status -A
//! ```
//!
//! `DEBATEMESH_SANDBOX_SECONDS` sets how long it serves (600 by default, at most 3600);
//! `DEBATEMESH_SANDBOX_KUBECONFIG` names a file to copy the kubeconfig to.

use std::time::{Duration, Instant};

use crate::harness::Env;

#[test]
#[ignore = "serves until a deadline for trying the product by hand; run with --ignored"]
fn sandbox() {
    let env = Env::new();
    env.seed(crate::expose::GUIDE);
    env.seed(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: my-service, namespace: default}\n\
         spec:\n  replicas: 2\n  selector: {matchLabels: {app: my-service}}\n  template:\n    \
         metadata: {labels: {app: my-service, version: v1}}\n    spec: {serviceAccountName: \
         my-service, containers: [{name: app, image: my-service:1, ports: [{containerPort: \
         8080}]}]}\n",
    );
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&examples)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for file in files {
        env.seed(&std::fs::read_to_string(&file).expect("example"));
    }
    assert!(env.server.object("services", "default", "my-service").is_some(), "seeded");
    let seconds: u64 = std::env::var("DEBATEMESH_SANDBOX_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600)
        .min(3600);
    if let Ok(copy) = std::env::var("DEBATEMESH_SANDBOX_KUBECONFIG") {
        std::fs::copy(&env.kubeconfig, &copy).expect("copy the kubeconfig");
    }
    println!("kubeconfig: {}", env.kubeconfig.display());
    println!("serving {} for {seconds}s", env.server.url());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
}
