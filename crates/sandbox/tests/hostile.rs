//! Hostile programs through the real sandbox (firejail, cgroups, sandbox users),
//! with no validation in front. Needs root and scripts/setup-sandbox.sh.
mod common;

use std::time::Duration;

use codr_sandbox::Status;
use common::*;

const S: fn(u64) -> Duration = Duration::from_secs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_features_per_language() {
    let sb = sandbox();
    let cases = [
        (python(hostile!("modern.py")), "py310 origin x=3 kind=k 1\n"),
        (node(hostile!("modern.js")), "node 2 default 3 true\n"),
        (c(hostile!("modern.c")), "C11 int double 42\n"),
        (cpp(hostile!("modern.cpp")), "cpp17 3\n"),
        (rust(hostile!("modern.rs")), "rust2021 2 [2, 4, 6]\n"),
    ];
    for (plan, want) in cases {
        let (o, _) = run(&sb, &plan).await;
        assert_eq!(o.status, Status::Ok, "{o:#?}");
        assert_eq!(o.stdout, want);
    }
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_code_stdin_and_signal_propagate() {
    let sb = sandbox();
    let o = sb
        .run_batch(
            &python("import sys; print(sys.stdin.read().upper()); sys.exit(3)"),
            b"abc",
        )
        .await;
    assert_eq!(
        (o.status, o.exit_code, o.stdout.as_str()),
        (Status::RuntimeError, Some(3), "ABC\n")
    );
    let o = sb
        .run_batch(&python("import os; os.kill(os.getpid(), 11)"), b"")
        .await;
    assert_eq!(o.status, Status::RuntimeError);
    assert_eq!(o.signal.as_deref(), Some("SIGSEGV"), "{o:#?}");
    let o = sb
        .run_batch(
            &python("import sys; sys.stderr.write('err'); print('out')"),
            b"",
        )
        .await;
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("out\n", "err"));
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_bombs() {
    let sb = sandbox();
    for plan in [
        wall(python(hostile!("fork_bomb.py")), 3000),
        wall(c(hostile!("fork_bomb.c")), 3000),
    ] {
        let (o, took) = run(&sb, &plan).await;
        expect(&o, took, &[Status::TimeLimit], S(3 + 10 + 4));
        assert_clean_and_alive(&sb).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_hogs() {
    let sb = sandbox();
    for plan in [
        python(hostile!("memory_hog.py")),
        c(hostile!("memory_hog.c")),
    ] {
        let (o, took) = run(&sb, &plan).await;
        expect(&o, took, &[Status::MemoryLimit], S(7 + 10 + 4));
        assert!(o.memory_bytes > 200 << 20, "peak {}", o.memory_bytes);
        assert_clean_and_alive(&sb).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_flood() {
    let sb = sandbox();
    let (o, took) = run(&sb, &python(hostile!("output_flood.py"))).await;
    expect(&o, took, &[Status::OutputLimit], S(7 + 3));
    assert!(
        o.stdout.len() <= 1 << 20 && o.stdout.len() > 1000,
        "{}",
        o.stdout.len()
    );
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeping_forever_hits_the_default_wall_limit() {
    let sb = sandbox();
    let (o, took) = run(&sb, &python(hostile!("sleep_forever.py"))).await;
    expect(&o, took, &[Status::TimeLimit], S(7 + 3));
    assert!(took >= Duration::from_millis(6900), "{took:?}");
    assert!(
        o.message.as_deref().unwrap_or("").contains("wall"),
        "{o:#?}"
    );
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_loop_hits_the_cpu_limit() {
    let sb = sandbox();
    let mut plan = c(hostile!("busy_loop.c"));
    plan.run.limits.cpu_time_ms = Some(1500);
    let (o, took) = run(&sb, &plan).await;
    expect(&o, took, &[Status::TimeLimit], S(10 + 7 + 3));
    assert!(o.cpu_time_ms >= 1400, "{o:#?}");
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignoring_sigterm_and_sighup_does_not_help() {
    let sb = sandbox();
    let (o, took) = run(&sb, &wall(python(hostile!("ignore_signals.py")), 1500)).await;
    expect(&o, took, &[Status::TimeLimit], S(1 + 3));
    assert_eq!(o.stdout, "ignoring\n");
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_spinning_threads() {
    let sb = sandbox();
    let mut plan = rust(hostile!("threads.rs"));
    plan.run.limits.cpu_time_ms = Some(2000);
    let (o, took) = run(&sb, &plan).await;
    expect(&o, took, &[Status::TimeLimit], S(10 + 7 + 3));
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_network_outside_or_to_loopback_services() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sb = sandbox();
    let mut plan = python(hostile!("network.py"));
    plan.run.args.push(port.to_string());
    let (o, _) = run(&sb, &plan).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert!(
        !o.stdout.contains("CONNECTED") && !o.stdout.contains("RESOLVED"),
        "{}",
        o.stdout
    );
    assert_eq!(o.stdout.matches("refused").count(), 3, "{}", o.stdout);
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "the listener saw a connection");
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_files_are_out_of_reach() {
    let sb = sandbox();
    let checkout_file = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut plan = python(hostile!("read_host_files.py"));
    plan.run.args.push(checkout_file.into());
    let (o, _) = run(&sb, &plan).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    for t in [
        checkout_file,
        "/root",
        "/etc/shadow",
        "/work",
        "/srv/codr/jobs",
        "/etc/hostname",
    ] {
        assert!(
            o.stdout.contains(&format!("denied {t} ")),
            "{t} readable:\n{}",
            o.stdout
        );
    }
    // /home is Firejail's empty tmpfs (`--private=`): nothing of the host's.
    assert!(
        o.stdout.contains("denied /home ") || o.stdout.contains("LISTED /home []"),
        "/home shows something:\n{}",
        o.stdout
    );
    // /proc/1 inside is the sandbox's own init: it holds nothing of the host.
    assert!(!o.stdout.contains("process_api"), "{}", o.stdout);
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stay_inside_the_job() {
    let sb = sandbox();
    let (o, _) = run(&sb, &python(hostile!("write_outside.py"))).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert!(!o.stdout.contains("WROTE"), "{}", o.stdout);
    assert!(o.stdout.contains("inside ok"));
    for d in [
        "/",
        "/etc",
        "/usr",
        "/var/tmp",
        "/srv",
        "/srv/codr",
        "/opt",
        "/var/lib",
        "/run",
    ] {
        assert!(
            !std::path::Path::new(d).join("codr-escape").exists(),
            "escaped into {d}"
        );
    }
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_is_built_from_scratch() {
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("CODR_TEST_SECRET", "hunter2-very-secret") };
    let sb = sandbox();
    let mut plan = python(hostile!("print_env.py"));
    plan.run.env.push(("PLAN_VAR".into(), "from-plan".into()));
    let (o, _) = run(&sb, &plan).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert!(!o.stdout.contains("hunter2"), "{}", o.stdout);
    assert!(o.stdout.contains("PLAN_VAR=from-plan\n"));
    assert!(o.stdout.contains("LANG=C.UTF-8\n"));
    for (k, _) in std::env::vars() {
        // Set by firejail (container, SHELL, LC_CTYPE) or by the reaper shell (PWD, SHLVL...).
        let allowed = [
            "PATH",
            "HOME",
            "LANG",
            "TERM",
            "SHELL",
            "container",
            "LC_CTYPE",
            "PWD",
            "OLDPWD",
            "SHLVL",
            "_",
        ];
        if !allowed.contains(&k.as_str()) {
            assert!(
                !o.stdout.contains(&format!("\n{k}=")),
                "host variable {k} leaked:\n{}",
                o.stdout
            );
        }
    }
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_processes_die_with_the_job() {
    let sb = sandbox();
    let (o, took) = run(&sb, &python(hostile!("background.py"))).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert!(took < S(3), "{took:?}");
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_root_inside() {
    let sb = sandbox();
    let (o, _) = run(&sb, &python(hostile!("uid.py"))).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert!(
        !o.stdout.contains("uid 0 ") && !o.stdout.contains("euid 0 "),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("groups []"), "{}", o.stdout);
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_bombs() {
    let sb = sandbox();
    let plans = [
        c(hostile!("include_random.c")),
        cpp(hostile!("template_bomb.cpp")),
        c(hostile!("big_static.c")),
        rust(hostile!("include_shadow.rs")),
        rust(hostile!("include_checkout.rs")),
    ];
    for plan in plans {
        let (o, took) = run(&sb, &plan).await;
        eprintln!(
            "{}: {:?} {:?} {took:?}",
            plan.files[0].content.lines().next().unwrap_or(""),
            o.status,
            o.message
        );
        expect(
            &o,
            took,
            &[Status::CompileError, Status::TimeLimit, Status::MemoryLimit],
            S(10 + 4),
        );
        assert!(o.compile_output.is_some(), "{o:#?}");
        assert!(
            !o.compile_output
                .as_deref()
                .unwrap_or("")
                .contains("[workspace]"),
            "{o:#?}"
        );
        assert_clean_and_alive(&sb).await;
    }
}
