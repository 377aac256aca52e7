//! Fuzzes the manifest reader: any bytes must give documents or an error, never a panic, a
//! hang or a stack overflow; whatever it accepts must build a Snapshot.
#![no_main]

use debatemesh::mesh::{manifest::load_manifest, snapshot::SnapshotBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut builder = SnapshotBuilder::new();
    if load_manifest(&mut builder, "fuzz.yaml", data).is_ok() {
        let snapshot = builder.finish();
        let _ = debatemesh::analysis::analyze(&snapshot, &Default::default());
    }
});
