//! What javac does to a source before it finds any token, and tree-sitter
//! does not: translating Unicode escapes (JLS 3.3), and ignoring
//! "ignorable" characters inside names (JLS 3.8). The rules parse the
//! translated text and report positions of the original one.
//!
//! - `\u0052untime` is `Runtime`, `\uuu0052` too (any number of `u`s); a
//!   `\` starts an escape only after an even number of raw backslashes
//!   (`\\u0052` is a backslash and `u0052`); a character made by an escape
//!   never starts another one. Two escapes forming a surrogate pair make one
//!   character. Escapes work everywhere: `"\u0022 + code + \u0022"` closes
//!   and reopens a string, `\u000a` ends a `//` comment.
//! - Ignorable characters (ISO controls other than white space, and format
//!   characters such as U+200B ZERO WIDTH SPACE) right after a letter, digit,
//!   `_` or `$` are dropped: javac reads `Run\u200Btime` as `Runtime`.
//!   (Elsewhere javac rejects them, or they are inside a literal.)

/// A source as javac reads it, with the way back to the original positions.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The source with escapes translated and ignorable characters dropped.
    pub text: String,
    /// Original (line, column) of each character of `text`, then of the end.
    /// Empty when `text` is the source and every position is the same.
    origin: Vec<(u32, u32)>,
    /// Index in `origin` of the first character of each line of `text`
    /// (lines end at `\n`, as tree-sitter counts them).
    line_starts: Vec<usize>,
}

impl Translated {
    /// Translates `source`.
    pub fn new(source: &str) -> Self {
        if is_untouched(source) {
            return Self {
                text: source.to_string(),
                origin: Vec::new(),
                line_starts: Vec::new(),
            };
        }
        translate(source)
    }

    /// The original (line, column) of position `line`:`column` of
    /// [`Self::text`] (1-based, columns in Unicode scalar values, as the
    /// host reports captures). A position past the end of a line or of the
    /// text maps to the end of the source.
    pub fn original(&self, line: u32, column: u32) -> (u32, u32) {
        if self.origin.is_empty() {
            return (line, column);
        }
        let end = self.origin[self.origin.len() - 1];
        let Some(&start) = self.line_starts.get(line as usize - 1) else {
            return end;
        };
        let index = start + column as usize - 1;
        self.origin.get(index).copied().unwrap_or(end)
    }
}

/// Whether javac reads `source` as it is: no `\u` escape, no ignorable
/// character, and no lone CR (which ends a line for javac, not for
/// tree-sitter's row count). Nearly every program, so the common case is a
/// few passes over the bytes with no allocation: a source of printable
/// ASCII, tabs and newlines is decided without decoding a character.
fn is_untouched(source: &str) -> bool {
    if source.contains("\\u") {
        return false;
    }
    // Ignorable characters below U+0080 are C0 controls other than
    // white space and DEL; anything above needs the full check.
    let plain_ascii = source
        .bytes()
        .all(|b| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x7e));
    if !plain_ascii && source.chars().any(is_ignorable) {
        return false;
    }
    !source.contains('\r') || !source.replace("\r\n", "").contains('\r')
}

fn translate(source: &str) -> Translated {
    let raw: Vec<char> = source.chars().collect();
    let mut text = String::with_capacity(source.len());
    let mut origin = Vec::with_capacity(raw.len() + 1);
    let mut line_starts = vec![0];
    let (mut line, mut column) = (1u32, 1u32);
    let mut previous = ' ';
    // Whether an odd number of raw backslashes come just before `i`.
    let mut odd_backslashes = false;
    let mut i = 0;
    while i < raw.len() {
        let (c, len) = match raw[i] {
            '\\' if !odd_backslashes => escaped_char(&raw[i..]).unwrap_or(('\\', 1)),
            c => (c, 1),
        };
        if len == 1 {
            odd_backslashes = c == '\\' && !odd_backslashes;
        }
        let in_name = previous.is_alphanumeric() || previous == '_' || previous == '$';
        if !(is_ignorable(c) && in_name) {
            text.push(c);
            origin.push((line, column));
            if c == '\n' {
                line_starts.push(origin.len());
            }
            previous = c;
        }
        let ends_line = len == 1 && (c == '\n' || (c == '\r' && raw.get(i + 1) != Some(&'\n')));
        if ends_line {
            line += 1;
            column = 1;
        } else {
            column += len as u32;
        }
        i += len;
    }
    origin.push((line, column));
    Translated {
        text,
        origin,
        line_starts,
    }
}

