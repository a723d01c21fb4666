//! The rules: one tree-sitter query on the Java grammar, whose captures are
//! judged against [`crate::blocklist`].
//!
//! The source is first translated as javac reads it ([`crate::unicode`]),
//! parsed, queried with ONE host call ([`query`]), and every diagnostic is
//! placed on the original text. Rules look at syntax: a blocked name inside
//! a string, a text block or a comment never matches, and spacing, line
//! breaks, comments and Unicode escapes between the parts of a name do not
//! hide it. Without types, a rule cannot know what an expression refers to:
//! it judges names as written. See the crate docs for what that means.
//!
//! What the query captures, and what becomes of it:
//!
//! | capture | where | diagnostic |
//! |---|---|---|
//! | `@import` | `import [static] a.b.C[.*];` | `blocked-import` if the name is blocked |
//! | `@qualified` | a dotted name starting `java`, `javax`, `sun`, `com`, `jdk` (types, expressions, calls, `::` references) | `blocked-class` for the longest one if it is blocked (`java.net.Socket`) |
//! | `@simple` | a name (not after `.` or `::`) among [`blocklist::SIMPLE_NAMES`] or the `java.io` file classes | `blocked-class` (`Runtime`; `File` only after `import java.io.*;`) |
//! | `@member` | a name after `.` or `::` among those names and [`blocklist::REFLECTION_METHODS`] | `blocked-class` for reflection methods; keeps `a.Runtime` from counting as `Runtime` |
//! | `@pair` | `System.getenv(..)`, `System::getenv`, `Class.forName(..)` | `blocked-class` |
//! | `@bare` | `getenv(..)` with no receiver | `blocked-class` after `import static java.lang.System.*;` |
//! | `@native` | the `native` modifier | `native-method` |

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::blocklist::{self, Reason};
use crate::unicode::Translated;
use codr_sdk::rules::{any_of, quoted};
use codr_sdk::syntax::{self, Capture};
use codr_sdk::{Diagnostic, RuleInfo, Settings};

/// The grammar the rules query: shipped inside this plugin.
pub const GRAMMAR: &str = "java";

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

