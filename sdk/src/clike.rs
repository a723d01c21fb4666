//! What the C and C++ plugins share: their rules (the C++ grammar extends
//! the C one, so the node kinds used here exist in both) and how they
//! compile ([`Compiler`]). Any C-like plugin (gcc's other front ends, a
//! second C standard) uses them the same way.
//!
//! The rules look at syntax only: a blocked name inside a string, a comment,
//! a struct field (`s.fork`) or a longer identifier (`system_count`) never
//! matches. A local variable that happens to share a blocked name
//! (`std::string system = "x"; std::cout << system;`) is a variable, not the
//! function: uses of it after its declaration in the same function body (or
//! after a file-scope declaration) are not held against the program
//! ([`without_variables`]); a direct call `system(...)` always is.

use crate::plan::native_executable;
use crate::rules::{blocked_headers, patterns_with, Rule};
use crate::{Diagnostic, Limits, Plan, PlanRequest, Settings};

/// Functions that start processes, open sockets, load code or trace: calls
/// of these (and taking their address) are rejected. `syscall` and the
/// `posix_spawn` family are here because they reach the same kernel calls
/// without the named wrappers; `mmap` and `mprotect` because executable
/// memory runs machine code that no rule can see.
pub const BLOCKED_FUNCTIONS: &[&str] = &[
    "system",
    "popen",
    "execl",
    "execlp",
    "execle",
    "execv",
    "execvp",
    "execvpe",
    "execve",
    "execveat",
    "fexecve",
    "fork",
    "vfork",
    "clone",
    "clone3",
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "dlopen",
    "dlmopen",
    "dlsym",
    "dlvsym",
    "ptrace",
    "syscall",
    "posix_spawn",
    "posix_spawnp",
    "mmap",
    "mprotect",
];

/// Headers that declare process, network, signal and loader interfaces.
/// An entry ending in `/*` blocks the whole directory.
pub const BLOCKED_HEADERS: &[&str] = &[
    "unistd.h",
    "sys/*",
    "netinet/*",
    "arpa/*",
    "net/*",
    "linux/*",
    "asm/*",
    "dlfcn.h",
    "signal.h",
    "spawn.h",
    "netdb.h",
    "pty.h",
];

/// Setting listing functions the operator allows (comma-separated).
pub const ALLOW_FUNCTIONS: &str = "allow-functions";
/// Setting listing headers the operator allows (comma-separated, bare
/// paths such as `sys/time.h`).
pub const ALLOW_HEADERS: &str = "allow-headers";

/// Rule id for calls and other uses of a blocked function.
pub const BLOCKED_CALL: &str = "blocked-call";

/// Names as arguments of `#any-of?` (the SDK's, re-exported for the C and
/// C++ plugins' own queries).
pub use crate::rules::{any_of, quoted};

/// Every place where a function name is used as a value: called directly,
/// called through parentheses, its address taken, stored in a pointer,
/// passed to another function, returned, cast or put in an array. A
/// variable that merely shares a blocked name is only flagged when used in
/// one of these positions.
pub fn function_use_query(names: &[&str]) -> String {
    let names = any_of(names);
    let positions = [
        "(call_expression function: (identifier) @hit)",
        "(parenthesized_expression (identifier) @hit)",
        "(pointer_expression argument: (identifier) @hit)",
        "(init_declarator value: (identifier) @hit)",
        "(assignment_expression right: (identifier) @hit)",
        "(cast_expression value: (identifier) @hit)",
        "(initializer_list (identifier) @hit)",
        "(return_statement (identifier) @hit)",
        "(argument_list (identifier) @hit)",
        "(conditional_expression consequence: (identifier) @hit)",
        "(conditional_expression alternative: (identifier) @hit)",
        "(comma_expression (identifier) @hit)",
        "(initializer_pair value: (identifier) @hit)",
        "(generic_expression (identifier) @hit)",
        "(expression_statement (identifier) @hit)",
        "(binary_expression (identifier) @hit)",
        "(unary_expression argument: (identifier) @hit)",
    ];
    patterns_with(&positions, &format!("(#any-of? @hit {names})"))
}

/// A position in the source: (line, column), 1-based.
type Pos = (u32, u32);

