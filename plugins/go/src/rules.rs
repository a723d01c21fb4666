//! The Go rules: queries on the tree-sitter-go grammar the plugin ships.
//!
//! - `blocked-import`: [`BLOCKED`] packages and their subpackages, except
//!   [`PARSE_ONLY`], in every spelling (grouped, aliased, dot and blank
//!   imports, raw strings, escapes): the path is decoded as Go decodes it
//!   ([`decode`]) before it is compared.
//! - `blocked-directive`: `//go:linkname` (binds a name to any function of
//!   the runtime or the standard library) and `//go:cgo_*`.
//! - `blocked-call`: `StartProcess` (`os.StartProcess` is `os/exec` without
//!   the import; package `os` itself is needed for stdin and files).
//! - `syntax-error`: code the grammar cannot parse, which could hide an
//!   import from the other rules.
//!
//! Strings and comments are never read as code: the rules look at syntax.

use std::sync::OnceLock;

use codr_sdk::rules::{Rule, RuleSet};
use codr_sdk::{Diagnostic, RuleInfo, Settings};

/// Packages whose import is refused, each with its subpackages (`net`
/// blocks `net/http`). `C` is cgo.
pub const BLOCKED: &[&str] = &[
    "os/exec",
    "syscall",
    "unsafe",
    "net",
    "plugin",
    "runtime/cgo",
    "C",
];
/// Subpackages of `net` that only parse text and open nothing: allowed.
/// (`net/textproto` stays blocked: it has `Dial`.)
pub const PARSE_ONLY: &[&str] = &["net/url", "net/mail", "net/netip"];
/// Setting: import paths the operator allows (comma-separated), each with
/// its subpackages.
pub const ALLOW_MODULES: &str = "allow-modules";
/// Rule id of a refused import.
pub const BLOCKED_IMPORT: &str = "blocked-import";
/// Internal rule: every import path, decoded; [`validate`] keeps the
/// blocked ones.
const IMPORT_PATH: &str = "import-path";

/// The plugin's rule set, built once.
fn rule_set() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        RuleSet::new("go").rules([
            Rule::new(IMPORT_PATH, "", "(import_spec path: _ @hit)", |p| {
                decode(p).unwrap_or_else(|| p.to_string())
            })
            .unlisted(),
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

/// The rules `validate` applies, `blocked-import` first.
pub fn infos() -> Vec<RuleInfo> {
    let description = format!(
        "imports of these packages and their subpackages are not allowed: {} (except {})",
        BLOCKED.join(", "),
        PARSE_ONLY.join(", ")
    );
    let import = RuleInfo {
        id: BLOCKED_IMPORT.into(),
        description,
    };
    std::iter::once(import).chain(rule_set().infos()).collect()
}

/// Problems in `source`, by position; `allow-modules` and `disable-rules`
/// honoured.
pub fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let allowed = settings.list(ALLOW_MODULES);
    let refused = |path: &str| {
        BLOCKED.iter().any(|b| within(path, b))
            && !PARSE_ONLY.iter().chain(&allowed).any(|a| within(path, a))
            && !settings.is_rule_disabled(BLOCKED_IMPORT)
    };
    let found = rule_set().validate(source, settings).into_iter();
    found
        .filter_map(|d| match d.rule.as_str() {
            IMPORT_PATH if refused(&d.message) => Some(Diagnostic {
                rule: BLOCKED_IMPORT.into(),
                message: format!("import of package '{}' is not allowed", d.message),
                ..d
            }),
            IMPORT_PATH => None,
            _ => Some(d),
        })
        .collect()
}

/// Whether import path `path` is `package` or one of its subpackages.
fn within(path: &str, package: &str) -> bool {
    path.strip_prefix(package)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The value of a Go string literal: `` `raw` `` (without its carriage
/// returns, as Go reads it) or `"interpreted"` with its escapes (`\x2f`,
/// `\u006f`, `\157`, ...). `None` when it is malformed (Go refuses it too).
pub fn decode(literal: &str) -> Option<String> {
    if let Some(raw) = literal.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return Some(raw.replace('\r', ""));
    }
    let mut chars = literal.strip_prefix('"')?.strip_suffix('"')?.chars();
    let mut out = Vec::new();
    let push = |out: &mut Vec<u8>, c: char| out.extend(c.encode_utf8(&mut [0; 4]).bytes());
    while let Some(c) = chars.next() {
        if c != '\\' {
            push(&mut out, c);
            continue;
        }
        match chars.next()? {
            'x' => out.push(u8::try_from(digits(&mut chars, None, 2, 16)?).ok()?),
            d @ '0'..='7' => out.push(u8::try_from(digits(&mut chars, Some(d), 2, 8)?).ok()?),
            'u' => push(&mut out, char::from_u32(digits(&mut chars, None, 4, 16)?)?),
            'U' => push(&mut out, char::from_u32(digits(&mut chars, None, 8, 16)?)?),
            e => out.push(b"\x07\x08\x0c\n\r\t\x0b\\\""["abfnrtv\\\"".find(e)?]),
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `first` and `n` more digits of `radix` from `chars`, as a number.
fn digits(chars: &mut std::str::Chars, first: Option<char>, n: usize, radix: u32) -> Option<u32> {
    let text: String = first.into_iter().chain(chars.take(n)).collect();
    let complete = text.len() == n + usize::from(first.is_some());
    u32::from_str_radix(&text, radix)
        .ok()
        .filter(|_| complete && text.chars().all(|c| c.is_digit(radix)))
}
