//! The host survives its jobs: hostile programs through the real sandbox
//! (Firejail, cgroups, sandbox users, the warm pool) that attack the host
//! rather than try to escape: a tree too deep to remove recursively, a CPU
//! hog beside an ordinary job, disk and inode floods, channels between two
//! concurrent jobs, the kernel's namespace and io_uring surface.
//!
//! The tests of this file run one at a time (one lock): the fairness test
//! measures time, and the others would be its noisy neighbours.
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use codr_sandbox::{Sandbox, SandboxConfig, Status};
use common::*;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Nothing of this sandbox's slots but their lock files (and the directories of slots another
/// process holds right now) in the job root.
fn job_root_is_empty(sb: &Sandbox) {
    let root = &sb.config().job_root;
    let left: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        // This sandbox's slots only: others belong to other hosts (or to
        // their leftovers, which the next host started on them cleans).
        .filter(|n| {
            n.strip_prefix(&sb.config().user_prefix)
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| i < sb.slots())
        })
        .filter(|n| {
            // A directory whose slot is free is a leftover.
            let lock = root.join(format!(".{n}.lock"));
            let f = std::fs::File::open(lock).unwrap();
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a descriptor we own.
            unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
        })
        .collect();
    assert!(left.is_empty(), "left in the job root: {left:?}");
}

/// Sandbox users of the sandboxes that run a job on every slot: the first
/// 16 of the machine's (hundreds of Python jobs at once on 2 cores would
/// only test the wall clock).
const SLOTS: usize = 16;

