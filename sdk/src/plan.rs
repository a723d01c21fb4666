//! Builders for what a plugin returns: its identity, its samples, and the
//! plan (files, compile step, run step) for one source.
//!
//! Every plugin answers the same questions in the same shape; these helpers
//! hold the conventions they share, so a plugin states only what is its
//! own:
//!
//! - commands are data the operator can override: the settings
//!   [`COMPILE_PROGRAM`], [`COMPILE_ARGS`], [`RUN_PROGRAM`] and [`RUN_ARGS`]
//!   replace a step's default program or argument list ([`Step::compile`],
//!   [`Step::run`]), so the host never hard-codes a toolchain;
//! - the user's arguments always come last on the run step ([`Plan::new`]);
//! - [`Limits::default`] keeps every deployment default, so a plugin names
//!   only the limits it adjusts.
//!
//! ```
//! use codr_sdk::{Limits, Plan, Settings, Step};
//!
//! let request = codr_sdk::testing::request("print(1)", &["x"], &[]);
//! let settings = Settings::from(&request);
//! let run = Step::run(&settings, "python3", &["-u", "main.py"]).env("PYTHONUNBUFFERED", "1");
//! let plan = Plan::new(&request, "main.py", run);
//! assert_eq!(plan.run.args, ["-u", "main.py", "x"]);
//! assert_eq!(plan.run.limits, Limits::default());
//! ```

use crate::{EnvVar, Identity, Limits, Plan, PlanRequest, Sample, Settings, SourceFile, Step};

/// Setting: the program the compile step runs instead of the plugin's
/// default compiler.
pub const COMPILE_PROGRAM: &str = "compile-program";
/// Setting: the compile step's whole argument list (space-separated),
/// replacing the plugin's default one.
pub const COMPILE_ARGS: &str = "compile-args";
/// Setting: the program the run step starts instead of the plugin's default.
pub const RUN_PROGRAM: &str = "run-program";
/// Setting: the run step's fixed arguments (space-separated), replacing the
/// plugin's default ones; the user's arguments still follow.
pub const RUN_ARGS: &str = "run-args";

impl Identity {
    /// A language named `name`, served at `version`, whose source files end
    /// in `.extension`. The editor mode and the host grammar default to
    /// `name` (the host's editor modes and tree-sitter grammars are named
    /// after their languages); [`Identity::editor_mode`] and
    /// [`Identity::grammar`] change them.
    pub fn new(name: &str, version: &str, extension: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            aliases: Vec::new(),
            extension: extension.into(),
            editor_mode: name.into(),
            grammar: Some(name.into()),
            runtime: None,
        }
    }

    /// The other names clients may use for the language.
    pub fn aliases(mut self, aliases: &[&str]) -> Self {
        self.aliases = aliases.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The editor mode frontends should use, when it is not the name.
    pub fn editor_mode(mut self, mode: &str) -> Self {
        self.editor_mode = mode.into();
        self
    }

    /// The grammar the rules query: a host built-in one, or the one the
    /// plugin ships ([`crate::Language::grammar_wasm`]); `None` for a plugin
    /// that does its own parsing.
    pub fn grammar(mut self, grammar: Option<&str>) -> Self {
        self.grammar = grammar.map(str::to_string);
        self
    }

    /// The runtime or compiler serving the language, where it has a name of
    /// its own (Piston's `runtime`): `"node"`, `"gcc"`.
    pub fn runtime(mut self, runtime: &str) -> Self {
        self.runtime = Some(runtime.into());
        self
    }
}

impl Sample {
    /// A sample program `name` whose output must be `expected_stdout`, read
    /// from an empty stdin unless [`Sample::stdin`] gives one.
    pub fn new(name: &str, source: &str, expected_stdout: &str) -> Self {
        Self {
            name: name.into(),
            source: source.into(),
            stdin: String::new(),
            expected_stdout: expected_stdout.into(),
        }
    }

    /// What the sample reads from stdin.
    pub fn stdin(mut self, stdin: &str) -> Self {
        self.stdin = stdin.into();
        self
    }
}

