//! The plan's commands with the real JDK, natively (plain processes, no
//! sandbox): the samples compile and print their expected output, every
//! program of the rule tests is valid Java, the JVM options hold up under
//! the plan's address-space limits, and javac reports compile errors.
//!
//! Needs `javac` and `java` in PATH (`make setup` installs a JDK).

mod programs;

use codr_plugin_java::{Java, COMPILE_ARGS};
use codr_sdk::testing::request;
use codr_sdk::{Language, Plan, PlanRequest, Step};

/// The plan, with the grammar (which finds the class names) loaded natively.
fn plan(request: &PlanRequest) -> Plan {
    codr_sdk::testing::load_grammar::<Java>();
    codr_plugin_java::plan(request)
}
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A fresh job directory, removed on drop.
struct JobDir(PathBuf);

impl JobDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("codr-java-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        JobDir(dir)
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `step` in `dir` the way the host would, minus the sandbox: an
/// environment from scratch (PATH, HOME, LANG=C as the least friendly
/// locale, plus the step's own), the step's address-space limit applied
/// with `ulimit -v`, `stdin` fed in.
fn run_step(dir: &Path, step: &Step, stdin: &str) -> (Output, Duration) {
    let kib = step
        .limits
        .address_space_bytes
        .expect("JVM steps set an address-space limit")
        / 1024;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -v \"$1\" && shift && exec \"$@\"")
        .arg("sh")
        .arg(kib.to_string())
        .arg(&step.program)
        .args(&step.args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("LANG", "C")
        .envs(step.env.iter().map(|e| (&e.name, &e.value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .expect("spawn sh (is a JDK installed? run `make setup`)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (output, started.elapsed())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes the plan's files, compiles, checks the artifacts, runs.
fn build_and_run(label: &str, source: &str, args: &[&str], stdin: &str) -> Output {
    let dir = JobDir::new(label);
    let plan: Plan = plan(&request(source, args, &[]));
    for file in &plan.files {
        std::fs::write(dir.0.join(&file.path), &file.content).unwrap();
    }
    let compile = plan.compile.as_ref().unwrap();
    let (out, took) = run_step(&dir.0, compile, "");
    assert!(
        out.status.success(),
        "{label}: javac failed: {}",
        text(&out.stderr)
    );
    let wall = Duration::from_millis(compile.limits.wall_time_ms.unwrap());
    assert!(
        took < wall,
        "{label}: javac took {took:?}, over the plan's {wall:?}"
    );
    eprintln!("{label}: javac {took:?}");
    assert_eq!(plan.artifacts, ["classes"]);
    assert!(dir.0.join("classes").is_dir(), "{label}: no classes/");
    for artifact in &plan.artifacts {
        assert!(
            dir.0.join(artifact).exists(),
            "{label}: artifact {artifact} missing"
        );
    }
    let (out, took) = run_step(&dir.0, &plan.run, stdin);
    eprintln!("{label}: java {took:?}");
    out
}

#[test]
fn samples_print_their_expected_output() {
    for sample in Java::samples() {
        let out = build_and_run(&sample.name, &sample.source, &[], &sample.stdin);
        assert!(
            out.status.success(),
            "{}: {}",
            sample.name,
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stdout),
            sample.expected_stdout,
            "sample {}",
            sample.name
        );
    }
}

#[test]
fn jvm_options_hold_up_under_the_limits() {
    // Deep recursion (needs the large stack), threads, a parallel stream,
    // 160 MB of arrays, non-ASCII output under LANG=C, and arguments.
    let source = r#"import java.util.*;
import java.util.stream.*;

public class Stress {
    static int depth(int n) { return n == 0 ? 0 : 1 + depth(n - 1); }

    public static void main(String[] args) throws Exception {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Thread t = new Thread(() -> { try { Thread.sleep(200); } catch (InterruptedException e) { } });
            t.start();
            threads.add(t);
        }
        System.out.println(IntStream.range(0, 1_000_000).parallel().map(x -> x % 7).sum());
        System.out.println(depth(300_000));
        int[][] big = new int[40][1_000_000];
        System.out.println(big.length * big[0].length);
        for (Thread t : threads) t.join();
        System.out.println("héllo ✓ " + String.join("+", args));
    }
}
"#;
    let out = build_and_run("stress", source, &["a", "b c"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "2999997\n300000\n40000000\nhéllo ✓ a+b c\n"
    );
}

#[test]
fn packaged_and_nested_main_classes_run() {
    let packaged = "package demo.app;\npublic class Tool {\n  public static void main(String[] a) { System.out.println(\"pkg \" + Tool.class.getName()); }\n}\n";
    let out = build_and_run("packaged", packaged, &[], "");
    assert_eq!(
        text(&out.stdout),
        "pkg demo.app.Tool\n",
        "{}",
        text(&out.stderr)
    );

    let nested = "public class Outer {\n  static class Inner {\n    public static void main(String[] a) { System.out.println(\"inner\"); }\n  }\n}\n";
    let out = build_and_run("nested", nested, &[], "");
    assert_eq!(text(&out.stdout), "inner\n", "{}", text(&out.stderr));
}

#[test]
fn javac_reports_compile_errors_with_file_and_line() {
    let dir = JobDir::new("error");
    let source = "public class Broken {\n  public static void main(String[] a) {\n    int x = \"text\";\n  }\n}\n";
    let plan = plan(&request(source, &[], &[]));
    std::fs::write(dir.0.join(&plan.files[0].path), source).unwrap();
    let (out, _) = run_step(&dir.0, plan.compile.as_ref().unwrap(), "");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Broken.java:3: error: incompatible types"),
        "{stderr}"
    );
}

#[test]
fn every_rule_test_program_is_valid_java() {
    // Rejected programs included: the rules must catch code javac accepts
    // (escaped quotes, escaped newlines in comments, zero-width spaces...).
    let dir = JobDir::new("programs");
    let mut files = Vec::new();
    for program in programs::REJECTED.iter().chain(programs::ACCEPTED) {
        let file = format!("{}.java", program.name);
        std::fs::write(dir.0.join(&file), program.source).unwrap();
        files.push(file);
    }
    let step = Step {
        program: "javac".into(),
        args: COMPILE_ARGS
            .iter()
            .map(|a| a.to_string())
            .chain(files)
            .collect(),
        env: vec![],
        limits: codr_plugin_java::compile_limits(),
    };
    let (out, took) = run_step(&dir.0, &step, "");
    eprintln!(
        "javac of {} programs: {took:?}",
        programs::REJECTED.len() + programs::ACCEPTED.len()
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}
