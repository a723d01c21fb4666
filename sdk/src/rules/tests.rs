use super::*;

/// `(line, column, end_line, end_column, message)` of each diagnostic.
type Found = Vec<(u32, u32, u32, u32, String)>;

fn run(grammar: &str, rule: Rule, source: &str) -> Found {
    run_with(grammar, rule, source, &Settings::default())
}

fn run_with(grammar: &str, rule: Rule, source: &str, settings: &Settings) -> Found {
    RuleSet::new(grammar)
        .rule(rule)
        .validate(source, settings)
        .into_iter()
        .map(|d| {
            assert_ne!(d.rule, INTERNAL_RULE, "{}", d.message);
            (d.line, d.column, d.end_line, d.end_column, d.message)
        })
        .collect()
}

fn messages(found: &Found) -> Vec<&str> {
    found.iter().map(|f| f.4.as_str()).collect()
}

fn import_msg(m: &str) -> String {
    format!("import of module '{m}' is not allowed")
}

// ---- blocked_imports ----------------------------------------------------

#[test]
fn python_imports_every_form() {
    let src = "import os\nimport os.path\nimport os as o\nfrom os import path\n\
               from os.path import join\nimport json, subprocess\nimport sys as s, math\n";
    let found = run(
        "python",
        blocked_imports("python", &["os", "subprocess", "sys"]),
        src,
    );
    assert_eq!(
        found,
        vec![
            (1, 8, 1, 10, import_msg("os")),
            (2, 8, 2, 15, import_msg("os")),
            (3, 8, 3, 10, import_msg("os")),
            (4, 6, 4, 8, import_msg("os")),
            (5, 6, 5, 13, import_msg("os")),
            (6, 14, 6, 24, import_msg("subprocess")),
            (7, 8, 7, 11, import_msg("sys")),
        ]
    );
}

#[test]
fn python_imports_ignore_lookalikes_strings_comments_and_relative() {
    let src = "import osx\nimport json.os\nfrom . import os\nfrom .os import x\n\
               s = 'import os'\n# import os\nos = 1\n\"\"\"\nimport os\n\"\"\"\n";
    assert!(run("python", blocked_imports("python", &["os"]), src).is_empty());
}

#[test]
fn python_imports_allow_list_and_disable() {
    let rule = || blocked_imports("python", &["os", "sys"]).allow_with("allow-modules");
    let src = "import os\nimport sys\n";
    let allowed = Settings::from_pairs(&[("allow-modules", "sys")]);
    assert_eq!(
        messages(&run_with("python", rule(), src, &allowed)),
        [import_msg("os")]
    );
    let disabled = Settings::from_pairs(&[("disable-rules", "blocked-import")]);
    assert!(run_with("python", rule(), src, &disabled).is_empty());
}

#[test]
fn javascript_imports_every_form() {
    let src = "const a = require('fs');\nconst b = require(\"node:fs\");\n\
               const c = require('fs/promises');\nimport d from 'child_process';\n\
               import { e } from 'node:fs/promises';\nimport 'fs';\n\
               const f = await import('fs');\nexport { g } from 'fs';\n";
    let found = run(
        "javascript",
        blocked_imports("javascript", &["fs", "child_process"]),
        src,
    );
    assert_eq!(
        found,
        vec![
            (1, 19, 1, 23, import_msg("fs")),
            (2, 19, 2, 28, import_msg("fs")),
            (3, 19, 3, 32, import_msg("fs")),
            (4, 15, 4, 30, import_msg("child_process")),
            (5, 19, 5, 37, import_msg("fs")),
            (6, 8, 6, 12, import_msg("fs")),
            (7, 24, 7, 28, import_msg("fs")),
            (8, 19, 8, 23, import_msg("fs")),
        ]
    );
}

#[test]
fn javascript_imports_ignore_lookalikes_strings_and_comments() {
    let src = "const a = require('fsx');\nconst b = require('my-fs');\n\
               const s = \"require('fs')\";\n// require('fs')\n/* import x from 'fs' */\n\
               const c = notrequire('fs');\nconst d = require(name);\n";
    assert!(run("javascript", blocked_imports("javascript", &["fs"]), src).is_empty());
}

#[test]
fn javascript_imports_allow_list_uses_bare_module_names() {
    let rule = blocked_imports("javascript", &["fs", "net"]).allow_with("allow-modules");
    let src = "require('node:fs/promises');\nrequire('net');\n";
    let allowed = Settings::from_pairs(&[("allow-modules", "fs")]);
    assert_eq!(
        messages(&run_with("javascript", rule, src, &allowed)),
        [import_msg("net")]
    );
}

