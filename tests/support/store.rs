//! The object store, the request log and the server-wide state behind one lock.
//!
//! Objects are kept as compact JSON text and decoded when read: a `serde_json::Value` weighs
//! about fifteen times its JSON (every non-empty map is a B-tree node of eleven slots), which
//! would keep the benchmark's generated meshes of hundreds of thousands of objects out of
//! memory. Lists of metadata decode only `metadata`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;

use serde_json::{Value, json};

use super::catalog::{Catalog, Kind};
use super::faults::{Expiry, Fault};
use super::fieldset::{FieldSet, Scope};
use super::managed::{self, Entry};
use super::util::{new_uid, now_rfc3339};

/// One request as the server saw it, and what it answered.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// Query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: String,
    pub user_agent: String,
    pub body: String,
    /// Status sent back; 0 when the connection was dropped.
    pub status: u16,
    /// Not GET, HEAD or OPTIONS.
    pub write: bool,
    /// Got past faults, authentication, authorization and routing to a resource handler.
    pub reached_handler: bool,
    /// Carried `dryRun=All`.
    pub dry_run: bool,
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// Answered (or dropped, or delayed) by an injected fault.
    pub fault: bool,
}

impl LoggedRequest {
    /// The first value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// One stored object: its JSON, compact.
#[derive(Debug, Clone)]
pub struct Packed(Box<str>);

impl Packed {
    pub fn new(obj: &Value) -> Packed {
        Packed(serde_json::to_string(obj).expect("a JSON value serializes").into_boxed_str())
    }

    /// The whole object.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).expect("stored objects are valid JSON")
    }

    /// `{"metadata": ...}` alone, skipping the rest unread.
    pub fn metadata(&self) -> Value {
        #[derive(serde::Deserialize)]
        struct Meta {
            #[serde(default)]
            metadata: Value,
        }
        let meta: Meta = serde_json::from_str(&self.0).expect("stored objects are valid JSON");
        let mut out = json!({});
        out["metadata"] = meta.metadata;
        out
    }
}

type Bucket = BTreeMap<(String, String), Packed>;

/// How many changes the store remembers for watches starting in the past.
const HISTORY: usize = 4096;

/// One change, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    pub group: &'static str,
    pub plural: &'static str,
    pub object: Value,
}

/// One change as the history keeps it.
struct Change {
    rv: u64,
    kind: &'static str,
    group: &'static str,
    plural: &'static str,
    object: Packed,
}

/// Objects by kind, then by (namespace, name), which gives lists their stable order.
#[derive(Default)]
pub struct Store {
    objects: HashMap<(&'static str, &'static str), Bucket>,
    rv: u64,
    history: VecDeque<Change>,
    /// The resourceVersion of the newest change no longer in `history`.
    forgotten: u64,
}

impl Store {
    fn bucket(&self, kind: &Kind) -> Option<&Bucket> {
        self.objects.get(&(kind.group, kind.plural))
    }

    pub fn get(&self, kind: &Kind, namespace: &str, name: &str) -> Option<Value> {
        self.bucket(kind)?.get(&(namespace.to_string(), name.to_string())).map(Packed::value)
    }

    /// How many objects of a kind are stored.
    pub fn len(&self, kind: &Kind) -> usize {
        self.bucket(kind).map_or(0, BTreeMap::len)
    }

    pub fn contains(&self, kind: &Kind, namespace: &str, name: &str) -> bool {
        self.bucket(kind)
            .is_some_and(|b| b.contains_key(&(namespace.to_string(), name.to_string())))
    }

    /// Objects in one namespace (or all, with `None`), after `after` when given.
    pub fn list<'a>(
        &'a self,
        kind: &Kind,
        namespace: Option<&'a str>,
        after: Option<(String, String)>,
    ) -> impl Iterator<Item = Value> + 'a {
        self.list_packed(kind, namespace, after).map(Packed::value)
    }

    /// Like [`Store::list`], undecoded.
    pub fn list_packed<'a>(
        &'a self,
        kind: &Kind,
        namespace: Option<&'a str>,
        after: Option<(String, String)>,
    ) -> impl Iterator<Item = &'a Packed> + 'a {
        let start = match after {
            Some(key) => Bound::Excluded(key),
            None => match namespace {
                Some(ns) => Bound::Included((ns.to_string(), String::new())),
                None => Bound::Unbounded,
            },
        };
        self.bucket(kind)
            .into_iter()
            .flat_map(move |b| b.range((start.clone(), Bound::Unbounded)))
            .take_while(move |((ns, _), _)| namespace.is_none_or(|want| want == ns))
            .map(|(_, v)| v)
    }

    /// Takes the next resourceVersion from the global counter.
    pub fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn put(&mut self, kind: &Kind, obj: Value) {
        let key = (meta_str(&obj, "namespace").to_string(), meta_str(&obj, "name").to_string());
        let rv = meta_str(&obj, "resourceVersion").parse().unwrap_or(self.rv);
        let bucket = self.objects.entry((kind.group, kind.plural)).or_default();
        let change = if bucket.contains_key(&key) { "MODIFIED" } else { "ADDED" };
        let packed = Packed::new(&obj);
        bucket.insert(key, packed.clone());
        self.record(rv, change, kind.group, kind.plural, packed);
    }

    /// Removes an object; the deletion takes a resourceVersion of its own, as in etcd.
    pub fn remove(&mut self, kind: &Kind, namespace: &str, name: &str) -> Option<Value> {
        let key = (namespace.to_string(), name.to_string());
        let gone = self.objects.get_mut(&(kind.group, kind.plural))?.remove(&key)?.value();
        let rv = self.next_rv();
        let mut last = gone.clone();
        last["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        self.record(rv, "DELETED", kind.group, kind.plural, Packed::new(&last));
        Some(gone)
    }

    /// Drops every namespaced object in `namespace` (what namespace deletion ends in).
    pub fn remove_namespace_contents(&mut self, namespace: &str) {
        let mut gone = Vec::new();
        for ((group, plural), bucket) in self.objects.iter_mut() {
            let keys: Vec<_> = bucket.keys().filter(|(ns, _)| ns == namespace).cloned().collect();
            for key in keys {
                if let Some(obj) = bucket.remove(&key) {
                    gone.push((*group, *plural, obj.value()));
                }
            }
        }
        for (group, plural, mut obj) in gone {
            let rv = self.next_rv();
            obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
            self.record(rv, "DELETED", group, plural, Packed::new(&obj));
        }
    }

    fn record(
        &mut self,
        rv: u64,
        kind: &'static str,
        group: &'static str,
        plural: &'static str,
        object: Packed,
    ) {
        if self.history.len() == HISTORY
            && let Some(old) = self.history.pop_front()
        {
            self.forgotten = old.rv;
        }
        self.history.push_back(Change { rv, kind, group, plural, object });
    }

    /// Changes after `rv`, oldest first; `None` when some of them are forgotten.
    pub fn events_after(&self, rv: u64) -> Option<Vec<Event>> {
        if rv < self.forgotten {
            return None;
        }
        let events = self.history.iter().filter(|c| c.rv > rv).map(|c| Event {
            rv: c.rv,
            kind: c.kind,
            group: c.group,
            plural: c.plural,
            object: c.object.value(),
        });
        Some(events.collect())
    }

    pub fn namespace_exists(&self, namespace: &str) -> bool {
        self.objects
            .get(&("", "namespaces"))
            .is_some_and(|b| b.contains_key(&(String::new(), namespace.to_string())))
    }
}

