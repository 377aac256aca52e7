//! `field-values`: field values that Istio's API server (the CRD schema) or its admission
//! webhook refuses, such as a VirtualService `timeout: banana` or an AuthorizationPolicy
//! `action: PERMIT`.
//!
//! Codes: DM0004.
//!
//! Istio rule: the validation of each field, as [`crate::mesh::validate`] states it with its
//! source (istio/istio `pkg/config/validation`, the CRDs' schemas and CEL rules). The values
//! are judged while the objects are read ([`crate::mesh::fields`]), on the object as written;
//! one finding per field, naming the field path and what is allowed.
//!
//! Limitations: only the fields this tool interprets are checked; a value Istio refuses in a
//! field it does not read (a CORS policy, a header rewrite) is not reported.

use crate::analysis::{Analyzer, Finding, ObjRef, codes, location};
use crate::mesh::{Kind, snapshot::Snapshot};

/// See the module documentation.
pub struct FieldValues;

impl Analyzer for FieldValues {
    fn name(&self) -> &'static str {
        "field-values"
    }

    fn description(&self) -> &'static str {
        "Field values Istio's API server or admission webhook refuses"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::INVALID_FIELD_VALUE]
    }

    fn run(&self, snap: &Snapshot, out: &mut Vec<Finding>) {
        for invalid in snap.invalid() {
            let kind = invalid.kind.to_string();
            let resource = ObjRef::new(&kind, Some(&invalid.namespace), &invalid.name);
            for problem in &invalid.problems {
                let fix = format!(
                    "Correct {}: Istio refuses the whole {} while it holds this value",
                    problem.subject(),
                    invalid.kind.kind_name()
                );
                out.push(
                    Finding::new(
                        &codes::INVALID_FIELD_VALUE,
                        resource.clone(),
                        problem.to_string(),
                    )
                    .fix(fix)
                    .at(location(&invalid.origin)),
                );
            }
        }
    }
}
