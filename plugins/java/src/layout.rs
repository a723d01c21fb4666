//! Where a source's classes are: the file name javac demands and the class
//! the `java` launcher must start, found from the tokens.

use crate::lexer::{tokenize, Token, TokenKind};

/// The name used when a source declares no public type and no `main`.
pub const DEFAULT_CLASS: &str = "Main";

/// What the plan needs to know about a source's classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The `package` declaration, if any (`com.example`).
    pub package: Option<String>,
    /// The source file's name without `.java`: the first public top-level
    /// type (javac requires the file to be named after it); else the
    /// top-level type holding `main`; else [`DEFAULT_CLASS`].
    pub file_class: String,
    /// The binary name (`Outer$Inner`, without the package) of the type
    /// that declares `static void main`, preferring one inside the public
    /// type; else `file_class`.
    pub main_class: String,
    /// Binary names (without the package) of every named type declared
    /// outside method bodies: each becomes a `.class` file. Anonymous and
    /// local classes (`Main$1.class`) cannot be listed from tokens.
    pub classes: Vec<String>,
}

impl Layout {
    /// The name to give the `java` launcher: `pkg.Main` or `Main`.
    pub fn launch_name(&self) -> String {
        self.qualify(&self.main_class, ".")
    }

    /// Class files javac writes for the named types, relative to the
    /// output directory (`com/example/Main.class`).
    pub fn class_files(&self) -> Vec<String> {
        self.classes
            .iter()
            .map(|c| format!("{}.class", self.qualify(c, "/")))
            .collect()
    }

    fn qualify(&self, class: &str, separator: &str) -> String {
        match &self.package {
            Some(package) => format!("{}{separator}{class}", package.replace('.', separator)),
            None => class.to_string(),
        }
    }
}

/// A type declaration seen in the source.
#[derive(Debug, Clone)]
struct Declared {
    /// Binary name without the package.
    binary: String,
    top_level: String,
    public_top_level: bool,
}

/// One open `{`: the type whose body it opens, if it opens one.
struct Open {
    declared: Option<Declared>,
    /// Whether this brace is inside a method or initializer body (or any
    /// brace that is not a type body), where named classes are local.
    local: bool,
}

/// Finds the package, the file's class and the main class of `source`.
pub fn layout(source: &str) -> Layout {
    let tokens = tokenize(source);
    let mut package = None;
    let mut stack: Vec<Open> = Vec::new();
    let mut pending: Option<Declared> = None;
    let mut declared: Vec<Declared> = Vec::new();
    let mut mains: Vec<Declared> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_punct("{") {
            let local = stack
                .last()
                .is_some_and(|o| o.local || o.declared.is_none());
            let opened = pending.take().filter(|_| !local);
            stack.push(Open {
                local: local || (opened.is_none() && !stack.is_empty()),
                declared: opened,
            });
        } else if token.is_punct("}") {
            stack.pop();
        } else if token.is_word("package") && stack.is_empty() && package.is_none() {
            package = Some(dotted_name(&tokens[i + 1..]));
        } else if let Some(name) = type_declaration(&tokens, i) {
            let enclosing = stack.iter().rev().find_map(|o| o.declared.clone());
            let d = match enclosing {
                Some(outer) => Declared {
                    binary: format!("{}${name}", outer.binary),
                    ..outer
                },
                None => Declared {
                    binary: name.clone(),
                    top_level: name.clone(),
                    public_top_level: has_public_modifier(&tokens, i),
                },
            };
            let in_local = stack.last().is_some_and(|o| o.local);
            if !in_local {
                declared.push(d.clone());
            }
            pending = Some(d);
        } else if is_static_main(&tokens, i) {
            if let Some(owner) = stack.iter().rev().find_map(|o| o.declared.clone()) {
                mains.push(owner);
            }
        }
    }
    decide(package, declared, mains)
}

fn decide(package: Option<String>, declared: Vec<Declared>, mains: Vec<Declared>) -> Layout {
    let public = declared
        .iter()
        .find(|d| d.public_top_level && !d.binary.contains('$'));
    let main = mains
        .iter()
        .find(|m| public.is_some_and(|p| p.top_level == m.top_level))
        .or(mains.first());
    let file_class = public
        .map(|p| p.top_level.clone())
        .or_else(|| main.map(|m| m.top_level.clone()))
        .unwrap_or_else(|| DEFAULT_CLASS.to_string());
    let main_class = main.map_or_else(|| file_class.clone(), |m| m.binary.clone());
    let mut classes: Vec<String> = declared.into_iter().map(|d| d.binary).collect();
    classes.dedup();
    Layout {
        package,
        file_class,
        main_class,
        classes,
    }
}

/// `a.b.c` from the start of `tokens` up to the first token that is
/// neither a word nor a dot.
fn dotted_name(tokens: &[Token]) -> String {
    tokens
        .iter()
        .take_while(|t| t.kind == TokenKind::Word || t.is_punct("."))
        .map(|t| t.text.as_str())
        .collect()
}

/// The declared name if token `i` is `class|interface|enum|record` starting
/// a type declaration (followed by its name, and for `class` not part of
/// `Foo.class`).
fn type_declaration(tokens: &[Token], i: usize) -> Option<String> {
    let keyword = &tokens[i];
    let is_keyword = ["class", "interface", "enum", "record"]
        .iter()
        .any(|k| keyword.is_word(k));
    if !is_keyword || (i > 0 && tokens[i - 1].is_punct(".")) {
        return None;
    }
    let name = tokens.get(i + 1).filter(|t| t.kind == TokenKind::Word)?;
    // `record` is only a keyword before a name and a `(` or type parameters.
    if keyword.is_word("record") {
        let next = tokens.get(i + 2)?;
        if !(next.is_punct("(") || next.is_punct("<")) {
            return None;
        }
    }
    Some(name.text.clone())
}

/// Whether the declaration whose keyword is at `i` has the `public`
/// modifier: looks back over modifiers and annotations to the previous
/// `;`, `{` or `}`.
fn has_public_modifier(tokens: &[Token], i: usize) -> bool {
    tokens[..i]
        .iter()
        .rev()
        .take_while(|t| !(t.is_punct(";") || t.is_punct("{") || t.is_punct("}")))
        .any(|t| t.is_word("public"))
}

/// Whether token `i` is the name of `static ... void main(` (a declaration:
/// `void` right before, `static` among the modifiers).
fn is_static_main(tokens: &[Token], i: usize) -> bool {
    let declares = tokens[i].is_word("main")
        && i > 0
        && tokens[i - 1].is_word("void")
        && tokens.get(i + 1).is_some_and(|t| t.is_punct("("));
    declares
        && tokens[..i - 1]
            .iter()
            .rev()
            .take_while(|t| !(t.is_punct(";") || t.is_punct("{") || t.is_punct("}")))
            .any(|t| t.is_word("static"))
}
