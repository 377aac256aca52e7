//! Istio's authorization and mTLS semantics over a Snapshot: the effective
//! PeerAuthentication of a workload port, what a client sends against what
//! a server accepts, and the AuthorizationPolicy evaluator behind `can`.

pub mod attrs;
pub mod evaluate;
pub mod matcher;
pub mod mtls;
pub mod path;
pub mod policy;
pub mod request;
pub mod rule;
pub mod tls;
pub mod verdict;

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests;

pub use evaluate::evaluate;
pub use mtls::{EffectiveMtls, MtlsDecider, MtlsMode, effective_mtls};
pub use request::{Caller, Protocol, Request, RequestError, Target};
pub use tls::{TlsReport, TlsVerdict, Wire, effective_tls};
pub use verdict::{ChainEntry, Deciding, Decision, Effect, Verdict, WorkloadVerdict};
