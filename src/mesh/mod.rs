//! Istio and Gateway API resources, their rules, and the pure helpers over them.

pub mod injection;
