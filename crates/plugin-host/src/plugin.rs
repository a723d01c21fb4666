//! One loaded plugin, and the host-side types its calls return.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wasmtime::Store;

use crate::bindings::HostState;
use crate::runtime::Runtime;
use crate::since::{wit, Instance, Pre};
use crate::PluginError;

/// Who a plugin is (the WIT `identity`, as a plain host type). The API
/// answers it as is (`GET /api/languages`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LanguageInfo {
    /// Canonical name, lowercase: "python".
    pub name: String,
    /// Version of the language as served: "3.11".
    pub version: String,
    /// Other names clients may use: "py".
    pub aliases: Vec<String>,
    /// File extension without the dot: "py".
    pub extension: String,
    /// Editor mode for frontends: "python".
    pub editor_mode: String,
    /// The tree-sitter grammar its rules use, if any.
    pub grammar: Option<String>,
    /// Whether the plugin ships that grammar (else it is built into the host).
    #[serde(default)]
    pub grammar_shipped: bool,
    /// The runtime or compiler serving the language, where it has its own
    /// name (Piston's `runtime`): "node", "gcc".
    #[serde(default)]
    pub runtime: Option<String>,
}

/// One problem in a source. Positions are 1-based; columns count Unicode
/// scalar values; `end_*` points just past the offending text. The API
/// answers it as is (the `utoipa` feature documents it there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Diagnostic {
    /// Stable rule id: "blocked-import".
    pub rule: String,
    /// What is wrong, for the end user.
    pub message: String,
    /// Line of the start.
    pub line: u32,
    /// Column of the start.
    pub column: u32,
    /// Line of the end.
    #[serde(default)]
    pub end_line: u32,
    /// Column just past the end.
    #[serde(default)]
    pub end_column: u32,
}

/// A rule a plugin applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Stable rule id.
    pub id: String,
    /// What the rule rejects.
    pub description: String,
}

/// A sample program with its expected output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Short name.
    pub name: String,
    /// The program.
    pub source: String,
    /// Its standard input.
    pub stdin: String,
    /// What it must print.
    pub expected_stdout: String,
}

/// Where one call's time went (see `Plugin::validate_profiled`).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct CallProfile {
    /// The whole call: new store, instantiation, the call itself.
    pub total: std::time::Duration,
    /// New store and instantiation.
    pub instantiate: std::time::Duration,
    /// Inside native syntax calls (tree-sitter parse and queries).
    pub syntax: std::time::Duration,
    /// How many syntax calls the plugin made.
    pub syntax_calls: u32,
    /// How many captures those calls returned.
    pub syntax_captures: u32,
    /// The text of each query the plugin sent (to time the same queries
    /// without the plugin and the grammar worker).
    pub queries: Vec<String>,
}

