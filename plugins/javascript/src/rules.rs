//! The JavaScript rules, as tree-sitter queries over the `javascript` grammar.
//!
//! | id                  | catches                                                       |
//! |---------------------|---------------------------------------------------------------|
//! | `blocked-import`    | `require('fs')`, `import x from 'fs'`, `import 'fs'`, `export * from 'fs'`, `import('fs')`, `module.require('fs')`, `process.getBuiltinModule('fs')` for [`BLOCKED_MODULES`], with or without `node:` and with sub-paths (`fs/promises`); `allow-modules` lifts a module |
//! | `dynamic-import`    | `require`/`import()` of anything but a plain string literal (`require('f' + 's')`, `require(name)`, escapes), and `require` passed around as a value (`const r = require`, `require.main`) |
//! | `blocked-call`      | `eval` anywhere in code; `Function` called, constructed or passed around (`Function(...)`, `new Function(...)`, `const F = Function`); both reached by subscripts (`globalThis['eval']`, `window["Function"]`) or as members of the global object (`globalThis.eval`); computed subscripts of the global object (`globalThis[name]`) |
//! | `blocked-attribute` | [`BLOCKED_PROCESS_MEMBERS`] of `process`: `process.env`, `process['env']`, `globalThis.process.env`, `const { env } = process`, `import { env } from 'process'`, `require('process').env`; computed `process[name]`; `process` itself passed around (`const p = process`, `f(process)`) |
//! | `prototype-escape`  | `__proto__` anywhere in code; `x['constructor']`; `x.constructor.constructor`; `.constructor` called, constructed, stored or passed (`f.constructor('code')`, `const F = f.constructor`); `{ constructor } = f`; `Reflect.get(f, 'constructor')` |
//!
//! One use of `fs` is allowed, because it is how most programs read their
//! input: reading standard input whole, `require('fs').readFileSync(0)` or
//! `readFileSync('/dev/stdin')`, inline or through a `const fs =
//! require('fs')` whose every use is such a read ([`stdin_reads`]). Any
//! other use of the binding (`fs.writeFileSync`, `fs` passed around) keeps
//! the import refused.
//!
//! Names inside strings and comments never match: the rules look at syntax.
//! A variable may be named like anything but `eval` (`const exec = 1`,
//! `let fs = []`, `obj.eval()` are all fine); `eval` is a reserved name in
//! strict code anyway. `x instanceof Function`, `obj.constructor.name` and
//! `obj.constructor === Foo` pass.
//!
//! Known gaps (the sandbox and Node's flags are the defence, these rules are
//! a courtesy): values aliased through variables (`const p = process;` is
//! caught, but `const p = globalThis.process; p.env` is not, nor is
//! `const k = 'constructor'; f[k][k]('...')`); strings built at run time as
//! subscripts of objects other than the global object and `process`;
//! `Reflect.construct`/`Function.prototype` tricks reached without naming
//! `Function` or `constructor`.

use std::sync::OnceLock;

use codr_sdk::rules::{any_of, quoted, Rule, RuleSet};
use codr_sdk::{Diagnostic, Settings};

/// Modules whose import is rejected. The first fourteen are the required
/// set; `module` (createRequire, `_load`), `repl` (evaluates code), `v8`
/// (heap snapshots, flags) and `wasi` reach the same places.
pub const BLOCKED_MODULES: &[&str] = &[
    "fs",
    "child_process",
    "net",
    "http",
    "https",
    "http2",
    "dgram",
    "dns",
    "tls",
    "os",
    "vm",
    "worker_threads",
    "cluster",
    "inspector",
    "module",
    "repl",
    "v8",
    "wasi",
];

/// Members of `process` that reach the environment, native code, other
/// processes or the module system. `process.stdin`, `stdout`, `argv`,
/// `exit`, `hrtime`, `memoryUsage`, ... stay available.
pub const BLOCKED_PROCESS_MEMBERS: &[&str] = &[
    "binding",
    "_linkedBinding",
    "dlopen",
    "env",
    "kill",
    "mainModule",
    "getBuiltinModule",
    "report",
    "loadEnvFile",
    "execve",
    "_debugProcess",
    "chdir",
    "setuid",
    "setgid",
    "seteuid",
    "setegid",
    "setgroups",
    "initgroups",
];

