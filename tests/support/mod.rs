//! An in-process Kubernetes API server for tests and benchmarks, on 127.0.0.1.
//!
//! It speaks enough of the REST API for kube-rs and the real `kubectl` to work against it:
//! discovery (legacy and aggregated), OpenAPI v3, get, list (selectors, pages,
//! metadata-only, tables) and watch, create, replace, delete, merge and JSON patches,
//! server-side apply with managed fields and conflicts, `dryRun=All`, `Status` errors,
//! bearer tokens and client certificates, 403 rules, and injected faults. kubectl sends
//! bearer tokens over HTTPS only, so kubectl tests of authentication use [`Builder::https`].
//!
//! ```ignore
//! let server = TestServer::builder().https().token("t0ken", "alice").start();
//! server.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n");
//! let dir = tempfile::tempdir().unwrap();
//! let user = KubeUser::Token("t0ken".into());
//! let kubeconfig = server.write_kubeconfig_in(dir.path(), user, "shop");
//! let out = support::kubectl(&server, &kubeconfig, &["get", "vs"]);
//! assert!(out.status.success());
//! assert_eq!(server.requests().last().unwrap().param("limit"), Some("500"));
//! ```
//!
//! Simplifications against a real apiserver, each chosen so tests stay honest:
//! - No schemas for custom resources: unknown fields are kept, `fieldValidation` is
//!   accepted but not enforced, and nothing is defaulted or pruned.
//! - Strategic merge patch is answered 415 for custom resources, as the apiserver does; for
//!   built-in kinds it is applied as a JSON merge patch (no `$patch` directives, lists are
//!   replaced rather than merged by key).
//! - Request bodies are JSON or YAML; protobuf only for the Namespace, ConfigMap, Secret,
//!   ServiceAccount and SelfSubjectAccessReview fields kubectl's `create` and `auth can-i`
//!   send (other protobuf bodies get 415). Responses are always JSON. No OpenAPI v2.
//! - Apply merges keyed lists by key, appending new items at the end; maps are granular,
//!   lists atomic unless the kind's table names them keyed or sets.
//! - A continue token resumes after its last key over the current data, not over a snapshot.
//! - Deletion is immediate apart from finalizers: no graceful pod termination, no garbage
//!   collection, and a namespace takes its contents with it at once.
//! - Watches replay from a bounded history (4096 changes); an object that stops matching
//!   a watch's selector is not reported as DELETED. No bookmarks, no streaming lists.
//! - Subresources other than `status` and pods' `portforward` are listed in discovery but
//!   answered 405. Port-forward speaks WebSocket `v4.channel.k8s.io` only (what kube-rs
//!   uses), relaying each pod port to a 127.0.0.1 address named by
//!   [`TestServer::forward_pod`]; see `portforward.rs` for the protocol. A [`StandIn`] serves
//!   as the addon behind it.
//! - Seed objects without `managedFields` are owned by nobody (a real apiserver always
//!   records a manager); [`TestServer::insert_managed`] seeds with an owner.
//! - Authorization is allow-all except the [`Forbid`] rules; `SelfSubjectAccessReview`
//!   (`kubectl auth can-i`) answers from the same rules. No RBAC objects are evaluated.

// Each test binary and benchmark uses a different part of the API.
#![allow(dead_code, unused_imports)]

mod catalog;
mod client;
mod deletes;
mod discovery;
mod dispatch;
mod faults;
mod fieldset;
mod http;
mod kubectl;
mod managed;
pub mod mesh_gen;
mod openapi;
mod patch;
mod portforward;
mod proto;
mod reads;
mod router;
mod selectors;
mod standin;
mod status;
mod store;
mod table;
mod tls;
mod util;
mod validate;
mod watch;
mod writes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub use catalog::IstioApis;
pub use client::{HttpClient, HttpResponse};
pub use dispatch::Forbid;
pub use faults::{Expiry, Fault, PathMatch};
pub use kubectl::{Kubectl, kubectl};
pub use portforward::V4_CHANNEL;
pub use standin::StandIn;
pub use store::LoggedRequest;

