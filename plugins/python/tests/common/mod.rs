//! Runs a plan the way the host would (without the sandbox), through the
//! SDK's test helper.

use std::process::Output;

use codr_plugin_python::Python;
use codr_sdk::testing::{request, run_plan as run};

/// Plans `source`, runs it with `stdin`, and returns what it printed.
pub fn run_plan(source: &str, stdin: &str) -> Output {
    run(
        &codr_sdk::testing::plan::<Python>(&request(source, &[], &[])).expect("plan"),
        stdin,
    )
}
