//! Building a Snapshot: objects from JSON values (manifests, API items) or
//! already typed, `List` expansion, unknown kinds counted and skipped.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::store::{Store, Stored};
use crate::mesh::authorization_policy::AuthorizationPolicy;
use crate::mesh::core::{ConfigMap, Namespace, Secret, ServiceAccount};
use crate::mesh::destination_rule::DestinationRule;
use crate::mesh::fields;
use crate::mesh::gateway::Gateway;
use crate::mesh::gateway_api::{HttpRoute, K8sGateway};
use crate::mesh::host::DEFAULT_CLUSTER_DOMAIN;
use crate::mesh::kind::{Kind, split_api_version};
use crate::mesh::mesh_config::DEFAULT_ROOT_NAMESPACE;
use crate::mesh::peer_authentication::PeerAuthentication;
use crate::mesh::pod::Pod;
use crate::mesh::request_authentication::RequestAuthentication;
use crate::mesh::resource::{Origin, Resource};
use crate::mesh::service::Service;
use crate::mesh::service_entry::ServiceEntry;
use crate::mesh::sidecar::Sidecar;
use crate::mesh::validate::ValidationError;
use crate::mesh::virtual_service::VirtualService;
use crate::mesh::webhook::MutatingWebhookConfiguration;
use crate::mesh::workload::{DaemonSet, Deployment, ReplicaSet, StatefulSet};

/// What adding a value did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// One object of this kind was stored.
    Object(Kind),
    /// A `List` was expanded; `added` objects were stored.
    Items {
        /// Items stored.
        added: usize,
        /// Items that could not be read.
        errors: Vec<AddError>,
    },
    /// The kind is modelled, but this object is not one the Snapshot keeps
    /// (a ConfigMap other than Istio's mesh config, a non-Istio webhook).
    Ignored(Kind),
    /// The kind (or its version) is not modelled; counted and skipped.
    Skipped,
}

/// An object that could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// The document is not a mapping with string `apiVersion` and `kind`.
    #[error("{origin}: document has no apiVersion and kind")]
    MissingTypeMeta {
        /// Where the document is.
        origin: Origin,
    },
    /// The object has no `metadata.name`.
    #[error("{origin}: {kind} has no metadata.name")]
    MissingName {
        /// Where the object is.
        origin: Origin,
        /// Its kind.
        kind: String,
    },
    /// The object does not have the shape of its kind.
    #[error("{origin}: invalid {kind} {name}: {message}")]
    Invalid {
        /// Where the object is.
        origin: Origin,
        /// Its kind.
        kind: String,
        /// `namespace/name`.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// An object that replaced an earlier one with the same kind, namespace and
/// name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The kind.
    pub kind: Kind,
    /// `namespace/name`.
    pub name: String,
    /// Origin of the object that was replaced.
    pub old: Origin,
    /// Origin of the object that replaced it.
    pub new: Origin,
}

/// An object with field values Istio would refuse, and what is wrong with each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The kind.
    pub kind: Kind,
    /// The namespace; empty for cluster-scoped kinds.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// Where the object came from.
    pub origin: Origin,
    /// One error per field, each naming the field path, the value and what is allowed.
    pub problems: Vec<ValidationError>,
}

/// Collects objects, then [`SnapshotBuilder::finish`]es into a Snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    pub(crate) store: Store,
    pub(crate) loaded: BTreeSet<Kind>,
    pub(crate) skipped: BTreeMap<String, usize>,
    pub(crate) replaced: Vec<Replaced>,
    pub(crate) invalid: BTreeMap<(Kind, String, String), Invalid>,
    pub(crate) default_namespace: String,
    pub(crate) cluster_domain: String,
    pub(crate) control_plane_namespace: String,
}

impl Default for SnapshotBuilder {
    fn default() -> Self {
        Self {
            store: Store::default(),
            loaded: BTreeSet::new(),
            skipped: BTreeMap::new(),
            replaced: Vec::new(),
            invalid: BTreeMap::new(),
            default_namespace: "default".to_string(),
            cluster_domain: DEFAULT_CLUSTER_DOMAIN.to_string(),
            control_plane_namespace: DEFAULT_ROOT_NAMESPACE.to_string(),
        }
    }
}

impl SnapshotBuilder {
    /// An empty builder: default namespace `default`, cluster domain
    /// `cluster.local`, control plane namespace `istio-system`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The namespace given to namespaced objects that name none (files).
    pub fn default_namespace(mut self, namespace: &str) -> Self {
        self.default_namespace = namespace.to_string();
        self
    }

