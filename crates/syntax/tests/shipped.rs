//! Grammars shipped as WebAssembly: in-process (a plugin's own tests) and in
//! worker processes (the host), hostile ones included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use codr_syntax::{Engine, GrammarWorkers, SyntaxError, WorkerCommand, WorkerLimits};

const GO_PROGRAM: &str = "package main\n\nimport (\n\t\"fmt\"\n\tx \"os/exec\"\n)\n\n// \"os/exec\" in a comment\nfunc main() { fmt.Println(\"os/exec\"); _ = x.Command }\n";
const IMPORTS: &str = "(import_spec path: (interpreted_string_literal) @path)";

fn go_wasm() -> Arc<[u8]> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../plugins/go/grammar/tree-sitter-go.wasm"
    );
    std::fs::read(path)
        .expect("plugins/go ships its grammar")
        .into()
}

fn workers(limits: WorkerLimits) -> GrammarWorkers {
    let command = WorkerCommand {
        program: env!("CARGO_BIN_EXE_codr-grammar-worker").into(),
        args: Vec::new(),
        cache_dir: None,
    };
    GrammarWorkers::new(command, limits)
}

fn short() -> WorkerLimits {
    WorkerLimits {
        timeout: Duration::from_millis(1500),
        memory_bytes: 256 << 20,
    }
}

/// A module tree-sitter accepts as a grammar called `name` (it has the
/// `dylink.0` memory info and a `tree_sitter_<name>` export) whose language
/// function runs `body`.
fn hostile(name: &str, body: &str) -> Arc<[u8]> {
    let text = format!(
        r#"(module
            (@custom "dylink.0" (before first) "\01\04\00\00\00\00")
            (memory 1)
            (func (export "tree_sitter_{name}") (result i32) {body}))"#
    );
    wat::parse_str(text).expect("valid WAT").into()
}

fn paths(captures: &[codr_syntax::Capture]) -> Vec<(String, u32, u32)> {
    captures
        .iter()
        .map(|c| (c.text.clone(), c.start_line, c.start_column))
        .collect()
}

#[test]
fn a_shipped_grammar_answers_like_a_built_in_one_in_process() {
    let engine = Engine::new();
    assert!(matches!(
        engine.query("go", GO_PROGRAM, IMPORTS),
        Err(SyntaxError::UnknownGrammar(_))
    ));
    engine.load_wasm_grammar("go", &go_wasm()).unwrap();
    engine.load_wasm_grammar("go", &go_wasm()).unwrap(); // same bytes: free
    let found = engine.query("go", GO_PROGRAM, IMPORTS).unwrap();
    assert_eq!(
        paths(&found),
        [("\"fmt\"".into(), 4, 2), ("\"os/exec\"".into(), 5, 4)]
    );
    assert!(engine
        .syntax_errors("go", GO_PROGRAM, 5)
        .unwrap()
        .is_empty());
    let broken = engine
        .syntax_errors("go", "package main\nfunc main( {\n", 5)
        .unwrap();
    assert!(!broken.is_empty());
    let err = engine.load_wasm_grammar("python", &go_wasm()).unwrap_err();
    assert!(err.to_string().contains("built into the host"), "{err}");
}

#[test]
fn workers_answer_like_the_engine() {
    let pool = workers(WorkerLimits::default());
    pool.register("go", go_wasm()).unwrap();
    let found = pool.query("go", GO_PROGRAM, IMPORTS).unwrap();
    let native = Engine::new();
    native.load_wasm_grammar("go", &go_wasm()).unwrap();
    assert_eq!(found, native.query("go", GO_PROGRAM, IMPORTS).unwrap());
    let err = pool
        .query("go", GO_PROGRAM, "(nonsense_node) @x")
        .unwrap_err();
    assert!(matches!(err, SyntaxError::BadQuery { .. }), "{err}");
    assert!(err.to_string().contains("invalid query"), "{err}");
    let err = pool.query("cobol", GO_PROGRAM, IMPORTS).unwrap_err();
    assert!(matches!(err, SyntaxError::UnknownGrammar(_)), "{err}");
    // The worker that answered the bad query is still serving.
    assert_eq!(pool.query("go", GO_PROGRAM, IMPORTS).unwrap(), found);
}

#[test]
fn hostile_grammars_fail_alone_and_in_time() {
    let pool = workers(short());
    pool.register("go", go_wasm()).unwrap();
    let grow = "(loop (br_if 0 (i32.ne (memory.grow (i32.const 256)) (i32.const -1)))) unreachable";
    let cases = [
        (
            "garbage",
            Arc::<[u8]>::from(&b"not wasm"[..]),
            "does not load",
        ),
        (
            "loops",
            hostile("loops", "(loop (br 0)) (i32.const 0)"),
            "took longer than 1500 ms",
        ),
        ("traps", hostile("traps", "unreachable"), "does not load"),
        // Capped by RLIMIT_DATA, the growth fails slowly or not at all:
        // the deadline stops it either way.
        ("hog", hostile("hog", grow), ""),
    ];
    for (name, wasm, expected) in cases {
        let start = Instant::now();
        let err = pool.register(name, wasm).unwrap_err();
        let took = start.elapsed();
        let said = err.to_string();
        let stopped = ["does not load", "took longer than", "crashed"];
        assert!(
            said.contains(expected) && stopped.iter().any(|s| said.contains(s)),
            "{name}: {said}"
        );
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
        assert!(!pool.has(name));
        // The other grammar is untouched.
        let found = pool.query("go", GO_PROGRAM, IMPORTS).unwrap();
        assert_eq!(found.len(), 2, "after {name}");
    }
}
