//! `duplicate-objects`: one object (kind, namespace and name) defined more than once in the
//! `-f` input, in one file or across files.
//!
//! Codes: DM0005.
//!
//! Kubernetes rule: `kubectl apply -f` applies the documents in order (files in the order
//! given, a folder's files sorted by name), so a later definition of the same object replaces
//! the earlier one and only the last is left
//! (<https://kubernetes.io/docs/tasks/manage-kubernetes-objects/declarative-config/>). The
//! Snapshot keeps the last one too; the finding names every definition and the one that wins,
//! at the place of the winner.
//!
//! Limitations: a file object laid over a live one (`--use-cluster`) is the intended use of
//! that flag and is not reported.

use std::collections::BTreeMap;

use crate::analysis::{Analyzer, Finding, ObjRef, codes, location};
use crate::mesh::{Kind, Origin, snapshot::Snapshot};

/// See the module documentation.
pub struct DuplicateObjects;

impl Analyzer for DuplicateObjects {
    fn name(&self) -> &'static str {
        "duplicate-objects"
    }

    fn description(&self) -> &'static str {
        "Objects the input defines more than once; kubectl apply -f keeps the last"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::DUPLICATE_OBJECT]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        // Every definition of each object, in the order they were read.
        let mut definitions: BTreeMap<(Kind, &str), Vec<&Origin>> = BTreeMap::new();
        for r in snap.replaced() {
            let from_files = matches!(r.old, Origin::File { .. });
            if !from_files || !matches!(r.new, Origin::File { .. }) {
                continue;
            }
            let seen = definitions.entry((r.kind, r.name.as_str())).or_default();
            if seen.is_empty() {
                seen.push(&r.old);
            }
            seen.push(&r.new);
        }

        for ((kind, key), origins) in definitions {
            let (namespace, name) = key.split_once('/').unwrap_or(("", key));
            let resource = ObjRef::new(&kind.to_string(), Some(namespace), name);
            let Some((winner, overwritten)) = origins.split_last() else { continue };
            let places: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
            let lost: Vec<String> = overwritten.iter().map(|o| o.to_string()).collect();
            let message = format!(
                "defined {} times in the input ({}); kubectl apply -f applies them in order, so \
                 the one at {winner} wins and {} overwritten",
                origins.len(),
                places.join(", "),
                match lost.as_slice() {
                    [one] => format!("the one at {one} is"),
                    many => format!("the ones at {} are", many.join(", ")),
                }
            );
            let fix = format!(
                "Keep one definition of {resource}: delete the one at {}, or give it a name of \
                 its own",
                lost.join(" and ")
            );
            out.push(
                Finding::new(&codes::DUPLICATE_OBJECT, resource, message)
                    .fix(fix)
                    .at(location(winner)),
            );
        }
    }
}
