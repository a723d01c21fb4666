//! The rules, applied to the token stream of [`crate::lexer`].
//!
//! This is a token-level check, not a parse: the rules look at sequences of
//! tokens (`import java . net . * ;`, `Runtime`, `System . getenv`,
//! `. setAccessible`) with comments dropped and literals opaque, so a blocked
//! name inside a string, a text block or a comment never matches, and
//! spacing, line breaks, comments and Unicode escapes between the parts of a
//! name do not hide it. Without types, a rule cannot know what an expression
//! refers to: it judges names as written. See the crate docs for what that
//! means in practice.

use crate::blocklist::{self, Reason};
use crate::lexer::{tokenize, Token, TokenKind};
use codr_sdk::{Diagnostic, RuleInfo, Settings};

/// Rule id: imports of blocked packages, classes and members.
pub const BLOCKED_IMPORT: &str = "blocked-import";
/// Rule id: uses of blocked classes and members in code.
pub const BLOCKED_CLASS: &str = "blocked-class";
/// Rule id: the `native` modifier.
pub const NATIVE_METHOD: &str = "native-method";

/// Operator setting: comma-separated classes or members to allow despite the
/// rules, simple or qualified (`Runtime`, `java.io.File`, `System.getenv`).
pub const ALLOW_CLASSES: &str = "allow-classes";
/// Operator setting: comma-separated packages to allow with everything in
/// them (`java.nio.file`, `java.net`).
pub const ALLOW_PACKAGES: &str = "allow-packages";

/// The rules this plugin applies.
pub fn rule_infos() -> Vec<RuleInfo> {
    [
        (
            BLOCKED_IMPORT,
            "Imports of packages, classes and static members that reach files, the network, \
             processes, reflection, native code or JDK internals (java.io.File*, java.nio.file, \
             java.net, java.lang.reflect, java.lang.invoke, javax.script, java.lang.ProcessBuilder, \
             sun.*, com.sun.*, jdk.*, ...), plain, wildcard or static. \
             Settings: allow-classes, allow-packages.",
        ),
        (
            BLOCKED_CLASS,
            "Uses in code of Runtime, ProcessBuilder, ProcessHandle, ClassLoader, Unsafe, \
             System.getenv/setProperty/load/loadLibrary, Class.forName, reflection methods \
             (getDeclaredMethod, setAccessible, ...), java.io file classes, and fully qualified \
             names in blocked packages (java.net.Socket). Settings: allow-classes, allow-packages.",
        ),
        (NATIVE_METHOD, "The `native` modifier (JNI methods)."),
    ]
    .into_iter()
    .map(|(id, description)| RuleInfo {
        id: id.into(),
        description: description.into(),
    })
    .collect()
}

/// Diagnostics for `source` under the operator's `settings`, in source order.
pub fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let tokens = tokenize(source);
    let mut checker = Checker {
        tokens: &tokens,
        allow: Allow {
            classes: settings.list(ALLOW_CLASSES),
            packages: settings.list(ALLOW_PACKAGES),
        },
        found: Vec::new(),
    };
    let imports = checker.imports();
    checker.code(&imports);
    let mut found = checker.found;
    found.retain(|d| !settings.is_rule_disabled(&d.rule));
    found.sort_by_key(|d| (d.line, d.column));
    found
}

/// The operator's exceptions.
struct Allow<'a> {
    classes: Vec<&'a str>,
    packages: Vec<&'a str>,
}

impl Allow<'_> {
    /// Whether the qualified name `name` (`java.lang.System.getenv`) is
    /// allowed. A package allows everything under it; a class entry matches
    /// a whole name, a leading part (`java.io.File` allows its members) or a
    /// trailing part (`File`, `System.getenv`, `getenv`).
    fn allows(&self, name: &str) -> bool {
        let packages = self.packages.iter().any(|p| within(name, p));
        let classes = self.classes.iter().any(|c| {
            within(name, c) || name.ends_with(&format!(".{c}")) || name.contains(&format!(".{c}."))
        });
        packages || classes
    }
}

/// Whether `name` is `prefix` or lies inside it (`java.net.Socket` in `java.net`).
fn within(name: &str, prefix: &str) -> bool {
    name == prefix || name.starts_with(&format!("{prefix}."))
}

/// What the import declarations make visible, as far as the rules care.
#[derive(Default)]
struct Imports {
    /// Token ranges of `package` and `import` declarations: the code rules
    /// skip them (the import rule has judged them already).
    ranges: Vec<(usize, usize)>,
    /// `import java.io.*;` is present: the file classes are in scope by
    /// their simple names.
    java_io_wildcard: bool,
    /// Classes whose static members were imported by `import static C.*;`
    /// (qualified names), so blocked members may appear as bare calls.
    static_wildcards: Vec<String>,
}

