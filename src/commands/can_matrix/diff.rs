//! `--diff-against`: the pairs whose decision differs between two matrices, matched by caller
//! and destination id, and the callers and destinations only one side has.

use std::collections::HashMap;

use super::compute::{Matrix, same_decisions};

/// What changes between `before` and `after`.
#[derive(Debug, Default)]
pub struct Diff {
    /// `(before row, before column, after row, after column)`, sorted by caller then
    /// destination.
    pub changes: Vec<(usize, usize, usize, usize)>,
    pub callers_added: Vec<String>,
    pub callers_removed: Vec<String>,
    pub destinations_added: Vec<String>,
    pub destinations_removed: Vec<String>,
}

/// Compares two matrices. A pair whose caller or destination exists on one side only is no
/// change of decision: it is counted among the callers or destinations added or removed.
pub fn diff(before: &Matrix, after: &Matrix) -> Diff {
    let rows_before: HashMap<&str, usize> =
        before.rows.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let columns_before: HashMap<&str, usize> =
        before.columns.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let rows: Vec<(usize, usize)> = (after.rows.iter().enumerate())
        .filter_map(|(a, r)| rows_before.get(r.id.as_str()).map(|&b| (b, a)))
        .collect();
    let key = |m: &Matrix| -> Vec<(String, String, bool)> {
        let list = m.identities.list.iter();
        list.map(|i| (i.namespace.clone(), i.service_account.clone(), i.proxy)).collect()
    };
    // Over the same identities, a column whose classes all decide alike cannot change.
    let same_identities = key(before) == key(after);

    let mut out = Diff::default();
    for (ca, column) in after.columns.iter().enumerate() {
        let Some(&cb) = columns_before.get(column.id.as_str()) else {
            out.destinations_added.push(column.id.clone());
            continue;
        };
        if same_identities && same_decisions(before.classes(cb), after.classes(ca)) {
            continue;
        }
        for &(rb, ra) in &rows {
            if before.cell(rb, cb).decision != after.cell(ra, ca).decision {
                out.changes.push((rb, cb, ra, ca));
            }
        }
    }
    out.changes.sort_by_key(|&(_, _, ra, ca)| (ra, ca));
    let rows_after: HashMap<&str, ()> = after.rows.iter().map(|r| (r.id.as_str(), ())).collect();
    let columns_after: HashMap<&str, ()> =
        after.columns.iter().map(|c| (c.id.as_str(), ())).collect();
    out.callers_added = (after.rows.iter())
        .filter(|r| !rows_before.contains_key(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    out.callers_removed = (before.rows.iter())
        .filter(|r| !rows_after.contains_key(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    out.destinations_removed = (before.columns.iter())
        .filter(|c| !columns_after.contains_key(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect();
    out
}
