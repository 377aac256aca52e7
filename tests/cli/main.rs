//! Integration tests: the built binary against the in-repo test API server.

mod semantics;
