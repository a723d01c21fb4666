//! The host's plugin registry: loads codr language plugins (WebAssembly
//! components targeting the `language` world of `wit/codr-plugin.wit`),
//! checks their contract version, caches their compiled form on disk, and
//! calls them with bounds.
//!
//! ```no_run
//! use codr_plugin_host::{Registry, RegistryConfig};
//! # fn main() -> anyhow::Result<()> {
//! let registry = Registry::new(RegistryConfig::default())?;
//! let report = registry.load_dir("target/plugins".as_ref());
//! for error in &report.errors {
//!     eprintln!("warning: {}", error.message);
//! }
//! let python = registry.get("py").expect("python plugin");
//! let diagnostics = python.validate("import os\n", &[])?;
//! # Ok(()) }
//! ```
//!
//! A running service follows its plugin folder with [`Registry::watch`]:
//! plugins added, replaced or removed (and their settings files, see
//! [`settings`]) take effect within about a second, file by file; a broken
//! replacement leaves the previous version serving and shows in
//! [`Registry::load_errors`].
//!
//! Every call runs in a fresh instance with a deadline (epoch interruption,
//! default 1 s) and a memory cap (default 64 MiB); a plugin that loops,
//! grows without bound or traps gets a [`PluginError`], and the host and
//! the next call are unaffected. Plugins get WASI with nothing granted: no
//! files, no environment, no arguments, no network, no stdio.

#![deny(missing_docs)]

#[macro_use]
mod fields;

mod bindings;
mod cache;
mod contract;
mod error;
mod plugin;
mod registry;
mod runtime;
pub mod settings;
mod since;
mod syntax;
mod watch;

pub use codr_syntax::WorkerCommand;
pub use contract::{supported_range, CONTRACT_VERSION};
pub use error::{LoadError, PluginError};
#[doc(hidden)]
pub use plugin::CallProfile;
pub use plugin::{Diagnostic, LanguageInfo, Plugin, RuleInfo, Sample};
pub use registry::{ComponentSource, LoadReport, Registry, RegistryConfig};
pub use watch::{Watcher, DEFAULT_POLL};
