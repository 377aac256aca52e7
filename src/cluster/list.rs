//! Paginated lists: one LIST per kind, `limit` and `continue` until the end, restarted when the
//! server expires the continue token (410 Gone), items decoded page by page into the caller's
//! slim types so only the fields it needs stay in memory.

use serde::{Deserialize, de::DeserializeOwned};

use super::{
    Action, Cluster, ClusterError, Failure, Resource, encode,
    rest::{ACCEPT_METADATA_LIST, Call},
};

/// How many times a list is restarted after its continue token expired.
const MAX_RESTARTS: u32 = 3;

/// Which objects to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every namespace (and cluster-scoped kinds).
    All,
    /// One namespace.
    Namespace(&'a str),
}

impl<'a> Scope<'a> {
    fn namespace(self) -> Option<&'a str> {
        match self {
            Scope::All => None,
            Scope::Namespace(ns) => Some(ns),
        }
    }
}

/// Options of one list.
#[derive(Debug, Clone)]
pub struct ListOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Ask for `PartialObjectMetadataList`: names, labels, annotations, owners; no spec.
    pub metadata_only: bool,
    /// Items per page.
    pub page_size: u32,
}

impl Default for ListOptions {
    fn default() -> Self {
        Self { label_selector: None, field_selector: None, metadata_only: false, page_size: 500 }
    }
}

impl ListOptions {
    /// Metadata-only, default page size.
    pub fn metadata() -> Self {
        Self { metadata_only: true, ..Self::default() }
    }
}

#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct Page<T> {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    items: Vec<T>,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(default, rename = "continue")]
    next: Option<String>,
}

fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl Cluster {
    /// Lists every object of `resource` in `scope`, page by page.
    pub async fn list<T: DeserializeOwned>(
        &self,
        resource: &Resource,
        scope: Scope<'_>,
        options: &ListOptions,
    ) -> Result<Vec<T>, ClusterError> {
        let action =
            Action { verb: "list", kind: resource.kind, namespace: scope.namespace(), name: None };
        let mut restarts = 0;
        'restart: loop {
            let mut items = Vec::new();
            let mut next: Option<String> = None;
            loop {
                let uri = page_uri(resource, scope, options, next.as_deref());
                let mut call = Call::get(uri);
                if options.metadata_only {
                    call.accept = ACCEPT_METADATA_LIST;
                }
                let body = match self.request(&call, &action).await {
                    Ok(body) => body,
                    Err(e) if next.is_some() && is_expired(&e) && restarts < MAX_RESTARTS => {
                        restarts += 1;
                        tracing::debug!(kind = resource.kind.kind, "continue token expired");
                        continue 'restart;
                    }
                    Err(e) => return Err(e),
                };
                let page: Page<T> = serde_json::from_slice(&body).map_err(|e| {
                    ClusterError::new(action.describe(), Failure::Decode(e.to_string()))
                })?;
                items.extend(page.items);
                match page.metadata.next.filter(|c| !c.is_empty()) {
                    Some(token) => next = Some(token),
                    None => return Ok(items),
                }
            }
        }
    }
}

fn is_expired(e: &ClusterError) -> bool {
    e.code() == Some(410)
}

fn page_uri(
    resource: &Resource,
    scope: Scope<'_>,
    options: &ListOptions,
    next: Option<&str>,
) -> String {
    let mut uri = resource.collection_path(scope.namespace());
    uri.push_str(&format!("?limit={}", options.page_size.max(1)));
    if let Some(s) = &options.label_selector {
        uri.push_str(&format!("&labelSelector={}", encode(s)));
    }
    if let Some(s) = &options.field_selector {
        uri.push_str(&format!("&fieldSelector={}", encode(s)));
    }
    if let Some(token) = next {
        uri.push_str(&format!("&continue={}", encode(token)));
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kinds;

    #[test]
    fn page_urls_carry_limit_selectors_and_continue() {
        let pods = Resource { kind: &kinds::POD, version: "v1" };
        let options = ListOptions {
            label_selector: Some("app=cart".into()),
            page_size: 2,
            ..ListOptions::metadata()
        };
        assert_eq!(
            page_uri(&pods, Scope::Namespace("shop"), &options, Some("tok=")),
            "/api/v1/namespaces/shop/pods?limit=2&labelSelector=app%3Dcart&continue=tok%3D"
        );
        assert_eq!(
            page_uri(&pods, Scope::All, &ListOptions::default(), None),
            "/api/v1/pods?limit=500"
        );
    }

    #[test]
    fn null_items_read_as_empty() {
        let page: Page<serde_json::Value> =
            serde_json::from_slice(br#"{"metadata":{"continue":""},"items":null}"#).unwrap();
        assert!(page.items.is_empty());
    }
}
