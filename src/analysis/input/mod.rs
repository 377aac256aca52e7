//! The input itself: field values Istio would refuse (DM0004) and objects the input defines
//! twice (DM0005). The other codes of the family (DM0001-DM0003) are notes `check` prints on
//! stderr, not findings.

mod duplicates;
mod field_values;

pub use duplicates::DuplicateObjects;
pub use field_values::FieldValues;
