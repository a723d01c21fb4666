//! End-to-end: live sessions through the running service. The clock does not
//! count the user's thinking, a session nobody answers ends `idle_timeout`,
//! sessions do not queue behind batch jobs, and over Redis a full worker
//! leaves sessions to the others.
mod common;

use std::time::{Duration, Instant};

use common::{post, Service, Transcript, Ws};
use serde_json::json;

const ASK: &str = "name = input('name? ')\nprint('hi', name)\n";

/// Waits for the prompt of a session started with [`ASK`]; how long it took.
async fn prompted(ws: &mut Ws, t: &mut Transcript, limit: Duration) -> Duration {
    let started = Instant::now();
    assert!(
        ws.read_until_output("name? ", limit, t).await,
        "no prompt within {limit:?}: {:?}",
        t.messages
    );
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_takes_20_s_to_answer_still_ends_ok() {
    // The default run limit is 7 s of wall time.
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let mut ws = svc.start_job("python", ASK).await;
    let mut t = Transcript::default();
    prompted(&mut ws, &mut t, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    ws.input("ada\n").await;
    ws.finish(Duration::from_secs(10), &mut t).await;
    t.assert_ok();
    assert!(t.output.contains("hi ada"), "{:?}", t.output);
    let complete = t.complete.as_ref().unwrap();
    assert!(
        complete["wall_time_ms"].as_u64().unwrap() > 20_000,
        "{complete}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_nobody_answers_ends_idle_at_the_input_timeout() {
    let svc = Service::embedded(&["--session-input-timeout", "3s"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let mut ws = svc.start_job("python", ASK).await;
    let mut t = Transcript::default();
    prompted(&mut ws, &mut t, Duration::from_secs(10)).await;
    let waited = Instant::now();
    ws.finish(Duration::from_secs(15), &mut t).await;
    let took = waited.elapsed();
    assert_eq!(t.status(), Some("idle_timeout"), "{:?}", t.messages);
    let message = t.complete.as_ref().unwrap()["message"].to_string();
    assert!(message.contains("no input"), "{message}");
    assert!(
        took >= Duration::from_millis(2_500) && took < Duration::from_secs(7),
        "ended {took:?} after the prompt"
    );
    // The server goes on serving.
    let t = svc
        .converse("python", ASK, ("name? ", "bo\n"), Duration::from_secs(15))
        .await;
    assert!(t.output.contains("hi bo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_do_not_wait_behind_batch_jobs() {
    // One batch job at a time; it runs for 5 s.
    let svc = Service::embedded(&["--max-jobs", "1"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let busy =
        "import time\nend = time.time() + 5\nwhile time.time() < end:\n    pass\nprint('done')\n";
    let batch = post(
        &svc,
        "/api/v1/execute",
        json!({"language": "python", "code": busy}),
    );
    let sessions = async {
        // Let the batch job start first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut waits = Vec::new();
        let mut open = Vec::new();
        for _ in 0..8 {
            let mut ws = svc.start_job("python", ASK).await;
            let mut t = Transcript::default();
            waits.push(prompted(&mut ws, &mut t, Duration::from_secs(10)).await);
            open.push((ws, t));
        }
        for (i, (ws, t)) in open.iter_mut().enumerate() {
            ws.input(&format!("u{i}\n")).await;
            ws.finish(Duration::from_secs(10), t).await;
            t.assert_ok();
            assert!(t.output.contains(&format!("hi u{i}")), "{:?}", t.output);
        }
        waits
    };
    let ((status, body), waits) = tokio::join!(batch, sessions);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    // All 8 sessions prompted while the one batch slot was taken.
    let slowest = waits.iter().max().unwrap();
    assert!(*slowest < Duration::from_secs(3), "prompts took {waits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_redis_a_full_worker_leaves_sessions_to_the_others() {
    // Two workers of 3 sessions each: 6 waiting sessions need both.
    let mut svc = Service::distributed(0, &[]);
    svc.add_worker(&["--max-sessions", "3"]);
    svc.add_worker(&["--max-sessions", "3"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let mut open = Vec::new();
    for _ in 0..6 {
        let mut ws = svc.start_job("python", ASK).await;
        let mut t = Transcript::default();
        let waited = prompted(&mut ws, &mut t, Duration::from_secs(10)).await;
        assert!(waited < Duration::from_secs(3), "prompt after {waited:?}");
        open.push((ws, t));
    }
    // A seventh waits for a free session slot: it is served once one ends.
    let mut seventh = svc.start_job("python", ASK).await;
    let mut t7 = Transcript::default();
    assert!(
        !seventh
            .read_until_output("name? ", Duration::from_secs(2), &mut t7)
            .await,
        "a worker ran more than --max-sessions"
    );
    for (i, (ws, t)) in open.iter_mut().enumerate() {
        ws.input(&format!("u{i}\n")).await;
        ws.finish(Duration::from_secs(10), t).await;
        t.assert_ok();
    }
    prompted(&mut seventh, &mut t7, Duration::from_secs(10)).await;
    seventh.input("last\n").await;
    seventh.finish(Duration::from_secs(10), &mut t7).await;
    t7.assert_ok();
    assert!(t7.output.contains("hi last"));
}
