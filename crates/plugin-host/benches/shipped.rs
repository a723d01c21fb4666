//! Grammars shipped inside plugins (Go, Java), against the same grammars
//! linked natively (the `tree-sitter-go` and `tree-sitter-java` crates, in
//! this bench only: the host binary links neither):
//!
//! - `shipped/validate_10kb/<lang>`: one `validate` of a ~10 KB ordinary
//!   program through the plugin, its queries answered by a grammar worker
//!   process (`codr grammar-worker`), a new program each iteration (a
//!   trailing comment carries a counter) so no result cache answers;
//! - `shipped/native_parse_10kb/<lang>`: tree-sitter parsing the same
//!   program with the native grammar, in this process;
//! - `shipped/wasm_parse_10kb/<lang>`: tree-sitter parsing it with the
//!   shipped grammar's WebAssembly in this process (no worker, no plugin):
//!   the floor of the shipped path;
//! - the round-robin summary at the end adds, measured in one loop with
//!   the rest: the wasm parse plus a one-pattern query (`walk`); the wasm
//!   parse plus the plugin's own queries, recorded from its call (`rules`):
//!   what these rules cost on this grammar with no plugin call and no
//!   worker process, the floor of any host that runs them; and `bound`,
//!   those rules plus the plugin's own share of its call: a validation
//!   with nothing at all between the plugin and the grammar; `ts-only`,
//!   tree-sitter alone with no codr code (its WebAssembly parse and the
//!   plugin's queries, the tree freed after timing as the native parse's
//!   is): what these rules cost on a shipped grammar in any host; and
//!   `in-proc`, the same `validate` with the grammar in the bench's process
//!   (a registry without workers): the whole validation minus the process
//!   boundary that contains a hostile grammar;
//! - `shipped/load_cache/<lang>`: loading the plugin file from the
//!   precompiled cache, the grammar included (its worker reads the compiled
//!   grammar from its own cache).
//!
//! Needs `make build` (target/plugins and target/release/codr).
//! `CODR_BENCH_WORKER=<path>` runs the grammar workers from another host
//! binary, to compare two builds. On a shared VM, `taskset -c 1 <bench>`
//! (as `make bench` runs it) keeps the bench and its workers on one CPU:
//! the summary's ratios then stay within 8-9% of each other over runs
//! (val/native Go 1.47-1.59x, Java 1.65-1.80x in five runs on 2026-12-06)
//! instead of 40% (Go 1.38-1.99x unpinned, in an earlier session).
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codr_plugin_host::{Registry, RegistryConfig, WorkerCommand};
use criterion::{BatchSize, BenchmarkId, Criterion};
use tree_sitter::Parser;

const TARGET_BYTES: usize = 10 * 1024;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn existing(path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{} is missing: run `make build` first",
        path.display()
    );
    path
}

/// The host's registry: shipped grammars in worker processes, or with
/// `workers` false in this process (as a plugin's own tests run them; the
/// summary's `in-proc` column: the same validation without the process
/// boundary that contains a hostile grammar).
fn host_registry(cache: &Path, workers: bool) -> Registry {
    // `CODR_BENCH_WORKER` names another host binary to run the grammar
    // workers (to compare two builds on the same machine state).
    let program = std::env::var_os("CODR_BENCH_WORKER")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/release/codr"));
    let worker = WorkerCommand {
        program: existing(program),
        args: vec!["grammar-worker".into()],
        cache_dir: Some(cache.join("grammars")),
    };
    Registry::new(RegistryConfig {
        cache_dir: Some(cache.to_path_buf()),
        grammar_worker: workers.then_some(worker),
        ..RegistryConfig::default()
    })
    .expect("registry")
}

