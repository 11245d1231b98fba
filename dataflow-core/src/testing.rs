//! Support for tests of applications: what every backend's `testing::TestDb`
//! shares, and the fixture functions under the names the test API uses.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::migrate::schema::Schema;
use crate::model::descriptor::ModelDescriptor;

pub use crate::fixtures::{dump_fixtures, load_fixture_files, load_fixtures};

/// A key naming a model set together with its fixture files' contents: test
/// templates built with fixtures are reused only while both are unchanged.
/// Unreadable files are an `InvalidInput` naming the file.
pub fn template_key(models: &[&'static ModelDescriptor], fixtures: &[PathBuf]) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(Schema::from_descriptors(models.iter().copied()).checksum());
    for path in fixtures {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::InvalidInput(format!("{}: cannot read fixture file: {e}", path.display()))
        })?;
        h.update(path.to_string_lossy().as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect())
}
