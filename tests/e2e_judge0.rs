//! End-to-end: the official Judge0 Python SDK (`judge0` 0.0.8 from PyPI,
//! which `make test` installs into target/clients with
//! scripts/client-libs.sh), unchanged, and raw Judge0 HTTP requests against
//! a real codr on loopback: `codr serve`, and `codr gateway` with a
//! `codr worker` on Redis. The cases are in tests/clients/judge0_client.py.
//! Both allow callbacks to 127.0.0.1, where the script listens for them.
mod common;

use std::time::Duration;

use common::{client_cases, repo_root, Service, API_KEY};

/// Callbacks may go to the script's listener on loopback.
const FLAGS: [&str; 2] = ["--judge0-callback-hosts", "127.0.0.1"];

/// Runs the Judge0 cases against `svc` and asserts that all passed.
async fn judge0_cases(svc: &Service) {
    let libs = repo_root().join("target/clients/py");
    assert!(
        libs.join("judge0").is_dir(),
        "{} has no judge0 SDK: run scripts/client-libs.sh (make test does)",
        libs.display()
    );
    svc.wait_healthy(Duration::from_secs(30)).await;
    let env = [
        ("PYTHONPATH", libs.as_os_str()),
        ("CODR_KEY", API_KEY.as_ref()),
        ("JUDGE0_SUPPRESS_PREVIEW_WARNING", "1".as_ref()),
    ];
    client_cases(svc, "python3", "tests/clients/judge0_client.py", &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge0_sdk_works_unchanged_on_codr_serve() {
    judge0_cases(&Service::embedded(&FLAGS)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge0_sdk_works_unchanged_on_a_gateway_and_worker_over_redis() {
    judge0_cases(&Service::distributed(1, &FLAGS)).await;
}
