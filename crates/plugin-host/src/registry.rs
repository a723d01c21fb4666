//! The set of loaded plugins: load a folder, look up by name or alias.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use wasmtime::component::{Component, Linker};

use crate::bindings::HostState;
use crate::cache::{sha256_hex, ArtifactCache};
use crate::plugin::{call_fresh, info_from_wit, LanguageInfo, Plugin};
use crate::runtime::Runtime;
use crate::settings::read_settings;
use crate::since::{self, Pre};
use crate::watch::Stamp;
use crate::{contract, LoadError, PluginError};

/// How the registry bounds plugins and where it caches compiled code.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Folder for precompiled plugins; `None` compiles at every load.
    /// Default: `$XDG_CACHE_HOME/codr` or `~/.cache/codr`.
    pub cache_dir: Option<PathBuf>,
    /// Longest a single plugin call may run (default 1 s).
    pub call_timeout: Duration,
    /// Most linear memory one plugin instance may use (default 64 MiB).
    pub memory_limit_bytes: usize,
    /// How often the deadline clock ticks (default 10 ms); a call is stopped
    /// at most one tick after its deadline.
    pub epoch_tick: Duration,
    /// Largest `.wasm` file accepted (default 32 MiB).
    pub max_plugin_bytes: u64,
    /// How to start a worker process for the grammars plugins ship (the
    /// host binary passes itself with its `grammar-worker` subcommand).
    /// `None` (the default) runs them in this process, without time or
    /// memory bounds: only for grammars you trust, as in tests.
    pub grammar_worker: Option<codr_syntax::WorkerCommand>,
    /// Memory cap of each grammar worker (default 512 MiB); its time limit
    /// per request is `call_timeout`.
    pub grammar_memory_bytes: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            cache_dir: Self::default_cache_dir(),
            call_timeout: Duration::from_secs(1),
            memory_limit_bytes: 64 * 1024 * 1024,
            epoch_tick: Duration::from_millis(10),
            max_plugin_bytes: 32 * 1024 * 1024,
            grammar_worker: None,
            grammar_memory_bytes: 512 * 1024 * 1024,
        }
    }
}

impl RegistryConfig {
    /// `$XDG_CACHE_HOME/codr` if that is an absolute path, else
    /// `$HOME/.cache/codr`; `None` when neither is known.
    pub fn default_cache_dir() -> Option<PathBuf> {
        let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from);
        if let Some(dir) = xdg.filter(|d| d.is_absolute()) {
            return Some(dir.join("codr"));
        }
        let home = std::env::var_os("HOME").map(PathBuf::from)?;
        Some(home.join(".cache").join("codr"))
    }
}

/// What one `load_dir` did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The plugins now loaded, sorted by name.
    pub loaded: Vec<LanguageInfo>,
    /// Files that were not loaded, each with a one-line reason.
    pub errors: Vec<LoadError>,
    /// Things the operator should know that did not stop a plugin (an alias
    /// already taken, an unusable cache folder).
    pub warnings: Vec<String>,
    /// How many plugins were compiled from their `.wasm`.
    pub compiled: usize,
    /// How many came from the precompiled cache.
    pub from_cache: usize,
    /// Files loaded by this call that were not loaded before.
    pub added: Vec<PathBuf>,
    /// Files (or their settings) that changed and were loaded again.
    pub replaced: Vec<PathBuf>,
    /// Files that were loaded before and are gone from the folder.
    pub removed: Vec<PathBuf>,
    /// Files whose load was attempted by this call and failed (a subset of
    /// `errors`, which also lists failures still standing from earlier calls).
    pub failed: Vec<PathBuf>,
}

impl LoadReport {
    /// Whether this call changed anything or found a new problem.
    pub fn has_changes(&self) -> bool {
        !(self.added.is_empty()
            && self.replaced.is_empty()
            && self.removed.is_empty()
            && self.failed.is_empty())
    }
}

/// Where a loaded component's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentSource {
    /// Deserialized from the on-disk cache.
    Cache,
    /// Compiled from the `.wasm` file (and then cached, if there is a cache).
    Compiled,
}

