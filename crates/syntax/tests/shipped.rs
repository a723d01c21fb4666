//! Grammars shipped as WebAssembly: in-process (a plugin's own tests) and in
//! worker processes (the host), hostile ones included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use codr_syntax::{Answers, Engine, GrammarWorkers, SyntaxError, WorkerCommand, WorkerLimits};

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

/// A grammar that loads like any other but whose lexer never returns (the
/// bad-plugins fixture `grammar-lex-loop` ships it assembled).
const LEX_LOOP_WAT: &str =
    include_str!("../../../tests/fixtures/bad-plugins/grammar-lex-loop/grammar.wat");

#[test]
fn the_lex_loop_fixture_ships_its_source_assembled() {
    let shipped =
        include_bytes!("../../../tests/fixtures/bad-plugins/grammar-lex-loop/grammar.wasm");
    let assembled = wat::parse_str(LEX_LOOP_WAT).expect("valid WAT");
    assert!(
        assembled == shipped,
        "grammar.wasm is not grammar.wat assembled: reassemble it"
    );
}

/// Its twin whose lexer traps instead.
fn lex_trap_wasm() -> Arc<[u8]> {
    let text = LEX_LOOP_WAT.replace("(loop $spin (br $spin))", "unreachable");
    assert_ne!(text, LEX_LOOP_WAT);
    wat::parse_str(text).expect("valid WAT").into()
}

/// Loading runs no lexer, so these grammars load; every parse then loops or
/// traps. (tree-sitter takes a trapping main lexer for "no token here" and
/// recovers from the error forever, growing its stacks: the deadline or the
/// memory cap stops it.) Each request fails alone, with the grammar's
/// error, by its deadline; the worker that failed is replaced, and the next
/// request is served again (and fails again); another grammar in the same
/// pool is untouched throughout.
#[test]
fn grammars_that_fail_while_parsing_fail_each_request_alone_and_in_time() {
    let cache = tempfile_dir();
    let limits = WorkerLimits {
        timeout: Duration::from_millis(1000),
        memory_bytes: 256 << 20,
    };
    let command = WorkerCommand {
        program: env!("CARGO_BIN_EXE_codr-grammar-worker").into(),
        args: Vec::new(),
        // Workers that replace a killed one read Go's compiled grammar back.
        cache_dir: Some(cache.clone()),
    };
    let pool = GrammarWorkers::new(command, limits);
    pool.register("go", go_wasm()).unwrap();
    let looping: Arc<[u8]> = wat::parse_str(LEX_LOOP_WAT).unwrap().into();
    let stopped = ["took longer than 1000 ms and was stopped", "crashed"];
    let cases = [(looping, &stopped[..1]), (lex_trap_wasm(), &stopped[..])];
    for (wasm, expected) in cases {
        pool.register("lexloop", wasm)
            .expect("loads: no lexer runs");
        for round in 0..2 {
            let start = Instant::now();
            let errors = pool.syntax_errors("lexloop", "anything at all", 5);
            let queried = pool.query("lexloop", "anything else", "(ERROR) @error");
            let took = start.elapsed();
            for err in [errors.unwrap_err(), queried.unwrap_err()] {
                let said = err.to_string();
                assert!(
                    matches!(&err, SyntaxError::Grammar { grammar, .. } if grammar == "lexloop"),
                    "{said}"
                );
                assert!(
                    expected.iter().any(|e| said.contains(e)),
                    "round {round}: {said}"
                );
            }
            assert!(took < Duration::from_secs(4), "round {round}: {took:?}");
            let found = pool.query("go", GO_PROGRAM, IMPORTS).unwrap();
            assert_eq!(found.len(), 2, "go after round {round}");
        }
    }
    // A caller with less time left than the timeout gets its own deadline.
    pool.register("lexloop", wat::parse_str(LEX_LOOP_WAT).unwrap().into())
        .unwrap();
    let start = Instant::now();
    let err = pool
        .syntax_errors_until("lexloop", "x", 1, start + Duration::from_millis(300))
        .unwrap_err();
    let took = start.elapsed();
    assert!(err.to_string().contains("took longer than"), "{err}");
    assert!(took < Duration::from_millis(900), "{took:?}");
    assert_eq!(pool.query("go", GO_PROGRAM, IMPORTS).unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(cache);
}

/// A fresh folder under the system's temporary directory.
fn tempfile_dir() -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("codr-syntax-test-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