/// The operator setting listing modules to allow.
pub const ALLOW_MODULES: &str = "allow-modules";

/// Global objects whose members are the globals (`globalThis.eval`).
const GLOBAL_OBJECTS: &[&str] = &["globalThis", "global", "window", "self"];

/// An argument that is a plain string literal: quotes, no escapes, no `${`.
const PLAIN_LITERAL: &str = r#"^('[^'\\]*'|"[^"\\]*"|`[^`$\\]*`)$"#;

/// A string literal with exactly one fragment: `'x'`, `"x"`, `` `x` ``.
const LITERAL: &str =
    "[(string . (string_fragment) @name .) (template_string . (string_fragment) @name .)]";

/// Validates `source`: the rule set without the modules the operator allows,
/// and without the `fs` imports that only read standard input.
pub fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let allowed = settings.list(ALLOW_MODULES);
    let mut found = if allowed.is_empty() {
        rule_set(&[]).validate(source, settings)
    } else {
        // The allow list is usually fixed per deployment: the host's query
        // cache keeps the compiled query for this text.
        build(&allowed).validate(source, settings)
    };
    let fs_import = |d: &Diagnostic| d.rule == "blocked-import" && d.message.contains("'fs'");
    if found.iter().any(fs_import) {
        let reads = stdin_reads(source);
        found.retain(|d| !(fs_import(d) && reads.contains(&(d.line, d.column))));
    }
    found
}

/// `require('fs')` as a string literal, with or without `node:`.
const FS_LITERAL: &str = r#"^['"`](node:)?fs['"`]$"#;

/// The first argument of a read of standard input: `0` or `'/dev/stdin'`.
const STDIN_ARGUMENT: &str = r#"^(0|'/dev/stdin'|"/dev/stdin")$"#;

/// Positions (line, column) of the `'fs'` literals of `require('fs')` calls
/// used only to read standard input: `require('fs').readFileSync(0, ...)`,
/// or `const NAME = require('fs')` where every other mention of `NAME` is
/// `NAME.readFileSync(0 or '/dev/stdin', ...)`.
pub fn stdin_reads(source: &str) -> Vec<(u32, u32)> {
    let (fs, stdin) = (quoted(FS_LITERAL), quoted(STDIN_ARGUMENT));
    let inline = format!(
        "((call_expression
            function: (member_expression
              object: (call_expression function: (identifier) @_r arguments: (arguments . (string) @lit .))
              property: (property_identifier) @_m)
            arguments: (arguments . (_) @_arg))
          (#eq? @_r \"require\") (#match? @lit {fs}) (#eq? @_m \"readFileSync\") (#match? @_arg {stdin}))"
    );
    let query = |q: &str| codr_sdk::syntax::query("javascript", source, q).unwrap_or_default();
    let mut reads: Vec<(u32, u32)> = query(&inline)
        .into_iter()
        .filter(|c| c.name == "lit")
        .map(|c| (c.start_line, c.start_column))
        .collect();
    let bound = format!(
        "((variable_declarator
            name: (identifier) @name
            value: (call_expression function: (identifier) @_r arguments: (arguments . (string) @lit .)))
          (#eq? @_r \"require\") (#match? @lit {fs}))"
    );
    let captures = query(&bound);
    for lit in captures.iter().filter(|c| c.name == "lit") {
        let Some(name) = captures
            .iter()
            .find(|c| c.name == "name" && c.match_id == lit.match_id)
        else {
            continue;
        };
        let mentions = format!("((identifier) @id (#eq? @id {}))", quoted(&name.text));
        let uses = format!(
            "((call_expression
                function: (member_expression object: (identifier) @obj property: (property_identifier) @_m)
                arguments: (arguments . (_) @_arg))
              (#eq? @obj {}) (#eq? @_m \"readFileSync\") (#match? @_arg {stdin}))",
            quoted(&name.text)
        );
        let all = query(&mentions).len();
        let reading = query(&uses).iter().filter(|c| c.name == "obj").count();
        // The declaration is one mention; every other one must be a read.
        if reading > 0 && all == reading + 1 {
            reads.push((lit.start_line, lit.start_column));
        }
    }
    reads
}

