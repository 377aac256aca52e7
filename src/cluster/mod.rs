//! Everything that talks to the API server: the kubeconfig, discovery, paginated lists and
//! writes. Nothing else in the crate opens a connection.

pub mod config;
pub mod discovery;
mod error;
pub mod kinds;
mod list;
pub mod ownership;
mod portforward;
pub mod rest;
pub mod snapshot;
mod write;

use std::time::Duration;

use tokio::sync::OnceCell;

pub use error::{ApiStatus, ClusterError, Failure, FieldConflict, humantime};
pub use kinds::Kind;
pub use list::{ListOptions, Scope};
pub use portforward::Forward;
pub use write::{Edited, FIELD_MANAGER, WriteMode};

use crate::cli::GlobalArgs;
use discovery::Catalog;
use rest::Call;

/// A connection to one cluster, as the kubeconfig and flags describe it.
pub struct Cluster {
    client: kube::Client,
    namespace: String,
    timeout: Option<Duration>,
    source: config::Source,
    /// Discovery, done once: its failure too, so concurrent lists do not each retry it.
    catalog: OnceCell<Result<Catalog, ClusterError>>,
}

/// A kind at the version this cluster serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub kind: &'static Kind,
    pub version: &'static str,
}

impl Resource {
    /// `group/version`, or `v1` for core kinds.
    pub fn api_version(&self) -> String {
        if self.kind.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.kind.group, self.version)
        }
    }

    /// The URL of the collection, in one namespace or across all of them.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let prefix = if self.kind.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.kind.group, self.version)
        };
        match namespace {
            Some(ns) if self.kind.namespaced => {
                format!("{prefix}/namespaces/{}/{}", encode(ns), self.kind.plural)
            }
            _ => format!("{prefix}/{}", self.kind.plural),
        }
    }

    /// The URL of one object.
    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{}", self.collection_path(namespace), encode(name))
    }
}

/// What a request does, for error messages and the `kubectl auth can-i` hint.
#[derive(Debug, Clone)]
pub struct Action<'a> {
    pub verb: &'static str,
    pub kind: &'static Kind,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl Action<'_> {
    fn describe(&self) -> String {
        let mut s = format!("{} {}", self.verb, self.kind.kind);
        if let Some(name) = self.name {
            s.push(' ');
            if let Some(ns) = self.namespace.filter(|_| self.kind.namespaced) {
                s.push_str(ns);
                s.push('/');
            }
            s.push_str(name);
        } else if let Some(ns) = self.namespace.filter(|_| self.kind.namespaced) {
            s.push_str(&format!(" in namespace {ns}"));
        } else if self.kind.namespaced {
            s.push_str(" in all namespaces");
        }
        s
    }

    fn can_i(&self) -> String {
        let scope = match self.namespace.filter(|_| self.kind.namespaced) {
            Some(ns) => format!(" -n {ns}"),
            None if self.kind.namespaced => " -A".to_string(),
            None => String::new(),
        };
        format!("kubectl auth can-i {} {}{scope}", self.verb, self.kind.resource_name())
    }
}

/// What to try when the kubeconfig's credentials cannot be had.
fn credentials_hint(context: &str) -> String {
    match config::exec_plugin() {
        Some(plugin) => format!(
            "run {plugin} yourself to see why (you may need to log in again), or check the exec \
             section of the user of {context} in the kubeconfig"
        ),
        None => format!("check the credentials of {context} in the kubeconfig"),
    }
}

