//! codr language plugin: Rust (rustc, edition 2021).
//!
//! Validation rejects `unsafe`, `extern` blocks and crates, the std modules
//! that reach the outside (`process`, `net`, `fs`, `env`, `os`), inline
//! assembly, the macros that read files or the build environment, and the
//! attributes that rename symbols or load other files. Macro arguments and
//! `macro_rules!` bodies are token trees to the grammar, so the rules look
//! into token sequences too (`println!("{:?}", std::fs::read("x"))`).
//! Two harmless corners of the blocked modules stay open, because ordinary
//! programs use them: `std::process::{exit, abort, ExitCode}` and
//! `std::env::{args, args_os, Args}` (the plan passes the user's arguments).
//!
//! The plan compiles with `rustc --edition 2021 -O -F unsafe-code` (the
//! compiler's own lint is a second line behind the `unsafe-code` rule) and
//! runs `./main`; every command is data the operator can override (see
//! [`codr_sdk::plan::native_executable`]).

use codr_sdk::rules::{patterns_with, quoted, Rule, RuleSet};
use codr_sdk::{
    plan, Diagnostic, Identity, Language, Limits, Plan, PlanRequest, Sample, Setting, Settings,
};

/// Standard-library modules that reach processes, the network, files, the
/// environment or the OS.
pub const BLOCKED_MODULES: &[&str] = &["process", "net", "fs", "env", "os"];
/// Crates whose paths lead to those modules.
const ROOTS: &[&str] = &["std", "core", "alloc"];
/// Macros that read files or the build environment at compile time.
pub const BLOCKED_MACROS: &[&str] = &[
    "include",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
];
/// Inline-assembly macros.
const ASM_MACROS: &[&str] = &["asm", "global_asm", "naked_asm", "llvm_asm"];
/// Attributes that rename or export symbols, link libraries, or load a
/// module from an arbitrary path.
const BLOCKED_ATTRIBUTES: &[&str] = &[
    "no_mangle",
    "export_name",
    "link",
    "link_name",
    "link_section",
    "link_ordinal",
    "path",
    "naked",
];

/// Setting listing std modules the operator allows (comma-separated; `fs`
/// and `std::fs` are the same).
pub const ALLOW_MODULES: &str = "allow-modules";

/// The Rust language plugin.
pub struct Rust;