/// A loaded plugin. Cheap to share (`Arc<Plugin>`); stays usable after the
/// registry reloads, since it owns its compiled code and the runtime.
///
/// Every call instantiates the plugin afresh in a new store: no state can
/// leak from one user's validation into another's (a plugin's statics, its
/// heap, a half-finished call that trapped), and a trap or timeout leaves
/// nothing behind to clean up. Instantiation from the pre-linked
/// `InstancePre` costs tens of microseconds, small next to a validation.
pub struct Plugin {
    pub(crate) info: LanguageInfo,
    pub(crate) path: PathBuf,
    pub(crate) hash: String,
    pub(crate) contract: String,
    /// The operator's settings from the file beside the plugin.
    pub(crate) settings: Vec<(String, String)>,
    pub(crate) pre: Pre,
    pub(crate) runtime: Arc<Runtime>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.info)
            .field("path", &self.path)
            .field("hash", &self.hash)
            .field("contract", &self.contract)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Who the plugin is, as reported once at load.
    pub fn identity(&self) -> &LanguageInfo {
        &self.info
    }

    /// Canonical name (shortcut for `identity().name`).
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The `.wasm` file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hex SHA-256 of the `.wasm` file.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The contract version the plugin implements, such as `0.1.0`.
    pub fn contract_version(&self) -> &str {
        &self.contract
    }

    /// The operator's settings, read from `<stem>.toml` beside the `.wasm`
    /// when the plugin was loaded (empty without such a file). `validate` and
    /// `plan` pass them to the plugin before the caller's own.
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// The rules `validate` applies.
    pub fn rules(&self) -> Result<Vec<RuleInfo>, PluginError> {
        let rules = self.call(|lang, store| lang.rules(store))?;
        Ok(rules.into_iter().map(rule_info_from_wit).collect())
    }

    /// Diagnostics for `source`; empty means acceptable. The plugin gets
    /// the operator's [`Plugin::settings`] followed by `settings` (a key in
    /// both: the caller's value wins, as plugins read the last one).
    pub fn validate(
        &self,
        source: &str,
        settings: &[(String, String)],
    ) -> Result<Vec<Diagnostic>, PluginError> {
        let settings = self.wit_settings(settings);
        let found = self.call(|lang, store| lang.validate(store, source, &settings))?;
        Ok(found.into_iter().map(diagnostic_from_wit).collect())
    }

    /// How to build and run `source`. File and artifact paths are checked:
    /// an absolute path or one with `..` is refused. Settings as for
    /// [`Plugin::validate`]: the operator's, then the caller's.
    pub fn plan(
        &self,
        source: &str,
        args: &[String],
        settings: &[(String, String)],
    ) -> Result<codr_job::Plan, PluginError> {
        self.plan_with_files(source, args, &[], settings)
    }

    /// [`Plugin::plan`] for a source sent with other files (`files`: their
    /// paths in the job directory), which a compiled language may build
    /// too. Plugins of contract 0.1 are not told about them.
    pub fn plan_with_files(
        &self,
        source: &str,
        args: &[String],
        files: &[String],
        settings: &[(String, String)],
    ) -> Result<codr_job::Plan, PluginError> {
        let request = wit::PlanRequest {
            source: source.to_string(),
            args: args.to_vec(),
            settings: self.wit_settings(settings),
            files: files.to_vec(),
        };
        let answer = self.call(|lang, store| lang.plan(store, &request))?;
        let plan = answer.map_err(PluginError::PlanRefused)?;
        plan_from_wit(plan)
    }

    /// Sample programs for self-tests and benchmarks.
    pub fn samples(&self) -> Result<Vec<Sample>, PluginError> {
        let samples = self.call(|lang, store| lang.samples(store))?;
        Ok(samples.into_iter().map(sample_from_wit).collect())
    }

    /// `validate`, with where the time went. For benchmarks and diagnosis.
    #[doc(hidden)]
    pub fn validate_profiled(
        &self,
        source: &str,
        settings: &[(String, String)],
    ) -> Result<(Vec<Diagnostic>, CallProfile), PluginError> {
        let settings = self.wit_settings(settings);
        outside_async(|| {
            let start = std::time::Instant::now();
            let mut store = self.runtime.new_store();
            store.data_mut().recorded_queries = Some(Vec::new());
            let lang = self.pre.instantiate(&mut store);
            let instantiate = start.elapsed();
            let found = lang.and_then(|lang| lang.validate(&mut store, source, &settings));
            let found = found.map_err(|e| self.runtime.classify(&store, e))?;
            let profile = CallProfile {
                total: start.elapsed(),
                instantiate,
                syntax: store.data().syntax_time,
                syntax_calls: store.data().syntax_calls,
                syntax_captures: store.data().syntax_captures,
                queries: store.data_mut().recorded_queries.take().unwrap_or_default(),
            };
            Ok((
                found.into_iter().map(diagnostic_from_wit).collect(),
                profile,
            ))
        })
    }

    /// Instantiates the plugin `iterations` times, each in a fresh store made
    /// outside the timed part, and returns the time spent instantiating.
    /// For benchmarks only.
    #[doc(hidden)]
    pub fn time_instantiation(&self, iterations: u64) -> Result<std::time::Duration, PluginError> {
        let mut total = std::time::Duration::ZERO;
        for _ in 0..iterations {
            let mut store = self.runtime.new_store();
            let start = std::time::Instant::now();
            let instance = self.pre.instantiate(&mut store);
            total += start.elapsed();
            instance.map_err(|e| self.runtime.classify(&store, e))?;
        }
        Ok(total)
    }

    /// The operator's settings, then the caller's.
    fn wit_settings(&self, extra: &[(String, String)]) -> Vec<wit::Setting> {
        let mut all = to_wit_settings(&self.settings);
        all.extend(to_wit_settings(extra));
        all
    }

    /// One bounded call in a fresh instance.
    fn call<R: Send>(
        &self,
        f: impl FnOnce(&Instance, &mut Store<HostState>) -> wasmtime::Result<R> + Send,
    ) -> Result<R, PluginError> {
        call_fresh(&self.runtime, &self.pre, f)
    }
}

