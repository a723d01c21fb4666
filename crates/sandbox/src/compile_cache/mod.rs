//! Compile cache: the artifacts a sandboxed compiler produced, kept by the
//! content address of everything that decided them ([`BuildKey`]), bounded in
//! bytes, least recently used out.
//!
//! # Layout
//!
//! ```text
//! <dir>/                      root-owned, 0700 (checked on open)
//!   .lock                     flock'd exclusively while one process evicts
//!   <64 hex>/                 one entry, immutable once renamed into place
//!     manifest.json           directories and files (size, executable bit)
//!     compile_output.txt      what the compiler printed
//!     files/<artifact paths>  root-owned, 0400 (0500 if executable)
//!   .tmp-<pid>-<n>/           an entry being written (removed on open once <pid> is gone)
//!   .trash-<pid>-<n>/         an entry being removed
//! ```
//!
//! # Why an entry cannot be altered by a job
//!
//! User code never touches the store: it is root's and 0700, and entries are
//! written by the host into a temporary directory and renamed into place whole
//! (two processes racing on one key: the second rename fails and that copy is
//! dropped). [`CompileCache::put`] reads the finished job's directory with
//! `openat` from a descriptor of the job directory, every component opened with
//! `O_NOFOLLOW`, and copies only regular files and directories owned by the job
//! directory's owner (the job's user): a symlink, fifo or device, a planted
//! symlinked parent (`out -> /etc`) or a hard link to someone else's file (say
//! `/etc/shadow`) is refused. Each node is checked with `fstatat(AT_SYMLINK_NOFOLLOW)`
//! and then again with `fstat` on the opened descriptor, so what is copied is what
//! was checked. The residual race (a file swapped between the two checks by a
//! live process) is closed by the contract: `put` runs only after every process
//! of the job is dead.
//!
//! # Eviction and concurrency
//!
//! Recency is kept in memory and in each entry directory's mtime (set on `put`
//! and on `get`), so another process, or this one after a restart, orders entries
//! nearly as LRU would. Sizes come from the manifests (scanned on open and before
//! each eviction). Readers take a shared `flock` on the entry directory; an
//! evictor takes it exclusively without waiting and skips entries in use, then
//! renames the entry away before deleting it. If an entry is evicted between
//! [`CompileCache::get`] and [`CompileCache::install`], `install` fails with
//! [`CacheError::Evicted`] (after removing what it wrote) and the caller compiles
//! instead.
//!
//! Every method does blocking file I/O: call it from `spawn_blocking`.

mod copy_in;
mod files;
mod install;
mod key;
mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs as rfs;

pub use key::BuildKey;
use store::{Manifest, Meta, TempDir};

