//! The plugin registry's costs, side by side in one run:
//!
//! - `validate_10kb/<lang>`: one validation of a ~10 KB ordinary program
//!   through the language's wasm plugin (fresh instance + call + native
//!   tree-sitter queries), each iteration on a program the host has not
//!   seen (a trailing comment carries a counter), so the engine's result
//!   cache never answers;
//! - `instantiate/<lang>`: `InstancePre::instantiate` alone (the store is made
//!   outside the timed part);
//! - `load/<lang>/{cache,compile}`: loading a plugin file from the
//!   precompiled cache versus compiling it (both include reading, hashing,
//!   the contract check, linking and the identity call).
//!
//! Reads the plugins from target/plugins (`make build`). Prints two summary
//! tables at the end: where the time of one validation of a new program
//! goes (through wasm, the host's syntax call, the same query natively
//! split into parse, match and captures, the bare cursor walk, tree-sitter's
//! parse alone, and the same source repeated), measured round-robin in one
//! loop; then instantiation and loading from the cache versus compiling.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codr_plugin_host::{Registry, RegistryConfig};
use criterion::{BatchSize, BenchmarkId, Criterion};

const LANGUAGES: &[&str] = &["python", "javascript", "c", "cpp", "rust"];
const TARGET_BYTES: usize = 10 * 1024;

fn plugin_path(lang: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/plugins")
        .join(format!("{lang}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `make build` first",
        path.display()
    );
    path
}

/// One block of ordinary code per language; `{n}` makes names unique.
fn block(lang: &str) -> &'static str {
    match lang {
        "python" => {
            r#"
def score_{n}(values, weight=2):
    """Weighted sum of the even values; mentions os.system only in a string."""
    total = 0
    for i, v in enumerate(values):
        if v % 2 == 0:
            total += v * weight + i
    note = "do not call eval or exec here"
    return {"total": total, "count": len(values), "note": note}

class Counter{n}:
    def __init__(self):
        self.items = {}
    def add(self, key):
        self.items[key] = self.items.get(key, 0) + 1
        return sorted(self.items.items(), key=lambda kv: (-kv[1], kv[0]))
"#
        }
        "javascript" => {
            r#"
function score_{n}(values, weight = 2) {
  // mentions require('fs') only in a comment
  let total = 0;
  for (const [i, v] of values.entries()) {
    if (v % 2 === 0) total += v * weight + i;
  }
  const note = "do not call eval here";
  return { total, count: values.length, note };
}
class Counter{n} {
  constructor() { this.items = new Map(); }
  add(key) {
    this.items.set(key, (this.items.get(key) || 0) + 1);
    return [...this.items.entries()].sort((a, b) => b[1] - a[1]);
  }
}
"#
        }
        "c" => {
            r#"
static long score_{n}(const int *values, size_t len, int weight) {
    /* mentions system() only in a comment */
    long total = 0;
    for (size_t i = 0; i < len; i++) {
        if (values[i] % 2 == 0) total += (long)values[i] * weight + (long)i;
    }
    const char *note = "do not call popen here";
    return total + (long)strlen(note);
}
struct counter_{n} { int keys[64]; int counts[64]; size_t len; };
static void counter_{n}_add(struct counter_{n} *c, int key) {
    for (size_t i = 0; i < c->len; i++) if (c->keys[i] == key) { c->counts[i]++; return; }
    if (c->len < 64) { c->keys[c->len] = key; c->counts[c->len++] = 1; }
}
"#
        }
        "cpp" => {
            r#"
template <typename T>
long score_{n}(const std::vector<T>& values, int weight = 2) {
    // mentions std::system only in a comment
    long total = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (values[i] % 2 == 0) total += values[i] * weight + static_cast<long>(i);
    }
    std::string note = "do not call popen here";
    return total + static_cast<long>(note.size());
}
class Counter{n} {
public:
    void add(const std::string& key) { ++items_[key]; }
    std::size_t size() const { return items_.size(); }
private:
    std::map<std::string, int> items_;
};
"#
        }
        "rust" => {
            r#"
fn score_{n}(values: &[i64], weight: i64) -> i64 {
    // mentions std::process only in a comment
    let note = "do not use std::fs here";
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| *v % 2 == 0)
        .map(|(i, v)| v * weight + i as i64)
        .sum::<i64>()
        + note.len() as i64
}
struct Counter{n} { items: std::collections::HashMap<String, u32> }
impl Counter{n} {
    fn add(&mut self, key: &str) -> u32 {
        let e = self.items.entry(key.to_string()).or_insert(0);
        *e += 1;
        *e
    }
}
"#
        }
        _ => unreachable!(),
    }
}

