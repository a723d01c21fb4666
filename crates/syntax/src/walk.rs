//! Running a compiled query over a tree, and finding a tree's syntax
//! errors: tree-sitter's nodes turned into [`Capture`]s and spans with
//! 1-based positions counted in characters.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Instant;

use tree_sitter::{
    Node, Point, Query, QueryCursor, QueryCursorOptions, QueryCursorState, StreamingIterator, Tree,
};

use crate::cache::Plan;
use crate::dispatch::Dispatch;
use crate::{Capture, ErrorSpan};

/// The captures of `query` on `tree`; `None` when the walk was stopped at
/// `deadline` (nothing it found is kept).
pub(crate) fn run_query(
    plan: &Plan,
    tree: &Tree,
    source: &str,
    deadline: Option<Instant>,
) -> Option<Vec<Capture>> {
    let raw = run_matches(plan, tree, source, deadline)?;
    Some(to_captures(&plan.query, raw, source))
}

/// One captured node: (capture index, pattern index, match id, node).
type RawCapture<'tree> = (u32, u32, u32, Node<'tree>);

/// Runs the query over the tree (text predicates applied by tree-sitter's
/// bindings): at the nodes where its patterns can start when the plan
/// knows them ([`crate::dispatch`]), else in one walk of the whole tree.
/// Keeps the captured nodes, nothing copied; `None` when the walk was
/// still running at `deadline` and was stopped.
pub(crate) fn run_matches<'tree>(
    plan: &Plan,
    tree: &'tree Tree,
    source: &str,
    deadline: Option<Instant>,
) -> Option<Vec<RawCapture<'tree>>> {
    // A new cursor per call: reusing one per thread saved 0.02% of the
    // walk's instructions (measured with callgrind), not worth the state.
    let mut cursor = QueryCursor::new();
    let mut found = Found::default();
    match &plan.dispatch {
        Some(dispatch) if dispatch.pays() => {
            let (entered, started) = dispatched(
                &mut cursor,
                &mut found,
                plan,
                dispatch,
                tree,
                source,
                deadline,
            )?;
            dispatch.record(entered, started);
        }
        _ => found.matches(&mut cursor, &plan.query, tree.root_node(), source, deadline)?,
    }
    Some(found.captures)
}

/// Walks the tree with a plain cursor and starts the query at each node
/// where `dispatch` says a pattern can start, there alone; returns how many
/// nodes it entered and at how many it started the query.
fn dispatched<'tree>(
    cursor: &mut QueryCursor,
    found: &mut Found<'tree>,
    plan: &Plan,
    dispatch: &Dispatch,
    tree: &'tree Tree,
    source: &str,
    deadline: Option<Instant>,
) -> Option<(u32, u32)> {
    if dispatch.starts_nowhere() {
        return Some((0, 0));
    }
    cursor.set_max_start_depth(Some(0));
    let mut walk = tree.walk();
    let (mut entered, mut started) = (0u32, 0u32);
    loop {
        let node = walk.node();
        if dispatch.starts_at(node, source.as_bytes()) {
            started = started.wrapping_add(1);
            found.matches(cursor, &plan.query, node, source, deadline)?;
        }
        entered = entered.wrapping_add(1);
        if entered.is_multiple_of(DEADLINE_EVERY)
            && deadline.is_some_and(|d| crate::past(d).is_break())
        {
            return None;
        }
        if walk.goto_first_child() {
            continue;
        }
        while !walk.goto_next_sibling() {
            if !walk.goto_parent() {
                return Some((entered, started));
            }
        }
    }
}

/// How many nodes the dispatched walk enters between looks at the clock.
const DEADLINE_EVERY: u32 = 1024;

/// The captures of the matches found so far, each match numbered.
#[derive(Default)]
struct Found<'tree> {
    captures: Vec<RawCapture<'tree>>,
    next_match: u32,
}

