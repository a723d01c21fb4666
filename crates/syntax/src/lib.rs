//! Native tree-sitter parsing and queries for codr.
//!
//! This is the host side of the WIT `syntax` import: a plugin hands over a
//! source and a query, and gets back every capture in one call, so the heavy
//! lifting (parsing, query matching, text predicates) stays native.
//!
//! ```
//! let engine = codr_syntax::Engine::new();
//! let caps = engine
//!     .query("python", "import os\n", "(import_statement) @hit")
//!     .unwrap();
//! assert_eq!(caps[0].text, "import os");
//! assert_eq!((caps[0].start_line, caps[0].start_column), (1, 1));
//! ```

#![deny(missing_docs)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tree_sitter::{Language, Parser, Query, Tree};

mod cache;
mod dispatch;
mod prefilter;
mod raw;
mod shipped;
mod walk;
pub mod worker;

use cache::{Compiled, Plan, QueryCache, ResultCache, ResultKey};
use walk::{collect_errors, run_matches, run_query, to_captures};

pub use worker::{GrammarWorkers, WorkerCommand, WorkerLimits};

/// Names of the grammars every [`Engine`] knows, in a stable order (each
/// behind the cargo feature of its name; all five by default).
const GRAMMARS: &[&str] = &[
    #[cfg(feature = "python")]
    "python",
    #[cfg(feature = "javascript")]
    "javascript",
    #[cfg(feature = "c")]
    "c",
    #[cfg(feature = "cpp")]
    "cpp",
    #[cfg(feature = "rust")]
    "rust",
];

/// How many compiled queries an engine keeps. Plugins send a handful of
/// distinct queries (one per rule set), so this is generous; the bound only
/// protects the host from a plugin that generates endless distinct queries.
const QUERY_CACHE_CAPACITY: usize = 256;

/// The longest query text an engine compiles. Tree-sitter's compile time
/// grows faster than the text (timed once here, not a benchmark: 64 KiB of structural patterns
/// 1.1 s, 400 KiB of simple ones 2 s, 1.6 MiB 45 s), it runs in the host
/// outside any plugin deadline, and a plugin's rule queries are a few KB
/// (JavaScript's, the longest, 9.5): past this a query is refused, so one
/// call cannot hold a host thread much longer than a plugin call may run.
pub const MAX_QUERY_BYTES: usize = 64 << 10;

/// The deepest nesting of parentheses and brackets an engine compiles.
/// Tree-sitter reads a query recursively: a 20 KB query of nested
/// alternations (`[[[...]]]`, 10000 levels) overflowed a 2 MiB thread
/// stack here and aborted the process (measured once, not a benchmark).
/// The plugins' rules nest at most a few levels.
pub const MAX_QUERY_DEPTH: usize = 100;

/// Where `text` first nests deeper than [`MAX_QUERY_DEPTH`] (1-based row
/// and column in bytes), counting parentheses and brackets outside string
/// literals and comments.
fn too_deep(text: &str) -> Option<(u32, u32)> {
    let (mut depth, mut row, mut line_start) = (0usize, 1u32, 0usize);
    let (mut in_string, mut in_comment, mut escaped) = (false, false, false);
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            b'\n' => {
                row += 1;
                line_start = i + 1;
                in_comment = false;
            }
            _ if in_comment => {}
            _ if in_string => {
                in_string = escaped || byte != b'"';
                escaped = !escaped && byte == b'\\';
            }
            b'"' => in_string = true,
            b';' => in_comment = true,
            b'(' | b'[' => {
                depth += 1;
                if depth > MAX_QUERY_DEPTH {
                    return Some((row, (i - line_start + 1) as u32));
                }
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// How many recent query results an engine keeps. Validation is often
/// repeated on the very same source (a batch runs one program against many
/// inputs, a learner resubmits unchanged code), and a 10 KB source costs
/// milliseconds to parse and match but microseconds to compare.
const RESULT_CACHE_CAPACITY: usize = 32;

/// Sources (plus their capture texts) larger than this are not kept in the
/// result cache, which bounds it at about `RESULT_CACHE_CAPACITY` MiB.
const RESULT_CACHE_MAX_ENTRY_BYTES: usize = 1 << 20;

/// The names of the grammars built into every [`Engine`]. Others can be
/// loaded from WebAssembly ([`Engine::load_wasm_grammar`]).
pub fn grammars() -> &'static [&'static str] {
    GRAMMARS
}

/// What can go wrong when parsing or querying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum SyntaxError {
    /// The grammar name is neither one of [`grammars()`] nor a loaded one.
    #[error("unknown grammar '{0}' (built-in grammars: {known})", known = GRAMMARS.join(", "))]
    UnknownGrammar(String),
    /// A grammar shipped as WebAssembly could not be loaded, or failed while
    /// parsing (trapped, ran out of time or memory).
    #[error("grammar '{grammar}': {message}")]
    Grammar {
        /// The grammar's name.
        grammar: String,
        /// What went wrong.
        message: String,
    },
    /// The query does not compile; `row` and `column` are 1-based positions
    /// in the query text.
    #[error("invalid query at row {row}, column {column}: {message}")]
    BadQuery {
        /// What tree-sitter reported (kind and offending text).
        message: String,
        /// 1-based line of the query text.
        row: u32,
        /// 1-based column (bytes) of the query text.
        column: u32,
    },
    /// The parser gave no tree (cancelled or misconfigured).
    #[error("parse failed: {0}")]
    Parse(String),
    /// A parse or a match ran past the caller's deadline and was stopped
    /// ([`Answers::query_until`]).
    #[error("grammar '{0}': the source took longer to parse and query than the call had left, and was stopped")]
    OutOfTime(String),
}

