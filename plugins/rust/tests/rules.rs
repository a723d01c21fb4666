//! The Rust plugin's rules on rejected and accepted programs (native
//! tree-sitter through the SDK, no wasm runtime).

use codr_plugin_rust::Rust;
use codr_sdk::{Diagnostic, Language, Settings};

fn check(source: &str) -> Vec<Diagnostic> {
    Rust::validate(source, &Settings::default())
}

#[track_caller]
fn rejected(source: &str, rule: &str, line: u32, column: u32) {
    codr_sdk::testing::assert_rejected::<Rust>(source, rule, line, column);
}

#[track_caller]
fn accepted(source: &str) {
    codr_sdk::testing::assert_accepted::<Rust>(source);
}

#[test]
fn rejects_unsafe_blocks_fns_impls_and_traits() {
    let src = "struct P(*mut u8);\nunsafe impl Send for P {}\nunsafe trait Raw {}\nunsafe fn raw() {}\nfn main() {\n    unsafe { raw() }\n}\n";
    rejected(src, "unsafe-code", 2, 1);
    rejected(src, "unsafe-code", 3, 1);
    rejected(src, "unsafe-code", 4, 1);
    rejected(src, "unsafe-code", 6, 5);
    assert_eq!(check(src).len(), 4);
}

#[test]
fn rejects_unsafe_hidden_in_macros() {
    let src = "macro_rules! sneaky {\n    ($e:expr) => { unsafe { $e } };\n}\nfn main() {}\n";
    rejected(src, "unsafe-code", 2, 20);
}

#[test]
fn rejects_extern_blocks_and_crates() {
    let src = "extern crate libc;\nextern \"C\" {\n    fn abs(x: i32) -> i32;\n}\nfn main() {}\n";
    rejected(src, "extern", 1, 1);
    rejected(src, "extern", 2, 1);
}

#[test]
fn rejects_blocked_modules_in_use_paths() {
    let src = "use std::fs;\nuse std::{fs as f, io};\nuse std::process::Command;\nuse ::std::net as n;\nuse std::{io::Read, env::{self, var}};\nuse std::os::unix::fs::PermissionsExt;\nfn main() {}\n";
    rejected(src, "blocked-module", 1, 10);
    rejected(src, "blocked-module", 2, 11);
    rejected(src, "blocked-module", 3, 10);
    rejected(src, "blocked-module", 4, 12);
    rejected(src, "blocked-module", 5, 21);
    rejected(src, "blocked-module", 6, 10);
    let found = check(src);
    assert_eq!(found[0].message, "use of module 'std::fs' is not allowed");
}

#[test]
fn rejects_blocked_modules_in_qualified_calls_and_types() {
    let src = "fn main() {\n    let text = std::fs::read_to_string(\"/etc/passwd\");\n    let out = std::process::Command::new(\"ls\").output();\n    let home = std::env::var(\"HOME\");\n    let file: Option<std::fs::File> = None;\n    let _ = core::net::Ipv4Addr::LOCALHOST;\n    let _ = (text, out, home, file);\n}\n";
    rejected(src, "blocked-module", 2, 21);
    rejected(src, "blocked-module", 3, 20);
    rejected(src, "blocked-module", 4, 21);
    rejected(src, "blocked-module", 5, 27);
    rejected(src, "blocked-module", 6, 19);
}

#[test]
fn rejects_blocked_modules_inside_macro_arguments_and_bodies() {
    let src = "macro_rules! read {\n    () => { std::fs::read(\"x\") };\n}\nfn main() {\n    println!(\"{:?}\", std::fs::read_to_string(\"/etc/passwd\"));\n    let _ = read!();\n}\n";
    rejected(src, "blocked-module", 2, 18);
    rejected(src, "blocked-module", 5, 27);
}

#[test]
fn rejects_renaming_or_globbing_std() {
    rejected(
        "use std as s;\nfn main() { let _ = s::fs::read(\"x\"); }\n",
        "blocked-module",
        1,
        5,
    );
    rejected("use std::*;\nfn main() {}\n", "blocked-module", 1, 5);
    rejected(
        "use std::{self as s};\nfn main() {}\n",
        "blocked-module",
        1,
        11,
    );
    rejected(
        "macro_rules! m {\n    ($m:ident) => { std::$m::read(\"x\") };\n}\nfn main() {}\n",
        "blocked-module",
        2,
        26,
    );
}

#[test]
fn rejects_inline_asm() {
    let src = "use std::arch::asm;\nstd::arch::global_asm!(\"nop\");\nfn main() {\n    asm!(\"nop\");\n    core::arch::asm!(\"nop\");\n}\n";
    rejected(src, "inline-asm", 2, 12);
    rejected(src, "inline-asm", 4, 5);
    rejected(src, "inline-asm", 5, 17);
}