use catalog::Catalog;
use discovery::ServerVersion;
use dispatch::Shared;
use store::{State, meta_str};
use tls::Pki;
use util::{base64_encode, format_rfc3339, now_unix};

/// Plain HTTP, HTTPS with the server's own CA, or HTTPS from a CA nobody trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tls {
    #[default]
    Off,
    On,
    /// The serving certificate comes from a different CA than [`TestServer::ca_pem`].
    UnknownCa,
}

/// How a server is set up; [`TestServer::builder`] is the short way to fill it.
#[derive(Debug, Clone)]
pub struct Options {
    pub tls: Tls,
    /// Bearer token to user name. Non-empty means tokens are checked.
    pub tokens: BTreeMap<String, String>,
    /// Accept client certificates signed by the server CA (CN is the user). HTTPS only.
    pub client_certs: bool,
    /// `gitVersion` that `/version` reports; major and minor follow from it.
    pub version: String,
    pub istio: IstioApis,
    pub gateway_api: bool,
    pub forbid: Vec<Forbid>,
    /// Start with `default`, `kube-system`, `kube-public` and `kube-node-lease`.
    pub default_namespaces: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: Tls::Off,
            tokens: BTreeMap::new(),
            client_certs: false,
            version: "v1.32.4".into(),
            istio: IstioApis::Current,
            gateway_api: true,
            forbid: Vec::new(),
            default_namespaces: true,
        }
    }
}

/// Builds [`Options`] step by step.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    options: Options,
}

impl Builder {
    pub fn https(mut self) -> Self {
        self.options.tls = Tls::On;
        self
    }

    /// HTTPS with a serving certificate from a CA the kubeconfig does not trust.
    pub fn https_unknown_ca(mut self) -> Self {
        self.options.tls = Tls::UnknownCa;
        self
    }

    /// Accepts `token` as `user`; once any token is set, requests need credentials.
    pub fn token(mut self, token: &str, user: &str) -> Self {
        self.options.tokens.insert(token.into(), user.into());
        self
    }

    /// Accepts client certificates from the server CA; implies HTTPS.
    pub fn client_certs(mut self) -> Self {
        self.options.client_certs = true;
        if self.options.tls == Tls::Off {
            self.options.tls = Tls::On;
        }
        self
    }

    pub fn version(mut self, git_version: &str) -> Self {
        self.options.version = git_version.into();
        self
    }

    pub fn istio(mut self, istio: IstioApis) -> Self {
        self.options.istio = istio;
        self
    }

    /// No `networking.istio.io` or `security.istio.io`.
    pub fn without_istio(self) -> Self {
        self.istio(IstioApis::Absent)
    }

    /// `networking.istio.io` as v1beta1 and v1alpha3 only, `security.istio.io` as v1beta1.
    pub fn legacy_istio(self) -> Self {
        self.istio(IstioApis::Legacy)
    }

    pub fn without_gateway_api(mut self) -> Self {
        self.options.gateway_api = false;
        self
    }

    pub fn forbid(mut self, rule: Forbid) -> Self {
        self.options.forbid.push(rule);
        self
    }

    pub fn without_default_namespaces(mut self) -> Self {
        self.options.default_namespaces = false;
        self
    }

    pub fn start(self) -> TestServer {
        TestServer::start(self.options)
    }
}

/// A managed-fields operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

/// Who a kubeconfig authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeUser {
    Token(String),
    /// A client certificate with this CN, signed by the server CA and embedded.
    ClientCert(String),
    /// No credentials, and `insecure-skip-tls-verify` instead of the CA. kubectl prompts
    /// for a user name over HTTPS without credentials (and fails with `EOF` when its stdin
    /// is not a terminal), so for kubectl prefer [`KubeUser::InsecureToken`].
    Insecure,
    /// A bearer token, and `insecure-skip-tls-verify` instead of the CA.
    InsecureToken(String),
    /// No credentials (the same kubectl caveat as [`KubeUser::Insecure`] over HTTPS).
    None,
}

