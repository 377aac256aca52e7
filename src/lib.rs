//! kubectl-debatemesh: configure Istio with safe commands and prove the mesh is configured right.

pub mod authz;
pub mod mesh;
