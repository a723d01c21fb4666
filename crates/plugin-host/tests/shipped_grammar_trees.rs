//! The grammars Go and Java ship (`plugins/*/grammar/*.wasm`) are built by
//! `scripts/build-grammar-wasm.sh`, whose lexer rewrite skips host calls
//! (`scripts/grammar-lexer-calls.py`). They must still parse exactly as the
//! same grammar linked natively (the `tree-sitter-go` and `tree-sitter-java`
//! crates, of the versions their SOURCE.md names): every node's kind, byte
//! range and flags, on programs using each kind of token, on every prefix of
//! them (input ending inside each token and each lexer state), and on odd
//! bytes (NUL, a byte-order mark, CRLF, non-ASCII, invalid UTF-8).
mod common;

use tree_sitter::{Language, Parser, Tree};

/// One node as a tree reports it: kind, byte range, missing, extra, error.
type NodeShape = (String, usize, usize, bool, bool, bool);

fn shape(tree: &Tree) -> Vec<NodeShape> {
    let mut nodes = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        nodes.push((
            node.kind().to_string(),
            node.start_byte(),
            node.end_byte(),
            node.is_missing(),
            node.is_extra(),
            node.is_error(),
        ));
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return nodes;
            }
        }
    }
}

/// A parser on the grammar `lang`'s plugin ships, run as WebAssembly.
fn shipped_parser(lang: &str) -> Parser {
    let file = common::repo_root().join(format!("plugins/{lang}/grammar/tree-sitter-{lang}.wasm"));
    let wasm = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let engine = tree_sitter::wasmtime::Engine::default();
    let mut store = tree_sitter::WasmStore::new(&engine).unwrap();
    let language = store.load_language(lang, &wasm).unwrap();
    let mut parser = Parser::new();
    parser.set_wasm_store(store).unwrap();
    parser.set_language(&language).unwrap();
    parser
}

fn native_parser(language: Language) -> Parser {
    let mut parser = Parser::new();
    parser.set_language(&language).unwrap();
    parser
}

/// Parses every input with both parsers and compares the trees; returns
/// how many inputs it compared.
fn same_trees(lang: &str, native: Language, programs: &[&str], odd: &[&[u8]]) -> usize {
    let mut shipped = shipped_parser(lang);
    let mut native = native_parser(native);
    let mut inputs: Vec<Vec<u8>> = odd.iter().map(|bytes| bytes.to_vec()).collect();
    for program in programs {
        let bytes = program.as_bytes();
        inputs.extend((0..=bytes.len()).map(|end| bytes[..end].to_vec()));
    }
    for input in &inputs {
        let expected = shape(&native.parse(input, None).unwrap());
        let found = shape(&shipped.parse(input, None).unwrap());
        assert_eq!(
            found,
            expected,
            "{lang}: the shipped grammar parses {:?} differently",
            String::from_utf8_lossy(input)
        );
    }
    inputs.len()
}

const GO: &[&str] = &[
    r#"package main

import (
	"fmt"
	str "strings"
)

// Pair is generic. /* not a comment start */
type Pair[K comparable, V any] struct {
	Key K `json:"key"`
	Val V
}

func (p *Pair[K, V]) String() string { return fmt.Sprint(p.Key, "=", p.Val) }

func main() {
	ch := make(chan int, 2)
	go func() { ch <- 0x1F + 0o17 + 0b101 + 1_000; close(ch) }()
	for v := range ch {
		x, y := 1.5e-3, 3i
		r := '\n' + 'é' + '\x41' + '\u00e9'
		s := "tab\t\"quoted\" \U0001F600" + `raw
line`
		fmt.Println(v, x, y, r, str.ToUpper(s), len(s)&^3, v<<2 >= 1 && !false)
	}
outer:
	for i := 0; i < 3; i++ {
		switch {
		case i%2 == 0:
			continue outer
		default:
			goto done
		}
	}
done:
	var _ = []int{1, 2, 3}[1:2:3]
	/* block
	   comment */ _ = map[string]struct{}{}
}
"#,
    "package p\n\nfunc f() (int, error) {\n\tdefer recover()\n\tselect {}\n\treturn 0, nil\n}\n",
];

const JAVA: &[&str] = &[
    r#"package demo;

import java.util.*;
import static java.lang.Math.max;

/** Javadoc with <b>markup</b> and @tags. */
@SuppressWarnings("unchecked")
public final class Main<T extends Comparable<T>> implements Runnable {
    record Point(int x, int y) {}
    sealed interface Shape permits Circle {}
    static final class Circle implements Shape {}

    private static final long BIG = 0x7fff_ffffL + 0b1010 + 017 + 1_000_000;
    private double d = 1.5e-3 + .5f + 3D + 0x1.8p1;
    private char c = '\'', u = '\u0041', t = '\t';

    public void run() {
        String s = "esc \"q\" \\ \u00e9 é";
        String block = """
            text block "with quotes"
            and \
            continuation
            """;
        List<Integer> xs = new ArrayList<>();
        xs.stream().map(v -> v * 2).filter(Objects::nonNull).forEach(System.out::println);
        int i = 0;
        i += BIG > 0 ? i++ : --i;
        i >>>= 2; i <<= 1; i ^= ~i & 3 | 4;
        Object o = (Object) s;
        if (o instanceof String str && !str.isEmpty()) {
            switch (str.length()) {
                case 0 -> i = max(i, 1);
                default -> { yield_(); }
            }
        }
        label: for (var e : xs) { if (e == null) break label; }
        try (var sc = new Scanner(System.in)) { sc.nextLine(); }
        catch (IllegalStateException | NoSuchElementException e) { throw e; }
        finally { /* block comment */ }
    }

    static void yield_() {}
    int[][] grid = new int[3][];
}
"#,
    "class A { void f() { char c = 'x'; int i = 1 / 2 /* c */ // line\n; } }\n",
];

/// Inputs no program in the lists has.
const ODD: &[&[u8]] = &[
    b"",
    b"   \n\t  \r\n",
    b"\xEF\xBB\xBFpackage main\r\nfunc main() {}\r\n",
    b"class A { String s = \"a\0b\"; }\0\0",
    b"package main\nvar x = \"\0\"\x00\n",
    b"class \xC3\xA9t\xC3\xA9 { int \xCE\xB1 = 1; }\n",
    b"package main\nvar \xE6\x97\xA5 = 1\n",
    b"class A { String s = \"\xFF\xFE\"; int \xC3 }\n",
    b"package main\nvar s = \"\xFF\x80\"\nfunc \xE0\x80() {}\n",
    b"/* unterminated",
    b"\"unterminated",
    b"`unterminated raw",
    b"'",
    b"0x",
    b"1e",
];

#[test]
fn the_shipped_go_grammar_parses_as_the_native_one() {
    let compared = same_trees("go", Language::new(tree_sitter_go::LANGUAGE), GO, ODD);
    assert!(compared > 500, "{compared} inputs");
}

#[test]
fn the_shipped_java_grammar_parses_as_the_native_one() {
    let compared = same_trees("java", Language::new(tree_sitter_java::LANGUAGE), JAVA, ODD);
    assert!(compared > 500, "{compared} inputs");
}