/// One block of ordinary code; `{n}` makes names unique.
fn block(lang: &str) -> &'static str {
    match lang {
        "go" => {
            r#"
// Score{n} mentions os/exec only in a comment.
func Score{n}[T int | int64](values []T, weight T) T {
	var total T
	for i, v := range values {
		if v%2 == 0 {
			total += v*weight + T(i)
		}
	}
	note := "do not import os/exec here"
	_ = strings.ToUpper(note)
	return total
}

type Counter{n} struct{ items map[string]int }

func (c *Counter{n}) Add(key string) []string {
	c.items[key]++
	keys := make([]string, 0, len(c.items))
	for k := range c.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	go func() { fmt.Sprint(len(keys)) }()
	return keys
}
"#
        }
        _ => {
            r#"
    /** score{n} mentions Runtime.exec only in a comment. */
    static long score{n}(List<Long> values, long weight) {
        long total = 0;
        for (int i = 0; i < values.size(); i++) {
            long v = values.get(i);
            if (v % 2 == 0) total += v * weight + i;
        }
        String note = "do not call Runtime.getRuntime() here";
        return total + note.length();
    }

    record Pair{n}(String key, int count) {}

    static List<String> counter{n}(List<String> words) {
        Map<String, Integer> items = new HashMap<>();
        for (String w : words) items.merge(w, 1, Integer::sum);
        return items.entrySet().stream()
            .sorted((a, b) -> b.getValue() - a.getValue())
            .map(e -> new Pair{n}(e.getKey(), e.getValue()).key())
            .collect(Collectors.toList());
    }
"#
        }
    }
}

fn program(lang: &str) -> String {
    let (head, tail) = match lang {
        "go" => (
            "package main\n\nimport (\n\t\"fmt\"\n\t\"sort\"\n\t\"strings\"\n)\n",
            "\nfunc main() { fmt.Println(Score0([]int{1, 2, 3, 4}, 2)) }\n",
        ),
        _ => (
            "import java.util.*;\nimport java.util.stream.*;\n\npublic class Main {\n",
            "\n    public static void main(String[] args) {\n        System.out.println(score0(List.of(1L, 2L), 2));\n    }\n}\n",
        ),
    };
    let mut out = head.to_string();
    let mut n = 0;
    while out.len() + tail.len() < TARGET_BYTES {
        out.push_str(&block(lang).replace("{n}", &n.to_string()));
        n += 1;
    }
    out + tail
}

/// The grammar the plugin for `lang` ships, as its crate keeps it.
fn grammar_file(lang: &str) -> Vec<u8> {
    std::fs::read(root().join(format!("plugins/{lang}/grammar/tree-sitter-{lang}.wasm")))
        .expect("the plugin's grammar file")
}

/// An engine in this process with the plugin's shipped grammar loaded
/// (no worker, no plugin).
fn wasm_engine(lang: &str) -> codr_syntax::Engine {
    let engine = codr_syntax::Engine::new();
    let wasm = grammar_file(lang);
    engine
        .load_wasm_grammar(lang, &wasm)
        .expect("grammar loads");
    engine
}

/// tree-sitter alone, no codr code: a parser running the shipped grammar's
/// WebAssembly in its own store, and the plugin's queries compiled for it.
struct TreeSitterOnly {
    parser: Parser,
    queries: Vec<tree_sitter::Query>,
}

impl TreeSitterOnly {
    fn new(lang: &str, queries: &[String]) -> Self {
        let engine = tree_sitter::wasmtime::Engine::default();
        let wasm = grammar_file(lang);
        let mut store = tree_sitter::WasmStore::new(&engine).expect("a wasm store");
        let language = store.load_language(lang, &wasm).expect("grammar loads");
        let mut parser = Parser::new();
        parser.set_wasm_store(store).expect("store set");
        parser.set_language(&language).expect("language set");
        let queries = queries
            .iter()
            .map(|q| tree_sitter::Query::new(&language, q).expect("the plugin's query compiles"))
            .collect();
        Self { parser, queries }
    }

    /// Parses `source` and runs every query over the tree (text predicates
    /// applied by tree-sitter's bindings, as codr's engine does); returns
    /// the tree, for the caller to free after its clock stops.
    fn run(&mut self, source: &str) -> tree_sitter::Tree {
        use tree_sitter::StreamingIterator;
        let tree = self.parser.parse(source, None).expect("a tree");
        for query in &self.queries {
            let mut cursor = tree_sitter::QueryCursor::new();
            let mut matches = cursor.matches(query, tree.root_node(), source.as_bytes());
            while matches.next().is_some() {}
        }
        tree
    }
}