/// Drops the `blocked-call` findings that name a variable rather than the
/// function: a use (not a direct call) of a name declared as a variable
/// earlier in the same function body, or at file scope. `grammar` is "c"
/// or "cpp".
pub fn without_variables(grammar: &str, source: &str, found: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if !found.iter().any(|d| d.rule == BLOCKED_CALL) {
        return found;
    }
    let query = |q: &str| crate::syntax::query(grammar, source, q).unwrap_or_default();
    let calls: Vec<Pos> = query("(call_expression function: (identifier) @call)")
        .iter()
        .map(|c| (c.start_line, c.start_column))
        .collect();
    let bodies: Vec<(Pos, Pos)> = query("(function_definition body: (compound_statement) @body)")
        .iter()
        .map(|c| ((c.start_line, c.start_column), (c.end_line, c.end_column)))
        .collect();
    // `x`, `*x`, `**x` and `x[n]` declarators, in declarations and parameters.
    let shapes = [
        "(identifier) @name",
        "(pointer_declarator declarator: (identifier) @name)",
        "(pointer_declarator declarator: (pointer_declarator declarator: (identifier) @name))",
        "(array_declarator declarator: (identifier) @name)",
    ];
    let patterns: Vec<String> = ["init_declarator", "declaration", "parameter_declaration"]
        .iter()
        .flat_map(|parent| {
            shapes
                .iter()
                .map(move |s| format!("({parent} declarator: {s})"))
        })
        .collect();
    let declared: Vec<(String, Pos)> = query(&format!("[{}]", patterns.join("\n")))
        .into_iter()
        .map(|c| (c.text, (c.start_line, c.start_column)))
        .collect();
    // The innermost function body holding `p` (None: file scope).
    let body_of = |p: Pos| {
        bodies
            .iter()
            .filter(|(start, end)| *start <= p && p <= *end)
            .max_by_key(|(start, _)| *start)
            .copied()
    };
    let is_variable = |d: &Diagnostic| {
        let at = (d.line, d.column);
        let name = d.message.split('\'').nth(1).unwrap_or("");
        !calls.contains(&at)
            && declared.iter().any(|(n, p)| {
                n == name && *p < at && (body_of(*p).is_none() || body_of(*p) == body_of(at))
            })
    };
    found
        .into_iter()
        .filter(|d| d.rule != BLOCKED_CALL || !is_variable(d))
        .collect()
}

/// `blocked-call`: uses of [`BLOCKED_FUNCTIONS`] (see [`function_use_query`]).
pub fn blocked_function_rule() -> Rule {
    Rule::new(
        BLOCKED_CALL,
        &format!(
            "calls of these functions (or taking their address) are not allowed: {}",
            BLOCKED_FUNCTIONS.join(", ")
        ),
        &function_use_query(BLOCKED_FUNCTIONS),
        |f| format!("call of '{f}' is not allowed"),
    )
    .allow_with(ALLOW_FUNCTIONS)
}

/// `blocked-macro`: a macro whose body names a blocked function (`#define
/// RUN system`) would hide the call from [`blocked_function_rule`].
pub fn macro_rule() -> Rule {
    let regex = format!("\\b(?:{})\\b", BLOCKED_FUNCTIONS.join("|"));
    Rule::new(
        "blocked-macro",
        "macros whose body names a blocked function are not allowed",
        &format!(
            "((preproc_def name: (identifier) @name value: (preproc_arg) @hit) (#match? @hit {re}))\n\
             ((preproc_function_def name: (identifier) @name value: (preproc_arg) @hit) (#match? @hit {re}))",
            re = quoted(&regex)
        ),
        |m| format!("macro '{m}' names a blocked function"),
    )
}

/// `token-pasting`: `##` can assemble a blocked name from harmless pieces
/// (`sys ## tem`), which no syntax rule can see.
pub fn token_pasting_rule() -> Rule {
    Rule::new(
        "token-pasting",
        "token pasting (##) in macros is not allowed",
        "((preproc_def value: (preproc_arg) @hit) (#match? @hit \"##\"))\n\
         ((preproc_function_def value: (preproc_arg) @hit) (#match? @hit \"##\"))",
        |_| "token pasting (##) is not allowed".to_string(),
    )
}

