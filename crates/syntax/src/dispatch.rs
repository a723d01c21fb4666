//! Running a query only at the nodes its patterns can start at.
//!
//! Tree-sitter's query cursor enters every node of the tree and works out
//! its field, its later siblings and its supertypes before it looks for a
//! pattern starting there: on a 10 KB Java program that walk alone costs
//! about half a native parse, whatever the query (callgrind: 6.7 M
//! instructions for a one-pattern query, against 2.2 M for a plain tree
//! cursor and 14.6 M for the parse).
//!
//! When every pattern of a query is rooted at named node kinds
//! (`(method_invocation ...)`, `[(identifier) (type_identifier)] @name`),
//! the engine walks the tree with a plain tree cursor instead and starts
//! the query only at nodes of those kinds, at that node alone (a maximum
//! start depth of 0): the cursor then finds exactly the matches the whole
//! walk finds rooted there. A text predicate on a capture of the root node
//! itself (`#any-of? @name "Runtime" ...`) is checked on the node's text
//! first, as the bindings would check it on the finished match, so an
//! identifier that no pattern can accept is never started.
//!
//! A pattern whose root this cannot read keeps the whole walk for the
//! whole query: a wildcard, an anonymous node, a supertype or `MISSING`
//! at the root, a sequence of sibling patterns, a quantified
//! root, or anything the reader below does not know.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tree_sitter::{Language, Node, Query};

use crate::raw::{Arg, Quantifier, RawQuery};

/// Where each pattern of one query can start; `None` when some pattern's
/// root cannot be read (the query keeps the whole walk).
pub(crate) struct Roots(Option<Vec<Vec<Start>>>);

/// One node kind a pattern can start at, and what that node's text must
/// satisfy for the pattern to match there.
#[derive(Clone)]
struct Start {
    kind: u16,
    checks: Vec<Arc<Check>>,
}

/// A text predicate on a root capture, as the bindings evaluate it on a
/// capture with exactly one node.
enum Check {
    Eq(Vec<u8>, bool),
    AnyOf(Vec<Vec<u8>>, bool),
    Match(regex::bytes::Regex, bool),
}

impl Check {
    fn holds(&self, text: &[u8]) -> bool {
        match self {
            Check::Eq(value, positive) => (text == value.as_slice()) == *positive,
            Check::AnyOf(values, positive) => {
                values.iter().any(|v| v.as_slice() == text) == *positive
            }
            Check::Match(regex, positive) => regex.is_match(text) == *positive,
        }
    }
}

impl Roots {
    /// Reads the root of every pattern of `query` (compiled from `text`
    /// for `language`; `raw` is the same text read for its predicates).
    pub(crate) fn new(language: &Language, query: &Query, raw: &RawQuery, text: &str) -> Self {
        let starts = (0..query.pattern_count())
            .map(|pattern| {
                if !query.is_pattern_rooted(pattern) {
                    return None;
                }
                let source = text.get(
                    query.start_byte_for_pattern(pattern)..query.end_byte_for_pattern(pattern),
                )?;
                starts(language, raw, pattern as u32, source)
            })
            .collect();
        Self(starts)
    }

    /// Roots of a query that could not be read: the whole walk runs.
    pub(crate) fn unknown() -> Self {
        Self(None)
    }

    /// The node kinds where the patterns not in `disabled` can start;
    /// `None` when the whole walk must run.
    pub(crate) fn dispatch(&self, disabled: &[u32]) -> Option<Dispatch> {
        let patterns = self.0.as_ref()?;
        let mut dispatch = Dispatch {
            by_kind: Vec::new(),
            error: Vec::new(),
            too_many_starts: AtomicBool::new(false),
        };
        for (pattern, starts) in patterns.iter().enumerate() {
            if disabled.contains(&(pattern as u32)) {
                continue;
            }
            for start in starts {
                dispatch.slot(start.kind).push(start.checks.clone());
            }
        }
        Some(dispatch)
    }
}

/// The node kinds where the enabled patterns of a query can start, and the
/// checks on their text: which nodes to start the query at.
pub(crate) struct Dispatch {
    /// Per node kind id, one entry per pattern rooted there: the checks
    /// that must all hold for it to match (none: it always may).
    by_kind: Vec<Vec<Vec<Arc<Check>>>>,
    /// The same for `ERROR` nodes, whose id is the largest there is.
    error: Vec<Vec<Arc<Check>>>,
    /// Set once a walk started the query at too many of the nodes it
    /// entered ([`Dispatch::record`]): from then on the whole walk runs.
    too_many_starts: AtomicBool,
}

/// A query started at one node in this many or more costs more than the
/// whole walk it saves: each start sets up the cursor and visits the
/// node's children again (callgrind, 10 KB programs and the plugins'
/// rules: JavaScript's start at 1 node in 4.7, 5% more instructions than
/// the whole walk; Python's 1 in 5.4, 2% fewer; C's 1 in 7.5, 8% fewer;
/// Rust's 1 in 36, 16% fewer).
const MIN_NODES_PER_START: u32 = 5;

