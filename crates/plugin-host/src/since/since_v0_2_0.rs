//! Contract 0.2 (`wit/since_v0.2.0/`), the latest: plugins may ship a
//! grammar, identities have a `runtime`, plan requests list the other files.

wasmtime::component::bindgen!({
    world: "language",
    path: "../../wit/since_v0.2.0",
});

use crate::bindings::HostState;

impl codr::plugin::types::Host for HostState {}

impl codr::plugin::syntax::Host for HostState {
    fn query(
        &mut self,
        grammar: String,
        source: String,
        query: String,
    ) -> Result<Vec<codr::plugin::syntax::Capture>, String> {
        let captures = self.query(&grammar, &source, &query)?;
        Ok(captures.into_iter().map(capture).collect())
    }

    fn syntax_errors(
        &mut self,
        grammar: String,
        source: String,
        max: u32,
    ) -> Result<Vec<(u32, u32, u32, u32)>, String> {
        self.syntax_errors(&grammar, &source, max)
    }
}

fn capture(c: codr_syntax::Capture) -> codr::plugin::syntax::Capture {
    codr::plugin::syntax::Capture {
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