/// `inline-asm`: `asm(...)`, `__asm__ volatile (...)`, and asm labels
/// (`int f(void) asm("system");`, which renames a symbol).
pub fn inline_asm_rule() -> Rule {
    Rule::new(
        "inline-asm",
        "inline assembly and asm labels are not allowed",
        "(gnu_asm_expression) @hit",
        |_| "inline assembly is not allowed".to_string(),
    )
}

/// GNU attributes that bind a declaration to another symbol
/// (`__attribute__((weakref("system")))` calls `system` under another name).
const SYMBOL_ATTRIBUTES: &[&str] = &[
    "alias",
    "__alias__",
    "weakref",
    "__weakref__",
    "ifunc",
    "__ifunc__",
    "symver",
    "__symver__",
];

/// `blocked-attribute`: [`SYMBOL_ATTRIBUTES`] in `__attribute__((...))`
/// (and, in C++, `[[gnu::...]]`).
pub fn attribute_rule(grammar: &str) -> Rule {
    let names = any_of(SYMBOL_ATTRIBUTES);
    let mut query = format!(
        "((attribute_specifier (argument_list (call_expression function: (identifier) @hit))) (#any-of? @hit {names}))\n\
         ((attribute_specifier (argument_list (identifier) @hit)) (#any-of? @hit {names}))"
    );
    if grammar == "cpp" {
        query.push_str(&format!(
            "\n((attribute name: (identifier) @hit) (#any-of? @hit {names}))"
        ));
    }
    Rule::new(
        "blocked-attribute",
        "attributes that alias another symbol (alias, weakref, ifunc, symver) are not allowed",
        &query,
        |a| format!("attribute '{a}' is not allowed"),
    )
}

/// `blocked-header`: [`BLOCKED_HEADERS`] plus `extra` (the C++ wrappers).
pub fn header_rule(grammar: &str, extra: &[&str]) -> Rule {
    let headers: Vec<&str> = BLOCKED_HEADERS.iter().chain(extra).copied().collect();
    blocked_headers(grammar, &headers).allow_with(ALLOW_HEADERS)
}

/// `blocked-header` too: `#include MACRO` (the header is computed, so the
/// header rule cannot see it) and includes by absolute or parent path
/// (`#include "/etc/passwd"` makes the compiler print a file).
pub fn include_path_rule() -> Rule {
    Rule::new(
        "blocked-header",
        "computed includes and includes by absolute or parent path are not allowed",
        "(preproc_include path: [(identifier) (call_expression)] @hit)\n\
         ((preproc_include path: [(string_literal) (system_lib_string)] @hit) \
          (#match? @hit \"^[<\\\"]\\\\s*(?:/|.*\\\\.\\\\.)\"))",
        |p| format!("include of '{p}' is not allowed"),
    )
}

/// `blocked-header` too: `#include_next` and `#import` include like
/// `#include` but are other directives to the grammar.
pub fn other_include_rule() -> Rule {
    Rule::new(
        "blocked-header",
        "#include_next and #import are not allowed",
        "((preproc_call directive: (preproc_directive) @hit) \
          (#match? @hit \"^#\\\\s*(?:include_next|import)$\"))",
        |d| format!("'{d}' is not allowed; use #include"),
    )
}

/// `blocked-pragma`: `#pragma redefine_extname f system` (or the same in
/// `_Pragma("...")`) makes calls of a harmless-looking `f` call `system`.
pub fn pragma_rule() -> Rule {
    Rule::new(
        "blocked-pragma",
        "#pragma redefine_extname is not allowed",
        "((preproc_call directive: (preproc_directive) @_d argument: (preproc_arg) @hit) \
          (#match? @_d \"^#\\\\s*pragma$\") (#match? @hit \"redefine_extname\"))\n\
         ((call_expression function: (identifier) @_p arguments: (argument_list (string_literal) @hit)) \
          (#eq? @_p \"_Pragma\") (#match? @hit \"redefine_extname\"))",
        |_| "#pragma redefine_extname is not allowed".to_string(),
    )
}

/// `syntax-error`: code the grammar cannot parse. The rules only see what
/// parses, so an unparsable region could hide anything (a line splice
/// `sys\` + newline + `tem(...)`, a `%:include` digraph, a `??=` trigraph).
pub fn syntax_error_rule() -> Rule {
    crate::rules::syntax_error()
}