/// Every limit at the deployment's default: a plugin spells out only the
/// ones it adjusts (`Limits { processes: Some(64), ..Limits::default() }`).
impl Default for Limits {
    fn default() -> Self {
        Self {
            wall_time_ms: None,
            cpu_time_ms: None,
            memory_bytes: None,
            processes: None,
            file_size_bytes: None,
            output_bytes: None,
            address_space_bytes: None,
        }
    }
}

/// One builder method per limit: `$field(value)` sets `Some(value)`.
macro_rules! limit_setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty;)*) => {
        impl Limits {
            $(
                $(#[$doc])*
                pub fn $field(mut self, value: $ty) -> Self {
                    self.$field = Some(value);
                    self
                }
            )*
        }
    };
}

// Builders for the limits a step adjusts, in the style of the rest:
// `Limits::default().wall_time_ms(20_000).processes(128)`. Each sets one
// field; the others keep the deployment's default.
limit_setters! {
    /// Wall-clock time, in milliseconds.
    wall_time_ms: u64;
    /// CPU time of the whole process tree, in milliseconds.
    cpu_time_ms: u64;
    /// Memory of the whole process tree, in bytes.
    memory_bytes: u64;
    /// Processes, threads included.
    processes: u32;
    /// Size of any one file the step writes, in bytes.
    file_size_bytes: u64;
    /// Output kept from the step (stdout and stderr), in bytes.
    output_bytes: u64;
    /// Address space, in bytes, on hosts without a memory cgroup (runtimes
    /// that reserve far more than they use: the JVM, V8, Go).
    address_space_bytes: u64;
}

impl Limits {
    /// Wall-clock and CPU time alike, in milliseconds (a compiler's budget).
    pub fn time_ms(self, ms: u64) -> Self {
        self.wall_time_ms(ms).cpu_time_ms(ms)
    }
}

/// The settings a plan request carries (the operator's, then the caller's).
impl From<&PlanRequest> for Settings {
    fn from(request: &PlanRequest) -> Self {
        Settings::new(request.settings.clone())
    }
}

impl Step {
    /// `program` with no arguments, no environment of its own and the
    /// default limits; the methods below add the rest.
    pub fn new(program: &str) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// The compile step `program args`, unless the operator's settings
    /// replace the program ([`COMPILE_PROGRAM`]) or the argument list
    /// ([`COMPILE_ARGS`]). Arguments added afterwards ([`Step::arg`]) follow
    /// either list.
    pub fn compile(settings: &Settings, program: &str, args: &[&str]) -> Self {
        Self::overridable(settings, (COMPILE_PROGRAM, program), (COMPILE_ARGS, args))
    }

    /// The run step `program args`, unless the operator's settings replace
    /// the program ([`RUN_PROGRAM`]) or the fixed arguments ([`RUN_ARGS`]).
    /// [`Plan::new`] appends the user's arguments.
    pub fn run(settings: &Settings, program: &str, args: &[&str]) -> Self {
        Self::overridable(settings, (RUN_PROGRAM, program), (RUN_ARGS, args))
    }

