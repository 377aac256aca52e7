//! Writes: server-side apply for objects we own, resourceVersion-guarded updates with a bounded
//! retry for objects we edit, merge patches, deletes with preconditions; `dryRun=All` for
//! `--dry-run=server`.

use http::Method;
use serde_json::Value;

use super::{Action, Cluster, ClusterError, Resource, encode, rest::Call};
use crate::cli::DryRun;

/// The field manager name of every write.
pub const FIELD_MANAGER: &str = "kubectl-debatemesh";

/// How many times a guarded edit re-reads and retries after a conflict.
const MAX_EDIT_ATTEMPTS: u32 = 5;

/// How a write is sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteMode {
    /// `dryRun=All`: the server checks and answers but saves nothing.
    pub server_dry_run: bool,
    /// Take over fields another manager owns (server-side apply `force=true`).
    pub force: bool,
}

impl WriteMode {
    /// From the shared write flags. `--dry-run=client` never reaches a write.
    pub fn new(dry_run: DryRun, force: bool) -> Self {
        Self { server_dry_run: dry_run == DryRun::Server, force }
    }

    fn query(&self, uri: &mut String, first: bool) {
        if self.server_dry_run {
            uri.push(if first { '?' } else { '&' });
            uri.push_str("dryRun=All");
        }
    }
}

/// Where a write goes and what it is called in messages.
struct Write<'a> {
    method: Method,
    verb: &'static str,
    path: String,
    name: Option<&'a str>,
    content_type: &'static str,
    /// More query parameters, each starting with `&`.
    query: String,
}

/// The result of a guarded edit.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The object as read last.
    pub before: Value,
    /// The object as the server returned it after the write, or `before` when unchanged.
    pub after: Value,
    /// Whether anything was written.
    pub changed: bool,
}

impl Cluster {
    /// Reads one object; `None` when it does not exist.
    pub async fn get(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ClusterError> {
        let action = Action { verb: "get", kind: resource.kind, namespace, name: Some(name) };
        match self.request(&Call::get(resource.object_path(namespace, name)), &action).await {
            Ok(body) => Ok(Some(decode(&body, &action)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Server-side apply of `object` with our field manager.
    pub async fn apply(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, ClusterError> {
        let write = Write {
            method: Method::PATCH,
            verb: "patch",
            path: resource.object_path(namespace, name),
            name: Some(name),
            content_type: "application/apply-patch+yaml",
            query: format!("&force={}", mode.force),
        };
        self.write(resource, namespace, write, object, mode).await
    }

    /// Creates `object`.
    pub async fn create(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, ClusterError> {
        let name = object.pointer("/metadata/name").and_then(Value::as_str);
        let write = Write {
            method: Method::POST,
            verb: "create",
            path: resource.collection_path(namespace),
            name,
            content_type: "application/json",
            query: String::new(),
        };
        self.write(resource, namespace, write, object, mode).await
    }

    /// Replaces the object; its `metadata.resourceVersion` guards against lost updates.
    pub async fn replace(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, ClusterError> {
        let write = Write {
            method: Method::PUT,
            verb: "update",
            path: resource.object_path(namespace, name),
            name: Some(name),
            content_type: "application/json",
            query: String::new(),
        };
        self.write(resource, namespace, write, object, mode).await
    }

    /// A JSON merge patch (RFC 7386). Include `metadata.resourceVersion` to guard it.
    pub async fn merge_patch(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
        mode: WriteMode,
    ) -> Result<Value, ClusterError> {
        let write = Write {
            method: Method::PATCH,
            verb: "patch",
            path: resource.object_path(namespace, name),
            name: Some(name),
            content_type: "application/merge-patch+json",
            query: String::new(),
        };
        self.write(resource, namespace, write, patch, mode).await
    }

    /// Sends one write with our field manager (and `dryRun=All` when asked) and decodes the
    /// object the server returns.
    async fn write(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        write: Write<'_>,
        body: &Value,
        mode: WriteMode,
    ) -> Result<Value, ClusterError> {
        let action = Action { verb: write.verb, kind: resource.kind, namespace, name: write.name };
        let mut uri =
            format!("{}?fieldManager={}{}", write.path, encode(FIELD_MANAGER), write.query);
        mode.query(&mut uri, false);
        let call = Call::with_body(write.method, uri, write.content_type, to_vec(body));
        decode(&self.request(&call, &action).await?, &action)
    }

    /// Deletes the object if it still has this uid and resourceVersion.
    pub async fn delete(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        preconditions: Option<(&str, &str)>,
        mode: WriteMode,
    ) -> Result<(), ClusterError> {
        let action = Action { verb: "delete", kind: resource.kind, namespace, name: Some(name) };
        let mut uri = resource.object_path(namespace, name);
        mode.query(&mut uri, true);
        let mut body = serde_json::json!({
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Background",
        });
        if let Some((uid, rv)) = preconditions {
            body["preconditions"] = serde_json::json!({"uid": uid, "resourceVersion": rv});
        }
        let call = Call::with_body(Method::DELETE, uri, "application/json", to_vec(&body));
        self.request(&call, &action).await.map(drop)
    }

    /// Read, edit, replace: `edit` gets the live object and returns the intended one, or `None`
    /// when nothing needs to change. A conflict (someone changed the object in between) re-reads
    /// and re-applies the edit to the fresh object, a bounded number of times, so a concurrent
    /// change is never overwritten.
    pub async fn edit<F>(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        mode: WriteMode,
        mut edit: F,
    ) -> anyhow::Result<Edited>
    where
        F: FnMut(&Value) -> anyhow::Result<Option<Value>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(before) = self.get(resource, namespace, name).await? else {
                let action =
                    Action { verb: "get", kind: resource.kind, namespace, name: Some(name) };
                return Err(ClusterError::new(
                    action.describe(),
                    super::Failure::Status(super::ApiStatus {
                        code: 404,
                        reason: "NotFound".into(),
                        message: "it was deleted while we edited it".into(),
                        ..Default::default()
                    }),
                )
                .into());
            };
            let Some(mut intended) = edit(&before)? else {
                return Ok(Edited { after: before.clone(), before, changed: false });
            };
            // The resourceVersion we read is the guard: a concurrent change makes this a 409.
            if let Some(rv) = before.pointer("/metadata/resourceVersion").cloned() {
                intended["metadata"]["resourceVersion"] = rv;
            }
            match self.replace(resource, namespace, name, &intended, mode).await {
                Ok(after) => return Ok(Edited { before, after, changed: true }),
                Err(e) if e.is_conflict() && attempt < MAX_EDIT_ATTEMPTS => {
                    tracing::debug!(name, attempt, "conflict; re-reading");
                }
                Err(e) if e.is_conflict() => {
                    return Err(e
                        .with_hint(format!(
                            "{name} kept changing while we edited it ({attempt} attempts); \
                             re-run when the other writer is done"
                        ))
                        .into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn to_vec(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a serde_json::Value always serializes")
}

fn decode(body: &[u8], action: &Action<'_>) -> Result<Value, ClusterError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| ClusterError::new(action.describe(), super::Failure::Decode(e.to_string())))
}
