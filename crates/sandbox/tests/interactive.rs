//! Interactive runs on a PTY through the real sandbox.
mod common;

use std::time::{Duration, Instant};

use codr_sandbox::{Control, Event, SandboxConfig, SessionClock, Stage, Status, Stream};
use common::*;
use tokio::sync::mpsc;

/// Collects events until the run ends.
async fn collect(mut rx: mpsc::Receiver<Event>) -> (Vec<Stage>, String, String) {
    let (mut stages, mut out, mut compile) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Stage(s) => stages.push(s),
            Event::Output {
                stream: Stream::Compile,
                data,
            } => compile.extend(data),
            Event::Output { data, .. } => out.extend(data),
            Event::InputRequired => {}
        }
    }
    (
        stages,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&compile).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_reaches_the_program_and_output_streams() {
    let sb = sandbox();
    let plan = python(
        "import sys\nname = input('name? ')\nprint('hi', name)\nprint(sys.stdout.isatty())\n",
    );
    let (ev_tx, ev_rx) = mpsc::channel(64);
    let (ctl_tx, ctl_rx) = mpsc::channel(64);
    let collector = tokio::spawn(collect(ev_rx));
    ctl_tx
        .send(Control::Resize {
            rows: 40,
            cols: 100,
        })
        .await
        .unwrap();
    ctl_tx
        .send(Control::Input(b"bob\n".to_vec()))
        .await
        .unwrap();
    let o = sb.run_interactive(&plan, ev_tx, ctl_rx).await;
    drop(ctl_tx);
    let (stages, out, _) = collector.await.unwrap();
    assert_eq!(o.status, Status::Ok, "{o:#?} {out:?}");
    assert_eq!(stages, vec![Stage::Running]);
    // The PTY echoes input and turns \n into \r\n.
    assert!(out.contains("hi bob\r\n"), "{out:?}");
    assert!(out.contains("True"), "{out:?}");
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_output_is_streamed() {
    let sb = sandbox();
    let plan = c("#warning \"compiler says hi\"\n#include <stdio.h>\nint main(void){puts(\"ran\");return 0;}\n");
    let (ev_tx, ev_rx) = mpsc::channel(64);
    let (ctl_tx, ctl_rx) = mpsc::channel(64);
    let collector = tokio::spawn(collect(ev_rx));
    let o = sb.run_interactive(&plan, ev_tx, ctl_rx).await;
    drop(ctl_tx);
    let (stages, out, compile) = collector.await.unwrap();
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert_eq!(stages, vec![Stage::Compiling, Stage::Running]);
    assert!(compile.contains("compiler says hi"), "{compile:?}");
    assert!(o.compile_output.unwrap().contains("compiler says hi"));
    assert_eq!(out, "ran\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_client_gone_stop_the_tree_promptly() {
    let sb = sandbox();
    for close_instead in [false, true] {
        let plan = python(hostile!("ignore_signals.py"));
        let (ev_tx, ev_rx) = mpsc::channel(64);
        let (ctl_tx, ctl_rx) = mpsc::channel(64);
        let collector = tokio::spawn(collect(ev_rx));
        let killer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let at = Instant::now();
            if close_instead {
                drop(ctl_tx);
            } else {
                ctl_tx.send(Control::Kill).await.unwrap();
                // Keep the sender alive until the end.
                tokio::time::sleep(Duration::from_secs(3)).await;
                drop(ctl_tx);
            }
            at
        });
        let o = sb.run_interactive(&plan, ev_tx, ctl_rx).await;
        let ended = Instant::now();
        let asked = killer.await.unwrap();
        let (_, out, _) = collector.await.unwrap();
        assert_eq!(o.status, Status::RuntimeError, "{o:#?}");
        assert_eq!(o.message.as_deref(), Some("killed"));
        assert!(out.contains("ignoring"), "{out:?}");
        let lag = ended.saturating_duration_since(asked);
        assert!(lag < Duration::from_secs(1), "took {lag:?} to stop");
        assert_clean_and_alive(&sb).await;
    }
}

/// A sandbox whose sessions have `clock`.
fn sandbox_with_clock(clock: SessionClock) -> codr_sandbox::Sandbox {
    let config = SandboxConfig {
        session: clock,
        ..SandboxConfig::default()
    };
    codr_sandbox::Sandbox::new(config).expect("sandbox (run scripts/setup-sandbox.sh first)")
}