#[test]
fn rust_imports_every_form() {
    let src = "use std::process;\nuse std::process::Command;\nuse ::std::process::exit;\n\
               use std::{fs, process};\nuse std::process as p;\n\
               fn main() { std::process::exit(1); }\nuse std::{process::Stdio};\n";
    let found = run("rust", blocked_imports("rust", &["std::process"]), src);
    let lines: Vec<u32> = found.iter().map(|f| f.0).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7], "{found:?}");
    assert!(
        found.iter().all(|f| f.4 == import_msg("std::process")),
        "{found:?}"
    );
    assert_eq!(found[0], (1, 5, 1, 17, import_msg("std::process")));
    assert_eq!(found[3], (4, 15, 4, 22, import_msg("std::process")));
}

#[test]
fn rust_imports_ignore_lookalikes_strings_and_comments() {
    let src = "use std::processes;\nuse std::io;\nuse mystd::process;\n\
               // use std::process;\nfn main() { let s = \"std::process\"; }\n";
    assert!(run("rust", blocked_imports("rust", &["std::process"]), src).is_empty());
}

// ---- blocked_calls -------------------------------------------------------

fn call_msg(f: &str) -> String {
    format!("call of '{f}' is not allowed")
}

#[test]
fn python_calls() {
    let src = "eval('1')\nx = exec(code)\nos.system('ls')\nprint('eval(1)')\n# eval(2)\nmy_eval(3)\nobj.eval(4)\n";
    let found = run(
        "python",
        blocked_calls("python", &["eval", "exec", "os.system"]),
        src,
    );
    assert_eq!(
        found,
        vec![
            (1, 1, 1, 5, call_msg("eval")),
            (2, 5, 2, 9, call_msg("exec")),
            (3, 1, 3, 10, call_msg("os.system")),
        ]
    );
}

#[test]
fn javascript_calls() {
    let src = "eval('1');\nnew Function('return 1')();\nchild_process.exec('ls');\n\
               console.log('eval(1)');\n// eval(2)\nobj.eval(3);\n";
    let found = run(
        "javascript",
        blocked_calls("javascript", &["eval", "Function", "child_process.exec"]),
        src,
    );
    assert_eq!(
        found,
        vec![
            (1, 1, 1, 5, call_msg("eval")),
            (2, 5, 2, 13, call_msg("Function")),
            (3, 1, 3, 19, call_msg("child_process.exec")),
        ]
    );
}

#[test]
fn c_calls() {
    let src = "#include <stdlib.h>\nint main(void) {\n  system(\"ls\");\n  puts(\"system()\");\n  /* fork(); */\n  return fork();\n}\n";
    let found = run("c", blocked_calls("c", &["system", "fork"]), src);
    assert_eq!(
        found,
        vec![
            (3, 3, 3, 9, call_msg("system")),
            (6, 10, 6, 14, call_msg("fork"))
        ]
    );
}

#[test]
fn cpp_calls_plain_and_qualified() {
    let src = "#include <cstdlib>\nint main() {\n  std::system(\"ls\");\n  system(\"ls\");\n  ::system(\"x\");\n  my::system(\"y\");\n}\n";
    let found = run("cpp", blocked_calls("cpp", &["system", "std::system"]), src);
    assert_eq!(
        found,
        vec![
            (3, 3, 3, 14, call_msg("std::system")),
            (4, 3, 4, 9, call_msg("system")),
            (5, 3, 5, 11, call_msg("system")),
        ]
    );
}

#[test]
fn rust_calls() {
    let src =
        "fn main() {\n    std::process::exit(1);\n    exit(2);\n    let s = \"exit(3)\";\n}\n";
    let found = run(
        "rust",
        blocked_calls("rust", &["std::process::exit", "exit"]),
        src,
    );
    assert_eq!(
        found,
        vec![
            (2, 5, 2, 23, call_msg("std::process::exit")),
            (3, 5, 3, 9, call_msg("exit")),
        ]
    );
}

// ---- blocked_attributes --------------------------------------------------

fn attr_msg(a: &str) -> String {
    format!("access to attribute '{a}' is not allowed")
}

