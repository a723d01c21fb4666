//! The C plugin's identity and plan, and its samples built and run with the
//! real gcc following the plan (outside the sandbox: this checks the plan's
//! commands, not the isolation).

use codr_plugin_c::C;
use codr_sdk::testing::{request, run_plan};
use codr_sdk::Language;

#[test]
fn identity() {
    let id = C::identity();
    assert_eq!(id.name, "c");
    assert_eq!(id.version, "12");
    assert_eq!(id.aliases, vec!["gcc", "c11"]);
    assert_eq!(id.extension, "c");
    assert_eq!(id.editor_mode, "c");
    assert_eq!(id.grammar.as_deref(), Some("c"));
    // Piston's `runtime` for C: its gcc package.
    assert_eq!(id.runtime.as_deref(), Some("gcc"));
}

#[test]
fn default_plan() {
    let plan =
        codr_sdk::testing::plan::<C>(&request("int main(void){return 0;}", &["a", "b c"], &[]))
            .unwrap();
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "main.c");
    assert_eq!(plan.files[0].content, "int main(void){return 0;}");
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(compile.program, "gcc");
    assert_eq!(
        compile.args,
        vec![
            "-std=c11",
            "-O2",
            "-pipe",
            "-fdiagnostics-color=never",
            "-o",
            "main",
            "main.c",
            "-lm"
        ]
    );
    assert!(compile.env.is_empty());
    assert_eq!(plan.run.program, "./main");
    assert_eq!(plan.run.args, vec!["a", "b c"]);
    assert_eq!(plan.artifacts, vec!["main"]);
}

#[test]
fn operator_overrides_commands() {
    let settings = [
        ("compile-program", "/opt/gcc-14/bin/gcc"),
        ("compile-args", "-std=c17 -O0 -o main main.c"),
        ("run-program", "/usr/bin/env"),
        ("run-args", "./main --fast"),
    ];
    let plan = codr_sdk::testing::plan::<C>(&request("", &["x"], &settings)).unwrap();
    let compile = plan.compile.unwrap();
    assert_eq!(compile.program, "/opt/gcc-14/bin/gcc");
    assert_eq!(
        compile.args,
        vec!["-std=c17", "-O0", "-o", "main", "main.c"]
    );
    assert_eq!(plan.run.program, "/usr/bin/env");
    assert_eq!(plan.run.args, vec!["./main", "--fast", "x"]);
}

#[test]
fn samples_compile_and_print_the_expected_output() {
    let samples = C::samples();
    assert!(samples
        .iter()
        .any(|s| s.expected_stdout == "Hello, World!\n"));
    assert!(samples.iter().any(|s| !s.stdin.is_empty()));
    for sample in samples {
        let plan = codr_sdk::testing::plan::<C>(&request(&sample.source, &[], &[])).unwrap();
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

/// The other `.c` files sent with the program are compiled with it, in the
/// order sent, before `-lm`; headers, data, other languages' files and a
/// `.c` file the program includes itself are not.
#[test]
fn other_c_files_are_compiled_with_the_program() {
    let source = "#include \"inline.c\"\n#  include \"lib/more.h\"\nint twice(int);\nint main(void){return twice(0);}\n";
    let mut req = request(source, &[], &[]);
    req.files = [
        "util.c",
        "notes.txt",
        "lib/more.h",
        "lib/more.c",
        "inline.c",
        "x.cpp",
        "c",
    ]
    .map(String::from)
    .to_vec();
    let plan = codr_sdk::testing::plan::<C>(&req).unwrap();
    let compile = plan.compile.as_ref().unwrap();
    assert_eq!(
        compile.args[compile.args.len() - 4..],
        ["main.c", "util.c", "lib/more.c", "-lm"]
    );
    // An operator's compile-args are the whole list.
    let req = codr_sdk::PlanRequest {
        files: vec!["util.c".into()],
        ..request("", &[], &[("compile-args", "-o main main.c")])
    };
    let plan = codr_sdk::testing::plan::<C>(&req).unwrap();
    assert_eq!(plan.compile.unwrap().args, ["-o", "main", "main.c"]);
}

/// main calls a function defined in a second file: built with gcc as the
/// plan says, it runs.
#[test]
fn a_program_of_two_c_files_builds_and_runs() {
    let main = "#include <stdio.h>\nint twice(int n);\nint main(void){ printf(\"%d\\n\", twice(21)); return 0; }\n";
    let mut req = request(main, &[], &[]);
    req.files = vec!["twice.c".into()];
    let mut plan = codr_sdk::testing::plan::<C>(&req).unwrap();
    // The host writes the extra files beside the plan's; run_plan writes the
    // plan's files only.
    plan.files.push(codr_sdk::SourceFile {
        path: "twice.c".into(),
        content: "#include <math.h>\nint twice(int n) { return (int)sqrt((double)(4 * n * n)); }\n"
            .into(),
        executable: false,
    });
    let out = run_plan(&plan, "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n", "{out:?}");
}

/// Every sample passes the plugin's own rules and plans into a plan the
/// host accepts (the SDK's check, no toolchain needed; `codr plugin check`
/// builds and runs them in the sandbox).
#[test]
fn samples_pass_the_rules_and_plan() {
    codr_sdk::testing::check_samples::<codr_plugin_c::C>();
}