fn native_parser(lang: &str) -> Parser {
    let language = match lang {
        "go" => tree_sitter::Language::new(tree_sitter_go::LANGUAGE),
        _ => tree_sitter::Language::new(tree_sitter_java::LANGUAGE),
    };
    let mut parser = Parser::new();
    parser.set_language(&language).expect("native grammar");
    parser
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let cache = tempfile::tempdir().expect("temp dir");
    let plugins = root().join("target/plugins");
    let langs = ["go", "java"];
    let registry = host_registry(cache.path(), true);
    let loaded: Vec<_> = langs
        .iter()
        .map(|lang| {
            let path = existing(plugins.join(format!("{lang}.wasm")));
            let (plugin, _) = registry.load_plugin(&path).expect("plugin loads");
            assert!(
                plugin.identity().grammar_shipped,
                "{lang} ships its grammar"
            );
            (lang, path, plugin)
        })
        .collect();

    let mut group = c.benchmark_group("shipped");
    for (lang, path, plugin) in &loaded {
        let source = program(lang);
        let found = plugin.validate(&source, &[]).expect("validates");
        assert!(
            found.is_empty(),
            "{lang}: an ordinary program is accepted: {found:?}"
        );
        let mut n = 0u64;
        group.bench_function(BenchmarkId::new("validate_10kb", lang), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    format!("{source}// variant {n}\n")
                },
                |source| plugin.validate(&source, &[]).expect("validates"),
                BatchSize::SmallInput,
            )
        });
        // The floor of the shipped path: tree-sitter's WebAssembly runtime
        // parsing in this process, no worker and no plugin (the syntax-error
        // walk of a valid program adds almost nothing).
        let engine = wasm_engine(lang);
        let mut n = 0u64;
        group.bench_function(BenchmarkId::new("wasm_parse_10kb", lang), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    format!("{source}// variant {n}\n")
                },
                |source| engine.syntax_errors(lang, &source, 1).expect("parses"),
                BatchSize::SmallInput,
            )
        });
        let mut parser = native_parser(lang);
        let mut n = 0u64;
        group.bench_function(BenchmarkId::new("native_parse_10kb", lang), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    format!("{source}// variant {n}\n")
                },
                |source| parser.parse(&source, None).expect("a tree"),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(BenchmarkId::new("load_cache", lang), |b| {
            b.iter(|| registry.load_plugin(path).expect("plugin loads"))
        });
    }
    group.finish();
    c.final_summary();
    let trusted = host_registry(&cache.path().join("in-process"), false);
    let in_process: Vec<_> = loaded
        .iter()
        .map(|(_, path, _)| trusted.load_plugin(path).expect("plugin loads").0)
        .collect();
    summary(&loaded, &in_process);
}

/// Runs per language in the round-robin summary.
const SUMMARY_RUNS: u64 = 61;

/// One measurement of a summary round.
#[derive(Clone, Copy)]
enum Step {
    Validate,
    Wasm,
    Walk,
    Rules,
    TreeSitterOnly,
    InProcess,
    Native,
}

const STEPS: [Step; 7] = [
    Step::Validate,
    Step::Wasm,
    Step::Walk,
    Step::Rules,
    Step::TreeSitterOnly,
    Step::InProcess,
    Step::Native,
];

