//! The C++ plugin's identity and plan, and its samples built and run with the
//! real g++ following the plan (outside the sandbox: this checks the plan's
//! commands, not the isolation).

use codr_plugin_cpp::Cpp;
use codr_sdk::testing::{request, run_plan};
use codr_sdk::Language;

#[test]
fn identity() {
    let id = Cpp::identity();
    assert_eq!(id.name, "cpp");
    assert_eq!(id.version, "12");
    assert_eq!(id.aliases, vec!["c++", "cxx", "g++", "cpp17"]);
    assert_eq!(id.extension, "cpp");
    assert_eq!(id.editor_mode, "cpp");
    assert_eq!(id.grammar.as_deref(), Some("cpp"));
}

#[test]
fn default_plan() {
    let plan = Cpp::plan(&request("int main(){}", &["a", "b c"], &[])).unwrap();
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "main.cpp");
    assert_eq!(plan.files[0].content, "int main(){}");
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(compile.program, "g++");
    assert_eq!(
        compile.args,
        vec![
            "-std=c++17",
            "-O2",
            "-pipe",
            "-fdiagnostics-color=never",
            "-o",
            "main",
            "main.cpp"
        ]
    );
    assert_eq!(compile.limits.memory_bytes, Some(512 << 20));
    assert!(compile.env.is_empty());
    assert_eq!(plan.run.program, "./main");
    assert_eq!(plan.run.args, vec!["a", "b c"]);
    assert_eq!(plan.artifacts, vec!["main"]);
}

#[test]
fn operator_overrides_commands() {
    let settings = [
        ("compile-program", "clang++"),
        ("compile-args", "-std=c++20 -O0 -o main main.cpp"),
        ("run-program", "/usr/bin/env"),
        ("run-args", "./main --fast"),
    ];
    let plan = Cpp::plan(&request("", &["x"], &settings)).unwrap();
    let compile = plan.compile.unwrap();
    assert_eq!(compile.program, "clang++");
    assert_eq!(
        compile.args,
        vec!["-std=c++20", "-O0", "-o", "main", "main.cpp"]
    );
    assert_eq!(plan.run.program, "/usr/bin/env");
    assert_eq!(plan.run.args, vec!["./main", "--fast", "x"]);
}

#[test]
fn samples_compile_and_print_the_expected_output() {
    let samples = Cpp::samples();
    assert!(samples
        .iter()
        .any(|s| s.expected_stdout == "Hello, World!\n"));
    assert!(samples.iter().any(|s| !s.stdin.is_empty()));
    for sample in samples {
        let plan = Cpp::plan(&request(&sample.source, &[], &[])).unwrap();
        let out = run_plan(&plan, &sample.stdin);
        assert!(out.status.success(), "{}: {:?}", sample.name, out);
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            sample.expected_stdout,
            "{}",
            sample.name
        );
    }
}
