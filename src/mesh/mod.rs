//! Istio and Gateway API resources: their types, their builders, and the rules their values obey.

pub mod validate;