impl Cluster {
    /// Resolves the kubeconfig and flags into a client. Nothing is sent yet.
    pub async fn connect(global: &GlobalArgs) -> anyhow::Result<Self> {
        let resolved = config::resolve(global).await?;
        crate::output::redact::register(resolved.secrets);
        let namespace = resolved.config.default_namespace.clone();
        let client = match kube::Client::try_from(resolved.config) {
            Ok(client) => client,
            // Credentials that cannot be had are the cluster side's trouble, as in kubectl.
            Err(kube::Error::Auth(e)) => {
                let context = resolved.source.context.as_deref().unwrap_or("the current context");
                return Err(ClusterError::new(
                    format!("get credentials for {context}"),
                    Failure::Credentials(rest::describe_auth(&e)),
                )
                .with_hint(credentials_hint(context))
                .into());
            }
            Err(e) => {
                return Err(crate::error::UsageError::new(format!(
                    "cannot use the kubeconfig: {e}"
                ))
                .into());
            }
        };
        Ok(Self {
            client,
            namespace,
            timeout: resolved.timeout,
            source: resolved.source,
            catalog: OnceCell::new(),
        })
    }

    /// The namespace commands work in: `-n`, else the context's, else `default`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Where we are connected, for messages.
    pub fn source(&self) -> &config::Source {
        &self.source
    }

    /// The underlying kube client, for streaming protocols (port-forward).
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The served API groups, read once.
    pub async fn catalog(&self) -> Result<&Catalog, ClusterError> {
        let discovered = self
            .catalog
            .get_or_init(|| async {
                let mut call = Call::get("/apis");
                call.accept = discovery::ACCEPT_DISCOVERY;
                let body = self.send(&call).await.map_err(|f| {
                    self.explain(ClusterError::new("discover the API groups the server serves", f))
                })?;
                Catalog::parse(&body).map_err(|e| {
                    ClusterError::new(
                        "discover the API groups the server serves",
                        Failure::Decode(e.to_string()),
                    )
                })
            })
            .await;
        discovered.as_ref().map_err(Clone::clone)
    }

    /// The served version of `kind`, or an error saying what is not installed.
    pub async fn resource(&self, kind: &'static Kind) -> Result<Resource, ClusterError> {
        self.try_resource(kind).await?.ok_or_else(|| not_installed(kind))
    }

    /// The served version of `kind`, or `None` when the cluster does not serve it.
    pub async fn try_resource(
        &self,
        kind: &'static Kind,
    ) -> Result<Option<Resource>, ClusterError> {
        if kind.group.is_empty() {
            return Ok(Some(Resource { kind, version: "v1" }));
        }
        let catalog = self.catalog().await?;
        Ok(catalog.version_of(kind).map(|version| Resource { kind, version }))
    }

    /// `/version` of the server.
    pub async fn server_version(&self) -> Result<serde_json::Value, ClusterError> {
        let body = self
            .send(&Call::get("/version"))
            .await
            .map_err(|f| self.explain(ClusterError::new("read the server version", f)))?;
        serde_json::from_slice(&body).map_err(|e| {
            ClusterError::new("read the server version", Failure::Decode(e.to_string()))
        })
    }

    async fn send(&self, call: &Call) -> Result<Vec<u8>, Failure> {
        tracing::debug!(method = %call.method, uri = %call.uri, "request");
        rest::send(&self.client, call, self.timeout).await
    }

    /// Sends a request for `action`, turning a failure into an error with a hint.
    pub(crate) async fn request(
        &self,
        call: &Call,
        action: &Action<'_>,
    ) -> Result<Vec<u8>, ClusterError> {
        self.send(call).await.map_err(|failure| {
            let forbidden = matches!(&failure, Failure::Status(s) if s.code == 403);
            let err = ClusterError::new(action.describe(), failure);
            if forbidden {
                err.with_hint(format!("check your permissions: {}", action.can_i()))
            } else if err.code() == Some(404) && action.name.is_none() {
                not_installed(action.kind)
            } else {
                self.explain(err)
            }
        })
    }

