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

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rustix::fs::{self as rfs, AtFlags, FileType, FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Limits;
use crate::{Plan, SourceFile, Step};

/// Bumped when the key's encoding, the entry layout or what the host stores
/// for a plan changes (2: plans without artifacts store every output).
const FORMAT: u32 = 2;
const MANIFEST: &str = "manifest.json";
const OUTPUT: &str = "compile_output.txt";
const FILES: &str = "files";
const LOCK: &str = ".lock";
/// Bounds on one entry besides bytes: a hostile compile step must not make the
/// host walk millions of files or recurse without end.
const MAX_FILES: usize = 10_000;
const MAX_DEPTH: usize = 64;
/// Leftover temporary directories older than this are removed on open even if
/// their process id is alive again (reused).
const STALE_TMP: Duration = Duration::from_secs(3600);

/// Content address of one build: sha256 (hex) over everything that decides the
/// compiler's output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BuildKey(String);

/// What the key hashes, serialized with serde_json: strings are quoted and
/// escaped and lists delimited, so no two different inputs encode alike.
#[derive(Serialize)]
struct KeyInput<'a> {
    format: u32,
    tag: &'a str,
    files: &'a [SourceFile],
    compile: Option<&'a Step>,
    artifacts: &'a [String],
    limits: &'a Limits,
}

impl BuildKey {
    /// From the plan's files, compile step (program, args, env, limit
    /// overrides), artifact list, the resolved compile `Limits`, and `tag` (the
    /// plugin name@version, given by the caller). The run step is left out: it
    /// does not change what the compiler produces.
    pub fn new(plan: &Plan, compile_limits: &Limits, tag: &str) -> BuildKey {
        let input = KeyInput {
            format: FORMAT,
            tag,
            files: &plan.files,
            compile: plan.compile.as_ref(),
            artifacts: &plan.artifacts,
            limits: compile_limits,
        };
        // Strings, integers, options and lists only: serialization cannot fail.
        let bytes = serde_json::to_vec(&input).expect("a build key input serializes");
        BuildKey(format!("{:x}", Sha256::digest(&bytes)))
    }

