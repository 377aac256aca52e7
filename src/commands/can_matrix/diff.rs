//! `--diff-against`: the pairs whose decision differs between two matrices. Callers are
//! matched by identity (namespace, service account, sidecar), not by row: a change that names
//! an outsider gives it a row of its own where it was folded into `others` before, and its
//! pairs must still be compared. Destinations are matched by id; callers and destinations
//! only one side has are listed apart.

use std::collections::HashMap;

use super::callers::Caller;
use super::compute::{Matrix, same_decisions};

/// One caller as both matrices know it.
#[derive(Debug, Clone)]
pub struct Compared {
    /// `ns/sa`, `ns/sa (no sidecar)`, `ingress` or `plaintext`.
    pub id: String,
    /// The namespace of an identity.
    pub namespace: Option<String>,
    pub before: Caller,
    pub after: Caller,
}

/// A pair whose decision changes: the caller (index into [`Diff::callers`]) and the
/// destination's column on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    pub caller: usize,
    pub before: usize,
    pub after: usize,
}

/// What changes between `before` and `after`.
#[derive(Debug, Default)]
pub struct Diff {
    /// The callers compared, in the order of the matrix after.
    pub callers: Vec<Compared>,
    /// Sorted by caller, then destination.
    pub changes: Vec<Changed>,
    pub callers_added: Vec<String>,
    pub callers_removed: Vec<String>,
    pub destinations_added: Vec<String>,
    pub destinations_removed: Vec<String>,
}

/// The callers a matrix answers for: identities in scope, identities with a proxy outside it
/// (one without calls as `plaintext` does, which stands for it), then ingress and plaintext.
/// The ingress gateway's own identity is the `ingress` caller.
fn callers(m: &Matrix) -> Vec<(String, Option<String>, Caller)> {
    let ids = &m.identities;
    let mut out: Vec<(String, Option<String>, Caller)> = (0..ids.list.len() as u32)
        .filter(|&i| Some(i) != m.ingress_identity)
        .filter(|&i| m.in_scope(i) || ids.list[i as usize].proxy)
        .map(|i| {
            let id = &ids.list[i as usize];
            (id.id(), Some(id.namespace.clone()), Caller::Identity(i))
        })
        .collect();
    out.push(("ingress".into(), None, Caller::Ingress));
    out.push(("plaintext".into(), None, Caller::Plaintext));
    out
}

/// Compares two matrices.
pub fn diff(before: &Matrix, after: &Matrix) -> Diff {
    let mut out = Diff::default();
    let mut callers_before: HashMap<String, Caller> =
        callers(before).into_iter().map(|(id, _, c)| (id, c)).collect();
    for (id, namespace, caller) in callers(after) {
        match callers_before.remove(&id) {
            Some(b) => out.callers.push(Compared { id, namespace, before: b, after: caller }),
            None => out.callers_added.push(id),
        }
    }
    out.callers_removed = callers_before.into_keys().collect();
    out.callers_removed.sort();

    let columns_before: HashMap<&str, usize> =
        before.columns.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let key = |m: &Matrix| -> Vec<(String, String, bool)> {
        let list = m.identities.list.iter();
        list.map(|i| (i.namespace.clone(), i.service_account.clone(), i.proxy)).collect()
    };
    // Over the same identities, a column whose classes all decide alike cannot change.
    let same_identities = key(before) == key(after);
    let mut seen = vec![false; before.columns.len()];
    for (ca, column) in after.columns.iter().enumerate() {
        let Some(&cb) = columns_before.get(column.id.as_str()) else {
            out.destinations_added.push(column.id.clone());
            continue;
        };
        seen[cb] = true;
        if same_identities && same_decisions(before.classes(cb), after.classes(ca)) {
            continue;
        }
        for (k, c) in out.callers.iter().enumerate() {
            if before.cell_of(&c.before, cb).decision != after.cell_of(&c.after, ca).decision {
                out.changes.push(Changed { caller: k, before: cb, after: ca });
            }
        }
    }
    out.changes.sort_by_key(|c| (c.caller, c.after));
    out.destinations_removed = (before.columns.iter().zip(&seen))
        .filter(|(_, seen)| !**seen)
        .map(|(c, _)| c.id.clone())
        .collect();
    out
}