    /// The cluster DNS domain used to resolve short host names.
    pub fn cluster_domain(mut self, domain: &str) -> Self {
        self.cluster_domain = domain.to_string();
        self
    }

    /// The namespace whose `istio` ConfigMap holds the mesh config.
    pub fn control_plane_namespace(mut self, namespace: &str) -> Self {
        self.control_plane_namespace = namespace.to_string();
        self
    }

    /// Records that a kind was read, even if no object of it exists, so
    /// analyzers that need it run.
    pub fn mark_loaded(&mut self, kind: Kind) {
        self.loaded.insert(kind);
    }

    /// Whether an object of the kind was added or the kind was marked read.
    pub fn has_kind(&self, kind: Kind) -> bool {
        self.loaded.contains(&kind)
    }

    /// Adds a typed object (a list item read from the API server, or an
    /// object built in code). An object with the same kind, namespace and
    /// name replaces the earlier one.
    pub fn add<R: Stored>(&mut self, obj: R, origin: Origin) -> Added {
        self.add_checked(obj, Vec::new(), origin)
    }

    /// Adds a typed object with the problems found in its fields (see
    /// [`crate::mesh::fields`]); they replace those of an earlier object with the same kind,
    /// namespace and name.
    pub fn add_checked<R: Stored>(
        &mut self,
        mut obj: R,
        problems: Vec<ValidationError>,
        origin: Origin,
    ) -> Added {
        self.loaded.insert(R::KIND);
        let meta = obj.metadata_mut();
        if R::KIND.is_namespaced() {
            if meta.namespace.is_empty() {
                meta.namespace.clone_from(&self.default_namespace);
            }
        } else {
            meta.namespace.clear();
        }
        if !is_kept(R::KIND, &obj) {
            return Added::Ignored(R::KIND);
        }
        let name = obj.metadata().key();
        let key = (R::KIND, obj.metadata().namespace.clone(), obj.metadata().name.clone());
        let new = origin.clone();
        if let Some(old) = R::table_mut(&mut self.store).upsert(obj, origin) {
            self.replaced.push(Replaced { kind: R::KIND, name, old, new: new.clone() });
        }
        self.invalid.remove(&key);
        if !problems.is_empty() {
            let (kind, namespace, name) = key.clone();
            self.invalid.insert(key, Invalid { kind, namespace, name, origin: new, problems });
        }
        Added::Object(R::KIND)
    }

    /// Adds an object given as JSON (a manifest document or an API item),
    /// dispatching on `apiVersion` and `kind`. `List` kinds are expanded.
    pub fn add_value(&mut self, value: Value, origin: Origin) -> Result<Added, AddError> {
        let (api_version, kind) = match (value.get("apiVersion"), value.get("kind")) {
            (Some(Value::String(a)), Some(Value::String(k))) => (a.clone(), k.clone()),
            _ => return Err(AddError::MissingTypeMeta { origin }),
        };
        if kind.ends_with("List")
            && let Some(Value::Array(_)) = value.get("items")
        {
            return Ok(self.add_list(value, &origin));
        }
        let (group, version) = split_api_version(&api_version);
        let Some(known) = Kind::from_group_kind(group, &kind) else {
            *self.skipped.entry(format!("{api_version} {kind}")).or_default() += 1;
            return Ok(Added::Skipped);
        };
        if !known.versions().contains(&version) {
            *self.skipped.entry(format!("{api_version} {kind}")).or_default() += 1;
            return Ok(Added::Skipped);
        }
        self.add_item(known, value, origin)
    }

