//! The Java rules on whole programs: what is rejected (rule id and position
//! asserted), what passes, and the operator's settings. Every program here is
//! also compiled with the real javac (`tests/javac.rs` shares these lists), so
//! the rules are judged on Java that javac accepts.

mod programs;

use codr_plugin_java::rules::{validate, BLOCKED_CLASS, BLOCKED_IMPORT, NATIVE_METHOD};
use codr_sdk::{Diagnostic, Settings};
use programs::{ACCEPTED, REJECTED};

fn check(source: &str) -> Vec<Diagnostic> {
    validate(source, &Settings::default())
}

/// `(rule, line, column)` of each diagnostic.
fn found(source: &str) -> Vec<(String, u32, u32)> {
    check(source)
        .into_iter()
        .map(|d| (d.rule, d.line, d.column))
        .collect()
}

#[test]
fn rejected_programs_report_rule_and_position() {
    assert!(REJECTED.len() >= 10);
    for program in REJECTED {
        let expected: Vec<(String, u32, u32)> = program
            .expected
            .iter()
            .map(|(rule, line, column)| (rule.to_string(), *line, *column))
            .collect();
        assert_eq!(found(program.source), expected, "program {}", program.name);
    }
}

#[test]
fn accepted_programs_pass() {
    assert!(ACCEPTED.len() >= 10);
    for program in ACCEPTED {
        assert_eq!(check(program.source), vec![], "program {}", program.name);
    }
}

#[test]
fn diagnostics_span_the_offending_text_and_explain() {
    let d = &check("import java.net.*;\n")[0];
    assert_eq!((d.line, d.column, d.end_line, d.end_column), (1, 8, 1, 18));
    assert_eq!(
        d.message,
        "import of java.net.* is not allowed: network access is not available here"
    );

    let d = &check("class A { String h = System . getenv(\"HOME\"); }")[0];
    assert_eq!(d.rule, BLOCKED_CLASS);
    assert_eq!((d.line, d.column, d.end_line, d.end_column), (1, 22, 1, 37));
    assert!(
        d.message.starts_with("System.getenv is not allowed"),
        "{}",
        d.message
    );

    let d = &check("class A { Object s = new java.net.Socket(); }")[0];
    assert_eq!((d.column, d.end_column), (26, 41));
    assert!(
        d.message.starts_with("java.net.Socket is not allowed"),
        "{}",
        d.message
    );

    // A name written with an escape is reported where it is written.
    let d = &check("class A { Object r = \\u0052untime.getRuntime(); }")[0];
    assert_eq!((d.column, d.end_column), (22, 34));
    assert!(
        d.message.starts_with("Runtime is not allowed"),
        "{}",
        d.message
    );
}

#[test]
fn allow_classes_loosens_classes_and_members() {
    let source = "import java.io.File;\nclass A { void f() { Runtime.getRuntime(); System.getenv(\"X\"); new File(\"x\"); } }";
    assert_eq!(check(source).len(), 3);
    let allow = |value: &str| validate(source, &Settings::from_pairs(&[("allow-classes", value)]));
    assert_eq!(allow("Runtime, System.getenv, java.io.File"), vec![]);
    let left: Vec<String> = allow("Runtime").into_iter().map(|d| d.message).collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|m| !m.starts_with("Runtime")));
    // A simple name allows the class by that name only, not its neighbours.
    let io = "import java.io.*;\nclass A { void f() throws Exception { new FileReader(new File(\"x\")); } }";
    let only_file = validate(io, &Settings::from_pairs(&[("allow-classes", "File")]));
    assert_eq!(only_file.len(), 1);
    assert!(only_file[0].message.starts_with("FileReader"));
}

#[test]
fn allow_packages_loosens_imports_and_qualified_names() {
    let source = "import java.nio.file.*;\nimport java.nio.file.Path;\nclass A { Object p = java.nio.file.Paths.get(\"x\"); Object s = new java.net.Socket(); }";
    assert_eq!(check(source).len(), 4);
    let settings = Settings::from_pairs(&[("allow-packages", "java.nio.file")]);
    let left = validate(source, &settings);
    assert_eq!(left.len(), 1);
    assert!(left[0].message.starts_with("java.net.Socket"));
    // A parent package allows its sub-packages; a similar prefix does not.
    assert_eq!(
        validate(
            source,
            &Settings::from_pairs(&[("allow-packages", "java.nio, java.net")])
        ),
        vec![]
    );
    assert_eq!(
        validate(
            source,
            &Settings::from_pairs(&[("allow-packages", "java.ni")])
        )
        .len(),
        4
    );
}

#[test]
fn disable_rules_skips_whole_rules() {
    let source =
        "import java.net.*;\nclass A { native void f(); void g() { Runtime.getRuntime(); } }";
    let rules = |value: &str| -> Vec<String> {
        validate(source, &Settings::from_pairs(&[("disable-rules", value)]))
            .into_iter()
            .map(|d| d.rule)
            .collect()
    };
    assert_eq!(
        rules(""),
        vec![BLOCKED_IMPORT, NATIVE_METHOD, BLOCKED_CLASS]
    );
    assert_eq!(rules("native-method"), vec![BLOCKED_IMPORT, BLOCKED_CLASS]);
    assert_eq!(rules("blocked-import, blocked-class"), vec![NATIVE_METHOD]);
}

#[test]
fn rule_infos_name_every_rule() {
    let ids: Vec<String> = codr_plugin_java::rules::rule_infos()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![BLOCKED_IMPORT, BLOCKED_CLASS, NATIVE_METHOD]);
}
