//! The service's view of the language plugins: list, resolve, validate, plan.
//!
//! The API and the worker talk to this trait, not to the plugin host
//! directly, so their logic stays independent of how plugins are loaded and
//! called (the plugin host's calls are synchronous and run on the blocking
//! pool here).
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use super::protocol::WireDiagnostic;

/// What a client may know about a language.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LanguageInfo {
    /// Canonical name: `python`.
    pub name: String,
    /// Version served: `3.11`.
    pub version: String,
    /// Other accepted names.
    pub aliases: Vec<String>,
    /// File extension without the dot.
    pub extension: String,
    /// Editor mode for frontends.
    pub editor_mode: String,
}

/// Why a plugin call failed (not a validation finding: the plugin itself).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PluginFailure(pub String);

/// The languages a process can validate and plan.
#[async_trait]
pub trait Languages: Send + Sync + 'static {
    /// Every loaded language, sorted by name.
    fn list(&self) -> Vec<LanguageInfo>;

    /// The language called `name` (or an alias of it).
    fn resolve(&self, name: &str) -> Option<LanguageInfo>;

    /// Plugin files that are not loaded as they are now (one line each,
    /// naming the file), for `/health`.
    fn load_errors(&self) -> Vec<String> {
        Vec::new()
    }

    /// Validation findings for `code` (empty: acceptable).
    async fn validate(
        &self,
        language: &str,
        code: &str,
    ) -> Result<Vec<WireDiagnostic>, PluginFailure>;

    /// The build plan for `code`.
    async fn plan(
        &self,
        language: &str,
        code: &str,
        args: &[String],
    ) -> Result<codr_sandbox::Plan, PluginFailure>;
}

/// Shared handle.
pub type SharedLanguages = Arc<dyn Languages>;
