//! Native tree-sitter queries, provided by the host.
//!
//! On `wasm32` this is the host import `codr:plugin/syntax`; elsewhere (a
//! plugin's unit tests with plain `cargo test`) a process-wide native
//! [`codr_syntax::Engine`] answers, with the same results.

pub use crate::bindings::codr::plugin::syntax::Capture;

/// Parses `source` with `grammar` (a host built-in one: "python",
/// "javascript", "c", "cpp", "rust"; or the one the plugin ships) and runs
/// `query`; text predicates (`#eq?`, `#match?`,
/// `#any-of?`, ...) are applied. Returns every capture of every match in
/// document order, or the error (unknown grammar, invalid query with its
/// position) as text.
pub fn query(grammar: &str, source: &str, query: &str) -> Result<Vec<Capture>, String> {
    imp::query(grammar, source, query)
}

/// Outside wasm only: makes the shipped grammar `wasm` known as `name` to
/// the native engine (see [`crate::testing::load_grammar`]). Loading the
/// same bytes again is free.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn load_native_grammar(name: &str, wasm: &[u8]) -> Result<(), String> {
    native::engine()
        .load_wasm_grammar(name, wasm)
        .map_err(|e| e.to_string())
}

/// Positions (line, column, end line, end column; 1-based, columns in
/// Unicode scalar values) of at most `max` syntax errors in `source`.
pub fn syntax_errors(
    grammar: &str,
    source: &str,
    max: u32,
) -> Result<Vec<(u32, u32, u32, u32)>, String> {
    imp::syntax_errors(grammar, source, max)
}

// The functions above answer from the host import in wasm, from a native
// engine with the same signatures elsewhere.
#[cfg(target_arch = "wasm32")]
use crate::bindings::codr::plugin::syntax as imp;
#[cfg(not(target_arch = "wasm32"))]
use native as imp;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::Capture;
    use std::sync::OnceLock;

    /// One engine for the whole test process: grammars and compiled
    /// queries are cached in it, as the host caches them.
    pub(super) fn engine() -> &'static codr_syntax::Engine {
        static ENGINE: OnceLock<codr_syntax::Engine> = OnceLock::new();
        ENGINE.get_or_init(codr_syntax::Engine::new)
    }

    /// [`super::query`] on the process-wide native engine.
    pub fn query(grammar: &str, source: &str, query: &str) -> Result<Vec<Capture>, String> {
        let caps = engine()
            .query(grammar, source, query)
            .map_err(|e| e.to_string())?;
        Ok(caps.into_iter().map(convert).collect())
    }

    /// [`super::syntax_errors`] on the process-wide native engine.
    pub fn syntax_errors(
        grammar: &str,
        source: &str,
        max: u32,
    ) -> Result<Vec<(u32, u32, u32, u32)>, String> {
        engine()
            .syntax_errors(grammar, source, max)
            .map_err(|e| e.to_string())
    }

    fn convert(c: codr_syntax::Capture) -> Capture {
        Capture {
            name: c.name,
            pattern: c.pattern,
            match_id: c.match_id,
            kind: c.kind,
            text: c.text,
            start_byte: c.start_byte,
            end_byte: c.end_byte,
            start_line: c.start_line,
            start_column: c.start_column,
            end_line: c.end_line,
            end_column: c.end_column,
        }
    }
}
