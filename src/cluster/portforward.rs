//! Port-forwarding to a pod through the API server: the pod's `portforward` subresource over
//! a WebSocket (`v4.channel.k8s.io`), the protocol kube-rs speaks, one WebSocket per forwarded
//! connection.
//!
//! The upgrade is a GET, which the apiserver authorizes as `get` on `pods/portforward`, and
//! from Kubernetes 1.35 as `create` too. kubectl, which falls back to SPDY (a POST, `create`
//! alone), works with a Role that grants only `create`; this does not.
//!
//! NB: the v4 protocol has no way to close one direction of a stream. When the local side
//! stops sending, kube-rs ends the whole forward, and the pod's reply after that is lost.

use std::{future::Future, pin::Pin};

use k8s_openapi::api::core::v1::Pod;
use tokio::io::DuplexStream;

use super::{ApiStatus, Cluster, ClusterError, Failure, rest};

/// One forwarded connection to a port of a pod.
pub struct Forward {
    /// The bytes to and from the pod's port.
    pub stream: DuplexStream,
    /// Resolves with the error the server reports for the port (the pod refused the
    /// connection, or went away), or with `None` when the forward ends without one.
    pub error: Pin<Box<dyn Future<Output = Option<String>> + Send>>,
    // Owns the task relaying the WebSocket; it ends once `stream` is closed.
    _forwarder: kube::api::Portforwarder,
}

impl Cluster {
    /// Opens a forward to `port` of pod `namespace/pod`.
    ///
    /// # Errors
    ///
    /// A [`ClusterError`] when the upgrade fails: 404 when the pod is gone, 400 when it has no
    /// node yet, 403 with the `kubectl auth can-i` check to run.
    pub async fn port_forward(
        &self,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<Forward, ClusterError> {
        let action = format!("forward port {port} of pod {namespace}/{pod}");
        tracing::debug!(namespace, pod, port, "port-forward");
        let pods: kube::Api<Pod> = kube::Api::namespaced(self.client.clone(), namespace);
        let ports = [port];
        let connect = pods.portforward(pod, &ports);
        let result = match self.timeout {
            Some(t) => tokio::time::timeout(t, connect)
                .await
                .map_err(|_| ClusterError::new(action.clone(), Failure::Timeout(t)))?,
            None => connect.await,
        };
        let mut forwarder = result.map_err(|e| {
            let failure = match e {
                kube::Error::Api(status) => Failure::Status(ApiStatus {
                    code: status.code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                    ..ApiStatus::default()
                }),
                other => rest::classify(other),
            };
            let denied = match &failure {
                Failure::Status(s) if s.code == 403 => Some(denied_verb(&s.message).to_string()),
                _ => None,
            };
            let err = ClusterError::new(action.clone(), failure);
            match denied {
                Some(verb) => err.with_hint(format!(
                    "port-forwarding needs get and create on pods/portforward; check with: \
                     kubectl auth can-i {verb} pods --subresource=portforward -n {namespace}"
                )),
                None => self.explain(err),
            }
        })?;
        let (Some(stream), Some(error)) = (forwarder.take_stream(port), forwarder.take_error(port))
        else {
            let failure = Failure::Decode("the forward did not open the port asked for".into());
            return Err(ClusterError::new(action, failure));
        };
        Ok(Forward { stream, error: Box::pin(error), _forwarder: forwarder })
    }
}

/// The verb a 403 names (`User "u" cannot get resource ...`); a WebSocket upgrade is a GET, so
/// `get` when the message does not say.
fn denied_verb(message: &str) -> &str {
    message
        .split_once(" cannot ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .filter(|verb| verb.chars().all(|c| c.is_ascii_lowercase()))
        .unwrap_or("get")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_checks_the_verb_that_was_denied() {
        let create =
            "pods \"k\" is forbidden: User \"bob\" cannot create resource \"pods/portforward\"";
        assert_eq!(denied_verb(create), "create");
        assert_eq!(denied_verb("pods \"k\" is forbidden: User \"bob\" cannot get resource"), "get");
        assert_eq!(denied_verb("forbidden"), "get");
    }
}
