//! Running a compiled query over a tree, and finding a tree's syntax
//! errors: tree-sitter's nodes turned into [`Capture`]s and spans with
//! 1-based positions counted in characters.

use std::ops::ControlFlow;
use std::time::Instant;

use tree_sitter::{
    Node, Point, Query, QueryCursor, QueryCursorOptions, QueryCursorState, StreamingIterator, Tree,
};

use crate::{Capture, ErrorSpan};

/// The captures of `query` on `tree`; `None` when the walk was stopped at
/// `deadline` (nothing it found is kept).
pub(crate) fn run_query(
    query: &Query,
    tree: &Tree,
    source: &str,
    deadline: Option<Instant>,
) -> Option<Vec<Capture>> {
    let raw = run_matches(query, tree, source, deadline)?;
    Some(to_captures(query, raw, source))
}

/// One captured node: (capture index, pattern index, match id, node).
type RawCapture<'tree> = (u32, u32, u32, Node<'tree>);

/// Walks the tree once with the query (text predicates applied by
/// tree-sitter's bindings) and keeps the captured nodes, nothing copied;
/// `None` when the walk was still running at `deadline` and was stopped.
pub(crate) fn run_matches<'tree>(
    query: &Query,
    tree: &'tree Tree,
    source: &str,
    deadline: Option<Instant>,
) -> Option<Vec<RawCapture<'tree>>> {
    // A new cursor per call: reusing one per thread saved 0.02% of the
    // walk's instructions (measured with callgrind), not worth the state.
    let mut cursor = QueryCursor::new();
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
    let mut matches =
        cursor.matches_with_options(query, tree.root_node(), source.as_bytes(), options);
    let mut out = Vec::new();
    let mut match_id = 0u32;
    while let Some(m) = matches.next() {
        for cap in m.captures() {
            out.push((cap.index, m.pattern_index as u32, match_id, cap.node));
        }
        match_id += 1;
    }
    drop(matches);
    (!stopped).then_some(out)
}

pub(crate) fn to_captures(query: &Query, raw: Vec<RawCapture>, source: &str) -> Vec<Capture> {
    let names = query.capture_names();
    let mut out: Vec<Capture> = raw
        .into_iter()
        .map(|(index, pattern, match_id, node)| {
            capture(names[index as usize], pattern, match_id, node, source)
        })
        .collect();
    // Stable: captures that start together keep the order of their matches.
    out.sort_by_key(|c| c.start_byte);
    out
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