/// The other source files of `request` to compile with the program, as
/// Piston's gcc package compiles every source file it is sent: each path of
/// `request.files` ending in one of `extensions` (`c`; `cpp`, `cc`, `cxx`),
/// in the order sent. A file the program `#include`s by that path is left
/// out: its code is already in the program, and compiled again it would
/// define its functions twice (including it was the way to use a second
/// source file before codr compiled them).
pub fn extra_sources(request: &PlanRequest, extensions: &[&str]) -> Vec<String> {
    let included = included_paths(&request.source);
    request
        .files
        .iter()
        .filter(|path| {
            path.rsplit_once('.')
                .is_some_and(|(_, ext)| extensions.contains(&ext))
        })
        .filter(|path| !included.contains(&path.as_str()))
        .cloned()
        .collect()
}

/// The paths of `source`'s quoted includes (`#include "util.c"`).
fn included_paths(source: &str) -> Vec<&str> {
    source
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('#')?.trim_start();
            let rest = rest.strip_prefix("include")?.trim_start();
            rest.strip_prefix('"')?.split('"').next()
        })
        .collect()
}

/// How a C-like plugin compiles and runs a program: `program standard -O2
/// -pipe -fdiagnostics-color=never -o main MAIN OTHERS... LIBRARIES...`
/// under the compile limits, then `./main` with the user's arguments, and
/// `main` as the artifact ([`native_executable`]: an operator's
/// `compile-program`, `compile-args`, `run-program` and `run-args` replace
/// the defaults; `compile-args` replaces the whole list, the other files
/// included).
///
/// ```
/// use codr_sdk::clike::Compiler;
///
/// let request = codr_sdk::testing::request("int main(void){}", &[], &[]);
/// let settings = codr_sdk::Settings::from(&request);
/// let gcc = Compiler::new("gcc", "-std=c11", "main.c", &["c"]).libraries(&["-lm"]);
/// let plan = gcc.plan(&request, &settings);
/// assert_eq!(plan.compile.unwrap().args.last().unwrap(), "-lm");
/// ```
#[derive(Debug, Clone)]
pub struct Compiler<'a> {
    program: &'a str,
    standard: &'a str,
    main_file: &'a str,
    extensions: &'a [&'a str],
    libraries: &'a [&'a str],
    limits: Limits,
}

impl<'a> Compiler<'a> {
    /// `program` (`gcc`, `g++`) with the `-std=` flag `standard`, the
    /// source written to `main_file`, and the other files sent ending in one
    /// of `extensions` compiled with it ([`extra_sources`]); the compile
    /// step gets [`Compiler::default_limits`].
    pub fn new(
        program: &'a str,
        standard: &'a str,
        main_file: &'a str,
        extensions: &'a [&'a str],
    ) -> Self {
        Self {
            program,
            standard,
            main_file,
            extensions,
            libraries: &[],
            limits: Self::default_limits(),
        }
    }

    /// The compile step's limits unless [`Compiler::limits`] changes them:
    /// 16 processes (the driver, `cc1`, `as`, `collect2`, `ld`) and 512 MiB.
    pub fn default_limits() -> Limits {
        Limits::default().processes(16).memory_bytes(512 << 20)
    }

    /// Arguments after every source (`-lm`: libraries come after the
    /// objects that use them).
    pub fn libraries(mut self, libraries: &'a [&'a str]) -> Self {
        self.libraries = libraries;
        self
    }

    /// The compile step's limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The plan for `request` under the operator's `settings` (see
    /// [`Compiler`]).
    pub fn plan(&self, request: &PlanRequest, settings: &Settings) -> Plan {
        let extra = extra_sources(request, self.extensions);
        let mut args = vec![
            self.standard,
            "-O2",
            "-pipe",
            "-fdiagnostics-color=never",
            "-o",
            "main",
            self.main_file,
        ];
        args.extend(extra.iter().map(String::as_str));
        args.extend(self.libraries);
        native_executable(
            request,
            settings,
            self.main_file,
            self.program,
            &args,
            self.limits,
        )
    }
}