    /// The 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BuildKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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

fn io_err(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> CacheError {
    let path = path.into();
    move |source| CacheError::Io { what, path, source }
}

fn errno(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(rustix::io::Errno) -> CacheError {
    let f = io_err(what, path);
    move |e| f(e.into())
}

fn refused(path: &str, reason: impl Into<String>) -> CacheError {
    CacheError::Refused {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// One file of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredFile {
    /// Relative to the job directory (and to the entry's `files/`).
    path: String,
    bytes: u64,
    executable: bool,
}

/// What an entry holds, beside its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    key: String,
    /// Unique per entry ever written: an entry put again under the same key
    /// after an eviction is told apart from the one a [`CachedBuild`] describes.
    id: String,
    /// Directories, parents before children.
    dirs: Vec<String>,
    files: Vec<StoredFile>,
    /// Files plus compile output: what the entry counts against the bound.
    bytes: u64,
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

#[derive(Debug, Clone, Copy)]
struct Meta {
    bytes: u64,
    used: SystemTime,
}

/// A bounded, content-addressed store of compiled artifacts, least recently
/// used out. `Send + Sync`; several processes may share one directory.
#[derive(Debug)]
pub struct CompileCache {
    root: PathBuf,
    max_bytes: u64,
    index: Mutex<HashMap<String, Meta>>,
}

/// Unique names for temporary and trash directories within this process.
static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Process, sequence number and time: unique across processes and restarts.
fn entry_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{}-{nanos}", unique("entry"))
}

fn is_key_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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

    fn lock_index(&self) -> std::sync::MutexGuard<'_, HashMap<String, Meta>> {
        // A panic elsewhere leaves a map that is still consistent enough.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.root.join(key)
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

    fn read_entry(&self, key: &str) -> Result<Option<CachedBuild>, CacheError> {
        let path = self.entry_path(key);
        let dir = match open_dir(rfs::CWD, &path) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => {
                self.lock_index().remove(key);
                return Ok(None);
            }
            Err(e) => return Err(errno("opening", &path)(e)),
        };
        // Shared: an evictor skips an entry being read rather than delete it under us.
        rfs::flock(&dir, FlockOperation::LockShared).map_err(errno("locking", &path))?;
        if !still_linked(&dir, &self.root, key) {
            return Ok(None);
        }
        let manifest: Manifest = serde_json::from_slice(&read_at(&dir, MANIFEST, &path)?)
            .map_err(|e| io_err("parsing manifest of", &path)(io::Error::other(e)))?;
        let output = read_at(&dir, OUTPUT, &path)?;
        let now = SystemTime::now();
        touch(&dir, now);
        self.lock_index().insert(
            key.to_string(),
            Meta {
                bytes: manifest.bytes,
                used: now,
            },
        );
        Ok(Some(CachedBuild {
            compile_output: String::from_utf8_lossy(&output).into_owned(),
            manifest,
        }))
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
            check_artifact_name(a)?;
        }
        let entry = self.entry_path(key.as_str());
        if fs::symlink_metadata(&entry).is_ok() {
            return Ok(());
        }
        let tmp = TempDir::create(&self.root)?;
        let manifest = self.fill(&tmp.path, key, job_dir, artifacts, compile_output)?;
        match fs::rename(&tmp.path, &entry) {
            Ok(()) => tmp.disarm(),
            // The destination exists and is not empty: another put won.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {
                return Ok(());
            }
            Err(e) => return Err(io_err("renaming into place", &entry)(e)),
        }
        let now = SystemTime::now();
        if let Ok(fd) = open_dir(rfs::CWD, &entry) {
            touch(&fd, now);
        }
        self.lock_index().insert(
            key.as_str().to_string(),
            Meta {
                bytes: manifest.bytes,
                used: now,
            },
        );
        self.evict()
    }

    /// Writes the entry's content into the temporary directory `tmp`.
    fn fill(
        &self,
        tmp: &Path,
        key: &BuildKey,
        job_dir: &Path,
        artifacts: &[String],
        compile_output: &str,
    ) -> Result<Manifest, CacheError> {
        let src = open_dir(rfs::CWD, job_dir).map_err(errno("opening job directory", job_dir))?;
        let owner = rfs::fstat(&src)
            .map_err(errno("inspecting", job_dir))?
            .st_uid;
        let files = tmp.join(FILES);
        make_dir(&files)?;
        let mut copier = Copier {
            owner,
            dest: files,
            limit: self.entry_limit(),
            bytes: compile_output.len() as u64,
            dirs: Vec::new(),
            files: Vec::new(),
        };
        copier.check_bytes(0)?;
        for a in artifacts {
            copier.artifact(&src, a)?;
        }
        let manifest = Manifest {
            key: key.as_str().to_string(),
            id: entry_id(),
            dirs: copier.dirs,
            files: copier.files,
            bytes: copier.bytes,
        };
        let json = serde_json::to_vec(&manifest)
            .map_err(|e| io_err("encoding", tmp)(io::Error::other(e)))?;
        write_new(&tmp.join(MANIFEST), &json, 0o400)?;
        write_new(&tmp.join(OUTPUT), compile_output.as_bytes(), 0o400)?;
        Ok(manifest)
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
        let key = &build.manifest.key;
        let path = self.entry_path(key);
        let entry = match open_dir(rfs::CWD, &path) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Err(CacheError::Evicted(key.clone())),
            Err(e) => return Err(errno("opening", &path)(e)),
        };
        rfs::flock(&entry, FlockOperation::LockShared).map_err(errno("locking", &path))?;
        // Removed while we waited for the lock, or replaced by a new entry.
        let same = still_linked(&entry, &self.root, key)
            && read_at(&entry, MANIFEST, &path)
                .ok()
                .and_then(|m| serde_json::from_slice::<Manifest>(&m).ok())
                .is_some_and(|m| m == build.manifest);
        if !same {
            return Err(CacheError::Evicted(key.clone()));
        }
        let dest = open_dir(rfs::CWD, dest_job_dir)
            .map_err(errno("opening job directory", dest_job_dir))?;
        let mut inst = Installer {
            entry: &entry,
            dest: &dest,
            dest_path: dest_job_dir,
            uid,
            gid,
            created: Vec::new(),
        };
        let res = {
            let _no_forks = crate::spawn_lock::writing();
            inst.run(&build.manifest)
        };
        if res.is_err() {
            inst.undo();
        }
        res
    }

    /// Removes the entry for `key` now (say, a build kept only to hand its
    /// artifacts to the run sandbox); false if it is absent or being read
    /// (the reader's `install` goes ahead; LRU removes it later).
    pub fn remove(&self, key: &BuildKey) -> bool {
        self.remove_entry(key.as_str())
    }

    /// Removes temporary and trash directories of processes that are gone.
    fn remove_leftovers(&self) {
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
    fn evict(&self) -> Result<(), CacheError> {
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
    fn remove_entry(&self, key: &str) -> bool {
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

/// Paths from plans: [`codr_job::RelPath`]s.
fn check_artifact_name(a: &str) -> Result<(), CacheError> {
    codr_job::RelPath::check(a)
        .map_err(|e| refused(a, format!("not a plain relative path: it {}", e.why)))
}

/// Opens a directory without following a symlink at its last component.
fn open_dir<P: rustix::path::Arg>(at: impl AsFd, path: P) -> rustix::io::Result<OwnedFd> {
    rfs::openat(
        at,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
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

fn read_at(dir: &OwnedFd, name: &str, dir_path: &Path) -> Result<Vec<u8>, CacheError> {
    let path = dir_path.join(name);
    let fd = rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno("opening", &path))?;
    let mut buf = Vec::new();
    File::from(fd)
        .read_to_end(&mut buf)
        .map_err(io_err("reading", &path))?;
    Ok(buf)
}

fn manifest_bytes(entry: &Path) -> Option<u64> {
    let text = fs::read(entry.join(MANIFEST)).ok()?;
    serde_json::from_slice::<Manifest>(&text)
        .ok()
        .map(|m| m.bytes)
}

fn make_dir(path: &Path) -> Result<(), CacheError> {
    fs::create_dir(path).map_err(io_err("creating", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(io_err("setting mode of", path))
}

fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), CacheError> {
    let mut f = File::create_new(path).map_err(io_err("creating", path))?;
    f.write_all(data).map_err(io_err("writing", path))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("setting mode of", path))
}

/// A temporary entry directory, removed on drop unless renamed into place.
struct TempDir {
    path: PathBuf,
    armed: bool,
}

impl TempDir {
    fn create(root: &Path) -> Result<TempDir, CacheError> {
        let path = root.join(unique(".tmp"));
        make_dir(&path)?;
        Ok(TempDir { path, armed: true })
    }

    fn disarm(mut self) {
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

/// Copies artifacts out of a job directory into an entry's `files/`.
struct Copier {
    /// The job's user: everything copied must be theirs.
    owner: u32,
    dest: PathBuf,
    limit: u64,
    bytes: u64,
    dirs: Vec<String>,
    files: Vec<StoredFile>,
}

impl Copier {
    fn check_bytes(&self, more: u64) -> Result<(), CacheError> {
        if self.bytes.saturating_add(more) > self.limit {
            Err(CacheError::TooLarge { limit: self.limit })
        } else {
            Ok(())
        }
    }

    /// Walks to the artifact's parent one real directory at a time, then copies it.
    fn artifact(&mut self, job: &OwnedFd, rel: &str) -> Result<(), CacheError> {
        // Normal components only (checked): `a//b` and `a/./b` become `a/b`.
        let names: Vec<&str> = Path::new(rel)
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect();
        let (last, parents) = names.split_last().ok_or_else(|| refused(rel, "empty"))?;
        let mut dir = job
            .try_clone()
            .map_err(io_err("duplicating descriptor of", rel))?;
        let mut so_far = String::new();
        for name in parents {
            so_far = join(&so_far, name);
            let st = self.check_node(&dir, name, &so_far)?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                return Err(refused(&so_far, "a parent that is not a directory"));
            }
            dir = self.open_checked_dir(&dir, name, &so_far, &st)?;
            self.ensure_dest_dir(&so_far)?;
        }
        self.node(&dir, last, &join(&so_far, last), 0)
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)`: only directories and regular files of the
    /// job's user pass.
    fn check_node(&self, dir: &OwnedFd, name: &str, rel: &str) -> Result<rfs::Stat, CacheError> {
        let st = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Err(refused(rel, "missing")),
            Err(e) => return Err(errno("inspecting", rel)(e)),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory | FileType::RegularFile => {}
            FileType::Symlink => return Err(refused(rel, "a symbolic link")),
            other => {
                return Err(refused(
                    rel,
                    format!("not a regular file or directory ({other:?})"),
                ))
            }
        }
        if st.st_uid != self.owner {
            return Err(refused(
                rel,
                format!(
                    "owned by uid {}, not by the job's user (uid {})",
                    st.st_uid, self.owner
                ),
            ));
        }
        Ok(st)
    }

    fn open_checked_dir(
        &self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
        st: &rfs::Stat,
    ) -> Result<OwnedFd, CacheError> {
        let fd = open_dir(dir, name).map_err(errno("opening", rel))?;
        same_node(&fd, st, rel)?;
        Ok(fd)
    }

    fn ensure_dest_dir(&mut self, rel: &str) -> Result<(), CacheError> {
        let path = self.dest.join(rel);
        if fs::symlink_metadata(&path).is_ok() {
            return Ok(());
        }
        make_dir(&path)?;
        self.dirs.push(rel.to_string());
        Ok(())
    }

    /// Copies one file, or one directory recursively.
    fn node(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
        depth: usize,
    ) -> Result<(), CacheError> {
        if depth > MAX_DEPTH {
            return Err(refused(
                rel,
                format!("nested deeper than {MAX_DEPTH} directories"),
            ));
        }
        let st = self.check_node(dir, name, rel)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let sub = self.open_checked_dir(dir, name, rel, &st)?;
            self.ensure_dest_dir(rel)?;
            for child in dir_names(&sub, rel)? {
                self.node(&sub, &child, &join(rel, &child), depth + 1)?;
            }
            Ok(())
        } else {
            self.file(dir, name, rel, &st)
        }
    }

    fn file(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
        st: &rfs::Stat,
    ) -> Result<(), CacheError> {
        if self.files.len() >= MAX_FILES {
            return Err(refused(rel, format!("more than {MAX_FILES} files")));
        }
        let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
        self.check_bytes(size)?;
        // NONBLOCK: had a fifo slipped past the check, opening it must not hang.
        let fd = rfs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno("opening", rel))?;
        same_node(&fd, st, rel)?;
        let executable = st.st_mode & 0o111 != 0;
        let dest = self.dest.join(rel);
        let mut out = File::create_new(&dest).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                refused(rel, "listed twice (or inside another artifact)")
            }
            _ => io_err("creating", &dest)(e),
        })?;
        let room = self.limit - self.bytes;
        let copied = io::copy(&mut File::from(fd).take(room + 1), &mut out)
            .map_err(io_err("copying", rel))?;
        if copied > room {
            return Err(CacheError::TooLarge { limit: self.limit });
        }
        let mode = if executable { 0o500 } else { 0o400 };
        out.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err("setting mode of", &dest))?;
        self.bytes += copied;
        self.files.push(StoredFile {
            path: rel.to_string(),
            bytes: copied,
            executable,
        });
        Ok(())
    }
}

/// The opened descriptor is the node that was checked (same type, inode, device).
fn same_node(fd: &OwnedFd, st: &rfs::Stat, rel: &str) -> Result<(), CacheError> {
    let now = rfs::fstat(fd).map_err(errno("inspecting", rel))?;
    let same = (now.st_dev, now.st_ino, now.st_mode & libc::S_IFMT)
        == (st.st_dev, st.st_ino, st.st_mode & libc::S_IFMT);
    if same {
        Ok(())
    } else {
        Err(refused(rel, "changed while being copied"))
    }
}

/// The names in a directory (not `.`/`..`), sorted; non-UTF-8 names refused.
fn dir_names(dir: &OwnedFd, rel: &str) -> Result<Vec<String>, CacheError> {
    let mut names = Vec::new();
    for e in rfs::Dir::read_from(dir).map_err(errno("reading", rel))? {
        let e = e.map_err(errno("reading", rel))?;
        let name: &CStr = e.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let name = name
            .to_str()
            .map_err(|_| refused(rel, format!("a name that is not UTF-8: {name:?}")))?;
        names.push(name.to_string());
    }
    names.sort();
    Ok(names)
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Writes an entry's files into a job directory, remembering what it made.
struct Installer<'a> {
    entry: &'a OwnedFd,
    dest: &'a OwnedFd,
    dest_path: &'a Path,
    uid: u32,
    gid: u32,
    /// Made by us, in creation order (undone in reverse).
    created: Vec<(String, bool)>,
}

impl Installer<'_> {
    fn run(&mut self, m: &Manifest) -> Result<(), CacheError> {
        for d in &m.dirs {
            let names: Vec<&str> = d.split('/').collect();
            self.walk(&names)?;
        }
        for f in &m.files {
            self.file(f)?;
        }
        Ok(())
    }

    /// Opens (making what is missing) the directory `names` below the job
    /// directory, one real directory at a time: a symlink planted anywhere on
    /// the way fails. Manifest paths are ours: plain `/`-joined names.
    fn walk(&mut self, names: &[&str]) -> Result<OwnedFd, CacheError> {
        let mut dir = self
            .dest
            .try_clone()
            .map_err(io_err("duplicating descriptor of", self.dest_path))?;
        let mut so_far = String::new();
        for name in names {
            so_far = join(&so_far, name);
            dir = self.open_or_make_dir(&dir, name, &so_far)?;
        }
        Ok(dir)
    }

    fn open_or_make_dir(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
    ) -> Result<OwnedFd, CacheError> {
        let path = self.dest_path.join(rel);
        let made = match rfs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => true,
            Err(rustix::io::Errno::EXIST) => false,
            Err(e) => return Err(errno("creating", &path)(e)),
        };
        if made {
            self.created.push((rel.to_string(), true));
        }
        let fd = open_dir(dir, name).map_err(errno("opening (a symlink?)", &path))?;
        if made {
            self.own(&fd, 0o755, &path)?;
        }
        Ok(fd)
    }

    fn own(&self, fd: impl AsFd, mode: u32, path: &Path) -> Result<(), CacheError> {
        rfs::fchown(
            fd.as_fd(),
            Some(rustix::fs::Uid::from_raw(self.uid)),
            Some(rustix::fs::Gid::from_raw(self.gid)),
        )
        .map_err(errno("changing owner of", path))?;
        rfs::fchmod(fd, Mode::from_raw_mode(mode)).map_err(errno("setting mode of", path))
    }

    fn file(&mut self, f: &StoredFile) -> Result<(), CacheError> {
        let names: Vec<&str> = f.path.split('/').collect();
        let (name, parents) = names
            .split_last()
            .ok_or_else(|| refused(&f.path, "empty"))?;
        let dir = self.walk(parents)?;
        let path = self.dest_path.join(&f.path);
        let stored = format!("{FILES}/{}", f.path);
        let src = rfs::openat(
            self.entry,
            stored.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno("opening cached", &stored))?;
        let fd = rfs::openat(
            &dir,
            *name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(errno("creating", &path))?;
        self.created.push((f.path.clone(), false));
        let mut out = File::from(fd);
        let copied = io::copy(&mut File::from(src), &mut out).map_err(io_err("writing", &path))?;
        if copied != f.bytes {
            return Err(io_err("copying", &path)(io::Error::other(format!(
                "cached file has {copied} bytes, manifest says {}",
                f.bytes
            ))));
        }
        let mode = if f.executable { 0o755 } else { 0o644 };
        self.own(&out, mode, &path)
    }

    /// Removes what this install made (files, then directories, newest first).
    /// Relative paths are fine here: nothing runs in the fresh job directory yet.
    fn undo(&self) {
        for (rel, is_dir) in self.created.iter().rev() {
            let flags = if *is_dir {
                AtFlags::REMOVEDIR
            } else {
                AtFlags::empty()
            };
            let _ = rfs::unlinkat(self.dest, rel.as_str(), flags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LimitOverrides;
    use std::os::unix::fs::symlink;
    use std::sync::{Arc, Barrier};

    /// The job's user in these tests (no passwd entry needed for chown).
    const UID: u32 = 4242;
    const GID: u32 = 4243;

    fn step(program: &str, args: &[&str]) -> Step {
        Step {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![],
            limits: LimitOverrides::default(),
        }
    }

    fn plan(source: &str) -> Plan {
        Plan {
            files: vec![SourceFile {
                path: "main.c".into(),
                content: source.into(),
                executable: false,
            }],
            compile: Some(step("gcc", &["-O2", "-o", "main", "main.c"])),
            run: step("./main", &[]),
            artifacts: vec!["main".into()],
        }
    }

    fn key(source: &str) -> BuildKey {
        BuildKey::new(&plan(source), &Limits::compile_defaults(), "c@1.0.0")
    }

    /// A fresh job directory owned by the job's user, as `jobdir::create` makes it.
    fn job_dir(base: &Path, name: &str) -> PathBuf {
        let dir = base.join(name);
        crate::jobdir::create(&dir, UID, GID, None).unwrap();
        dir
    }

    /// A file the job's user made, with its parent directories.
    fn user_file(job: &Path, rel: &str, data: &[u8], executable: bool) {
        let path = job.join(rel);
        let mut cur = job.to_path_buf();
        for c in Path::new(rel).parent().unwrap().components() {
            cur.push(c);
            if !cur.exists() {
                fs::create_dir(&cur).unwrap();
                std::os::unix::fs::chown(&cur, Some(UID), Some(GID)).unwrap();
            }
        }
        fs::write(&path, data).unwrap();
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(&path, Some(UID), Some(GID)).unwrap();
    }

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn leftovers(store: &Path) -> Vec<String> {
        fs::read_dir(store)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp") || n.starts_with(".trash"))
            .collect()
    }

    /// Puts a build of `size` bytes (artifact `main`) under `k`.
    fn put_sized(cache: &CompileCache, base: &Path, k: &BuildKey, size: usize) {
        let job = job_dir(base, "job-sized");
        user_file(&job, "main", &bytes(size, 7), true);
        cache.put(k, &job, &["main".into()], "").unwrap();
        crate::jobdir::remove(&job).unwrap();
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<CompileCache>();
        check::<CachedBuild>();
    }

    #[test]
    fn round_trip_keeps_bytes_and_exec_bit() {
        let t = tempfile::tempdir().unwrap();
        let store = t.path().join("store");
        let cache = CompileCache::open(&store, 1 << 30).unwrap();
        let meta = fs::metadata(&store).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        assert_eq!(meta.uid(), rustix::process::geteuid().as_raw());

        let job = job_dir(t.path(), "job1");
        let binary = bytes(100_000, 1);
        user_file(&job, "main", &binary, true);
        user_file(&job, "data/table.txt", b"1 2 3\n", false);
        let k = key("int main(){}");
        assert!(cache.get(&k).is_none());
        let artifacts = vec!["main".to_string(), "data/table.txt".to_string()];
        cache
            .put(&k, &job, &artifacts, "warning: unused\n")
            .unwrap();
        assert!(leftovers(&store).is_empty());
        assert_eq!(cache.usage(), (100_000 + 6 + 16, 1));

        // Stored root-owned and read-only.
        let stored = store.join(k.as_str()).join("files/main");
        let sm = fs::metadata(&stored).unwrap();
        assert_eq!((sm.uid(), sm.permissions().mode() & 0o777), (0, 0o500));

        let hit = cache.get(&k).expect("a hit after put");
        assert_eq!(hit.compile_output, "warning: unused\n");
        assert_eq!(hit.bytes(), 100_022);
        let dest = job_dir(t.path(), "job2");
        cache.install(&hit, &dest, UID, GID).unwrap();
        assert_eq!(fs::read(dest.join("main")).unwrap(), binary);
        assert_eq!(fs::read(dest.join("data/table.txt")).unwrap(), b"1 2 3\n");
        let m = fs::metadata(dest.join("main")).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.permissions().mode() & 0o777),
            (UID, GID, 0o755)
        );
        let m = fs::metadata(dest.join("data/table.txt")).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.permissions().mode() & 0o777),
            (UID, GID, 0o644)
        );
        let m = fs::metadata(dest.join("data")).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.permissions().mode() & 0o777),
            (UID, GID, 0o755)
        );

        // Never over an existing name; a failed install leaves nothing of its own.
        fs::remove_file(dest.join("data/table.txt")).unwrap();
        fs::remove_dir(dest.join("data")).unwrap();
        assert!(cache.install(&hit, &dest, UID, GID).is_err());
        assert!(
            !dest.join("data").exists(),
            "a failed install was not undone"
        );
        assert_eq!(fs::read(dest.join("main")).unwrap(), binary);
    }

    #[test]
    fn symlink_artifact_refused() {
        let t = tempfile::tempdir().unwrap();
        let store = t.path().join("store");
        let cache = CompileCache::open(&store, 1 << 30).unwrap();
        let job = job_dir(t.path(), "job");
        symlink("/etc/passwd", job.join("main")).unwrap();
        let k = key("a");
        let err = cache.put(&k, &job, &["main".into()], "").unwrap_err();
        assert!(matches!(err, CacheError::Refused { .. }), "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(cache.get(&k).is_none());
        assert!(leftovers(&store).is_empty());
    }

    #[test]
    fn symlinked_parent_refused() {
        let t = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&t.path().join("store"), 1 << 30).unwrap();
        let job = job_dir(t.path(), "job");
        symlink("/etc", job.join("out")).unwrap();
        let k = key("b");
        let err = cache.put(&k, &job, &["out/passwd".into()], "").unwrap_err();
        assert!(
            matches!(&err, CacheError::Refused { path, .. } if path == "out"),
            "{err}"
        );
        // A symlinked directory as the artifact itself, too.
        let err = cache.put(&k, &job, &["out".into()], "").unwrap_err();
        assert!(matches!(err, CacheError::Refused { .. }), "{err}");
        assert!(cache.get(&k).is_none());
    }

    #[test]
    fn escaping_names_refused() {
        let t = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&t.path().join("store"), 1 << 30).unwrap();
        let job = job_dir(t.path(), "job");
        user_file(&job, "main", b"x", true);
        for bad in ["../main", "/etc/passwd", "a/../../main", "", "./main", ".."] {
            let err = cache.put(&key(bad), &job, &[bad.into()], "").unwrap_err();
            assert!(matches!(err, CacheError::Refused { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn directory_artifact_copied_recursively() {
        let t = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&t.path().join("store"), 1 << 30).unwrap();
        let job = job_dir(t.path(), "job");
        user_file(&job, "classes/Main.class", b"\xca\xfe\xba\xbe main", false);
        user_file(
            &job,
            "classes/pkg/Util.class",
            b"\xca\xfe\xba\xbe util",
            false,
        );
        user_file(&job, "classes/pkg/deep/run.sh", b"#!/bin/sh\n", true);
        fs::create_dir(job.join("classes/empty")).unwrap();
        std::os::unix::fs::chown(job.join("classes/empty"), Some(UID), Some(GID)).unwrap();
        let k = key("class Main {}");
        cache.put(&k, &job, &["classes".into()], "").unwrap();
        let hit = cache.get(&k).unwrap();
        let mut files: Vec<&str> = hit.files().collect();
        files.sort();
        assert_eq!(
            files,
            [
                "classes/Main.class",
                "classes/pkg/Util.class",
                "classes/pkg/deep/run.sh"
            ]
        );
        let dest = job_dir(t.path(), "dest");
        cache.install(&hit, &dest, UID, GID).unwrap();
        for f in files {
            assert_eq!(
                fs::read(dest.join(f)).unwrap(),
                fs::read(job.join(f)).unwrap(),
                "{f}"
            );
        }
        let run = fs::metadata(dest.join("classes/pkg/deep/run.sh")).unwrap();
        assert_eq!(run.permissions().mode() & 0o777, 0o755);
        for d in [
            "classes",
            "classes/pkg",
            "classes/pkg/deep",
            "classes/empty",
        ] {
            let m = fs::symlink_metadata(dest.join(d)).unwrap();
            assert!(m.is_dir(), "{d}");
            assert_eq!((m.uid(), m.gid()), (UID, GID), "{d}");
        }
    }

    #[test]
    fn special_and_foreign_files_refused() {
        let t = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&t.path().join("store"), 1 << 30).unwrap();
        let job = job_dir(t.path(), "job");
        // A symlink deep inside a directory artifact.
        user_file(&job, "out/a.class", b"a", false);
        symlink("/etc/shadow", job.join("out/b.class")).unwrap();
        let err = cache.put(&key("1"), &job, &["out".into()], "").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        // A fifo (must not hang either).
        rfs::mknodat(
            rfs::CWD,
            job.join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        std::os::unix::fs::chown(job.join("fifo"), Some(UID), Some(GID)).unwrap();
        let err = cache
            .put(&key("2"), &job, &["fifo".into()], "")
            .unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        // A hard link to a file that is not the user's (say /etc/shadow).
        let secret = t.path().join("secret");
        fs::write(&secret, "root:$6$...").unwrap();
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
        fs::hard_link(&secret, job.join("main")).unwrap();
        let err = cache
            .put(&key("3"), &job, &["main".into()], "")
            .unwrap_err();
        assert!(err.to_string().contains("owned by uid 0"), "{err}");
        // A missing artifact.
        let err = cache
            .put(&key("4"), &job, &["nothing".into()], "")
            .unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn too_large_is_not_stored() {
        let t = tempfile::tempdir().unwrap();
        let store = t.path().join("store");
        let cache = CompileCache::open(&store, 4000).unwrap();
        assert_eq!(cache.entry_limit(), 1000);
        let job = job_dir(t.path(), "job");
        user_file(&job, "main", &bytes(990, 3), true);
        let err = cache
            .put(&key("big"), &job, &["main".into()], "0123456789x")
            .unwrap_err();
        assert!(matches!(err, CacheError::TooLarge { limit: 1000 }), "{err}");
        cache
            .put(&key("fits"), &job, &["main".into()], "0123456789")
            .unwrap();
        assert_eq!(cache.usage(), (1000, 1));
        assert!(leftovers(&store).is_empty());
    }

    #[test]
    fn evicts_least_recently_used() {
        let t = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&t.path().join("store"), 4000).unwrap();
        let k: Vec<BuildKey> = (0..7).map(|i| key(&format!("prog {i}"))).collect();
        for k in &k[..4] {
            put_sized(&cache, t.path(), k, 900);
        }
        assert_eq!(cache.usage(), (3600, 4));
        assert!(cache.get(&k[0]).is_some());
        put_sized(&cache, t.path(), &k[4], 900); // out: k1 (k0 was used)
        assert!(cache.get(&k[2]).is_some());
        put_sized(&cache, t.path(), &k[5], 900); // out: k3
        put_sized(&cache, t.path(), &k[6], 900); // out: k0
        assert_eq!(cache.usage(), (3600, 4));
        let present: Vec<usize> = (0..7).filter(|&i| cache.get(&k[i]).is_some()).collect();
        assert_eq!(present, [2, 4, 5, 6]);
    }

    #[test]
    fn another_process_learns_sizes_and_recency() {
        let t = tempfile::tempdir().unwrap();
        let store = t.path().join("store");
        let a = CompileCache::open(&store, 10_000).unwrap();
        let k: Vec<BuildKey> = (0..3).map(|i| key(&format!("p{i}"))).collect();
        for k in &k {
            put_sized(&a, t.path(), k, 1000);
        }
        assert!(a.get(&k[0]).is_some());
        // As a restarted host would: a smaller bound, sizes and mtimes from disk.
        let b = CompileCache::open(&store, 2500).unwrap();
        assert_eq!(b.usage(), (2000, 2));
        assert!(
            b.get(&k[1]).is_none(),
            "the least recently used entry stays"
        );
        assert!(b.get(&k[0]).is_some() && b.get(&k[2]).is_some());
        // `a` sees the other process's eviction.
        assert!(a.get(&k[1]).is_none());
    }

    #[test]
    fn evicted_entry_fails_install_cleanly() {
        let t = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&t.path().join("store"), 4000).unwrap();
        let k: Vec<BuildKey> = (0..5).map(|i| key(&format!("e{i}"))).collect();
        put_sized(&cache, t.path(), &k[0], 900);
        let hit = cache.get(&k[0]).unwrap();
        for k in &k[1..] {
            put_sized(&cache, t.path(), k, 900);
        }
        assert!(cache.get(&k[0]).is_none());
        let dest = job_dir(t.path(), "dest");
        let err = cache.install(&hit, &dest, UID, GID).unwrap_err();
        assert!(matches!(err, CacheError::Evicted(_)), "{err}");
        assert_eq!(fs::read_dir(&dest).unwrap().count(), 0);
        // Put back under the same key: a different entry, still refused for the old hit.
        put_sized(&cache, t.path(), &k[0], 900);
        let err = cache.install(&hit, &dest, UID, GID).unwrap_err();
        assert!(matches!(err, CacheError::Evicted(_)), "{err}");
    }

    #[test]
    fn entry_in_use_is_not_evicted() {
        let t = tempfile::tempdir().unwrap();
        let store = t.path().join("store");
        let cache = CompileCache::open(&store, 1 << 20).unwrap();
        let k = key("in use");
        put_sized(&cache, t.path(), &k, 100);
        let reader = open_dir(rfs::CWD, store.join(k.as_str())).unwrap();
        rfs::flock(&reader, FlockOperation::LockShared).unwrap();
        assert!(!cache.remove_entry(k.as_str()));
        assert!(cache.get(&k).is_some());
        drop(reader);
        assert!(cache.remove(&k));
        assert!(!cache.remove(&k));
        assert!(cache.get(&k).is_none());
        assert!(leftovers(&store).is_empty());
    }

    #[test]
    fn install_never_follows_planted_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&t.path().join("store"), 1 << 30).unwrap();
        let job = job_dir(t.path(), "job");
        user_file(&job, "bin/main", b"binary", true);
        let k = key("planted");
        cache.put(&k, &job, &["bin/main".into()], "").unwrap();
        let hit = cache.get(&k).unwrap();
        let outside = t.path().join("outside");
        fs::create_dir(&outside).unwrap();
        // A symlinked parent directory.
        let dest = job_dir(t.path(), "dest1");
        symlink(&outside, dest.join("bin")).unwrap();
        assert!(cache.install(&hit, &dest, UID, GID).is_err());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        // A symlink where the file goes.
        let dest = job_dir(t.path(), "dest2");
        fs::create_dir(dest.join("bin")).unwrap();
        symlink(outside.join("victim"), dest.join("bin/main")).unwrap();
        assert!(cache.install(&hit, &dest, UID, GID).is_err());
        assert!(!outside.join("victim").exists());
    }

    #[test]
    fn refuses_an_insecure_store() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        fs::create_dir(&real).unwrap();
        symlink(&real, t.path().join("link")).unwrap();
        let err = CompileCache::open(&t.path().join("link"), 1 << 20).unwrap_err();
        assert!(matches!(err, CacheError::Insecure { .. }), "{err}");
        std::os::unix::fs::chown(&real, Some(UID), Some(GID)).unwrap();
        let err = CompileCache::open(&real, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("owned by uid 4242"), "{err}");
    }

    #[test]
    fn keys_differ_on_every_input() {
        let limits = Limits::compile_defaults();
        let base = plan("int main(){}");
        let k = |p: &Plan, l: &Limits, tag: &str| BuildKey::new(p, l, tag);
        let k0 = k(&base, &limits, "c@1");
        assert_eq!(k0.as_str().len(), 64);
        assert!(is_key_name(k0.as_str()));
        assert_eq!(
            k0,
            k(&base.clone(), &limits, "c@1"),
            "equal inputs, equal keys"
        );
        let mut run_changed = base.clone();
        run_changed.run.args.push("arg".into());
        assert_eq!(
            k0,
            k(&run_changed, &limits, "c@1"),
            "the run step is not part of the build"
        );

        type Change = Box<dyn Fn(&mut Plan)>;
        let variants: Vec<(&str, Change)> = vec![
            ("source", Box::new(|p| p.files[0].content.push(' '))),
            ("path", Box::new(|p| p.files[0].path = "m.c".into())),
            ("executable", Box::new(|p| p.files[0].executable = true)),
            (
                "program",
                Box::new(|p| p.compile.as_mut().unwrap().program = "clang".into()),
            ),
            (
                "args",
                Box::new(|p| p.compile.as_mut().unwrap().args.push("-g".into())),
            ),
            (
                "env",
                Box::new(|p| {
                    p.compile
                        .as_mut()
                        .unwrap()
                        .env
                        .push(("CFLAGS".into(), "-g".into()))
                }),
            ),
            (
                "overrides",
                Box::new(|p| p.compile.as_mut().unwrap().limits.memory_bytes = Some(1)),
            ),
            ("artifacts", Box::new(|p| p.artifacts.push("lib.so".into()))),
            ("no compile", Box::new(|p| p.compile = None)),
        ];
        let mut seen = vec![k0.clone()];
        for (what, change) in &variants {
            let mut p = base.clone();
            change(&mut p);
            let kv = k(&p, &limits, "c@1");
            assert!(!seen.contains(&kv), "{what} did not change the key");
            seen.push(kv);
        }
        let other_limits = Limits {
            cpu_time_ms: limits.cpu_time_ms + 1,
            ..limits
        };
        assert_ne!(k0, k(&base, &other_limits, "c@1"), "limits");
        assert_ne!(k0, k(&base, &limits, "c@2"), "tag");
        // No ambiguity by concatenation.
        let mut a = base.clone();
        a.compile.as_mut().unwrap().args = vec!["ab".into(), "c".into()];
        let mut b = base.clone();
        b.compile.as_mut().unwrap().args = vec!["a".into(), "bc".into()];
        assert_ne!(k(&a, &limits, "c@1"), k(&b, &limits, "c@1"));
    }

    #[test]
    fn concurrent_puts_of_one_key() {
        let t = tempfile::tempdir().unwrap();
        let store = t.path().join("store");
        // Two instances stand for two processes sharing the store.
        let caches = [
            Arc::new(CompileCache::open(&store, 1 << 30).unwrap()),
            Arc::new(CompileCache::open(&store, 1 << 30).unwrap()),
        ];
        let job = job_dir(t.path(), "job");
        let binary = bytes(2 << 20, 9);
        user_file(&job, "main", &binary, true);
        for round in 0..4 {
            let k = key(&format!("race {round}"));
            let threads = 8;
            let barrier = Arc::new(Barrier::new(threads));
            std::thread::scope(|s| {
                for i in 0..threads {
                    let cache = caches[i % 2].clone();
                    let (barrier, k, job) = (barrier.clone(), k.clone(), job.clone());
                    s.spawn(move || {
                        barrier.wait();
                        cache.put(&k, &job, &["main".into()], "ok").unwrap();
                    });
                }
            });
            let hit = caches[round % 2].get(&k).expect("the entry is there");
            assert_eq!(hit.compile_output, "ok");
            let dest = job_dir(t.path(), "dest");
            caches[0].install(&hit, &dest, UID, GID).unwrap();
            assert_eq!(fs::read(dest.join("main")).unwrap(), binary);
        }
        assert!(leftovers(&store).is_empty(), "{:?}", leftovers(&store));
        let entries = fs::read_dir(&store)
            .unwrap()
            .flatten()
            .filter(|e| is_key_name(&e.file_name().to_string_lossy()))
            .count();
        assert_eq!(entries, 4);
    }
}
