//! Writes `BENCHMARKS.md` from one `make bench` run: criterion's estimates
//! (`target/criterion/**/new/estimates.json`, only those written during this
//! run), the figures of `loadgen --json`, the `codr-sandbox` hello bench's
//! table, the round-robin tables of the query and shipped-grammar benches,
//! and a description of the machine.
//!
//! ```text
//! cargo run --release -p codr --example bench_report -- --since EPOCH_SECONDS \
//!     --loadgen target/bench/loadgen.json --sandbox target/bench/sandbox-hello.txt \
//!     --query target/bench/query.txt --shipped target/bench/shipped.txt \
//!     --loadavg-start target/bench/loadavg-start --status target/bench/status.txt \
//!     --out BENCHMARKS.md
//! ```
//! `scripts/bench.sh` (what `make bench` runs) does all of it.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const LANGS: &[&str] = &["python", "javascript", "c", "cpp", "rust"];

struct Opts {
    since: u64,
    criterion: PathBuf,
    loadgen: PathBuf,
    sandbox: PathBuf,
    query: PathBuf,
    shipped: PathBuf,
    loadavg_start: PathBuf,
    status: PathBuf,
    out: PathBuf,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        since: 0,
        criterion: "target/criterion".into(),
        loadgen: "target/bench/loadgen.json".into(),
        sandbox: "target/bench/sandbox-hello.txt".into(),
        query: "target/bench/query.txt".into(),
        shipped: "target/bench/shipped.txt".into(),
        loadavg_start: "target/bench/loadavg-start".into(),
        status: "target/bench/status.txt".into(),
        out: "BENCHMARKS.md".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let val = args.next().unwrap_or_else(|| {
            eprintln!("bench_report: {flag} needs a value");
            std::process::exit(2)
        });
        match flag.as_str() {
            "--since" => o.since = val.parse().expect("--since EPOCH_SECONDS"),
            "--criterion" => o.criterion = val.into(),
            "--loadgen" => o.loadgen = val.into(),
            "--sandbox" => o.sandbox = val.into(),
            "--query" => o.query = val.into(),
            "--shipped" => o.shipped = val.into(),
            "--loadavg-start" => o.loadavg_start = val.into(),
            "--status" => o.status = val.into(),
            "--out" => o.out = val.into(),
            other => {
                eprintln!("bench_report: unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    o
}

/// Criterion's median (ns) for a benchmark id like `validate_10kb/python`,
/// if its estimates were written during this run.
fn criterion_ns(o: &Opts, id: &str) -> Option<f64> {
    let path = o.criterion.join(id).join("new/estimates.json");
    let written = std::fs::metadata(&path).ok()?.modified().ok()?;
    if written < UNIX_EPOCH + Duration::from_secs(o.since) {
        return None;
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// A duration in ns, in the unit that reads best.
fn dur_ns(ns: Option<f64>) -> String {
    match ns {
        None => "not measured".into(),
        Some(ns) if ns < 1e3 => format!("{ns:.0} ns"),
        Some(ns) if ns < 1e6 => format!("{:.1} µs", ns / 1e3),
        Some(ns) if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        Some(ns) => format!("{:.2} s", ns / 1e9),
    }
}

fn ms(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn ms_str(v: Option<f64>) -> String {
    v.map_or("–".into(), |m| format!("{m:.1} ms"))
}

/// `p50 / p90 / p99 ms`, with the failures if any.
fn pcts(s: &Value) -> String {
    if s.is_null() || s["n"].as_u64().unwrap_or(0) == 0 {
        return if s.is_null() {
            "not measured".into()
        } else {
            format!("all {} failed", s["fail"])
        };
    }
    let f = |k: &str| s[k].as_f64().map_or("–".into(), |v| format!("{v:.1}"));
    let mut out = format!("{} / {} / {} ms", f("p50"), f("p90"), f("p99"));
    if s["fail"].as_u64().unwrap_or(0) > 0 {
        write!(
            out,
            " ({} of {} failed)",
            s["fail"],
            s["n"].as_u64().unwrap_or(0) + s["fail"].as_u64().unwrap_or(0)
        )
        .unwrap();
    }
    out
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn x(r: Option<f64>) -> String {
    match r {
        None => "–".into(),
        Some(r) if r >= 100.0 => format!("{r:.0} x"),
        Some(r) => format!("{r:.2} x"),
    }
}

/// "met" / "**missed**" / "not measured".
fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// First line of a command's stdout (or stderr, for `java -version`).
fn cmd_line(prog: &str, args: &[&str]) -> String {
    match Command::new(prog).args(args).output() {
        Ok(o) => {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        }
        Err(_) => format!("{prog}: not found"),
    }
}

fn machine(o: &Opts, md: &mut String) {
    let cpuinfo = read(Path::new("/proc/cpuinfo"));
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let processors = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = read(Path::new("/proc/meminfo"));
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = read(Path::new("/proc/sys/kernel/osrelease"));
    let commit = cmd_line("git", &["rev-parse", "HEAD"]);
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    // Recorded by the script right after the last measurement; else now.
    let mut load_end = read(&o.loadavg_start.with_file_name("loadavg-end"));
    if load_end.is_empty() {
        load_end = read(Path::new("/proc/loadavg"));
    }
    writeln!(md, "## Machine\n").unwrap();
    writeln!(md, "| | |\n| --- | --- |").unwrap();
    let rows = [
        ("CPU", format!("{model}: {processors} logical processors in /proc/cpuinfo, {cores} available to this process")),
        ("memory", format!("{:.1} GiB (MemTotal)", mem_kib as f64 / 1048576.0)),
        ("kernel", kernel.trim().to_string()),
        ("load average at start (1, 5, 15 min)", loadavg(&read(&o.loadavg_start))),
        ("load average at end", loadavg(&load_end)),
        ("firejail", cmd_line("firejail", &["--version"])),
        ("git commit", format!("{commit}{}", if dirty { " (with uncommitted changes to tracked files)" } else { "" })),
        ("python3", cmd_line("/usr/bin/python3", &["--version"])),
        ("node", cmd_line("node", &["--version"])),
        ("gcc", cmd_line("gcc", &["--version"])),
        ("rustc", cmd_line("rustc", &["--version"])),
        ("java", cmd_line("java", &["-version"])),
    ];
    for (k, v) in rows {
        writeln!(md, "| {k} | {v} |").unwrap();
    }
    writeln!(md).unwrap();
}

fn loadavg(s: &str) -> String {
    let f: Vec<&str> = s.split_whitespace().take(3).collect();
    if f.is_empty() {
        "not recorded".into()
    } else {
        f.join(", ")
    }
}

/// The figures gathered for the targets table.
struct Summary {
    rows: Vec<(String, String, &'static str)>,
}

impl Summary {
    fn add(&mut self, target: &str, measured: String, ok: Option<bool>) {
        self.rows.push((target.into(), measured, verdict(ok)));
    }
}

/// Grammars shipped inside plugins (bench `shipped`): validation through the
/// grammar worker against the same grammar parsed natively, and loading.
/// The bench's own round-robin table (every column measured in one loop,
/// so all share the machine's load) is shown verbatim and decides the
/// ratio target when present; criterion's medians, measured one benchmark
/// after the other, are shown beside it.
fn shipped_section(o: &Opts, md: &mut String, sum: &mut Summary) {
    writeln!(md, "## Shipped grammars\n").unwrap();
    writeln!(
        md,
        "Go and Java ship their tree-sitter grammars inside their plugins; the \
         host runs them in `codr grammar-worker` processes. *Validate*: one \
         `validate` of a new ~10 KB ordinary program through the plugin, its \
         queries answered by a worker. *Native parse*: tree-sitter parsing the \
         same program with the same grammar linked natively (the \
         `tree-sitter-go`/`tree-sitter-java` crates, in the bench only). *Wasm \
         parse in-process*: tree-sitter's WebAssembly runtime parsing with the \
         shipped grammar in the bench's own process, no worker and no plugin: \
         the floor of the shipped path. Both grammars are built for speed \
         (`scripts/build-grammar-wasm.sh`: clang `-O2`, and a lexer that skips \
         the host calls whose answers it knows) from the sources the \
         published files come from. *Load*: \
         the plugin file from the precompiled cache, its grammar included \
         (`cargo bench -p codr-plugin-host --bench shipped`).\n"
    )
    .unwrap();
    let table = read(&o.shipped);
    let round_robin = shipped_rows(&table);
    if !round_robin.is_empty() {
        let start = table.find("validation of a NEW").unwrap_or(0);
        writeln!(
            md,
            "Round robin (every column measured in each round, in a new order each round, medians): \
             *walk* is the wasm parse plus a one-pattern query, the floor of any rule that queries; \
             *rules* is the wasm parse plus the plugin's own queries through codr's engine in the \
             bench's process; *ts-only* is tree-sitter alone doing the same, no codr code: what these \
             rules cost on a shipped grammar in any host; *in-proc* is the whole validation with the \
             grammar in the bench's process, no worker: the validation minus the process boundary \
             that contains a hostile grammar. The ratio target is judged on *val/native*:\n"
        )
        .unwrap();
        writeln!(md, "```text\n{}\n```\n", table[start..].trim_end()).unwrap();
    }
    writeln!(
        md,
        "Criterion medians (one benchmark after the other). Its validate / native is less \
         steady than the round robin's and often higher. Its groups run one after the other, \
         seconds apart, on a shared VM whose speed drifts in phases, so one can land in a slow \
         phase and the other not (a wasm parse faster than the native one is such a run). And \
         its native parse runs alone in a loop, hot in the caches, while a validation (the \
         plugin in this process, its grammar in a worker process, taking turns on one CPU) \
         gains little from the loop. A server validates now and then between other work, as \
         the round robin does, which is why the target is judged there:\n"
    )
    .unwrap();
    writeln!(md, "| language | validate, shipped grammar | native parse | validate / native | wasm parse in-process / native | load from cache |").unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- | --- |").unwrap();
    let (mut ratios, mut loads) = (Vec::new(), Vec::new());
    let (mut ratio_ok, mut load_ok) = (Some(true), Some(true));
    for lang in ["go", "java"] {
        let validate = criterion_ns(o, &format!("shipped/validate_10kb/{lang}"));
        let native = criterion_ns(o, &format!("shipped/native_parse_10kb/{lang}"));
        let load = criterion_ns(o, &format!("shipped/load_cache/{lang}"));
        let wasm = criterion_ns(o, &format!("shipped/wasm_parse_10kb/{lang}"));
        let criterion_ratio = ratio(validate, native);
        writeln!(
            md,
            "| {lang} | {} | {} | {} | {} | {} |",
            dur_ns(validate),
            dur_ns(native),
            x(criterion_ratio),
            x(ratio(wasm, native)),
            dur_ns(load)
        )
        .unwrap();
        let r = match round_robin.iter().find(|(l, ..)| l == lang) {
            Some((_, r, floor)) => {
                let floor = floor.map_or(String::new(), |f| {
                    format!(", tree-sitter alone running its rules: {}", x(Some(f)))
                });
                ratios.push(format!(
                    "{lang} {} (criterion: {}{floor})",
                    x(Some(*r)),
                    x(criterion_ratio)
                ));
                Some(*r)
            }
            None => {
                ratios.push(format!("{lang} {}", x(criterion_ratio)));
                criterion_ratio
            }
        };
        loads.push(format!("{lang} {}", dur_ns(load)));
        ratio_ok = and(ratio_ok, r.map(|r| r <= 2.0));
        load_ok = and(load_ok, load.map(|l| l <= 5e6));
    }
    writeln!(md).unwrap();
    sum.add(
        "validate 10 KB through a shipped grammar <= 2x native parsing (issue 14)",
        ratios.join(", "),
        ratio_ok,
    );
    sum.add(
        "load a plugin with its grammar from the precompiled cache <= 5 ms (issue 14)",
        loads.join(", "),
        load_ok,
    );
}

/// (language, validate / native) of each row of the shipped bench's
/// round-robin table (`lang bytes validate ... val/native ...`).
fn shipped_rows(text: &str) -> Vec<(String, f64, Option<f64>)> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("lang "));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<&str> = header.split_whitespace().collect();
    let at = |name: &str| columns.iter().position(|c| *c == name);
    let Some(column) = at("val/native") else {
        return Vec::new();
    };
    // The floor: tree-sitter alone (its wasm parse and the plugin's queries,
    // no codr code); older tables had only codr's engine in process.
    let floor = at("ts/nat").or_else(|| at("rules/nat"));
    lines
        .map_while(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            let cell = |i: usize| cells.get(i)?.trim_end_matches('x').parse::<f64>().ok();
            Some((cells[0].to_string(), cell(column)?, floor.and_then(cell)))
        })
        .collect()
}

/// (language, dispatch / whole) of each row of the query bench's round-robin
/// table (`lang dispatch whole disp/whole`).
fn dispatch_rows(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .skip_while(|l| !l.starts_with("lang "))
        .skip(1)
        .map_while(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            let r = cells.get(3)?.trim_end_matches('x').parse().ok()?;
            Some((cells[0].to_string(), r))
        })
        .collect()
}

/// Figures of the registry and syntax benches: validation, instantiation, load.
fn plugins_section(o: &Opts, md: &mut String, sum: &mut Summary) {
    writeln!(md, "## Validation (criterion medians)\n").unwrap();
    writeln!(
        md,
        "A ~10 KB ordinary program per language. *Through the wasm plugin*: one \
         `validate` call on a fresh instance, on a program the host has not seen \
         (`codr-plugin-host` bench `validate_10kb`, so the engine's result cache \
         never answers). *Native*: `codr-syntax`'s engine alone (bench `query`): \
         parse plus the plugin's rule query on a new source each time \
         (`engine-rules`), the same with every query walking the whole tree \
         (`engine-rules-whole`: the engine before it started queries only where \
         their patterns can start), on a repeated source (`engine-rules-repeat`, answered \
         by the result cache), and tree-sitter's parse alone. Go and Java ship \
         their grammars: see the next section. `cargo bench -p codr-plugin-host --bench registry` also \
         prints where the time of one validation goes.\n"
    )
    .unwrap();
    writeln!(md, "| language | **through the wasm plugin, new source** | native, new source | native, whole walk | native, same source again | native parse alone |").unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- | --- |").unwrap();
    let (mut list, mut walks) = (Vec::new(), Vec::new());
    let (mut ok, mut walk_ok) = (Some(true), Some(true));
    let query_table = read(&o.query);
    let dispatch = dispatch_rows(&query_table);
    for lang in LANGS {
        let wasm = criterion_ns(o, &format!("validate_10kb/{lang}"));
        let native_new = criterion_ns(o, &format!("{lang}/engine-rules"));
        let native_whole = criterion_ns(o, &format!("{lang}/engine-rules-whole"));
        let native_rep = criterion_ns(o, &format!("{lang}/engine-rules-repeat"));
        let parse = criterion_ns(o, &format!("{lang}/parse"));
        writeln!(
            md,
            "| {lang} | {} | {} | {} | {} | {} |",
            dur_ns(wasm),
            dur_ns(native_new),
            dur_ns(native_whole),
            dur_ns(native_rep),
            dur_ns(parse)
        )
        .unwrap();
        list.push(format!("{lang} {}", dur_ns(wasm)));
        ok = and(ok, wasm.map(|d| d < 1e6));
        // Judged on the round-robin ratio; criterion's, its groups minutes
        // apart, beside it.
        let r = dispatch.iter().find(|(l, _)| l == lang).map(|(_, r)| *r);
        walks.push(format!(
            "{lang} {} (criterion: {})",
            x(r),
            x(ratio(native_new, native_whole))
        ));
        walk_ok = and(walk_ok, r.map(|r| r <= 1.1));
    }
    writeln!(md).unwrap();
    if let Some(start) = query_table.find("the plugins' rule queries on a NEW") {
        writeln!(
            md,
            "The query bench's round robin (pinned to one CPU, both engines on a new source each round, the \
             order alternating, medians), on which the target is judged:\n\n```text\n{}```\n",
            query_table[start..].trim_start()
        )
        .unwrap();
    }
    sum.add(
        "validate a new 10 KB program through the wasm plugin, median < 1 ms (issue 2)",
        list.join(", "),
        ok,
    );
    sum.add(
        "the built-in five's rule queries no slower than before queries started only where \
         their patterns can: engine-rules <= 1.1 x engine-rules-whole, round robin (issue 14)",
        walks.join(", "),
        walk_ok,
    );

    writeln!(
        md,
        "## Plugin instantiation and loading (criterion medians)\n"
    )
    .unwrap();
    writeln!(md, "`instantiate`: `InstancePre::instantiate` alone. `load`: a plugin file loaded from the precompiled cache vs compiled by wasmtime (both include reading, hashing, the contract check, linking and the identity call).\n").unwrap();
    writeln!(md, "| language | instantiate | load from precompiled cache | load by compiling | compile / cache |").unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- |").unwrap();
    let (mut inst_list, mut load_list) = (Vec::new(), Vec::new());
    let (mut inst_ok, mut load_ok) = (Some(true), Some(true));
    for lang in LANGS {
        let inst = criterion_ns(o, &format!("instantiate/{lang}"));
        let cache = criterion_ns(o, &format!("load/cache/{lang}"));
        let compile = criterion_ns(o, &format!("load/compile/{lang}"));
        let r = ratio(compile, cache);
        writeln!(
            md,
            "| {lang} | {} | {} | {} | {} |",
            dur_ns(inst),
            dur_ns(cache),
            dur_ns(compile),
            x(r)
        )
        .unwrap();
        inst_list.push(format!("{lang} {}", dur_ns(inst)));
        load_list.push(format!("{lang} {}", x(r)));
        inst_ok = and(inst_ok, inst.map(|i| i < 100e3));
        load_ok = and(load_ok, r.map(|r| r >= 20.0));
    }
    writeln!(md).unwrap();
    sum.add(
        "one plugin instantiation < 100 µs (issue 2)",
        inst_list.join(", "),
        inst_ok,
    );
    sum.add(
        "load from the precompiled cache >= 20 x faster than compiling (issue 2)",
        load_list.join(", "),
        load_ok,
    );
}

fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a && b),
        _ => None,
    }
}

const SERVERS: &[(&str, &str)] = &[
    ("cold", "pool off, cache off"),
    ("warm", "pool on, cache on"),
];

fn hello_section(lg: &Value, md: &mut String, sum: &mut Summary) {
    writeln!(md, "## Hello world end to end over the WebSocket\n").unwrap();
    writeln!(md, "From `POST /api/jobs/create` to the `complete` message, one job at a time, each job alternating with one run of its floor (so that changes in the machine's load hit both). The floor is a bare `firejail --quiet --noprofile --net=none` of the same interpreter; for compiled languages it is the hello binary compiled beforehand on the host and only run in the bare Firejail (codr compiles it in the job unless its compile cache has it). Each server's ratio is to the floor measured alternately with its own jobs.\n").unwrap();
    writeln!(md, "| language | floor p50 (beside cold) | cold: p50 / p90 / p99 | cold / floor | floor p50 (beside warm) | warm: p50 / p90 / p99 | warm / floor |").unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- | --- | --- |").unwrap();
    let mut floors = Vec::new();
    let langs: Vec<String> = lg["servers"]["cold"]["hello"]
        .as_object()
        .or_else(|| lg["servers"]["warm"]["hello"].as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for lang in &langs {
        let mut row = format!("| {lang} |");
        for (server, _) in SERVERS {
            let h = &lg["servers"][server]["hello"][lang];
            let floor = ms(&h["floor"]["p50"]);
            let codr = ms(&h["codr"]["p50"]);
            write!(
                row,
                " {} | {} | {} |",
                ms_str(floor),
                pcts(&h["codr"]),
                x(ratio(codr, floor))
            )
            .unwrap();
            if let Some(w) = h["floor_what"].as_str() {
                if !floors.iter().any(|(l, _): &(String, String)| l == lang) {
                    floors.push((lang.clone(), w.to_string()));
                }
            }
        }
        writeln!(md, "{row}").unwrap();
    }
    writeln!(md, "\nFloors:\n").unwrap();
    for (lang, what) in floors {
        writeln!(md, "- {lang}: {what}").unwrap();
    }
    writeln!(md).unwrap();
    for (server, label, limit, strict) in [
        ("cold", "pool off", 1.25, false),
        ("warm", "pool on", 1.0, true),
    ] {
        let h = &lg["servers"][server]["hello"]["python"];
        let r = ratio(ms(&h["codr"]["p50"]), ms(&h["floor"]["p50"]));
        let ok = r.map(|r| if strict { r < limit } else { r <= limit });
        let target = format!(
            "Python hello world end to end, median, {label}: {} {limit:.2} x the cold-firejail floor (issue 7)",
            if strict { "<" } else { "<=" }
        );
        sum.add(
            &target,
            format!(
                "{} vs {}: {}",
                ms_str(ms(&h["codr"]["p50"])),
                ms_str(ms(&h["floor"]["p50"])),
                x(r)
            ),
            ok,
        );
    }
}

fn throughput_section(lg: &Value, md: &mut String, sum: &mut Summary) {
    writeln!(md, "## Throughput: Python hello world\n").unwrap();
    writeln!(
        md,
        "N jobs with C in flight at a time, jobs/s over the wall time of all N; beside N bare \
         `firejail ... /usr/bin/python3 -u main.py` launches (*bare*, as root) and N launches of \
         the same program in Firejail with exactly codr's flags as an unprivileged user \
         (*same flags*: what the sandbox policy costs without the host), C at a time, in two \
         rounds each, alternating. *codr / flags* is what the host itself costs at that load. \
         The same-flags floor runs every sandbox as one user, and `--rlimit-nproc` counts per \
         user, so it is measured up to C = 10.\n"
    )
    .unwrap();
    let points = |server: &str| {
        lg["servers"][server]["throughput"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    for (server, label) in [("cold", "cold (pool off)"), ("warm", "warm (pool on)")] {
        let list = points(server);
        if list.is_empty() {
            continue;
        }
        writeln!(md, "{label}:\n").unwrap();
        writeln!(md, "| concurrency | jobs | bare | same flags | codr | codr / bare | codr / flags | flags / bare |").unwrap();
        writeln!(md, "| --- | --- | --- | --- | --- | --- | --- | --- |").unwrap();
        for p in &list {
            let b = p["bare"]["jobs_per_s"].as_f64();
            let f = p["same_flags"]["jobs_per_s"].as_f64();
            let a = p["codr"]["jobs_per_s"].as_f64();
            writeln!(
                md,
                "| {} | {} | {} | {}{} | {}{} | {} | {} | {} |",
                p["concurrency"],
                p["codr"]["n"].as_u64().unwrap_or(0) + p["codr"]["fail"].as_u64().unwrap_or(0),
                jps(b),
                jps(f),
                fails(&p["same_flags"]),
                jps(a),
                fails(&p["codr"]),
                x(ratio(a, b)),
                x(ratio(a, f)),
                x(ratio(f, b)),
            )
            .unwrap();
        }
        writeln!(md).unwrap();
        let p = list.iter().find(|p| p["concurrency"] == 10);
        let rate = |k: &str| p.and_then(|p| p[k]["jobs_per_s"].as_f64());
        let (a, b, f) = (rate("codr"), rate("bare"), rate("same_flags"));
        let r = ratio(a, b);
        let label = if server == "cold" {
            "pool off"
        } else {
            "pool on"
        };
        sum.add(
            &format!("throughput at concurrency 10, {label}: >= 0.9 x bare parallel firejail (issue 7; issue 4 asks 0.8)"),
            format!(
                "{} vs {}: {} (Firejail with codr's flags alone: {}, {} of bare; codr {} of it)",
                jps(a),
                jps(b),
                x(r),
                jps(f),
                x(ratio(f, b)),
                x(ratio(a, f))
            ),
            r.map(|r| r >= 0.9),
        );
    }
}

fn jps(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1} jobs/s"))
}

fn fails(s: &Value) -> String {
    match s["fail"].as_u64() {
        Some(f) if f > 0 => format!(" ({f} failed)"),
        _ => String::new(),
    }
}

fn cache_section(lg: &Value, md: &mut String, sum: &mut Summary) {
    writeln!(md, "## Compile cache\n").unwrap();
    writeln!(md, "Hello world; *miss*: the source made unique by a comment each time; *hit*: the same source again (after one job that fills the cache). Each job alternates with one run of the run-only floor: the compiled hello binary run in a bare Firejail. On the cold server the cache is off, so \"hit\" is a full compile too.\n").unwrap();
    writeln!(md, "| language | server | miss: p50 / p90 / p99 | same source: p50 / p90 / p99 | run-only floor p50 | same source / run-only | miss / same source |").unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- | --- | --- |").unwrap();
    for lang in ["c", "cpp", "rust"] {
        for (server, label) in SERVERS {
            let c = &lg["servers"][server]["compile_cache"][lang];
            if c.is_null() {
                continue;
            }
            let (miss, hit, floor) = (
                ms(&c["miss"]["p50"]),
                ms(&c["hit"]["p50"]),
                ms(&c["run_only"]["p50"]),
            );
            writeln!(
                md,
                "| {lang} | {server} ({label}) | {} | {} | {} | {} | {} |",
                pcts(&c["miss"]),
                pcts(&c["hit"]),
                ms_str(floor),
                x(ratio(hit, floor)),
                x(ratio(miss, hit))
            )
            .unwrap();
        }
    }
    writeln!(md).unwrap();
    let c = &lg["servers"]["warm"]["compile_cache"]["rust"];
    let r = ratio(ms(&c["hit"]["p50"]), ms(&c["run_only"]["p50"]));
    sum.add(
        "repeated Rust hello world, cache hit, <= 1.2 x the run-only time (issue 7)",
        format!(
            "{} vs {}: {}",
            ms_str(ms(&c["hit"]["p50"])),
            ms_str(ms(&c["run_only"]["p50"])),
            x(r)
        ),
        r.map(|r| r <= 1.2),
    );
}

fn output_section(lg: &Value, md: &mut String) {
    writeln!(md, "## 1 MB of output to the WebSocket client\n").unwrap();
    writeln!(md, "A Python job printing 1000 lines of 1000 bytes (1,000,000 bytes), from `create` to `complete` with every byte received; beside the same program in a bare Firejail, read through a pipe, run alternately.\n").unwrap();
    writeln!(md, "| server | codr: p50 / p90 / p99 | floor p50 | codr / floor | bytes received (the PTY turns \\n into \\r\\n) |").unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- |").unwrap();
    for (server, label) in SERVERS {
        let m = &lg["servers"][server]["output_1mb"];
        if m.is_null() {
            continue;
        }
        writeln!(
            md,
            "| {server} ({label}) | {} | {} | {} | {} |",
            pcts(&m["codr"]),
            ms_str(ms(&m["floor"]["p50"])),
            x(ratio(ms(&m["codr"]["p50"]), ms(&m["floor"]["p50"]))),
            m["bytes_received"]
        )
        .unwrap();
    }
    writeln!(md).unwrap();
}

fn memory_section(lg: &Value, md: &mut String, sum: &mut Summary) {
    writeln!(md, "## Host memory (RSS of `codr serve`)\n").unwrap();
    writeln!(md, "| server | after start and a 3 s pause | after all the jobs above | with idle WebSockets open | per connection |").unwrap();
    writeln!(md, "| --- | --- | --- | --- | --- |").unwrap();
    let mb = |v: &Value| v.as_f64().map(|k| k / 1024.0);
    let mbs = |v: Option<f64>| v.map_or("–".into(), |m| format!("{m:.1} MB"));
    for (server, label) in SERVERS {
        let s = &lg["servers"][server];
        if s.is_null() {
            continue;
        }
        let (before, with) = (
            mb(&s["idle"]["rss_before_kib"]),
            mb(&s["idle"]["rss_with_kib"]),
        );
        let open = s["idle"]["open"].as_u64().unwrap_or(0);
        let per = match (before, with) {
            (Some(b), Some(w)) if open > 0 => format!("{:.1} KB", (w - b) * 1024.0 / open as f64),
            _ => "–".into(),
        };
        writeln!(
            md,
            "| {server} ({label}) | {} | {} | {} with {open} | {per} |",
            mbs(mb(&s["rss_start_kib"])),
            mbs(before),
            mbs(with)
        )
        .unwrap();
        sum.add(
            &format!("RSS with 1000 idle WebSockets < 200 MB, {label} (issue 4)"),
            format!(
                "{} with {open} open ({} idle after start)",
                mbs(with),
                mbs(mb(&s["rss_start_kib"]))
            ),
            with.filter(|_| open >= 1000).map(|w| w < 200.0),
        );
    }
    writeln!(md).unwrap();
}

/// The `codr-sandbox` hello bench's output, verbatim (its columns belong to
/// that bench), and the Python row's ratio to the floor for the targets.
fn sandbox_section(o: &Opts, md: &mut String, sum: &mut Summary) {
    let text = read(&o.sandbox);
    let target = "Python hello world through the sandbox alone: the host's overhead over the bare floor <= 10 % (issue 3)";
    writeln!(md, "## The sandbox alone (`codr-sandbox` bench `hello`)\n").unwrap();
    if text.trim().is_empty() {
        writeln!(md, "Not measured in this run.\n").unwrap();
        sum.add(target, "not measured".into(), None);
        return;
    }
    writeln!(md, "Its own output, verbatim (medians):\n").unwrap();
    writeln!(md, "```text\n{}\n```\n", text.trim_end()).unwrap();
    let failed = read(&o.status)
        .lines()
        .any(|l| l.contains("codr-sandbox") && !l.starts_with("0 "));
    if failed {
        writeln!(md, "The bench stopped early in this run (see below): the rows above are what it printed before.\n").unwrap();
    }
    let (x_floor, column) = python_over_floor(&text, "cold/fl");
    let (x_warm, _) = python_over_floor(&text, "warm/fl");
    let (x_flags, _) = python_over_floor(&text, "cold/flg");
    sum.add(
        target,
        format!("with the pool (as served): {} (`warm/fl`)", x(x_warm)),
        x_warm.map(|r| r <= 1.10),
    );
    let measured = match x_floor {
        Some(_) => format!(
            "{} over firejail run by hand with the same flags (`cold/flg`); {} over the bare floor (`{column}`): the flags the issue asks for cost the rest",
            x(x_flags),
            x(x_floor)
        ),
        None => "not measured (no Python row)".into(),
    };
    sum.add(
        "the same, pool off: the host's own overhead over Firejail with the same flags <= 10 % (issue 3)",
        measured,
        x_flags.map(|r| r <= 1.10),
    );
}

/// The Python row's ratio to the floor: column `name` (`cold/fl`, `warm/fl`)
/// of the current table, or `x floor` in the older one (whose header splits
/// it in two words) when `name` is `cold/fl`.
fn python_over_floor<'a>(text: &str, name: &'a str) -> (Option<f64>, &'a str) {
    let Some(header) = text
        .lines()
        .find(|l| l.trim_start().starts_with("language"))
    else {
        return (None, "-");
    };
    let Some(row) = text.lines().find(|l| l.starts_with("python")) else {
        return (None, "-");
    };
    let cells: Vec<&str> = row.split_whitespace().collect();
    let names: Vec<&str> = header.split_whitespace().collect();
    let (index, column) = match names.iter().position(|n| *n == name) {
        Some(i) => (i, name),
        None if name == "cold/fl" && header.contains("x floor") => (4, "x floor"),
        None => return (None, "-"),
    };
    (cells.get(index).and_then(|c| c.parse().ok()), column)
}

fn steps_section(o: &Opts, lg: &Value, md: &mut String) {
    writeln!(md, "## This run\n").unwrap();
    let status = read(&o.status);
    for line in status.lines() {
        let mut f = line.splitn(2, ' ');
        let (rc, step) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
        let state = if rc == "0" {
            "ok".to_string()
        } else {
            format!("**failed (exit {rc})**: what it did not measure is marked not measured")
        };
        writeln!(md, "- `{step}`: {state}").unwrap();
    }
    if let Some(env) = lg["server_env"].as_object() {
        for (server, e) in env {
            writeln!(
                md,
                "- `codr serve` \"{server}\": environment {e}, `--max-jobs {}`, rate limit off",
                lg["max_jobs"].as_str().unwrap_or("?")
            )
            .unwrap();
        }
    }
    writeln!(md).unwrap();
}

fn main() {
    let o = parse_args();
    let lg: Value = serde_json::from_str(&read(&o.loadgen)).unwrap_or(Value::Null);
    let loadgen_fresh = std::fs::metadata(&o.loadgen)
        .and_then(|m| m.modified())
        .map(|t| t >= UNIX_EPOCH + Duration::from_secs(o.since))
        .unwrap_or(false);
    let lg = if loadgen_fresh { lg } else { Value::Null };
    // The run's end: the last measurement written (the loadgen figures).
    let end = std::fs::metadata(&o.loadgen)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now())
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let date = cmd_line(
        "date",
        &["-u", "-d", &format!("@{}", o.since), "+%Y-%m-%d %H:%M UTC"],
    );

    let mut sum = Summary { rows: Vec::new() };
    let mut body = String::new();
    plugins_section(&o, &mut body, &mut sum);
    shipped_section(&o, &mut body, &mut sum);
    hello_section(&lg, &mut body, &mut sum);
    throughput_section(&lg, &mut body, &mut sum);
    cache_section(&lg, &mut body, &mut sum);
    output_section(&lg, &mut body);
    memory_section(&lg, &mut body, &mut sum);
    sandbox_section(&o, &mut body, &mut sum);
    steps_section(&o, &lg, &mut body);
    machine(&o, &mut body);

    let mut md = String::new();
    writeln!(md, "# Benchmarks\n").unwrap();
    writeln!(md, "Written by `make bench` (scripts/bench.sh), run started {date}, measuring for {:.0} minutes. Every figure below was measured in that run, and every ratio compares two figures of that run (the machine is shared and its load varies: see the load averages under Machine). \"cold\" is `codr serve` with `CODR_POOL_SIZE=0 CODR_COMPILE_CACHE_MB=0`; \"warm\" is `codr serve` with the warm pool and the compile cache on. Rerun with `make bench`.\n", (end.saturating_sub(o.since)) as f64 / 60.0).unwrap();
    writeln!(md, "## Targets\n").unwrap();
    writeln!(
        md,
        "| target | measured in this run | verdict |\n| --- | --- | --- |"
    )
    .unwrap();
    for (t, m, v) in &sum.rows {
        writeln!(md, "| {t} | {m} | {v} |").unwrap();
    }
    writeln!(md).unwrap();
    md.push_str(&body);
    std::fs::write(&o.out, md).unwrap_or_else(|e| panic!("cannot write {}: {e}", o.out.display()));
    eprintln!("[bench_report] wrote {}", o.out.display());
}
