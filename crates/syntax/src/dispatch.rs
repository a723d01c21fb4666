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
//! itself (`#any-of? @name "Runtime" ...`), or of one of its direct
//! children (`(call function: (identifier) @f) (#eq? @f "eval")`), is
//! checked on that text first, as the bindings would check it on the
//! finished match, so an identifier or a call that no pattern can accept
//! is never started. A query that still starts at one node in
//! [`MIN_NODES_PER_START`] or more goes back to the whole walk after that run.
//!
//! A pattern whose root this cannot read keeps the whole walk for the
//! whole query: a wildcard, an anonymous node, a supertype or `MISSING`
//! at the root, a sequence of sibling patterns, a quantified
//! root, or anything the reader below does not know.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tree_sitter::{Language, Node, Query};

use crate::raw::{Arg, Quantifier, RawQuery, TextPredicate};
use pattern::Branch;

/// Where each pattern of one query can start; `None` when some pattern's
/// root cannot be read (the query keeps the whole walk).
pub(crate) struct Roots(Option<Vec<Vec<Start>>>);

/// One node kind a pattern can start at, and what must hold there for
/// the pattern to match.
struct Start {
    kind: u16,
    needs: Arc<Needs>,
}

/// What a node needs for a pattern to match with it as the root: checks
/// on its own text, and children that pass checks on theirs.
struct Needs {
    root: Vec<Check>,
    children: Vec<ChildNeed>,
}

/// Some direct child of one of `kinds` (any kind: `None`) whose text
/// passes every check.
struct ChildNeed {
    kinds: Option<Vec<u16>>,
    checks: Vec<Check>,
}

impl Needs {
    fn met_by(&self, node: Node, source: &[u8]) -> bool {
        let text = |node: Node| source.get(node.byte_range()).unwrap_or_default();
        if !self.root.iter().all(|check| check.holds(text(node))) {
            return false;
        }
        self.children.iter().all(|need| {
            let mut cursor = node.walk();
            let met = node.children(&mut cursor).any(|child| {
                need.kinds
                    .as_ref()
                    .is_none_or(|k| k.contains(&child.kind_id()))
                    && need.checks.iter().all(|check| check.holds(text(child)))
            });
            met
        })
    }
}

/// A text predicate on a capture of one node, as the bindings evaluate it.
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
                dispatch.slot(start.kind).push(start.needs.clone());
            }
        }
        Some(dispatch)
    }
}

/// The node kinds where the enabled patterns of a query can start, and the
/// checks on their text: which nodes to start the query at.
pub(crate) struct Dispatch {
    /// Per node kind id, what a node of that kind needs for each pattern
    /// rooted there (an empty [`Needs`]: nothing, it may always match).
    by_kind: Vec<Vec<Arc<Needs>>>,
    /// The same for `ERROR` nodes, whose id is the largest there is.
    error: Vec<Arc<Needs>>,
    /// Set once a walk started the query at too many of the nodes it
    /// entered ([`Dispatch::record`]): from then on the whole walk runs.
    too_many_starts: AtomicBool,
}

/// A query started at one node in this many or more costs more than the
/// whole walk it saves: each start sets up the cursor and visits the
/// node's children again (callgrind, 10 KB programs and the plugins'
/// rules: JavaScript's, whose patterns go three levels deep from calls and
/// member accesses, start at 1 node in 9.4 and cost 2% more instructions
/// than the whole walk; Java's start at 1 in 46, Python's, C's, C++'s and
/// Rust's at 1 in 68 to 130, each query call 15-19% fewer instructions,
/// parse included).
const MIN_NODES_PER_START: u32 = 10;

/// The kind id of `ERROR` nodes (tree-sitter's `ts_builtin_sym_error`).
const ERROR_KIND: u16 = u16::MAX;

impl Dispatch {
    fn slot(&mut self, kind: u16) -> &mut Vec<Arc<Needs>> {
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
        patterns.iter().any(|needs| needs.met_by(node, source))
    }
}