impl<'tree> Found<'tree> {
    /// Adds the matches of `query` the cursor finds from `node`; `None`
    /// when it was stopped at `deadline`.
    fn matches(
        &mut self,
        cursor: &mut QueryCursor,
        query: &Query,
        node: Node<'tree>,
        source: &str,
        deadline: Option<Instant>,
    ) -> Option<()> {
        let mut stopped = false;
        let mut stop = |_: &QueryCursorState| {
            let answer = deadline.map_or(ControlFlow::Continue(()), crate::past);
            stopped |= answer.is_break();
            answer
        };
        let options = match deadline {
            Some(_) => QueryCursorOptions::new().progress_callback(&mut stop),
            None => QueryCursorOptions::new(),
        };
        let mut matches = cursor.matches_with_options(query, node, source.as_bytes(), options);
        while let Some(m) = matches.next() {
            for cap in m.captures() {
                let id = self.next_match;
                self.captures
                    .push((cap.index, m.pattern_index as u32, id, cap.node));
            }
            self.next_match += 1;
        }
        drop(matches);
        (!stopped).then_some(())
    }
}

/// The captures in document order; captures that start together come
/// outer node first, then by pattern and capture, so the order (and the
/// match numbers, given by first capture) does not depend on the order in
/// which the walk finished the matches.
pub(crate) fn to_captures(query: &Query, mut raw: Vec<RawCapture>, source: &str) -> Vec<Capture> {
    raw.sort_unstable_by_key(|&(index, pattern, match_id, node)| {
        (
            node.start_byte(),
            std::cmp::Reverse(node.end_byte()),
            pattern,
            index,
            match_id,
        )
    });
    let mut renumbered: HashMap<u32, u32> = HashMap::new();
    let names = query.capture_names();
    raw.into_iter()
        .map(|(index, pattern, match_id, node)| {
            let next = renumbered.len() as u32;
            let match_id = *renumbered.entry(match_id).or_insert(next);
            capture(names[index as usize], pattern, match_id, node, source)
        })
        .collect()
}

fn capture(name: &str, pattern: u32, match_id: u32, node: Node, source: &str) -> Capture {
    let (start, end) = (node.start_byte(), node.end_byte());
    let (start_line, start_column) = position(source, start, node.start_position());
    let (end_line, end_column) = position(source, end, node.end_position());
    Capture {
        name: name.to_string(),
        pattern,
        match_id,
        kind: node.kind().to_string(),
        text: source.get(start..end).unwrap_or_default().to_string(),
        start_byte: start as u32,
        end_byte: end as u32,
        start_line,
        start_column,
        end_line,
        end_column,
    }
}

/// 1-based line and column in Unicode scalar values of `byte`, whose
/// tree-sitter point (0-based row, byte column) is `point`.
fn position(source: &str, byte: usize, point: Point) -> (u32, u32) {
    let line_start = byte.saturating_sub(point.column);
    let column = source
        .get(line_start..byte)
        .map(|prefix| prefix.chars().count())
        // Not on a char boundary (cannot happen for nodes of valid UTF-8):
        // fall back to bytes rather than fail.
        .unwrap_or(point.column);
    (point.row as u32 + 1, column as u32 + 1)
}

/// ERROR and MISSING nodes, outermost first (an ERROR node's insides are not
/// reported again), at most `max`.
pub(crate) fn collect_errors(root: Node, source: &str, max: usize) -> Vec<ErrorSpan> {
    let mut out = Vec::new();
    if !root.has_error() {
        return out;
    }
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        let is_error = node.is_error() || node.is_missing();
        if is_error {
            if out.len() >= max {
                break;
            }
            let (l, c) = position(source, node.start_byte(), node.start_position());
            let (el, ec) = position(source, node.end_byte(), node.end_position());
            out.push((l, c, el, ec));
        }
        // Descend only where an error hides below.
        if !is_error && node.has_error() && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
    out
}