/// The loaded plugins, swapped as a whole on reload.
#[derive(Default)]
struct Loaded {
    /// Sorted by name.
    list: Vec<Arc<Plugin>>,
    /// Lowercase name or alias to plugin.
    index: HashMap<String, Arc<Plugin>>,
    /// Files of the folder that are not loaded as they are now.
    errors: Vec<LoadError>,
}

/// What the registry knows of one `.wasm` file of its folder.
struct FileState {
    /// The file and its settings as they were at the last load attempt.
    stamp: Stamp,
    /// The version serving: the last one that loaded.
    plugin: Option<Arc<Plugin>>,
    /// Why the last attempt failed, if it did.
    error: Option<LoadError>,
}

/// The folder the registry follows, file by file.
#[derive(Default)]
struct Folder {
    dir: Option<PathBuf>,
    files: BTreeMap<PathBuf, FileState>,
}

/// Loads, holds and looks up language plugins. `Send + Sync`: share it in an
/// `Arc`; calls are synchronous and short (use `spawn_blocking` from async code).
pub struct Registry {
    runtime: Arc<Runtime>,
    linker: Linker<HostState>,
    cache: ArtifactCache,
    cache_warning: Option<String>,
    plugins: RwLock<Arc<Loaded>>,
    /// Held for the whole of a `load_dir`, so reloads never interleave.
    folder: Mutex<Folder>,
}

