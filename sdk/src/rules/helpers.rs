//! Ready-made rules for the common cases, written as queries.
//!
//! Each helper matches all its names with one `#any-of?` or `#match?`
//! predicate per syntactic construct (never one pattern per name), and
//! matches syntax only: a name inside a string or a comment never matches.

use super::query_text::{escape_regex, string};
use super::{any_of, Rule};

/// Grammars [`blocked_imports`] supports.
const IMPORT_GRAMMARS: &[&str] = &["python", "javascript", "rust"];
/// Grammars [`blocked_calls`] supports.
const CALL_GRAMMARS: &[&str] = &["python", "javascript", "c", "cpp", "rust"];
/// Grammars [`blocked_attributes`] supports.
const ATTRIBUTE_GRAMMARS: &[&str] = &["python", "javascript"];
/// Grammars [`blocked_headers`] supports.
const HEADER_GRAMMARS: &[&str] = &["c", "cpp"];

/// Rule `blocked-import`: importing one of `modules` is not allowed.
///
/// - python: `import x`, `import x.y`, `import x as y`, `from x import y`,
///   `from x.y import z`; the top-level module is compared (`os` blocks
///   `os.path`). Relative imports (`from . import x`) never match.
/// - javascript: `require('x')`, `import ... from 'x'`, `import 'x'`,
///   `export ... from 'x'`, `import('x')`, each with or without `node:` and
///   with sub-paths (`fs` blocks `node:fs/promises`).
/// - rust: paths through a module given as `std::process`: `use
///   std::process::Command;`, `use ::std::process;`, `use std::{process,
///   fs};`, and `std::process::exit(1)` written out in code.
///
/// `@hit` is the module reference (the dotted name, the string literal or
/// the path); the message names the module (`import of module 'os' is not
/// allowed`). With [`Rule::allow_with`], the allow list holds module names
/// in the same form.
pub fn blocked_imports(grammar: &str, modules: &[&str]) -> Rule {
    const ID: &str = "blocked-import";
    let description = format!(
        "imports of these modules are not allowed: {}",
        modules.join(", ")
    );
    let query = match grammar {
        _ if modules.is_empty() => String::new(),
        "python" => python_imports(modules),
        "javascript" => javascript_imports(modules),
        "rust" => rust_imports(modules),
        _ => return unsupported(ID, grammar, IMPORT_GRAMMARS),
    };
    let normalize = match grammar {
        "javascript" => js_module_name,
        "rust" => rust_path,
        _ => str::to_string,
    };
    Rule::new(ID, &description, &query, |m| {
        format!("import of module '{m}' is not allowed")
    })
    .for_grammar(grammar)
    .normalized_by(normalize)
    .joined_with_parent("::")
}

/// Rule `blocked-call`: calling one of `functions` is not allowed.
///
/// Plain calls `f(...)` in every grammar (python `call`, javascript
/// `call_expression` and `new F(...)`, c/cpp/rust `call_expression`). A
/// dotted name (`os.system` in python, `child_process.exec` in javascript)
/// matches the call of exactly that attribute chain; in cpp `std::system`
/// matches the qualified call `std::system(...)` (and `::std::system`); in
/// rust `std::process::exit` matches that path. `@hit` is the callee.
pub fn blocked_calls(grammar: &str, functions: &[&str]) -> Rule {
    const ID: &str = "blocked-call";
    let description = format!(
        "calls of these functions are not allowed: {}",
        functions.join(", ")
    );
    let callee = match grammar {
        "python" => "[(identifier) (attribute)]",
        "javascript" => "[(identifier) (member_expression)]",
        "c" => "(identifier)",
        "cpp" => "[(identifier) (qualified_identifier)]",
        "rust" => "[(identifier) (scoped_identifier)]",
        _ => return unsupported(ID, grammar, CALL_GRAMMARS),
    };
    let names = any_of(&call_spellings(grammar, functions));
    let query = match grammar {
        _ if functions.is_empty() => String::new(),
        "python" => format!("((call function: {callee} @hit) (#any-of? @hit {names}))"),
        "javascript" => format!(
            "((call_expression function: {callee} @hit) (#any-of? @hit {names}))\n\
             ((new_expression constructor: {callee} @hit) (#any-of? @hit {names}))"
        ),
        _ => format!("((call_expression function: {callee} @hit) (#any-of? @hit {names}))"),
    };
    Rule::new(ID, &description, &query, |f| {
        format!("call of '{f}' is not allowed")
    })
    .for_grammar(grammar)
    .normalized_by(strip_leading_colons)
}

