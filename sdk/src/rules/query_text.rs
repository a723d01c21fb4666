//! Small lexical helpers over tree-sitter query text.

/// Renames every capture `@x` of `query` to `@x.<index>`, in patterns and
/// predicates alike, leaving string literals and `;` comments untouched.
pub(crate) fn suffix_captures(query: &str, index: usize) -> String {
    let suffix = format!(".{index}");
    let mut out = String::with_capacity(query.len() + 32);
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '"' => copy_string(&mut chars, &mut out),
            ';' => copy_comment(&mut chars, &mut out),
            '@' => {
                while let Some(&n) = chars.peek() {
                    if !is_capture_char(n) {
                        break;
                    }
                    out.push(n);
                    chars.next();
                }
                out.push_str(&suffix);
            }
            _ => {}
        }
    }
    out
}

/// Splits a renamed capture `x.<index>` into `("x", index)`.
pub(crate) fn split_capture(name: &str) -> Option<(&str, usize)> {
    let (base, index) = name.rsplit_once('.')?;
    Some((base, index.parse().ok()?))
}

/// Characters tree-sitter accepts in a capture name.
fn is_capture_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '?' | '!')
}

fn copy_string(chars: &mut std::iter::Peekable<std::str::Chars>, out: &mut String) {
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => return,
            _ => {}
        }
    }
}

fn copy_comment(chars: &mut std::iter::Peekable<std::str::Chars>, out: &mut String) {
    for c in chars.by_ref() {
        out.push(c);
        if c == '\n' {
            return;
        }
    }
}

/// `text` as the inside of a query string literal.
pub(crate) fn escape_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// `text` as a regex matching itself literally (before string escaping).
pub(crate) fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A query string literal (with quotes) holding `text`.
pub(crate) fn string(text: &str) -> String {
    format!("\"{}\"", escape_string(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_captures_not_strings_or_comments() {
        let q = "((identifier) @name (#eq? @name \"@x\\\"@y\")) ; @hit here\n(call) @hit.call";
        assert_eq!(
            suffix_captures(q, 3),
            "((identifier) @name.3 (#eq? @name.3 \"@x\\\"@y\")) ; @hit here\n(call) @hit.call.3"
        );
        assert_eq!(split_capture("hit.call.3"), Some(("hit.call", 3)));
        assert_eq!(split_capture("hit"), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_regex("a.b(c)"), "a\\.b\\(c\\)");
        assert_eq!(string("a\"b\\"), "\"a\\\"b\\\\\"");
    }
}
