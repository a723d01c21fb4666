//! What answers a plugin's `syntax` calls: the host's built-in grammars
//! natively, and the grammars plugins ship in worker processes
//! ([`codr_syntax::GrammarWorkers`]) or, for trusted use without a worker
//! program (tests), in this process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use codr_syntax::{Answers, Capture, ErrorSpan, GrammarWorkers, SyntaxError};

/// Built-in grammars, then shipped ones.
pub(crate) struct Syntax {
    native: codr_syntax::Engine,
    /// `None`: shipped grammars load into `native` (no isolation).
    workers: Option<GrammarWorkers>,
    /// A plugin call's time budget: a syntax call stops when it is spent.
    budget: Duration,
}

impl Syntax {
    pub(crate) fn new(workers: Option<GrammarWorkers>, budget: Duration) -> Self {
        Self {
            native: codr_syntax::Engine::new(),
            workers,
            budget,
        }
    }

    /// Makes the grammar a plugin ships known as `name`; a grammar that does
    /// not load (or loops, traps, runs out of memory while loading) is
    /// refused with why.
    pub(crate) fn register(&self, name: &str, wasm: Vec<u8>) -> Result<(), SyntaxError> {
        match &self.workers {
            Some(workers) => workers.register(name, Arc::from(wasm)),
            None => self.native.load_wasm_grammar(name, &wasm),
        }
    }

    /// `syntax.query` for a plugin call that began at `started`: the answer
    /// must come within what is left of the call's budget, or the parse and
    /// the match are stopped (a worker is killed), so a plugin handing the
    /// host a huge text cannot hold it past its own deadline.
    pub(crate) fn query(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
        started: Instant,
    ) -> Result<Vec<Capture>, SyntaxError> {
        self.answers(grammar)
            .query_until(grammar, source, query, started + self.budget)
    }

    /// `syntax.syntax-errors`, as [`Syntax::query`].
    pub(crate) fn syntax_errors(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
        started: Instant,
    ) -> Result<Vec<ErrorSpan>, SyntaxError> {
        self.answers(grammar)
            .syntax_errors_until(grammar, source, max, started + self.budget)
    }

    /// Who answers for `grammar`: the workers, when it is not built in and
    /// workers are in use; else the engine in this process.
    fn answers(&self, grammar: &str) -> &dyn Answers {
        match &self.workers {
            Some(workers) if !codr_syntax::grammars().contains(&grammar) => workers,
            _ => &self.native,
        }
    }
}
