//! Istio and Gateway API resources: their types, their rules, and the pure helpers over them.

pub mod expose;
pub mod injection;
pub mod validate;