/// Every slot runs an ordinary job: as many jobs at once as there are slots.
async fn every_slot_runs(sb: &Arc<Sandbox>) {
    let jobs = (0..sb.slots()).map(|i| {
        let sb = sb.clone();
        tokio::spawn(async move { sb.run_batch(&python(&format!("print({i})")), b"").await })
    });
    for (i, j) in jobs.enumerate() {
        let o = j.await.unwrap();
        assert_eq!(
            (o.status, o.stdout.as_str()),
            (Status::Ok, format!("{i}\n").as_str()),
            "{o:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_100_000_deep_does_not_crash_the_host() {
    let _one = SERIAL.lock().await;
    // On the host's disk (no quota): the tree really is 100,000 deep, and the
    // host must remove it (a recursive removal overflowed its stack).
    let config = SandboxConfig {
        job_disk: None,
        slots: SLOTS,
        ..SandboxConfig::default()
    };
    let sb = Arc::new(Sandbox::new(config).unwrap());
    let plan = wall(python(hostile!("deep_tree.py")), 20_000);
    let (o, _) = run(&sb, &plan).await;
    assert_eq!(
        (o.status, o.stdout.as_str()),
        (Status::Ok, "depth 100000\n"),
        "{o:#?}"
    );
    every_slot_runs(&sb).await;
    assert_clean_and_alive(&sb).await;
    sb.clear_pool();
    tokio::time::sleep(Duration::from_millis(500)).await;
    job_root_is_empty(&sb);

    // With the quota (the default), the tree stops at the inode limit.
    let sb = Arc::new(
        Sandbox::new(SandboxConfig {
            slots: SLOTS,
            ..SandboxConfig::default()
        })
        .unwrap(),
    );
    let (o, _) = run(&sb, &wall(python(hostile!("deep_tree.py")), 20_000)).await;
    assert_eq!(o.status, Status::DiskLimit, "{o:#?}");
    every_slot_runs(&sb).await;
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_32_process_hog_does_not_starve_an_ordinary_job() {
    let _one = SERIAL.lock().await;
    let sb = Arc::new(sandbox());
    let work = python(hostile!("cpu_work.py"));
    // Alone, twice (the first warms the caches), the faster one counts.
    let (o, a) = run(&sb, &work).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    let (_, b) = run(&sb, &work).await;
    let alone = a.min(b);
    // The hog at the largest limits the API allows.
    let mut hog = python(hostile!("cpu_hog.py"));
    hog.run.limits.wall_time_ms = Some(30_000);
    hog.run.limits.cpu_time_ms = Some(30_000);
    let sb2 = sb.clone();
    let hog_job = tokio::spawn(async move { sb2.run_batch(&hog, b"").await });
    // Let its 32 processes start spinning.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (o, beside) = run(&sb, &work).await;
    hog_job.abort();
    let _ = hog_job.await;
    println!("ordinary job alone {alone:?}, beside the hog {beside:?}");
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert!(
        beside <= alone * 3,
        "beside the hog {beside:?} > 3 x alone {alone:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_and_file_floods_stop_at_the_quota() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    // 3 GiB in 1 MiB files into the job directory.
    let t = Instant::now();
    let (o, _) = run(&sb, &wall(python(hostile!("disk_fill.py")), 20_000)).await;
    assert_eq!(o.status, Status::DiskLimit, "{o:#?}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // A million files.
    let (o, _) = run(&sb, &wall(python(hostile!("many_files.py")), 20_000)).await;
    assert_eq!(o.status, Status::DiskLimit, "{o:#?}");
    assert!(
        o.message.as_deref().unwrap_or("").contains("disk quota"),
        "{o:#?}"
    );
    // /tmp is Firejail's private tmpfs: its pages and inodes are charged to
    // the job's memory cgroup, so the memory limit bounds it.
    let mut to_tmp = wall(python(hostile!("disk_fill.py")), 20_000);
    to_tmp.run.args.push("/tmp".into());
    let (o, _) = run(&sb, &to_tmp).await;
    assert_eq!(o.status, Status::MemoryLimit, "{o:#?}");
    let mut files_in_tmp = wall(python(hostile!("many_files.py")), 20_000);
    files_in_tmp.run.args.push("/tmp".into());
    let (o, _) = run(&sb, &files_in_tmp).await;
    assert!(
        matches!(o.status, Status::MemoryLimit | Status::TimeLimit),
        "{o:#?}"
    );
    assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_jobs_have_no_channel_between_them() {
    let _one = SERIAL.lock().await;
    let sb = Arc::new(sandbox());
    let a_plan = wall(python(hostile!("channel_a.py")), 10_000);
    let b_plan = python(hostile!("channel_b.py"));
    // Warm B's kind too, so B starts at once when asked.
    sb.prewarm(&b_plan, false);
    let sb2 = sb.clone();
    let a = tokio::spawn(async move { run(&sb2, &a_plan).await.0 });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (b, _) = run(&sb, &b_plan).await;
    let a = a.await.unwrap();
    println!("A:\n{}\nB:\n{}", a.stdout, b.stdout);
    assert_eq!(
        (a.status, b.status),
        (Status::Ok, Status::Ok),
        "{a:#?}\n{b:#?}"
    );
    let ready_at = number_after(&a.stdout, "A ready at ");
    let started_at = number_after(&b.stdout, "B started at ");
    assert!(ready_at < started_at, "B ran before A was ready");
    assert!(b.stdout.contains("B done"), "{}", b.stdout);
    assert!(!b.stdout.contains("REACHED"), "{}", b.stdout);
    assert!(!a.stdout.contains("ACCEPTED"), "{}", a.stdout);
    assert_clean_and_alive(&sb).await;
}

fn number_after(text: &str, prefix: &str) -> f64 {
    let rest = &text[text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} in {text}"))
        + prefix.len()..];
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_new_namespaces_no_setns_no_io_uring() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    let (o, _) = run(&sb, &python(hostile!("namespaces.py"))).await;
    assert_eq!(o.status, Status::Ok, "{o:#?}");
    assert!(!o.stdout.contains("ALLOWED"), "{}", o.stdout);
    for what in [
        "unshare-user",
        "unshare-user-net",
        "unshare-net",
        "io_uring_setup",
        "setns",
    ] {
        assert!(
            o.stdout.contains(&format!("refused {what} ")),
            "{}",
            o.stdout
        );
    }
    assert_clean_and_alive(&sb).await;
}
