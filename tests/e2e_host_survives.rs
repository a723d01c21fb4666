//! End-to-end: the service survives its jobs, through the real binary with
//! validation on. A C program (hand-written prototypes, so it passes the C
//! rules) builds a 100,000-deep tree; a job runs while its host is killed
//! with SIGKILL.
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{post, Service};
use serde_json::{json, Value};

async fn execute(svc: &Service, body: Value) -> Value {
    let (status, body) = post(svc, "/api/v1/execute", body).await;
    assert!(status == 200 || status == 202, "{status} {body}");
    body
}

const DEEP_TREE_C: &str = include_str!("hostile/deep_tree.c");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_000_deep_tree_through_the_service() {
    // With the default quota the tree stops at the job's file limit.
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let r = execute(&svc, json!({"language": "c", "code": DEEP_TREE_C})).await;
    assert_eq!(r["status"], "disk_limit", "{r}");
    drop(svc);

    // Without a quota it really is 100,000 deep, on the host's disk.
    let svc = Service::embedded(&["--job-disk-mb", "0"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let r = execute(
        &svc,
        json!({"language": "c", "code": DEEP_TREE_C, "limits": {"wall_time_ms": 20000}}),
    )
    .await;
    assert_eq!(
        (&r["status"], &r["stdout"]),
        (&json!("ok"), &json!("depth 100000\n")),
        "{r}"
    );
    // The host is alive and every job after it runs.
    for i in 0..4 {
        let r = execute(
            &svc,
            json!({"language": "python", "code": format!("print({i})")}),
        )
        .await;
        assert_eq!(
            (&r["status"], &r["stdout"]),
            (&json!("ok"), &json!(format!("{i}\n"))),
            "{r}"
        );
    }
}

/// Pids of live processes whose command line holds `token`.
fn processes_with(token: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmdline).contains(token)
        })
        .collect()
}

/// The job cgroups (`codr-<pid>-<slot>`) of host `pid`, in every hierarchy.
fn cgroups_of(pid: u32) -> Vec<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mut found = Vec::new();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let mount = match ctrls {
            "" => PathBuf::from("/sys/fs/cgroup"),
            c if c.starts_with("name=") => continue,
            c => Path::new("/sys/fs/cgroup").join(c),
        };
        let dir = mount.join(path.trim_start_matches('/'));
        let prefix = format!("codr-{pid}-");
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                found.push(e.path());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_dies_with_its_host() {
    let mut svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let host = svc.front.pid();
    let token = format!("codr-host-killed-{}", std::process::id());
    // A busy job at the largest limits, that leaves a marker in its directory.
    let code = "open('marker', 'w').write('x')\nwhile True:\n    pass\n";
    let r = execute(
        &svc,
        json!({"language": "python", "code": code, "args": [token], "wait": false,
               "limits": {"wall_time_ms": 30000, "cpu_time_ms": 30000}}),
    )
    .await;
    assert!(r["job_id"].is_string(), "{r}");
    let start = Instant::now();
    while processes_with(&token).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!cgroups_of(host).is_empty(), "the job has no cgroup");

    svc.front.kill();
    let killed = Instant::now();
    while !processes_with(&token).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "the job outlived its host by 5 s: {:?}",
            processes_with(&token)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead_after = killed.elapsed();
    while !cgroups_of(host).is_empty() && killed.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cgroups_of(host).is_empty(), "{:?}", cgroups_of(host));
    println!("the job was dead {dead_after:?} after its host");

    // The next start cleans up what is left (the job directory).
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let markers: Vec<PathBuf> = std::fs::read_dir("/srv/codr/jobs")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("marker"))
        .filter(|m| m.exists())
        .collect();
    assert!(markers.is_empty(), "left after the next start: {markers:?}");
    let r = execute(
        &svc,
        json!({"language": "python", "code": "print('alive')"}),
    )
    .await;
    assert_eq!(r["stdout"], "alive\n", "{r}");
}
