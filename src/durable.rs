//! Replacing a small JSON file (a config, a manifest, a meta file) so that
//! a crash leaves either the old contents or the new, never a mix: write a
//! temporary file beside it, fsync it, rename it over the old one, fsync
//! the directory so that the rename itself is durable.

#![deny(unsafe_code)]

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Replaces `dir/file_name` with `value` as pretty JSON, atomically.
pub fn replace_json<T: Serialize + ?Sized>(
    dir: &Path,
    file_name: &str,
    value: &T,
) -> std::io::Result<()> {
    let tmp = dir.join(format!("{file_name}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(value)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(file_name))?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        replace_json(dir.path(), "a.json", &[1, 2]).unwrap();
        replace_json(dir.path(), "a.json", &[3]).unwrap();
        let text = std::fs::read_to_string(dir.path().join("a.json")).unwrap();
        assert_eq!(serde_json::from_str::<Vec<i32>>(&text).unwrap(), vec![3]);
        assert!(!dir.path().join("a.json.tmp").exists());
    }
}
