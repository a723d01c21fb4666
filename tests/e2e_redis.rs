//! End-to-end: `codr gateway` + `codr worker`s sharing a real redis-server.
mod common;

use std::time::{Duration, Instant};

use common::{suite, Service};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn protocol_suite_on_gateway_and_workers() {
    let svc = Service::distributed(2, &[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    suite::run_all(&svc).await;
}

/// `serve --redis`: one process, both roles, Redis in between; on SIGTERM a
/// running job is finished (its client gets `complete`), then the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_on_redis_runs_jobs_and_drains_on_sigterm() {
    let mut svc = Service::serve_on_redis(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let t = svc.run("python", "print('over redis')\n").await;
    t.assert_ok();
    assert!(t.output.contains("over redis"), "{:?}", t.messages);

    let (mut ws, _) = svc
        .start_running(
            "python",
            "time.sleep(1.5)\nprint('finished')\n",
            Duration::from_secs(10),
        )
        .await;
    let started = Instant::now();
    svc.front.sigterm().unwrap();
    let rest = ws.transcript(Duration::from_secs(20)).await;
    rest.assert_ok();
    assert!(rest.output.contains("finished"), "{:?}", rest.messages);
    assert!(
        svc.front.terminate(Duration::from_secs(15)),
        "serve did not exit after draining"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_jobs_on_two_workers_none_lost() {
    let svc = Service::distributed(2, &[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let jobs = (0..50).map(|i| {
        let svc = &svc;
        async move {
            let t = svc.run("python", &format!("print('job', {i} * 2)\n")).await;
            (i, t)
        }
    });
    let results = futures::future::join_all(jobs).await;
    let mut failed = Vec::new();
    for (i, t) in &results {
        let want = format!("job {}", i * 2);
        if t.status() != Some("ok") || !t.output.contains(&want) {
            failed.push(format!("job {i}: {:?}", t.messages));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 50 jobs failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_gives_its_client_a_clear_error() {
    let mut svc = Service::distributed(1, &["--reap-interval", "1s"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let (mut ws, mut t) = svc
        .start_running(
            "python",
            "time.sleep(5)\nprint('never')\n",
            Duration::from_secs(30),
        )
        .await;
    let killed = Instant::now();
    svc.workers[0].kill();
    ws.finish(Duration::from_secs(40), &mut t).await;
    let took = killed.elapsed();
    let message = t
        .error_message()
        .unwrap_or_else(|| panic!("no error: {:?}", t.messages));
    assert!(message.contains("worker"), "unclear error {message:?}");
    assert!(took < Duration::from_secs(30), "error after {took:?}");
    assert!(!t.output.contains("never"));
    eprintln!("client told after {took:?}: {message}");
    // A fresh worker picks up new jobs.
    svc.add_worker(&[]);
    svc.run("python", "print('after')\n").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_survives_a_redis_restart() {
    let mut svc = Service::distributed(1, &[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    svc.run("python", "print('before')\n").await.assert_ok();
    svc.redis.as_mut().unwrap().restart();
    // Everything reconnects by itself: new jobs complete again soon.
    let back = Instant::now();
    loop {
        let t = svc.run("python", "print('after')\n").await;
        if t.status() == Some("ok") && t.output.contains("after") {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "no job completed after the restart: {:?}",
            t.messages
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("first job ok {:?} after the restart", back.elapsed());
    svc.wait_healthy(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_refuses_to_start_without_secret_or_redis() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_codr"))
        .args([
            "gateway",
            "--api-keys",
            "k",
            "--redis",
            "redis://127.0.0.1:1/",
        ])
        .env_remove("CODR_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT secret"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_codr"))
        .args(["worker"])
        .env_remove("CODR_REDIS_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Redis URL is required"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_api_over_redis() {
    let svc = Service::distributed(1, &[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let (_, r) = common::post(
        &svc,
        "/api/v1/execute",
        serde_json::json!({"language": "python", "code": "print('hi ' + input())", "stdin": "redis\n"}),
    )
    .await;
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(r["stdout"], "hi redis\n", "{r}");
    let (_, r) = common::post(
        &svc,
        "/api/v1/execute",
        serde_json::json!({"language": "python", "code": "print(6 * 7)", "wait": false}),
    )
    .await;
    let id = r["job_id"].as_str().unwrap().to_string();
    let r = svc.v1_result(&id, Duration::from_secs(30)).await;
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(r["stdout"], "42\n", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_without_the_language_says_so() {
    let mut svc = Service::distributed(0, &[]);
    let only_python =
        std::env::temp_dir().join(format!("codr-e2e-python-only-{}", std::process::id()));
    std::fs::create_dir_all(&only_python).unwrap();
    std::fs::copy(
        common::plugin_dir().join("python.wasm"),
        only_python.join("python.wasm"),
    )
    .unwrap();
    svc.add_worker_with_plugins(&only_python);
    svc.wait_healthy(Duration::from_secs(30)).await;
    svc.run("python", "print('fine')\n").await.assert_ok();
    let t = svc.run("c", "int main(void){return 0;}\n").await;
    let message = t
        .error_message()
        .unwrap_or_else(|| panic!("no error: {:?}", t.messages));
    assert!(
        message.contains("no plugin for language \"c\""),
        "{message}"
    );
    assert!(t.closed_cleanly);
    let _ = std::fs::remove_dir_all(&only_python);
}
