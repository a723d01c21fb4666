//! Validation rules written as tree-sitter queries.
//!
//! A [`Rule`] is an id, a description and a query in which the capture
//! `@hit` marks the offending node (and optionally `@name` names what is
//! wrong). A [`RuleSet`] runs all rules of a language with ONE host call per
//! validation. The helpers ([`blocked_imports`], [`blocked_calls`],
//! [`blocked_attributes`], [`blocked_headers`]) write the queries for the
//! common cases.
//!
//! ```
//! use codr_sdk::{rules::{self, RuleSet}, Settings};
//!
//! let set = RuleSet::new("python")
//!     .rule(rules::blocked_imports("python", &["os", "subprocess"]))
//!     .rule(rules::blocked_calls("python", &["eval", "exec"]));
//! let found = set.validate("import os\n", &Settings::default());
//! assert_eq!(found[0].message, "import of module 'os' is not allowed");
//! ```

mod helpers;
mod query_text;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use crate::{syntax, Diagnostic, RuleInfo, Settings};

pub use helpers::{blocked_attributes, blocked_calls, blocked_headers, blocked_imports};

/// Rule id of the diagnostic reported when the rules themselves are broken
/// (a query that does not compile, a helper used with a grammar it does not
/// support), so plugin bugs are visible instead of silently allowing code.
pub const INTERNAL_RULE: &str = "internal";

/// One rule: an id, a description, a tree-sitter query in which the capture
/// `@hit` marks the offending node, and how to word the message.
#[derive(Debug, Clone)]
pub struct Rule {
    id: String,
    description: String,
    query: String,
    message: fn(&str) -> String,
    allow_key: Option<String>,
    /// Turns the captured name into the name shown and compared against the
    /// allow list (for example `node:fs/promises` -> `fs`).
    normalize: fn(&str) -> String,
    /// The grammar the query was written for, when a helper wrote it.
    grammar: Option<String>,
    /// Why the rule cannot work (set by helpers for unsupported grammars).
    broken: Option<String>,
    /// When set and the match has a `@parent` capture, the name is
    /// `<parent><separator><name>` (rust `use std::{process}` -> `std::process`).
    parent_separator: Option<&'static str>,
    /// Whether [`RuleSet::infos`] lists the rule (see [`Rule::unlisted`]).
    listed: bool,
    /// The plugin's rewrite of the name (see [`Rule::rename`]).
    rename: Option<fn(&str) -> Option<String>>,
    /// With [`Rule::allow_nested`]: a listed name allows the names below it.
    allow_separator: Option<char>,
}

impl Rule {
    /// A rule from a query. `message` gets the text of the `@name` capture of
    /// the match if the query has one, else the text of `@hit`.
    pub fn new(id: &str, description: &str, query: &str, message: fn(&str) -> String) -> Self {
        Self {
            id: id.to_string(),
            description: description.to_string(),
            query: query.to_string(),
            message,
            allow_key: None,
            normalize: str::to_string,
            grammar: None,
            broken: None,
            parent_separator: None,
            listed: true,
            rename: None,
            allow_separator: None,
        }
    }

    /// Operator escape hatch: a match whose `@name` (or `@hit`) text is
    /// listed in setting `key` (comma-separated) is allowed.
    pub fn allow_with(mut self, key: &str) -> Self {
        self.allow_key = Some(key.to_string());
        self
    }

    /// Like [`Rule::allow_with`], and a listed name also allows every name
    /// below it: with separator `'/'`, `allow-modules = "net"` allows
    /// `net/http` too (see [`is_within`]).
    pub fn allow_nested(mut self, key: &str, separator: char) -> Self {
        self.allow_separator = Some(separator);
        self.allow_with(key)
    }

    /// Rewrites the captured name (the text of `@name`, else of `@hit`)
    /// before the allow list and the message see it; `None` drops the
    /// match. For names a query cannot compare as written: a string
    /// literal to decode (Go's `"os\x2fexec"` is `os/exec`), a path to
    /// compare by prefix. The query then captures every candidate and
    /// `rename` keeps the refused ones:
    ///
    /// ```
    /// use codr_sdk::rules::{is_within, Rule};
    ///
    /// let rule = Rule::new(
    ///     "blocked-import",
    ///     "imports of os/exec are not allowed",
    ///     "(import_spec path: _ @hit)",
    ///     |p| format!("import of package '{p}' is not allowed"),
    /// )
    /// .rename(|literal| {
    ///     let path = literal.trim_matches('"');
    ///     is_within(path, "os/exec", '/').then(|| path.to_string())
    /// });
    /// # let _ = rule;
    /// ```
    pub fn rename(mut self, rename: fn(&str) -> Option<String>) -> Self {
        self.rename = Some(rename);
        self
    }

