//! codr language plugin: C (gcc, C11).
//!
//! Validation rejects process, network, loader and tracing functions, their
//! headers, inline assembly and the preprocessor tricks that could hide them
//! (see [`clike`], shared with the C++ plugin through the SDK). The plan
//! compiles with `gcc -std=c11 -O2`, with every other `.c` file sent beside
//! the program (see [`clike::extra_sources`]), and runs `./main`; every
//! command is data the operator can override (see [`clike::Compiler`]; an
//! operator's `compile-args` replace the whole list, the other files
//! included).

use std::collections::HashSet;

use codr_sdk::rules::{Rule, RuleSet};
use codr_sdk::{Diagnostic, Identity, Language, Plan, PlanRequest, Sample, Settings};

pub use codr_sdk::clike;

/// Internal marker rule: names of functions the program defines at file
/// scope. Never reported, never listed.
const DEFINED_FUNCTION: &str = "defined-function";

/// The C language plugin.
pub struct C;

/// Functions defined at file scope (direct children of the translation
/// unit, so not inside `#if 0`). In C a definition replaces the library's
/// symbol, so a program's own `connect` or `bind` is its own business.
fn defined_function_rule() -> Rule {
    Rule::new(
        DEFINED_FUNCTION,
        "internal: functions the program defines",
        &format!(
            "((translation_unit (function_definition declarator: (function_declarator declarator: (identifier) @hit))) (#any-of? @hit {}))\n\
             ((translation_unit (function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @hit)))) (#any-of? @hit {}))",
            clike::any_of(clike::BLOCKED_FUNCTIONS),
            clike::any_of(clike::BLOCKED_FUNCTIONS)
        ),
        |f| f.to_string(),
    )
    .unlisted()
}

/// `diagnostics` without uses of functions the program defines itself and
/// without the internal markers.
fn without_own_functions(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let defined: HashSet<String> = diagnostics
        .iter()
        .filter(|d| d.rule == DEFINED_FUNCTION)
        .map(|d| d.message.clone())
        .collect();
    diagnostics
        .into_iter()
        .filter(|d| d.rule != DEFINED_FUNCTION)
        .filter(|d| d.rule != clike::BLOCKED_CALL || !defined.contains(quoted_name(&d.message)))
        .collect()
}

/// The first `'...'` part of a message (the function name).
fn quoted_name(message: &str) -> &str {
    message.split('\'').nth(1).unwrap_or("")
}

impl Language for C {
    fn identity() -> Identity {
        Identity::new("c", "12", "c")
            .aliases(&["gcc", "c11"])
            .runtime("gcc")
    }

    fn rule_set() -> RuleSet {
        RuleSet::new("c")
            .rules([
                clike::blocked_function_rule(),
                clike::header_rule("c", &[]),
                clike::include_path_rule(),
                clike::other_include_rule(),
                clike::pragma_rule(),
                clike::inline_asm_rule(),
                clike::attribute_rule("c"),
                clike::macro_rule(),
                clike::token_pasting_rule(),
                clike::syntax_error_rule(),
            ])
            .rule(defined_function_rule())
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        let found = without_own_functions(Self::rule_set().validate(source, settings));
        clike::without_variables("c", source, found)
    }

    /// The other `.c` files sent with the program are compiled with it (as
    /// Piston does); libm comes after every object that may use it.
    fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
        let gcc = clike::Compiler::new("gcc", "-std=c11", "main.c", &["c"]).libraries(&["-lm"]);
        Ok(gcc.plan(request, settings))
    }

    fn samples() -> Vec<Sample> {
        vec![
            Sample::new(
                "hello",
                "#include <stdio.h>\n\nint main(void) {\n    printf(\"Hello, World!\\n\");\n    return 0;\n}\n",
                "Hello, World!\n",
            ),
            Sample::new(
                "read-number",
                "#include <stdio.h>\n\nint main(void) {\n    int n;\n    if (scanf(\"%d\", &n) != 1) return 1;\n    printf(\"%d\\n\", n * 2);\n    return 0;\n}\n",
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
codr_sdk::register!(C);
