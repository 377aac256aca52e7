//! Integration tests: the built binary against the in-repo test API server, and the test
//! server against the real kubectl. One test binary; one module per command.

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod dashboard;
mod inject;
mod krew;
mod server;
mod version;
