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
    // Piston's `runtime` for C++: its gcc package.
    assert_eq!(id.runtime.as_deref(), Some("gcc"));
}

#[test]
fn default_plan() {
    let plan =
        codr_sdk::testing::plan::<Cpp>(&request("int main(){}", &["a", "b c"], &[])).unwrap();
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
    let plan = codr_sdk::testing::plan::<Cpp>(&request("", &["x"], &settings)).unwrap();
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
        let plan = codr_sdk::testing::plan::<Cpp>(&request(&sample.source, &[], &[])).unwrap();
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

/// The other C++ sources (`.cpp`, `.cc`, `.cxx`) sent with the program are
/// compiled with it, in the order sent; headers, C files and a source the
/// program includes itself are not.
#[test]
fn other_cpp_files_are_compiled_with_the_program() {
    let source = "#include \"inline.cpp\"\nint main(){}\n";
    let mut req = request(source, &[], &[]);
    req.files = [
        "a.cpp",
        "b.cc",
        "util.h",
        "c.c",
        "d/e.cxx",
        "inline.cpp",
        "f.hpp",
    ]
    .map(String::from)
    .to_vec();
    let plan = codr_sdk::testing::plan::<Cpp>(&req).unwrap();
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(
        compile.args[compile.args.len() - 4..],
        ["main.cpp", "a.cpp", "b.cc", "d/e.cxx"]
    );
}

/// main calls a function defined in a second file: built with g++ as the
/// plan says, it runs.
#[test]
fn a_program_of_two_cpp_files_builds_and_runs() {
    let main = "#include <iostream>\n#include \"twice.hpp\"\nint main(){ std::cout << twice(21) << std::endl; }\n";
    let mut req = request(main, &[], &[]);
    req.files = vec!["twice.hpp".into(), "twice.cpp".into()];
    let mut plan = codr_sdk::testing::plan::<Cpp>(&req).unwrap();
    for (path, content) in [
        ("twice.hpp", "int twice(int n);\n"),
        (
            "twice.cpp",
            "#include \"twice.hpp\"\nint twice(int n) { return 2 * n; }\n",
        ),
    ] {
        plan.files.push(codr_sdk::SourceFile {
            path: path.into(),
            content: content.into(),
            executable: false,
        });
    }
    let out = run_plan(&plan, "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n", "{out:?}");
}

/// Every sample passes the plugin's own rules and plans into a plan the
/// host accepts (the SDK's check, no toolchain needed; `codr plugin check`
/// builds and runs them in the sandbox).
#[test]
fn samples_pass_the_rules_and_plan() {
    codr_sdk::testing::check_samples::<codr_plugin_cpp::Cpp>();
}
