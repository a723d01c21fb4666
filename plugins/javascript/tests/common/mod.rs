//! Runs a plan the way the host would (without the sandbox): files written
//! into a fresh job directory, the run step started there with an
//! environment built from scratch.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use codr_plugin_javascript::JavaScript;
use codr_sdk::{Language, PlanRequest};

/// Plans `source`, runs it with `stdin`, and returns what it printed.
pub fn run_plan(source: &str, stdin: &str) -> Output {
    let plan = JavaScript::plan(&PlanRequest {
        source: source.to_string(),
        args: Vec::new(),
        settings: Vec::new(),
    })
    .expect("plan");
    let job = tempfile::tempdir().expect("job dir");
    let dir = job.path();
    for file in &plan.files {
        std::fs::write(dir.join(&file.path), &file.content).expect("write job file");
    }
    let mut child = Command::new(&plan.run.program)
        .args(&plan.run.args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .envs(plan.run.env.iter().map(|v| (&v.name, &v.value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the planned program");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}
