//! Hello-world per language through the sandbox, beside the same interpreter
//! in a bare `firejail --quiet --noprofile --net=none` (the cold floor), and
//! beside firejail with exactly codr's flags run directly (what the host itself
//! adds: slot, job dir, cgroup, spawn, supervision, cleanup). Needs root and
//! scripts/setup-sandbox.sh. `cargo bench -p codr-sandbox --bench hello`.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codr_sandbox::{LimitOverrides, Plan, Sandbox, SandboxConfig, SourceFile, Status, Step};

const ROUNDS: usize = 15;

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

fn main() {
    let sb = Sandbox::new(SandboxConfig::default()).expect("sandbox");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
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
            "c (compile+run)",
            plan(
                "main.c",
                "#include <stdio.h>\nint main(void){puts(\"hello\");}\n",
                Some(step("gcc", &["-O2", "-o", "main", "main.c"])),
                step("./main", &[]),
            ),
            None,
        ),
        (
            "cpp (compile+run)",
            plan(
                "main.cpp",
                "#include <iostream>\nint main(){std::cout<<\"hello\\n\";}\n",
                Some(step("g++", &["-O2", "-o", "main", "main.cpp"])),
                step("./main", &[]),
            ),
            None,
        ),
        (
            "rust (compile+run)",
            plan(
                "main.rs",
                "fn main(){println!(\"hello\");}\n",
                Some(step("rustc", &["-O", "-o", "main", "main.rs"])),
                step("./main", &[]),
            ),
            None,
        ),
    ];
    // A job dir for the same-flags runs (slot 15, which the sandbox takes last).
    let user = format!("{}15", sb.config().user_prefix);
    let job_dir = sb.config().job_root.join("bench-same-flags");
    let (uid, gid, _) = codr_sandbox::slots::lookup_user(&user).expect("user");
    codr_sandbox::jobdir::create(&job_dir, uid, gid).unwrap();
    println!(
        "{:<20} {:>10} {:>12} {:>12} {:>10} {:>10}",
        "language", "codr ms", "floor ms", "flags ms", "x floor", "x flags"
    );
    for (name, p, floor) in cases {
        let rounds = if p.compile.is_some() { 5 } else { ROUNDS };
        let mut codr = Vec::new();
        let mut fl = Vec::new();
        let mut flags = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let o = rt.block_on(sb.run_batch(&p, b""));
            codr.push(t.elapsed());
            assert_eq!(o.status, Status::Ok, "{o:?}");
            if let Some((prog, args)) = &floor {
                fl.push(time_cmd(bare(prog, args)));
                std::fs::write(job_dir.join(&p.files[0].path), &p.files[0].content).unwrap();
                flags.push(time_cmd(same_flags(&sb, &p.run, &job_dir, &user)));
            }
        }
        let c = median(codr).as_secs_f64() * 1e3;
        if fl.is_empty() {
            println!(
                "{name:<20} {c:>10.1} {:>12} {:>12} {:>10} {:>10}",
                "-", "-", "-", "-"
            );
        } else {
            let f = median(fl).as_secs_f64() * 1e3;
            let g = median(flags).as_secs_f64() * 1e3;
            println!(
                "{name:<20} {c:>10.1} {f:>12.1} {g:>12.1} {:>10.2} {:>10.2}",
                c / f,
                c / g
            );
        }
    }
    codr_sandbox::jobdir::remove(&job_dir).unwrap();
}
