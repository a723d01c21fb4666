//! The service's languages: the plugin host, as the API and the worker use it.
//!
//! Plugin calls are synchronous (wasmtime with an epoch deadline), so they
//! run on the blocking pool, at most one per core at once; the folder is
//! watched and reloaded when its `.wasm` files change, so an operator adds a
//! language by dropping a file in.
use std::path::Path;
use std::sync::Arc;

use codr_job::Plan;
use codr_plugin_host::{Diagnostic, Plugin, Registry, RegistryConfig};

/// What a client may know about a language: the plugin's identity.
pub use codr_plugin_host::LanguageInfo;

/// Why a plugin call failed (not a validation finding: the plugin itself).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PluginFailure(pub String);

/// Languages served by WebAssembly plugins.
pub struct Languages {
    registry: Arc<Registry>,
    /// Follows the folder while the languages are in use.
    _watcher: codr_plugin_host::Watcher,
    /// Plugin calls running at once. A plugin's deadline is wall time, so
    /// fifty validations sharing two cores would all overrun it; queued
    /// calls wait here instead, where the clock has not started.
    calls: tokio::sync::Semaphore,
}

/// Shared handle.
pub type SharedLanguages = Arc<Languages>;

/// The plugin registry's settings for this binary: defaults, with the
/// grammars plugins ship run in `codr grammar-worker` processes (killed when
/// they overrun a call's time or memory), which keep compiled grammars in
/// the plugin cache folder.
pub fn registry_config() -> RegistryConfig {
    let config = RegistryConfig::default();
    let cache_dir = config.cache_dir.as_ref().map(|dir| dir.join("grammars"));
    let grammar_worker =
        std::env::current_exe()
            .ok()
            .map(|program| codr_plugin_host::WorkerCommand {
                program,
                args: vec!["grammar-worker".into()],
                cache_dir,
            });
    RegistryConfig {
        grammar_worker,
        ..config
    }
}

/// Loads every plugin in `dir`; fails when none loads (a service without
/// languages is a misconfiguration, not a state to run in). Starts watching
/// the folder (see `codr_plugin_host::Registry::watch`).
pub fn load(dir: &Path) -> anyhow::Result<SharedLanguages> {
    let registry = Arc::new(Registry::new(registry_config())?);
    let report = registry.load_dir(dir);
    for error in &report.errors {
        eprintln!("codr: plugin not loaded: {}", error.message);
    }
    if report.loaded.is_empty() {
        anyhow::bail!(
            "no language plugin loaded from {} (build them with `make build`, or point --plugins / CODR_PLUGIN_DIR at a folder of .wasm files)",
            dir.display()
        );
    }
    let names: Vec<&str> = report.loaded.iter().map(|l| l.name.as_str()).collect();
    tracing::info!(dir = %dir.display(), languages = ?names, "plugins loaded");
    // Per-file reloads on a thread of the registry's own (a broken
    // replacement keeps the old version; see codr_plugin_host::Registry::watch).
    let watcher = registry.watch(dir, codr_plugin_host::DEFAULT_POLL);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Ok(Arc::new(Languages {
        registry,
        _watcher: watcher,
        calls: tokio::sync::Semaphore::new(cores),
    }))
}

impl Languages {
    /// Every loaded language, sorted by name.
    pub fn list(&self) -> Vec<LanguageInfo> {
        self.registry
            .list()
            .iter()
            .map(|p| p.identity().clone())
            .collect()
    }

    /// The language called `name` (or an alias of it).
    pub fn resolve(&self, name: &str) -> Option<LanguageInfo> {
        self.registry.get(name).map(|p| p.identity().clone())
    }
    /// Plugin files that are not loaded as they are now (one line each,
    /// naming the file), for `/health`.
    pub fn load_errors(&self) -> Vec<String> {
        let errors = self.registry.load_errors();
        errors.into_iter().map(|e| e.message).collect()
    }

    /// Validation findings for `code` (empty: acceptable).
    pub async fn validate(
        &self,
        language: &str,
        code: &str,
    ) -> Result<Vec<Diagnostic>, PluginFailure> {
        let code = code.to_string();
        self.call(language, move |plugin| plugin.validate(&code, &[]))
            .await
    }

    /// The sample programs of `language`'s plugin (the playground offers them).
    pub async fn samples(
        &self,
        language: &str,
    ) -> Result<Vec<codr_plugin_host::Sample>, PluginFailure> {
        self.call(language, |plugin| plugin.samples()).await
    }

    /// The build plan for `code`, sent with other files at `files` (paths
    /// in the job directory).
    pub async fn plan(
        &self,
        language: &str,
        code: &str,
        args: &[String],
        files: &[String],
    ) -> Result<Plan, PluginFailure> {
        let (code, args, files) = (code.to_string(), args.to_vec(), files.to_vec());
        self.call(language, move |plugin| {
            plugin.plan_with_files(&code, &args, &files, &[])
        })
        .await
    }

    /// Runs one call of `language`'s plugin on the blocking pool, once a
    /// call slot is free.
    async fn call<T, E>(
        &self,
        language: &str,
        f: impl FnOnce(&Plugin) -> Result<T, E> + Send + 'static,
    ) -> Result<T, PluginFailure>
    where
        T: Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let plugin = self
            .registry
            .get(language)
            .ok_or_else(|| PluginFailure(format!("no plugin for {language}")))?;
        let _slot = self
            .calls
            .acquire()
            .await
            .map_err(|e| PluginFailure(e.to_string()))?;
        tokio::task::spawn_blocking(move || f(&plugin))
            .await
            .map_err(|e| PluginFailure(format!("plugin call panicked: {e}")))?
            .map_err(|e| PluginFailure(e.to_string()))
    }
}
