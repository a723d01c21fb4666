//! A query read through tree-sitter's C API, for what the Rust bindings do
//! not expose: each pattern's predicates and its captures' quantifiers.

use tree_sitter::{ffi, Language, Query};

/// A query compiled by tree-sitter's C API alone, read for its predicates
/// and deleted when dropped.
pub(crate) struct RawQuery(*mut ffi::TSQuery);

impl Drop for RawQuery {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Query::new_raw` and is deleted once.
        unsafe { ffi::ts_query_delete(self.0) }
    }
}

/// One argument of a predicate.
pub(crate) enum Arg<'q> {
    Capture(u32),
    Text(&'q [u8]),
}

/// A predicate on one capture with only literal arguments after it
/// (`#eq? @name "x"`, `#any-of? @name "a" "b"`, `#match? @name "re"`).
pub(crate) struct TextPredicate<'q> {
    pub(crate) operator: &'q [u8],
    pub(crate) capture: u32,
    pub(crate) values: Vec<&'q [u8]>,
}

impl<'q> TextPredicate<'q> {
    /// `predicate` read as one, if it is one.
    pub(crate) fn read(predicate: &[Arg<'q>]) -> Option<Self> {
        let [Arg::Text(operator), Arg::Capture(capture), values @ ..] = predicate else {
            return None;
        };
        let values = values
            .iter()
            .map(|v| match v {
                Arg::Text(text) => Some(*text),
                Arg::Capture(_) => None,
            })
            .collect::<Option<_>>()?;
        Some(Self {
            operator,
            capture: *capture,
            values,
        })
    }
}

/// How many nodes one match of a pattern has for one of its captures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quantifier {
    /// The pattern does not use the capture.
    Zero,
    /// Exactly one.
    One,
    /// One or more.
    OneOrMore,
    /// Zero or one, or any number.
    Optional,
}

impl RawQuery {
    /// Compiles `text` for `language`; `None` when it does not compile (the
    /// caller has compiled it through the bindings and reports that).
    pub(crate) fn new(language: &Language, text: &str) -> Option<Self> {
        Query::new_raw(language, text).ok().map(Self)
    }

    pub(crate) fn pattern_count(&self) -> u32 {
        // SAFETY: a live query.
        unsafe { ffi::ts_query_pattern_count(self.0) }
    }

    /// How many nodes a match of `pattern` has for `capture`.
    pub(crate) fn quantifier(&self, pattern: u32, capture: u32) -> Quantifier {
        // SAFETY: a live query; tree-sitter answers `Zero` for a capture the
        // pattern does not use.
        match unsafe { ffi::ts_query_capture_quantifier_for_id(self.0, pattern, capture) } {
            ffi::TSQuantifierZero => Quantifier::Zero,
            ffi::TSQuantifierOne => Quantifier::One,
            ffi::TSQuantifierOneOrMore => Quantifier::OneOrMore,
            _ => Quantifier::Optional,
        }
    }

    /// The id of the capture named `name`, if the query has one.
    pub(crate) fn capture_id(&self, name: &str) -> Option<u32> {
        // SAFETY: a live query.
        let count = unsafe { ffi::ts_query_capture_count(self.0) };
        (0..count).find(|&id| {
            let mut length = 0u32;
            // SAFETY: a live query and one of its capture ids; the bytes
            // live as long as the query.
            let bytes = unsafe {
                let text = ffi::ts_query_capture_name_for_id(self.0, id, &mut length);
                std::slice::from_raw_parts(text.cast::<u8>(), length as usize)
            };
            bytes == name.as_bytes()
        })
    }

    /// The predicates of `pattern`, each a list of arguments (the first is
    /// the operator).
    pub(crate) fn predicates(&self, pattern: u32) -> Vec<Vec<Arg<'_>>> {
        let mut length = 0u32;
        // SAFETY: a live query and a pattern below its count; the steps live
        // as long as the query, which `&self` borrows.
        let steps = unsafe {
            let steps = ffi::ts_query_predicates_for_pattern(self.0, pattern, &mut length);
            if length == 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(steps, length as usize)
            }
        };
        steps
            .split(|step| step.type_ == ffi::TSQueryPredicateStepTypeDone)
            .filter(|predicate| !predicate.is_empty())
            .map(|predicate| {
                predicate
                    .iter()
                    .map(|step| match step.type_ {
                        ffi::TSQueryPredicateStepTypeCapture => Arg::Capture(step.value_id),
                        _ => Arg::Text(self.string(step.value_id)),
                    })
                    .collect()
            })
            .collect()
    }

    fn string(&self, id: u32) -> &[u8] {
        let mut length = 0u32;
        // SAFETY: a live query and one of its string ids; the bytes live as
        // long as the query.
        unsafe {
            let text = ffi::ts_query_string_value_for_id(self.0, id, &mut length);
            std::slice::from_raw_parts(text.cast::<u8>(), length as usize)
        }
    }
}
