//! End-to-end: published Piston client libraries, unchanged, against a codr
//! on loopback: `piston_rspy` 0.4.3, `aiopyston` 1.2.1 and `pistonapi` 1.0.1
//! from PyPI, and `piston-client` 1.0.2 from npm, which `make test` installs
//! into target/clients with scripts/client-libs.sh. The cases are in
//! tests/clients/piston_clients.py and tests/clients/piston_client.mjs.
mod common;

use std::time::Duration;

use common::{client_cases, repo_root, Service, API_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_piston_clients_work_unchanged() {
    let libs = repo_root().join("target/clients/py");
    assert!(
        libs.is_dir(),
        "{} is missing: run scripts/client-libs.sh (make test does)",
        libs.display()
    );
    // pistonapi cannot send a key: the Piston routes are open (the others
    // send theirs anyway).
    let svc = Service::embedded(&["--piston-open"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let env = [
        ("PYTHONPATH", libs.as_os_str()),
        ("CODR_KEY", API_KEY.as_ref()),
    ];
    client_cases(&svc, "python3", "tests/clients/piston_clients.py", &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_npm_piston_client_works_unchanged() {
    let npm = repo_root().join("target/clients/npm");
    assert!(
        npm.join("node_modules/piston-client").is_dir(),
        "{} is missing: run scripts/client-libs.sh (make test does)",
        npm.display()
    );
    // piston-client has no way to send a key: the Piston routes are open.
    let svc = Service::embedded(&["--piston-open"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let env = [("CODR_NPM", npm.as_os_str())];
    client_cases(&svc, "node", "tests/clients/piston_client.mjs", &env).await;
}