    /// Leaves the rule out of [`RuleSet::infos`]: for an internal marker
    /// rule whose findings the plugin consumes in its own `validate` (to
    /// drop findings of other rules they cover) and never reports, so
    /// `codr plugin check` and the docs list only rules a user can meet.
    pub fn unlisted(mut self) -> Self {
        self.listed = false;
        self
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The rule's id and description, for `codr plugin check` and docs.
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.clone(),
            description: self.description.clone(),
        }
    }

    /// The rule's query text (with `@hit` and friends not yet renamed).
    pub fn query(&self) -> &str {
        &self.query
    }

    fn for_grammar(mut self, grammar: &str) -> Self {
        self.grammar = Some(grammar.to_string());
        self
    }

    fn normalized_by(mut self, normalize: fn(&str) -> String) -> Self {
        self.normalize = normalize;
        self
    }

    fn joined_with_parent(mut self, separator: &'static str) -> Self {
        self.parent_separator = Some(separator);
        self
    }

    fn broken(id: &str, grammar: &str, why: String) -> Self {
        let mut rule = Self::new(id, &why, "", |n| n.to_string()).for_grammar(grammar);
        rule.broken = Some(why);
        rule
    }
}

/// All rules of a language, run with one host call per validation.
///
/// The rules' queries are concatenated into one query in which every capture
/// of rule `i` is renamed `@<capture>.<i>` (predicates included), so every
/// capture maps back to its rule. Build it once and keep it in a `static`
/// (`std::sync::OnceLock`) if validation is hot.
#[derive(Debug, Clone)]
pub struct RuleSet {
    grammar: String,
    rules: Vec<Rule>,
    /// The combined query, rebuilt when a rule is added.
    query: String,
    /// Problems found while combining (reported by `validate`).
    problems: Vec<String>,
}

impl RuleSet {
    /// An empty rule set for `grammar` ("python", "javascript", "c", "cpp",
    /// "rust").
    pub fn new(grammar: &str) -> Self {
        Self {
            grammar: grammar.to_string(),
            rules: Vec::new(),
            query: String::new(),
            problems: Vec::new(),
        }
    }

    /// Adds one rule.
    pub fn rule(mut self, rule: Rule) -> Self {
        let index = self.rules.len();
        if let Some(why) = &rule.broken {
            self.problems.push(format!("rule '{}': {why}", rule.id));
        } else if let Some(g) = rule.grammar.as_deref().filter(|g| *g != self.grammar) {
            self.problems.push(format!(
                "rule '{}' was written for grammar '{g}' but the rule set uses '{}'",
                rule.id, self.grammar
            ));
        } else {
            self.query
                .push_str(&query_text::suffix_captures(&rule.query, index));
            self.query.push('\n');
        }
        self.rules.push(rule);
        self
    }

    /// Adds several rules.
    pub fn rules(self, rules: impl IntoIterator<Item = Rule>) -> Self {
        rules.into_iter().fold(self, Self::rule)
    }

    /// The rules' ids and descriptions, deduplicated by id, in order,
    /// without [`Rule::unlisted`] ones.
    pub fn infos(&self) -> Vec<RuleInfo> {
        let mut seen = HashSet::new();
        self.rules
            .iter()
            .filter(|r| r.listed && seen.insert(r.id.as_str()))
            .map(Rule::info)
            .collect()
    }

    /// The combined query the set sends to the host.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Runs every rule over `source` with one host call: one diagnostic per
    /// `@hit` capture, sorted by position, deduplicated (same rule, same
    /// span), honouring `disable-rules` and each rule's `allow_with` key.
    /// A broken rule set yields a single diagnostic with rule
    /// [`INTERNAL_RULE`].
    pub fn validate(&self, source: &str, settings: &Settings) -> Vec<Diagnostic> {
        if let Some(problem) = self.problems.first() {
            return vec![internal(problem)];
        }
        if self.query.trim().is_empty() {
            return Vec::new();
        }
        match syntax::query(&self.grammar, source, &self.query) {
            Ok(captures) => self.diagnostics(&captures, settings),
            Err(e) => vec![internal(&format!(
                "the plugin's rules failed: {e}{}",
                native_grammar_hint(&self.grammar, &e)
            ))],
        }
    }