impl Registry {
    /// The engine, the deadline ticker, the syntax engine and the cache.
    pub fn new(config: RegistryConfig) -> anyhow::Result<Self> {
        let runtime = Runtime::new(config)?;
        let mut linker = Linker::new(&runtime.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        since::add_to_linker(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (cache, cache_warning) =
            ArtifactCache::open(runtime.config.cache_dir.as_deref(), &runtime.engine);
        Ok(Self {
            runtime: Arc::new(runtime),
            linker,
            cache,
            cache_warning,
            plugins: RwLock::new(Arc::default()),
            folder: Mutex::new(Folder::default()),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &RegistryConfig {
        &self.runtime.config
    }

    /// Loads every `*.wasm` in `dir` (in file-name order), each with its
    /// settings file (`<stem>.toml`, see [`crate::settings`]), and makes them
    /// the loaded set.
    ///
    /// Called again on the same folder, it works file by file: a file whose
    /// size, modification time and inode (and those of its settings file)
    /// are unchanged is kept as it is; a changed one is loaded again, and if
    /// that fails the previous version keeps serving and the error is kept
    /// in [`Registry::load_errors`]; a file gone from the folder is unloaded.
    /// A bad file never stops the others. If the folder itself cannot be
    /// read, the current set is kept.
    pub fn load_dir(&self, dir: &Path) -> LoadReport {
        let mut report = LoadReport::default();
        report.warnings.extend(self.cache_warning.clone());
        let files = match wasm_files(dir) {
            Ok(files) => files,
            Err(e) => {
                let reason = format!("cannot read plugin folder {}: {e}", dir.display());
                report.errors.push(LoadError {
                    path: dir.to_path_buf(),
                    message: reason.clone(),
                    error: PluginError::Io {
                        path: dir.to_path_buf(),
                        reason: e.to_string(),
                    },
                    serving_previous: false,
                });
                return report;
            }
        };
        let mut folder = self.folder.lock().unwrap_or_else(|e| e.into_inner());
        if folder.dir.as_deref() != Some(dir) {
            folder.dir = Some(dir.to_path_buf());
            folder.files.clear();
        }
        let mut previous = std::mem::take(&mut folder.files);
        for path in files {
            let old = previous.remove(&path);
            let state = self.refresh_file(&path, old, &mut report);
            folder.files.insert(path, state);
        }
        report.removed = previous.into_keys().collect();
        let plugins = folder.files.values().filter_map(|f| f.plugin.clone());
        let mut loaded = index_plugins(plugins.collect(), &mut report);
        let file_errors = folder.files.values().filter_map(|f| f.error.clone());
        report.errors.splice(0..0, file_errors);
        loaded.errors = report.errors.clone();
        report.loaded = loaded.list.iter().map(|p| p.info.clone()).collect();
        // Callers print or log `report.errors`; debug here avoids saying it twice.
        for error in &report.errors {
            tracing::debug!("{}", error.message);
        }
        *self.plugins.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        report
    }

    /// Loads `path` again unless it is unchanged since `old`; on failure the
    /// old version (if any) stays.
    fn refresh_file(
        &self,
        path: &Path,
        old: Option<FileState>,
        report: &mut LoadReport,
    ) -> FileState {
        let stamp = Stamp::of(path);
        if let Some(old) = old.as_ref().filter(|o| o.stamp == stamp) {
            return FileState {
                stamp,
                plugin: old.plugin.clone(),
                error: old.error.clone(),
            };
        }
        let had_plugin = old.as_ref().is_some_and(|o| o.plugin.is_some());
        match self.load_plugin(path) {
            Ok((plugin, source)) => {
                match source {
                    ComponentSource::Cache => report.from_cache += 1,
                    ComponentSource::Compiled => report.compiled += 1,
                }
                match had_plugin {
                    true => report.replaced.push(path.to_path_buf()),
                    false => report.added.push(path.to_path_buf()),
                }
                FileState {
                    stamp,
                    plugin: Some(plugin),
                    error: None,
                }
            }
            Err(error) => {
                report.failed.push(path.to_path_buf());
                let previous = old.and_then(|o| o.plugin);
                let mut error = LoadError::new(path.to_path_buf(), error);
                if previous.is_some() {
                    error = error.keeping_previous();
                }
                FileState {
                    stamp,
                    plugin: previous,
                    error: Some(error),
                }
            }
        }
    }

    /// Files of the folder that are not loaded as they are now, as of the
    /// last [`Registry::load_dir`]: broken files (with
    /// [`LoadError::serving_previous`] set when an earlier version of the
    /// file still serves), refused settings, duplicate names. Empty when
    /// every file loaded. For `/health` and operators.
    pub fn load_errors(&self) -> Vec<LoadError> {
        self.current().errors.clone()
    }

    /// The plugin with this name or alias (case-insensitive).
    pub fn get(&self, name_or_alias: &str) -> Option<Arc<Plugin>> {
        let key = name_or_alias.trim().to_lowercase();
        self.current().index.get(&key).cloned()
    }

    /// Every loaded plugin, sorted by name.
    pub fn list(&self) -> Vec<Arc<Plugin>> {
        self.current().list.clone()
    }

    /// Loads one plugin file without adding it to the loaded set: read, hash,
    /// compile or take from the cache, check the contract, link, ask its
    /// identity once, and read its settings file (`<stem>.toml` beside it;
    /// a refused settings file fails the load).
    pub fn load_plugin(&self, path: &Path) -> Result<(Arc<Plugin>, ComponentSource), PluginError> {
        let file_name = file_name(path);
        let bytes = read_plugin(path, self.runtime.config.max_plugin_bytes)?;
        let hash = sha256_hex(&bytes);
        let (component, source) = self.component(&bytes, &hash, &file_name)?;
        let contract = contract::check(&component, &self.runtime.engine, &file_name)?;
        let link_error = |e: wasmtime::Error| PluginError::Link {
            plugin: file_name.clone(),
            reason: format!("{e:#}"),
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(link_error)?;
        let pre = Pre::new(&contract, pre).map_err(link_error)?;
        let (identity, grammar) = call_fresh(&self.runtime, &pre, |lang, store| {
            Ok((lang.identity(&mut *store)?, lang.grammar_wasm(store)?))
        })?;
        let mut info = checked_identity(info_from_wit(identity), &file_name)?;
        if let Some(wasm) = grammar {
            self.register_grammar(&mut info, wasm, &file_name)?;
        }
        let settings = read_settings(path)?;
        let plugin = Plugin {
            settings,
            info,
            path: path.to_path_buf(),
            hash,
            contract: contract.to_string(),
            pre,
            runtime: self.runtime.clone(),
        };
        Ok((Arc::new(plugin), source))
    }

    /// Makes the grammar a plugin ships answer its `syntax` calls, under
    /// the name its identity gives.
    fn register_grammar(
        &self,
        info: &mut LanguageInfo,
        wasm: Vec<u8>,
        file_name: &str,
    ) -> Result<(), PluginError> {
        let refused = |reason: String| PluginError::Grammar {
            plugin: file_name.to_string(),
            reason,
        };
        let Some(name) = info.grammar.clone() else {
            return Err(refused(
                "it ships a grammar but its identity names none".into(),
            ));
        };
        let bytes = wasm.len();
        let start = std::time::Instant::now();
        self.runtime
            .syntax
            .register(&name, wasm)
            .map_err(|e| refused(e.to_string()))?;
        tracing::info!(
            plugin = %file_name, grammar = %name, bytes,
            ms = start.elapsed().as_millis() as u64,
            "shipped grammar loaded"
        );
        info.grammar_shipped = true;
        Ok(())
    }

    fn current(&self) -> Arc<Loaded> {
        self.plugins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The compiled component, from the cache when possible.
    fn component(
        &self,
        bytes: &[u8],
        hash: &str,
        file_name: &str,
    ) -> Result<(Component, ComponentSource), PluginError> {
        if let Some(component) = self.cache.load(&self.runtime.engine, hash) {
            return Ok((component, ComponentSource::Cache));
        }
        let component = Component::from_binary(&self.runtime.engine, bytes).map_err(|e| {
            PluginError::InvalidComponent {
                plugin: file_name.to_string(),
                reason: format!("{e:#}"),
            }
        })?;
        self.cache.store(hash, &component);
        Ok((component, ComponentSource::Compiled))
    }
}

/// `*.wasm` regular files in `dir`, sorted by file name.
fn wasm_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_wasm = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("wasm"));
        if is_wasm && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read_plugin(path: &Path, max_bytes: u64) -> Result<Vec<u8>, PluginError> {
    let io_error = |e: std::io::Error| PluginError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let size = std::fs::metadata(path).map_err(io_error)?.len();
    if size > max_bytes {
        return Err(PluginError::Io {
            path: path.to_path_buf(),
            reason: format!("the file is {size} bytes, over the limit of {max_bytes}"),
        });
    }
    std::fs::read(path).map_err(io_error)
}

/// Names are compared lowercase; an empty or blank name is refused.
fn checked_identity(mut info: LanguageInfo, file_name: &str) -> Result<LanguageInfo, PluginError> {
    info.name = info.name.trim().to_lowercase();
    let printable =
        |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if !printable(&info.name) {
        return Err(PluginError::BadIdentity {
            plugin: file_name.to_string(),
            reason: format!("name {:?} must be non-empty, without spaces", info.name),
        });
    }
    info.aliases.retain(|a| printable(a.trim()));
    Ok(info)
}

/// Builds the lookup index: names first (first file wins, later ones are
/// refused), then aliases where not already taken.
fn index_plugins(plugins: Vec<Arc<Plugin>>, report: &mut LoadReport) -> Loaded {
    let mut loaded = Loaded::default();
    for plugin in plugins {
        let key = plugin.info.name.clone();
        if let Some(first) = loaded.index.get(&key) {
            let error = PluginError::Duplicate {
                plugin: file_name(&plugin.path),
                name: key,
                first: first.path.clone(),
            };
            report
                .errors
                .push(LoadError::new(plugin.path.clone(), error));
            continue;
        }
        loaded.index.insert(key, plugin.clone());
        loaded.list.push(plugin);
    }
    for plugin in &loaded.list {
        for alias in &plugin.info.aliases {
            let key = alias.trim().to_lowercase();
            match loaded.index.get(&key) {
                Some(owner) if Arc::ptr_eq(owner, plugin) => {}
                Some(owner) => report.warnings.push(format!(
                    "alias {alias:?} of {} is already used by {}; ignored",
                    plugin.info.name, owner.info.name
                )),
                None => {
                    loaded.index.insert(key, plugin.clone());
                }
            }
        }
    }
    loaded.list.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_and_plugins_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Registry>();
        assert_send_sync::<Plugin>();
        assert_send_sync::<Arc<Plugin>>();
    }
}