/// Rule `blocked-attribute`: accessing one of `attributes` is not allowed.
///
/// - python: `x.attr` (any object), and `getattr(x, 'attr')` /
///   `setattr` / `delattr` / `hasattr` with a literal name.
/// - javascript: member `x.prop` (also `x?.prop`) and subscript
///   `x['prop']` with a literal string.
///
/// `@hit` is the attribute name (the string literal for subscripts and
/// `getattr`).
pub fn blocked_attributes(grammar: &str, attributes: &[&str]) -> Rule {
    const ID: &str = "blocked-attribute";
    let description = format!(
        "access to these attributes is not allowed: {}",
        attributes.join(", ")
    );
    let names = any_of(attributes);
    let query = match grammar {
        _ if attributes.is_empty() => String::new(),
        "python" => format!(
            "((attribute attribute: (identifier) @hit) (#any-of? @hit {names}))\n\
             ((call function: (identifier) @_f arguments: (argument_list . (_) . \
               (string (string_content) @name) @hit))\n\
              (#any-of? @_f \"getattr\" \"setattr\" \"delattr\" \"hasattr\")\n\
              (#any-of? @name {names}))"
        ),
        "javascript" => format!(
            "((member_expression property: (property_identifier) @hit) (#any-of? @hit {names}))\n\
             ((subscript_expression index: (string (string_fragment) @name) @hit) \
              (#any-of? @name {names}))"
        ),
        _ => return unsupported(ID, grammar, ATTRIBUTE_GRAMMARS),
    };
    Rule::new(ID, &description, &query, |a| {
        format!("access to attribute '{a}' is not allowed")
    })
    .for_grammar(grammar)
}

/// Rule `blocked-header`: including one of `headers` is not allowed.
///
/// c/cpp `#include <h>` and `#include "h"`; an entry ending in `/*` blocks
/// every header under that directory (`sys/*` blocks `<sys/socket.h>`).
/// `@hit` is the header path with its delimiters; the message and the allow
/// list use the bare path (`sys/socket.h`).
pub fn blocked_headers(grammar: &str, headers: &[&str]) -> Rule {
    const ID: &str = "blocked-header";
    let description = format!("these headers are not allowed: {}", headers.join(", "));
    if !HEADER_GRAMMARS.contains(&grammar) {
        return unsupported(ID, grammar, HEADER_GRAMMARS);
    }
    let alternatives: Vec<String> = headers
        .iter()
        .map(|h| match h.strip_suffix("/*") {
            Some(dir) => format!("{}/[^>\"]*", escape_regex(dir)),
            None => escape_regex(h),
        })
        .collect();
    let query = if headers.is_empty() {
        String::new()
    } else {
        let regex = format!("^[<\"]\\s*(?:{})\\s*[>\"]$", alternatives.join("|"));
        format!(
            "((preproc_include path: [(system_lib_string) (string_literal)] @hit) \
              (#match? @hit {}))",
            string(&regex)
        )
    };
    Rule::new(ID, &description, &query, |h| {
        format!("include of header '{h}' is not allowed")
    })
    .for_grammar(grammar)
    .normalized_by(header_name)
}

fn python_imports(modules: &[&str]) -> String {
    let names = any_of(modules);
    format!(
        "((import_statement name: (dotted_name . (identifier) @name) @hit) \
          (#any-of? @name {names}))\n\
         ((import_statement name: (aliased_import name: (dotted_name . (identifier) @name) @hit)) \
          (#any-of? @name {names}))\n\
         ((import_from_statement module_name: (dotted_name . (identifier) @name) @hit) \
          (#any-of? @name {names}))"
    )
}

