//! Where a staged copy may land: never on an input file, by whatever path, and never through a
//! symbolic link.
//!
//! Files are compared by identity, not by name: on Unix the device and inode number, which a
//! hard link, a bind mount or a symbolic link cannot disguise (a bind mount shows the same device
//! as its source); elsewhere the canonical path.

use std::collections::HashSet;
use std::fs::Metadata;
use std::io;
use std::path::Path;

/// The identity of a file.
#[cfg(unix)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

/// The identity of a file.
#[cfg(not(unix))]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileId(std::path::PathBuf);

#[cfg(unix)]
fn id_of(_path: &Path, meta: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

#[cfg(not(unix))]
fn id_of(path: &Path, _meta: &Metadata) -> Option<FileId> {
    path.canonicalize().ok().map(FileId)
}

/// The identities of every input: the file each path leads to and, for a symbolic link, the
/// link itself.
#[derive(Debug, Default)]
pub struct InputIds(HashSet<FileId>);

impl InputIds {
    /// The identities of `inputs` (paths that cannot be examined are left out: they fail when
    /// opened).
    pub fn new<P: AsRef<Path>>(inputs: &[P]) -> Self {
        let mut ids = HashSet::new();
        for path in inputs {
            let path = path.as_ref();
            for meta in [std::fs::metadata(path), std::fs::symlink_metadata(path)]
                .into_iter()
                .flatten()
            {
                ids.extend(id_of(path, &meta));
            }
        }
        Self(ids)
    }

    /// Whether `path` (the name itself, or what it leads to) is one of the inputs.
    pub fn contains(&self, path: &Path) -> bool {
        [std::fs::symlink_metadata(path), std::fs::metadata(path)]
            .into_iter()
            .flatten()
            .filter_map(|meta| id_of(path, &meta))
            .any(|id| self.0.contains(&id))
    }
}

/// Checks that a copy may be written to `output`: refuses an input file always, and anything
/// already there (a file, a symbolic link, even a dangling one) unless `force`.
///
/// # Errors
/// A sentence saying why not.
pub fn check_output(output: &Path, inputs: &InputIds, force: bool) -> Result<(), String> {
    let meta = match std::fs::symlink_metadata(output) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(format!("cannot examine {}: {err}", output.display())),
    };
    if inputs.contains(output) {
        return Err(format!(
            "refusing to overwrite an input file ({} is the same file as an input)",
            output.display()
        ));
    }
    if meta.is_dir() {
        return Err(format!(
            "{} already exists and is a folder",
            output.display()
        ));
    }
    if !force {
        let what = if meta.file_type().is_symlink() {
            " (a symbolic link)"
        } else {
            ""
        };
        return Err(format!(
            "{} already exists{what} (use --force to replace it)",
            output.display()
        ));
    }
    Ok(())
}