/// Where pattern `pattern` (its text `source`) can start, with what the
/// root needs there; `None` when its root cannot be read.
fn starts(language: &Language, raw: &RawQuery, pattern: u32, source: &str) -> Option<Vec<Start>> {
    let branches = pattern::read_root(source)?;
    let mut starts: Vec<Start> = Vec::new();
    for branch in &branches {
        let kind = named_kind(language, &branch.kind).filter(|&k| {
            branch.kind != "MISSING"
                && !branch.kind.starts_with('_')
                && language.node_kind_is_named(k)
        })?;
        if starts.iter().any(|s| s.kind == kind) {
            continue;
        }
        let same_kind: Vec<&Branch> = branches.iter().filter(|b| b.kind == branch.kind).collect();
        let needs = Needs {
            root: checks(raw, pattern, &shared_root_captures(&same_kind)),
            // Children are read for a kind met in one branch only.
            children: match same_kind.as_slice() {
                [only] => child_needs(language, raw, pattern, only),
                _ => Vec::new(),
            },
        };
        starts.push(Start {
            kind,
            needs: Arc::new(needs),
        });
    }
    Some(starts)
}

/// The id of the named node kind `name`, unless it is unknown or a
/// supertype (whose subtypes match, not its own id).
fn named_kind(language: &Language, name: &str) -> Option<u16> {
    let kind = language.id_for_node_kind(name, true);
    (kind != 0 && !name.contains('/') && !language.node_kind_is_supertype(kind)).then_some(kind)
}

/// The captures every one of `branches` (the same root kind) puts on
/// its root.
fn shared_root_captures<'b>(branches: &[&'b Branch]) -> Vec<&'b str> {
    let Some(first) = branches.first() else {
        return Vec::new();
    };
    first
        .captures
        .iter()
        .filter(|name| branches.iter().all(|b| b.captures.contains(name)))
        .map(String::as_str)
        .collect()
}

/// What the children of `branch`'s root need, from the checks on their
/// captures; a child whose kinds cannot all be named is not checked.
fn child_needs(
    language: &Language,
    raw: &RawQuery,
    pattern: u32,
    branch: &Branch,
) -> Vec<ChildNeed> {
    branch
        .children
        .iter()
        .filter_map(|child| {
            let kinds = match &child.kinds {
                None => None,
                Some(names) => Some(
                    names
                        .iter()
                        .map(|name| named_kind(language, name))
                        .collect::<Option<Vec<u16>>>()?,
                ),
            };
            let names: Vec<&str> = child.captures.iter().map(String::as_str).collect();
            let checks = checks(raw, pattern, &names);
            (!checks.is_empty()).then_some(ChildNeed { kinds, checks })
        })
        .collect()
}

/// The checks `pattern`'s predicates make on the captures `names`, each
/// captured exactly once per match (so the node it checks is the one
/// the caller has in mind).
fn checks(raw: &RawQuery, pattern: u32, names: &[&str]) -> Vec<Check> {
    let ids: Vec<u32> = names
        .iter()
        .filter_map(|name| raw.capture_id(name))
        .filter(|&id| raw.quantifier(pattern, id) == Quantifier::One)
        .collect();
    raw.predicates(pattern)
        .iter()
        .filter_map(|predicate| check(predicate, &ids))
        .collect()
}

/// The check a predicate makes on one of `captures`, if it is one the
/// bindings apply to a single node's text.
fn check(predicate: &[Arg], captures: &[u32]) -> Option<Check> {
    let predicate = TextPredicate::read(predicate)?;
    if !captures.contains(&predicate.capture) {
        return None;
    }
    // `any-eq?`, `any-match?` and their negations pass in the bindings
    // whatever one node says: never a check.
    match (predicate.operator, predicate.values.as_slice()) {
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

mod pattern;
#[cfg(test)]
mod tests;
