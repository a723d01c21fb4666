//! codr language plugin: C++ (g++, C++17).
//!
//! The C rules (shared with the C plugin, see [`clike`]) plus the C++
//! spellings: `std::system(...)`, `::fork()`, `<csignal>`, `[[gnu::alias]]`.
//! Unlike C, a program's own function named like a blocked one is not
//! exempt: with overloading and `<bits/stdc++.h>` (which declares `fork`,
//! `execv`, ...) a call could still reach the library's.
//!
//! The plan compiles with `g++ -std=c++17 -O2`, with every other `.cpp`,
//! `.cc` or `.cxx` file sent beside the program (see
//! [`clike::extra_sources`]), and runs `./main`; every command is data the
//! operator can override (see [`clike::Compiler`]).

use codr_sdk::rules::{Rule, RuleSet};
use codr_sdk::{Diagnostic, Identity, Language, Plan, PlanRequest, Sample, Settings};

pub use codr_sdk::clike;

/// C++ wrappers of blocked C headers.
const BLOCKED_CPP_HEADERS: &[&str] = &["csignal"];

/// The C++ language plugin.
pub struct Cpp;

/// `blocked-call` for qualified names: `std::system` (and `::std::system`)
/// and global-scope `::fork`, wherever they appear (a call, `&std::system`,
/// `using std::system;`); `system` in any namespace, so a namespace alias of
/// std (`namespace s = std; s::system(...)`) does not hide it. `std::bind` is the functional-library binder, not
/// the socket call, so `bind` is only blocked unqualified or as `::bind`.
fn qualified_function_rule() -> Rule {
    let in_std: Vec<&str> = clike::BLOCKED_FUNCTIONS
        .iter()
        .copied()
        .filter(|f| *f != "bind")
        .collect();
    let query = format!(
        "((qualified_identifier scope: (namespace_identifier) @_scope name: (identifier) @hit) \
           (#eq? @_scope \"std\") (#any-of? @hit {std}))\n\
         ((qualified_identifier !scope name: (identifier) @hit) (#any-of? @hit {all}))\n\
         ((qualified_identifier scope: (namespace_identifier) name: (identifier) @hit) (#eq? @hit \"system\"))",
        std = clike::any_of(&in_std),
        all = clike::any_of(clike::BLOCKED_FUNCTIONS),
    );
    Rule::new(
        clike::BLOCKED_CALL,
        "qualified uses of blocked functions (std::system, ::fork) are not allowed",
        &query,
        |f| format!("call of '{f}' is not allowed"),
    )
    .allow_with(clike::ALLOW_FUNCTIONS)
}

impl Language for Cpp {
    fn identity() -> Identity {
        Identity::new("cpp", "12", "cpp")
            .aliases(&["c++", "cxx", "g++", "cpp17"])
            .runtime("gcc")
    }

    fn rule_set() -> RuleSet {
        RuleSet::new("cpp").rules([
            clike::blocked_function_rule(),
            qualified_function_rule(),
            clike::header_rule("cpp", BLOCKED_CPP_HEADERS),
            clike::include_path_rule(),
            clike::other_include_rule(),
            clike::pragma_rule(),
            clike::inline_asm_rule(),
            clike::attribute_rule("cpp"),
            clike::macro_rule(),
            clike::token_pasting_rule(),
            clike::syntax_error_rule(),
        ])
    }

    fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
        let found = Self::rule_set().validate(source, settings);
        clike::without_variables("cpp", source, found)
    }

    /// The other C++ sources sent with the program are compiled with it, as
    /// Piston does. `<bits/stdc++.h>` alone takes about 200 MB and 4-5 s in
    /// cc1plus here: 15 s of wall time.
    fn plan(request: &PlanRequest, settings: &Settings) -> Result<Plan, String> {
        let limits = clike::Compiler::default_limits().wall_time_ms(15_000);
        let gxx = clike::Compiler::new("g++", "-std=c++17", "main.cpp", &["cpp", "cc", "cxx"]);
        Ok(gxx.limits(limits).plan(request, settings))
    }

    fn samples() -> Vec<Sample> {
        vec![
            Sample::new(
                "hello",
                "#include <iostream>\n\nint main() {\n    std::cout << \"Hello, World!\\n\";\n    return 0;\n}\n",
                "Hello, World!\n",
            ),
            Sample::new(
                "read-line",
                "#include <iostream>\n#include <string>\n\nint main() {\n    std::string name;\n    std::getline(std::cin, name);\n    std::cout << \"Hi, \" << name << \"!\\n\";\n    return 0;\n}\n",
                "Hi, Ada!\n",
            )
            .stdin("Ada\n"),
        ]
    }
}

// Only the wasm build exports the component: natively (`cargo test`) the
// cdylib's version script cannot hold export names such as
// `cabi_post_codr:plugin/plugin@0.1.0#identity`; the tests call the trait.
#[cfg(target_arch = "wasm32")]
codr_sdk::register!(Cpp);