#[test]
fn python_attributes() {
    let src = "f.__globals__\nx = ().__class__.__bases__\ngetattr(f, '__globals__')\n\
               s = '__globals__'\n# f.__globals__\n__globals__ = 1\n";
    let found = run(
        "python",
        blocked_attributes("python", &["__globals__", "__bases__"]),
        src,
    );
    assert_eq!(
        found,
        vec![
            (1, 3, 1, 14, attr_msg("__globals__")),
            (2, 18, 2, 27, attr_msg("__bases__")),
            (3, 12, 3, 25, attr_msg("__globals__")),
        ]
    );
}

#[test]
fn javascript_attributes() {
    let src = "x.constructor;\ny['constructor'];\nz?.__proto__;\nconst s = 'x.constructor';\n// a.constructor\nconstructor;\n";
    let found = run(
        "javascript",
        blocked_attributes("javascript", &["constructor", "__proto__"]),
        src,
    );
    assert_eq!(
        found,
        vec![
            (1, 3, 1, 14, attr_msg("constructor")),
            (2, 3, 2, 16, attr_msg("constructor")),
            (3, 4, 3, 13, attr_msg("__proto__")),
        ]
    );
}

// ---- blocked_headers -----------------------------------------------------

fn header_msg(h: &str) -> String {
    format!("include of header '{h}' is not allowed")
}

#[test]
fn c_headers_and_directory_prefix() {
    let src = "#include <stdio.h>\n#include <sys/socket.h>\n#include \"unistd.h\"\n\
               #include <sys/types.h>\n#include <unistd.hpp>\n// #include <unistd.h>\n\
               const char *s = \"#include <unistd.h>\";\n#include <mysys/x.h>\n";
    let found = run("c", blocked_headers("c", &["unistd.h", "sys/*"]), src);
    assert_eq!(
        found,
        vec![
            (2, 10, 2, 24, header_msg("sys/socket.h")),
            (3, 10, 3, 20, header_msg("unistd.h")),
            (4, 10, 4, 23, header_msg("sys/types.h")),
        ]
    );
}

#[test]
fn cpp_headers_with_allow_list() {
    let rule = blocked_headers("cpp", &["thread", "sys/*"]).allow_with("allow-headers");
    let src = "#include <thread>\n#include <sys/time.h>\n#include <iostream>\n";
    let allowed = Settings::from_pairs(&[("allow-headers", "sys/time.h")]);
    assert_eq!(
        run_with("cpp", rule, src, &allowed),
        vec![(1, 10, 1, 18, header_msg("thread"))]
    );
}

// ---- rule sets -----------------------------------------------------------

#[test]
fn rule_set_combines_rules_sorted_and_deduplicated() {
    let custom = Rule::new(
        "no-global",
        "the global statement is not allowed",
        "(global_statement (identifier) @name) @hit",
        |n| format!("global '{n}' is not allowed"),
    );
    let set = RuleSet::new("python")
        .rule(blocked_calls("python", &["eval"]))
        .rules([blocked_imports("python", &["os"]), custom])
        // The same rule twice: reported once per span, listed once.
        .rule(blocked_calls("python", &["eval"]));
    let infos: Vec<String> = set.infos().into_iter().map(|i| i.id).collect();
    assert_eq!(infos, ["blocked-call", "blocked-import", "no-global"]);
    let src = "def f():\n    global counter\n    eval('1')\nimport os\n";
    let found: Vec<(String, u32, String)> = set
        .validate(src, &Settings::default())
        .into_iter()
        .map(|d| (d.rule, d.line, d.message))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "no-global".into(),
                2,
                "global 'counter' is not allowed".into()
            ),
            ("blocked-call".into(), 3, call_msg("eval")),
            ("blocked-import".into(), 4, import_msg("os")),
        ]
    );
    assert!(set.query().contains("@hit.0") && set.query().contains("@name.2"));
}

#[test]
fn broken_rules_are_reported_as_internal() {
    let bad =
        RuleSet::new("python").rule(Rule::new("bad", "bad", "(no_such_node) @hit", |n| n.into()));
    let found = bad.validate("x = 1", &Settings::default());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, INTERNAL_RULE);
    assert!(
        found[0].message.contains("no_such_node"),
        "{}",
        found[0].message
    );

    let unsupported = RuleSet::new("python").rule(blocked_headers("python", &["x.h"]));
    let found = unsupported.validate("x = 1", &Settings::default());
    assert_eq!(found[0].rule, INTERNAL_RULE);
    assert!(found[0]
        .message
        .contains("does not support grammar 'python'"));

    let mismatch = RuleSet::new("python").rule(blocked_calls("javascript", &["eval"]));
    assert_eq!(
        mismatch.validate("", &Settings::default())[0].rule,
        INTERNAL_RULE
    );
}