/// The character and raw length of the escape at the start of `raw`, if
/// there is one. A surrogate pair of escapes makes one character; a lone
/// surrogate becomes U+FFFD (javac rejects it outside literals).
fn escaped_char(raw: &[char]) -> Option<(char, usize)> {
    let (high, len) = unicode_escape(raw)?;
    if (0xD800..0xDC00).contains(&high) {
        if let Some((low, len2)) = unicode_escape(&raw[len..]) {
            if (0xDC00..0xE000).contains(&low) {
                let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(value).map(|c| (c, len + len2));
            }
        }
    }
    Some((char::from_u32(high).unwrap_or('\u{FFFD}'), len))
}

/// The UTF-16 code unit and raw length of `\u+XXXX` at the start of `raw`.
fn unicode_escape(raw: &[char]) -> Option<(u32, usize)> {
    if raw.first() != Some(&'\\') {
        return None;
    }
    let us = raw[1..].iter().take_while(|&&c| c == 'u').count();
    let hex = raw.get(1 + us..1 + us + 4).filter(|_| us > 0)?;
    let value = hex
        .iter()
        .try_fold(0, |v, c| Some(v * 16 + c.to_digit(16)?))?;
    Some((value, 1 + us + 4))
}

/// `Character.isIdentifierIgnorable`: ISO controls that are not white
/// space, and the format characters (general category Cf) of Unicode 13,
/// Java 17's version.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{e}'..='\u{1b}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{8e2}'
        | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{13438}'
        | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}' | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(source: &str) -> String {
        Translated::new(source).text
    }

    #[test]
    fn escapes_are_translated_as_javac_does() {
        assert_eq!(text(r"\u0052untime Run\uuu0074ime"), "Runtime Runtime");
        assert_eq!(text(r#""\u0022; x"#), "\"\"; x");
        assert_eq!(text(r"// a \u000a b"), "// a \n b");
        // After an odd number of backslashes, `\u` is not an escape.
        assert_eq!(text(r#""\\u0022" \\\u0041"#), r#""\\u0022" \\A"#);
        // A backslash made by an escape starts nothing.
        assert_eq!(text(r"\u005cu0041"), r"\u0041");
        // Not escapes: no `u`, short or non-hex digits.
        assert_eq!(text(r"\n \u12 \u12G4"), r"\n \u12 \u12G4");
        assert_eq!(text(r"\uD835\uDC00b \uD800x"), "\u{1d400}b \u{FFFD}x");
    }

    #[test]
    fn ignorable_characters_vanish_from_names_only() {
        assert_eq!(text("Run\u{200b}time Ru\u{ad}n\u{0}x"), "Runtime Runx");
        assert_eq!(
            text(r"Run\u200Btime Run\uDB40\uDC01time"),
            "Runtime Runtime"
        );
        // Not after a name character: kept (javac rejects it or it is text).
        assert_eq!(text("' \u{200b}'"), "' \u{200b}'");
    }

    #[test]
    fn positions_map_back_to_the_original() {
        let t = Translated::new("ab\\u0063d\n  \\u0052x \\u000a y\u{200b}z");
        assert_eq!(t.text, "abcd\n  Rx \n yz");
        assert_eq!(t.original(1, 3), (1, 3)); // c, from `\u0063`
        assert_eq!(t.original(1, 4), (1, 9)); // d
        assert_eq!(t.original(2, 3), (2, 3)); // R
        assert_eq!(t.original(2, 4), (2, 9)); // x
        assert_eq!(t.original(3, 2), (2, 18)); // y, after the escaped newline
        assert_eq!(t.original(3, 3), (2, 20)); // z, after the dropped U+200B
        assert_eq!(t.original(3, 4), (2, 21)); // the end
        assert_eq!(t.original(9, 9), (2, 21));
        // CRLF and a lone CR both end lines in the original.
        let t = Translated::new("a\r\nb\rc\\u0064");
        assert_eq!(t.text, "a\r\nb\rcd");
        assert_eq!(t.original(2, 3), (3, 1)); // c: tree-sitter sees line 2
        assert_eq!(t.original(2, 4), (3, 2)); // d
    }

    #[test]
    fn plain_sources_are_not_copied_into_a_table() {
        let t = Translated::new("class A { String s = \"\\n\"; }\r\n");
        assert!(t.origin.is_empty());
        assert_eq!(t.original(3, 7), (3, 7));
    }
}
