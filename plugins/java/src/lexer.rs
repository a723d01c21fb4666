//! A small Java lexer: enough of JLS chapter 3 to tell code from literals and
//! comments, so that rules only ever look at code.
//!
//! It follows javac where a difference could hide code from the rules:
//! - Unicode escapes (`\u0041`, `\uuu0041`) are translated *before* lexing,
//!   exactly as javac does (JLS 3.3): `"\u0022 + x + \u0022"` is code, and a
//!   `\u000a` inside a `//` comment ends the comment.
//! - Identifiers may contain "ignorable" characters (ISO controls such as
//!   U+0000, format characters such as U+200B ZERO WIDTH SPACE) that javac
//!   drops when it compares names (JLS 3.8): `Run\u200Btime` *is* `Runtime`.
//!   [`Token::text`] is the name with those characters removed.
//! - Any non-ASCII character outside a literal or comment is lexed as part of
//!   an identifier (Java has no other non-ASCII tokens), so nothing non-ASCII
//!   can split a name in two.
//!
//! It is a lexer, not a parser: malformed input (an unterminated string, a
//! bad escape) is lexed leniently and left for javac to reject.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An identifier or a keyword (`class`, `record`, `Runtime`).
    Word,
    /// A string literal `"..."`.
    Str,
    /// A text block `"""..."""`.
    TextBlock,
    /// A character literal `'x'`.
    Char,
    /// A numeric literal.
    Number,
    /// An operator or separator: one character, or `::`, `->`, `...`.
    Punct,
}

/// One token with its position in the original source (before Unicode
/// escapes were translated). Lines and columns are 1-based; columns count
/// Unicode scalar values; `end_*` points just past the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// For words: the name as javac compares it (escapes translated,
    /// ignorable characters removed). For other tokens: the translated text.
    pub text: String,
    /// Line of the first character.
    pub line: u32,
    /// Column of the first character.
    pub column: u32,
    /// Line just past the last character.
    pub end_line: u32,
    /// Column just past the last character.
    pub end_column: u32,
}

impl Token {
    /// Whether this is a word (identifier or keyword) spelled `word`.
    pub fn is_word(&self, word: &str) -> bool {
        self.kind == TokenKind::Word && self.text == word
    }

    /// Whether this is the operator or separator `punct`.
    pub fn is_punct(&self, punct: &str) -> bool {
        self.kind == TokenKind::Punct && self.text == punct
    }
}

/// One character after Unicode-escape translation, with the original
/// position of its first source character. It ends where the next one
/// starts (escapes never span lines).
#[derive(Debug, Clone, Copy)]
struct Ch {
    c: char,
    line: u32,
    column: u32,
}

/// Tokens of `source` in order; whitespace and comments are dropped.
pub fn tokenize(source: &str) -> Vec<Token> {
    let (chars, end) = translate_escapes(source);
    Lexer {
        tokens: Vec::with_capacity(chars.len() / 4),
        chars,
        end,
        pos: 0,
    }
    .run()
}

/// Translates Unicode escapes as javac does (JLS 3.3) and records where each
/// resulting character came from; also returns the position of the end.
/// Line terminators are `\n`, `\r` and `\r\n` (JLS 3.4).
fn translate_escapes(source: &str) -> (Vec<Ch>, (u32, u32)) {
    let raw: Vec<char> = source.chars().collect();
    let mut out = Vec::with_capacity(raw.len());
    let (mut line, mut column) = (1u32, 1u32);
    let mut i = 0;
    // Whether an odd number of raw backslashes come just before `i`: a `\`
    // starts an escape only after an even number (`\\u0041` is not one).
    let mut odd_backslashes = false;
    while i < raw.len() {
        if raw[i] == '\\' && !odd_backslashes {
            if let Some((c, len)) = escaped_char(&raw[i..]) {
                out.push(Ch { c, line, column });
                column += len as u32;
                i += len;
                continue;
            }
        }
        let c = raw[i];
        odd_backslashes = c == '\\' && !odd_backslashes;
        out.push(Ch { c, line, column });
        let ends_line = c == '\n' || (c == '\r' && raw.get(i + 1) != Some(&'\n'));
        if ends_line {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
        i += 1;
    }
    (out, (line, column))
}

/// The character and raw length of the escape at the start of `raw`, if
/// there is one. Two escapes forming a surrogate pair (`\uD835\uDC00`) make
/// one character, as in javac.
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
    // A lone surrogate cannot be a Rust char; javac rejects it outside
    // literals, and inside one a stand-in keeps the lexing right.
    Some((
        char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER),
        len,
    ))
}