/// The kind id of `ERROR` nodes (tree-sitter's `ts_builtin_sym_error`).
const ERROR_KIND: u16 = u16::MAX;

impl Dispatch {
    fn slot(&mut self, kind: u16) -> &mut Vec<Vec<Arc<Check>>> {
        if kind == ERROR_KIND {
            return &mut self.error;
        }
        let kind = usize::from(kind);
        if self.by_kind.len() <= kind {
            self.by_kind.resize(kind + 1, Vec::new());
        }
        &mut self.by_kind[kind]
    }

    /// Whether starting the query at its nodes has paid so far: false once
    /// a walk started it at one node in [`MIN_NODES_PER_START`] or more.
    pub(crate) fn pays(&self) -> bool {
        !self.too_many_starts.load(Ordering::Relaxed)
    }

    /// What one walk did: it entered `entered` nodes and started the query
    /// at `started` of them.
    pub(crate) fn record(&self, entered: u32, started: u32) {
        if u64::from(started) * u64::from(MIN_NODES_PER_START) > u64::from(entered) {
            self.too_many_starts.store(true, Ordering::Relaxed);
        }
    }

    /// Whether no pattern is enabled (the prefilter disabled them all):
    /// nothing can match, and the tree need not be walked.
    pub(crate) fn starts_nowhere(&self) -> bool {
        self.error.is_empty() && self.by_kind.iter().all(Vec::is_empty)
    }

    /// Whether some enabled pattern can match with `node` as its root.
    pub(crate) fn starts_at(&self, node: Node, source: &[u8]) -> bool {
        let kind = node.kind_id();
        let patterns = match self.by_kind.get(usize::from(kind)) {
            Some(patterns) => patterns,
            None if kind == ERROR_KIND => &self.error,
            None => return false,
        };
        if patterns.is_empty() {
            return false;
        }
        let text = source.get(node.byte_range()).unwrap_or_default();
        patterns
            .iter()
            .any(|checks| checks.iter().all(|check| check.holds(text)))
    }
}

/// Where pattern `pattern` (its text `source`) can start, with the checks
/// of its root captures; `None` when its root cannot be read.
fn starts(language: &Language, raw: &RawQuery, pattern: u32, source: &str) -> Option<Vec<Start>> {
    let branches = read_root(&tokens(source)?)?;
    let mut starts: Vec<Start> = Vec::new();
    for branch in &branches {
        if branch.kind.starts_with('_') || branch.kind.contains('/') || branch.kind == "MISSING" {
            return None;
        }
        let kind = language.id_for_node_kind(&branch.kind, true);
        if kind == 0 || language.node_kind_is_supertype(kind) || !language.node_kind_is_named(kind)
        {
            return None;
        }
        // A capture checks the root only if every branch of this kind
        // captures its root with it.
        let captures: Vec<u32> = branch
            .captures
            .iter()
            .filter(|name| {
                branches
                    .iter()
                    .filter(|b| b.kind == branch.kind)
                    .all(|b| b.captures.contains(name))
            })
            .filter_map(|name| raw.capture_id(name))
            .filter(|&id| raw.quantifier(pattern, id) == Quantifier::One)
            .collect();
        if starts.iter().any(|s| s.kind == kind) {
            continue;
        }
        let checks = raw
            .predicates(pattern)
            .iter()
            .filter_map(|predicate| check(predicate, &captures))
            .map(Arc::new)
            .collect();
        starts.push(Start { kind, checks });
    }
    Some(starts)
}

/// The check a predicate makes on one of `captures`, if it is one the
/// bindings apply to a single node's text.
fn check(predicate: &[Arg], captures: &[u32]) -> Option<Check> {
    let [Arg::Text(operator), Arg::Capture(capture), values @ ..] = predicate else {
        return None;
    };
    if !captures.contains(capture) {
        return None;
    }
    let texts: Vec<&[u8]> = values
        .iter()
        .map(|v| match v {
            Arg::Text(text) => Some(*text),
            Arg::Capture(_) => None,
        })
        .collect::<Option<_>>()?;
    // `any-eq?`, `any-match?` and their negations pass in the bindings
    // whatever one node says: never a check.
    match (*operator, texts.as_slice()) {
        (b"eq?", [value]) => Some(Check::Eq(value.to_vec(), true)),
        (b"not-eq?", [value]) => Some(Check::Eq(value.to_vec(), false)),
        (b"any-of?", values) => Some(Check::AnyOf(
            values.iter().map(|v| v.to_vec()).collect(),
            true,
        )),
        (b"not-any-of?", values) => Some(Check::AnyOf(
            values.iter().map(|v| v.to_vec()).collect(),
            false,
        )),
        (b"match?", [regex]) => Some(Check::Match(compile(regex)?, true)),
        (b"not-match?", [regex]) => Some(Check::Match(compile(regex)?, false)),
        _ => None,
    }
}

