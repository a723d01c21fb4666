//! Compile and run steps as data, overridable by the operator.
//!
//! Shared by the C, C++ and Rust plugins (included with `#[path]`): the
//! commands are defaults that the settings `compile-program`, `compile-args`,
//! `run-program` and `run-args` replace, so the host never hard-codes a
//! compiler and an operator can point at another toolchain without a rebuild.

use codr_sdk::{Limits, PlanRequest, Settings, Step};

/// Setting: the compiler to run instead of the default.
pub const COMPILE_PROGRAM: &str = "compile-program";
/// Setting: the compiler's whole argument list (space-separated), replacing
/// the default one (it must name the source and the output itself).
pub const COMPILE_ARGS: &str = "compile-args";
/// Setting: the program the run step starts instead of `./main`.
pub const RUN_PROGRAM: &str = "run-program";
/// Setting: arguments (space-separated) placed before the user's arguments.
pub const RUN_ARGS: &str = "run-args";

/// Limits that keep every deployment default.
pub fn default_limits() -> Limits {
    Limits {
        wall_time_ms: None,
        cpu_time_ms: None,
        memory_bytes: None,
        processes: None,
        file_size_bytes: None,
        output_bytes: None,
        address_space_bytes: None,
    }
}

/// The compile step: `program args`, unless the settings override them.
pub fn compile_step(settings: &Settings, program: &str, args: &[&str], limits: Limits) -> Step {
    Step {
        program: settings.get(COMPILE_PROGRAM).unwrap_or(program).to_string(),
        args: words_or(settings.get(COMPILE_ARGS), args),
        env: Vec::new(),
        limits,
    }
}

/// The run step: `program args` followed by the user's arguments, unless the
/// settings override the program or the fixed arguments.
pub fn run_step(request: &PlanRequest, settings: &Settings, program: &str, limits: Limits) -> Step {
    let mut args = words_or(settings.get(RUN_ARGS), &[]);
    args.extend(request.args.iter().cloned());
    Step {
        program: settings.get(RUN_PROGRAM).unwrap_or(program).to_string(),
        args,
        env: Vec::new(),
        limits,
    }
}

/// `value` split on whitespace, or `default` when the setting is absent.
fn words_or(value: Option<&str>, default: &[&str]) -> Vec<String> {
    match value {
        Some(v) => v.split_whitespace().map(str::to_string).collect(),
        None => default.iter().map(|s| s.to_string()).collect(),
    }
}
