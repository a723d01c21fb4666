//! The Python rules against real programs: rejected ones with the rule id and
//! position asserted, accepted ones (tests/accepted/*.py) with none, and the
//! operator settings.

use std::path::{Path, PathBuf};

use codr_plugin_python::Python;
use codr_sdk::{Language, Settings};

/// `(rule, line, column)` of every diagnostic, in order.
fn found(source: &str, settings: &Settings) -> Vec<(String, u32, u32)> {
    Python::validate(source, settings)
        .into_iter()
        .map(|d| (d.rule, d.line, d.column))
        .collect()
}

#[track_caller]
fn rejects(source: &str, expected: &[(&str, u32, u32)]) {
    let got = found(source, &Settings::default());
    let want: Vec<(String, u32, u32)> = expected
        .iter()
        .map(|(r, l, c)| (r.to_string(), *l, *c))
        .collect();
    assert_eq!(got, want, "source:\n{source}");
}

#[test]
fn imports_in_every_spelling_are_rejected() {
    rejects("import os\n", &[("blocked-import", 1, 8)]);
    rejects("import os.path\n", &[("blocked-import", 1, 8)]);
    rejects("import json, os as o\n", &[("blocked-import", 1, 14)]);
    rejects("from os import path\n", &[("blocked-import", 1, 6)]);
    rejects("from os.path import join\n", &[("blocked-import", 1, 6)]);
    rejects(
        "import math\n\ndef run():\n    import subprocess\n    subprocess.run(['ls'])\n",
        &[("blocked-import", 4, 12)],
    );
    rejects(
        "import ctypes, pickle\nfrom multiprocessing import Pool\n",
        &[
            ("blocked-import", 1, 8),
            ("blocked-import", 1, 16),
            ("blocked-import", 2, 6),
        ],
    );
    rejects(
        "try:\n    import socket as s\nexcept ImportError:\n    pass\n",
        &[("blocked-import", 2, 12)],
    );
    rejects("import importlib.util\n", &[("blocked-import", 1, 8)]);
    rejects(
        "from shutil import rmtree\nimport signal, pty\n",
        &[
            ("blocked-import", 1, 6),
            ("blocked-import", 2, 8),
            ("blocked-import", 2, 16),
        ],
    );
}

#[test]
fn sys_is_allowed_its_corners_are_not() {
    let everyday = "import sys\nsys.setrecursionlimit(10000)\nn = int(sys.stdin.readline())\nprint(sys.argv[1:], n)\nfor line in sys.stdin:\n    sys.stdout.write(line)\nsys.exit(0)\n";
    assert_eq!(found(everyday, &Settings::default()), vec![]);
    assert_eq!(
        found("from sys import stdin, argv\n", &Settings::default()),
        vec![]
    );
    rejects(
        "import sys\nsys.modules['os'].system('ls')\n",
        &[("blocked-attribute", 2, 5)],
    );
    rejects(
        "import sys\nf = sys._getframe(1)\n",
        &[("blocked-attribute", 2, 9)],
    );
    rejects("from sys import modules\n", &[("blocked-attribute", 1, 17)]);
    rejects(
        "from sys import meta_path as m\n",
        &[("blocked-attribute", 1, 17)],
    );
    let d = Python::validate("import sys\nsys.modules\n", &Settings::default());
    assert!(d[0].message.contains("'sys.modules'"), "{}", d[0].message);
}

#[test]
fn extra_modules_that_reach_the_same_places_are_rejected() {
    rejects("import builtins\n", &[("blocked-import", 1, 8)]);
    rejects("from posix import system\n", &[("blocked-import", 1, 6)]);
    rejects(
        "import gc, marshal\n",
        &[("blocked-import", 1, 8), ("blocked-import", 1, 12)],
    );
}

#[test]
fn dangerous_builtin_calls_are_rejected() {
    rejects("x = eval(input())\n", &[("blocked-call", 1, 5)]);
    rejects("exec('print(1)')\n", &[("blocked-call", 1, 1)]);
    rejects(
        "code = compile('1 + 1', 'f', 'eval')\n",
        &[("blocked-call", 1, 8)],
    );
    rejects("__import__('os').system('ls')\n", &[("blocked-call", 1, 1)]);
    rejects(
        "class A:\n    pass\n\na = A()\nsetattr(a, 'x', 1)\nprint(getattr(a, 'x'))\ndelattr(a, 'x')\n",
        &[
            ("blocked-call", 5, 1),
            ("blocked-call", 6, 7),
            ("blocked-call", 7, 1),
        ],
    );
    rejects(
        "print(globals()['__name__'], locals(), vars())\n",
        &[
            ("blocked-call", 1, 7),
            ("blocked-call", 1, 30),
            ("blocked-call", 1, 40),
        ],
    );
    rejects(
        "for i in range(3):\n    breakpoint()\n",
        &[("blocked-call", 2, 5)],
    );
}