/// A `#match?` regex compiled as the bindings compile it.
fn compile(regex: &[u8]) -> Option<regex::bytes::Regex> {
    regex::bytes::Regex::new(std::str::from_utf8(regex).ok()?).ok()
}

/// One token of a pattern's text.
#[derive(Debug, PartialEq)]
enum Token<'s> {
    Open,
    Close,
    OpenAlternation,
    CloseAlternation,
    /// A node kind, a field (`name:`) or a predicate (`#eq?`).
    Word(&'s str),
    String,
    Capture(&'s str),
    /// `?`, `*`, `+` or the anchor `.`.
    Operator,
    /// `!field`.
    Negation,
}

/// The tokens of a pattern's text; `None` for anything unexpected.
fn tokens(source: &str) -> Option<Vec<Token<'_>>> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word_end = |mut j: usize| {
        while j < bytes.len()
            && (bytes[j].is_ascii_alphanumeric() || b"_-.?!/:".contains(&bytes[j]))
        {
            j += 1;
        }
        j
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b')' | b'[' | b']' => {
                out.push(match c {
                    b'(' => Token::Open,
                    b')' => Token::Close,
                    b'[' => Token::OpenAlternation,
                    _ => Token::CloseAlternation,
                });
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return None;
                }
                i += 1;
                out.push(Token::String);
            }
            b'@' => {
                let end = word_end(i + 1);
                out.push(Token::Capture(source.get(i + 1..end)?));
                i = end;
            }
            b'!' => {
                i = word_end(i + 1);
                out.push(Token::Negation);
            }
            b'?' | b'*' | b'+' | b'.' => {
                out.push(Token::Operator);
                i += 1;
            }
            b'#' => {
                let end = word_end(i + 1);
                out.push(Token::Word(source.get(i..end)?));
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let end = word_end(i);
                out.push(Token::Word(source.get(i..end)?));
                i = end;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// One node kind a pattern's root may be, with the captures on it.
#[derive(Debug, PartialEq)]
struct Branch {
    kind: String,
    captures: Vec<String>,
}

/// The root branches of a whole pattern; `None` unless it is one node or
/// one alternation of nodes (with its predicates), nothing after it.
fn read_root(tokens: &[Token]) -> Option<Vec<Branch>> {
    let (branches, end) = expression(tokens, 0)?;
    (end == tokens.len()).then_some(branches)
}

/// The root branches of the expression at `at`, and where it ends.
fn expression(tokens: &[Token], at: usize) -> Option<(Vec<Branch>, usize)> {
    let (mut branches, mut end) = match tokens.get(at)? {
        Token::Open => match tokens.get(at + 1)? {
            Token::Word(kind) if !kind.starts_with('#') && !kind.ends_with(':') => {
                let end = balanced(tokens, at)?;
                let branch = Branch {
                    kind: kind.to_string(),
                    captures: Vec::new(),
                };
                (vec![branch], end)
            }
            Token::Open | Token::OpenAlternation => grouping(tokens, at)?,
            _ => return None,
        },
        Token::OpenAlternation => {
            let mut branches = Vec::new();
            let mut i = at + 1;
            while *tokens.get(i)? != Token::CloseAlternation {
                let (inner, end) = expression(tokens, i)?;
                branches.extend(inner);
                i = end;
            }
            (branches, i + 1)
        }
        _ => return None,
    };
    while let Some(Token::Capture(name)) = tokens.get(end) {
        for branch in &mut branches {
            branch.captures.push(name.to_string());
        }
        end += 1;
    }
    // A quantified root (`(a)*`) is a sequence: not one root.
    if tokens.get(end) == Some(&Token::Operator) {
        return None;
    }
    Some((branches, end))
}

/// A parenthesized group at `at`: exactly one expression and its
/// predicates, nothing captured on the group itself.
fn grouping(tokens: &[Token], at: usize) -> Option<(Vec<Branch>, usize)> {
    let (branches, mut i) = expression(tokens, at + 1)?;
    while *tokens.get(i)? != Token::Close {
        // Only predicates may follow: `(#eq? @a "x")`.
        match (tokens.get(i)?, tokens.get(i + 1)?) {
            (Token::Open, Token::Word(word)) if word.starts_with('#') => i = balanced(tokens, i)?,
            _ => return None,
        }
    }
    let end = i + 1;
    if matches!(tokens.get(end), Some(Token::Capture(_))) {
        return None;
    }
    Some((branches, end))
}

/// Where the parenthesized expression opening at `at` ends (just past its
/// closing parenthesis).
fn balanced(tokens: &[Token], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(at) {
        match token {
            Token::Open | Token::OpenAlternation => depth += 1,
            Token::Close | Token::CloseAlternation => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
