use super::*;
use std::time::Instant;

fn engine() -> Engine {
    Engine::new()
}

#[test]
fn every_grammar_parses_and_queries() {
    let cases = [
        ("python", "x = 1\n", "(identifier) @id"),
        ("javascript", "let x = 1;\n", "(identifier) @id"),
        ("c", "int x = 1;\n", "(identifier) @id"),
        ("cpp", "int x = 1;\n", "(identifier) @id"),
        ("rust", "fn main() { let x = 1; }\n", "(identifier) @id"),
    ];
    assert_eq!(grammars(), &["python", "javascript", "c", "cpp", "rust"]);
    let e = engine();
    for (grammar, source, query) in cases {
        let caps = e.query(grammar, source, query).unwrap();
        assert!(caps.iter().any(|c| c.text == "x"), "{grammar}: {caps:?}");
        assert!(caps
            .iter()
            .all(|c| c.name == "id" && c.kind == "identifier"));
    }
}

#[test]
fn positions_are_one_based_and_count_unicode_scalars() {
    // "é" is 2 bytes and "😀" 4 bytes, one scalar value each.
    let source = "s = 'é😀'; t = 1\nu = 2\n";
    let caps = engine()
        .query("python", source, "(identifier) @id")
        .unwrap();
    let t = caps.iter().find(|c| c.text == "t").unwrap();
    assert_eq!((t.start_line, t.start_column), (1, 11));
    assert_eq!((t.end_line, t.end_column), (1, 12));
    assert_eq!(t.start_byte as usize, source.find('t').unwrap());
    let u = caps.iter().find(|c| c.text == "u").unwrap();
    assert_eq!((u.start_line, u.start_column, u.end_column), (2, 1, 2));
    let s = engine().query("python", source, "(string) @s").unwrap();
    assert_eq!(s[0].text, "'é😀'");
    assert_eq!((s[0].start_column, s[0].end_column), (5, 9));
}

#[test]
fn multi_line_capture_ends_on_its_last_line() {
    let source = "def f():\n    return 1\n";
    let caps = engine()
        .query("python", source, "(function_definition) @f")
        .unwrap();
    assert_eq!((caps[0].start_line, caps[0].start_column), (1, 1));
    assert_eq!((caps[0].end_line, caps[0].end_column), (2, 13));
}

