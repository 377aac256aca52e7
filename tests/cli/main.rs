//! Integration tests: the built binary against the in-repo test API server, and the test
//! server against the real kubectl. One test binary; one module per command.

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod allow;
mod analyzers;
mod bad_input;
mod can;
mod check;
mod dashboard;
mod data_safety;
mod expose;
mod faults;
mod inject;
mod krew;
mod mtls;
mod reachability;
mod resilience;
mod sandbox;
mod scale;
mod secrets;
mod semantics;
mod server;
mod version;