/// Runs `plan` interactively, answering each `input_required` with the
/// next of `answers` after `think`; returns the outcome, the output and
/// how long it took.
async fn run_answering(
    sb: &codr_sandbox::Sandbox,
    plan: &codr_sandbox::Plan,
    answers: &[&str],
    think: Duration,
) -> (codr_sandbox::Outcome, String, Duration) {
    let (ev_tx, mut ev_rx) = mpsc::channel(64);
    let (ctl_tx, ctl_rx) = mpsc::channel(64);
    let answers: Vec<String> = answers.iter().map(|a| format!("{a}\n")).collect();
    let user = tokio::spawn(async move {
        let mut out = Vec::new();
        let mut answers = answers.into_iter();
        while let Some(event) = ev_rx.recv().await {
            match event {
                Event::Output { data, .. } => out.extend(data),
                Event::InputRequired => {
                    if let Some(a) = answers.next() {
                        tokio::time::sleep(think).await;
                        let _ = ctl_tx.send(Control::Input(a.into_bytes())).await;
                    }
                }
                Event::Stage(_) => {}
            }
        }
        drop(ctl_tx);
        String::from_utf8_lossy(&out).into_owned()
    });
    let started = Instant::now();
    let o = sb.run_interactive(plan, ev_tx, ctl_rx).await;
    let took = started.elapsed();
    (o, user.await.unwrap(), took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_stands_still_while_the_program_waits_for_its_user() {
    let sb = sandbox();
    // 1.5 s of wall time; the user takes 2 s to answer each of two prompts.
    let plan = wall(
        python("a = input('a? ')\nb = input('b? ')\nprint('got', a, b)\n"),
        1_500,
    );
    let (o, out, took) = run_answering(&sb, &plan, &["x", "y"], Duration::from_secs(2)).await;
    assert_eq!(o.status, Status::Ok, "{o:#?} {out:?}");
    assert!(out.contains("got x y"), "{out:?}");
    assert!(took > Duration::from_secs(4), "the user's 4 s: {took:?}");
    assert!(o.wall_time_ms > 4_000, "{o:#?}");
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_spins_still_meets_its_limits() {
    let sb = sandbox();
    // Waits once (not counted), then spins: the wall clock, moved by the
    // wait, still ends it.
    let plan = wall(python("input('go? ')\nwhile True:\n    pass\n"), 1_500);
    let (o, _, took) = run_answering(&sb, &plan, &["go"], Duration::from_secs(1)).await;
    assert_eq!(o.status, Status::TimeLimit, "{o:#?}");
    let message = o.message.clone().unwrap_or_default();
    assert!(
        message.contains("not counting") || message.contains("cpu"),
        "{message}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // CPU time is never paused: a tight CPU limit ends a spinning program
    // whatever the wall clock says.
    let mut plan = python("while True:\n    pass\n");
    plan.run.limits.cpu_time_ms = Some(800);
    let (o, _, took) = run_answering(&sb, &plan, &[], Duration::ZERO).await;
    assert_eq!(o.status, Status::TimeLimit, "{o:#?}");
    assert!(o.message.unwrap_or_default().contains("cpu"));
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_user_never_answers_ends_idle() {
    let sb = sandbox_with_clock(SessionClock {
        input_timeout_ms: 1_500,
        max_ms: 60_000,
    });
    let plan = python("name = input('name? ')\nprint('hi', name)\n");
    let (o, out, took) = run_answering(&sb, &plan, &[], Duration::ZERO).await;
    assert_eq!(o.status, Status::IdleTimeout, "{o:#?}");
    assert_eq!(o.status.as_str(), "idle_timeout");
    assert!(o.message.unwrap_or_default().contains("no input"));
    assert!(out.contains("name? "), "{out:?}");
    assert!(
        took >= Duration::from_millis(1_500) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_at_its_ceiling_however_it_waits() {
    let sb = sandbox_with_clock(SessionClock {
        input_timeout_ms: 60_000,
        max_ms: 2_500,
    });
    // Asks forever; the user answers each prompt after 0.4 s.
    let plan = python("while True:\n    input('more? ')\n");
    let answers = ["y"; 100];
    let (o, _, took) = run_answering(&sb, &plan, &answers, Duration::from_millis(400)).await;
    assert_eq!(o.status, Status::TimeLimit, "{o:#?}");
    assert!(
        o.message.unwrap_or_default().contains("session time limit"),
        "ceiling"
    );
    assert!(
        took >= Duration::from_millis(2_500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_clean_and_alive(&sb).await;
}
