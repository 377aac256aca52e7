//! Who loses or gains access when config changes: the matrix of `can --matrix` computed over
//! the Snapshot before and after, and the pairs whose authorization decision flips, as
//! `can --matrix --diff-against` lists them. Commands that write security policy refuse on
//! these.

use super::compute::{Matrix, Probe, Scope};
use super::diff::diff;
use crate::authz::{Decision, RequestError};
use crate::mesh::Snapshot;

/// One caller whose access to one Service port flips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flipped {
    /// `true`: denied before, allowed after; `false`: allowed before, denied after.
    pub gained: bool,
    /// `ns/sa`, `ns/sa (no sidecar)`, `ingress` or `plaintext`.
    pub caller: String,
    /// `ns/svc:port`.
    pub destination: String,
    /// What decided before, e.g. `ALLOW policy default/my-service-access rule 0`.
    pub before: String,
    /// What decides after.
    pub after: String,
}

/// The pairs whose decision flips between `before` and `after`, at the destinations in
/// `scope`: allowed before and denied by authorization after, or
/// denied by a policy before and allowed after. Connections that the server's mTLS mode or a
/// DestinationRule refuse (before or after) are left out: the TLS checks report those with
/// their cause, and accepting plaintext that STRICT refused is what PERMISSIVE is for.
///
/// # Errors
///
/// Fails only if the evaluator cannot find a destination it was handed.
pub fn flipped_pairs(
    before: &Snapshot,
    after: &Snapshot,
    scope: &Scope,
) -> Result<Vec<Flipped>, RequestError> {
    let probe = Probe::default();
    let then = Matrix::compute(before, scope, &probe)?;
    let now = Matrix::compute(after, scope, &probe)?;
    let changes = diff(&then, &now);
    let mut out = Vec::new();
    for change in &changes.changes {
        let column = &now.columns[change.after];
        let caller = &changes.callers[change.caller];
        let was = then.cell_of(&caller.before, change.before);
        let is = now.cell_of(&caller.after, change.after);
        let lost = was.decision != Decision::Deny && is.decision == Decision::Deny;
        let gained = was.decision == Decision::Deny && is.decision != Decision::Deny;
        let by_connection = |kind: &str| matches!(kind, "peerauthentication" | "destinationrule");
        if by_connection(is.decided_by.kind) || by_connection(was.decided_by.kind) {
            continue;
        }
        if !lost && !gained {
            continue;
        }
        out.push(Flipped {
            gained,
            caller: caller.id.clone(),
            destination: column.id.clone(),
            before: was.decided_by.text.clone(),
            after: is.decided_by.text.clone(),
        });
    }
    Ok(out)
}