#[test]
fn text_predicates_are_applied() {
    let e = engine();
    let src = "import os\nimport sys\nimport json\n";
    let q = |query: &str| -> Vec<String> {
        e.query("python", src, query)
            .unwrap()
            .into_iter()
            .filter(|c| c.name == "m")
            .map(|c| c.text)
            .collect()
    };
    assert_eq!(q(r#"((dotted_name) @m (#eq? @m "os"))"#), ["os"]);
    assert_eq!(
        q(r#"((dotted_name) @m (#not-eq? @m "os"))"#),
        ["sys", "json"]
    );
    assert_eq!(q(r#"((dotted_name) @m (#match? @m "^s"))"#), ["sys"]);
    assert_eq!(
        q(r#"((dotted_name) @m (#not-match? @m "s"))"#),
        Vec::<String>::new()
    );
    assert_eq!(
        q(r#"((dotted_name) @m (#any-of? @m "json" "os"))"#),
        ["os", "json"]
    );
}

#[test]
fn captures_carry_pattern_and_match_ids_in_document_order() {
    let src = "import os\nx = eval('1')\nimport sys\n";
    let q = "(import_statement name: (dotted_name) @m) @imp\n(call function: (identifier) @f)";
    let caps = engine().query("python", src, q).unwrap();
    let summary: Vec<(&str, u32, &str)> = caps
        .iter()
        .map(|c| (c.name.as_str(), c.pattern, c.text.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("imp", 0, "import os"),
            ("m", 0, "os"),
            ("f", 1, "eval"),
            ("imp", 0, "import sys"),
            ("m", 0, "sys"),
        ]
    );
    assert_eq!(caps[0].match_id, caps[1].match_id);
    assert_ne!(caps[0].match_id, caps[3].match_id);
    assert!(caps.windows(2).all(|w| w[0].start_byte <= w[1].start_byte));
}

#[test]
fn unknown_grammar_lists_known_ones() {
    let err = engine().query("cobol", "", "(x) @x").unwrap_err();
    assert_eq!(err, SyntaxError::UnknownGrammar("cobol".into()));
    let text = err.to_string();
    assert!(
        text.contains("cobol") && text.contains("python, javascript, c, cpp, rust"),
        "{text}"
    );
}

#[test]
fn bad_query_reports_its_position() {
    let err = engine()
        .query("python", "x = 1", "(identifier) @a\n  (no_such_node) @b")
        .unwrap_err();
    match &err {
        SyntaxError::BadQuery {
            row,
            column,
            message,
        } => {
            assert_eq!((*row, *column), (2, 4), "{message}");
            assert!(message.contains("no_such_node"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("row 2, column 4"));
}

#[test]
fn work_past_the_deadline_is_stopped_and_nothing_partial_is_returned() {
    let e = engine();
    let huge = "value = compute(1, 2)\n".repeat(200_000);
    let now = Instant::now();
    let out_of_time = |r: Result<usize, SyntaxError>| match r {
        Err(SyntaxError::OutOfTime(grammar)) => assert_eq!(grammar, "python"),
        other => panic!("unexpected {other:?}"),
    };
    // Stopped while parsing.
    out_of_time(
        e.query_until("python", &huge, "(identifier) @id", now)
            .map(|c| c.len()),
    );
    out_of_time(
        e.syntax_errors_until("python", &huge, 1, now)
            .map(|s| s.len()),
    );
    // Stopped while matching: the tree is parsed and kept first (a source
    // under the cache's entry bound; the huge one is parsed again each time).
    let large = "value = compute(1, 2)\n".repeat(40_000);
    assert!(large.len() <= RESULT_CACHE_MAX_ENTRY_BYTES);
    let later = Instant::now() + Duration::from_secs(600);
    let all = e
        .query_until("python", &large, "(call) @call", later)
        .unwrap();
    assert_eq!(all.len(), 40_000);
    // Both walks: started at the nodes a pattern can start at (here at
    // every identifier, or at none: "compute(" is in the source but no
    // identifier's text), and the whole tree's (a wildcard root can start
    // anywhere).
    for query in [
        "(identifier) @id",
        "((identifier) @id (#eq? @id \"compute(\"))",
        "(_ (identifier)) @any",
    ] {
        out_of_time(
            e.query_until("python", &large, query, Instant::now())
                .map(|c| c.len()),
        );
    }
    // The stopped parser starts the next parse afresh.
    let caps = e
        .query_until("python", "x = 1\n", "(identifier) @id", later)
        .unwrap();
    assert_eq!(
        caps.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
        ["x"]
    );
    assert!(e.syntax_errors("python", "x = 1\n", 1).unwrap().is_empty());
}

#[test]
fn a_query_over_the_bound_is_refused_before_it_compiles() {
    let e = engine();
    let pattern = "((identifier) @id (#eq? @id \"x\"))\n";
    let fits: String = pattern.repeat(MAX_QUERY_BYTES / pattern.len());
    assert_eq!(
        e.query("python", "x = 1", &fits).unwrap().len(),
        fits.lines().count()
    );
    let over = format!("{fits}{pattern}");
    assert!(over.len() > MAX_QUERY_BYTES);
    match e.query("python", "x = 1", &over).unwrap_err() {
        SyntaxError::BadQuery { message, .. } => {
            assert!(
                message.contains(&format!("at most {MAX_QUERY_BYTES}")),
                "{message}"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.cached_queries(), 1, "the refused query was not compiled");
}

#[test]
fn a_query_nested_too_deep_is_refused_before_it_compiles() {
    // Tree-sitter reads queries recursively: this one (about 20 KB) ran a
    // 2 MiB thread out of stack and aborted the process before the bound.
    let deep = |levels: usize| {
        format!(
            "{}(identifier) @id{}",
            "[".repeat(levels),
            "]".repeat(levels)
        )
    };
    let answers = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let e = engine();
            let refused = e.query("python", "x = 1", &deep(10_000)).unwrap_err();
            let nested = e
                .query("python", "x = 1", &deep(MAX_QUERY_DEPTH - 1))
                .unwrap();
            // Brackets inside strings and comments do not count.
            let quiet = format!(
                "((identifier) @id (#eq? @id \"{}\")) ; {}",
                "[\\\"(".repeat(200),
                "(".repeat(200)
            );
            let quiet = e.query("python", "x = 1", &quiet).map(|c| c.len());
            (refused, nested.len(), quiet, e.cached_queries())
        })
        .unwrap()
        .join()
        .expect("the engine's thread is not aborted");
    match answers.0 {
        SyntaxError::BadQuery {
            message,
            row,
            column,
        } => {
            assert!(message.contains("deeper than 100 levels"), "{message}");
            assert_eq!((row, column), (1, MAX_QUERY_DEPTH as u32 + 1));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(answers.1, 1);
    assert_eq!(answers.2, Ok(0));
    assert_eq!(answers.3, 2, "the refused query was not compiled");
}

#[test]
fn compiled_queries_are_cached_and_reused() {
    let e = engine();
    let q = "((identifier) @id (#eq? @id \"x\"))";
    assert_eq!(e.cached_queries(), 0);
    e.query("python", "x = 1", q).unwrap();
    assert_eq!(e.cached_queries(), 1);
    // Same grammar and text: a hit, no new entry; another grammar: its own.
    e.query("python", "y = x", q).unwrap();
    assert_eq!(e.cached_queries(), 1);
    e.query("javascript", "x;", q).unwrap();
    assert_eq!(e.cached_queries(), 2);
    // A failing query is not cached.
    assert!(e.query("python", "", "(nope) @n").is_err());
    assert_eq!(e.cached_queries(), 2);
}

#[test]
fn cache_is_bounded() {
    let e = engine();
    for i in 0..QUERY_CACHE_CAPACITY + 10 {
        let q = format!("((identifier) @id (#eq? @id \"v{i}\"))");
        e.query("python", "v1 = 1", &q).unwrap();
    }
    assert_eq!(e.cached_queries(), QUERY_CACHE_CAPACITY);
}

#[test]
fn repeated_query_on_same_source_is_answered_from_the_result_cache() {
    let e = engine();
    let q = "((identifier) @id (#eq? @id \"x\"))";
    let first = e.query("python", "x = 1\nx\n", q).unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(e.query("python", "x = 1\nx\n", q).unwrap(), first);
    assert_eq!(lock(&e.results).entries.len(), 1);
    // Another source, another query, or another grammar is computed afresh.
    assert_eq!(e.query("python", "x = 1\n", q).unwrap().len(), 1);
    let other = "((identifier) @id (#eq? @id \"y\"))";
    assert!(e.query("python", "x = 1\nx\n", other).unwrap().is_empty());
    assert_eq!(e.query("javascript", "x; x; x;", q).unwrap().len(), 3);
    assert_eq!(lock(&e.results).entries.len(), 4);
    assert_eq!(e.query("python", "x = 1\nx\n", q).unwrap(), first);
}

#[test]
fn result_cache_is_bounded_and_keeps_recent_entries() {
    let e = engine();
    let q = "(identifier) @id";
    for i in 0..RESULT_CACHE_CAPACITY + 5 {
        e.query("python", &format!("v{i} = 1"), q).unwrap();
    }
    let results = lock(&e.results);
    assert_eq!(results.entries.len(), RESULT_CACHE_CAPACITY);
    let last = format!("v{} = 1", RESULT_CACHE_CAPACITY + 4);
    assert!(results.entries.iter().any(|entry| entry.source == last));
    assert!(!results.entries.iter().any(|entry| entry.source == "v0 = 1"));
    drop(results);
    // Too large to keep: answered, not cached.
    let big = "x = 1\n".repeat(RESULT_CACHE_MAX_ENTRY_BYTES / 6 + 1);
    assert!(!e.query("python", &big, q).unwrap().is_empty());
    assert!(!lock(&e.results)
        .entries
        .iter()
        .any(|entry| entry.source == big));
}

#[test]
fn a_hash_collision_cannot_return_another_programs_result() {
    let e = engine();
    let q = "(identifier) @id";
    e.query("python", "a = 1", q).unwrap();
    // Forge an entry whose key collides with "b = 2" but whose source differs.
    let compiled = e.compiled(&e.grammar("python").unwrap(), q).unwrap();
    let key = ResultKey::new(&compiled, "b = 2");
    lock(&e.results).entries[0].key = key;
    let caps = e.query("python", "b = 2", q).unwrap();
    assert_eq!(caps[0].text, "b");
}

#[test]
fn cached_query_on_10kb_source_is_fast() {
    let e = engine();
    let line = "import json\nvalue = json.dumps({'a': [1, 2, 3]})  # comment\n";
    let source = line.repeat(10 * 1024 / line.len());
    let q = "((call function: (identifier) @f) (#any-of? @f \"eval\" \"exec\"))\n\
             ((import_statement name: (dotted_name . (identifier) @m)) (#any-of? @m \"os\" \"sys\"))";
    e.query("python", &source, q).unwrap();
    let runs = 51;
    // Distinct sources, so the result cache does not answer. Query and parse
    // alternate and medians are compared, so a change in the machine's load
    // during the test hits both alike.
    let sources: Vec<String> = (0..runs).map(|i| format!("{source}# run {i}\n")).collect();
    let (mut queries, mut parses) = (Vec::new(), Vec::new());
    for source in &sources {
        let start = Instant::now();
        assert!(e.query("python", source, q).unwrap().is_empty());
        queries.push(start.elapsed());
        // Another source: the tree cache would answer for this one.
        let other = format!("{source}# parse\n");
        let start = Instant::now();
        e.syntax_errors("python", &other, 1).unwrap();
        parses.push(start.elapsed());
    }
    queries.sort();
    parses.sort();
    let (per_query, per_parse) = (queries[runs / 2], parses[runs / 2]);
    eprintln!("10 KB python source: cached query {per_query:?}, parse only {per_parse:?}");
    // With the compiled query cached, running it costs little on top of the
    // parse (compiling it again would add milliseconds per call).
    assert!(
        per_query < per_parse * 2 + std::time::Duration::from_millis(2),
        "query {per_query:?} vs parse {per_parse:?}"
    );
}

#[test]
fn syntax_errors_are_found_and_bounded() {
    let e = engine();
    assert!(e.syntax_errors("python", "x = 1\n", 10).unwrap().is_empty());
    let errs = e
        .syntax_errors("python", "x = (1\ny = ]\nz = )\n", 10)
        .unwrap();
    assert!(!errs.is_empty());
    assert!(errs
        .iter()
        .all(|(l, c, el, _)| *l >= 1 && *c >= 1 && el >= l));
    let errs = e
        .syntax_errors("c", "int main() { return 0 }\n", 10)
        .unwrap();
    // The missing `;` is reported where it should be.
    assert_eq!(errs, vec![(1, 22, 1, 22)]);
    let many = "int a = ;\nint b = ;\nint c = ;\nint d = ;\n";
    let all = e.syntax_errors("c", many, 100).unwrap();
    let capped = e.syntax_errors("c", many, 1).unwrap();
    assert!(
        !all.is_empty() && capped.len() == 1 && capped[0] == all[0],
        "{all:?}"
    );
    assert!(e.syntax_errors("c", many, 0).unwrap().is_empty());
    assert!(e.syntax_errors("cobol", "", 1).is_err());
}

#[test]
fn engine_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    let e = std::sync::Arc::new(engine());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || {
                let src = format!("v{i} = 1\n");
                e.query("python", &src, "(identifier) @id").unwrap()[0]
                    .text
                    .clone()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), format!("v{i}"));
    }
}

#[test]
fn profiled_query_gives_the_same_captures_and_skips_the_result_cache() {
    let e = engine();
    let src = "import os\nx = eval('1')\n";
    let q = "((call function: (identifier) @f) (#eq? @f \"eval\"))\n(import_statement) @imp";
    let (caps, profile) = e.query_profiled("python", src, q).unwrap();
    assert_eq!(caps, e.query("python", src, q).unwrap());
    assert_eq!(profile.capture_count, 2);
    assert!(profile.total >= profile.parse + profile.matching + profile.captures);
    assert!(profile.parse > std::time::Duration::ZERO);
    // Only the plain `query` call above filled the result cache.
    assert_eq!(lock(&e.results).entries.len(), 1);
    e.query_profiled("python", "y = 2\n", q).unwrap();
    assert_eq!(lock(&e.results).entries.len(), 1);
}

#[test]
fn queries_on_one_source_share_its_tree() {
    let e = engine();
    let source = "import os\nx = 1\n";
    e.query("python", source, "(import_statement) @i").unwrap();
    let cached = lock(&e.trees).len();
    e.query("python", source, "(identifier) @id").unwrap();
    e.syntax_errors("python", source, 3).unwrap();
    assert_eq!(lock(&e.trees).len(), cached, "no second parse kept");
    e.query("python", "y = 2\n", "(identifier) @id").unwrap();
    assert_eq!(lock(&e.trees).len(), cached + 1);
}

#[test]
fn an_engine_that_walks_the_whole_tree_finds_the_same_captures() {
    let query = "(import_statement name: (dotted_name) @m) @imp\n\
                 ((call function: (identifier) @f) (#any-of? @f \"eval\" \"exec\"))\n\
                 ((identifier) @os (#eq? @os \"os\"))\n(ERROR) @error";
    let (started, whole) = (engine(), engine().walk_whole_tree());
    for source in [
        "import os\nx = eval(os.getcwd())\n",
        "def f(:\n    exec('1')\n",
        "print('no match here')\n",
    ] {
        let expected = whole.query("python", source, query).unwrap();
        assert_eq!(started.query("python", source, query).unwrap(), expected);
        assert!(source.starts_with("print") || !expected.is_empty());
    }
}
