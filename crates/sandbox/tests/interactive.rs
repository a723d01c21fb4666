//! Interactive runs on a PTY through the real sandbox.
mod common;

use std::time::{Duration, Instant};

use codr_sandbox::{Control, Event, Stage, Status, Stream};
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