/// Instantiates `pre` in a new bounded store and runs `f` on it.
pub(crate) fn call_fresh<R: Send>(
    runtime: &Runtime,
    pre: &Pre,
    f: impl FnOnce(&Instance, &mut Store<HostState>) -> wasmtime::Result<R> + Send,
) -> Result<R, PluginError> {
    outside_async(|| {
        let mut store = runtime.new_store();
        let result = pre
            .instantiate(&mut store)
            .and_then(|lang| f(&lang, &mut store));
        result.map_err(|e| runtime.classify(&store, e))
    })
}

/// Runs `f` where blocking is allowed. Wasmtime-WASI's synchronous stream
/// functions (a plugin writing to stderr, as a Rust panic does) block on a
/// Tokio runtime and would panic on an async worker thread. Callers should
/// use `spawn_blocking`; this keeps a direct call from an async task safe too.
fn outside_async<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => f(),
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        // A current-thread runtime cannot give up its thread: use another.
        Ok(_) => std::thread::scope(|scope| match scope.spawn(f).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// A plugin's identity record as the host's own type, so callers of this
/// crate never see the generated bindings.
pub(crate) fn info_from_wit(id: wit::Identity) -> LanguageInfo {
    move_fields!(id => LanguageInfo {
        name, version, aliases, extension, editor_mode, grammar, runtime;
        grammar_shipped: false,
    })
}

fn to_wit_settings(settings: &[(String, String)]) -> Vec<wit::Setting> {
    settings
        .iter()
        .map(|(key, value)| wit::Setting {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

fn rule_info_from_wit(r: wit::RuleInfo) -> RuleInfo {
    move_fields!(r => RuleInfo { id, description })
}

fn sample_from_wit(s: wit::Sample) -> Sample {
    move_fields!(s => Sample { name, source, stdin, expected_stdout })
}

fn diagnostic_from_wit(d: wit::Diagnostic) -> Diagnostic {
    move_fields!(d => Diagnostic { rule, message, line, column, end_line, end_column })
}

fn plan_from_wit(plan: wit::Plan) -> Result<codr_job::Plan, PluginError> {
    let files = plan
        .files
        .into_iter()
        .map(|f| {
            check_relative(&f.path, "file")?;
            Ok(codr_job::SourceFile {
                path: f.path,
                content: f.content,
                executable: f.executable,
            })
        })
        .collect::<Result<Vec<_>, PluginError>>()?;
    for artifact in &plan.artifacts {
        check_relative(artifact, "artifact")?;
    }
    Ok(codr_job::Plan {
        files,
        compile: plan.compile.map(step_from_wit).transpose()?,
        run: step_from_wit(plan.run)?,
        artifacts: plan.artifacts,
    })
}

/// A path inside the job directory: a [`codr_job::RelPath`].
fn check_relative(path: &str, what: &str) -> Result<(), PluginError> {
    codr_job::RelPath::check(path).map_err(|e| PluginError::InvalidPlan(format!("{what} path {e}")))
}

fn step_from_wit(step: wit::Step) -> Result<codr_job::Step, PluginError> {
    if step.program.trim().is_empty() {
        return Err(PluginError::InvalidPlan(
            "a step has an empty program".into(),
        ));
    }
    Ok(codr_job::Step {
        program: step.program,
        args: step.args,
        env: step.env.into_iter().map(|v| (v.name, v.value)).collect(),
        limits: move_fields!(step.limits => codr_job::LimitOverrides {
            wall_time_ms, cpu_time_ms, memory_bytes, processes,
            file_size_bytes, output_bytes, address_space_bytes,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_paths_must_stay_inside_the_job_directory() {
        assert!(check_relative("main.py", "file").is_ok());
        assert!(check_relative("src/main.rs", "file").is_ok());
        for bad in [
            "",
            "./a",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a/..",
            "x\0y",
        ] {
            let err = check_relative(bad, "file").unwrap_err();
            assert!(matches!(err, PluginError::InvalidPlan(_)), "{bad:?}: {err}");
        }
        let msg = check_relative("../evil", "file").unwrap_err().to_string();
        assert_eq!(
            msg,
            "plugin returned an invalid plan: file path \"../evil\" contains `..`"
        );
    }
}