fn javascript_imports(modules: &[&str]) -> String {
    let alternatives: Vec<String> = modules.iter().map(|m| escape_regex(m)).collect();
    let regex = string(&format!(
        "^(?:node:)?(?:{})(?:/.*)?$",
        alternatives.join("|")
    ));
    let source = "(string (string_fragment) @name) @hit";
    format!(
        "((call_expression function: (identifier) @_f arguments: (arguments . {source})) \
          (#eq? @_f \"require\") (#match? @name {regex}))\n\
         ((call_expression function: (import) arguments: (arguments . {source})) \
          (#match? @name {regex}))\n\
         ((import_statement source: {source}) (#match? @name {regex}))\n\
         ((export_statement source: {source}) (#match? @name {regex}))"
    )
}

fn rust_imports(modules: &[&str]) -> String {
    // `std::process` as a regex tolerant of spaces and a leading `::`.
    let paths: Vec<String> = modules
        .iter()
        .map(|m| {
            let parts: Vec<String> = rust_path(m).split("::").map(escape_regex).collect();
            parts.join("\\s*::\\s*")
        })
        .collect();
    let whole = string(&format!("^(?:::)?\\s*(?:{})$", paths.join("|")));
    let mut query = format!("((scoped_identifier) @hit (#match? @hit {whole}))");
    // `use std::{process, fs}`: the parent path and the listed item are
    // separate nodes; one pattern per distinct parent (usually just `std`).
    for (parent, items) in group_by_parent(modules) {
        let parent_re = string(&format!("^(?:::)?\\s*{}$", rust_path_regex(&parent)));
        let items = any_of(&items.iter().map(String::as_str).collect::<Vec<_>>());
        query.push_str(&format!(
            "\n((scoped_use_list path: (_) @parent list: (use_list [\
                (identifier) @name \
                (scoped_identifier path: (identifier) @name) \
                (scoped_use_list path: (identifier) @name) \
                (use_as_clause path: (identifier) @name) \
                (use_as_clause path: (scoped_identifier path: (identifier) @name))\
              ] @hit)) (#match? @parent {parent_re}) (#any-of? @name {items}))"
        ));
    }
    query
}

/// `a::b::c` grouped as parent `a::b` with last segments `[c, ...]`.
fn group_by_parent(modules: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for m in modules {
        let path = rust_path(m);
        let Some((parent, last)) = path.rsplit_once("::") else {
            continue;
        };
        match groups.iter_mut().find(|(p, _)| p == parent) {
            Some((_, items)) => items.push(last.to_string()),
            None => groups.push((parent.to_string(), vec![last.to_string()])),
        }
    }
    groups
}

fn rust_path_regex(path: &str) -> String {
    let parts: Vec<String> = path.split("::").map(escape_regex).collect();
    parts.join("\\s*::\\s*")
}

/// How a blocked function may be spelled at a call site.
fn call_spellings(grammar: &str, functions: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for f in functions {
        out.push(f.to_string());
        if matches!(grammar, "cpp" | "rust") && !f.starts_with("::") {
            out.push(format!("::{f}"));
        }
    }
    out
}

/// `node:fs/promises` -> `fs`.
fn js_module_name(spec: &str) -> String {
    let spec = spec.strip_prefix("node:").unwrap_or(spec);
    // Scoped packages keep their scope: `@scope/pkg/sub` -> `@scope/pkg`.
    let keep = if spec.starts_with('@') { 2 } else { 1 };
    spec.split('/').take(keep).collect::<Vec<_>>().join("/")
}

/// `:: std :: process` -> `std::process`.
fn rust_path(path: &str) -> String {
    let compact: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    compact.trim_start_matches("::").to_string()
}

fn strip_leading_colons(name: &str) -> String {
    rust_path(name)
}

/// `<sys/socket.h>` or `"sys/socket.h"` -> `sys/socket.h`.
fn header_name(path: &str) -> String {
    path.trim_matches(|c: char| c == '<' || c == '>' || c == '"' || c.is_whitespace())
        .to_string()
}

fn unsupported(id: &str, grammar: &str, supported: &[&str]) -> Rule {
    Rule::broken(
        id,
        grammar,
        format!(
            "rule helper '{id}' does not support grammar '{grammar}' (supported: {})",
            supported.join(", ")
        ),
    )
}
