//! The object tables of a Snapshot: one [`Table`] per kind, each indexed by
//! namespace and name as objects are added.

use std::collections::HashMap;

use crate::mesh::authorization_policy::AuthorizationPolicy;
use crate::mesh::core::{ConfigMap, Namespace, Secret, ServiceAccount};
use crate::mesh::destination_rule::DestinationRule;
use crate::mesh::gateway::Gateway;
use crate::mesh::gateway_api::{HttpRoute, K8sGateway};
use crate::mesh::kind::Kind;
use crate::mesh::peer_authentication::PeerAuthentication;
use crate::mesh::pod::Pod;
use crate::mesh::request_authentication::RequestAuthentication;
use crate::mesh::resource::{Entry, Origin, Resource, impl_resource};
use crate::mesh::service::Service;
use crate::mesh::service_entry::ServiceEntry;
use crate::mesh::sidecar::Sidecar;
use crate::mesh::virtual_service::VirtualService;
use crate::mesh::webhook::MutatingWebhookConfiguration;
use crate::mesh::workload::{DaemonSet, Deployment, ReplicaSet, StatefulSet};

impl_resource!(
    Namespace => Kind::Namespace,
    Service => Kind::Service,
    Pod => Kind::Pod,
    ServiceAccount => Kind::ServiceAccount,
    Secret => Kind::Secret,
    ConfigMap => Kind::ConfigMap,
    Deployment => Kind::Deployment,
    StatefulSet => Kind::StatefulSet,
    DaemonSet => Kind::DaemonSet,
    ReplicaSet => Kind::ReplicaSet,
    MutatingWebhookConfiguration => Kind::MutatingWebhookConfiguration,
    Gateway => Kind::Gateway,
    VirtualService => Kind::VirtualService,
    DestinationRule => Kind::DestinationRule,
    ServiceEntry => Kind::ServiceEntry,
    Sidecar => Kind::Sidecar,
    PeerAuthentication => Kind::PeerAuthentication,
    AuthorizationPolicy => Kind::AuthorizationPolicy,
    RequestAuthentication => Kind::RequestAuthentication,
    K8sGateway => Kind::K8sGateway,
    HttpRoute => Kind::HttpRoute,
);

/// The objects of one kind, in the order they were added, with a lookup by
/// namespace and name. Cluster-scoped kinds use the empty namespace.
#[derive(Debug, Clone)]
pub struct Table<T> {
    items: Vec<Entry<T>>,
    by_ns: HashMap<String, Bucket>,
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    by_name: HashMap<String, u32>,
    ids: Vec<u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self { items: Vec::new(), by_ns: HashMap::new() }
    }
}

impl<T: Resource> Table<T> {
    /// Adds an object, or replaces the one with the same namespace and name
    /// (returning the replaced object's origin), as `kubectl apply` would.
    pub(crate) fn upsert(&mut self, obj: T, origin: Origin) -> Option<Origin> {
        let meta = obj.metadata();
        let bucket = self.by_ns.entry(meta.namespace.clone()).or_default();
        if let Some(&id) = bucket.by_name.get(&meta.name) {
            let old = std::mem::replace(&mut self.items[id as usize], Entry { obj, origin });
            return Some(old.origin);
        }
        let id = u32::try_from(self.items.len()).expect("fewer than 2^32 objects of one kind");
        bucket.by_name.insert(meta.name.clone(), id);
        bucket.ids.push(id);
        self.items.push(Entry { obj, origin });
        None
    }

    /// The object with this namespace and name.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&Entry<T>> {
        self.id(namespace, name).map(|id| &self.items[id as usize])
    }

    /// The index of the object with this namespace and name.
    pub fn id(&self, namespace: &str, name: &str) -> Option<u32> {
        self.by_ns.get(namespace)?.by_name.get(name).copied()
    }

    /// Mutable access for the Snapshot's own resolution step.
    pub(crate) fn items_mut(&mut self) -> &mut [Entry<T>] {
        &mut self.items
    }
}

impl<T> Table<T> {
    /// All objects.
    pub fn all(&self) -> &[Entry<T>] {
        &self.items
    }

    /// The object at an index.
    pub fn at(&self, id: u32) -> &Entry<T> {
        &self.items[id as usize]
    }

    /// Indexes of the objects in a namespace, in the order they were added.
    pub fn ids_in(&self, namespace: &str) -> &[u32] {
        self.by_ns.get(namespace).map_or(&[], |b| b.ids.as_slice())
    }

    /// The objects in a namespace.
    pub fn in_namespace<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Entry<T>> + 'a {
        self.ids_in(namespace).iter().map(|&id| &self.items[id as usize])
    }

    /// Namespaces that hold at least one object of the kind.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.by_ns.keys().map(String::as_str)
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no object.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Iterates over all objects.
    pub fn iter(&self) -> std::slice::Iter<'_, Entry<T>> {
        self.items.iter()
    }
}

impl<'a, T> IntoIterator for &'a Table<T> {
    type Item = &'a Entry<T>;
    type IntoIter = std::slice::Iter<'a, Entry<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Declares the [`Store`] struct and the [`Stored`] accessors per kind.
macro_rules! store {
    ($($field:ident: $ty:ty),* $(,)?) => {
        /// One table per kind.
        #[derive(Debug, Clone, Default)]
        pub struct Store {
            $(
                #[doc = concat!("`", stringify!($ty), "` objects.")]
                pub $field: Table<$ty>,
            )*
        }

        $(
            impl Stored for $ty {
                fn table(store: &Store) -> &Table<Self> {
                    &store.$field
                }
                fn table_mut(store: &mut Store) -> &mut Table<Self> {
                    &mut store.$field
                }
            }
        )*

        impl Store {
            /// Number of objects of a kind.
            pub fn count(&self, kind: Kind) -> usize {
                $(
                    if kind == <$ty as Resource>::KIND {
                        return self.$field.len();
                    }
                )*
                0
            }
        }
    };
}

/// A kind with a table in the [`Store`].
pub trait Stored: Resource {
    /// The table of the kind.
    fn table(store: &Store) -> &Table<Self>;
    /// The table of the kind, mutably.
    fn table_mut(store: &mut Store) -> &mut Table<Self>;
}

store!(
    namespaces: Namespace,
    services: Service,
    pods: Pod,
    service_accounts: ServiceAccount,
    secrets: Secret,
    config_maps: ConfigMap,
    deployments: Deployment,
    stateful_sets: StatefulSet,
    daemon_sets: DaemonSet,
    replica_sets: ReplicaSet,
    webhooks: MutatingWebhookConfiguration,
    gateways: Gateway,
    virtual_services: VirtualService,
    destination_rules: DestinationRule,
    service_entries: ServiceEntry,
    sidecars: Sidecar,
    peer_authentications: PeerAuthentication,
    authorization_policies: AuthorizationPolicy,
    request_authentications: RequestAuthentication,
    k8s_gateways: K8sGateway,
    http_routes: HttpRoute,
);
