//! The Java rules on whole programs: what is rejected (rule id and position
//! asserted), what passes, and the operator's settings, on the grammar the
//! plugin ships (loaded into the SDK's native engine). Every program here is
//! also compiled with the real javac (`tests/javac.rs` shares these lists), so
//! the rules are judged on Java that javac accepts.

mod programs;

use codr_plugin_java::rules::{BLOCKED_CLASS, BLOCKED_IMPORT, NATIVE_METHOD};
use codr_plugin_java::Java;
use codr_sdk::{Diagnostic, Settings};
use programs::{ACCEPTED, REJECTED};

/// The rules with the grammar this plugin ships loaded natively.
fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
    codr_sdk::testing::load_grammar::<Java>();
    codr_plugin_java::rules::validate(source, settings)
}

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

#[test]
fn unicode_escapes_are_read_as_javac_reads_them() {
    // Refused, at the line and column of the original text.
    let refused: &[(&str, &str, u32, u32)] = &[
        (
            r"class A { void f() { \u0052untime.getRuntime(); } }",
            BLOCKED_CLASS,
            1,
            22,
        ),
        (
            r"class A { void f() { \uuuu0052untime.getRuntime(); } }",
            BLOCKED_CLASS,
            1,
            22,
        ),
        (
            r"class A { Object o = java\u002elang\u002eRuntime.getRuntime(); }",
            BLOCKED_CLASS,
            1,
            22,
        ),
        (
            r#"class A { String h = System.\u0067etenv("HOME"); }"#,
            BLOCKED_CLASS,
            1,
            22,
        ),
        ("import java.n\\u0065t.*;\nclass A {}", BLOCKED_IMPORT, 1, 8),
        (r"class A { \u006eative void f(); }", NATIVE_METHOD, 1, 11),
        // An escaped quote ends the string, an escaped newline the comment.
        (
            r#"class A { String s = "\u0022; Object r = Runtime.getRuntime(); String t = \u0022"; }"#,
            BLOCKED_CLASS,
            1,
            42,
        ),
        (
            "class A {\n  // note \\u000a String h = System.getenv(\"X\");\n}",
            BLOCKED_CLASS,
            2,
            29,
        ),
        // An ignorable character written as an escape inside a name.
        (
            r"class A { void f() { Run\u200Btime.getRuntime(); } }",
            BLOCKED_CLASS,
            1,
            22,
        ),
    ];
    for &(source, rule, line, column) in refused {
        assert_eq!(
            found(source),
            vec![(rule.to_string(), line, column)],
            "{source}"
        );
    }
    // The span ends after the last original character of the name.
    let d = &check(r"class A { Object o = java\u002elang\u002eRuntime.getRuntime(); }")[0];
    assert_eq!((d.line, d.column, d.end_line, d.end_column), (1, 22, 1, 60));
    assert!(
        d.message
            .starts_with("java.lang.Runtime.getRuntime is not allowed"),
        "{}",
        d.message
    );
    // Lines after an escaped newline keep their original numbers.
    let source = "class A {\n  // \\u000a int x;\n  Object r = Runtime.getRuntime();\n}";
    assert_eq!(found(source), vec![(BLOCKED_CLASS.to_string(), 3, 14)]);

    // Harmless escapes: inside literals and comments, or not escapes at all.
    let accepted = [
        r#"class A { String s = "\u0052untime.getRuntime() \u2713 caf\u00e9"; }"#,
        r#"class A { char q = '\u0022'; String t = "\\u0052untime.getRuntime()"; }"#,
        "class A {\n  String b = \"\"\"\n    \\u0052untime.exec(\"x\") \\u0041\n    \"\"\";\n}",
        "class A {\n  // \\u0052untime.getRuntime() stays in the comment\n  /* \\u0052untime */ int x;\n}",
        "class \\u0041pp { int \\u0078 = 1; }",
    ];
    for source in accepted {
        assert_eq!(check(source), vec![], "{source}");
    }
}

#[test]
fn every_program_parses_without_a_syntax_error() {
    // The grammar must read all of Java 17 that the rules are tested on: a
    // construct it cannot parse could hide a blocked call from the queries.
    codr_sdk::testing::load_grammar::<Java>();
    for program in REJECTED.iter().chain(ACCEPTED) {
        let text = codr_plugin_java::unicode::Translated::new(program.source).text;
        let errors = codr_sdk::syntax::syntax_errors("java", &text, 5).unwrap();
        assert_eq!(errors, vec![], "program {}", program.name);
    }
}

#[test]
fn blocked_names_in_every_syntactic_place() {
    // (body of a method of class A, columns of blocked-class in `    <body>`)
    let cases: &[(&str, &[u32])] = &[
        (
            "Supplier<ProcessBuilder> s = ProcessBuilder::new;",
            &[14, 34],
        ),
        ("Object o = (Runtime) null;", &[17]),
        ("Runnable r = () -> Runtime.getRuntime().gc();", &[24]),
        ("Object[] a = new ClassLoader[0];", &[22]),
        (
            "java.util.function.Function<String, String> f = java.lang.System::getenv;",
            &[53],
        ),
        ("Object c = this.getClass().getClassLoader();", &[32]),
        ("String v = java.lang.System.getenv(\"X\");", &[16]),
        (
            "String w = System.<String>lineSeparator() + System.getProperty(\"x\");",
            &[],
        ),
    ];
    for &(body, columns) in cases {
        let source = format!(
            "import java.util.function.*;\nclass A {{\n  void f() {{\n    {body}\n  }}\n}}\n"
        );
        let expected: Vec<(String, u32, u32)> = columns
            .iter()
            .map(|&column| (BLOCKED_CLASS.to_string(), 4, column))
            .collect();
        assert_eq!(found(&source), expected, "{body}");
    }
    // In a static initializer, a field, a default method, an enum constant.
    let source = "interface I {\n  default void f() { Runtime.getRuntime(); }\n}\nenum E {\n  X { void g() { System.loadLibrary(\"x\"); } };\n  void g() {}\n  static { ProcessHandle.current(); }\n  Object p = new ProcessBuilder();\n}\n";
    let positions: Vec<(u32, u32)> = check(source).iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(positions, vec![(2, 22), (5, 18), (7, 12), (8, 18)]);
}