#[test]
fn names_needing_escapes_are_safe() {
    // Quotes, backslashes and regex metacharacters must not break queries.
    let tricky = ["a\"b", "c\\d", "e.f", "g(h", "i|j*"];
    for grammar in ["python", "javascript", "c", "cpp", "rust"] {
        let set = RuleSet::new(grammar).rule(blocked_calls(grammar, &tricky));
        assert!(set
            .validate("x", &Settings::default())
            .iter()
            .all(|d| d.rule != INTERNAL_RULE));
    }
    for grammar in ["python", "javascript", "rust"] {
        let set = RuleSet::new(grammar).rule(blocked_imports(grammar, &tricky));
        assert!(set
            .validate("x", &Settings::default())
            .iter()
            .all(|d| d.rule != INTERNAL_RULE));
    }
    // `e.f` is a literal dot, not "any character".
    let found = run(
        "javascript",
        blocked_imports("javascript", &["e.f"]),
        "require('eXf');\nrequire('e.f');\n",
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 2);
    let found = run(
        "c",
        blocked_headers("c", &["a.h", "x+/*"]),
        "#include <aXh>\n#include <x+/y.h>\n",
    );
    assert_eq!(messages(&found), [header_msg("x+/y.h")]);
}

#[test]
fn empty_name_lists_match_nothing() {
    for grammar in ["python", "javascript", "rust"] {
        assert!(run(grammar, blocked_imports(grammar, &[]), "import os").is_empty());
    }
    assert!(run("c", blocked_headers("c", &[]), "#include <x.h>\n").is_empty());
    assert!(run("c", blocked_calls("c", &[]), "int main(){f();}").is_empty());
}

// ---- rename, allow_nested, is_within, syntax_error ------------------------

/// A rule on every Python string, renamed to its text without quotes and
/// kept only under `os/` (a stand-in for Go's decoded import paths).
fn paths_rule() -> Rule {
    Rule::new(
        "blocked-path",
        "paths under os are not allowed",
        "(string) @hit",
        |p| format!("path '{p}' is not allowed"),
    )
    .rename(|s| {
        let path = s.trim_matches('\'');
        is_within(path, "os", '/').then(|| path.to_string())
    })
}

#[test]
fn rename_rewrites_the_name_and_drops_what_it_refuses() {
    let src = "a = 'os/exec'\nb = 'osx'\nc = 'os'\nd = 'fmt'\n";
    let found = run("python", paths_rule(), src);
    assert_eq!(
        messages(&found),
        ["path 'os/exec' is not allowed", "path 'os' is not allowed"]
    );
    assert_eq!((found[0].0, found[0].1), (1, 5));
    assert_eq!((found[1].0, found[1].1), (3, 5));
}

#[test]
fn allow_nested_allows_the_names_below_a_listed_one() {
    let src = "a = 'os/exec'\nb = 'os/exec/x'\nc = 'os/user'\n";
    let rule = || paths_rule().allow_nested("allow-paths", '/');
    let settings = Settings::from_pairs(&[("allow-paths", "os/exec")]);
    let found = run_with("python", rule(), src, &settings);
    assert_eq!(messages(&found), ["path 'os/user' is not allowed"]);
    let settings = Settings::from_pairs(&[("allow-paths", "os")]);
    assert!(run_with("python", rule(), src, &settings).is_empty());
    // Plain allow_with compares whole names.
    let exact = paths_rule().allow_with("allow-paths");
    assert_eq!(run_with("python", exact, src, &settings).len(), 3);
}

#[test]
fn is_within_compares_whole_parts() {
    assert!(is_within("net", "net", '/'));
    assert!(is_within("net/http", "net", '/'));
    assert!(!is_within("network", "net", '/'));
    assert!(!is_within("ne", "net", '/'));
    assert!(is_within("a::b", "a", ':'));
}

#[test]
fn syntax_error_finds_what_does_not_parse_in_any_grammar() {
    let found = run("python", syntax_error(), "x = = 1\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(run("c", syntax_error(), "int main(void) { return 0; }\n").is_empty());
    assert_eq!(syntax_error().id(), "syntax-error");
}

#[test]
fn a_missing_host_grammar_says_which_feature_to_enable() {
    let hint = native_grammar_hint("python", "unknown grammar 'python' (built-in grammars: c)");
    assert!(hint.contains("features = [\"python\"]"), "{hint}");
    assert!(native_grammar_hint("go", "unknown grammar 'go'").is_empty());
    assert!(native_grammar_hint("python", "invalid query").is_empty());
}
