//! What `mtls`, `allow` and `deny` share: the Snapshot they check, the workloads a policy
//! governs, who calls them, the intended policy laid over the Snapshot, and how checks are
//! reported.

pub mod callers;
pub mod checks;
pub mod ports;
pub mod scope;
pub mod snapshot;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::mesh::{Origin, Snapshot, SnapshotBuilder, snapshot::Stored};

/// The Snapshot as it would be once `intended` is written: an object of the same kind,
/// namespace and name is replaced. A new object is given the creation time now, so it is the
/// youngest at its level, as it will be on the cluster.
pub fn lay_over<R: Stored + DeserializeOwned>(
    base: &Snapshot,
    intended: &Value,
    live: Option<&Value>,
) -> anyhow::Result<Snapshot> {
    let mut object = intended.clone();
    if let Some(created) = live.and_then(|l| l.pointer("/metadata/creationTimestamp")) {
        object["metadata"]["creationTimestamp"] = created.clone();
    }
    let mut typed: R = serde_json::from_value(object).context("read the intended object")?;
    if live.is_none() {
        typed.metadata_mut().creation_timestamp = Some(now());
    }
    let mut layer = SnapshotBuilder::new().default_namespace(base.default_namespace());
    layer.add(typed, Origin::Cluster);
    Ok(base.clone().overlay(layer))
}

/// Seconds since the epoch.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
