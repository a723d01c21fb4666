//! Where a source's classes are: the file name javac demands and the class
//! the `java` launcher must start, found with one query on the Java grammar
//! (over the source as javac reads it: `class \u0041pp` declares `App`).

use std::sync::OnceLock;

use crate::rules::{segments, GRAMMAR};
use crate::unicode::Translated;
use codr_sdk::syntax::{self, Capture};

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
    /// local classes (`Main$1.class`) are not listed.
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

/// The query: type declarations and their names, the local ones (in a
/// method, initializer or constructor body, a `case`, or an anonymous or
/// enum constant class body), `public` modifiers, `static void main`
/// methods and the package.
fn query() -> &'static str {
    static QUERY: OnceLock<String> = OnceLock::new();
    QUERY.get_or_init(|| {
        let kinds = [
            "class_declaration",
            "interface_declaration",
            "enum_declaration",
            "record_declaration",
            "annotation_type_declaration",
        ];
        let named: Vec<String> = kinds
            .iter()
            .map(|k| format!("({k} name: (identifier) @name)"))
            .collect();
        let types = format!("[{}]", kinds.map(|k| format!("({k})")).join(" "));
        let local = ["block", "constructor_body", "switch_block_statement_group"]
            .map(|parent| format!("({parent} {types} @local)"))
            .join("\n");
        let anonymous = ["object_creation_expression", "enum_constant"]
            .map(|parent| format!("({parent} (class_body {types} @local))"))
            .join("\n");
        format!(
            "(package_declaration [(scoped_identifier) (identifier)] @package)
[{}] @type
{local}
{anonymous}
(modifiers \"public\" @public)
((method_declaration (modifiers \"static\") type: (void_type) name: (identifier) @main) (#eq? @main \"main\"))",
            named.join(" ")
        )
    })
}

/// A named type declared outside any method body.
#[derive(Debug, Clone)]
struct Declared {
    /// Binary name without the package.
    binary: String,
    top_level: String,
    public_top_level: bool,
    /// Byte range of the declaration.
    range: (u32, u32),
}

/// Finds the package, the file's class and the main class of `source`
/// (all [`DEFAULT_CLASS`] if the grammar cannot be queried).
pub fn layout(source: &str) -> Layout {
    let translated = Translated::new(source);
    let captures = syntax::query(GRAMMAR, &translated.text, query()).unwrap_or_default();
    let named = |name: &'static str| captures.iter().filter(move |c| c.name == name);
    let within = |c: &Capture, (start, end): (u32, u32)| start <= c.start_byte && c.end_byte <= end;
    let locals: Vec<(u32, u32)> = named("local").map(|c| (c.start_byte, c.end_byte)).collect();
    let mut declared: Vec<Declared> = Vec::new();
    for t in named("type").filter(|t| !locals.iter().any(|&l| within(t, l))) {
        let Some(name) = captures
            .iter()
            .find(|c| c.match_id == t.match_id && c.name == "name")
        else {
            continue;
        };
        let range = (t.start_byte, t.end_byte);
        // Declarations come in document order: the enclosing one is the
        // last earlier one that contains this one.
        let declared_type = match declared.iter().rev().find(|d| within(t, d.range)) {
            Some(outer) => Declared {
                binary: format!("{}${}", outer.binary, name.text),
                range,
                ..outer.clone()
            },
            None => Declared {
                binary: name.text.clone(),
                top_level: name.text.clone(),
                // Its own modifiers come before its name.
                public_top_level: named("public")
                    .any(|p| t.start_byte <= p.start_byte && p.end_byte <= name.start_byte),
                range,
            },
        };
        declared.push(declared_type);
    }
    let mains: Vec<Declared> = named("main")
        .filter_map(|m| declared.iter().rev().find(|d| within(m, d.range)).cloned())
        .collect();
    let package = named("package")
        .next()
        .and_then(|p| segments(&p.text))
        .map(|s| s.join("."));
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
