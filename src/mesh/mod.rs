//! Typed Istio, Gateway API and Kubernetes resources as analysis reads them,
//! the [`Snapshot`](snapshot::Snapshot) of a mesh, the manifest reader, and
//! the pure helpers every check rests on (selectors, hosts, protocols).
//!
//! Nothing here talks to the network: the same code answers for a live
//! cluster and for YAML files.

pub mod authorization_policy;
pub mod core;
pub mod de;
pub mod destination_rule;
pub mod dr_lookup;
pub mod expose;
pub mod fields;
pub mod gateway;
pub mod gateway_api;
pub mod host;
pub mod injection;
pub mod kind;
pub mod manifest;
pub mod mesh_config;
pub mod meta;
pub mod peer_authentication;
pub mod pod;
pub mod policy_build;
pub mod protocol;
pub mod request_authentication;
pub mod resilience;
pub mod resource;
pub mod selector;
pub mod service;
pub mod service_entry;
pub mod sidecar;
pub mod snapshot;
pub mod validate;
pub mod virtual_service;
pub mod webhook;
pub mod workload;

pub use kind::Kind;
pub use resource::{Entry, Origin, Resource};
pub use snapshot::{Snapshot, SnapshotBuilder};
