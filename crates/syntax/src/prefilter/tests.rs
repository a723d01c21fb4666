use super::*;
use crate::walk::run_query;
use crate::Engine;
use tree_sitter::{Language, Query};

fn python() -> Language {
    Language::new(tree_sitter_python::LANGUAGE)
}

/// Patterns 1 to 3 need a literal; pattern 0 needs nothing.
const QUERY: &str = r#"(import_statement) @import
((call function: (identifier) @f) (#eq? @f "system"))
((call function: (attribute) @f) (#any-of? @f "os.popen" "subprocess.run"))
((comment) @c (#match? @c "^# *(TODO|FIXME)"))
"#;

#[test]
fn patterns_whose_literals_are_absent_cannot_match() {
    let filter = Prefilter::new(&python(), QUERY);
    assert_eq!(filter.impossible(b"print(1)\n"), vec![1, 2, 3]);
    assert_eq!(filter.impossible(b"system(1)\n"), vec![2, 3]);
    // Any one literal of an `any-of?` is enough, and the source's text is
    // searched as text: a name inside a string still counts as present.
    assert_eq!(filter.impossible(b"x = 'subprocess.run'\n"), vec![1, 3]);
    // Both alternatives of the regex's prefix set, whatever follows them.
    assert_eq!(filter.impossible(b"# FIXME later\nsystem()\n"), vec![2]);
    assert_eq!(
        filter.impossible(b"# TODO\nsystem()\nos.popen()\n"),
        Vec::<u32>::new()
    );
}

#[test]
fn predicates_that_may_hold_without_the_literal_never_skip() {
    let query = r#"((call function: (identifier) @f arguments: (argument_list (string)? @s)) (#eq? @s "'x'"))
((call function: (identifier) @f) (#not-eq? @f "system"))
((call function: (identifier) @f) (#any-eq? @f "system"))
((call function: (identifier) @f) (#not-any-of? @f "system" "popen"))
((call function: (identifier) @f arguments: (argument_list (identifier) @a)) (#eq? @f @a))
((call function: (identifier) @f) (#match? @f "^.*$"))
((call function: (identifier) @f) (#match? @f "[a-z]+"))
((call function: (identifier) @f) (#eq? @f ""))
"#;
    let filter = Prefilter::new(&python(), query);
    assert_eq!(filter.impossible(b"print(1)\n"), Vec::<u32>::new());
}

#[test]
fn a_query_that_does_not_compile_needs_nothing() {
    let filter = Prefilter::new(&python(), "(no_such_node) @x");
    assert!(filter.finder.is_none());
    assert_eq!(filter.impossible(b"anything"), Vec::<u32>::new());
}

/// Every capture of `query` on `source`, running the whole query with
/// nothing skipped, in one walk of the whole tree.
fn whole(grammar: &str, source: &str, query: &str) -> Vec<crate::Capture> {
    let grammar = Engine::new().grammar(grammar).unwrap();
    let tree = grammar.parse(source, None).unwrap();
    let query = Query::new(&grammar.language, query).unwrap();
    let plan = crate::cache::Plan {
        query: std::sync::Arc::new(query),
        dispatch: None,
    };
    run_query(&plan, &tree, source, None).unwrap()
}

#[test]
fn skipping_patterns_gives_the_same_captures() {
    let cases = [
        (
            "python",
            QUERY,
            "import os\nos.popen('ls')\n# TODO\nsystem()\n",
        ),
        ("python", QUERY, "import os\nprint('system')\n"),
        ("python", QUERY, "def f():\n    return 1\n"),
        ("python", QUERY, "x = 1 # FIXME\nsubprocess.run([])\n"),
        // An optional capture's predicate holds when the node is absent:
        // `f()` matches though "'x'" is nowhere.
        (
            "python",
            r#"((call function: (identifier) @f arguments: (argument_list (string)? @s)) (#eq? @s "'x'"))
((identifier) @g (#eq? @g "absent"))"#,
            "f()\n",
        ),
        (
            "javascript",
            r#"((call_expression function: (identifier) @f) (#any-of? @f "eval" "Function"))
((member_expression property: (property_identifier) @p) (#eq? @p "exec"))
(import_statement source: (string) @s)"#,
            "import fs from 'fs';\nconst x = eval('1');\nchild.run('ls');\n",
        ),
        (
            "c",
            r#"((call_expression function: (identifier) @f) (#any-of? @f "system" "popen"))
((preproc_include path: (_) @p) (#match? @p "sys/"))"#,
            "#include <stdio.h>\nint main() { printf(\"system\"); return 0; }\n",
        ),
        (
            "rust",
            r#"((scoped_identifier) @p (#match? @p "^std::process"))
((identifier) @i (#eq? @i "unsafe_fn"))"#,
            "use std::process::Command;\nfn main() { let safe_fn = 1; }\n",
        ),
    ];
    let engine = Engine::new();
    let mut skipping = 0;
    for (grammar, query, source) in cases {
        let compiled = engine
            .compiled(&engine.grammar(grammar).unwrap(), query)
            .unwrap();
        skipping += usize::from(!compiled.prefilter.impossible(source.as_bytes()).is_empty());
        let skipped = engine.query(grammar, source, query).unwrap();
        assert_eq!(
            skipped,
            whole(grammar, source, query),
            "{grammar}: {source:?}"
        );
        let (profiled, _) = engine.query_profiled(grammar, source, query).unwrap();
        assert_eq!(profiled, skipped, "{grammar}: {source:?}");
    }
    assert_eq!(
        skipping, 7,
        "the cases skip patterns, except the one with every literal"
    );
}

#[test]
fn sources_needing_more_variants_than_kept_run_the_whole_query() {
    // Eleven patterns, one literal each: each source below lacks a
    // different set of literals, so each needs its own variant.
    let names: Vec<String> = (0..11).map(|i| format!("name{i}")).collect();
    let query: String = names
        .iter()
        .map(|n| format!("((identifier) @id (#eq? @id \"{n}\"))\n"))
        .collect();
    let engine = Engine::new();
    for (i, present) in names.iter().enumerate() {
        let source = format!("{present} = {i}\n");
        let caps = engine.query("python", &source, &query).unwrap();
        assert_eq!(caps, whole("python", &source, &query), "{source:?}");
        assert_eq!(caps.len(), 1, "{source:?}");
        assert_eq!(caps[0].pattern, i as u32);
    }
}