/// The rule set (built once) for no allowed modules, or a fresh one for an
/// allow list. Module names compare without `node:` and sub-paths.
pub fn rule_set(allowed: &[&str]) -> std::borrow::Cow<'static, RuleSet> {
    static DEFAULT: OnceLock<RuleSet> = OnceLock::new();
    if allowed.is_empty() {
        std::borrow::Cow::Borrowed(DEFAULT.get_or_init(|| build(&[])))
    } else {
        std::borrow::Cow::Owned(build(allowed))
    }
}

fn build(allowed: &[&str]) -> RuleSet {
    let modules: Vec<&str> = BLOCKED_MODULES
        .iter()
        .copied()
        .filter(|m| !allowed.iter().any(|a| module_name(a) == *m))
        .collect();
    let mut set = RuleSet::new("javascript");
    if !modules.is_empty() {
        set = set.rule(imports(&modules));
    }
    set.rules([
        dynamic_imports(),
        require_as_value(),
        eval_and_function(),
        computed_global_access(),
        process_members(),
        process_as_value(),
        prototype_escapes(),
    ])
}

fn imports(modules: &[&str]) -> Rule {
    let names: Vec<String> = modules.iter().map(|m| regex_escape(m)).collect();
    let re = quoted(&format!("^(node:)?({})(/.*)?$", names.join("|")));
    let query = format!(
        "((call_expression function: (identifier) @_f arguments: (arguments . {LITERAL} @hit)) (#eq? @_f \"require\") (#match? @name {re}))
         ((call_expression function: (member_expression property: (property_identifier) @_f) arguments: (arguments . {LITERAL} @hit)) (#any-of? @_f \"require\" \"getBuiltinModule\" \"_load\") (#match? @name {re}))
         ((call_expression function: (import) arguments: (arguments . {LITERAL} @hit)) (#match? @name {re}))
         ((import_statement source: (string (string_fragment) @name) @hit) (#match? @name {re}))
         ((export_statement source: (string (string_fragment) @name) @hit) (#match? @name {re}))"
    );
    Rule::new(
        "blocked-import",
        &format!(
            "require/import of these modules is not allowed: {}",
            BLOCKED_MODULES.join(", ")
        ),
        &query,
        import_message,
    )
}

fn import_message(spec: &str) -> String {
    let module = module_name(spec);
    let why = match module.as_str() {
        "net" | "http" | "https" | "http2" | "dgram" | "dns" | "tls" => {
            "programs run without network access"
        }
        "vm" | "repl" => "programs may not run code built from strings",
        "module" | "v8" | "inspector" | "wasi" => "programs may not reach the runtime's internals",
        _ => "programs run without file-system or process access",
    };
    format!("import of module '{module}' is not allowed: {why}")
}

fn dynamic_imports() -> Rule {
    let plain = quoted(PLAIN_LITERAL);
    let query = format!(
        "((call_expression function: (identifier) @_f arguments: (arguments . (_) @hit)) (#eq? @_f \"require\") (#not-match? @hit {plain}))
         ((call_expression function: (member_expression property: (property_identifier) @_f) arguments: (arguments . (_) @hit)) (#any-of? @_f \"require\" \"getBuiltinModule\" \"_load\") (#not-match? @hit {plain}))
         ((call_expression function: (import) arguments: (arguments . (_) @hit)) (#not-match? @hit {plain}))"
    );
    Rule::new(
        "dynamic-import",
        "require and import() take a plain string literal, and require is only called",
        &query,
        |_| {
            "this module name is computed: require and import() only take a plain string \
             such as 'readline'"
                .to_string()
        },
    )
}

fn require_as_value() -> Rule {
    // `require.main === module` is the common "run as a script" idiom and
    // stays allowed: what `require.main` leads to (`.require(...)`,
    // `.constructor._load(...)`) is caught by the other patterns.
    let positions = value_positions("(identifier)")
        .replace("(member_expression object: (identifier) @hit)", "");
    let query = format!(
        "([{positions}] (#eq? @hit \"require\"))
         ((member_expression object: (identifier) @hit property: (property_identifier) @_p) (#eq? @hit \"require\") (#not-eq? @_p \"main\"))"
    );
    Rule::new("dynamic-import", "", &query, |_| {
        "require may only be called directly, as require('name')".to_string()
    })
}

/// The positions where `node` is used as a value (not called, not
/// declared), capturing it as `@hit`: alternatives for a `[...]` group.
fn value_positions(node: &str) -> String {
    [
        "(variable_declarator value: NODE @hit)",
        "(assignment_expression right: NODE @hit)",
        "(arguments NODE @hit)",
        "(array NODE @hit)",
        "(pair value: NODE @hit)",
        "(sequence_expression NODE @hit)",
        "(parenthesized_expression NODE @hit)",
        "(member_expression object: NODE @hit)",
        "(subscript_expression object: NODE @hit)",
        "(return_statement NODE @hit)",
        "(arrow_function body: NODE @hit)",
        "(ternary_expression NODE @hit)",
        "(spread_element NODE @hit)",
        "(binary_expression left: NODE @hit)",
        "(shorthand_property_identifier) @hit",
    ]
    .map(|p| p.replace("NODE", node))
    .join(" ")
}

fn eval_and_function() -> Rule {
    let globals = any_of(GLOBAL_OBJECTS);
    let query = format!(
        "(((identifier) @hit) (#eq? @hit \"eval\"))
         (((shorthand_property_identifier) @hit) (#eq? @hit \"eval\"))
         ([(call_expression function: (identifier) @hit) (new_expression constructor: (identifier) @hit) {}] (#eq? @hit \"Function\"))
         ((subscript_expression index: {LITERAL} @hit) (#any-of? @name \"eval\" \"Function\"))
         ((member_expression object: [(identifier) (this)] @_o property: (property_identifier) @hit) (#any-of? @_o {globals} \"this\") (#any-of? @hit \"eval\" \"Function\"))",
        value_positions("(identifier)")
    );
    Rule::new(
        "blocked-call",
        "eval and Function are not allowed, however they are reached",
        &query,
        |name| {
            format!("use of '{name}' is not allowed: programs may not run code built from strings")
        },
    )
}

fn computed_global_access() -> Rule {
    let query = format!(
        "((subscript_expression object: (identifier) @_o index: (_) @hit) (#any-of? @_o {}) (#not-match? @hit {}))",
        any_of(GLOBAL_OBJECTS),
        quoted(r#"^('[^'\\]*'|"[^"\\]*"|[0-9]+)$"#)
    );
    Rule::new("blocked-call", "", &query, |_| {
        "computed access to the global object is not allowed: it can reach eval; name the \
         global directly"
            .to_string()
    })
}

fn process_members() -> Rule {
    let members = any_of(BLOCKED_PROCESS_MEMBERS);
    let query = format!(
        "((member_expression object: (identifier) @_o property: (property_identifier) @hit) (#eq? @_o \"process\") (#any-of? @hit {members}))
         ((member_expression object: (member_expression property: (property_identifier) @_o) property: (property_identifier) @hit) (#eq? @_o \"process\") (#any-of? @hit {members}))
         ((subscript_expression object: [(identifier) (member_expression property: (property_identifier))] @_o index: {LITERAL} @hit) (#match? @_o \"(^|\\\\.)process$\") (#any-of? @name {members}))
         ((variable_declarator name: (object_pattern [(shorthand_property_identifier_pattern) @hit (pair_pattern key: (property_identifier) @hit)]) value: (identifier) @_o) (#eq? @_o \"process\") (#any-of? @hit {members}))
         ((import_statement (import_clause (named_imports (import_specifier name: (identifier) @hit))) source: (string (string_fragment) @_s)) (#match? @_s \"^(node:)?process$\") (#any-of? @hit {members}))
         ((member_expression object: (call_expression function: (identifier) @_r arguments: (arguments . (string (string_fragment) @_s))) property: (property_identifier) @hit) (#eq? @_r \"require\") (#match? @_s \"^(node:)?process$\") (#any-of? @hit {members}))
         ((variable_declarator name: (object_pattern [(shorthand_property_identifier_pattern) @hit (pair_pattern key: (property_identifier) @hit)]) value: (call_expression function: (identifier) @_r arguments: (arguments . (string (string_fragment) @_s)))) (#eq? @_r \"require\") (#match? @_s \"^(node:)?process$\") (#any-of? @hit {members}))"
    );
    Rule::new(
        "blocked-attribute",
        &format!(
            "these members of process are not allowed: {}",
            BLOCKED_PROCESS_MEMBERS.join(", ")
        ),
        &query,
        |member| {
            let why = match member {
                "env" | "loadEnvFile" | "report" => "programs see no environment",
                "kill" | "_debugProcess" | "execve" => {
                    "programs may not signal or replace processes"
                }
                _ => "programs may not reach the runtime's internals",
            };
            format!("use of 'process.{member}' is not allowed: {why}")
        },
    )
}

fn process_as_value() -> Rule {
    let plain = quoted(r#"^('[^'\\]*'|"[^"\\]*")$"#);
    let query = format!(
        "((subscript_expression object: (identifier) @_o index: (_) @hit) (#eq? @_o \"process\") (#not-match? @hit {plain}))
         ([(variable_declarator name: (identifier) value: (identifier) @hit)
           (assignment_expression right: (identifier) @hit)
           (arguments (identifier) @hit)
           (array (identifier) @hit)
           (pair value: (identifier) @hit)
           (return_statement (identifier) @hit)
           (arrow_function body: (identifier) @hit)] (#eq? @hit \"process\"))"
    );
    Rule::new("blocked-attribute", "", &query, |_| {
        "passing 'process' around or indexing it with a computed name is not allowed: use \
         process.stdin, process.stdout or process.argv directly"
            .to_string()
    })
}

fn prototype_escapes() -> Rule {
    let member = "(member_expression property: (property_identifier) @hit)";
    let query = format!(
        "([(property_identifier) (shorthand_property_identifier) (identifier) (shorthand_property_identifier_pattern)] @hit (#eq? @hit \"__proto__\"))
         ((subscript_expression index: {LITERAL} @hit) (#any-of? @name \"constructor\" \"__proto__\"))
         ((member_expression object: (member_expression property: (property_identifier) @_c) property: (property_identifier) @hit) (#eq? @_c \"constructor\") (#eq? @hit \"constructor\"))
         ([(call_expression function: {member})
           (call_expression function: (parenthesized_expression {member}))
           (new_expression constructor: {member})
           (new_expression constructor: (parenthesized_expression {member}))
           (variable_declarator value: {member})
           (assignment_expression right: {member})
           (arguments {member})] (#eq? @hit \"constructor\"))
         ((object_pattern [(shorthand_property_identifier_pattern) @hit (pair_pattern key: (property_identifier) @hit)]) (#eq? @hit \"constructor\"))
         ((call_expression function: (member_expression object: (identifier) @_o) arguments: (arguments (string . (string_fragment) @name .) @hit)) (#any-of? @_o \"Reflect\" \"Object\") (#any-of? @name \"constructor\" \"__proto__\"))"
    );
    Rule::new(
        "prototype-escape",
        "constructor and __proto__ tricks that lead to Function are not allowed",
        &query,
        |name| match name {
            "__proto__" => "use of '__proto__' is not allowed: use Object.getPrototypeOf or \
                            Object.create"
                .to_string(),
            _ => "reaching 'constructor' this way is not allowed: it leads to Function, which \
                  runs code built from strings"
                .to_string(),
        },
    )
}

/// `node:fs/promises` -> `fs`.
fn module_name(spec: &str) -> String {
    let spec = spec.strip_prefix("node:").unwrap_or(spec);
    spec.split('/').next().unwrap_or(spec).to_string()
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$".contains(c);
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}
