//! What can go wrong when loading or calling a plugin.

use std::path::PathBuf;
use std::time::Duration;

/// Why a plugin could not be loaded or a call into it failed. Every variant
/// leaves the host unharmed: the next call gets a fresh instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The call ran past its deadline and was interrupted.
    #[error("plugin ran longer than {} ms and was stopped", .limit.as_millis())]
    Timeout {
        /// The deadline that was exceeded.
        limit: Duration,
    },
    /// The plugin tried to grow its memory past the cap and was stopped.
    #[error("plugin tried to use more than {} MiB of memory and was stopped", .limit_bytes / (1024 * 1024))]
    MemoryLimit {
        /// The cap, in bytes.
        limit_bytes: usize,
    },
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access...).
    #[error("plugin crashed: {0}")]
    Trap(String),
    /// The plugin implements a contract version this host does not support.
    #[error("plugin {plugin} implements codr:plugin@{found}; this host supports codr:plugin@{supported}")]
    Incompatible {
        /// File name of the plugin.
        plugin: String,
        /// The contract version the plugin exports.
        found: String,
        /// The versions this host accepts, such as `0.1.x`.
        supported: String,
    },
    /// The file is a component but not a codr language plugin.
    #[error(
        "plugin {plugin} does not export codr:plugin/plugin (it is not a codr language plugin)"
    )]
    NotAPlugin {
        /// File name of the plugin.
        plugin: String,
    },
    /// The file is not a valid WebAssembly component.
    #[error("plugin {plugin} is not a valid WebAssembly component: {reason}")]
    InvalidComponent {
        /// File name of the plugin.
        plugin: String,
        /// What the parser or validator said.
        reason: String,
    },
    /// The plugin needs imports this host does not provide.
    #[error("plugin {plugin} cannot be linked: {reason}")]
    Link {
        /// File name of the plugin.
        plugin: String,
        /// What is missing or mismatched.
        reason: String,
    },
    /// The grammar the plugin ships was refused: it does not load, loops,
    /// traps or runs out of memory while loading, or its identity names
    /// none (or a built-in one).
    #[error("plugin {plugin} ships a grammar that cannot be used: {reason}")]
    Grammar {
        /// File name of the plugin.
        plugin: String,
        /// Why.
        reason: String,
    },
    /// The plugin's identity is unusable (empty name, bad characters).
    #[error("plugin {plugin} has an invalid identity: {reason}")]
    BadIdentity {
        /// File name of the plugin.
        plugin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another plugin loaded earlier already has this name.
    #[error("plugin {plugin} is named {name:?}, already provided by {}; ignored", .first.display())]
    Duplicate {
        /// File name of the refused plugin.
        plugin: String,
        /// The contested name.
        name: String,
        /// The plugin that keeps the name.
        first: PathBuf,
    },
    /// The plugin declined to plan this source (its own message).
    #[error("plugin refused to plan this source: {0}")]
    PlanRefused(String),
    /// The plugin returned a plan the host will not run.
    #[error("plugin returned an invalid plan: {0}")]
    InvalidPlan(String),
    /// Reading the plugin file failed.
    #[error("cannot read plugin {}: {reason}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The operator's settings file beside the plugin is unusable.
    #[error("settings file {} refused: {reason}", .path.display())]
    Settings {
        /// The `.toml` file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other failure of the runtime (instantiation, host call).
    #[error("plugin call failed: {0}")]
    Runtime(String),
}

/// A plugin file that was not loaded, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    /// The file (or the folder, when the folder itself could not be read).
    pub path: PathBuf,
    /// One line for the operator, naming the file.
    pub message: String,
    /// The typed reason.
    pub error: PluginError,
    /// Whether an earlier good version of this file is still serving (a
    /// broken replacement never unloads the plugin it meant to replace).
    pub serving_previous: bool,
}

impl LoadError {
    /// The load error for `path`, its message flattened to one line so a
    /// log or a status page shows one row per broken file.
    pub(crate) fn new(path: PathBuf, error: PluginError) -> Self {
        // One line: wasmtime's messages can span several (byte dumps).
        let message = error.to_string();
        Self {
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
            path,
            error,
            serving_previous: false,
        }
    }

    /// Marks the error as a failed replacement: the previous version serves.
    pub(crate) fn keeping_previous(mut self) -> Self {
        self.serving_previous = true;
        self.message
            .push_str(" (the previously loaded version keeps serving)");
        self
    }
}
