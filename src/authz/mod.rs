//! Istio's authorization and mTLS semantics over a Snapshot.
