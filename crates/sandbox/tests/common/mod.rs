//! Helpers for the real-sandbox tests: hand-made plans per language.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use codr_sandbox::{
    LimitOverrides, Outcome, Plan, Sandbox, SandboxConfig, SourceFile, Status, Step,
};

/// A hostile (or ordinary) program from tests/hostile.
#[macro_export]
macro_rules! hostile {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/hostile/",
            $name
        ))
    };
}

pub fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default())
        .expect("sandbox (run scripts/setup-sandbox.sh as root first)")
}

fn step(program: &str, args: &[&str]) -> Step {
    Step {
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        limits: LimitOverrides::default(),
    }
}

fn file(path: &str, content: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        content: content.into(),
        executable: false,
    }
}

pub fn python(src: &str) -> Plan {
    Plan {
        files: vec![file("main.py", src)],
        compile: None,
        run: step("/usr/bin/python3", &["main.py"]),
        artifacts: vec![],
    }
}

pub fn node(src: &str) -> Plan {
    Plan {
        files: vec![file("main.js", src)],
        compile: None,
        run: step("node", &["main.js"]),
        artifacts: vec![],
    }
}

pub fn c(src: &str) -> Plan {
    Plan {
        files: vec![file("main.c", src)],
        compile: Some(step(
            "gcc",
            &["-std=c11", "-O2", "-o", "main", "main.c", "-lm"],
        )),
        run: step("./main", &[]),
        artifacts: vec!["main".into()],
    }
}

pub fn cpp(src: &str) -> Plan {
    Plan {
        files: vec![file("main.cpp", src)],
        compile: Some(step(
            "g++",
            &["-std=c++17", "-O2", "-o", "main", "main.cpp"],
        )),
        run: step("./main", &[]),
        artifacts: vec!["main".into()],
    }
}

pub fn rust(src: &str) -> Plan {
    Plan {
        files: vec![file("main.rs", src)],
        compile: Some(step(
            "rustc",
            &["--edition", "2021", "-O", "-o", "main", "main.rs"],
        )),
        run: step("./main", &[]),
        artifacts: vec!["main".into()],
    }
}

/// Shorter wall time for the run step (keeps the suite quick).
pub fn wall(mut plan: Plan, ms: u64) -> Plan {
    plan.run.limits.wall_time_ms = Some(ms);
    plan
}

/// Runs in batch in a warm sandbox (the pool is on: the hostile programs
/// must meet a pooled sandbox exactly as they would a cold one) and measures.
pub async fn run(sb: &Sandbox, plan: &Plan) -> (Outcome, Duration) {
    let before = sb.pool_stats().handed_out;
    // Slots may all be busy for a moment (tests in parallel, one of which
    // holds every free slot): ask again until a warm sandbox is there.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        sb.prewarm(plan, false);
        while sb.pool_stats().starting > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if sb.pool_stats().ready > 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = Instant::now();
    let o = sb.run_batch(plan, b"").await;
    let took = t.elapsed();
    assert!(
        sb.pool_stats().handed_out > before,
        "the job did not run in a warm sandbox: {:?}",
        sb.pool_stats()
    );
    (o, took)
}

/// Nothing of any free slot is running, and an ordinary job still works.
pub async fn assert_clean_and_alive(sb: &Sandbox) {
    let left = sb.idle_leftovers();
    assert!(left.is_empty(), "processes left running: {left:?}");
    let o = sb.run_batch(&python("print('still alive')"), b"").await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(o.stdout, "still alive\n");
}

/// Asserts status and a time bound (the limit plus a few seconds).
pub fn expect(o: &Outcome, took: Duration, statuses: &[Status], max: Duration) {
    assert!(
        statuses.contains(&o.status),
        "status {:?} not in {statuses:?}: {o:#?}",
        o.status
    );
    assert!(took <= max, "took {took:?} > {max:?}: {o:#?}");
}