#[test]
fn builtins_passed_around_as_values_are_rejected() {
    rejects(
        "nums = list(map(eval, input().split()))\n",
        &[("blocked-reference", 1, 17)],
    );
    rejects(
        "run = exec\nrun('print(1)')\n",
        &[("blocked-reference", 1, 7)],
    );
    rejects("f = [getattr][0]\n", &[("blocked-reference", 1, 6)]);
    rejects("g = eval.__call__\n", &[("blocked-reference", 1, 5)]);
}

#[test]
fn interpreter_internals_are_rejected() {
    rejects(
        "print(().__class__.__bases__[0].__subclasses__())\n",
        &[("blocked-attribute", 1, 20), ("blocked-attribute", 1, 33)],
    );
    rejects(
        "def f():\n    pass\n\nprint(f.__globals__, f.__code__)\n",
        &[("blocked-attribute", 4, 9), ("blocked-attribute", 4, 24)],
    );
    rejects("b = __builtins__\n", &[("blocked-attribute", 1, 5)]);
    rejects("print(int.__mro__)\n", &[("blocked-attribute", 1, 11)]);
    rejects(
        "s = type.__dict__['__subclasses__'](object)\n",
        &[("blocked-attribute", 1, 19)],
    );
    rejects("x = print.__self__\n", &[("blocked-attribute", 1, 11)]);
    rejects("loader = __loader__\n", &[("blocked-attribute", 1, 10)]);
    rejects(
        "g = (i for i in [1])\nprint(g.gi_frame.f_back)\n",
        &[("blocked-attribute", 2, 9), ("blocked-attribute", 2, 18)],
    );
    rejects(
        "print(f\"{len.__self__}\")\n",
        &[("blocked-attribute", 1, 14)],
    );
}

#[test]
fn messages_say_what_and_why() {
    let d = Python::validate("import os\n", &Settings::default());
    assert_eq!(
        d[0].message,
        "import of module 'os' is not allowed: programs run without file-system or process access"
    );
    assert_eq!((d[0].end_line, d[0].end_column), (1, 10));
    let d = Python::validate("import os.path as p\n", &Settings::default());
    assert!(d[0].message.contains("'os'"), "{}", d[0].message);
    let d = Python::validate("eval('1')\n", &Settings::default());
    assert_eq!(
        d[0].message,
        "call of 'eval' is not allowed: programs may not run code built from strings"
    );
    let d = Python::validate("x.__globals__\n", &Settings::default());
    assert!(d[0]
        .message
        .starts_with("use of '__globals__' is not allowed"));
}

#[test]
fn allow_modules_lifts_exactly_the_listed_modules() {
    let settings = Settings::from_pairs(&[("allow-modules", "sys, signal")]);
    let source = "import sys\nfrom signal import SIGINT\nimport os\n";
    assert_eq!(
        found(source, &settings),
        vec![("blocked-import".to_string(), 3, 8)]
    );
    // Allowing a module does not allow the calls it is often used with.
    let source = "import sys\nprint(eval(sys.stdin.readline()))\n";
    assert_eq!(
        found(source, &settings),
        vec![("blocked-call".to_string(), 2, 7)]
    );
}

#[test]
fn disable_rules_skips_a_rule() {
    let settings = Settings::from_pairs(&[("disable-rules", "blocked-call")]);
    assert!(found("print(vars())\n", &settings).is_empty());
    assert_eq!(found("import os\n", &settings).len(), 1);
}

#[test]
fn names_in_strings_comments_and_harmless_positions_pass() {
    let source = r#"
# import os would be rejected; eval(input()) too.
"""exec('x') in a docstring"""
message = "never call eval() or __import__('os')"
eval_score = 3
exec = "a variable that is never called"
def f(compile=False, vars=None):
    locals = [1, 2]
    return compile, vars, locals
print(f(compile=True), {"eval": 1}["eval"], message, eval_score)
print(f"{eval_score} import sys")
class Expr:
    def eval(self):
        return 42
print(Expr().eval(), str.__name__, Expr.__dict__.get("eval") is not None)
"#;
    assert_eq!(found(source, &Settings::default()), vec![]);
}

/// Every `tests/accepted/*.py` with its optional `.in` (stdin).
fn accepted_programs() -> Vec<(PathBuf, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/accepted");
    codr_sdk::testing::programs_in(&dir, "py")
}

#[test]
fn realistic_programs_pass_validation() {
    let programs = accepted_programs();
    assert!(
        programs.len() >= 10,
        "only {} accepted programs",
        programs.len()
    );
    let lines: usize = programs.iter().map(|(_, s, _)| s.lines().count()).sum();
    assert!(lines >= 300, "accepted programs total only {lines} lines");
    for (path, source, _) in &programs {
        let diagnostics = Python::validate(source, &Settings::default());
        assert!(
            diagnostics.is_empty(),
            "{} was rejected: {diagnostics:#?}",
            path.display()
        );
    }
}

/// The accepted programs are real: each runs to success under the plan's
/// interpreter, so "accepted" is never about code that could not run anyway.
#[test]
fn accepted_programs_run_under_the_planned_command() {
    for (path, source, stdin) in accepted_programs() {
        let output = common::run_plan(&source, &stdin);
        assert!(
            output.status.success(),
            "{} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

mod common;