/// A string field of `metadata`, or "".
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata").and_then(|m| m.get(field)).and_then(Value::as_str).unwrap_or("")
}

/// Everything that changes while the server runs.
#[derive(Default)]
pub struct State {
    pub store: Store,
    pub log: Vec<LoggedRequest>,
    pub faults: Vec<(Fault, u32)>,
    pub expiry: Option<Expiry>,
    /// The most items one page holds, whatever `limit` asks (servers may return fewer).
    pub page_cap: Option<usize>,
    /// Where port-forwards to (namespace, pod, port) connect: a 127.0.0.1 address a test serves.
    pub forwards: BTreeMap<(String, String, u16), std::net::SocketAddr>,
}

impl State {
    /// Stores a seed object as a cluster would hold it, creating its namespace if missing.
    ///
    /// # Panics
    ///
    /// On objects the server cannot place: seeds are test input, and a bad one is a bug in
    /// the test.
    pub fn seed(&mut self, catalog: &Catalog, obj: Value) {
        self.seed_owned(catalog, obj, None);
    }

    /// Like [`State::seed`]; with an owner, `managedFields` gets one entry giving that
    /// manager every field, as if it had written the object with that operation.
    pub fn seed_owned(&mut self, catalog: &Catalog, mut obj: Value, owner: Option<(&str, &str)>) {
        let api_version =
            obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
        let api_version = api_version.as_str();
        let kind_name = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind_name == "List" {
            let items = obj.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            for item in items {
                self.seed_owned(catalog, item, owner);
            }
            return;
        }
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        let kind = catalog
            .by_kind(group, kind_name)
            .unwrap_or_else(|| panic!("seed: unknown kind {kind_name} in {api_version:?}"));
        let name = meta_str(&obj, "name").to_string();
        assert!(!name.is_empty(), "seed: {kind_name} without metadata.name");
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let meta = &mut obj["metadata"];
        let namespace = if kind.namespaced {
            let ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("default").to_string();
            meta["namespace"] = json!(ns);
            ns
        } else {
            if let Some(m) = meta.as_object_mut() {
                m.remove("namespace");
            }
            String::new()
        };
        if kind.namespaced && !self.store.namespace_exists(&namespace) {
            self.seed(
                catalog,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            );
        }
        let rv = self.store.next_rv();
        let meta = &mut obj["metadata"];
        meta["resourceVersion"] = json!(rv.to_string());
        if meta.get("uid").is_none() {
            meta["uid"] = json!(new_uid());
        }
        if meta.get("creationTimestamp").is_none_or(Value::is_null) {
            meta["creationTimestamp"] = json!(now_rfc3339());
        }
        if kind.generation && meta.get("generation").is_none() {
            meta["generation"] = json!(1);
        }
        obj["apiVersion"] = json!(kind.api_version(catalog.storage_version(kind)));
        if kind.plural == "namespaces" {
            namespace_defaults(&mut obj, &name);
        }
        if let Some((manager, operation)) = owner {
            let entry = Entry {
                manager: manager.to_string(),
                operation: operation.to_string(),
                api_version: api_version.to_string(),
                time: Some(meta_str(&obj, "creationTimestamp").to_string()),
                subresource: String::new(),
                set: FieldSet::from_object(&obj, kind, Scope::Main),
            };
            managed::encode(&mut obj, vec![entry]);
        }
        self.store.put(kind, obj);
    }
}

/// What the apiserver adds to every namespace: the name label, finalizer and phase.
pub fn namespace_defaults(obj: &mut Value, name: &str) {
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
    if obj.pointer("/spec/finalizers").is_none() {
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    if obj.pointer("/status/phase").is_none() {
        obj["status"]["phase"] = json!("Active");
    }
}
