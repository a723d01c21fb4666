//! Entries on disk: their layout and manifest, reading one (marking it used),
//! size accounting, least-recently-used eviction, and the clean-up of what
//! dead processes left.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::MutexGuard;
use std::time::{Duration, SystemTime};

use rustix::fs::{self as rfs, AtFlags, FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};

use super::files::{make_dir, open_dir, read_at};
use super::key::is_key_name;
use super::{errno, io_err, CacheError, CachedBuild, CompileCache};

/// An entry's list of what it holds ([`Manifest`]).
pub(super) const MANIFEST: &str = "manifest.json";
/// An entry's copy of what the compiler printed.
pub(super) const OUTPUT: &str = "compile_output.txt";
/// The directory of an entry that holds the artifacts.
pub(super) const FILES: &str = "files";
/// The store's lock file: held exclusively while one process evicts.
const LOCK: &str = ".lock";
/// Leftover temporary directories older than this are removed on open even if
/// their process id is alive again (reused).
const STALE_TMP: Duration = Duration::from_secs(3600);

/// One file of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredFile {
    /// Relative to the job directory (and to the entry's `files/`).
    pub(super) path: String,
    /// Its size: an install checks it copied exactly this much.
    pub(super) bytes: u64,
    /// Installed 0755 rather than 0644.
    pub(super) executable: bool,
}

/// What an entry holds, beside its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Manifest {
    /// The entry's [`BuildKey`](super::BuildKey), as its directory is named.
    pub(super) key: String,
    /// Unique per entry ever written: an entry put again under the same key
    /// after an eviction is told apart from the one a [`CachedBuild`] describes.
    pub(super) id: String,
    /// Directories, parents before children.
    pub(super) dirs: Vec<String>,
    /// The artifact files, in the order they were copied.
    pub(super) files: Vec<StoredFile>,
    /// Files plus compile output: what the entry counts against the bound.
    pub(super) bytes: u64,
}

/// What the index knows of one entry: its size and when it was last used.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    /// What the entry counts against the bound ([`Manifest::bytes`]).
    pub(super) bytes: u64,
    /// Last put or get, by this process or (the directory's mtime) another.
    pub(super) used: SystemTime,
}

/// Unique names for temporary and trash directories within this process.
static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Process, sequence number and time: unique across processes and restarts.
pub(super) fn entry_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{}-{nanos}", unique("entry"))
}

/// A temporary entry directory, removed on drop unless renamed into place.
pub(super) struct TempDir {
    /// `<root>/.tmp-<pid>-<n>`.
    pub(super) path: PathBuf,
    armed: bool,
}

impl TempDir {
    /// Makes a new one in the store at `root`.
    pub(super) fn create(root: &Path) -> Result<TempDir, CacheError> {
        let path = root.join(unique(".tmp"));
        make_dir(&path)?;
        Ok(TempDir { path, armed: true })
    }

    /// Keeps the directory (it was renamed into place).
    pub(super) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

impl CompileCache {
    /// The in-memory index of entries (size and last use).
    pub(super) fn lock_index(&self) -> MutexGuard<'_, HashMap<String, Meta>> {
        // A panic elsewhere leaves a map that is still consistent enough.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the entry of `key` is (or would be).
    pub(super) fn entry_path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// The entry of `key`, read and marked used; `None` if there is none.
    pub(super) fn read_entry(&self, key: &str) -> Result<Option<CachedBuild>, CacheError> {
        let path = self.entry_path(key);
        let Some(dir) = self.open_locked(key)? else {
            self.lock_index().remove(key);
            return Ok(None);
        };
        if !still_linked(&dir, &self.root, key) {
            return Ok(None);
        }
        let manifest: Manifest = serde_json::from_slice(&read_at(&dir, MANIFEST, &path)?)
            .map_err(|e| io_err("parsing manifest of", &path)(io::Error::other(e)))?;
        let output = read_at(&dir, OUTPUT, &path)?;
        self.mark_used(key, manifest.bytes, Some(&dir));
        Ok(Some(CachedBuild {
            compile_output: String::from_utf8_lossy(&output).into_owned(),
            manifest,
        }))
    }

    /// The entry `manifest` describes, held with a shared lock while its
    /// files are copied out; [`CacheError::Evicted`] if it is gone or another
    /// entry has taken its key since.
    pub(super) fn lock_entry_of(&self, manifest: &Manifest) -> Result<OwnedFd, CacheError> {
        let key = &manifest.key;
        let path = self.entry_path(key);
        let Some(entry) = self.open_locked(key)? else {
            return Err(CacheError::Evicted(key.clone()));
        };
        // Removed while we waited for the lock, or replaced by a new entry.
        let same = still_linked(&entry, &self.root, key)
            && read_at(&entry, MANIFEST, &path)
                .ok()
                .and_then(|m| serde_json::from_slice::<Manifest>(&m).ok())
                .is_some_and(|m| &m == manifest);
        if !same {
            return Err(CacheError::Evicted(key.clone()));
        }
        Ok(entry)
    }

