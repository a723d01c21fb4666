//! The Go rules on the shipped tree-sitter-go grammar, natively (the SDK
//! registers `Go::grammar_wasm()` with its native engine): refused programs
//! with rule id and position, accepted ones with nothing found, and the
//! operator settings.

use codr_plugin_go::rules::decode;
use codr_plugin_go::Go;
use codr_sdk::{Language, Settings};

/// `(rule, line, column)` of every diagnostic of `source`, in order.
fn found_with(source: &str, settings: &Settings) -> Vec<(String, u32, u32)> {
    codr_sdk::testing::load_grammar::<Go>();
    Go::validate(source, settings)
        .into_iter()
        .map(|d| (d.rule, d.line, d.column))
        .collect()
}

#[track_caller]
fn refused(source: &str, expected: &[(&str, u32, u32)]) {
    let want: Vec<(String, u32, u32)> = expected
        .iter()
        .map(|(r, l, c)| (r.to_string(), *l, *c))
        .collect();
    assert_eq!(
        found_with(source, &Settings::default()),
        want,
        "source:\n{source}"
    );
}

#[track_caller]
fn accepted(source: &str) {
    refused(source, &[]);
}

/// A `main` package importing `import` (one import declaration's text).
fn program(import: &str) -> String {
    format!("package main\n\n{import}\n\nfunc main() {{}}\n")
}

#[test]
fn every_blocked_package_is_refused_where_it_is() {
    for path in [
        "os/exec",
        "syscall",
        "unsafe",
        "net",
        "net/http",
        "net/http/httptest",
        "net/rpc",
        "net/smtp",
        "net/textproto",
        "crypto/tls",
        "log/syslog",
        "plugin",
        "runtime/cgo",
        "C",
    ] {
        refused(
            &program(&format!("import \"{path}\"")),
            &[("blocked-import", 3, 8)],
        );
    }
}

#[test]
fn the_message_names_the_decoded_package() {
    codr_sdk::testing::load_grammar::<Go>();
    let found = Go::validate(&program("import x \"os\\x2fexec\""), &Settings::default());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].message,
        "import of package 'os/exec' is not allowed"
    );
    assert_eq!((found[0].end_line, found[0].end_column), (3, 22));
}

#[test]
fn aliases_dot_blank_grouped_and_raw_imports_are_refused() {
    refused(
        &program("import x \"os/exec\""),
        &[("blocked-import", 3, 10)],
    );
    refused(
        &program("import . \"os/exec\""),
        &[("blocked-import", 3, 10)],
    );
    refused(&program("import _ \"net\""), &[("blocked-import", 3, 10)]);
    refused(&program("import `os/exec`"), &[("blocked-import", 3, 8)]);
    refused(&program("import e `os/exec`"), &[("blocked-import", 3, 10)]);
    refused(
        &program("import (\n\t\"fmt\"\n\tsc \"syscall\"\n\n\t\"strings\"\n\t_ `unsafe`\n)"),
        &[("blocked-import", 5, 5), ("blocked-import", 8, 4)],
    );
    refused(
        &program("import \"fmt\"\nimport \"plugin\"\nimport (\"net/http\"; \"sort\")"),
        &[("blocked-import", 4, 8), ("blocked-import", 5, 9)],
    );
}

#[test]
fn escapes_in_interpreted_import_paths_are_decoded() {
    for spelled in [
        r#""os\x2fexec""#,
        r#""\u006fs/exec""#,
        r#""\U0000006fs/exec""#,
        r#""\157s/exec""#,
        r#""os/\x65\x78\x65\x63""#,
        r#""sys\u0063all""#,
        r#""\x6e\x65\x74""#,
        r#""n\u0065t/http""#,
        r#""\x43""#,
    ] {
        refused(
            &program(&format!("import {spelled}")),
            &[("blocked-import", 3, 8)],
        );
    }
}