fn prologue_and_epilogue(lang: &str) -> (&'static str, &'static str) {
    match lang {
        "python" => ("import math\n", "\nprint(score_0([int(x) for x in input().split()]))\n"),
        "javascript" => ("'use strict';\n", "\nconsole.log(score_0([1, 2, 3, 4]));\n"),
        "c" => (
            "#include <stdio.h>\n#include <string.h>\n",
            "\nint main(void) {\n    int v[4];\n    if (scanf(\"%d %d %d %d\", &v[0], &v[1], &v[2], &v[3]) != 4) return 1;\n    printf(\"%ld\\n\", score_0(v, 4, 2));\n    return 0;\n}\n",
        ),
        "cpp" => (
            "#include <iostream>\n#include <map>\n#include <string>\n#include <vector>\n",
            "\nint main() {\n    std::vector<int> v{1, 2, 3, 4};\n    std::cout << score_0(v) << std::endl;\n    return 0;\n}\n",
        ),
        "rust" => (
            "use std::io::Read;\n",
            "\nfn main() {\n    let mut s = String::new();\n    std::io::stdin().read_to_string(&mut s).unwrap();\n    println!(\"{}\", score_0(&[1, 2, 3, 4], 2));\n}\n",
        ),
        _ => unreachable!(),
    }
}

/// A realistic program of about 10 KB: repeated blocks with unique names.
fn program(lang: &str) -> String {
    let (head, tail) = prologue_and_epilogue(lang);
    let mut source = head.to_string();
    let mut n = 0;
    while source.len() + tail.len() < TARGET_BYTES {
        source.push_str(&block(lang).replace("{n}", &n.to_string()));
        n += 1;
    }
    source.push_str(tail);
    source
}

fn registry(cache: Option<&Path>) -> Registry {
    Registry::new(RegistryConfig {
        cache_dir: cache.map(Path::to_path_buf),
        ..RegistryConfig::default()
    })
    .expect("registry")
}

/// `source` made new: a trailing comment with `n`, so neither the engine's
/// result cache nor anything else keyed on the text can answer, while the
/// program stays the same size and shape.
fn variant(lang: &str, source: &str, n: u64) -> String {
    let comment = if lang == "python" { "#" } else { "//" };
    format!("{source}{comment} variant {n}\n")
}

/// The rule-set query the plugin sends (snapshot shared with the syntax
/// bench; refresh both when a plugin's rules change).
fn rules_query(lang: &str) -> &'static str {
    match lang {
        "python" => include_str!("../../syntax/benches/queries/python.scm"),
        "javascript" => include_str!("../../syntax/benches/queries/javascript.scm"),
        "c" => include_str!("../../syntax/benches/queries/c.scm"),
        "cpp" => include_str!("../../syntax/benches/queries/cpp.scm"),
        "rust" => include_str!("../../syntax/benches/queries/rust.scm"),
        _ => unreachable!(),
    }
}

/// A one-pattern query matching nothing in ordinary code: what the query
/// cursor's walk over every node costs on its own.
fn walk_query(lang: &str) -> &'static str {
    match lang {
        "python" => "(nonlocal_statement) @x",
        "javascript" => "(debugger_statement) @x",
        "c" | "cpp" => "(goto_statement) @x",
        "rust" => "(unsafe_block) @x",
        _ => unreachable!(),
    }
}

