//! Hello-world per language through the sandbox, beside the same interpreter
//! in a bare `firejail --quiet --noprofile --net=none` (the cold floor), and
//! beside firejail with exactly codr's flags run directly (what the host itself
//! adds: slot, job dir, cgroup, spawn, supervision, cleanup). Needs root and
//! scripts/setup-sandbox.sh. `cargo bench -p codr-sandbox --bench hello`.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codr_sandbox::{LimitOverrides, Plan, Sandbox, SandboxConfig, SourceFile, Status, Step};

const ROUNDS: usize = 12;

fn step(program: &str, args: &[&str]) -> Step {
    Step {
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        limits: LimitOverrides::default(),
    }
}

fn plan(file: &str, src: &str, compile: Option<Step>, run: Step) -> Plan {
    Plan {
        files: vec![SourceFile {
            path: file.into(),
            content: src.into(),
            executable: false,
        }],
        compile,
        run,
        artifacts: vec![],
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_cmd(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn");
    assert!(st.success(), "{cmd:?} failed");
    t.elapsed()
}

fn bare(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new("firejail");
    c.args(["--quiet", "--noprofile", "--net=none", program])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    c
}

/// Firejail with codr's own flags, as the slot user, without the host around it.
fn same_flags(sb: &Sandbox, step: &Step, job_dir: &std::path::Path, user: &str) -> Command {
    let args = sb.firejail_args_for(step, job_dir);
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid",
        user,
        "--regid",
        user,
        "--clear-groups",
        "firejail",
    ])
    .args(args);
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir(format!("/srv/codr/home/{user}"));
    c
}

/// Median wall time of `rounds` batch runs of `p` (each must succeed).
fn time_jobs(rt: &tokio::runtime::Runtime, sb: &Sandbox, p: &Plan, rounds: usize) -> f64 {
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let o = rt.block_on(sb.run_batch(p, b""));
        v.push(t.elapsed());
        assert_eq!(o.status, Status::Ok, "{o:?}");
        // Give the pool its background refill, as a job arriving later would.
        std::thread::sleep(Duration::from_millis(60));
    }
    median(v).as_secs_f64() * 1e3
}

/// A language's name, its hello-world plan, and the bare command of its floor.
type Case = (
    &'static str,
    Plan,
    Option<(&'static str, Vec<&'static str>)>,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "python",
            plan(
                "main.py",
                "print('hello')\n",
                None,
                step("/usr/bin/python3", &["main.py"]),
            ),
            Some(("/usr/bin/python3", vec!["-c", "print('hello')"])),
        ),
        (
            "node",
            plan(
                "main.js",
                "console.log('hello')\n",
                None,
                step("node", &["main.js"]),
            ),
            Some(("/usr/bin/node", vec!["-e", "console.log('hello')"])),
        ),
        (
            "c",
            plan(
                "main.c",
                "#include <stdio.h>\nint main(void){puts(\"hello\");}\n",
                Some(step("gcc", &["-O2", "-o", "main", "main.c"])),
                step("./main", &[]),
            ),
            None,
        ),
        (
            "cpp",
            plan(
                "main.cpp",
                "#include <iostream>\nint main(){std::cout<<\"hello\\n\";}\n",
                Some(step("g++", &["-O2", "-o", "main", "main.cpp"])),
                step("./main", &[]),
            ),
            None,
        ),
        (
            "rust",
            plan(
                "main.rs",
                "fn main(){println!(\"hello\");}\n",
                Some(step("rustc", &["-O", "-o", "main", "main.rs"])),
                step("./main", &[]),
            ),
            None,
        ),
    ]
}

/// The plan's program compiled outside the sandbox into a directory the
/// sandbox can read, and a plan that only runs it: the run-only floor of a
/// compile-cache hit.
fn run_only(p: &Plan, dir: &std::path::Path) -> Plan {
    let compile = p.compile.as_ref().expect("a compiled plan");
    let src = dir.join(&p.files[0].path);
    std::fs::write(&src, &p.files[0].content).unwrap();
    let mut args = compile.args.clone();
    for a in args.iter_mut() {
        if a == "main" || *a == p.files[0].path {
            *a = dir.join(&*a).to_string_lossy().into_owned();
        }
    }
    let st = Command::new(if compile.program == "rustc" {
        "/opt/codr/rust/bin/rustc"
    } else {
        &compile.program
    })
    .args(&args)
    .status()
    .unwrap();
    assert!(st.success());
    plan(
        "unused.txt",
        "",
        None,
        step(dir.join("main").to_str().unwrap(), &[]),
    )
}

fn main() {
    let cold_config = || {
        let mut c = SandboxConfig::for_one_job();
        c.compile_cache = None;
        c
    };
    let cold = Sandbox::new(cold_config()).expect("sandbox");
    let warm = Sandbox::new(SandboxConfig::default()).expect("sandbox");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // A job dir for the same-flags runs (slot 15, which the sandbox takes last).
    let user = format!("{}15", cold.config().user_prefix);
    let job_dir = cold.config().job_root.join("bench-same-flags");
    let (uid, gid, _) = codr_sandbox::slots::lookup_user(&user).expect("user");
    codr_sandbox::jobdir::create(&job_dir, uid, gid, None).unwrap();
    let bin_dir = std::path::Path::new("/srv/codr/bench");
    std::fs::create_dir_all(bin_dir).unwrap();
    println!("Interpreted: one job, cold (no pool) and warm (pool), beside bare firejail (floor)");
    println!("and firejail with codr's flags run directly (flags). Compiled: compile+run cold");
    println!("(cache off), a warm job hitting the compile cache, and a warm run-only job of the");
    println!("same binary compiled outside. Medians, ms; ratios from the same run.");
    println!(
        "{:<8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "language", "cold", "warm", "floor", "flags", "cold/fl", "warm/fl", "cold/flg"
    );
    for (name, p, floor) in cases() {
        if let Some((prog, args)) = &floor {
            let (mut c, mut w, mut f, mut g) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            // Interleaved, so that load on the machine falls on all alike.
            for _ in 0..ROUNDS {
                c.push(Duration::from_secs_f64(time_jobs(&rt, &cold, &p, 1) / 1e3));
                w.push(Duration::from_secs_f64(time_jobs(&rt, &warm, &p, 1) / 1e3));
                f.push(time_cmd(bare(prog, args)));
                std::fs::write(job_dir.join(&p.files[0].path), &p.files[0].content).unwrap();
                g.push(time_cmd(same_flags(&cold, &p.run, &job_dir, &user)));
            }
            let ms = |v: Vec<Duration>| median(v).as_secs_f64() * 1e3;
            let (c, w, f, g) = (ms(c), ms(w), ms(f), ms(g));
            println!(
                "{name:<8} {c:>8.1} {w:>8.1} {f:>8.1} {g:>8.1} {:>9.2} {:>9.2} {:>9.2}",
                c / f,
                w / f,
                c / g
            );
        } else {
            let miss = time_jobs(&rt, &cold, &p, 3);
            let hit = time_jobs(&rt, &warm, &p, 6);
            let only = time_jobs(&rt, &warm, &run_only(&p, bin_dir), 6);
            println!(
                "{name:<8} compile+run cold {miss:.1}, cache hit warm {hit:.1}, run-only warm {only:.1}: hit/run-only {:.2}",
                hit / only
            );
        }
    }
    warm.clear_pool();
    codr_sandbox::jobdir::remove(&job_dir).unwrap();
    let _ = std::fs::remove_dir_all(bin_dir);
}