#[test]
fn go_string_literals_decode_as_go_reads_them() {
    assert_eq!(decode(r#""os\x2fexec""#).as_deref(), Some("os/exec"));
    assert_eq!(decode(r#""\u006fs""#).as_deref(), Some("os"));
    assert_eq!(decode(r#""\U0001F600""#).as_deref(), Some("\u{1F600}"));
    assert_eq!(decode(r#""\157\163""#).as_deref(), Some("os"));
    assert_eq!(decode(r#""a\tb\n\\\"""#).as_deref(), Some("a\tb\n\\\""));
    assert_eq!(decode(r#""\xe2\x82\xac""#).as_deref(), Some("€"));
    assert_eq!(decode("`os/\r\nexec`").as_deref(), Some("os/\nexec"));
    assert_eq!(decode("`a\\x2fb`").as_deref(), Some("a\\x2fb"));
    // Malformed, as Go says too.
    for bad in [
        r#""\x2""#,
        r#""\q""#,
        r#""\400""#,
        r#""\ud800""#,
        r#""\""#,
        "x",
    ] {
        assert_eq!(decode(bad), None, "{bad}");
    }
}

#[test]
fn linkname_and_cgo_directives_are_refused() {
    refused(
        "package main\n\nimport _ \"strings\"\n\n//go:linkname nanotime runtime.nanotime\nfunc nanotime() int64\n\nfunc main() {}\n",
        &[("blocked-directive", 5, 1)],
    );
    refused(
        "package main\n\n//go:cgo_import_dynamic libc_system system \"libc.so.6\"\n\nfunc main() {}\n",
        &[("blocked-directive", 3, 1)],
    );
    refused(
        "package main\n\nfunc main() {\n\tx := 1 //go:linkname x runtime.x\n\t_ = x\n}\n",
        &[("blocked-directive", 4, 9)],
    );
}

#[test]
fn start_process_is_refused() {
    refused(
        "package main\n\nimport \"os\"\n\nfunc main() {\n\tos.StartProcess(\"/bin/sh\", nil, &os.ProcAttr{})\n}\n",
        &[("blocked-call", 6, 5)],
    );
    refused(
        "package main\n\nimport . \"os\"\n\nfunc main() {\n\tf := StartProcess\n\t_ = f\n}\n",
        &[("blocked-call", 6, 7)],
    );
}

#[test]
fn code_the_grammar_cannot_parse_is_refused() {
    let found = found_with(
        "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(1 2)\n}\n",
        &Settings::default(),
    );
    assert!(
        found
            .iter()
            .any(|(rule, line, _)| rule == "syntax-error" && *line == 6),
        "{found:?}"
    );
}

#[test]
fn names_in_strings_and_comments_are_not_code() {
    accepted(
        r#"package main

// import "os/exec"
/* import "syscall"; //go:linkname x y */
import (
	"fmt" // not "net"
	"strings"
)

// A comment that mentions //go:linkname in passing.
func main() {
	s := "import \"os/exec\"\n//go:linkname a b"
	r := `import "unsafe"
//go:linkname x runtime.x
os.StartProcess`
	fmt.Println(strings.Contains(s, "os/exec"), len(r), "syscall", "net/http")
}
"#,
    );
}

#[test]
fn parse_only_net_packages_are_accepted() {
    accepted(
        "package main\n\nimport (\n\t\"fmt\"\n\t\"net/mail\"\n\t\"net/netip\"\n\t\"net/url\"\n)\n\nfunc main() {\n\tu, _ := url.Parse(\"https://example.com/a?b=c\")\n\ta, _ := mail.ParseAddress(\"Bob <bob@example.com>\")\n\tip := netip.MustParseAddr(\"10.0.0.1\")\n\tfmt.Println(u.Host, a.Address, ip.Is4())\n}\n",
    );
    // A package that merely starts like a blocked one.
    accepted(&program(
        "import (\n\t\"network\"\n\t\"unsafely\"\n\t\"os\"\n)",
    ));
}

#[test]
fn ordinary_programs_are_accepted() {
    for sample in Go::samples() {
        accepted(&sample.source);
    }
    accepted(
        r#"package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type Stack[T any] struct{ items []T }

func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }

func (s *Stack[T]) Pop() (T, error) {
	var zero T
	if len(s.items) == 0 {
		return zero, errors.New("empty")
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, nil
}

func Max[T int | float64](a, b T) T {
	if a > b {
		return a
	}
	return b
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Split(bufio.ScanWords)
	var words []string
	for in.Scan() {
		words = append(words, strings.ToLower(in.Text()))
	}
	sort.Strings(words)
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[string]int{}
	for _, w := range words {
		wg.Add(1)
		go func(w string) {
			defer wg.Done()
			mu.Lock()
			counts[w]++
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { time.Sleep(time.Millisecond); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	s := &Stack[int]{}
	s.Push(1)
	v, _ := s.Pop()
	fmt.Println(len(counts), v, Max(2.5, math.Pi), strconv.Itoa(Max(3, 4)))
	fmt.Fprintln(os.Stderr, "done")
}
"#,
    );
}

#[test]
fn operators_allow_packages_and_disable_rules() {
    let net = program("import (\n\t\"net\"\n\t\"net/http\"\n\t\"os/exec\"\n)");
    let allow = Settings::from_pairs(&[("allow-modules", "net")]);
    let found = found_with(&net, &allow);
    assert_eq!(found, vec![("blocked-import".to_string(), 6, 2)]);
    let allow = Settings::from_pairs(&[("allow-modules", "net, os/exec")]);
    assert!(found_with(&net, &allow).is_empty());
    let off = Settings::from_pairs(&[("disable-rules", "blocked-import")]);
    assert!(found_with(&net, &off).is_empty());
    let linkname = "package main\n\n//go:linkname x runtime.x\nvar x int\n\nfunc main() {}\n";
    let off = Settings::from_pairs(&[("disable-rules", "blocked-directive")]);
    assert!(found_with(linkname, &off).is_empty());
}

#[test]
fn rules_are_listed_with_descriptions() {
    let ids: Vec<String> = Go::rules().into_iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [
            "blocked-import",
            "blocked-directive",
            "blocked-call",
            "syntax-error"
        ]
    );
    assert!(Go::rules()[0].description.contains("os/exec"));
}
