//! The plan: files, commands, environment, limits, operator overrides, and
//! the plugin's identity and samples.

use codr_plugin_java::{Java, COMPILE_ARGS, RUN_ARGS};
use codr_sdk::{testing::request, Language, Plan, PlanRequest};

/// The plan, with the grammar (which finds the class names) loaded natively.
fn plan(request: &PlanRequest) -> Plan {
    codr_sdk::testing::load_grammar::<Java>();
    codr_plugin_java::plan(request)
}

const GRADES: &str = "import java.util.*;\npublic class Grades {\n  record Student(String name) {}\n  public static void main(String[] args) {}\n}\n";

#[test]
fn default_plan_compiles_and_runs_the_public_class() {
    let p = plan(&request(GRADES, &["x", "y z"], &[]));
    assert_eq!(p.files.len(), 1);
    assert_eq!(p.files[0].path, "Grades.java");
    assert_eq!(p.files[0].content, GRADES);
    assert!(!p.files[0].executable);

    let compile = p.compile.expect("javac step");
    assert_eq!(compile.program, "javac");
    let mut expected: Vec<String> = COMPILE_ARGS.iter().map(|a| a.to_string()).collect();
    expected.push("Grades.java".into());
    assert_eq!(compile.args, expected);

    assert_eq!(p.run.program, "java");
    let mut expected: Vec<String> = RUN_ARGS.iter().map(|a| a.to_string()).collect();
    expected.extend(["Grades", "x", "y z"].map(String::from));
    assert_eq!(p.run.args, expected);

    assert_eq!(p.artifacts, vec!["classes"]);
    for step in [&compile, &p.run] {
        let env: Vec<(&str, &str)> = step
            .env
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(env, vec![("MALLOC_ARENA_MAX", "2")]);
    }
}

#[test]
fn limits_fit_a_jvm() {
    let p = plan(&request(GRADES, &[], &[]));
    let c = p.compile.unwrap().limits;
    assert_eq!(c.wall_time_ms, Some(20_000));
    assert_eq!(c.cpu_time_ms, Some(20_000));
    assert_eq!(c.memory_bytes, Some(512 << 20));
    assert_eq!(c.processes, Some(64));
    assert_eq!(c.address_space_bytes, Some(2 << 30));
    let r = p.run.limits;
    assert_eq!(
        r.wall_time_ms, None,
        "the deployment's run wall time is kept"
    );
    assert_eq!(r.cpu_time_ms, Some(10_000));
    assert_eq!(r.memory_bytes, Some(512 << 20));
    assert_eq!(r.processes, Some(128));
    assert_eq!(r.address_space_bytes, Some(4 << 30));
    assert_eq!((r.file_size_bytes, r.output_bytes), (None, None));
}

#[test]
fn operator_overrides_commands() {
    let settings = [
        ("compile-program", "/opt/jdk21/bin/javac"),
        ("compile-args", "-d .  --release 17"),
        ("run-program", "/opt/jdk21/bin/java"),
        ("run-args", "-Xmx64m -cp ."),
    ];
    let p = plan(&request(GRADES, &["arg"], &settings));
    let compile = p.compile.unwrap();
    assert_eq!(compile.program, "/opt/jdk21/bin/javac");
    assert_eq!(
        compile.args,
        vec!["-d", ".", "--release", "17", "Grades.java"]
    );
    assert_eq!(p.run.program, "/opt/jdk21/bin/java");
    assert_eq!(p.run.args, vec!["-Xmx64m", "-cp", ".", "Grades", "arg"]);
    // Class files in the job directory itself: the named ones are handed on.
    assert_eq!(p.artifacts, vec!["Grades.class", "Grades$Student.class"]);
}

#[test]
fn packaged_and_nameless_sources() {
    let p = plan(&request(
        "package a.b;\npublic class C { public static void main(String[] x) {} }",
        &[],
        &[],
    ));
    assert_eq!(p.files[0].path, "C.java");
    assert_eq!(p.run.args.last().unwrap(), "a.b.C");
    assert_eq!(p.artifacts, vec!["classes"]);

    let p = plan(&request("", &[], &[]));
    assert_eq!(p.files[0].path, "Main.java");
    assert_eq!(p.run.args.last().unwrap(), "Main");
}

#[test]
fn identity_and_samples() {
    let id = Java::identity();
    assert_eq!(id.name, "java");
    assert_eq!(id.version, "17");
    assert_eq!(id.aliases, vec!["java17", "jdk"]);
    assert_eq!(id.extension, "java");
    assert_eq!(id.editor_mode, "java");
    assert_eq!(
        id.grammar.as_deref(),
        Some("java"),
        "the grammar shipped in the plugin"
    );
    let wasm = Java::grammar_wasm().expect("a shipped grammar");
    assert_eq!(&wasm[..4], b"\0asm");

    let samples = Java::samples();
    let names: Vec<&str> = samples.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "hello-world",
            "records-and-streams",
            "anonymous-classes",
            "scanner-input"
        ]
    );
    assert_eq!(samples[0].expected_stdout, "Hello, World!\n");
    // Samples pass the plugin's own rules.
    codr_sdk::testing::load_grammar::<Java>();
    for s in &samples {
        assert_eq!(
            Java::validate(&s.source, &Default::default()),
            vec![],
            "{}",
            s.name
        );
    }
}
