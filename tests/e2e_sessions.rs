//! End-to-end, issue 18 at small scale: 20 interactive Python sessions
//! arriving over 2 s on one `codr serve`, each user answering 2 s after its
//! prompt, with the load driver's own session logic
//! (`tests/common/sessions.rs`, shared with `host/examples/sessions.rs`).
mod common;

use std::time::Duration;

use common::sessions::{self, Plan, SessionsRun, Target};
use common::{Service, API_KEY};

/// 20 sessions over 2 s, answering 2 s after the prompt (generous timeouts:
/// a slow server shows as late prompts rather than as timeouts).
async fn twenty_sessions() -> SessionsRun {
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let plan = Plan {
        sessions: 20,
        over: Duration::from_secs(2),
        answer_after: Duration::from_secs(2),
        prompt_timeout: Duration::from_secs(30),
        finish_timeout: Duration::from_secs(30),
        server_pid: Some(svc.front.pid()),
    };
    let target = Target::new(&svc.http(), API_KEY, Duration::from_secs(60));
    sessions::run_sessions(&target, &plan).await
}

fn describe_failures(run: &SessionsRun) -> String {
    run.failures()
        .iter()
        .map(|f| format!("session {}: {}: {}", f.session, f.status, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

// One test, one server: two `codr serve` started at once would each take
// the other's sandbox slots for leftovers of a dead host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sessions_over_two_seconds_end_ok_with_their_answer_each_prompt_within_a_second() {
    let run = twenty_sessions().await;
    assert_eq!(
        run.ok(),
        20,
        "sessions that did not end ok with their answer:\n{}",
        describe_failures(&run)
    );
    let mut late: Vec<(usize, Option<Duration>)> = run
        .results
        .iter()
        .filter(|r| r.prompt_latency.is_none_or(|d| d > Duration::from_secs(1)))
        .map(|r| (r.session, r.prompt_latency))
        .collect();
    late.sort();
    assert!(
        late.is_empty(),
        "{} of 20 sessions saw their prompt later than 1 s after execute: {late:?}",
        late.len()
    );
}