/// The code unit and raw length of the escape `\u+XXXX` at the start of
/// `raw`, if there is one.
fn unicode_escape(raw: &[char]) -> Option<(u32, usize)> {
    if raw.first() != Some(&'\\') {
        return None;
    }
    let us = raw.iter().skip(1).take_while(|&&c| c == 'u').count();
    if us == 0 {
        return None;
    }
    let hex: String = raw.get(1 + us..1 + us + 4)?.iter().collect();
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let value = u32::from_str_radix(&hex, 16).ok()?;
    Some((value, 1 + us + 4))
}

/// Characters javac ignores when comparing identifiers (JLS 3.8,
/// `Character.isIdentifierIgnorable`): ISO controls other than whitespace,
/// and format characters. Dropping every character that is not a letter, a
/// digit, `$` or `_` is a superset of that rule: it can only make two names
/// look equal to the rules that javac keeps apart, never the reverse.
fn keep_in_name(c: char) -> bool {
    c.is_alphanumeric() || c == '$' || c == '_'
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '$' || c == '_' || !c.is_ascii() || is_ignorable_control(c)
}

fn is_word_part(c: char) -> bool {
    is_word_start(c) || c.is_ascii_digit()
}

/// ASCII controls javac treats as ignorable identifier parts.
fn is_ignorable_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{e}'..='\u{1b}' | '\u{7f}')
}

fn is_java_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}' | '\n' | '\r')
}

