//! Istio injector webhooks (MutatingWebhookConfiguration), read for the
//! revisions and revision tags a cluster serves.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::core::LABEL_ISTIO_REV;
use super::meta::ObjectMeta;

/// Label on a revision tag's webhook naming the tag.
pub const LABEL_ISTIO_TAG: &str = "istio.io/tag";

/// A MutatingWebhookConfiguration; only metadata is read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct MutatingWebhookConfiguration {
    /// Metadata; Istio injectors carry `istio.io/rev` (and `istio.io/tag`).
    #[serde(default)]
    pub metadata: ObjectMeta,
}

impl MutatingWebhookConfiguration {
    /// Whether this is an Istio sidecar injector.
    pub fn is_istio_injector(&self) -> bool {
        self.metadata.labels.contains_key(LABEL_ISTIO_REV)
            || self.metadata.labels.contains_key(LABEL_ISTIO_TAG)
    }

    /// The revision the webhook injects.
    pub fn revision(&self) -> Option<&str> {
        self.metadata.label(LABEL_ISTIO_REV)
    }

    /// The tag the webhook serves, if it is a revision tag.
    pub fn tag(&self) -> Option<&str> {
        self.metadata.label(LABEL_ISTIO_TAG)
    }
}

/// The revisions and tags the injector webhooks serve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Revisions {
    /// Revision names (`default` for the unrevisioned control plane).
    pub revisions: BTreeSet<String>,
    /// Tag name to the revision it points at.
    pub tags: BTreeMap<String, String>,
}

impl Revisions {
    /// Collects revisions and tags from injector webhooks.
    pub fn from_webhooks<'a, I>(webhooks: I) -> Self
    where
        I: IntoIterator<Item = &'a MutatingWebhookConfiguration>,
    {
        let mut out = Revisions::default();
        for w in webhooks {
            match (w.tag(), w.revision()) {
                (Some(tag), Some(rev)) => {
                    out.tags.insert(tag.to_string(), rev.to_string());
                }
                (None, Some(rev)) => {
                    out.revisions.insert(rev.to_string());
                }
                _ => {}
            }
        }
        out
    }

    /// Whether a revision or tag name is served.
    pub fn serves(&self, name: &str) -> bool {
        self.revisions.contains(name) || self.tags.contains_key(name)
    }
}
