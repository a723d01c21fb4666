//! The plugin host as the service's [`Languages`]: plugin calls are
//! synchronous (wasmtime with an epoch deadline), so they run on the blocking
//! pool; the folder is watched and reloaded when its `.wasm` files change, so
//! an operator adds a language by dropping a file in.
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use codr_plugin_host::{Registry, RegistryConfig};

use super::languages::{LanguageInfo, Languages, PluginFailure, SharedLanguages};
use super::protocol::WireDiagnostic;

/// Languages served by WebAssembly plugins.
pub struct PluginLanguages {
    registry: Arc<Registry>,
    /// Follows the folder while the languages are in use.
    _watcher: codr_plugin_host::Watcher,
    /// Plugin calls running at once. A plugin's deadline is wall time, so
    /// fifty validations sharing two cores would all overrun it; queued
    /// calls wait here instead, where the clock has not started.
    calls: tokio::sync::Semaphore,
}

/// Loads every plugin in `dir`; fails when none loads (a service without
/// languages is a misconfiguration, not a state to run in). Starts watching
/// the folder (see `codr_plugin_host::Registry::watch`).
pub fn load(dir: &Path) -> anyhow::Result<SharedLanguages> {
    let registry = Arc::new(Registry::new(RegistryConfig::default())?);
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
    Ok(Arc::new(PluginLanguages {
        registry,
        _watcher: watcher,
        calls: tokio::sync::Semaphore::new(cores),
    }))
}

fn info(plugin: &codr_plugin_host::Plugin) -> LanguageInfo {
    let id = plugin.identity();
    LanguageInfo {
        name: id.name.clone(),
        version: id.version.clone(),
        aliases: id.aliases.clone(),
        extension: id.extension.clone(),
        editor_mode: id.editor_mode.clone(),
    }
}

#[async_trait]
impl Languages for PluginLanguages {
    fn list(&self) -> Vec<LanguageInfo> {
        self.registry.list().iter().map(|p| info(p)).collect()
    }

    fn resolve(&self, name: &str) -> Option<LanguageInfo> {
        self.registry.get(name).map(|p| info(&p))
    }

    fn load_errors(&self) -> Vec<String> {
        let errors = self.registry.load_errors();
        errors.into_iter().map(|e| e.message).collect()
    }

    async fn validate(
        &self,
        language: &str,
        code: &str,
    ) -> Result<Vec<WireDiagnostic>, PluginFailure> {
        let plugin = self
            .registry
            .get(language)
            .ok_or_else(|| PluginFailure(format!("no plugin for {language}")))?;
        let code = code.to_string();
        let _slot = self
            .calls
            .acquire()
            .await
            .map_err(|e| PluginFailure(e.to_string()))?;
        let found = tokio::task::spawn_blocking(move || plugin.validate(&code, &[]))
            .await
            .map_err(|e| PluginFailure(format!("plugin call panicked: {e}")))?
            .map_err(|e| PluginFailure(e.to_string()))?;
        Ok(found
            .into_iter()
            .map(|d| WireDiagnostic {
                rule: d.rule,
                message: d.message,
                line: d.line,
                column: d.column,
                end_line: d.end_line,
                end_column: d.end_column,
            })
            .collect())
    }

    async fn plan(
        &self,
        language: &str,
        code: &str,
        args: &[String],
    ) -> Result<codr_sandbox::Plan, PluginFailure> {
        let plugin = self
            .registry
            .get(language)
            .ok_or_else(|| PluginFailure(format!("no plugin for {language}")))?;
        let (code, args) = (code.to_string(), args.to_vec());
        let _slot = self
            .calls
            .acquire()
            .await
            .map_err(|e| PluginFailure(e.to_string()))?;
        tokio::task::spawn_blocking(move || plugin.plan(&code, &args, &[]))
            .await
            .map_err(|e| PluginFailure(format!("plugin call panicked: {e}")))?
            .map_err(|e| PluginFailure(e.to_string()))
    }
}