/// What answers a plugin's syntax calls within a time budget: the
/// [`Engine`] in this process, or [`GrammarWorkers`] for shipped grammars in
/// theirs. Nothing partial is ever returned: work still running at the
/// deadline is stopped and the answer is an error.
pub trait Answers {
    /// `Engine::query` that gives up at `deadline` (in process:
    /// [`SyntaxError::OutOfTime`]).
    fn query_until(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
        deadline: Instant,
    ) -> Result<Vec<Capture>, SyntaxError>;

    /// `Engine::syntax_errors` that gives up at `deadline`.
    fn syntax_errors_until(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
        deadline: Instant,
    ) -> Result<Vec<ErrorSpan>, SyntaxError>;
}

/// One captured node of one match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Capture {
    /// Capture name without the `@`.
    pub name: String,
    /// Index of the pattern (in the query text) that matched.
    pub pattern: u32,
    /// Number of the match (0, 1, ... in the order the query produced them);
    /// captures of one match share it.
    pub match_id: u32,
    /// Node kind, such as `import_statement`.
    pub kind: String,
    /// Source text of the node.
    pub text: String,
    /// Byte offset of the node's start.
    pub start_byte: u32,
    /// Byte offset just past the node's end.
    pub end_byte: u32,
    /// 1-based line of the start.
    pub start_line: u32,
    /// 1-based column of the start, in Unicode scalar values.
    pub start_column: u32,
    /// 1-based line of the end.
    pub end_line: u32,
    /// 1-based column just past the end, in Unicode scalar values.
    pub end_column: u32,
}

/// A syntax-error position: (line, column, end line, end column), 1-based,
/// columns in Unicode scalar values.
pub type ErrorSpan = (u32, u32, u32, u32);

/// Where the time of one [`Engine::query_profiled`] call went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryProfile {
    /// Tree-sitter parsing the source (the tree is freed outside this span).
    pub parse: Duration,
    /// The query cursor walking the tree, text predicates included.
    pub matching: Duration,
    /// Building the capture structs (text copies, char columns) and sorting.
    pub captures: Duration,
    /// The whole call, query lookup included.
    pub total: Duration,
    /// How many captures the call returned.
    pub capture_count: usize,
}

/// Parses sources and runs queries for the known grammars.
///
/// Cheap to share: it is `Send + Sync`, compiled queries are cached inside
/// (bounded), and parsers are reused per thread.
pub struct Engine {
    languages: HashMap<&'static str, Language>,
    /// Grammars loaded from WebAssembly, by name.
    shipped: shipped::Shipped,
    cache: Mutex<QueryCache>,
    results: Mutex<ResultCache>,
    /// The last few trees, by grammar and source: a plugin usually runs
    /// several queries (and a syntax-error check) on one source, and each
    /// would parse it again.
    trees: Mutex<Vec<(GrammarKey, String, Tree)>>,
    /// Trees evicted from `trees` but not freed yet, when frees are
    /// deferred ([`Engine::defer_frees`]): freeing a 10 KB program's tree
    /// costs a few hundred microseconds that a grammar worker spends after
    /// it has answered instead of before.
    retired: Option<Mutex<Vec<Tree>>>,
    /// Whether queries start only where their patterns can
    /// ([`crate::dispatch`]); off, every query walks the whole tree.
    dispatch: bool,
}

/// How many parsed sources an engine keeps (a few concurrent validations).
const TREE_CACHE_CAPACITY: usize = 4;

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("grammars", &GRAMMARS)
            .field("shipped", &self.shipped.names())
            .field("cached_queries", &self.cached_queries())
            .finish()
    }
}

