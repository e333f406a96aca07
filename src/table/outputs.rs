//! The files beside a feature table: the errors file (`OUT.errors.csv`),
//! the state folder and the lock, and the order of rows — shared by every
//! command that writes a table (batch extraction, merge).

use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use crate::study::Phase;
use std::path::{Path, PathBuf};

/// A failure, as written to the errors file.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub study: String,
    pub file: String,
    pub stage: String,
    pub message: String,
}

/// Paths of the state folder, errors file and lock file of an output.
pub fn companion_paths(output: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "features".into());
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    (
        dir.join(format!("{stem}.ctrad-state")),
        dir.join(format!("{stem}.errors.csv")),
        dir.join(format!("{stem}.lock")),
    )
}

/// An exclusive lock on an output, held by an operating-system file lock
/// (`flock` on Unix, `LockFileEx` on Windows) on `OUT.lock`, released when
/// dropped or when the process dies — so a lock left by a killed run never
/// blocks the next one. The file holds the owner's process id for people.
pub struct OutputLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl OutputLock {
    pub fn acquire(path: &Path) -> Result<OutputLock> {
        use std::io::Write;
        // A lock file removed and recreated by another run between our open
        // and our lock is a different file: try again on the new one.
        for _ in 0..16 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let owner = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok())
                        .map_or(String::new(), |p| format!(" (process {p})"));
                    return Err(Error::Invalid(format!(
                        "{}: another ctrad run{owner} is writing this output; wait for it to finish",
                        path.display()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
            if !still_at(&file, path) {
                continue;
            }
            file.set_len(0)
                .and_then(|()| writeln!(file, "{}", std::process::id()))
                .map_err(|e| Error::io(path, e))?;
            return Ok(OutputLock {
                path: path.to_path_buf(),
                _file: file,
            });
        }
        Err(Error::Invalid(format!(
            "{}: could not take the output lock",
            path.display()
        )))
    }
}

/// Is the open `file` still the one at `path`?
#[cfg(unix)]
fn still_at(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at(_file: &std::fs::File, path: &Path) -> bool {
    path.exists()
}

impl Drop for OutputLock {
    /// The file goes first, then the lock (when `_file` drops): a run
    /// waiting on this file then sees it replaced and starts afresh.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Write the errors file (header only when there are none).
pub fn write_failures(path: &Path, failures: &[Failure]) -> Result<()> {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut s = String::from("study,file,stage,message\n");
    for f in failures {
        s.push_str(&format!(
            "{},{},{},{}\n",
            q(&f.study),
            q(&f.file),
            q(&f.stage),
            q(&f.message)
        ));
    }
    write_atomic(path, |w| w.write_all(s.as_bytes()))
}

/// Read an errors file written by [`write_failures`].
pub fn read_failures(path: &Path) -> Result<Vec<Failure>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut rows = super::csv_records(&text, path)?.into_iter();
    match rows.next() {
        Some(h) if h == ["study", "file", "stage", "message"] => {}
        _ => {
            return Err(Error::format(
                path,
                "expected the header 'study,file,stage,message' of a ctrad errors file",
            ))
        }
    }
    let mut out = Vec::new();
    for (n, r) in rows.enumerate() {
        match <[String; 4]>::try_from(r) {
            Ok([study, file, stage, message]) => out.push(Failure {
                study,
                file,
                stage,
                message,
            }),
            Err(r) if r.iter().all(|c| c.is_empty()) => {}
            Err(r) => {
                return Err(Error::format(
                    path,
                    format!("line {}: expected 4 fields, found {}", n + 2, r.len()),
                ));
            }
        }
    }
    Ok(out)
}

/// The order of rows in a table: study, phase (acquisition order), ROI,
/// series UID, from a lookup of a row's identifying columns as text.
/// Batch and merged tables sort the same way.
pub fn sort_key_from(text: impl Fn(&str) -> String) -> (String, usize, String, String) {
    let phase = Phase::parse(&text("phase")).map_or(99, |p| p as usize);
    (
        text("study_id"),
        phase,
        text("roi"),
        text("series_instance_uid"),
    )
}
