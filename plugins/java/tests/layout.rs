//! Finding the file name and the main class with queries on the grammar.

use codr_plugin_java::layout::Layout;
use codr_plugin_java::Java;

fn layout(source: &str) -> Layout {
    codr_sdk::testing::load_grammar::<Java>();
    codr_plugin_java::layout::layout(source)
}

fn names(source: &str) -> (String, String) {
    let l = layout(source);
    (l.file_class, l.main_class)
}

fn pair(file: &str, main: &str) -> (String, String) {
    (file.to_string(), main.to_string())
}

#[test]
fn public_class_with_main() {
    let source =
        "import java.util.*;\npublic class Foo {\n public static void main(String[] args) {}\n}";
    assert_eq!(names(source), pair("Foo", "Foo"));
}

#[test]
fn no_public_type_uses_the_class_with_main() {
    let source = "class Helper { int x; }\nclass Program { static public void main(final String... args) {} }";
    assert_eq!(names(source), pair("Program", "Program"));
}

#[test]
fn nothing_declared_falls_back_to_main() {
    assert_eq!(names(""), pair("Main", "Main"));
    assert_eq!(names("class A {} interface B {}"), pair("Main", "Main"));
}

#[test]
fn public_type_without_main_names_the_file_only() {
    let source = "public class Shapes { }\nclass Runner { public static void main(String[] a) {} }";
    assert_eq!(names(source), pair("Shapes", "Runner"));
}

#[test]
fn main_in_the_public_type_wins_over_an_earlier_one() {
    let source = "class Helper { public static void main(String[] a) {} }\npublic class App { public static void main(String[] a) {} }";
    assert_eq!(names(source), pair("App", "App"));
}

#[test]
fn modifiers_annotations_records_enums_interfaces() {
    let annotated = "@SuppressWarnings({\"unchecked\", \"rawtypes\"})\npublic final class X { public static void main(String[] a) {} }";
    assert_eq!(names(annotated), pair("X", "X"));
    let record = "public record R(int a) { public static void main(String[] args) {} }";
    assert_eq!(names(record), pair("R", "R"));
    let record_generic = "public record Pair<A, B>(A a, B b) {}";
    assert_eq!(names(record_generic), pair("Pair", "Pair"));
    let interface = "public interface I { static void main(String[] args) {} }";
    assert_eq!(names(interface), pair("I", "I"));
    let en = "public enum Color { RED { int f() { return 1; } }, GREEN; public static void main(String[] a) {} }";
    assert_eq!(names(en), pair("Color", "Color"));
    let sealed = "public sealed interface Shape permits Circle {}\nfinal class Circle implements Shape { public static void main(String[] a) {} }";
    assert_eq!(names(sealed), pair("Shape", "Circle"));
}

#[test]
fn nested_main_class_gets_its_binary_name() {
    let source = "public class Outer {\n  static class Inner {\n    public static void main(String[] args) {}\n  }\n}";
    let l = layout(source);
    assert_eq!(
        (l.file_class.as_str(), l.main_class.as_str()),
        ("Outer", "Outer$Inner")
    );
    assert_eq!(l.classes, vec!["Outer", "Outer$Inner"]);
}

#[test]
fn strings_comments_and_class_literals_are_not_declarations() {
    let source = "// public class Fake {}\n/* public class Fake2 {} */\nclass Real {\n  String s = \"public class Nope { }\";\n  Object c = Real.class;\n  public static void main(String[] a) {}\n}";
    assert_eq!(names(source), pair("Real", "Real"));
    // `record` as an ordinary name, and a call of a method named main.
    let source = "public class K { static void run() { int record = 1; main(null); } static void main(String[] a) {} }";
    assert_eq!(names(source), pair("K", "K"));
}

#[test]
fn unicode_escapes_in_names_are_translated() {
    assert_eq!(names("public class \\u0041pp { }"), pair("App", "App"));
    assert_eq!(names("public class Größe { }"), pair("Größe", "Größe"));
}

#[test]
fn package_prefixes_launch_name_and_class_files() {
    let source = "package com.example.app;\n\nimport java.util.*;\n\npublic class Tool {\n  record Item(int id) {}\n  public static void main(String[] a) {}\n}";
    let l = layout(source);
    assert_eq!(
        l,
        Layout {
            package: Some("com.example.app".into()),
            file_class: "Tool".into(),
            main_class: "Tool".into(),
            classes: vec!["Tool".into(), "Tool$Item".into()],
        }
    );
    assert_eq!(l.launch_name(), "com.example.app.Tool");
    assert_eq!(
        l.class_files(),
        vec![
            "com/example/app/Tool.class",
            "com/example/app/Tool$Item.class"
        ]
    );
}

#[test]
fn local_and_anonymous_classes_are_not_listed() {
    let source = "public class M {\n  interface Op { int f(); }\n  public static void main(String[] a) {\n    class Local { }\n    Op op = new Op() { public int f() { class Deeper {} return 1; } };\n    Runnable r = () -> { };\n  }\n  static class After { }\n}\nclass Second { }";
    let l = layout(source);
    assert_eq!(l.classes, vec!["M", "M$Op", "M$After", "Second"]);
    assert_eq!(l.main_class, "M");
}
