use std::sync::Arc;

use super::*;
use crate::cache::Plan;
use crate::walk::run_query;
use crate::{Capture, Engine};

/// The root branches read from one pattern's text.
fn roots(pattern: &str) -> Option<Vec<(String, Vec<String>)>> {
    let branches = pattern::read_root(pattern)?;
    Some(branches.into_iter().map(|b| (b.kind, b.captures)).collect())
}

fn branch(kind: &str, captures: &[&str]) -> (String, Vec<String>) {
    (
        kind.to_string(),
        captures.iter().map(|c| c.to_string()).collect(),
    )
}

/// The children read from a one-branch pattern: their kinds (empty: any)
/// and captures.
fn children(pattern: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let branches = pattern::read_root(pattern).unwrap_or_else(|| panic!("readable: {pattern}"));
    let [branch] = branches.as_slice() else {
        panic!("one branch: {branches:?}")
    };
    branch
        .children
        .iter()
        .map(|c| (c.kinds.clone().unwrap_or_default(), c.captures.clone()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_roots_direct_children_are_read_with_their_captures() {
    assert_eq!(
        children("(call object: (_) @o name: (identifier) @n arguments: (args))"),
        [
            (strings(&[]), strings(&["o"])),
            (strings(&["identifier"]), strings(&["n"])),
            (strings(&["args"]), strings(&[]))
        ]
    );
    assert_eq!(
        children("(a [(b) @in (c (d) @deep)] @x . _ @any \"lit\" @lit !field)"),
        [
            (strings(&["b", "c"]), strings(&["x"])),
            (strings(&[]), strings(&["any"]))
        ]
    );
    // Quantified children, and what a grandchild captures, are not read
    // as children's captures.
    assert_eq!(
        children("(a (b)? @x (c)* @y (d (e) @z) (f) @w + [(g)? (h)] @v)"),
        [(strings(&["d"]), strings(&[]))]
    );
    // An alternation with anything but plain nodes is not read.
    assert_eq!(children("(a [(b) \"c\"] @x [(d) _] @y)"), []);
}

#[test]
fn a_node_or_an_alternation_of_nodes_is_a_root() {
    assert_eq!(
        roots("(call function: (identifier) @f)"),
        Some(vec![branch("call", &[])])
    );
    assert_eq!(
        roots("(import_statement) @imp @also"),
        Some(vec![branch("import_statement", &["imp", "also"])])
    );
    assert_eq!(
        roots(
            r#"([(identifier) (type_identifier) @t] @name
                 (#any-of? @name "a" "b") ; a comment with ( and [
                 (#eq? @t ")"))"#
        ),
        Some(vec![
            branch("identifier", &["name"]),
            branch("type_identifier", &["t", "name"]),
        ])
    );
    assert_eq!(
        roots(r#"[[(a) (b)] @inner (c "(" @paren)]"#),
        Some(vec![
            branch("a", &["inner"]),
            branch("b", &["inner"]),
            branch("c", &[])
        ])
    );
    assert_eq!(
        roots("((call !object name: (identifier) @n) (#eq? @n \"x\"))"),
        Some(vec![branch("call", &[])])
    );
}

#[test]
fn what_is_not_one_root_is_not_read() {
    for pattern in [
        // A sequence of siblings, a quantified or anchored root.
        "((a) (b))",
        "(a)*",
        "(a)? @x",
        "(a) @x ?",
        "[(a) (b)]+",
        ". (a)",
        // Anonymous, wildcard and field roots.
        "\"return\" @kw",
        "_ @any",
        "(\"return\") @kw",
        "field: (a)",
        // A capture on a group, or something after the root.
        "((a) (#eq? @x \"y\")) @group",
        "(a) (b)",
        // Not a pattern at all.
        "(a",
        "\"open",
        "{a}",
    ] {
        assert_eq!(roots(pattern), None, "{pattern}");
    }
}

fn python() -> Language {
    Language::new(tree_sitter_python::LANGUAGE)
}

fn parse(language: &Language, source: &str) -> tree_sitter::Tree {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(language).unwrap();
    parser.parse(source, None).unwrap()
}

/// Where the whole query (nothing disabled) starts, or `None`.
fn dispatch(language: &Language, text: &str) -> Option<Dispatch> {
    let query = Query::new(language, text).unwrap();
    let raw = RawQuery::new(language, text).unwrap();
    Roots::new(language, &query, &raw, text).dispatch(&[])
}

/// The texts of those of `nodes` where the query `text` would start.
fn started_at<'s>(
    language: &Language,
    text: &str,
    nodes: &[Node],
    source: &'s str,
) -> Vec<&'s str> {
    let dispatch = dispatch(language, text).expect("readable");
    nodes
        .iter()
        .filter(|n| dispatch.starts_at(**n, source.as_bytes()))
        .map(|n| &source[n.byte_range()])
        .collect()
}

#[test]
fn a_query_with_one_unreadable_pattern_keeps_the_whole_walk() {
    let python = python();
    assert!(dispatch(&python, "(call) @c\n(identifier) @i\n(ERROR) @e").is_some());
    for unreadable in [
        "(_) @any",
        "(MISSING) @m",
        "((expression_statement) . (comment))",
        "\"import\" @kw",
        // A supertype: its nodes are hidden, its subtypes match.
        "(expression) @e",
        "(primary_expression/identifier) @e",
    ] {
        let text = format!("(call) @c\n{unreadable}");
        assert!(dispatch(&python, &text).is_none(), "{unreadable}");
    }
}

#[test]
fn root_captures_are_checked_as_the_bindings_check_them() {
    let python = python();
    let source = "os = eval\nprint(system)\n";
    let tree = parse(&python, source);
    fn identifiers<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
        if node.kind() == "identifier" {
            out.push(node);
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            identifiers(child, out);
        }
    }
    let mut found = Vec::new();
    identifiers(tree.root_node(), &mut found);
    let identifiers = found;
    let started = |text: &str| started_at(&python, text, &identifiers, source);
    let all = ["os", "eval", "print", "system"];
    assert_eq!(started("(identifier) @i"), all);
    assert_eq!(started("((identifier) @i (#eq? @i \"eval\"))"), ["eval"]);
    assert_eq!(
        started("((identifier) @i (#not-eq? @i \"eval\"))"),
        ["os", "print", "system"]
    );
    assert_eq!(
        started("((identifier) @i (#any-of? @i \"os\" \"system\"))"),
        ["os", "system"]
    );
    assert_eq!(
        started("((identifier) @i (#not-any-of? @i \"os\" \"system\"))"),
        ["eval", "print"]
    );
    assert_eq!(
        started("((identifier) @i (#match? @i \"^[ep]\"))"),
        ["eval", "print"]
    );
    assert_eq!(
        started("((identifier) @i (#not-match? @i \"^[ep]\"))"),
        ["os", "system"]
    );
    // Two patterns: a node starts if either may match.
    assert_eq!(
        started("((identifier) @i (#eq? @i \"os\"))\n((identifier) @j (#eq? @j \"print\"))"),
        ["os", "print"]
    );
    // Predicates the bindings pass whatever one node says, and predicates
    // on other captures, check nothing.
    for text in [
        "((identifier) @i (#any-eq? @i \"nothing\"))",
        "((identifier) @i (#any-match? @i \"nothing\"))",
        "((identifier) @i (#eq? @i @i))",
        // The capture is not on every branch rooted at identifier.
        "([(identifier) @i (identifier)] (#eq? @i \"nothing\"))",
    ] {
        assert_eq!(started(text), all, "{text}");
    }
}

/// The captures of `query` on `source`: dispatched as the engine runs it
/// (`true`), or in one walk of the whole tree (`false`).
fn captures(grammar: &str, source: &str, query: &str, dispatched: bool) -> Vec<Capture> {
    let grammar = Engine::new().grammar(grammar).unwrap();
    let tree = grammar.parse(source, None).unwrap();
    let compiled = Query::new(&grammar.language, query).unwrap();
    let raw = RawQuery::new(&grammar.language, query).unwrap();
    let roots = Roots::new(&grammar.language, &compiled, &raw, query);
    let dispatch = roots.dispatch(&[]).map(Arc::new);
    assert!(
        dispatch.is_some() || !dispatched,
        "{query}: every root should be readable"
    );
    let plan = Plan {
        query: Arc::new(compiled),
        dispatch: if dispatched { dispatch } else { None },
    };
    run_query(&plan, &tree, source, None).unwrap()
}

/// Patterns of many shapes, every one with a readable root.
const PYTHON_QUERY: &str = r#"
(import_statement name: (dotted_name) @module) @import
(import_from_statement module_name: (dotted_name) @from)
((call function: (identifier) @f) (#any-of? @f "eval" "exec" "print"))
((call function: (attribute object: (identifier) @obj attribute: (identifier) @attr)) (#eq? @obj "os"))
([(identifier) (attribute)] @name (#match? @name "^(os|sys|subprocess)"))
((identifier) @builtin (#any-of? @builtin "open" "__import__"))
((identifier) @not-self (#not-eq? @not-self "self") (#match? @not-self "^_"))
(function_definition name: (identifier) @def body: (block . (expression_statement (string) @doc)?))
(argument_list (keyword_argument name: (identifier) @kw)+)
(decorated_definition (decorator)+ @decorator)
((comment) @todo (#match? @todo "TODO|FIXME"))
(string (string_content) @text)
(ERROR) @error
((ERROR) @bad-eval (#match? @bad-eval "eval"))
"#;

const PYTHON_SOURCES: &[&str] = &[
    "import os\nimport os.path as p\nfrom sys import argv\n",
    "def f(self, x):\n    \"\"\"doc\"\"\"\n    return eval(x) + _private + open('f')\n",
    "class A:\n    @staticmethod\n    @other\n    def g(): print(os.system('ls'), key=1, other=2)\n",
    "# TODO: fix\nx = subprocess.run(['ls'], check=True)  # FIXME\n__import__('os').popen('x')\n",
    // Broken code: ERROR nodes around and inside matches.
    "def broken(:\n    eval(os.getcwd(\nimport\nprint('unterminated\n",
    "s = 'os.system in a string'\nself._x = sys.argv\n",
    "",
];

#[test]
fn dispatched_queries_find_what_the_whole_walk_finds() {
    let query = PYTHON_QUERY;
    for source in PYTHON_SOURCES {
        let whole = captures("python", source, query, false);
        let dispatched = captures("python", source, query, true);
        assert_eq!(dispatched, whole, "{source}");
    }
    let all: usize = PYTHON_SOURCES
        .iter()
        .map(|s| captures("python", s, query, true).len())
        .sum();
    assert!(all > 40, "the cases capture little: {all}");
}

#[test]
fn every_built_in_grammar_dispatches_the_same_captures() {
    let cases = [
        (
            "javascript",
            "const cp = require('child_process');\ncp.exec(`ls ${x}`);\nfunction f(a) { return eval(a) }\n",
            r#"((call_expression function: (identifier) @f) (#any-of? @f "require" "eval"))
(call_expression function: (member_expression object: (identifier) @o property: (property_identifier) @p))
((identifier) @id (#match? @id "^c"))
(template_string (template_substitution) @sub)"#,
        ),
        (
            "c",
            "#include <stdio.h>\nint main(void) { system(\"ls\"); asm(\"nop\"); return 0; }\n",
            r#"(preproc_include path: (_) @path)
((call_expression function: (identifier) @f) (#eq? @f "system"))
(function_definition declarator: (function_declarator declarator: (identifier) @name))"#,
        ),
        (
            "cpp",
            "#include <cstdlib>\nnamespace n { int f() { return std::system(\"x\"); } }\n",
            r#"(qualified_identifier scope: (namespace_identifier) @ns name: (identifier) @n)
((namespace_identifier) @std (#eq? @std "std"))
(namespace_definition name: (namespace_identifier) @def)"#,
        ),
        (
            "rust",
            "use std::process::Command;\nfn main() { unsafe { Command::new(\"ls\"); } let x = 1; }\n",
            r#"(use_declaration argument: (_) @use)
(unsafe_block) @unsafe
((identifier) @id (#not-any-of? @id "main" "x"))
(call_expression function: (scoped_identifier path: (identifier) @path name: (identifier) @name))"#,
        ),
    ];
    for (grammar, source, query) in cases {
        let whole = captures(grammar, source, query, false);
        assert!(!whole.is_empty(), "{grammar}: the case captures nothing");
        assert_eq!(captures(grammar, source, query, true), whole, "{grammar}");
    }
}

/// Every query file of `CODR_DISPATCH_QUERIES` (`<grammar>-<n>.scm`, as
/// the plugins send them) run both ways on every file under
/// `CODR_DISPATCH_CORPUS/<grammar>/`: a measurement on real code, not run
/// by `make test` (`cargo test -p codr-syntax --release -- --ignored
/// corpus --nocapture`).
#[test]
#[ignore = "needs a corpus: CODR_DISPATCH_QUERIES and CODR_DISPATCH_CORPUS"]
fn a_corpus_gets_the_same_captures_both_ways() {
    let queries = std::env::var("CODR_DISPATCH_QUERIES").expect("CODR_DISPATCH_QUERIES");
    let corpus = std::path::PathBuf::from(
        std::env::var("CODR_DISPATCH_CORPUS").expect("CODR_DISPATCH_CORPUS"),
    );
    let engine = Engine::new();
    for shipped in ["go", "java"] {
        let wasm = std::fs::read(format!(
            "{}/../../plugins/{shipped}/grammar/tree-sitter-{shipped}.wasm",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        engine.load_wasm_grammar(shipped, &wasm).unwrap();
    }
    let mut entries: Vec<_> = std::fs::read_dir(queries)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let grammar_name = name.split('-').next().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let grammar = engine.grammar(grammar_name).unwrap();
        let query = Arc::new(Query::new(&grammar.language, &text).unwrap());
        let raw = RawQuery::new(&grammar.language, &text).unwrap();
        let dispatch = Roots::new(&grammar.language, &query, &raw, &text).dispatch(&[]);
        let Some(dispatch) = dispatch.map(Arc::new) else {
            let unread = (0..query.pattern_count()).find(|&p| {
                let text = &text[query.start_byte_for_pattern(p)..query.end_byte_for_pattern(p)];
                !query.is_pattern_rooted(p)
                    || starts(&grammar.language, &raw, p as u32, text).is_none()
            });
            let unread = unread
                .map(|p| &text[query.start_byte_for_pattern(p)..query.end_byte_for_pattern(p)]);
            println!("{name}: not dispatched (the whole walk runs): {unread:?}");
            continue;
        };
        let whole = Plan {
            query: query.clone(),
            dispatch: None,
        };
        // A new dispatch per file: one that stops paying (see
        // `Dispatch::pays`) would otherwise walk the whole tree.
        drop(dispatch);
        let started = || Plan {
            query: query.clone(),
            dispatch: Roots::new(&grammar.language, &query, &raw, &text)
                .dispatch(&[])
                .map(Arc::new),
        };
        let (mut files, mut caps) = (0, 0);
        let mut stack = vec![corpus.join(grammar_name)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Ok(source) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let tree = grammar.parse(&source, None).unwrap();
                let expected = run_query(&whole, &tree, &source, None).unwrap();
                let got = run_query(&started(), &tree, &source, None).unwrap();
                assert_eq!(got, expected, "{name} on {}", path.display());
                files += 1;
                caps += expected.len();
            }
        }
        println!("{name}: {files} files, {caps} captures, the same both ways");
    }
}

#[test]
fn a_query_started_at_too_many_nodes_goes_back_to_the_whole_walk() {
    let python = python();
    let source = "a = b + c(d, e)\n".repeat(50);
    let tree = parse(&python, &source);
    let run = |text: &str| {
        let query = Query::new(&python, text).unwrap();
        let raw = RawQuery::new(&python, text).unwrap();
        let dispatch = Arc::new(
            Roots::new(&python, &query, &raw, text)
                .dispatch(&[])
                .unwrap(),
        );
        let plan = Plan {
            query: Arc::new(query),
            dispatch: Some(dispatch.clone()),
        };
        let first = run_query(&plan, &tree, &source, None).unwrap();
        let paid = dispatch.pays();
        // Either way, the next run finds the same captures.
        assert_eq!(run_query(&plan, &tree, &source, None).unwrap(), first);
        paid
    };
    // Started at every identifier: 5 of the 13 nodes of each line.
    assert!(!run("(identifier) @id"));
    // Started at one call per line.
    assert!(run("(call function: (identifier) @f)"));
}

#[test]
fn children_are_checked_before_the_query_starts() {
    let python = python();
    let source = "eval(x)\nprint(y)\nos.system('z')\n";
    let tree = parse(&python, source);
    let calls: Vec<Node> = (0..3)
        .map(|line| {
            let statement = tree.root_node().named_child(line).unwrap();
            statement.named_child(0).unwrap()
        })
        .collect();
    assert!(calls.iter().all(|c| c.kind() == "call"));
    let started = |text: &str| started_at(&python, text, &calls, source);
    let all = ["eval(x)", "print(y)", "os.system('z')"];
    assert_eq!(started("(call)"), all);
    assert_eq!(
        started("((call function: (identifier) @f) (#eq? @f \"eval\"))"),
        ["eval(x)"]
    );
    assert_eq!(
        started("((call function: (identifier) @f) (#not-any-of? @f \"eval\" \"print\"))"),
        // os.system's function is an attribute, not an identifier: no
        // child of the kinds asked for passes, so it is not started either.
        Vec::<&str>::new()
    );
    assert_eq!(
        started("((call arguments: (_) @a) (#match? @a \"^\\\\([xy]\"))"),
        ["eval(x)", "print(y)"]
    );
    // A grandchild's capture, and a quantified child's, check nothing.
    assert_eq!(
        started("((call function: (attribute object: (identifier) @o)) (#eq? @o \"os\"))"),
        all
    );
    assert_eq!(
        started("((call (identifier)? @f) (#eq? @f \"nothing\"))"),
        all
    );
}