    /// Opens the entry directory of `key` and takes a shared lock on it (an
    /// evictor skips an entry being read rather than delete it under us);
    /// `None` if there is no entry of that name.
    fn open_locked(&self, key: &str) -> Result<Option<OwnedFd>, CacheError> {
        let path = self.entry_path(key);
        let dir = match open_dir(rfs::CWD, &path) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(errno("opening", &path)(e)),
        };
        rfs::flock(&dir, FlockOperation::LockShared).map_err(errno("locking", &path))?;
        Ok(Some(dir))
    }

    /// Records that the entry of `key` (`bytes` large) was used now: in the
    /// index, and in its directory's mtime (`dir`, when open) for other
    /// processes.
    pub(super) fn mark_used(&self, key: &str, bytes: u64, dir: Option<&OwnedFd>) {
        let now = SystemTime::now();
        if let Some(dir) = dir {
            touch(dir, now);
        }
        self.lock_index()
            .insert(key.to_string(), Meta { bytes, used: now });
    }

    /// Removes temporary and trash directories of processes that are gone.
    pub(super) fn remove_leftovers(&self) {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name
                .strip_prefix(".tmp-")
                .or_else(|| name.strip_prefix(".trash-"))
            else {
                continue;
            };
            let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
            let alive = pid
                .and_then(rustix::process::Pid::from_raw)
                .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| t.elapsed().unwrap_or_default() > STALE_TMP)
                .unwrap_or(true);
            if !alive || old {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }

    /// Scans the store and removes least recently used entries until the total
    /// is within the bound. One process evicts at a time (`.lock`), so two
    /// processes do not both evict for the same excess.
    pub(super) fn evict(&self) -> Result<(), CacheError> {
        let lock_path = self.root.join(LOCK);
        let lock = rfs::open(
            &lock_path,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(errno("opening", &lock_path))?;
        rfs::flock(&lock, FlockOperation::LockExclusive).map_err(errno("locking", &lock_path))?;
        let mut entries = self.scan();
        let mut total: u64 = entries.iter().map(|(_, m)| m.bytes).sum();
        entries.sort_by_key(|(_, m)| m.used);
        for (key, meta) in &entries {
            if total <= self.max_bytes {
                break;
            }
            if self.remove_entry(key) {
                total -= meta.bytes;
            }
        }
        Ok(())
    }

    /// Every entry with its size and recency (the later of our memory and the
    /// directory's mtime); refreshes the in-memory index to match the disk.
    fn scan(&self) -> Vec<(String, Meta)> {
        let known = self.lock_index().clone();
        let mut found = Vec::new();
        let Ok(rd) = fs::read_dir(&self.root) else {
            return found;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !is_key_name(&name) {
                continue;
            }
            let Ok(md) = fs::symlink_metadata(e.path()) else {
                continue;
            };
            let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let meta = match known.get(&name) {
                Some(m) => Meta {
                    bytes: m.bytes,
                    used: m.used.max(mtime),
                },
                // Unreadable: counted as nothing and evicted first.
                None => match manifest_bytes(&e.path()) {
                    Some(bytes) => Meta { bytes, used: mtime },
                    None => Meta {
                        bytes: 0,
                        used: SystemTime::UNIX_EPOCH,
                    },
                },
            };
            found.push((name, meta));
        }
        *self.lock_index() = found.iter().cloned().collect();
        found
    }

    /// Removes one entry unless someone is reading it; true if it is gone.
    pub(super) fn remove_entry(&self, key: &str) -> bool {
        let path = self.entry_path(key);
        let Ok(dir) = open_dir(rfs::CWD, &path) else {
            return false;
        };
        if rfs::flock(&dir, FlockOperation::NonBlockingLockExclusive).is_err() {
            return false;
        }
        // Renamed away first so nobody opens a half-deleted entry by its key.
        let trash = self.root.join(unique(".trash"));
        if fs::rename(&path, &trash).is_err() {
            return false;
        }
        self.lock_index().remove(key);
        if let Err(e) = fs::remove_dir_all(&trash) {
            tracing::warn!(dir = %trash.display(), "cannot remove evicted compile cache entry: {e}");
        }
        tracing::debug!(key, "compile cache entry evicted");
        true
    }
}

/// Whether `<root>/<key>` is still the directory `dir` (not renamed away).
fn still_linked(dir: &OwnedFd, root: &Path, key: &str) -> bool {
    let (Ok(a), Ok(b)) = (
        rfs::fstat(dir),
        rfs::statat(rfs::CWD, root.join(key), AtFlags::SYMLINK_NOFOLLOW),
    ) else {
        return false;
    };
    (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
}

/// Sets a directory's mtime (recency for other processes); failure only costs
/// LRU precision.
fn touch(dir: &OwnedFd, when: SystemTime) {
    let Ok(fd) = dir.try_clone() else {
        return;
    };
    let _ = File::from(fd).set_times(fs::FileTimes::new().set_modified(when));
}

/// The size an entry's manifest gives, if it can be read.
fn manifest_bytes(entry: &Path) -> Option<u64> {
    let text = fs::read(entry.join(MANIFEST)).ok()?;
    serde_json::from_slice::<Manifest>(&text)
        .ok()
        .map(|m| m.bytes)
}
