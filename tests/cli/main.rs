//! Integration tests: the built binary against the in-repo test API server.

#[path = "../support/mod.rs"]
mod support;

mod server;
