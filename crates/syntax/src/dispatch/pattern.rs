//! Reading where a pattern starts from its text: the root node kinds, the
//! captures on the root, and the captures on the root's direct children.
//!
//! Only what the dispatch needs is read, and anything unexpected reads as
//! "unknown" (`None`), which keeps the whole walk: this reader never has to
//! be complete, only never wrong about what it does return.

/// One node kind a pattern's root may be, with the captures on it and
/// on its direct children.
#[derive(Debug, PartialEq)]
pub(super) struct Branch {
    pub(super) kind: String,
    pub(super) captures: Vec<String>,
    pub(super) children: Vec<Child>,
}

/// A direct child in a root's pattern, met once by every match (not
/// quantified), with the captures on it.
#[derive(Debug, PartialEq)]
pub(super) struct Child {
    pub(super) kinds: Kinds,
    pub(super) captures: Vec<String>,
}

/// The named node kinds a child may be; `None`: any node (`_`, `(_)`).
pub(super) type Kinds = Option<Vec<String>>;

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
    /// `?`, `*` or `+`.
    Quantifier,
    /// `.`.
    Anchor,
    /// `!field`.
    Negation,
}

/// The root branches of a whole pattern; `None` unless it is one node or
/// one alternation of nodes (with its predicates), nothing after it.
pub(super) fn read_root(source: &str) -> Option<Vec<Branch>> {
    let tokens = tokens(source)?;
    let (branches, end) = expression(&tokens, 0)?;
    (end == tokens.len()).then_some(branches)
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
        let (token, end) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => (Token::Open, i + 1),
            b')' => (Token::Close, i + 1),
            b'[' => (Token::OpenAlternation, i + 1),
            b']' => (Token::CloseAlternation, i + 1),
            b'"' => (Token::String, string_end(bytes, i)?),
            b'@' => {
                let end = word_end(i + 1);
                (Token::Capture(source.get(i + 1..end)?), end)
            }
            b'!' => (Token::Negation, word_end(i + 1)),
            b'?' | b'*' | b'+' => (Token::Quantifier, i + 1),
            b'.' => (Token::Anchor, i + 1),
            b'#' => {
                let end = word_end(i + 1);
                (Token::Word(source.get(i..end)?), end)
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let end = word_end(i);
                (Token::Word(source.get(i..end)?), end)
            }
            _ => return None,
        };
        out.push(token);
        i = end;
    }
    Some(out)
}

/// Just past the string literal opening at `at`.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    while i < bytes.len() && bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    (i < bytes.len()).then_some(i + 1)
}

/// The root branches of the expression at `at`, and where it ends.
fn expression(tokens: &[Token], at: usize) -> Option<(Vec<Branch>, usize)> {
    let (mut branches, mut end) = match tokens.get(at)? {
        Token::Open => match tokens.get(at + 1)? {
            Token::Word(kind) if !kind.starts_with('#') && !kind.ends_with(':') => {
                let (children, end) = children(tokens, at + 2)?;
                let branch = Branch {
                    kind: kind.to_string(),
                    captures: Vec::new(),
                    children,
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
    let (captures, quantified) = suffix(tokens, &mut end);
    // A quantified or anchored root (`(a)*`) is not one root.
    if quantified || tokens.get(end) == Some(&Token::Anchor) {
        return None;
    }
    for branch in &mut branches {
        branch.captures.extend(captures.iter().cloned());
    }
    Some((branches, end))
}

/// The captures and quantifiers after an expression (in any order, as
/// tree-sitter reads them), from `*at`, moving past them: the capture
/// names, and whether a quantifier was among them.
fn suffix(tokens: &[Token], at: &mut usize) -> (Vec<String>, bool) {
    let (mut names, mut quantified) = (Vec::new(), false);
    loop {
        match tokens.get(*at) {
            Some(Token::Capture(name)) => names.push(name.to_string()),
            Some(Token::Quantifier) => quantified = true,
            _ => return (names, quantified),
        }
        *at += 1;
    }
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

/// The direct children of the node whose kind was just read, from `at` to
/// its closing parenthesis; returns them and where the node ends. A child
/// whose shape is not read is left out: fewer children only means fewer
/// checks.
fn children(tokens: &[Token], mut at: usize) -> Option<(Vec<Child>, usize)> {
    let mut out = Vec::new();
    loop {
        match tokens.get(at)? {
            Token::Close => return Some((out, at + 1)),
            Token::Anchor | Token::Negation => at += 1,
            // A field only names where the child is: read the child.
            Token::Word(field) if field.ends_with(':') => at += 1,
            _ => {
                let (kinds, mut end) = child_kinds(tokens, at)?;
                let (captures, quantified) = suffix(tokens, &mut end);
                if let (Some(kinds), false) = (kinds, quantified) {
                    out.push(Child { kinds, captures });
                }
                at = end;
            }
        }
    }
}

/// The kinds of the child expression at `at` (`Some(None)`: any node;
/// `None` inside: not read) and where it ends, captures not included.
fn child_kinds(tokens: &[Token], at: usize) -> Option<(Option<Kinds>, usize)> {
    let end = match tokens.get(at)? {
        Token::Word(w) if *w == "_" => return Some((Some(None), at + 1)),
        Token::String => return Some((None, at + 1)),
        Token::Open | Token::OpenAlternation => balanced(tokens, at)?,
        _ => return None,
    };
    let kinds = match (tokens.get(at)?, tokens.get(at + 1)?) {
        (Token::Open, Token::Word(w)) if *w == "_" => Some(None),
        (Token::Open, Token::Word(kind)) if is_kind(kind) => Some(Some(vec![kind.to_string()])),
        (Token::OpenAlternation, _) => alternation_kinds(&tokens[at + 1..end - 1]),
        _ => None,
    };
    Some((kinds, end))
}

/// The kinds of an alternation of plain nodes (`(a ...) (b ...)`), or
/// `None` when one alternative is something else.
fn alternation_kinds(tokens: &[Token]) -> Option<Kinds> {
    let mut kinds = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match (tokens.get(i)?, tokens.get(i + 1)?) {
            (Token::Open, Token::Word(kind)) if is_kind(kind) => kinds.push(kind.to_string()),
            _ => return None,
        }
        i = balanced(tokens, i)?;
        if suffix(tokens, &mut i).1 {
            return None;
        }
    }
    Some(Some(kinds))
}

/// Whether `word` names one node kind (not a field, a predicate, a
/// wildcard or a supertype path).
fn is_kind(word: &str) -> bool {
    !word.starts_with('#') && !word.ends_with(':') && word != "_" && !word.contains('/')
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