#[test]
fn rejects_file_and_environment_macros() {
    let src = "const SECRET: &str = include_str!(\"/etc/passwd\");\nstatic BYTES: &[u8] = include_bytes!(\"/etc/shadow\");\nfn main() {\n    let home = env!(\"HOME\");\n    let path = option_env!(\"PATH\");\n    let v = vec![std::include_str!(\"/proc/self/environ\")];\n    println!(\"{}\", include!(\"/etc/hostname\"));\n    let _ = (home, path, v);\n}\n";
    rejected(src, "blocked-macro", 1, 22);
    rejected(src, "blocked-macro", 2, 23);
    rejected(src, "blocked-macro", 4, 16);
    rejected(src, "blocked-macro", 5, 16);
    rejected(src, "blocked-macro", 6, 23);
    rejected(src, "blocked-macro", 7, 20);
    let found = check(src);
    assert_eq!(found[0].message, "macro 'include_str!' is not allowed");
}

#[test]
fn rejects_symbol_and_path_attributes() {
    let src = "#[path = \"/etc/passwd\"]\nmod secret;\n#[no_mangle]\npub extern \"C\" fn exported() {}\n#[cfg_attr(all(), export_name = \"main2\")]\nfn renamed() {}\nfn main() {}\n";
    rejected(src, "blocked-attribute", 1, 3);
    rejected(src, "blocked-attribute", 3, 3);
    rejected(src, "blocked-attribute", 5, 19);
}

#[test]
fn rejects_process_spawn_among_ordinary_code() {
    let src = "use std::io::{self, BufRead};\n\nfn main() {\n    let stdin = io::stdin();\n    for line in stdin.lock().lines() {\n        let line = line.unwrap();\n        if line == \"go\" {\n            std::process::Command::new(\"sh\").spawn().unwrap();\n        }\n    }\n}\n";
    let found = check(src);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].rule.as_str(), found[0].line, found[0].column),
        ("blocked-module", 8, 18)
    );
}

// ---- accepted programs ----

#[test]
fn accepts_reading_input() {
    accepted("use std::io::{self, BufRead, Read, Write};\n\nfn main() {\n    let mut first = String::new();\n    io::stdin().read_line(&mut first).unwrap();\n    let n: usize = first.trim().parse().unwrap_or(0);\n    let lines: Vec<String> = io::stdin().lock().lines().take(n).map(|l| l.unwrap()).collect();\n    let mut rest = String::new();\n    io::stdin().read_to_string(&mut rest).unwrap();\n    let out = io::stdout();\n    let mut out = out.lock();\n    writeln!(out, \"{} {}\", lines.len(), rest.len()).unwrap();\n}\n");
}

#[test]
fn accepts_traits_and_generics() {
    accepted("use std::fmt;\n\ntrait Shape {\n    fn area(&self) -> f64;\n    fn name(&self) -> String { \"shape\".to_string() }\n}\n\nstruct Circle { r: f64 }\n\nimpl Shape for Circle {\n    fn area(&self) -> f64 { std::f64::consts::PI * self.r * self.r }\n}\n\nimpl fmt::Display for Circle {\n    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, \"Circle({})\", self.r) }\n}\n\nfn largest<T: PartialOrd + Copy>(xs: &[T]) -> Option<T> {\n    xs.iter().copied().fold(None, |m, x| match m { Some(y) if y >= x => Some(y), _ => Some(x) })\n}\n\nfn total_area(shapes: &[Box<dyn Shape>]) -> f64 { shapes.iter().map(|s| s.area()).sum() }\n\nfn main() {\n    let shapes: Vec<Box<dyn Shape>> = vec![Box::new(Circle { r: 1.0 })];\n    println!(\"{:.2} {:?} {}\", total_area(&shapes), largest(&[3, 9, 2]), Circle { r: 2.0 });\n}\n");
}

#[test]
fn accepts_closures_and_iterators() {
    accepted("fn compose<A, B, C>(f: impl Fn(A) -> B, g: impl Fn(B) -> C) -> impl Fn(A) -> C {\n    move |x| g(f(x))\n}\n\nfn main() {\n    let add1 = |x: i32| x + 1;\n    let double = |x: i32| x * 2;\n    let both = compose(add1, double);\n    let evens: Vec<i32> = (1..=10).filter(|n| n % 2 == 0).map(&both).collect();\n    let mut counter = 0;\n    let mut bump = || counter += 1;\n    bump();\n    bump();\n    let (small, big): (Vec<i32>, Vec<i32>) = evens.iter().partition(|&&x| x < 10);\n    let words = [\"a\", \"bb\", \"ccc\"];\n    let lens: Vec<(usize, &str)> = words.iter().map(|w| (w.len(), *w)).rev().collect();\n    println!(\"{evens:?} {counter} {small:?} {big:?} {lens:?} {}\", words.iter().zip(1..).count());\n}\n");
}

