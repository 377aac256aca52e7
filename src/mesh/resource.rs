//! What every stored object shares: its kind, metadata access, and where it
//! came from.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::kind::Kind;
use super::meta::ObjectMeta;

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Origin {
    /// A manifest file (or `-` for stdin), at the line where the document
    /// starts; `item` is the index inside a `kind: List`.
    File {
        /// The path as given.
        #[serde(serialize_with = "serialize_arc_str")]
        path: Arc<str>,
        /// 1-based line of the document (or list item) start.
        line: u32,
        /// Index inside a `List`, if the object was a list item.
        item: Option<u32>,
    },
    /// Read from the cluster.
    Cluster,
    /// Added by the offline defaults because the input lacked it.
    Default,
}

fn serialize_arc_str<S: serde::Serializer>(v: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

impl Origin {
    /// A file origin.
    pub fn file(path: &str, line: u32) -> Origin {
        Origin::File { path: Arc::from(path), line, item: None }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, .. } => write!(f, "{path}:{line}"),
            Origin::Cluster => f.write_str("cluster"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A stored object with its origin. Dereferences to the object.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    /// The object.
    pub obj: T,
    /// Where it came from.
    pub origin: Origin,
}

impl<T> Deref for Entry<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.obj
    }
}

impl<T> DerefMut for Entry<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.obj
    }
}

/// A kind the Snapshot stores. Each type deserializes straight from an API
/// list item or a manifest document.
pub trait Resource: DeserializeOwned + Clone + fmt::Debug + 'static {
    /// The kind.
    const KIND: Kind;
    /// The metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// The metadata, mutably.
    fn metadata_mut(&mut self) -> &mut ObjectMeta;
}

/// Implements [`Resource`] for types whose metadata is the `metadata` field.
macro_rules! impl_resource {
    ($($ty:ty => $kind:expr),* $(,)?) => {$(
        impl $crate::mesh::resource::Resource for $ty {
            const KIND: $crate::mesh::kind::Kind = $kind;
            fn metadata(&self) -> &$crate::mesh::meta::ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut $crate::mesh::meta::ObjectMeta {
                &mut self.metadata
            }
        }
    )*};
}
pub(crate) use impl_resource;
