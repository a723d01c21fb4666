//! Follows a plugin folder: a plugin added, replaced or removed (or its
//! settings file changed) is picked up within about two polling intervals,
//! without a restart.
//!
//! Why polling and not inotify (`notify`): plugin folders are often a shared
//! or mounted volume (NFS, a container bind mount, a config-management
//! target) where change events are not delivered, and polling works the
//! same everywhere with no extra dependency. Its cost is one `readdir` and a
//! few `stat`s per interval (the default is 500 ms), nothing next to a job.
//!
//! A change is acted on once the folder looked the same at two consecutive
//! polls, so a file still being copied in is not loaded half-written.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::settings::settings_path;
use crate::{LoadReport, Registry};

/// The default polling interval: changes show within about 1 s.
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
    changed: i64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: meta.ino(),
            changed: meta.ctime_nsec() + meta.ctime() * 1_000_000_000,
        })
    }
}

/// One version of a plugin file and of its settings file (a file replaced
/// by `mv` changes inode; one rewritten in place changes size or times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    wasm: Option<FileStamp>,
    settings: Option<FileStamp>,
}

impl Stamp {
    /// The stamp of the plugin at `wasm` and its settings file.
    pub(crate) fn of(wasm: &Path) -> Self {
        Self {
            wasm: FileStamp::of(wasm),
            settings: FileStamp::of(&settings_path(wasm)),
        }
    }
}

/// Stamps of every `.wasm` in `dir` (and their settings), in name order;
/// `None` when the folder cannot be read.
fn observe(dir: &Path) -> Option<Vec<(PathBuf, Stamp)>> {
    let mut files: Vec<(PathBuf, Stamp)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("wasm"))
        })
        .map(|p| {
            let stamp = Stamp::of(&p);
            (p, stamp)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Some(files)
}

/// A running folder watch; stops (and its thread ends) when dropped.
pub struct Watcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Registry {
    /// Follows `dir` on a thread of its own: every `every`, the folder is
    /// looked at, and once a change has settled [`Registry::load_dir`] runs
    /// (which reloads only the files that changed). Additions, replacements
    /// and removals are logged at `info`, failures at `error` (and stay in
    /// [`Registry::load_errors`] until fixed). Keep the returned [`Watcher`]
    /// alive for as long as the folder should be followed.
    pub fn watch(self: &Arc<Self>, dir: &Path, every: Duration) -> Watcher {
        let (stop, stopped) = mpsc::channel::<()>();
        let registry = Arc::clone(self);
        let dir = dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("codr-plugin-watch".into())
            .spawn(move || poll_loop(&registry, &dir, every, &stopped))
            .expect("spawn the plugin folder watcher");
        Watcher {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

fn poll_loop(registry: &Registry, dir: &Path, every: Duration, stopped: &mpsc::Receiver<()>) {
    tracing::info!(dir = %dir.display(), every_ms = every.as_millis() as u64, "watching the plugin folder");
    let mut last_seen = None;
    // Unknown at first: the first settled look reloads what changed since
    // the registry's last `load_dir` (usually nothing; it only compares stamps).
    let mut last_loaded = None;
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let seen = observe(dir);
        if seen != last_seen {
            // Changed since the last look: wait one more interval for it to settle.
            last_seen = seen;
            continue;
        }
        if seen.is_none() || seen == last_loaded {
            continue;
        }
        last_loaded = seen;
        let report = registry.load_dir(dir);
        if report.has_changes() {
            log_changes(&report);
        }
    }
}

fn log_changes(report: &LoadReport) {
    for path in &report.added {
        tracing::info!(file = %path.display(), "plugin added");
    }
    for path in &report.replaced {
        tracing::info!(file = %path.display(), "plugin replaced");
    }
    for path in &report.removed {
        tracing::info!(file = %path.display(), "plugin removed");
    }
    for error in report
        .errors
        .iter()
        .filter(|e| report.failed.contains(&e.path))
    {
        tracing::error!(file = %error.path.display(), "plugin not loaded: {}", error.message);
    }
    let names: Vec<&str> = report.loaded.iter().map(|l| l.name.as_str()).collect();
    tracing::info!(languages = ?names, errors = report.errors.len(), "plugin folder reloaded");
}