#[test]
fn accepts_collections() {
    accepted("use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};\nuse std::cmp::Reverse;\n\nfn main() {\n    let text = \"the quick brown fox jumps over the lazy dog the end\";\n    let mut freq: HashMap<&str, usize> = HashMap::new();\n    for w in text.split_whitespace() { *freq.entry(w).or_insert(0) += 1; }\n    let sorted: BTreeMap<_, _> = freq.iter().collect();\n    let unique: HashSet<char> = text.chars().filter(|c| c.is_alphabetic()).collect();\n    let mut heap = BinaryHeap::new();\n    heap.push(Reverse(5));\n    heap.push(Reverse(1));\n    let mut q: VecDeque<i32> = VecDeque::new();\n    q.push_back(1);\n    q.push_front(0);\n    println!(\"{} {} {:?} {:?}\", sorted.len(), unique.len(), heap.pop(), q);\n}\n");
}

#[test]
fn accepts_enums_pattern_matching_and_errors() {
    accepted("use std::num::ParseIntError;\nuse std::str::FromStr;\n\n#[derive(Debug, Clone, PartialEq)]\nenum Cmd { Push(i64), Pop, Add }\n\nimpl FromStr for Cmd {\n    type Err = String;\n    fn from_str(s: &str) -> Result<Self, Self::Err> {\n        let parts: Vec<&str> = s.split(' ').collect();\n        match parts.as_slice() {\n            [\"push\", n] => n.parse().map(Cmd::Push).map_err(|e: ParseIntError| e.to_string()),\n            [\"pop\"] => Ok(Cmd::Pop),\n            [\"add\"] => Ok(Cmd::Add),\n            _ => Err(format!(\"bad command: {s}\")),\n        }\n    }\n}\n\nfn main() -> Result<(), String> {\n    let mut stack = Vec::new();\n    for line in [\"push 2\", \"push 3\", \"add\"] {\n        match line.parse::<Cmd>()? {\n            Cmd::Push(n) => stack.push(n),\n            Cmd::Pop => { stack.pop(); }\n            Cmd::Add => { let (a, b) = (stack.pop().unwrap(), stack.pop().unwrap()); stack.push(a + b); }\n        }\n    }\n    println!(\"{:?}\", stack);\n    Ok(())\n}\n");
}

#[test]
fn accepts_smart_pointers_and_lifetimes() {
    accepted("use std::cell::RefCell;\nuse std::rc::Rc;\n\n#[derive(Debug)]\nstruct Node { value: i32, children: Vec<Rc<RefCell<Node>>> }\n\nfn longest<'a>(a: &'a str, b: &'a str) -> &'a str { if a.len() >= b.len() { a } else { b } }\n\nfn sum(node: &Rc<RefCell<Node>>) -> i32 {\n    let n = node.borrow();\n    n.value + n.children.iter().map(sum).sum::<i32>()\n}\n\nfn main() {\n    let leaf = Rc::new(RefCell::new(Node { value: 3, children: vec![] }));\n    let root = Rc::new(RefCell::new(Node { value: 1, children: vec![Rc::clone(&leaf)] }));\n    leaf.borrow_mut().value += 1;\n    let boxed: Box<dyn Fn(i32) -> i32> = Box::new(|x| x * 3);\n    println!(\"{} {} {}\", sum(&root), longest(\"abc\", \"de\"), boxed(2));\n}\n");
}

#[test]
fn accepts_names_that_merely_look_blocked() {
    accepted("// std::fs::read and unsafe { } in a comment are fine\nstruct Config { env: String, fs: u8, process: bool }\n\nfn process(x: i32) -> i32 { x + 1 }\n\nmod net { pub fn connect() -> u8 { 1 } }\n\nfn main() {\n    let env = \"std::env::var(\\\"HOME\\\")\";\n    let c = Config { env: env.to_string(), fs: 2, process: true };\n    let unsafe_count = 0;\n    let include = \"include_str!(\\\"/etc/passwd\\\")\";\n    println!(\"{} {} {} {} {} {}\", c.env, c.fs, c.process, process(unsafe_count), net::connect(), include);\n}\n");
}

#[test]
fn accepts_std_fmt_io_and_math() {
    accepted("use std::fmt::Write as FmtWrite;\nuse std::io::{self, Write};\nuse std::ops::{Add, Mul};\n\n#[derive(Debug, Clone, Copy, Default)]\nstruct V(f64, f64);\nimpl Add for V { type Output = V; fn add(self, o: V) -> V { V(self.0 + o.0, self.1 + o.1) } }\nimpl Mul<f64> for V { type Output = V; fn mul(self, k: f64) -> V { V(self.0 * k, self.1 * k) } }\n\nfn main() {\n    let mut s = String::new();\n    write!(s, \"{:>8.3}\", (2.0f64).sqrt().powi(3)).unwrap();\n    let v = (V(1.0, 2.0) + V::default()) * 2.5;\n    let g = (48u64..=60).fold(0, |a, b| if a == 0 { b } else { gcd(a, b) });\n    writeln!(io::stdout(), \"{s} {v:?} {g} {}\", i64::MAX.checked_add(1).is_none()).unwrap();\n}\n\nfn gcd(a: u64, b: u64) -> u64 { if b == 0 { a } else { gcd(b, a % b) } }\n");
}