/// Names as arguments of `#any-of?`, each also as a raw identifier
/// (`r#fs` names the same module as `fs`).
fn any_of(names: &[&str]) -> String {
    names
        .iter()
        .flat_map(|n| [quoted(n), quoted(&format!("r#{n}"))])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Internal marker rule: harmless items of blocked modules (see
/// [`harmless_item_rule`]). Never reported, never listed.
const HARMLESS_ITEM: &str = "harmless-std-item";

/// Items of blocked modules that reach nothing outside the program:
/// leaving the process and reading its own arguments (the plan passes
/// them). `std::process::exit(1)` and `std::env::args()` are common in
/// ordinary programs; the rest of the modules stays blocked.
const HARMLESS_ITEMS: &[(&str, &[&str])] = &[
    ("process", &["exit", "abort", "ExitCode"]),
    ("env", &["args", "args_os", "Args"]),
];

/// Marks the module segment of `std::process::exit`, `std::env::args` and
/// the like (written out, in `use`, in types and in token trees) so that
/// `validate` drops the `blocked-module` diagnostic on the same span.
fn harmless_item_rule() -> Rule {
    let roots = any_of(ROOTS);
    let mut patterns = Vec::new();
    for (module, items) in HARMLESS_ITEMS {
        let module = any_of(&[module]);
        let items = any_of(items);
        let predicates =
            format!("(#any-of? @_r {roots}) (#any-of? @hit {module}) (#any-of? @_e {items})");
        let inner = "(scoped_identifier path: (identifier) @_r name: (identifier) @hit)";
        patterns.push(format!(
            "((scoped_identifier path: {inner} name: (identifier) @_e) {predicates})"
        ));
        patterns.push(format!(
            "((scoped_type_identifier path: {inner} name: (type_identifier) @_e) {predicates})"
        ));
        patterns.push(format!(
            "((token_tree (identifier) @_r . \"::\" . (identifier) @hit . \"::\" . (identifier) @_e) {predicates})"
        ));
    }
    // `std` in a token tree is fine when a path goes on from it (`std::io`,
    // checked by `module_rule`); alone (`m!(std, fs)`) a macro could glue
    // it to a blocked module, so `std_alias_rule` flags it.
    patterns.push(format!(
        "((token_tree (identifier) @hit . \"::\") (#any-of? @hit {roots}))"
    ));
    Rule::new(
        HARMLESS_ITEM,
        "internal: harmless items of blocked modules",
        &patterns.join("\n"),
        |m| m.to_string(),
    )
    .unlisted()
}

/// `diagnostics` without `blocked-module` findings that a
/// [`HARMLESS_ITEM`] marker covers, and without the markers.
fn without_harmless_items(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let span = |d: &Diagnostic| (d.line, d.column, d.end_line, d.end_column);
    let harmless: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.rule == HARMLESS_ITEM)
        .map(span)
        .collect();
    diagnostics
        .into_iter()
        .filter(|d| d.rule != HARMLESS_ITEM)
        .filter(|d| d.rule != BLOCKED_MODULE || !harmless.contains(&span(d)))
        .collect()
}

/// Rule id for uses of blocked std modules.
const BLOCKED_MODULE: &str = "blocked-module";

/// `unsafe-code`: unsafe blocks, functions, impls and traits, and `unsafe`
/// inside macro bodies and arguments.
fn unsafe_rule() -> Rule {
    Rule::new(
        "unsafe-code",
        "unsafe blocks, functions, impls and traits are not allowed",
        "(unsafe_block \"unsafe\" @hit)\n\
         (function_modifiers \"unsafe\" @hit)\n\
         (impl_item \"unsafe\" @hit)\n\
         (trait_item \"unsafe\" @hit)\n\
         (token_tree \"unsafe\" @hit)",
        |_| "unsafe code is not allowed".to_string(),
    )
}

/// `extern`: `extern "C" { ... }` blocks and `extern crate`.
fn extern_rule() -> Rule {
    Rule::new(
        "extern",
        "extern blocks and extern crate are not allowed",
        "(foreign_mod_item (extern_modifier) @hit)\n\
         (extern_crate_declaration \"extern\" @hit)",
        |_| "extern blocks and extern crate are not allowed".to_string(),
    )
}

/// `blocked-module`: `std::fs` (also `::std::fs`, `core::...`) in paths
/// anywhere (use declarations, calls, types), in use lists (`use
/// std::{fs, io}`), and in token trees (macro arguments and bodies). `@hit`
/// is the module's name, so the allow list holds `fs`, `process`, ...
fn module_rule() -> Rule {
    let roots = any_of(ROOTS);
    let mods = any_of(BLOCKED_MODULES);
    let global_root = "(scoped_identifier !path name: (identifier) @_root)";
    let items = "[(identifier) @hit \
                  (scoped_identifier path: (identifier) @hit) \
                  (scoped_use_list path: (identifier) @hit) \
                  (use_as_clause path: (identifier) @hit) \
                  (use_as_clause path: (scoped_identifier path: (identifier) @hit)) \
                  (use_wildcard (identifier) @hit)]";
    let query = patterns_with(
        &[
            "(scoped_identifier path: (identifier) @_root name: (identifier) @hit)".to_string(),
            format!("(scoped_identifier path: {global_root} name: (identifier) @hit)"),
            format!("(scoped_use_list path: (identifier) @_root list: (use_list {items}))"),
            format!("(scoped_use_list path: {global_root} list: (use_list {items}))"),
            "(token_tree (identifier) @_root . \"::\" . (identifier) @hit)".to_string(),
        ],
        &format!("(#any-of? @_root {roots}) (#any-of? @hit {mods})"),
    );
    Rule::new(
        BLOCKED_MODULE,
        &format!(
            "these standard modules are not allowed: {}",
            BLOCKED_MODULES
                .iter()
                .map(|m| format!("std::{m}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &query,
        |m| format!("use of module 'std::{m}' is not allowed"),
    )
    .allow_with(ALLOW_MODULES)
}

/// `blocked-module` too: ways to reach a blocked module under another name
/// (`use std as s;`, `use std::{self as s};`, `use std::*;`) or through a
/// macro (`std::$m::read` in a `macro_rules!` body, or `std` passed alone
/// as a macro argument, `m!(std, fs)`, to be glued into `$a::$b` there).
fn std_alias_rule() -> Rule {
    let roots = any_of(ROOTS);
    let query = format!(
        "((use_as_clause path: (identifier) @hit) (#any-of? @hit {roots}))\n\
         ((use_as_clause path: (scoped_identifier !path name: (identifier) @hit)) (#any-of? @hit {roots}))\n\
         ((scoped_use_list path: (identifier) @_root list: (use_list (use_as_clause path: (self) @hit))) (#any-of? @_root {roots}))\n\
         ((use_wildcard . (identifier) @hit) (#any-of? @hit {roots}))\n\
         ((use_wildcard . (scoped_identifier !path name: (identifier) @hit)) (#any-of? @hit {roots}))\n\
         ((token_tree (identifier) @_root . \"::\" . (metavariable) @hit) (#any-of? @_root {roots}))\n\
         ((token_tree (identifier) @hit) (#any-of? @hit {roots}))"
    );
    Rule::new(
        BLOCKED_MODULE,
        "renaming or glob-importing std, and std paths built by macros, are not allowed",
        &query,
        |_| {
            "renaming or glob-importing std (or building a std path in a macro) is not allowed"
                .to_string()
        },
    )
}

/// A rule for invocations of `names!`: plain, by path (`core::arch::asm!`)
/// and inside token trees (`vec![include_str!("x")]`, macro bodies).
fn macro_rule(id: &str, description: &str, names: &[&str]) -> Rule {
    let names = any_of(names);
    let query = format!(
        "((macro_invocation macro: (identifier) @hit) (#any-of? @hit {names}))\n\
         ((macro_invocation macro: (scoped_identifier name: (identifier) @hit)) (#any-of? @hit {names}))\n\
         ((token_tree (identifier) @hit . \"!\") (#any-of? @hit {names}))"
    );
    Rule::new(id, description, &query, |m| {
        format!("macro '{m}!' is not allowed")
    })
}

/// `blocked-macro` too: a macro name passed in as an argument (`m!(asm)`
/// with `$m!(...)` in the body) cannot be checked, so invoking a
/// metavariable is rejected.
fn macro_parameter_rule() -> Rule {
    Rule::new(
        "blocked-macro",
        "invoking a macro passed as a macro argument ($m!) is not allowed",
        "((token_tree (metavariable) @hit . \"!\"))",
        |m| format!("invoking a macro through '{m}' is not allowed"),
    )
}

/// `blocked-attribute`: [`BLOCKED_ATTRIBUTES`], also inside `cfg_attr(...)`
/// and `unsafe(...)` arguments.
fn attribute_rule() -> Rule {
    let names = any_of(BLOCKED_ATTRIBUTES);
    let query = format!(
        "((attribute (identifier) @hit) (#any-of? @hit {names}))\n\
         ((attribute arguments: (token_tree (identifier) @hit)) (#any-of? @hit {names}))"
    );
    Rule::new(
        "blocked-attribute",
        &format!(
            "these attributes are not allowed: {}",
            BLOCKED_ATTRIBUTES.join(", ")
        ),
        &query,
        |a| format!("attribute '{a}' is not allowed"),
    )
}

/// `settings` with `allow-modules` entries reduced to the module name
/// (`std::fs` and `::core::fs` become `fs`), the form the rule compares.
fn normalized(settings: &Settings) -> Settings {
    let list = settings
        .all()
        .iter()
        .map(|s| {
            if s.key != ALLOW_MODULES {
                return s.clone();
            }
            let value = s
                .value
                .split(',')
                .map(|m| module_name(m.trim()))
                .collect::<Vec<_>>()
                .join(",");
            Setting {
                key: s.key.clone(),
                value,
            }
        })
        .collect();
    Settings::new(list)
}

/// `::std::fs` -> `fs`.
fn module_name(path: &str) -> &str {
    path.trim_start_matches("::")
        .split("::")
        .last()
        .unwrap_or(path)
        .trim()
}

impl Language for Rust {
    fn identity() -> Identity {
        Identity::new("rust", "1.95", "rs").aliases(&["rs", "rustc"])
    }

    fn rule_set() -> RuleSet {
        RuleSet::new("rust").rules([
            unsafe_rule(),
            extern_rule(),
            module_rule(),
            std_alias_rule(),
            macro_rule("inline-asm", "inline assembly is not allowed", ASM_MACROS),
            macro_rule(
                "blocked-macro",
                "macros that read files or the build environment are not allowed",
                BLOCKED_MACROS,
            ),
            macro_parameter_rule(),
            attribute_rule(),
            harmless_item_rule(),
        ])
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        let found = Self::rule_set().validate(source, &normalized(settings));
        without_harmless_items(found)
    }

    fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
        // rustc: ~130 MB resident for a small program, LLVM worker threads,
        // and the linker (cc, collect2, rust-lld) as child processes.
        let compile_limits = Limits::default()
            .wall_time_ms(15_000)
            .processes(64)
            .memory_bytes(512 << 20)
            .address_space_bytes(2 << 30);
        Ok(plan::native_executable(
            request,
            settings,
            "main.rs",
            "rustc",
            &[
                "--edition",
                "2021",
                "-O",
                "-F",
                "unsafe-code",
                "--color",
                "never",
                "-o",
                "main",
                "main.rs",
            ],
            compile_limits,
        ))
    }

    fn samples() -> Vec<Sample> {
        vec![
            Sample::new(
                "hello",
                "fn main() {\n    println!(\"Hello, World!\");\n}\n",
                "Hello, World!\n",
            ),
            Sample::new(
                "read-number",
                "use std::io;\n\nfn main() {\n    let mut line = String::new();\n    io::stdin().read_line(&mut line).expect(\"read\");\n    let n: i64 = line.trim().parse().expect(\"number\");\n    println!(\"{}\", n * 2);\n}\n",
                "42\n",
            )
            .stdin("21\n"),
        ]
    }
}

// Only the wasm build exports the component: natively (`cargo test`) the
// cdylib's version script cannot hold export names such as
// `cabi_post_codr:plugin/plugin@0.1.0#identity`; the tests call the trait.
#[cfg(target_arch = "wasm32")]
codr_sdk::register!(Rust);