impl Engine {
    /// An engine with the built-in grammars (the five, unless features left
    /// some out).
    pub fn new() -> Self {
        let languages = [
            #[cfg(feature = "python")]
            ("python", Language::new(tree_sitter_python::LANGUAGE)),
            #[cfg(feature = "javascript")]
            (
                "javascript",
                Language::new(tree_sitter_javascript::LANGUAGE),
            ),
            #[cfg(feature = "c")]
            ("c", Language::new(tree_sitter_c::LANGUAGE)),
            #[cfg(feature = "cpp")]
            ("cpp", Language::new(tree_sitter_cpp::LANGUAGE)),
            #[cfg(feature = "rust")]
            ("rust", Language::new(tree_sitter_rust::LANGUAGE)),
        ]
        .into_iter()
        .collect::<HashMap<&'static str, Language>>();
        Self {
            languages,
            shipped: shipped::Shipped::default(),
            cache: Mutex::new(QueryCache::default()),
            results: Mutex::new(ResultCache::default()),
            trees: Mutex::new(Vec::new()),
            retired: None,
            dispatch: true,
        }
    }

    /// This engine runs every query in one walk of the whole tree, as
    /// tree-sitter's query cursor does, instead of starting it only at the
    /// nodes where its patterns can start: the same captures, for
    /// benchmarks and tests that compare the two.
    pub fn walk_whole_tree(mut self) -> Self {
        self.dispatch = false;
        self
    }

    /// The plan to run `compiled` on `source` with.
    fn plan(&self, compiled: &Compiled, source: &str) -> Plan {
        let mut plan = compiled.for_source(source);
        if !self.dispatch {
            plan.dispatch = None;
        }
        plan
    }

    /// This engine keeps the trees it evicts from its tree cache until
    /// [`Engine::take_retired`], so a caller that answers someone (a grammar
    /// worker) frees them once the answer is on its way.
    pub(crate) fn defer_frees(mut self) -> Self {
        self.retired = Some(Mutex::new(Vec::new()));
        self
    }

    /// The trees retired since the last call (see [`Engine::defer_frees`]),
    /// for the caller to free.
    pub(crate) fn take_retired(&self) -> Vec<Tree> {
        self.retired
            .as_ref()
            .map(|retired| std::mem::take(&mut *lock(retired)))
            .unwrap_or_default()
    }

    /// Parses `source` with `grammar`, runs `query` with its text predicates
    /// (`#eq?`, `#not-eq?`, `#match?`, `#not-match?`, `#any-of?`, ...) applied
    /// and returns every capture of every match, sorted by start position
    /// (ties: the outer node first, then by pattern and capture; matches
    /// are numbered in that order).
    ///
    /// The results of the last few calls are kept: asking again with the
    /// same grammar, query and source returns a copy without parsing.
    pub fn query(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
    ) -> Result<Vec<Capture>, SyntaxError> {
        self.query_by(grammar, source, query, None)
    }

    fn query_by(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
        deadline: Option<Instant>,
    ) -> Result<Vec<Capture>, SyntaxError> {
        let grammar = self.grammar(grammar)?;
        let compiled = self.compiled(&grammar, query)?;
        let key = ResultKey::new(&compiled, source);
        if let Some(hit) = lock(&self.results).get(&key, source) {
            return Ok(hit);
        }
        let tree = self.tree(&grammar, source, deadline)?;
        let captures = run_query(&self.plan(&compiled, source), &tree, source, deadline)
            .ok_or_else(|| SyntaxError::OutOfTime(grammar.key.name().to_string()))?;
        lock(&self.results).insert(key, source, &captures);
        Ok(captures)
    }

    /// [`Engine::query`] with each phase timed, for benchmarks: always parses
    /// and matches (the result cache is neither read nor filled), so the
    /// figures are those of a program the engine has never seen.
    pub fn query_profiled(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
    ) -> Result<(Vec<Capture>, QueryProfile), SyntaxError> {
        let start = Instant::now();
        let grammar = self.grammar(grammar)?;
        let compiled = self.compiled(&grammar, query)?;
        let parse_start = Instant::now();
        let tree = grammar.parse(source, None)?;
        let parse = parse_start.elapsed();
        let match_start = Instant::now();
        let plan = self.plan(&compiled, source);
        let raw = run_matches(&plan, &tree, source, None).expect("no deadline, never stopped");
        let matching = match_start.elapsed();
        let captures_start = Instant::now();
        let captures = to_captures(&plan.query, raw, source);
        let captures_time = captures_start.elapsed();
        let profile = QueryProfile {
            parse,
            matching,
            captures: captures_time,
            total: start.elapsed(),
            capture_count: captures.len(),
        };
        drop(tree);
        Ok((captures, profile))
    }