#[test]
fn accepts_threads_and_modules() {
    accepted("use std::sync::{mpsc, Arc, Mutex};\nuse std::thread;\n\nmod math {\n    pub mod primes {\n        pub fn is_prime(n: u64) -> bool { n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0) }\n    }\n}\n\nuse math::primes::is_prime;\n\nfn main() {\n    let total = Arc::new(Mutex::new(0));\n    let (tx, rx) = mpsc::channel();\n    let handles: Vec<_> = (0..2).map(|i| {\n        let total = Arc::clone(&total);\n        let tx = tx.clone();\n        thread::spawn(move || { *total.lock().unwrap() += i; tx.send(is_prime(7 + i)).unwrap(); })\n    }).collect();\n    for h in handles { h.join().unwrap(); }\n    drop(tx);\n    println!(\"{} {:?}\", *total.lock().unwrap(), rx.iter().collect::<Vec<_>>());\n}\n");
}

#[test]
fn accepts_the_samples() {
    for sample in Rust::samples() {
        accepted(&sample.source);
    }
}

// ---- settings ----

#[test]
fn operator_can_allow_modules_in_either_spelling() {
    let src = "use std::env;\nfn main() { let _ = env::args(); let _ = std::fs::read(\"x\"); }\n";
    assert_eq!(check(src).len(), 2);
    let settings = Settings::from_pairs(&[("allow-modules", "env, std::fs")]);
    assert!(Rust::validate(src, &settings).is_empty());
}

#[test]
fn operator_can_disable_rules() {
    let src = "fn main() { unsafe {} }\n";
    assert_eq!(check(src)[0].rule, "unsafe-code");
    let settings = Settings::from_pairs(&[("disable-rules", "unsafe-code")]);
    assert!(Rust::validate(src, &settings).is_empty());
}

#[test]
fn accepts_exit_and_arguments() {
    accepted("use std::env::args;\nuse std::process::exit;\n\nfn main() -> std::process::ExitCode {\n    let all: Vec<String> = std::env::args().collect();\n    if all.len() > 5 {\n        exit(2);\n    }\n    if args().count() > 4 {\n        std::process::abort();\n    }\n    println!(\"{}\", std::env::args().count());\n    if all.is_empty() {\n        std::process::exit(1);\n    }\n    std::process::ExitCode::SUCCESS\n}\n");
}

#[test]
fn harmless_items_do_not_excuse_the_rest_of_the_module() {
    let src = "fn main() {\n    let _ = std::env::args();\n    let _ = std::env::vars();\n    std::process::exit(0);\n}\n";
    let found = check(src);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].rule.as_str(), found[0].line, found[0].column),
        ("blocked-module", 3, 18)
    );
}

#[test]
fn rejects_raw_identifier_spellings() {
    rejected(
        "fn main() { let _ = std::r#fs::read(\"x\"); }\n",
        "blocked-module",
        1,
        26,
    );
    rejected(
        "fn main() { let _ = r#include_str!(\"/etc/passwd\"); }\n",
        "blocked-macro",
        1,
        21,
    );
}

#[test]
fn internal_markers_are_not_listed() {
    let ids: Vec<String> = Rust::rules().into_iter().map(|r| r.id).collect();
    for id in [
        "unsafe-code",
        "extern",
        "blocked-module",
        "inline-asm",
        "blocked-macro",
        "blocked-attribute",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    assert!(!ids.iter().any(|i| i == "harmless-std-item"));
}

#[test]
fn rejects_paths_and_macros_glued_together_by_macros() {
    let glue = "macro_rules! p {\n    ($a:ident, $b:ident) => { $a::$b::read(\"x\") };\n}\nfn main() {\n    let _ = p!(std, fs);\n}\n";
    rejected(glue, "blocked-module", 5, 16);
    let call = "macro_rules! call {\n    ($m:ident) => { $m!(\"/etc/passwd\") };\n}\nfn main() {\n    let _ = call!(include_str);\n}\n";
    rejected(call, "blocked-macro", 2, 21);
    // A path that goes on from std inside a macro argument is fine.
    accepted("fn main() {\n    let v: Vec<u8> = vec![std::u8::MAX, 1];\n    println!(\"{:?} {}\", v, std::cmp::max(1, 2));\n}\n");
}