struct Lexer {
    chars: Vec<Ch>,
    /// Position just past the last character.
    end: (u32, u32),
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer {
    fn run(mut self) -> Vec<Token> {
        while let Some(c) = self.peek(0) {
            let start = self.pos;
            match c {
                c if is_java_whitespace(c) => self.pos += 1,
                // Ctrl-Z may end a file (JLS 3.5).
                '\u{1a}' => self.pos += 1,
                '/' if self.peek(1) == Some('/') => self.line_comment(),
                '/' if self.peek(1) == Some('*') => self.block_comment(),
                '"' if self.peek(1) == Some('"') && self.peek(2) == Some('"') => {
                    self.text_block();
                    self.push(TokenKind::TextBlock, start);
                }
                '"' => {
                    self.quoted('"');
                    self.push(TokenKind::Str, start);
                }
                '\'' => {
                    self.quoted('\'');
                    self.push(TokenKind::Char, start);
                }
                c if c.is_ascii_digit() => {
                    self.number();
                    self.push(TokenKind::Number, start);
                }
                '.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => {
                    self.number();
                    self.push(TokenKind::Number, start);
                }
                c if is_word_start(c) => {
                    while self.peek(0).is_some_and(is_word_part) {
                        self.pos += 1;
                    }
                    self.push(TokenKind::Word, start);
                }
                _ => {
                    self.pos += self.punct_len();
                    self.push(TokenKind::Punct, start);
                }
            }
        }
        self.tokens
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|ch| ch.c)
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        let chars = &self.chars[start..self.pos];
        let mut text = String::with_capacity(chars.len());
        for ch in chars {
            if kind != TokenKind::Word || keep_in_name(ch.c) {
                text.push(ch.c);
            }
        }
        let (end_line, end_column) = self
            .chars
            .get(self.pos)
            .map_or(self.end, |next| (next.line, next.column));
        self.tokens.push(Token {
            kind,
            text,
            line: chars[0].line,
            column: chars[0].column,
            end_line,
            end_column,
        });
    }

    fn line_comment(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n' && c != '\r') {
            self.pos += 1;
        }
    }

    fn block_comment(&mut self) {
        self.pos += 2;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if c == '*' && self.peek(0) == Some('/') {
                self.pos += 1;
                return;
            }
        }
    }

    /// A string or char literal; stops at the closing quote or, leniently,
    /// at the end of the line (javac rejects that).
    fn quoted(&mut self, quote: char) {
        self.pos += 1;
        while let Some(c) = self.peek(0) {
            match c {
                '\n' | '\r' => return,
                '\\' => self.pos += 2,
                c if c == quote => {
                    self.pos += 1;
                    return;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.chars.len());
    }

    /// A text block: `"""`, then anything (escapes included) up to the next
    /// unescaped `"""`.
    fn text_block(&mut self) {
        self.pos += 3;
        while let Some(c) = self.peek(0) {
            if c == '\\' {
                self.pos += 2;
            } else if c == '"' && self.peek(1) == Some('"') && self.peek(2) == Some('"') {
                self.pos += 3;
                return;
            } else {
                self.pos += 1;
            }
        }
        self.pos = self.pos.min(self.chars.len());
    }

    /// A numeric literal, leniently: digits, letters, `_`, `.` and an
    /// exponent's sign (`1e-9`, `0x1p+3`).
    fn number(&mut self) {
        while let Some(c) = self.peek(0) {
            let exponent_sign = (c == '+' || c == '-')
                && self.pos > 0
                && matches!(self.chars[self.pos - 1].c, 'e' | 'E' | 'p' | 'P')
                && self.exponent_allowed();
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign {
                self.pos += 1;
            } else {
                return;
            }
        }
    }

    /// Whether an `e`/`E` just read is an exponent: not inside a hex literal
    /// (where `e` is a digit and only `p` marks an exponent).
    fn exponent_allowed(&self) -> bool {
        let start = self.chars[..self.pos]
            .iter()
            .rposition(|ch| !(ch.c.is_ascii_alphanumeric() || ch.c == '_' || ch.c == '.'))
            .map_or(0, |p| p + 1);
        let literal: String = self.chars[start..self.pos].iter().map(|ch| ch.c).collect();
        let hex = literal.starts_with("0x") || literal.starts_with("0X");
        let last = self.chars[self.pos - 1].c;
        if hex {
            matches!(last, 'p' | 'P')
        } else {
            matches!(last, 'e' | 'E')
        }
    }

    fn punct_len(&self) -> usize {
        match (self.peek(0), self.peek(1), self.peek(2)) {
            (Some('.'), Some('.'), Some('.')) => 3,
            (Some(':'), Some(':'), _) | (Some('-'), Some('>'), _) => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_and_texts(source: &str) -> Vec<(TokenKind, String)> {
        tokenize(source)
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    fn words(source: &str) -> Vec<String> {
        tokenize(source)
            .into_iter()
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn words_numbers_and_punctuation() {
        use TokenKind::*;
        assert_eq!(
            kinds_and_texts("int x = 0x1F + 1_000L + 3.5e-2f;"),
            vec![
                (Word, "int".into()),
                (Word, "x".into()),
                (Punct, "=".into()),
                (Number, "0x1F".into()),
                (Punct, "+".into()),
                (Number, "1_000L".into()),
                (Punct, "+".into()),
                (Number, "3.5e-2f".into()),
                (Punct, ";".into()),
            ]
        );
        assert_eq!(
            kinds_and_texts("a::b -> c... .5 0xAe-1"),
            vec![
                (Word, "a".into()),
                (Punct, "::".into()),
                (Word, "b".into()),
                (Punct, "->".into()),
                (Word, "c".into()),
                (Punct, "...".into()),
                (Number, ".5".into()),
                // In hex, `e` is a digit: `0xAe - 1` is a subtraction.
                (Number, "0xAe".into()),
                (Punct, "-".into()),
                (Number, "1".into()),
            ]
        );
    }

    #[test]
    fn strings_and_chars_hide_their_content() {
        let source =
            r#"String s = "Runtime.getRuntime() \" still inside"; char c = '\''; char d = '"';"#;
        assert_eq!(words(source), vec!["String", "s", "char", "c", "char", "d"]);
        let kinds: Vec<TokenKind> = tokenize(source).iter().map(|t| t.kind).collect();
        assert_eq!(kinds.iter().filter(|&&k| k == TokenKind::Str).count(), 1);
        assert_eq!(kinds.iter().filter(|&&k| k == TokenKind::Char).count(), 2);
    }

    #[test]
    fn text_blocks_hide_their_content() {
        let source = "String t = \"\"\"\n    Runtime.exec(\"x\") \\\"\"\" still\n    \"\" inside\n    \"\"\"; int after;";
        assert_eq!(words(source), vec!["String", "t", "int", "after"]);
        let block = tokenize(source)
            .into_iter()
            .find(|t| t.kind == TokenKind::TextBlock)
            .unwrap();
        assert_eq!(
            (block.line, block.column, block.end_line, block.end_column),
            (1, 12, 4, 8)
        );
    }

    #[test]
    fn comments_are_dropped() {
        let source = "a // Runtime.exec\nb /* ProcessBuilder\n * native */ c /**/ d";
        assert_eq!(words(source), vec!["a", "b", "c", "d"]);
        // `/*` inside a string is not a comment, and `//` inside a block
        // comment does not hide the end of it.
        assert_eq!(words("x = \"/*\"; y /* // */ z"), vec!["x", "y", "z"]);
    }

    #[test]
    fn unicode_escapes_are_translated_before_lexing() {
        // An escaped quote closes the string: the call is code.
        let source = r#"String s = "\u0022; Runtime.getRuntime(); \u0022";"#;
        assert!(words(source).contains(&"Runtime".to_string()));
        // An escaped newline ends a line comment.
        assert_eq!(words(r"// hidden? \u000a Runtime"), vec!["Runtime"]);
        // Escapes inside names, with any number of `u`s.
        assert_eq!(
            words(r"\u0052untime Run\uuu0074ime"),
            vec!["Runtime", "Runtime"]
        );
        // `\\u0041` is a backslash followed by `u0041`, not an escape.
        let toks = tokenize(r#""\\u0022" x"#);
        assert_eq!(toks[0].kind, TokenKind::Str);
        assert_eq!(toks[1].text, "x");
        // Positions refer to the original text.
        let t = &tokenize(r"  \u0052untime")[0];
        assert_eq!((t.line, t.column, t.end_line, t.end_column), (1, 3, 1, 15));
    }

    #[test]
    fn surrogate_pair_escapes_make_one_character() {
        assert_eq!(words(r"\uD835\uDC00b"), vec!["\u{1d400}b"]);
        // U+E0001, a format character, as a pair: javac 17 keeps it in the
        // name, the rules drop it (they may only see more names as equal).
        assert_eq!(words(r"Run\uDB40\uDC01time"), vec!["Runtime"]);
        let t = &tokenize(r"\uD835\uDC00 x")[0];
        assert_eq!((t.column, t.end_column), (1, 13));
    }

    #[test]
    fn ignorable_characters_do_not_split_or_disguise_names() {
        assert_eq!(
            words("Run\u{200b}time Run\u{0}time Ru\u{ad}ntime"),
            vec!["Runtime"; 3]
        );
        assert_eq!(words(r"Run\u200Btime"), vec!["Runtime"]);
    }

    #[test]
    fn unicode_names_and_positions() {
        let toks = tokenize("var é = \"ü\";\n  int Größe = 1;");
        assert_eq!(toks[1].text, "é");
        let grosse = toks.iter().find(|t| t.text == "Größe").unwrap();
        assert_eq!((grosse.line, grosse.column, grosse.end_column), (2, 7, 12));
        // CRLF and lone CR both end lines.
        let toks = tokenize("a\r\nb\rc");
        let lines: Vec<u32> = toks.iter().map(|t| t.line).collect();
        assert_eq!(lines, vec![1, 2, 3]);
    }

    #[test]
    fn unterminated_literals_are_lexed_leniently() {
        assert_eq!(words("\"open\nRuntime"), vec!["Runtime"]);
        assert_eq!(words("/* open Runtime"), Vec::<String>::new());
        assert_eq!(words("\"\"\" open Runtime"), Vec::<String>::new());
        assert!(tokenize("'\\").len() == 1);
    }
}
