//! Integration tests: the built binary against the in-repo test API server, and the test
//! server against the real kubectl. One test binary; one module per command.

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod analyzers;
mod check;

mod inject;
mod krew;
mod scale;
mod semantics;
mod server;
mod version;