    /// `program args`, each replaced by its setting (`(key, default)`) when
    /// the operator set it; an argument setting is split on whitespace.
    fn overridable(settings: &Settings, program: (&str, &str), args: (&str, &[&str])) -> Self {
        let step = Self::new(settings.get(program.0).unwrap_or(program.1));
        match settings.get(args.0) {
            Some(custom) => step.args(custom.split_whitespace()),
            None => step.args(args.1.iter().copied()),
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds the environment variable `name=value` (the host starts every
    /// step from an almost empty environment, so a runtime's tuning
    /// variables go here).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push(EnvVar {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Adds every `(name, value)` pair of `vars` (see [`Step::env`]):
    /// `.envs([("GOPROXY", "off"), ("CGO_ENABLED", "0")])`.
    pub fn envs<N: AsRef<str>, V: AsRef<str>>(
        mut self,
        vars: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        for (name, value) in vars {
            self = self.env(name.as_ref(), value.as_ref());
        }
        self
    }

    /// The limits to adjust for this step (see [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

impl Plan {
    /// The plan that writes the request's source to `main_file` (relative
    /// to the job directory) and runs `run` followed by the user's arguments
    /// (`request.args`). No compile step and no artifacts until
    /// [`Plan::with_compile`] and [`Plan::with_artifacts`] add them.
    pub fn new(request: &PlanRequest, main_file: impl Into<String>, run: Step) -> Self {
        Self {
            files: vec![SourceFile {
                path: main_file.into(),
                content: request.source.clone(),
                executable: false,
            }],
            compile: None,
            run: run.args(request.args.iter().cloned()),
            artifacts: Vec::new(),
        }
    }

    /// Compiles with `step` before the run step.
    pub fn with_compile(mut self, step: Step) -> Self {
        self.compile = Some(step);
        self
    }

    /// Writes one more file into the job directory: `path` (relative, as
    /// for every plan file) with `content`, not executable. For what the
    /// language needs beside the source (Go's `go.mod`, a build script).
    pub fn with_file(mut self, path: impl Into<String>, content: impl Into<String>) -> Self {
        self.files.push(SourceFile {
            path: path.into(),
            content: content.into(),
            executable: false,
        });
        self
    }

    /// The files the compile step produces and the run step needs (the host
    /// may cache them).
    pub fn with_artifacts(
        mut self,
        artifacts: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.artifacts = artifacts.into_iter().map(Into::into).collect();
        self
    }
}

/// The plan of a language compiled ahead of time into one executable: the
/// source goes to `source_file`, `compiler args` (which must name the source
/// and write `main`) runs under `compile_limits`, then `./main` runs with
/// the user's arguments and default limits, and `main` is the artifact.
/// Every command is overridable by the operator's `settings` ([`Step::compile`]
/// and [`Step::run`]).
pub fn native_executable(
    request: &PlanRequest,
    settings: &Settings,
    source_file: &str,
    compiler: &str,
    args: &[&str],
    compile_limits: Limits,
) -> Plan {
    let compile = Step::compile(settings, compiler, args).limits(compile_limits);
    Plan::new(request, source_file, Step::run(settings, "./main", &[]))
        .with_compile(compile)
        .with_artifacts(["main"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_builders_set_one_field_each() {
        let limits = Limits::default()
            .time_ms(20_000)
            .memory_bytes(1 << 30)
            .processes(128)
            .file_size_bytes(2)
            .output_bytes(3)
            .address_space_bytes(4 << 30);
        assert_eq!(
            limits,
            Limits {
                wall_time_ms: Some(20_000),
                cpu_time_ms: Some(20_000),
                memory_bytes: Some(1 << 30),
                processes: Some(128),
                file_size_bytes: Some(2),
                output_bytes: Some(3),
                address_space_bytes: Some(4 << 30),
            }
        );
        assert_eq!(Limits::default().wall_time_ms(1).cpu_time_ms, None);
    }

    #[test]
    fn step_and_plan_builders() {
        let step = Step::new("go")
            .args(["build", "-o"])
            .arg("main")
            .envs([("GOPROXY", "off"), ("CGO_ENABLED", "0")])
            .env("A", "b");
        assert_eq!(step.args, ["build", "-o", "main"]);
        let env: Vec<(&str, &str)> = step
            .env
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(env, [("GOPROXY", "off"), ("CGO_ENABLED", "0"), ("A", "b")]);
        let request = crate::testing::request("package main", &["x"], &[]);
        let plan = Plan::new(&request, "main.go", Step::new("./main"))
            .with_compile(step)
            .with_file("go.mod", "module main\n")
            .with_artifacts(["main"]);
        let files: Vec<(&str, &str, bool)> = plan
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.content.as_str(), f.executable))
            .collect();
        assert_eq!(
            files,
            [
                ("main.go", "package main", false),
                ("go.mod", "module main\n", false)
            ]
        );
        assert_eq!(plan.run.args, ["x"]);
        assert_eq!(plan.artifacts, ["main"]);
    }
}