fn bench_validate(c: &mut Criterion, registry: &Registry) {
    let mut group = c.benchmark_group("validate_10kb");
    for lang in LANGUAGES {
        let plugin = registry.load_plugin(&plugin_path(lang)).expect("load").0;
        let source = program(lang);
        let found = plugin.validate(&source, &[]).expect("validate");
        if !found.is_empty() {
            eprintln!(
                "note: the {lang} benchmark program has {} diagnostics: {:?}",
                found.len(),
                found[0]
            );
        }
        // Every iteration validates a program the host has not seen.
        let mut n = 0u64;
        group.bench_function(BenchmarkId::from_parameter(lang), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    variant(lang, &source, n)
                },
                |fresh| plugin.validate(&fresh, &[]).expect("validate"),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn bench_instantiate(c: &mut Criterion, registry: &Registry) {
    let mut group = c.benchmark_group("instantiate");
    for lang in LANGUAGES {
        let plugin = registry.load_plugin(&plugin_path(lang)).expect("load").0;
        group.bench_function(*lang, |b| {
            b.iter_custom(|iters| plugin.time_instantiation(iters).expect("instantiate"))
        });
    }
    group.finish();
}

fn bench_load(c: &mut Criterion, cached: &Registry, uncached: &Registry) {
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for lang in LANGUAGES {
        let path = plugin_path(lang);
        cached.load_plugin(&path).expect("warm the cache");
        group.bench_function(BenchmarkId::new("cache", lang), |b| {
            b.iter(|| cached.load_plugin(&path).expect("load"))
        });
        group.bench_function(BenchmarkId::new("compile", lang), |b| {
            b.iter(|| uncached.load_plugin(&path).expect("load"))
        });
    }
    group.finish();
}

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median_of(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs per language in the summary's validation table.
const SUMMARY_RUNS: u64 = 101;

/// The parts of one validation of a new program, one entry per run.
#[derive(Default)]
struct Parts {
    wasm: Vec<Duration>,
    wasm_syntax: Vec<Duration>,
    teardown: Vec<Duration>,
    native: Vec<Duration>,
    parse: Vec<Duration>,
    matching: Vec<Duration>,
    captures: Vec<Duration>,
    walk: Vec<Duration>,
    parse_only: Vec<Duration>,
    repeat: Vec<Duration>,
}

/// Every part measured round-robin in one loop, so all share the machine's
/// load; each measurement but `repeat` gets a program never seen before.
fn measure_parts(plugin: &codr_plugin_host::Plugin, lang: &str, source: &str) -> Parts {
    let syntax = codr_syntax::Engine::new();
    let grammar = plugin.identity().grammar.clone().unwrap_or_default();
    let mut parts = Parts::default();
    for n in 0..SUMMARY_RUNS {
        let fresh = variant(lang, source, 1_000_000 + 4 * n);
        // Timed from outside: the call's profile stops before the store (the
        // instance's memory) is dropped, which the caller pays too.
        let start = Instant::now();
        let (_, profile) = plugin.validate_profiled(&fresh, &[]).expect("validate");
        let whole = start.elapsed();
        parts.wasm.push(whole);
        parts.teardown.push(whole.saturating_sub(profile.total));
        parts.wasm_syntax.push(profile.syntax);
        let fresh = variant(lang, source, 1_000_001 + 4 * n);
        let (_, native) = syntax
            .query_profiled(&grammar, &fresh, rules_query(lang))
            .expect("native query");
        parts.native.push(native.total);
        parts.parse.push(native.parse);
        parts.matching.push(native.matching);
        parts.captures.push(native.captures);
        let fresh = variant(lang, source, 1_000_002 + 4 * n);
        let (_, walk) = syntax
            .query_profiled(&grammar, &fresh, walk_query(lang))
            .expect("walk query");
        parts.walk.push(walk.matching);
        let fresh = variant(lang, source, 1_000_003 + 4 * n);
        let start = Instant::now();
        syntax.syntax_errors(&grammar, &fresh, 1).expect("parse");
        parts.parse_only.push(start.elapsed());
        let start = Instant::now();
        plugin.validate(source, &[]).expect("validate");
        parts.repeat.push(start.elapsed());
    }
    parts
}

/// Two tables with every figure, for the README: where one validation of a
/// new 10 KB program goes, and the plugin loading costs.
fn summary(cached: &Registry, uncached: &Registry) {
    println!(
        "\nvalidation of a NEW ~10 KB program, medians of {SUMMARY_RUNS} runs, all columns measured round-robin in one loop (ms):\n\
         wasm = through the plugin (new store, instance, call, host syntax call, store dropped); syntax = that host call;\n\
         overhead = wasm - syntax, of which drop = dropping the store;\n\
         native = the plugin's rule query on codr_syntax, split into parse, match\n\
         (cursor walk + predicates) and capts (capture structs); walk = the cursor with a one-pattern query;\n\
         parse1 = tree-sitter parse alone (the floor); repeat = the same source again (result cache)"
    );
    println!(
        "{:<11} {:>6} {:>7} {:>7} {:>8} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10} {:>7}",
        "lang",
        "bytes",
        "wasm",
        "syntax",
        "overhead",
        "drop",
        "native",
        "parse",
        "match",
        "capts",
        "walk",
        "parse1",
        "wasm/parse1",
        "repeat"
    );
    for lang in LANGUAGES {
        let plugin = cached.load_plugin(&plugin_path(lang)).expect("load").0;
        let source = program(lang);
        let p = measure_parts(&plugin, lang, &source);
        let overhead: Vec<Duration> = p
            .wasm
            .iter()
            .zip(&p.wasm_syntax)
            .map(|(w, s)| *w - *s)
            .collect();
        let wasm = median_of(p.wasm.clone());
        let parse_only = median_of(p.parse_only);
        println!(
            "{lang:<11} {:>6} {:>7.3} {:>7.3} {:>8.3} {:>6.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>10.2}x {:>7.3}",
            source.len(),
            ms(wasm),
            ms(median_of(p.wasm_syntax)),
            ms(median_of(overhead)),
            ms(median_of(p.teardown)),
            ms(median_of(p.native)),
            ms(median_of(p.parse)),
            ms(median_of(p.matching)),
            ms(median_of(p.captures)),
            ms(median_of(p.walk)),
            ms(parse_only),
            wasm.as_secs_f64() / parse_only.as_secs_f64(),
            ms(median_of(p.repeat)),
        );
    }
    println!(
        "\n{:<11} {:>12} {:>12} {:>14} {:>9}",
        "lang", "instantiate", "load(cache)", "load(compile)", "speed-up"
    );
    for lang in LANGUAGES {
        let path = plugin_path(lang);
        let plugin = cached.load_plugin(&path).expect("load").0;
        // time_instantiation excludes making the store, so time it directly.
        let instantiate = median_of(
            (0..201)
                .map(|_| plugin.time_instantiation(1).expect("instantiate"))
                .collect(),
        );
        let from_cache = median(31, || {
            cached.load_plugin(&path).expect("load");
        });
        let compiled = median(11, || {
            uncached.load_plugin(&path).expect("load");
        });
        println!(
            "{lang:<11} {:>9.1} us {:>9.3} ms {:>11.2} ms {:>8.0}x",
            instantiate.as_secs_f64() * 1e6,
            ms(from_cache),
            ms(compiled),
            compiled.as_secs_f64() / from_cache.as_secs_f64(),
        );
    }
}

fn main() {
    let cache = tempfile::tempdir().expect("temp cache dir");
    let cached = registry(Some(cache.path()));
    let uncached = registry(None);
    let mut c = Criterion::default().configure_from_args();
    bench_validate(&mut c, &cached);
    bench_instantiate(&mut c, &cached);
    bench_load(&mut c, &cached, &uncached);
    c.final_summary();
    summary(&cached, &uncached);
}