/// The query behind every rule (built once per instance).
pub fn query() -> &'static str {
    static QUERY: OnceLock<String> = OnceLock::new();
    QUERY.get_or_init(|| {
        let roots = quoted(&format!("^(?:{})\\b", blocklist::ROOTS.join("|")));
        let simple: Vec<&str> = blocklist::SIMPLE_NAMES
            .iter()
            .map(|(name, _, _)| *name)
            .chain(blocklist::JAVA_IO_FILE_CLASSES.iter().copied())
            .collect();
        let reflection = blocklist::REFLECTION_METHODS.iter().map(|(m, _)| *m);
        let member = any_of(&simple.iter().copied().chain(reflection).collect::<Vec<_>>());
        let simple = any_of(&simple);
        let classes = any_of(&blocklist::MEMBERS.iter().map(|m| m.0).collect::<Vec<_>>());
        let members: Vec<&str> = blocklist::MEMBERS.iter().flat_map(|m| m.2).copied().collect();
        let members = any_of(&members);
        let last = "[(identifier) @pair.class (field_access field: (identifier) @pair.class)]";
        format!(
            r#"(package_declaration) @package
(import_declaration "static"? @import.static [(scoped_identifier) (identifier)] @import.name (asterisk)? @import.star) @import
(modifiers "native" @native)
([(scoped_identifier) (scoped_type_identifier) (field_access)] @qualified (#match? @qualified {roots}))
((method_invocation object: (_) @qualified.object name: (identifier) @qualified.member) (#match? @qualified.object {roots}))
((method_reference . (_) @qualified.object (identifier) @qualified.member .) (#match? @qualified.object {roots}))
([(identifier) (type_identifier)] @simple (#any-of? @simple {simple}))
([(field_access field: (identifier) @member)
  (method_invocation object: (_) name: (identifier) @member)
  (scoped_identifier scope: (_) name: (identifier) @member)
  (scoped_type_identifier (type_identifier) @member .)
  (method_reference (_) (identifier) @member .)] (#any-of? @member {member}))
((method_invocation object: {last} name: (identifier) @pair.member) (#any-of? @pair.class {classes}) (#any-of? @pair.member {members}))
((method_reference . {last} (identifier) @pair.member .) (#any-of? @pair.class {classes}) (#any-of? @pair.member {members}))
((method_invocation !object name: (identifier) @bare) (#any-of? @bare {members}))
"#
        )
    })
}

/// Diagnostics for `source` under the operator's `settings`, in source order.
pub fn validate(source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let translated = Translated::new(source);
    let captures = match syntax::query(GRAMMAR, &translated.text, query()) {
        Ok(captures) => captures,
        Err(e) => return vec![internal(&format!("the plugin's rules failed: {e}"))],
    };
    let mut checker = Checker {
        translated: &translated,
        allow: Allow {
            classes: settings.list(ALLOW_CLASSES),
            packages: settings.list(ALLOW_PACKAGES),
        },
        found: Vec::new(),
    };
    checker.check(&Captures::new(&captures));
    let mut found = checker.found;
    found.retain(|d| !settings.is_rule_disabled(&d.rule));
    found.sort_by_key(|d| (d.line, d.column, d.end_line, d.end_column));
    found.dedup();
    found
}

/// The captures of one query call, by name and by match.
struct Captures<'c> {
    all: &'c [Capture],
    by_match: HashMap<u32, Vec<&'c Capture>>,
}

impl<'c> Captures<'c> {
    fn new(all: &'c [Capture]) -> Self {
        let mut by_match: HashMap<u32, Vec<&Capture>> = HashMap::new();
        for c in all {
            by_match.entry(c.match_id).or_default().push(c);
        }
        Self { all, by_match }
    }

    /// Every capture named `name`.
    fn named(&self, name: &'c str) -> impl Iterator<Item = &'c Capture> + 'c {
        self.all.iter().filter(move |c| c.name == name)
    }

    /// The capture named `name` in the same match as `of`.
    fn sibling(&self, of: &Capture, name: &str) -> Option<&'c Capture> {
        self.by_match[&of.match_id]
            .iter()
            .copied()
            .find(|c| c.name == name)
    }
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
    /// Byte ranges of `package` and `import` declarations: the code rules
    /// skip them (the import rule has judged them already).
    ranges: Vec<(u32, u32)>,
    /// `import java.io.*;` is present: the file classes are in scope by
    /// their simple names.
    java_io_wildcard: bool,
    /// Classes whose static members were imported by `import static C.*;`
    /// (qualified names), so blocked members may appear as bare calls.
    static_wildcards: Vec<String>,
}

impl Imports {
    fn contains(&self, c: &Capture) -> bool {
        self.ranges
            .iter()
            .any(|&(start, end)| start <= c.start_byte && c.end_byte <= end)
    }
}

struct Checker<'t, 'a> {
    translated: &'t Translated,
    allow: Allow<'a>,
    found: Vec<Diagnostic>,
}

impl Checker<'_, '_> {
    fn check(&mut self, captures: &Captures<'_>) {
        let imports = self.imports(captures);
        let code = |name| captures.named(name).filter(|c| !imports.contains(c));
        let qualified = self.qualified(captures, &imports);
        let members: HashSet<u32> = code("member").map(|c| c.start_byte).collect();
        for c in code("member") {
            self.reflection_method(c);
        }
        for c in code("simple").filter(|c| !members.contains(&c.start_byte)) {
            self.simple_name(c, &imports);
        }
        for class in code("pair.class") {
            let Some(member) = captures.sibling(class, "pair.member") else {
                continue;
            };
            let inside =
                |&(start, end): &(u32, u32)| start <= class.start_byte && member.end_byte <= end;
            if !qualified.iter().any(inside) {
                self.member_pair(class, member);
            }
        }
        for c in code("bare") {
            self.bare_member(c, &imports);
        }
        for c in code("native") {
            let message = format!(
                "native methods are not allowed: {}",
                Reason::NativeCode.explain()
            );
            self.report(NATIVE_METHOD, message, c, c);
        }
    }

    /// Judges every `import` declaration and notes what it makes visible.
    fn imports(&mut self, captures: &Captures<'_>) -> Imports {
        let mut imports = Imports::default();
        for c in captures.named("package").chain(captures.named("import")) {
            imports.ranges.push((c.start_byte, c.end_byte));
        }
        for name in captures.named("import.name") {
            let Some(segments) = segments(&name.text) else {
                continue;
            };
            let is_static = captures.sibling(name, "import.static").is_some();
            let star = captures.sibling(name, "import.star");
            let qualified = segments.join(".");
            if star.is_some() && !is_static && qualified == "java.io" {
                imports.java_io_wildcard = true;
            }
            if star.is_some() && is_static {
                imports.static_wildcards.push(qualified.clone());
            }
            let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
            let Some((_, reason)) = blocklist::blocked_name(&parts) else {
                continue;
            };
            if self.allow.allows(&qualified) {
                continue;
            }
            let shown = match star {
                Some(_) => format!("{qualified}.*"),
                None => qualified,
            };
            let message = format!("import of {shown} is not allowed: {}", reason.explain());
            self.report(BLOCKED_IMPORT, message, name, star.unwrap_or(name));
        }
        imports
    }

    /// Fully qualified names in code: for each place a name starts, the
    /// longest dotted name starting there (`java.nio.file.Files.readAllLines`,
    /// not also `java.nio.file`), reported if blocked. Returns the byte
    /// ranges of the blocked ones.
    fn qualified(&mut self, captures: &Captures<'_>, imports: &Imports) -> Vec<(u32, u32)> {
        let mut longest: HashMap<u32, (Vec<String>, &Capture, &Capture)> = HashMap::new();
        let whole = captures
            .named("qualified")
            .map(|c| (segments(&c.text), c, c));
        let calls = captures.named("qualified.object").filter_map(|object| {
            let member = captures.sibling(object, "qualified.member")?;
            let segments = segments(&object.text).map(|mut s| {
                s.push(member.text.clone());
                s
            });
            Some((segments, object, member))
        });
        for (segments, first, last) in whole.chain(calls) {
            let Some(segments) = segments.filter(|_| !imports.contains(first)) else {
                continue;
            };
            let entry = longest
                .entry(first.start_byte)
                .or_insert((Vec::new(), first, last));
            if segments.len() > entry.0.len() {
                *entry = (segments, first, last);
            }
        }
        let mut blocked = Vec::new();
        let mut names: Vec<_> = longest.into_values().collect();
        names.sort_by_key(|(_, first, _)| first.start_byte);
        for (segments, first, last) in names {
            let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
            if let Some((_, reason)) = blocklist::blocked_name(&parts) {
                let name = segments.join(".");
                let message = format!("{name} is not allowed: {}", reason.explain());
                self.report_unless_allowed(&name, message, first, last);
                blocked.push((first.start_byte, last.end_byte));
            }
        }
        blocked
    }

    /// `Runtime`, `ProcessBuilder`, ... and, after `import java.io.*;`, `File`.
    fn simple_name(&mut self, c: &Capture, imports: &Imports) {
        let name = c.text.as_str();
        let blocked = blocklist::SIMPLE_NAMES
            .iter()
            .find(|(simple, _, _)| *simple == name)
            .map(|(_, qualified, reason)| (qualified.to_string(), *reason))
            .or_else(|| {
                let io =
                    imports.java_io_wildcard && blocklist::JAVA_IO_FILE_CLASSES.contains(&name);
                io.then(|| (format!("java.io.{name}"), Reason::Files))
            });
        if let Some((qualified, reason)) = blocked {
            let message = format!("{name} is not allowed: {}", reason.explain());
            self.report_unless_allowed(&qualified, message, c, c);
        }
    }

    /// `System.getenv`, `System::getenv`, `Class.forName`.
    fn member_pair(&mut self, class: &Capture, member: &Capture) {
        let (class_name, member_name) = (class.text.as_str(), member.text.as_str());
        let Some((qualified, reason)) = blocked_member(class_name, member_name) else {
            return;
        };
        let message = format!(
            "{class_name}.{member_name} is not allowed: {}",
            reason.explain()
        );
        self.report_unless_allowed(&qualified, message, class, member);
    }

    /// `getenv("HOME")` after `import static java.lang.System.*;`.
    fn bare_member(&mut self, c: &Capture, imports: &Imports) {
        let member = c.text.as_str();
        for (simple, class, members, reason) in blocklist::MEMBERS {
            if members.contains(&member) && imports.static_wildcards.iter().any(|w| w == class) {
                let message = format!("{simple}.{member} is not allowed: {}", reason.explain());
                self.report_unless_allowed(&format!("{class}.{member}"), message, c, c);
            }
        }
    }

    /// `.getDeclaredMethod`, `::setAccessible`, ... whatever the receiver.
    fn reflection_method(&mut self, c: &Capture) {
        let name = c.text.as_str();
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
        self.report_unless_allowed(&format!("{owner}.{name}"), message, c, c);
    }

    fn report_unless_allowed(
        &mut self,
        qualified: &str,
        message: String,
        first: &Capture,
        last: &Capture,
    ) {
        if !self.allow.allows(qualified) {
            self.report(BLOCKED_CLASS, message, first, last);
        }
    }

    /// A diagnostic from the start of `first` to the end of `last`, placed
    /// on the original text.
    fn report(&mut self, rule: &str, message: String, first: &Capture, last: &Capture) {
        let (line, column) = self
            .translated
            .original(first.start_line, first.start_column);
        let (end_line, end_column) = self.translated.original(last.end_line, last.end_column);
        self.found.push(Diagnostic {
            rule: rule.into(),
            message,
            line,
            column,
            end_line,
            end_column,
        });
    }
}

/// The parts of a dotted name as javac reads it (`java . /* x */ net` is
/// `["java", "net"]`), or `None` if `text` is more than a name (a call, a
/// cast, type arguments).
pub(crate) fn segments(text: &str) -> Option<Vec<String>> {
    let mut name = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else if rest.starts_with("//") {
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
        } else {
            if !c.is_whitespace() {
                name.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    let segments: Vec<String> = name.split('.').map(String::from).collect();
    let is_name = |s: &String| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    segments.iter().all(is_name).then_some(segments)
}

/// The qualified name and reason if `class.member` is a blocked member.
fn blocked_member(class: &str, member: &str) -> Option<(String, Reason)> {
    blocklist::MEMBERS
        .iter()
        .find(|(simple, _, members, _)| *simple == class && members.contains(&member))
        .map(|(_, qualified, _, reason)| (format!("{qualified}.{member}"), *reason))
}

fn internal(message: &str) -> Diagnostic {
    Diagnostic {
        rule: codr_sdk::rules::INTERNAL_RULE.into(),
        message: message.into(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::segments;

    #[test]
    fn segments_of_names_and_not_names() {
        let parts = |t: &str| segments(t).map(|s| s.join("."));
        assert_eq!(
            parts("java . /* a.b */ net\n. // c\n Socket").as_deref(),
            Some("java.net.Socket")
        );
        assert_eq!(
            parts("java.lang.Runtime").as_deref(),
            Some("java.lang.Runtime")
        );
        assert_eq!(parts("java.util.List.of(1).x"), None);
        assert_eq!(parts("java.util.List<String>"), None);
        assert_eq!(parts("java..x"), None);
    }
}
