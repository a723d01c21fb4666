//! The Go rules: queries on the shipped tree-sitter-go grammar, so names in
//! strings and comments are never read as code.
//!
//! - `blocked-import`: [`BLOCKED`] and their subpackages, except
//!   [`PARSE_ONLY`], however written (grouped, aliased, dot, blank, raw
//!   string, escapes): the path is decoded as Go decodes it ([`decode`]).
//! - `blocked-directive`: `//go:linkname` (binds a name to any function of
//!   the runtime or the standard library) and `//go:cgo_*`.
//! - `blocked-call`: `StartProcess` (`os/exec` without the import).
//! - `syntax-error`: code the grammar cannot parse could hide an import.

use std::sync::OnceLock;

use codr_sdk::rules::{Rule, RuleSet};
use codr_sdk::{Diagnostic, Settings};

/// Packages whose import is refused, with their subpackages. `C` is cgo;
/// `crypto/tls` and `log/syslog` open connections (`Dial`) without `net`.
pub const BLOCKED: &str = "os/exec syscall unsafe net crypto/tls log/syslog plugin runtime/cgo C";
/// `net` packages that only parse text: allowed (`net/textproto` has `Dial`).
pub const PARSE_ONLY: &str = "net/url net/mail net/netip";
/// Setting: import paths to allow too (comma-separated), with subpackages.
pub const ALLOW_MODULES: &str = "allow-modules";

/// The plugin's rule set, built once.
pub fn rule_set() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let (blocked, parse_only) = (BLOCKED.replace(' ', ", "), PARSE_ONLY.replace(' ', ", "));
        RuleSet::new("go").rules([
            // Every import path, decoded: `validate` keeps the blocked ones.
            Rule::new(
                "blocked-import",
                &format!(
                    "imports of {blocked} and their subpackages are not allowed ({parse_only} are)"
                ),
                "(import_spec path: _ @hit)",
                |p| decode(p).unwrap_or_else(|| p.to_string()),
            ),
            Rule::new(
                "blocked-directive",
                "the //go:linkname and //go:cgo_* directives are not allowed",
                r#"((comment) @hit (#match? @hit "^//go:(linkname|cgo_)"))"#,
                |c| {
                    format!(
                        "directive '{}' is not allowed",
                        c.split(' ').next().unwrap_or(c)
                    )
                },
            ),
            Rule::new(
                "blocked-call",
                "os.StartProcess is not allowed",
                r#"([(identifier) (field_identifier)] @hit (#eq? @hit "StartProcess"))"#,
                |f| format!("call of '{f}' is not allowed"),
            ),
            Rule::new(
                "syntax-error",
                "code that cannot be parsed (and so cannot be checked) is not allowed",
                "(ERROR) @hit",
                |_| "this code cannot be parsed, so it cannot be checked".to_string(),
            ),
        ])
    })
}

/// Problems in `source`, by position (`allow-modules` and `disable-rules`
/// honoured).
pub fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let allowed = |p: &str| within(PARSE_ONLY.split(' ').chain(settings.list(ALLOW_MODULES)), p);
    let refused = |p: &str| within(BLOCKED.split(' '), p) && !allowed(p);
    let mut found = rule_set().validate(source, settings);
    found.retain(|d| d.rule != "blocked-import" || refused(&d.message));
    for d in found.iter_mut().filter(|d| d.rule == "blocked-import") {
        d.message = format!("import of package '{}' is not allowed", d.message);
    }
    found
}

/// Whether import path `path` is one of `packages` or inside one.
fn within<'a>(mut packages: impl Iterator<Item = &'a str>, path: &str) -> bool {
    packages.any(|p| {
        path.strip_prefix(p)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    })
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
