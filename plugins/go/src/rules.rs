//! The Go rules, queries on the shipped tree-sitter-go grammar (names in strings
//! and comments are not code): imports of [`BLOCKED`] however written (the path
//! decoded as Go does, [`decode`]), `//go:linkname` (binds a name to any runtime
//! function), `//go:cgo_*`, `StartProcess` and code that cannot be parsed.

use codr_sdk::rules::{self, is_within, Rule, RuleSet};

/// Packages whose import is refused, with their subpackages. `C` is cgo;
/// `crypto/tls` and `log/syslog` open connections (`Dial`) without `net`.
pub const BLOCKED: &str =
    "os/exec, syscall, unsafe, net, crypto/tls, log/syslog, plugin, runtime/cgo, C";
/// `net` packages that only parse text: allowed (`net/textproto` has `Dial`).
pub const PARSE_ONLY: &str = "net/url, net/mail, net/netip";

/// The plugin's rules (the SDK's default `rules` and `validate` run them).
pub fn rule_set() -> RuleSet {
    RuleSet::new("go").rules([
        // Every import path, decoded; `rename` keeps the blocked ones.
        Rule::new(
            "blocked-import",
            &format!("imports of {BLOCKED} and subpackages are not allowed ({PARSE_ONLY} are)"),
            "(import_spec path: _ @hit)",
            |p| format!("import of package '{p}' is not allowed"),
        )
        .rename(|p| decode(p).filter(|p| refused(p)))
        .allow_nested("allow-modules", '/'),
        Rule::new(
            "blocked-directive",
            "the //go:linkname and //go:cgo_* directives are not allowed",
            r#"((comment) @hit (#match? @hit "^//go:(linkname|cgo_)"))"#,
            |directive| format!("directive '{directive}' is not allowed"),
        )
        .rename(|comment| comment.split(' ').next().map(str::to_string)),
        Rule::new(
            "blocked-call",
            "os.StartProcess is not allowed",
            r#"([(identifier) (field_identifier)] @hit (#eq? @hit "StartProcess"))"#,
            |f| format!("call of '{f}' is not allowed"),
        ),
        rules::syntax_error(),
    ])
}

/// Whether import path `p` is in [`BLOCKED`] and not in [`PARSE_ONLY`].
fn refused(p: &str) -> bool {
    let within = |list: &str| list.split(", ").any(|b| is_within(p, b, '/'));
    within(BLOCKED) && !within(PARSE_ONLY)
}

/// The value of a Go string literal: `` `raw` `` (without carriage returns,
/// as Go reads it) or `"interpreted"` with its escapes (`\x2f`, `\u006f`,
/// `\157`, `\n`, ...); `None` when malformed (Go refuses it too).
pub fn decode(literal: &str) -> Option<String> {
    if let Some(raw) = literal.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return Some(raw.replace('\r', ""));
    }
    let mut chars = literal.strip_prefix('"')?.strip_suffix('"')?.chars();
    let (mut out, mut utf8) = (Vec::new(), [0; 4]);
    while let Some(c) = chars.next() {
        let escape = if c == '\\' { Some(chars.next()?) } else { None };
        let byte = |n| u8::try_from(n).ok();
        match escape {
            None => out.extend(c.encode_utf8(&mut utf8).bytes()),
            Some('x') => out.push(byte(digits(&mut chars, None, 2, 16)?)?),
            Some(d @ '0'..='7') => out.push(byte(digits(&mut chars, Some(d), 2, 8)?)?),
            Some(u @ ('u' | 'U')) => {
                let n = digits(&mut chars, None, if u == 'u' { 4 } else { 8 }, 16)?;
                out.extend(char::from_u32(n)?.encode_utf8(&mut utf8).bytes());
            }
            Some(e) => out.push(b"\x07\x08\x0c\n\r\t\x0b\\\""["abfnrtv\\\"".find(e)?]),
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `first` and `n` more digits of `radix` from `chars`, as a number.
fn digits(chars: &mut std::str::Chars, first: Option<char>, n: usize, radix: u32) -> Option<u32> {
    let text: String = first.into_iter().chain(chars.take(n)).collect();
    let complete = text.chars().count() == n + usize::from(first.is_some());
    let valid = complete && text.chars().all(|c| c.is_digit(radix));
    u32::from_str_radix(&text, radix).ok().filter(|_| valid)
}