/// Why the cache could not do something. Apart from [`CacheError::Insecure`]
/// at open, every error means "no caching for this job": the caller compiles.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A file system operation failed.
    #[error("compile cache: {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The store directory is not a plain directory owned by this user.
    #[error("compile cache directory {} is {reason}; refusing to use it", path.display())]
    Insecure {
        /// The store directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An artifact (or a name below a directory artifact) cannot be copied safely.
    #[error("compile cache: artifact {path:?} refused: {reason}")]
    Refused {
        /// The path, relative to the job directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// The build is larger than one entry may be (a quarter of the store).
    #[error("compile cache: build larger than the per-entry bound of {limit} bytes; not cached")]
    TooLarge {
        /// The per-entry bound.
        limit: u64,
    },
    /// The entry went away (evicted, or replaced) after `get`: compile instead.
    #[error("compile cache: entry {0} was evicted; compile instead")]
    Evicted(String),
}

/// Turns an I/O error into [`CacheError::Io`] of `what` on `path`.
fn io_err(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> CacheError {
    let path = path.into();
    move |source| CacheError::Io { what, path, source }
}

/// [`io_err`] for the errors of rustix.
fn errno(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(rustix::io::Errno) -> CacheError {
    let f = io_err(what, path);
    move |e| f(e.into())
}

/// [`CacheError::Refused`] of `path` for `reason`.
fn refused(path: &str, reason: impl Into<String>) -> CacheError {
    CacheError::Refused {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// A cache hit, ready to [`CompileCache::install`].
#[derive(Debug, Clone)]
pub struct CachedBuild {
    /// What the compiler printed when the entry was made.
    pub compile_output: String,
    manifest: Manifest,
}

impl CachedBuild {
    /// Bytes of the entry (artifacts plus compile output).
    pub fn bytes(&self) -> u64 {
        self.manifest.bytes
    }

    /// The artifact files, relative to the job directory.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.manifest.files.iter().map(|f| f.path.as_str())
    }
}

/// A bounded, content-addressed store of compiled artifacts, least recently
/// used out. `Send + Sync`; several processes may share one directory.
#[derive(Debug)]
pub struct CompileCache {
    /// The store directory.
    root: PathBuf,
    /// The bound on the bytes of all entries.
    max_bytes: u64,
    /// Size and last use of each entry, as this process last saw the store.
    index: Mutex<HashMap<String, Meta>>,
}

impl CompileCache {
    /// Opens (creates: owned by this user, mode 0700) the store at `dir`,
    /// bounded to `max_bytes`; one entry may hold at most a quarter of that.
    /// Removes leftovers of dead processes and evicts down to the bound.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<CompileCache, CacheError> {
        fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        let meta = fs::symlink_metadata(dir).map_err(io_err("inspecting", dir))?;
        let euid = rustix::process::geteuid().as_raw();
        let reason = if !meta.file_type().is_dir() {
            Some("not a directory (a symlink?)".to_string())
        } else if meta.uid() != euid {
            Some(format!("owned by uid {}, not by uid {euid}", meta.uid()))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(CacheError::Insecure {
                path: dir.to_path_buf(),
                reason,
            });
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err("setting mode 0700 on", dir))?;
        let cache = CompileCache {
            root: dir.to_path_buf(),
            max_bytes,
            index: Mutex::new(HashMap::new()),
        };
        cache.remove_leftovers();
        cache.evict()?;
        Ok(cache)
    }

    /// The bound on one entry's bytes.
    pub fn entry_limit(&self) -> u64 {
        self.max_bytes / 4
    }

    /// Bytes and entries held, as this process last saw the store (for metrics
    /// and BENCHMARKS).
    pub fn usage(&self) -> (u64, usize) {
        let index = self.lock_index();
        (index.values().map(|m| m.bytes).sum(), index.len())
    }

    /// The entry for `key`, marking it recently used; `None` on a miss (or an
    /// entry that cannot be read, which is logged).
    pub fn get(&self, key: &BuildKey) -> Option<CachedBuild> {
        match self.read_entry(key.as_str()) {
            Ok(hit) => hit,
            Err(e) => {
                tracing::warn!(key = %key, "compile cache entry unreadable, treated as a miss: {e}");
                None
            }
        }
    }

    /// Copies `artifacts` (paths relative to `job_dir`; files or directories)
    /// out of a finished compile's job directory, with the compiler's output.
    /// Must be called only after every process of that job is dead. An entry
    /// already present for `key` (this or another process won the race) is
    /// kept and this call succeeds. Evicts least recently used entries to stay
    /// within the bound.
    pub fn put(
        &self,
        key: &BuildKey,
        job_dir: &Path,
        artifacts: &[String],
        compile_output: &str,
    ) -> Result<(), CacheError> {
        for a in artifacts {
            copy_in::check_artifact_name(a)?;
        }
        let entry = self.entry_path(key.as_str());
        if fs::symlink_metadata(&entry).is_ok() {
            return Ok(());
        }
        let tmp = TempDir::create(&self.root)?;
        let manifest = copy_in::fill(
            &tmp.path,
            key,
            job_dir,
            artifacts,
            compile_output,
            self.entry_limit(),
        )?;
        match fs::rename(&tmp.path, &entry) {
            Ok(()) => tmp.disarm(),
            // The destination exists and is not empty: another put won.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {
                return Ok(());
            }
            Err(e) => return Err(io_err("renaming into place", &entry)(e)),
        }
        let dir = files::open_dir(rfs::CWD, &entry).ok();
        self.mark_used(key.as_str(), manifest.bytes, dir.as_ref());
        self.evict()
    }

    /// Copies a cached build into a fresh job directory: files created anew
    /// (never through a symlink, never over an existing name), owned by
    /// `uid:gid`, mode 0755 if executable else 0644; missing directories are
    /// made (0755, owned by `uid:gid`), existing real ones are used. On failure
    /// what was written is removed again and the caller should compile.
    pub fn install(
        &self,
        build: &CachedBuild,
        dest_job_dir: &Path,
        uid: u32,
        gid: u32,
    ) -> Result<(), CacheError> {
        let entry = self.lock_entry_of(&build.manifest)?;
        install::copy_out(&entry, &build.manifest, dest_job_dir, uid, gid)
    }

    /// Removes the entry for `key` now (say, a build kept only to hand its
    /// artifacts to the run sandbox); false if it is absent or being read
    /// (the reader's `install` goes ahead; LRU removes it later).
    pub fn remove(&self, key: &BuildKey) -> bool {
        self.remove_entry(key.as_str())
    }
}
