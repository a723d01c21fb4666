//! A grammar worker on its own (the host runs the same code as
//! `codr grammar-worker`): serves shipped grammars on stdin and stdout for a
//! [`codr_syntax::GrammarWorkers`] pool. Not meant to be started by hand.

fn main() -> std::io::Result<()> {
    codr_syntax::worker::serve_stdio()
}