    fn diagnostics(&self, captures: &[syntax::Capture], settings: &Settings) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = captures
            .iter()
            .filter_map(|hit| self.diagnostic(hit, captures, settings))
            .collect();
        out.sort_by(|a, b| {
            (a.line, a.column, a.end_line, a.end_column, &a.rule).cmp(&(
                b.line,
                b.column,
                b.end_line,
                b.end_column,
                &b.rule,
            ))
        });
        out.dedup();
        out
    }

    /// The diagnostic for `hit` if it is an allowed, enabled rule's `@hit`.
    fn diagnostic(
        &self,
        hit: &syntax::Capture,
        all: &[syntax::Capture],
        settings: &Settings,
    ) -> Option<Diagnostic> {
        let (base, index) = query_text::split_capture(&hit.name)?;
        if base != "hit" {
            return None;
        }
        let rule = self.rules.get(index)?;
        if settings.is_rule_disabled(&rule.id) {
            return None;
        }
        let text_of = |base: &str| {
            let wanted = format!("{base}.{index}");
            all.iter()
                .find(|c| c.match_id == hit.match_id && c.name == wanted)
                .map(|c| c.text.as_str())
        };
        let mut raw = text_of("name").unwrap_or(&hit.text).to_string();
        if let (Some(sep), Some(parent)) = (rule.parent_separator, text_of("parent")) {
            raw = format!("{parent}{sep}{raw}");
        }
        let mut name = (rule.normalize)(&raw);
        if let Some(rename) = rule.rename {
            name = rename(&name)?;
        }
        if let Some(key) = &rule.allow_key {
            let allowed = |a: &&str| match rule.allow_separator {
                Some(separator) => is_within(&name, a, separator),
                None => *a == name,
            };
            if settings.list(key).iter().any(allowed) {
                return None;
            }
        }
        Some(Diagnostic {
            rule: rule.id.clone(),
            message: (rule.message)(&name),
            line: hit.start_line,
            column: hit.start_column,
            end_line: hit.end_line,
            end_column: hit.end_column,
        })
    }
}

/// Rule `syntax-error`: code the grammar cannot parse (`ERROR` nodes, in
/// any grammar). The other rules only see what parses, so an unparsable
/// region could hide what they look for; the host does not hold this rule
/// against a job's data files.
pub fn syntax_error() -> Rule {
    Rule::new(
        "syntax-error",
        "code that cannot be parsed (and so cannot be checked) is not allowed",
        "(ERROR) @hit",
        |_| "this code cannot be parsed, so it cannot be checked".to_string(),
    )
}

/// Whether `name` is `parent` or below it, parts separated by `separator`:
/// `is_within("net/http", "net", '/')` but not `is_within("network", "net",
/// '/')`.
pub fn is_within(name: &str, parent: &str, separator: char) -> bool {
    name.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(separator))
}

/// In native tests, what to do about a host grammar this build left out
/// (the SDK compiles only the grammars its features name).
fn native_grammar_hint(grammar: &str, error: &str) -> String {
    const HOST_GRAMMARS: &[&str] = &["python", "javascript", "c", "cpp", "rust"];
    if cfg!(target_arch = "wasm32")
        || !HOST_GRAMMARS.contains(&grammar)
        || !error.starts_with("unknown grammar")
    {
        return String::new();
    }
    format!(
        " (native tests compile only the host grammars codr-sdk's features name: \
         add `codr-sdk = {{ ..., features = [\"{grammar}\"] }}` to [dev-dependencies])"
    )
}

/// `text` as a tree-sitter query string literal, quotes included and `"`,
/// `\` and line breaks escaped: for the names and regexes a plugin splices
/// into a query it writes itself (`(#eq? @hit {})`).
pub fn quoted(text: &str) -> String {
    query_text::string(text)
}

/// `names` as the arguments of an `#any-of?` predicate: each
/// [`quoted`], separated by spaces.
pub fn any_of<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| quoted(n.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One query holding every pattern of `patterns` under the same
/// `predicates`, one pattern a line: `(<pattern> <predicates>)`. For a rule
/// that looks for the same names in several places of the tree.
pub fn patterns_with<S: AsRef<str>>(patterns: &[S], predicates: &str) -> String {
    patterns
        .iter()
        .map(|p| format!("({} {predicates})", p.as_ref()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn internal(message: &str) -> Diagnostic {
    Diagnostic {
        rule: INTERNAL_RULE.to_string(),
        message: message.to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
    }
}
