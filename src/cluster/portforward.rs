//! Port-forwarding to a pod through the API server: the pod's `portforward` subresource over
//! a WebSocket (`v4.channel.k8s.io`), the protocol kube-rs speaks, one WebSocket per forwarded
//! connection.
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
            let forbidden = matches!(&failure, Failure::Status(s) if s.code == 403);
            let err = ClusterError::new(action.clone(), failure);
            if forbidden {
                err.with_hint(format!(
                    "port-forwarding needs get and create on pods/portforward; check with: \
                     kubectl auth can-i create pods --subresource=portforward -n {namespace}"
                ))
            } else {
                self.explain(err)
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