/// Shuffles `steps` (Fisher-Yates) from a seed: the same orders every run.
fn shuffle(steps: &mut [Step], seed: u64) {
    let mut x = (seed + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for i in (1..steps.len()).rev() {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        steps.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

/// Where one validation of a new program goes, every column measured in one
/// round-robin loop, in a new order each round (so they share the machine's load, which criterion's
/// one-after-the-other groups do not): the ratios of this table are the
/// steadier ones on a shared machine.
fn summary(
    loaded: &[(&&str, PathBuf, std::sync::Arc<codr_plugin_host::Plugin>)],
    in_process: &[std::sync::Arc<codr_plugin_host::Plugin>],
) {
    println!(
        "\nvalidation of a NEW ~10 KB program through a shipped grammar, medians of {SUMMARY_RUNS} rounds \
         of every column, in a new order each round (ms):\n\
         validate = through the plugin (instance, call, the worker's parse and query, store dropped);\n\
         syntax = its host syntax calls (worker round trips); plugin = validate - syntax;\n\
         wasm = tree-sitter parsing with the shipped grammar in this process; walk = wasm + a one-pattern query;\n\
         rules = wasm + the plugin's own queries, in this process (no plugin call, no worker): the floor of these rules;\n\
         bound = (rules + plugin) / native: these rules and this plugin's own work, with nothing between them;\n\
         in-proc = validate with the grammar in this process (no worker: no containment of a hostile grammar);\n\
         ts-only = tree-sitter alone, no codr code: its wasm parse and the plugin's queries (the tree freed after timing);\n\
         native = tree-sitter parsing with the same grammar linked natively (the tree freed after timing)"
    );
    println!(
        "{:<6} {:>6} {:>9} {:>7} {:>7} {:>6} {:>5} {:>7} {:>7} {:>7} {:>7} {:>10} {:>8} {:>9} {:>10} {:>8} {:>8} {:>7} {:>8} {:>7}",
        "lang",
        "bytes",
        "validate",
        "syntax",
        "plugin",
        "calls",
        "caps",
        "wasm",
        "walk",
        "rules",
        "native",
        "val/native",
        "wasm/nat",
        "walk/nat",
        "rules/nat",
        "bound",
        "ts-only",
        "ts/nat",
        "in-proc",
        "inp/nat"
    );
    for ((lang, _, plugin), in_process) in loaded.iter().zip(in_process) {
        let lang: &str = lang;
        let source = program(lang);
        let engine = wasm_engine(lang);
        let mut parser = native_parser(lang);
        let mut t: [Vec<Duration>; 9] = Default::default();
        // The plugin's own queries, and what its call asks of the host.
        let warm = format!("{source}// warm-up\n");
        let (_, profile) = plugin.validate_profiled(&warm, &[]).expect("validates");
        let (calls, caps) = (profile.syntax_calls, profile.syntax_captures);
        let queries = profile.queries;
        let mut ts_only = TreeSitterOnly::new(lang, &queries);
        let mut order = STEPS;
        for n in 0..SUMMARY_RUNS {
            // A new order each round: no column always runs right after one
            // that warmed (or flushed) the caches it needs.
            shuffle(&mut order, n);
            for (k, step) in order.iter().enumerate() {
                let s = format!("{source}// summary {}\n", STEPS.len() as u64 * n + k as u64);
                let start = Instant::now();
                match step {
                    Step::Validate => {
                        let (_, profile) = plugin.validate_profiled(&s, &[]).expect("validates");
                        t[0].push(start.elapsed());
                        t[1].push(profile.syntax);
                        t[2].push(start.elapsed().saturating_sub(profile.syntax));
                    }
                    Step::Wasm => {
                        engine.syntax_errors(lang, &s, 1).expect("parses");
                        t[3].push(start.elapsed());
                    }
                    Step::Walk => {
                        engine.query(lang, &s, "(ERROR) @error").expect("queries");
                        t[4].push(start.elapsed());
                    }
                    Step::Rules => {
                        for query in &queries {
                            engine.query(lang, &s, query).expect("the plugin's query");
                        }
                        t[6].push(start.elapsed());
                    }
                    Step::TreeSitterOnly => {
                        let tree = ts_only.run(&s);
                        t[7].push(start.elapsed());
                        drop(tree);
                    }
                    Step::InProcess => {
                        in_process.validate(&s, &[]).expect("validates");
                        t[8].push(start.elapsed());
                    }
                    Step::Native => {
                        // Parsing alone, as criterion's `native_parse_10kb`
                        // measures it: the tree is freed after the clock stops.
                        let tree = parser.parse(&s, None).expect("a tree");
                        t[5].push(start.elapsed());
                        drop(tree);
                    }
                }
            }
        }
        let m: Vec<f64> = t.into_iter().map(median_ms).collect();
        println!(
            "{lang:<6} {:>6} {:>9.3} {:>7.3} {:>7.3} {calls:>6} {caps:>5} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>9.2}x {:>7.2}x {:>8.2}x {:>9.2}x {:>7.2}x {:>8.3} {:>6.2}x {:>8.3} {:>6.2}x",
            source.len(),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[6],
            m[5],
            m[0] / m[5],
            m[3] / m[5],
            m[4] / m[5],
            m[6] / m[5],
            (m[6] + m[2]) / m[5],
            m[7],
            m[7] / m[5],
            m[8],
            m[8] / m[5],
        );
    }
}
