//! The Python rules, as tree-sitter queries over the `python` grammar.
//!
//! | id                  | catches                                                       |
//! |---------------------|---------------------------------------------------------------|
//! | `blocked-import`    | `import os`, `import os.path`, `import os as o`, `from os import path`, `from os.path import join` for [`BLOCKED_MODULES`] (top-level name compared; `allow-modules` lifts it) |
//! | `blocked-call`      | calls of [`BLOCKED_CALLS`] by their bare name: `eval(...)`, `__import__(...)`, `getattr(...)` |
//! | `blocked-reference` | [`BLOCKED_REFERENCES`] passed around as values: `f = eval`, `map(eval, xs)`, `(exec, 1)` |
//! | `blocked-attribute` | the names in [`BLOCKED_DUNDERS`] anywhere (`x.__globals__`, bare `__builtins__`), as a literal subscript key (`d['__subclasses__']`), the frame/generator attributes in [`BLOCKED_FRAME_ATTRIBUTES`] (`g.gi_frame`), and the corners of `sys` in [`BLOCKED_SYS_ATTRIBUTES`] (`sys.modules`, `from sys import _getframe`) |
//!
//! `sys` itself is allowed: `sys.stdin`, `sys.argv`, `sys.setrecursionlimit`
//! and `sys.exit` are in most programs people paste. Its corners that reach
//! other modules or frames without an import are refused by name.
//!
//! Names inside strings and comments never match: the rules look at syntax.
//! Variables merely *named* like a blocked function are fine (`eval_score = 3`,
//! `def f(compile=False)`), but calling a name like `exec(...)` is rejected even
//! when the program defined that function itself: the rules see one file
//! without scopes, and a learner is better served by a rename than a bypass.
//!
//! Known gaps (the sandbox is the defence, these rules are a courtesy):
//! - names built at run time: `operator.attrgetter('__glo' + 'bals__')(f)`,
//!   `type.__dict__[name]` with a computed `name`;
//! - a blocked builtin reached through a value position the rules do not
//!   list (`f = (lambda: eval)()` is caught, `f = [eval for _ in 'x'][0]`
//!   is not);
//! - internals reached without naming them: `type(f)`, `object.__reduce_ex__`
//!   and other dunders not listed in [`BLOCKED_DUNDERS`];
//! - `open()`, `io` and `pathlib` stay allowed (which files exist is the
//!   sandbox's business), as do `threading` and `asyncio` (whose
//!   `create_subprocess_exec` is not caught by name: the sandbox bounds
//!   processes), and `help()` (whose pager starts a shell).

use codr_sdk::rules::{any_of, Rule, RuleSet};

/// Modules whose import is rejected: process, file-system, network and
/// interpreter-internals access. The first ten are the required set; the
/// rest reach the same places under another name. `sys` is not among them:
/// see [`BLOCKED_SYS_ATTRIBUTES`].
pub const BLOCKED_MODULES: &[&str] = &[
    "os",
    "subprocess",
    "socket",
    "importlib",
    "ctypes",
    "pickle",
    "shutil",
    "multiprocessing",
    "signal",
    "pty",
    // `builtins.eval`, `builtins.__import__`.
    "builtins",
    // `os` under its C name.
    "posix",
    "nt",
    "_posixsubprocess",
    // Code objects from bytes, modules by name, interactive interpreters.
    "marshal",
    "runpy",
    "code",
    "codeop",
    // `gc.get_objects()` / `gc.get_referrers()` reach any live object.
    "gc",
];

/// Functions whose call by bare name is rejected.
pub const BLOCKED_CALLS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "breakpoint",
];

/// Builtins rejected when passed around as values (`f = eval`). Smaller than
/// [`BLOCKED_CALLS`]: `compile`, `locals` and `vars` are common variable
/// names, and passing them around is harmless unless they are called.
pub const BLOCKED_REFERENCES: &[&str] = &[
    "eval",
    "exec",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "breakpoint",
];

/// Interpreter internals: rejected wherever the name appears as code.
pub const BLOCKED_DUNDERS: &[&str] = &[
    "__subclasses__",
    "__bases__",
    "__base__",
    "__mro__",
    "__globals__",
    "__builtins__",
    "__code__",
    "__closure__",
    "__self__",
    "__getattribute__",
    "__loader__",
    "__spec__",
];

/// Frame and generator attributes that lead to other scopes' globals.
pub const BLOCKED_FRAME_ATTRIBUTES: &[&str] = &[
    "gi_frame",
    "gi_code",
    "cr_frame",
    "ag_frame",
    "tb_frame",
    "f_back",
    "f_globals",
    "f_locals",
    "f_builtins",
];

/// The parts of `sys` that reach modules, frames and hooks without an
/// import (`sys.modules['os']` is `os`), refused as `sys.<name>` and in
/// `from sys import <name>`.
pub const BLOCKED_SYS_ATTRIBUTES: &[&str] = &[
    "modules",
    "meta_path",
    "path_hooks",
    "path_importer_cache",
    "_getframe",
    "_current_frames",
    "settrace",
    "setprofile",
    "breakpointhook",
    "addaudithook",
];

/// The operator setting listing modules to allow.
pub const ALLOW_MODULES: &str = "allow-modules";

