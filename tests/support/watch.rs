//! Watches: a stream of `{"type": ..., "object": ...}` lines fed from the store's history.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::dispatch::Shared;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::meta_str;
use super::table::{Shape, partial, table};

/// What one watch follows, worked out when the request arrives.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    pub group: &'static str,
    pub plural: &'static str,
    pub api_version: String,
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// Report changes after this resourceVersion.
    pub start: u64,
    /// Objects to report as ADDED first (a watch from "" or "0"), already presented.
    pub initial: Vec<Value>,
    pub timeout: Duration,
    pub shape: Shape,
    pub include: String,
}

/// Streams events into `tx` until the timeout, the client leaving, or the history running out.
pub async fn run(shared: Arc<Shared>, spec: WatchSpec, tx: mpsc::Sender<Bytes>) {
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let mut first = true;
    for obj in &spec.initial {
        if tx.send(line(&shared, &spec, "ADDED", obj, &mut first)).await.is_err() {
            return;
        }
    }
    let mut cursor = spec.start;
    loop {
        // Register for the wake-up before reading, so no change slips in between.
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let batch = shared.lock().store.events_after(cursor);
        let Some(events) = batch else {
            let status = json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("too old resource version: {cursor}"),
                "reason": "Expired", "code": 410,
            });
            let _ = tx
                .send(Bytes::from(format!("{}\n", json!({"type": "ERROR", "object": status}))))
                .await;
            return;
        };
        for event in events {
            cursor = event.rv;
            if event.group != spec.group
                || event.plural != spec.plural
                || !matches(&spec, &event.object)
            {
                continue;
            }
            let mut obj = event.object;
            obj["apiVersion"] = json!(spec.api_version);
            obj["kind"] = json!(spec.kind);
            if tx.send(line(&shared, &spec, event.kind, &obj, &mut first)).await.is_err() {
                return;
            }
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tx.closed() => return,
        }
    }
}

fn matches(spec: &WatchSpec, obj: &Value) -> bool {
    spec.namespace.as_deref().is_none_or(|ns| meta_str(obj, "namespace") == ns)
        && spec.labels.matches(obj.pointer("/metadata/labels").and_then(Value::as_object))
        && spec.fields.matches(obj)
}

/// One event line; tables carry their column definitions in the first event only.
fn line(shared: &Shared, spec: &WatchSpec, kind: &str, obj: &Value, first: &mut bool) -> Bytes {
    let object = match spec.shape {
        Shape::Object => obj.clone(),
        Shape::Metadata => partial(obj),
        Shape::Table => match shared.catalog.by_plural(spec.group, spec.plural) {
            Some(k) => {
                let meta = json!({"resourceVersion": meta_str(obj, "resourceVersion")});
                let mut t = table(k, std::slice::from_ref(obj), meta, &spec.include);
                if !*first {
                    t["columnDefinitions"] = json!([]);
                }
                t
            }
            None => obj.clone(),
        },
    };
    *first = false;
    Bytes::from(format!("{}\n", json!({"type": kind, "object": object})))
}