    /// Adds the hint that fits a failure.
    fn explain(&self, err: ClusterError) -> ClusterError {
        let context = self.source.context.as_deref().unwrap_or("the current context");
        let hint = match err.failure() {
            Failure::Unreachable(_) => format!(
                "is the cluster up, and is the server {} right for {context}? try: kubectl \
                 cluster-info",
                self.source.server
            ),
            Failure::Tls(_) => format!(
                "the server's certificate is not signed by the certificate authority the \
                 kubeconfig trusts for {context}; check its certificate-authority-data"
            ),
            Failure::Timeout(_) => {
                "the server is slow or unreachable; retry with a longer --request-timeout".into()
            }
            Failure::Dropped(_) => {
                "the server or a proxy closed the connection; re-run, and if it persists check \
                 kubectl get --raw='/readyz?verbose'"
                    .into()
            }
            Failure::Credentials(_) => credentials_hint(context),
            Failure::Status(s) if s.code == 401 => {
                format!("the server rejected the credentials of {context}: log in again")
            }
            Failure::Status(s) if s.code == 429 => {
                "the API server is throttling requests; wait a little and re-run".into()
            }
            Failure::Status(s) if s.code == 409 && !s.conflicts.is_empty() => {
                let mut owners: Vec<String> =
                    s.conflicts.iter().map(|c| format!("{} owns {}", c.manager, c.field)).collect();
                owners.dedup();
                format!(
                    "another field manager took these fields after they were read ({}): change \
                     them through it, or re-run with --force to take them over",
                    owners.join(", ")
                )
            }
            Failure::Status(s) if s.code == 409 => "the object changed after it was read, so \
                 nothing was overwritten; re-run to work on the fresh version"
                .into(),
            Failure::Status(s) if s.code >= 500 => {
                "the API server failed; check kubectl get --raw='/readyz?verbose'".into()
            }
            _ => return err,
        };
        err.with_hint(hint)
    }
}

fn not_installed(kind: &'static Kind) -> ClusterError {
    let what = if kinds::ISTIO_GROUPS.contains(&kind.group) {
        "is Istio installed?"
    } else if kind.group == kinds::GATEWAY_API_GROUP {
        "are the Gateway API CRDs installed?"
    } else {
        "is the API group installed?"
    };
    let versions = kind.versions.join(", ");
    ClusterError::new(
        format!("use {} {}", kind.kind, kind.group),
        Failure::Status(ApiStatus {
            code: 404,
            reason: "NotFound".into(),
            message: format!("the server does not serve {} at {versions}", kind.resource_name()),
            ..Default::default()
        }),
    )
    .with_exit_status(crate::error::ExitStatus::Cluster)
    .with_hint(format!(
        "{what} check with: kubectl get crd {} (or kubectl api-resources --api-group={})",
        kind.resource_name(),
        kind.group
    ))
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_api_layout() {
        let vs = Resource { kind: &kinds::VIRTUAL_SERVICE, version: "v1" };
        assert_eq!(
            vs.object_path(Some("shop"), "cart"),
            "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/cart"
        );
        assert_eq!(vs.collection_path(None), "/apis/networking.istio.io/v1/virtualservices");
        let ns = Resource { kind: &kinds::NAMESPACE, version: "v1" };
        assert_eq!(ns.object_path(Some("ignored"), "shop"), "/api/v1/namespaces/shop");
        assert_eq!(encode("a=b,c"), "a%3Db%2Cc");
    }

    #[test]
    fn actions_name_the_can_i_check() {
        let a = Action {
            verb: "list",
            kind: &kinds::VIRTUAL_SERVICE,
            namespace: Some("shop"),
            name: None,
        };
        assert_eq!(a.describe(), "list VirtualService in namespace shop");
        assert_eq!(
            a.can_i(),
            "kubectl auth can-i list virtualservices.networking.istio.io -n shop"
        );
        let b = Action {
            verb: "patch",
            kind: &kinds::NAMESPACE,
            namespace: Some("x"),
            name: Some("shop"),
        };
        assert_eq!(b.describe(), "patch Namespace shop");
        assert_eq!(b.can_i(), "kubectl auth can-i patch namespaces");
    }
}