struct Checker<'t, 'a> {
    tokens: &'t [Token],
    allow: Allow<'a>,
    found: Vec<Diagnostic>,
}

impl<'t> Checker<'t, '_> {
    /// Judges every `import` declaration and notes what it makes visible.
    fn imports(&mut self) -> Imports {
        let mut imports = Imports::default();
        let mut i = 0;
        while i < self.tokens.len() {
            let token = &self.tokens[i];
            let declaration = token.is_word("import") || token.is_word("package");
            if !declaration {
                i += 1;
                continue;
            }
            let end = self.statement_end(i);
            imports.ranges.push((i, end));
            if token.is_word("import") {
                self.import(i, end, &mut imports);
            }
            i = end;
        }
        imports
    }

    /// Index just past the `;` that ends the declaration starting at `start`.
    fn statement_end(&self, start: usize) -> usize {
        self.tokens[start..]
            .iter()
            .position(|t| t.is_punct(";"))
            .map_or(self.tokens.len(), |p| start + p + 1)
    }

    /// `import [static] a.b.C[.*];` spanning tokens `start..end`.
    fn import(&mut self, start: usize, end: usize, imports: &mut Imports) {
        let mut i = start + 1;
        let is_static = self.tokens.get(i).is_some_and(|t| t.is_word("static"));
        if is_static {
            i += 1;
        }
        let Some(chain) = self.chain(i) else { return };
        let wildcard = self.tokens.get(chain.end).is_some_and(|t| t.is_punct("."))
            && self
                .tokens
                .get(chain.end + 1)
                .is_some_and(|t| t.is_punct("*"));
        let name = chain.segments.join(".");
        if wildcard && !is_static && name == "java.io" {
            imports.java_io_wildcard = true;
        }
        if wildcard && is_static {
            imports.static_wildcards.push(name.clone());
        }
        let Some((_, reason)) = blocklist::blocked_name(&chain.segments) else {
            return;
        };
        if self.allow.allows(&name) {
            return;
        }
        let last = if wildcard {
            chain.end + 1
        } else {
            chain.end - 1
        };
        let shown = if wildcard { format!("{name}.*") } else { name };
        let message = format!("import of {shown} is not allowed: {}", reason.explain());
        self.report(BLOCKED_IMPORT, message, chain.start, last.min(end - 1));
    }

    /// Judges every token of code outside `package` and `import` declarations.
    fn code(&mut self, imports: &Imports) {
        let mut i = 0;
        while i < self.tokens.len() {
            if let Some(&(_, end)) = imports.ranges.iter().find(|(s, _)| *s == i) {
                i = end;
                continue;
            }
            let token = &self.tokens[i];
            if token.kind != TokenKind::Word {
                i += 1;
                continue;
            }
            if token.is_word("native") {
                let message = format!(
                    "native methods are not allowed: {}",
                    Reason::NativeCode.explain()
                );
                self.report(NATIVE_METHOD, message, i, i);
            }
            if self.after_separator(i) {
                self.reflection_method(i);
                i += 1;
                continue;
            }
            let Some(chain) = self.chain(i) else {
                i += 1;
                continue;
            };
            self.judge_chain(&chain, imports);
            // Later segments of the chain follow a separator: they still get
            // the per-token checks (reflection methods).
            i += 1;
        }
    }

    /// Whether token `i` follows `.` or `::` (a member, not a name's start).
    fn after_separator(&self, i: usize) -> bool {
        i > 0 && (self.tokens[i - 1].is_punct(".") || self.tokens[i - 1].is_punct("::"))
    }

    /// The name `a.b.c` (or `a::b`) starting at word `start`.
    fn chain(&self, start: usize) -> Option<Chain<'t>> {
        let first = self
            .tokens
            .get(start)
            .filter(|t| t.kind == TokenKind::Word)?;
        let mut chain = Chain {
            start,
            end: start + 1,
            segments: vec![first.text.as_str()],
        };
        while let (Some(sep), Some(next)) =
            (self.tokens.get(chain.end), self.tokens.get(chain.end + 1))
        {
            let separator = sep.is_punct(".") || sep.is_punct("::");
            if !separator || next.kind != TokenKind::Word {
                break;
            }
            chain.segments.push(&next.text);
            chain.end += 2;
        }
        Some(chain)
    }

    /// A name in code: a fully qualified blocked name, a blocked simple
    /// name, a blocked `Class.member`, or a bare statically imported member.
    fn judge_chain(&mut self, chain: &Chain<'_>, imports: &Imports) {
        if let Some((_, reason)) = blocklist::blocked_name(&chain.segments) {
            let name = chain.segments.join(".");
            let message = format!("{name} is not allowed: {}", reason.explain());
            self.report_unless_allowed(&name, message, chain.start, chain.end - 1);
            return;
        }
        self.simple_name(chain, imports);
        self.member_pairs(chain);
        self.bare_member(chain, imports);
    }

    fn simple_name(&mut self, chain: &Chain<'_>, imports: &Imports) {
        let first = chain.segments[0];
        let blocked = blocklist::SIMPLE_NAMES
            .iter()
            .find(|(simple, _, _)| *simple == first)
            .map(|(_, qualified, reason)| (qualified.to_string(), *reason))
            .or_else(|| {
                let io =
                    imports.java_io_wildcard && blocklist::JAVA_IO_FILE_CLASSES.contains(&first);
                io.then(|| (format!("java.io.{first}"), Reason::Files))
            });
        if let Some((qualified, reason)) = blocked {
            let message = format!("{first} is not allowed: {}", reason.explain());
            self.report_unless_allowed(&qualified, message, chain.start, chain.start);
        }
    }

    /// `System.getenv`, `System::getenv`, `Class.forName` anywhere in a chain.
    fn member_pairs(&mut self, chain: &Chain<'_>) {
        for (k, pair) in chain.segments.windows(2).enumerate() {
            let Some((qualified, reason)) = blocked_member(pair[0], pair[1]) else {
                continue;
            };
            let message = format!(
                "{}.{} is not allowed: {}",
                pair[0],
                pair[1],
                reason.explain()
            );
            let first = chain.start + 2 * k;
            self.report_unless_allowed(&qualified, message, first, first + 2);
        }
    }

    /// `getenv("HOME")` after `import static java.lang.System.*;`.
    fn bare_member(&mut self, chain: &Chain<'_>, imports: &Imports) {
        let called = self.tokens.get(chain.end).is_some_and(|t| t.is_punct("("));
        if chain.segments.len() != 1 || !called {
            return;
        }
        let member = chain.segments[0];
        for (simple, class, members, reason) in blocklist::MEMBERS {
            if members.contains(&member) && imports.static_wildcards.iter().any(|c| c == class) {
                let message = format!("{simple}.{member} is not allowed: {}", reason.explain());
                self.report_unless_allowed(
                    &format!("{class}.{member}"),
                    message,
                    chain.start,
                    chain.start,
                );
            }
        }
    }

    /// `.getDeclaredMethod`, `::setAccessible`, ... whatever the receiver.
    fn reflection_method(&mut self, i: usize) {
        let name = self.tokens[i].text.as_str();
        let Some((_, owner)) = blocklist::REFLECTION_METHODS
            .iter()
            .find(|(m, _)| *m == name)
        else {
            return;
        };
        let message = format!(
            "{name} is not allowed: {} (if this is your own method, rename it)",
            Reason::Reflection.explain()
        );
        self.report_unless_allowed(&format!("{owner}.{name}"), message, i, i);
    }

    fn report_unless_allowed(
        &mut self,
        qualified: &str,
        message: String,
        first: usize,
        last: usize,
    ) {
        if !self.allow.allows(qualified) {
            self.report(BLOCKED_CLASS, message, first, last);
        }
    }

    /// A diagnostic spanning tokens `first..=last`.
    fn report(&mut self, rule: &str, message: String, first: usize, last: usize) {
        let (a, b) = (&self.tokens[first], &self.tokens[last]);
        self.found.push(Diagnostic {
            rule: rule.into(),
            message,
            line: a.line,
            column: a.column,
            end_line: b.end_line,
            end_column: b.end_column,
        });
    }
}

/// A dotted name in the token stream: words `start`, `start + 2`, ... up to
/// (not including) `end`, separated by `.` or `::`.
struct Chain<'t> {
    start: usize,
    end: usize,
    segments: Vec<&'t str>,
}

/// The qualified name and reason if `class.member` is a blocked member.
fn blocked_member(class: &str, member: &str) -> Option<(String, Reason)> {
    blocklist::MEMBERS
        .iter()
        .find(|(simple, _, members, _)| *simple == class && members.contains(&member))
        .map(|(_, qualified, _, reason)| (format!("{qualified}.{member}"), *reason))
}