/// The rule set: all the plugin declares ([`codr_sdk::Language`]'s
/// default `rules` and `validate` run it).
pub fn rule_set() -> RuleSet {
    RuleSet::new("python").rules([
        imports(),
        calls(),
        references(),
        dunders(),
        frame_attributes(),
        sys_attributes(),
    ])
}

fn imports() -> Rule {
    let names = any_of(BLOCKED_MODULES);
    let query = format!(
        "((import_statement name: (dotted_name . (identifier) @name) @hit) (#any-of? @name {names}))
         ((import_statement name: (aliased_import name: (dotted_name . (identifier) @name) @hit)) (#any-of? @name {names}))
         ((import_from_statement module_name: (dotted_name . (identifier) @name) @hit) (#any-of? @name {names}))"
    );
    Rule::new(
        "blocked-import",
        &format!(
            "imports of these modules are not allowed: {}",
            BLOCKED_MODULES.join(", ")
        ),
        &query,
        import_message,
    )
    .allow_with(ALLOW_MODULES)
}

fn import_message(module: &str) -> String {
    let why = match module {
        "socket" => "programs run without network access",
        "pickle" | "marshal" => "loading serialized code objects is not allowed; use json instead",
        "gc" | "builtins" | "importlib" | "runpy" | "code" | "codeop" | "ctypes" => {
            "programs run without access to the interpreter's internals"
        }
        _ => "programs run without file-system or process access",
    };
    format!("import of module '{module}' is not allowed: {why}")
}

fn calls() -> Rule {
    let query = format!(
        "((call function: (identifier) @hit) (#any-of? @hit {}))",
        any_of(BLOCKED_CALLS)
    );
    Rule::new(
        "blocked-call",
        &format!(
            "calls of these builtins are not allowed: {}",
            BLOCKED_CALLS.join(", ")
        ),
        &query,
        call_message,
    )
}

fn call_message(function: &str) -> String {
    format!(
        "call of '{function}' is not allowed: {}",
        builtin_reason(function)
    )
}

fn builtin_reason(function: &str) -> &'static str {
    match function {
        "eval" | "exec" | "compile" => "programs may not run code built from strings",
        "__import__" => "modules are imported with an import statement",
        "getattr" | "setattr" | "delattr" => {
            "attributes are reached by name in the code (obj.name), not through strings"
        }
        "breakpoint" => "there is no debugger in the sandbox",
        _ => "programs may not inspect the interpreter's namespaces",
    }
}

fn references() -> Rule {
    // The value positions where a bare name means "this builtin itself".
    let query = format!(
        "([(argument_list (identifier) @hit)
           (keyword_argument value: (identifier) @hit)
           (assignment right: (identifier) @hit)
           (expression_list (identifier) @hit)
           (list (identifier) @hit)
           (tuple (identifier) @hit)
           (set (identifier) @hit)
           (pair value: (identifier) @hit)
           (return_statement (identifier) @hit)
           (lambda body: (identifier) @hit)
           (conditional_expression (identifier) @hit)
           (boolean_operator (identifier) @hit)
           (parenthesized_expression (identifier) @hit)
           (attribute object: (identifier) @hit)
           (subscript value: (identifier) @hit)]
          (#any-of? @hit {}))",
        any_of(BLOCKED_REFERENCES)
    );
    Rule::new(
        "blocked-reference",
        &format!(
            "these builtins may not be passed around as values: {}",
            BLOCKED_REFERENCES.join(", ")
        ),
        &query,
        |name| format!("use of '{name}' is not allowed: {}", builtin_reason(name)),
    )
}

fn dunders() -> Rule {
    let names = any_of(BLOCKED_DUNDERS);
    let query = format!(
        "(((identifier) @hit) (#any-of? @hit {names}))
         ((subscript subscript: (string . (string_start) . (string_content) @name . (string_end)) @hit) (#any-of? @name {names}))"
    );
    Rule::new(
        "blocked-attribute",
        &format!(
            "these interpreter internals are off limits: {}",
            [BLOCKED_DUNDERS, BLOCKED_FRAME_ATTRIBUTES]
                .concat()
                .join(", ")
        ),
        &query,
        attribute_message,
    )
}

fn frame_attributes() -> Rule {
    let query = format!(
        "((attribute attribute: (identifier) @hit) (#any-of? @hit {}))",
        any_of(BLOCKED_FRAME_ATTRIBUTES)
    );
    Rule::new("blocked-attribute", "", &query, attribute_message)
}

fn sys_attributes() -> Rule {
    let names = any_of(BLOCKED_SYS_ATTRIBUTES);
    let query = format!(
        "((attribute object: (identifier) @module attribute: (identifier) @hit)
          (#eq? @module \"sys\") (#any-of? @hit {names}))
         ((import_from_statement module_name: (dotted_name . (identifier) @module .)
                                 name: (dotted_name . (identifier) @hit))
          (#eq? @module \"sys\") (#any-of? @hit {names}))
         ((import_from_statement module_name: (dotted_name . (identifier) @module .)
                                 name: (aliased_import name: (dotted_name . (identifier) @hit)))
          (#eq? @module \"sys\") (#any-of? @hit {names}))"
    );
    Rule::new("blocked-attribute", "", &query, |name| {
        format!("use of 'sys.{name}' is not allowed: programs may not reach the interpreter's internals")
    })
}

fn attribute_message(name: &str) -> String {
    format!("use of '{name}' is not allowed: programs may not reach the interpreter's internals")
}