    /// Adds an object of a known kind given as JSON, such as an item of an
    /// API list page (list items carry no `apiVersion` and `kind`, and
    /// metadata-only lists call them `PartialObjectMetadata`).
    pub fn add_item(
        &mut self,
        known: Kind,
        value: Value,
        origin: Origin,
    ) -> Result<Added, AddError> {
        let kind = known.kind_name().to_string();
        let name = value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            return Err(AddError::MissingName { origin, kind });
        }
        let label = match value.pointer("/metadata/namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
            _ => name.to_string(),
        };
        let invalid = |e: serde_json::Error| AddError::Invalid {
            origin: origin.clone(),
            kind: kind.clone(),
            name: label.clone(),
            message: e.to_string(),
        };
        Ok(match known {
            Kind::Namespace => self.add(typed::<Namespace>(value).map_err(invalid)?, origin),
            Kind::Service => self.add(typed::<Service>(value).map_err(invalid)?, origin),
            Kind::Pod => self.add(typed::<Pod>(value).map_err(invalid)?, origin),
            Kind::ServiceAccount => {
                self.add(typed::<ServiceAccount>(value).map_err(invalid)?, origin)
            }
            Kind::Secret => self.add(typed::<Secret>(value).map_err(invalid)?, origin),
            Kind::ConfigMap => self.add(typed::<ConfigMap>(value).map_err(invalid)?, origin),
            Kind::Deployment => self.add(typed::<Deployment>(value).map_err(invalid)?, origin),
            Kind::StatefulSet => self.add(typed::<StatefulSet>(value).map_err(invalid)?, origin),
            Kind::DaemonSet => self.add(typed::<DaemonSet>(value).map_err(invalid)?, origin),
            Kind::ReplicaSet => self.add(typed::<ReplicaSet>(value).map_err(invalid)?, origin),
            Kind::MutatingWebhookConfiguration => {
                self.add(typed::<MutatingWebhookConfiguration>(value).map_err(invalid)?, origin)
            }
            Kind::Gateway => self.add_pair(decoded::<Gateway>(value, invalid)?, origin),
            Kind::VirtualService => {
                self.add_pair(decoded::<VirtualService>(value, invalid)?, origin)
            }
            Kind::DestinationRule => {
                self.add_pair(decoded::<DestinationRule>(value, invalid)?, origin)
            }
            Kind::ServiceEntry => self.add_pair(decoded::<ServiceEntry>(value, invalid)?, origin),
            Kind::Sidecar => self.add_pair(decoded::<Sidecar>(value, invalid)?, origin),
            Kind::PeerAuthentication => {
                self.add_pair(decoded::<PeerAuthentication>(value, invalid)?, origin)
            }
            Kind::AuthorizationPolicy => {
                self.add_pair(decoded::<AuthorizationPolicy>(value, invalid)?, origin)
            }
            Kind::RequestAuthentication => {
                self.add_pair(decoded::<RequestAuthentication>(value, invalid)?, origin)
            }
            Kind::K8sGateway => self.add(typed::<K8sGateway>(value).map_err(invalid)?, origin),
            Kind::HttpRoute => self.add(typed::<HttpRoute>(value).map_err(invalid)?, origin),
        })
    }

    fn add_pair<R: Stored>(
        &mut self,
        (obj, problems): (R, Vec<ValidationError>),
        origin: Origin,
    ) -> Added {
        self.add_checked(obj, problems, origin)
    }

    fn add_list(&mut self, value: Value, origin: &Origin) -> Added {
        let Value::Object(mut map) = value else { return Added::Skipped };
        let Some(Value::Array(items)) = map.remove("items") else { return Added::Skipped };
        let (mut added, mut errors) = (0, Vec::new());
        for (i, item) in items.into_iter().enumerate() {
            let item_origin = match origin {
                Origin::File { path, line, .. } => {
                    Origin::File { path: path.clone(), line: *line, item: u32::try_from(i).ok() }
                }
                other => other.clone(),
            };
            match self.add_value(item, item_origin) {
                Ok(Added::Object(_)) => added += 1,
                Ok(Added::Items { added: n, errors: e }) => {
                    added += n;
                    errors.extend(e);
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        Added::Items { added, errors }
    }

    /// Kinds skipped as unknown, as `apiVersion kind`, with counts.
    pub fn skipped(&self) -> &BTreeMap<String, usize> {
        &self.skipped
    }

    /// Objects with field values Istio would refuse.
    pub fn invalid(&self) -> impl Iterator<Item = &Invalid> {
        self.invalid.values()
    }

    /// Objects that replaced earlier ones.
    pub fn replaced(&self) -> &[Replaced] {
        &self.replaced
    }

    /// The tables built so far.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// An Istio object read with its field checks: a bad value is one of its problems, never a
/// reason to drop the object.
fn decoded<R: Stored>(
    value: Value,
    invalid: impl FnOnce(serde_json::Error) -> AddError,
) -> Result<(R, Vec<ValidationError>), AddError> {
    fields::decode::<R>(value).map_err(invalid)
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}

/// Whether the Snapshot keeps this object of a kept kind.
fn is_kept<R: Resource>(kind: Kind, obj: &R) -> bool {
    let any: &dyn std::any::Any = obj;
    match kind {
        Kind::ConfigMap => any.downcast_ref::<ConfigMap>().is_some_and(ConfigMap::is_mesh_config),
        Kind::MutatingWebhookConfiguration => any
            .downcast_ref::<MutatingWebhookConfiguration>()
            .is_some_and(MutatingWebhookConfiguration::is_istio_injector),
        _ => true,
    }
}
