//! Atomic file output: readers of `path` see either the old file or the
//! complete new one, never a partial write.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Write `path` atomically: `f` writes into a temporary file in the same
/// directory, which is flushed, fsynced and renamed over `path`. On any error
/// the temporary file is removed and the error names `path`.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write(path, true, f)
}

/// Write `text` to `path` atomically (and durably).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w| w.write_all(text.as_bytes()))
}

/// [`write_atomic`] without the fsyncs, for files the program checks when
/// it reads them and rebuilds when they are missing or damaged (batch
/// checkpoints). Readers still see the old file or the complete new one;
/// only a power cut soon after the write can lose the file or leave it
/// damaged — which costs a recomputation, not a wrong result. An fsync
/// waits for the disk, several milliseconds on a busy one: more than a
/// small study takes to compute.
pub fn write_atomic_unsynced(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write(path, false, f)
}

fn write(
    path: &Path,
    durable: bool,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let (tmp, file) = create_temp(path)?;
    let result = (|| {
        let mut w = BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    // Persist the rename itself; not every file system supports syncing a directory.
    if durable {
        if let Ok(dir) = File::open(parent_dir(path)) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Create a new, uniquely named temporary file beside `path`.
fn create_temp(path: &Path) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        )
    })?;
    let dir = parent_dir(path);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            // A leftover from a crashed process with a recycled pid: try the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory per test (tests run in parallel and count leftovers).
    fn scratch(test: &str, name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ctrad-atomic-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn leftovers(path: &Path) -> usize {
        std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                n.to_string_lossy().ends_with(".tmp")
            })
            .count()
    }

    /// Writes `bytes`, then fails after them when `fail` is set.
    fn content(
        bytes: &[u8],
        fail: bool,
    ) -> impl FnOnce(&mut dyn Write) -> std::io::Result<()> + '_ {
        move |w| {
            w.write_all(bytes)?;
            if fail {
                return Err(std::io::Error::other("boom"));
            }
            Ok(())
        }
    }

    /// Both writers, as `(name, write)`: `write(path, bytes, fail)`.
    type Writer = fn(&Path, &[u8], bool) -> Result<()>;
    const WRITERS: [(&str, Writer); 2] = [
        ("synced", |p, b, fail| write_atomic(p, content(b, fail))),
        ("unsynced", |p, b, fail| {
            write_atomic_unsynced(p, content(b, fail))
        }),
    ];

    #[test]
    fn writes_and_replaces() {
        for (name, write) in WRITERS {
            let p = scratch(&format!("replace-{name}"), "a.txt");
            write(&p, b"one", false).unwrap();
            write(&p, b"two", false).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), b"two", "{name}");
            assert_eq!(leftovers(&p), 0, "{name}");
        }
    }

    #[test]
    fn failure_keeps_old_file_and_removes_temp() {
        for (name, write) in WRITERS {
            let p = scratch(&format!("fail-{name}"), "b.txt");
            write(&p, b"old", false).unwrap();
            let err = write(&p, b"partial", true).unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{name}");
            assert!(err.to_string().contains("b.txt"), "{name}: {err}");
            assert_eq!(std::fs::read(&p).unwrap(), b"old", "{name}");
            assert_eq!(leftovers(&p), 0, "{name}");
        }
    }

    #[test]
    fn missing_directory_names_the_path() {
        let p = scratch("missing", "no/such/dir/c.txt");
        let err = write_atomic(&p, |w| w.write_all(b"x")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("c.txt"), "{err}");
    }
}