    /// Positions of syntax errors (ERROR and MISSING nodes) in `source`, at
    /// most `max` of them, in document order.
    pub fn syntax_errors(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
    ) -> Result<Vec<ErrorSpan>, SyntaxError> {
        self.syntax_errors_by(grammar, source, max, None)
    }

    fn syntax_errors_by(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
        deadline: Option<Instant>,
    ) -> Result<Vec<ErrorSpan>, SyntaxError> {
        let grammar = self.grammar(grammar)?;
        let tree = self.tree(&grammar, source, deadline)?;
        Ok(collect_errors(tree.root_node(), source, max as usize))
    }

    /// Loads a tree-sitter grammar compiled to WebAssembly (a grammar
    /// package's `tree-sitter-<lang>.wasm`) under `name`, in this process.
    /// Loading the same bytes again is free; other bytes replace the grammar.
    /// A built-in name is refused: built-in grammars always win.
    ///
    /// The grammar's code runs in this process, without a time limit: use it
    /// for grammars you trust (a plugin's own tests). The host runs shipped
    /// grammars in separate processes instead ([`GrammarWorkers`]).
    pub fn load_wasm_grammar(&self, name: &str, wasm: &[u8]) -> Result<(), SyntaxError> {
        refuse_built_in(name)?;
        self.shipped.load(name, wasm)
    }