/// A running server; it stops when dropped.
pub struct TestServer {
    shared: Arc<Shared>,
    pki: Option<Pki>,
    url: String,
    port: u16,
    kubeconfigs: Mutex<u32>,
    // Dropped last: stops the thread serving `shared`.
    _running: http::Running,
}

impl TestServer {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a server on 127.0.0.1 on an ephemeral port.
    pub fn start(options: Options) -> TestServer {
        let (listener, addr) = http::bind();
        let pki = (options.tls != Tls::Off).then(|| Pki::new(options.tls == Tls::UnknownCa));
        let scheme = if pki.is_some() { "https" } else { "http" };
        let catalog = Catalog::new(options.istio, options.gateway_api);
        let mut state = State::default();
        if options.default_namespaces {
            let start = format_rfc3339(now_unix());
            for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
                let namespace = json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "creationTimestamp": start},
                });
                state.seed(&catalog, namespace);
            }
        }
        let shared = Arc::new(Shared {
            catalog,
            version: ServerVersion::parse(&options.version),
            tokens: options.tokens,
            client_certs: options.client_certs && pki.is_some(),
            forbid: options.forbid,
            address: addr.to_string(),
            state: Mutex::new(state),
            changed: tokio::sync::Notify::new(),
        });
        let tls = pki.as_ref().map(|p| p.server_config(options.client_certs));
        let running = http::spawn(listener, shared.clone(), tls);
        TestServer {
            shared,
            pki,
            url: format!("{scheme}://{addr}"),
            port: addr.port(),
            kubeconfigs: Mutex::new(0),
            _running: running,
        }
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA certificate clients should trust; `None` for plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.pki.as_ref().map(Pki::ca_pem)
    }

    /// A client certificate and key (PEM) for `user`, signed by the server CA.
    ///
    /// # Panics
    ///
    /// On a plain HTTP server, which has no CA.
    pub fn client_cert(&self, user: &str) -> (String, String) {
        self.pki.as_ref().expect("client certificates need an HTTPS server").client_cert(user, &[])
    }

    /// Writes a kubeconfig with context `test` for this server and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path, user: KubeUser) -> PathBuf {
        self.write_kubeconfig_with(dir, user, None)
    }

    /// Like [`write_kubeconfig`](Self::write_kubeconfig), with the context's namespace set.
    pub fn write_kubeconfig_in(&self, dir: &Path, user: KubeUser, namespace: &str) -> PathBuf {
        self.write_kubeconfig_with(dir, user, Some(namespace))
    }

    fn write_kubeconfig_with(
        &self,
        dir: &Path,
        user: KubeUser,
        namespace: Option<&str>,
    ) -> PathBuf {
        let q = |s: &str| Value::String(s.to_string()).to_string();
        let mut cluster = format!("    server: {}\n", q(&self.url));
        match (&user, self.ca_pem()) {
            (KubeUser::Insecure | KubeUser::InsecureToken(_), Some(_)) => {
                cluster.push_str("    insecure-skip-tls-verify: true\n")
            }
            (_, Some(ca)) => cluster.push_str(&format!(
                "    certificate-authority-data: {}\n",
                base64_encode(ca.as_bytes())
            )),
            (_, None) => {}
        }
        let credentials = match &user {
            KubeUser::Token(t) | KubeUser::InsecureToken(t) => {
                format!("  user:\n    token: {}\n", q(t))
            }
            KubeUser::ClientCert(cn) => {
                let (cert, key) = self.client_cert(cn);
                format!(
                    "  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
                    base64_encode(cert.as_bytes()),
                    base64_encode(key.as_bytes())
                )
            }
            KubeUser::Insecure | KubeUser::None => "  user: {}\n".to_string(),
        };
        let ns = namespace.map(|n| format!("    namespace: {}\n", q(n))).unwrap_or_default();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n{cluster}\
             users:\n- name: test\n{credentials}contexts:\n- name: test\n  context:\n    \
             cluster: test\n    user: test\n{ns}current-context: test\npreferences: {{}}\n"
        );
        let mut count = self.kubeconfigs.lock().unwrap_or_else(|p| p.into_inner());
        *count += 1;
        let path = dir.join(if *count == 1 {
            "kubeconfig".to_string()
        } else {
            format!("kubeconfig-{count}")
        });
        std::fs::write(&path, text).expect("the kubeconfig directory is writable");
        path
    }

    /// Stores every object of a multi-document YAML stream, as if a cluster held them.
    ///
    /// # Panics
    ///
    /// On YAML that does not parse or objects the server does not know.
    pub fn apply_yaml(&self, yaml: &str) {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).expect("seed YAML parses");
        let mut state = self.shared.lock();
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            state.seed(&self.shared.catalog, doc);
        }
        drop(state);
        self.shared.changed.notify_waiters();
    }

    /// Stores one object directly: uid, resourceVersion and (unless given)
    /// creationTimestamp are assigned; its namespace is created if missing. Not logged.
    pub fn insert(&self, obj: Value) {
        self.shared.lock().seed(&self.shared.catalog, obj);
        self.shared.changed.notify_waiters();
    }

    /// Like [`insert`](Self::insert), owned by `manager`: one `managedFields` entry with
    /// every field, as if `manager` had created it with `operation` (`Apply` or `Update`).
    pub fn insert_managed(&self, obj: Value, manager: &str, operation: Operation) {
        let op = match operation {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        };
        self.shared.lock().seed_owned(&self.shared.catalog, obj, Some((manager, op)));
        self.shared.changed.notify_waiters();
    }

    fn kind(&self, resource: &str) -> &catalog::Kind {
        self.shared
            .catalog
            .resolve(resource)
            .unwrap_or_else(|| panic!("unknown resource {resource:?}"))
    }

    /// The stored object, by plural, kind, short name or `plural.group`; "" namespace for
    /// cluster-scoped kinds.
    pub fn object(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let kind = self.kind(resource);
        self.shared.lock().store.get(kind, namespace, name)
    }

    /// Stored objects of a kind in one namespace, or in all with `None`, ordered by
    /// namespace and name.
    pub fn objects(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        let kind = self.kind(resource);
        self.shared.lock().store.list(kind, namespace, None).collect()
    }

    /// How many objects of a kind are stored in one namespace, or in all with `None`; cheap
    /// where [`objects`](Self::objects) would copy a large store.
    pub fn count(&self, resource: &str, namespace: Option<&str>) -> usize {
        let kind = self.kind(resource);
        self.shared.lock().store.list_packed(kind, namespace, None).count()
    }

    /// Names (`ns/name`, or `name` when cluster-scoped) of a kind's stored objects.
    pub fn names(&self, resource: &str) -> Vec<String> {
        self.objects(resource, None)
            .iter()
            .map(|o| match meta_str(o, "namespace") {
                "" => meta_str(o, "name").to_string(),
                ns => format!("{ns}/{}", meta_str(o, "name")),
            })
            .collect()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// Writes (not GET, HEAD or OPTIONS) that reached a resource handler.
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.requests().into_iter().filter(|r| r.write && r.reached_handler).collect()
    }

    pub fn clear_log(&self) {
        self.shared.lock().log.clear();
    }

    /// Adds a fault; faults are checked in the order added, before normal handling.
    pub fn fault(&self, fault: Fault) {
        self.shared.lock().faults.push((fault, 0));
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Makes requests carrying a continue token fail with 410 Gone, reason Expired.
    pub fn expire_continue_tokens(&self, expiry: Expiry) {
        self.shared.lock().expiry = Some(expiry);
    }

    /// Answers every paginated list (one with a `limit`) with at most `cap` items per page, as
    /// an API server may, so every list a client sends goes through continue tokens.
    pub fn cap_page_size(&self, cap: usize) {
        self.shared.lock().page_cap = Some(cap);
    }

    /// A small HTTP client for this server (plain HTTP servers only).
    pub fn http(&self) -> HttpClient {
        assert!(self.pki.is_none(), "the raw HTTP client speaks plain HTTP only");
        HttpClient::new(self.port)
    }
}
