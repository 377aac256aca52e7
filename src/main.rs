//! The `kubectl-debatemesh` binary.

fn main() {}