    /// How many compiled queries are cached right now.
    pub fn cached_queries(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// `source` parsed with `grammar`, from the tree cache when it was
    /// parsed a moment ago. Sources over the result cache's entry bound are
    /// neither kept nor compared.
    fn tree(
        &self,
        grammar: &Grammar,
        source: &str,
        deadline: Option<Instant>,
    ) -> Result<Tree, SyntaxError> {
        let keep = source.len() <= RESULT_CACHE_MAX_ENTRY_BYTES;
        if keep {
            let mut trees = lock(&self.trees);
            let hit = trees
                .iter()
                .find(|(k, s, _)| *k == grammar.key && s == source);
            if let Some((_, _, tree)) = hit {
                return Ok(tree.clone());
            }
            // Make room before parsing, not after: the parse then reuses
            // the memory just freed, still in the CPU's caches (measured:
            // about 5% of a 10 KB parse and query).
            if trees.len() >= TREE_CACHE_CAPACITY {
                let (_, _, evicted) = trees.remove(0);
                match &self.retired {
                    Some(retired) => lock(retired).push(evicted),
                    None => {
                        drop(trees);
                        drop(evicted);
                    }
                }
            }
        }
        let tree = grammar.parse(source, deadline)?;
        if keep {
            let mut trees = lock(&self.trees);
            if trees.len() >= TREE_CACHE_CAPACITY {
                trees.remove(0);
            }
            trees.push((grammar.key.clone(), source.to_string(), tree.clone()));
        }
        Ok(tree)
    }

    /// A built-in grammar, else a loaded one.
    fn grammar(&self, name: &str) -> Result<Grammar, SyntaxError> {
        if let Some((name, language)) = self.languages.get_key_value(name) {
            return Ok(Grammar {
                key: GrammarKey::BuiltIn(name),
                language: language.clone(),
            });
        }
        self.shipped
            .get(name)
            .ok_or_else(|| SyntaxError::UnknownGrammar(name.to_string()))
    }

    /// The compiled query, from the cache or freshly compiled (compiling
    /// costs milliseconds; a cache hit costs a hash lookup).
    fn compiled(&self, grammar: &Grammar, text: &str) -> Result<Arc<Compiled>, SyntaxError> {
        if let Some(hit) = self.lock_cache().get(&grammar.key, text) {
            return Ok(hit);
        }
        if text.len() > MAX_QUERY_BYTES {
            return Err(SyntaxError::BadQuery {
                message: format!(
                    "the query is {} bytes; at most {MAX_QUERY_BYTES} are compiled",
                    text.len()
                ),
                row: 1,
                column: 1,
            });
        }
        if let Some((row, column)) = too_deep(text) {
            return Err(SyntaxError::BadQuery {
                message: format!("the query nests deeper than {MAX_QUERY_DEPTH} levels"),
                row,
                column,
            });
        }
        // Compile outside the lock so other threads are not held up.
        let query = Query::new(&grammar.language, text).map_err(|e| SyntaxError::BadQuery {
            message: format!("{:?}: {}", e.kind, e.message),
            row: e.row as u32 + 1,
            column: e.column as u32 + 1,
        })?;
        let query = Arc::new(Compiled::new(&grammar.language, text, query));
        self.lock_cache()
            .insert(grammar.key.clone(), text, query.clone());
        Ok(query)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, QueryCache> {
        lock(&self.cache)
    }
}

/// A parse or a match still running at the deadline is stopped (the parser
/// is reset, so the next parse starts afresh).
impl Answers for Engine {
    fn query_until(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
        deadline: Instant,
    ) -> Result<Vec<Capture>, SyntaxError> {
        self.query_by(grammar, source, query, Some(deadline))
    }

    fn syntax_errors_until(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
        deadline: Instant,
    ) -> Result<Vec<ErrorSpan>, SyntaxError> {
        self.syntax_errors_by(grammar, source, max, Some(deadline))
    }
}

/// Built-in grammars always win: a shipped grammar cannot take their names.
fn refuse_built_in(name: &str) -> Result<(), SyntaxError> {
    if GRAMMARS.contains(&name) {
        return Err(SyntaxError::Grammar {
            grammar: name.to_string(),
            message: "is built into the host and cannot be replaced".into(),
        });
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a cache inconsistent in a
    // harmful way (worst case: a missing entry), so keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which grammar: a built-in one by name, or a loaded one by name and the
/// hash of its bytes (so a replaced grammar never meets the queries and
/// parsers of the one it replaced).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GrammarKey {
    BuiltIn(&'static str),
    Shipped(Arc<str>, u64),
}

impl GrammarKey {
    fn name(&self) -> &str {
        match self {
            GrammarKey::BuiltIn(name) => name,
            GrammarKey::Shipped(name, _) => name,
        }
    }
}

/// A grammar ready to parse with.
struct Grammar {
    key: GrammarKey,
    language: Language,
}

thread_local! {
    /// One parser per grammar per thread: creating a parser allocates (for a
    /// WebAssembly grammar it also instantiates it), and `Parser` is not
    /// `Sync`.
    static PARSERS: RefCell<HashMap<GrammarKey, Parser>> = RefCell::new(HashMap::new());
}

impl Grammar {
    /// `source` parsed, or stopped at `deadline` ([`SyntaxError::OutOfTime`]).
    fn parse(&self, source: &str, deadline: Option<Instant>) -> Result<Tree, SyntaxError> {
        let failed =
            |message: String| SyntaxError::Parse(format!("{}: {message}", self.key.name()));
        PARSERS.with(|parsers| {
            let mut parsers = parsers.borrow_mut();
            let parser = match parsers.entry(self.key.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let mut parser = Parser::new();
                    if self.language.is_wasm() {
                        parser
                            .set_wasm_store(shipped::new_store().map_err(failed)?)
                            .map_err(|e| failed(e.to_string()))?;
                    }
                    parser
                        .set_language(&self.language)
                        .map_err(|e| failed(e.to_string()))?;
                    e.insert(parser)
                }
            };
            let tree = match deadline {
                None => parser.parse(source, None),
                Some(deadline) => {
                    let mut stop = |_: &tree_sitter::ParseState| past(deadline);
                    let options = tree_sitter::ParseOptions::new().progress_callback(&mut stop);
                    let bytes = source.as_bytes();
                    let mut text = |at: usize, _| bytes.get(at..).unwrap_or_default();
                    parser.parse_with_options(&mut text, None, Some(options))
                }
            };
            match tree {
                Some(tree) => Ok(tree),
                // Stopped at the deadline: the next parse starts afresh
                // instead of resuming this one.
                None if deadline.is_some_and(|d| Instant::now() >= d) => {
                    parser.reset();
                    Err(SyntaxError::OutOfTime(self.key.name().to_string()))
                }
                // A WebAssembly grammar that trapped (or ran out of memory)
                // in its lexer or scanner: grammar code failed, not the
                // source. Its store may be left in any state, so the next
                // parse starts from a new one.
                None if self.language.is_wasm() => {
                    parsers.remove(&self.key);
                    Err(SyntaxError::Grammar {
                        grammar: self.key.name().to_string(),
                        message: "failed while parsing (it trapped or ran out of memory)".into(),
                    })
                }
                None => Err(failed("no tree (the grammar failed while parsing)".into())),
            }
        })
    }
}

/// A tree-sitter progress callback's answer: stop once `deadline` has passed.
pub(crate) fn past(deadline: Instant) -> std::ops::ControlFlow<()> {
    if Instant::now() >= deadline {
        std::ops::ControlFlow::Break(())
    } else {
        std::ops::ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests;
