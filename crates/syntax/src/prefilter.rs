//! Patterns that cannot match a source, found by one text search before the
//! tree is walked.
//!
//! Tree-sitter's query cursor starts a state at every node a pattern may
//! begin at, and leaves text predicates to the bindings, which check each
//! finished match. A pattern whose predicate needs a captured node to read
//! a literal (`#eq? @f "StartProcess"`, `#any-of? @f "a" "b"`, or a
//! `#match?` regex every match of which starts with one of a few literals)
//! has no match in a source where none of those literals occurs. The engine
//! runs such a source with those patterns disabled; the captures are the
//! same, and the cursor does less work (Go's rules on an ordinary program
//! skip the states of every identifier and comment).
//!
//! A predicate counts only when it must hold for at least one node: it is
//! positive (`eq?`, `match?`, `any-of?`) and its capture is always made
//! (quantifier one or one-or-more). The bindings let `any-eq?` and
//! `any-match?` pass when no node matches, so those never count.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use crate::raw::{Arg, Quantifier, RawQuery, TextPredicate};

/// What each pattern of one query needs to find in a source.
#[derive(Default)]
pub(crate) struct Prefilter {
    /// Per pattern, its needs: each a set of literal ids (indexes into
    /// `finder`'s patterns) of which one must occur in the source.
    needs: Vec<Vec<Vec<usize>>>,
    /// Every literal, searched for at once; `None` when no pattern needs any.
    finder: Option<AhoCorasick>,
    literal_count: usize,
}

impl Prefilter {
    /// Reads the predicates of `text` compiled for `language` (compiling it
    /// once more: the engine compiles nothing over
    /// [`crate::MAX_QUERY_BYTES`]); a query that does not compile (the
    /// caller reports that) needs nothing.
    #[cfg(test)]
    pub(crate) fn new(language: &tree_sitter::Language, text: &str) -> Self {
        RawQuery::new(language, text).map_or_else(Self::default, |raw| Self::from_raw(&raw))
    }

    /// What the patterns of `raw` need.
    pub(crate) fn from_raw(raw: &RawQuery) -> Self {
        let mut literals: HashMap<Vec<u8>, usize> = HashMap::new();
        let needs: Vec<Vec<Vec<usize>>> = (0..raw.pattern_count())
            .map(|pattern| {
                needs(raw, pattern)
                    .into_iter()
                    .map(|set| {
                        set.into_iter()
                            .map(|literal| {
                                let next = literals.len();
                                *literals.entry(literal).or_insert(next)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut ordered = vec![Vec::new(); literals.len()];
        for (literal, id) in literals {
            ordered[id] = literal;
        }
        // A finder that cannot be built (it never fails for plain literals)
        // only means no pattern is ever skipped.
        let finder = (!ordered.is_empty())
            .then(|| AhoCorasick::new(&ordered).ok())
            .flatten();
        Self {
            needs,
            literal_count: ordered.len(),
            finder,
        }
    }

    /// The patterns that cannot match `source`, ascending; empty when every
    /// pattern may.
    pub(crate) fn impossible(&self, source: &[u8]) -> Vec<u32> {
        let Some(finder) = &self.finder else {
            return Vec::new();
        };
        let mut present = vec![false; self.literal_count];
        let mut missing = self.literal_count;
        for found in finder.find_overlapping_iter(source) {
            let id = found.pattern().as_usize();
            if !present[id] {
                present[id] = true;
                missing -= 1;
                if missing == 0 {
                    return Vec::new();
                }
            }
        }
        let unmet = |set: &Vec<usize>| !set.iter().any(|&id| present[id]);
        (0..self.needs.len())
            .filter(|&p| self.needs[p].iter().any(unmet))
            .map(|p| p as u32)
            .collect()
    }
}

/// The literal sets pattern `pattern`'s predicates need (see the module
/// docs), each set without an empty literal (which every source has).
fn needs(raw: &RawQuery, pattern: u32) -> Vec<Vec<Vec<u8>>> {
    raw.predicates(pattern)
        .iter()
        .filter_map(|predicate| literals(raw, pattern, predicate))
        .filter(|set| !set.is_empty() && set.iter().all(|l| !l.is_empty()))
        .collect()
}

/// What one predicate needs, if it needs a literal: only one whose capture
/// every match makes.
fn literals(raw: &RawQuery, pattern: u32, predicate: &[Arg]) -> Option<Vec<Vec<u8>>> {
    let predicate = TextPredicate::read(predicate)?;
    if !matches!(
        raw.quantifier(pattern, predicate.capture),
        Quantifier::One | Quantifier::OneOrMore
    ) {
        return None;
    }
    match (predicate.operator, predicate.values.as_slice()) {
        (b"eq?", [text]) => Some(vec![text.to_vec()]),
        (b"any-of?", texts) => Some(texts.iter().map(|t| t.to_vec()).collect()),
        (b"match?", [regex]) => regex_literals(std::str::from_utf8(regex).ok()?),
        _ => None,
    }
}

/// Literals of which every match of `regex` starts with one (the regex
/// crate's own prefix extraction, which its searches rely on), parsed as
/// the bindings compile `#match?` (`regex::bytes::Regex`); `None` when there
/// is no finite set.
fn regex_literals(regex: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(regex)
        .ok()?;
    let seq = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    let literals = seq.literals()?;
    Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

#[cfg(test)]
mod tests;
