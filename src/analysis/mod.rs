//! The checks: a Snapshot of resources in, findings out. One analyzer per file; `codes` holds
//! every code.

pub mod codes;
mod finding;
pub mod report;

pub use finding::{Finding, Level, Location, ObjRef};
pub use report::{Report, Suppression};
