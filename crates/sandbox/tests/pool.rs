//! The warm pool: cells are used once, a full pool gives way to cold starts,
//! and a cell's clock starts when its job does.
mod common;

use std::time::{Duration, Instant};

use codr_sandbox::{slots, Sandbox, SandboxConfig, Status};
use common::{python, run, wall};

async fn settle(sb: &Sandbox) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while sb.pool_stats().starting > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_sandbox_serves_one_job_and_nothing_of_it_survives() {
    let sb = common::sandbox();
    let (o, _) = run(
        &sb,
        &python("import os, subprocess\nopen('marker', 'w').write('x')\nsubprocess.Popen(['sleep', '60'])\nprint(os.getuid())"),
    )
    .await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    let (o, _) = run(
        &sb,
        &python("import os\nprint(sorted(f for f in os.listdir('.') if not f.startswith('.')))\nprint([open(f'/proc/{p}/comm').read().strip() for p in os.listdir('/proc') if p.isdigit()])"),
    )
    .await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert!(o.stdout.starts_with("['main.py']\n"), "{}", o.stdout);
    assert!(o.stdout.contains("'python3'"), "{}", o.stdout);
    assert!(
        !o.stdout.contains("sleep"),
        "a process of the first job: {}",
        o.stdout
    );
    sb.clear_pool();
    common::assert_clean_and_alive(&sb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_gives_its_slots_to_cold_jobs() {
    let mut config = SandboxConfig::default();
    config.pool.per_kind = 16;
    config.pool.max_total = 16;
    let sb = Sandbox::new(config).expect("sandbox");
    sb.prewarm(&python("pass"), false);
    settle(&sb).await;
    assert!(sb.pool_stats().ready >= 1, "{:?}", sb.pool_stats());
    // Every slot the pool did not take is held here (other tests and
    // processes hold the rest): without taking one back from the pool, the
    // job below would wait forever.
    let users = slots::find_users(&sb.config().user_prefix, 16);
    let mut held = Vec::new();
    while let Some(lease) = slots::try_acquire(&sb.config().job_root, &users) {
        held.push(lease);
    }
    // Another kind of step (other limits): no warm cell fits, and still the
    // job starts at once.
    let t = Instant::now();
    let o = sb
        .run_batch(&wall(python("print('cold')"), 3_000), b"")
        .await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(o.stdout, "cold\n");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    drop(held);
    sb.clear_pool();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_starts_with_the_job_not_the_sandbox() {
    let sb = common::sandbox();
    let plan = wall(python("print('on time')"), 1_000);
    sb.prewarm(&plan, false);
    settle(&sb).await;
    // The cell waits longer than the job's whole wall limit.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (o, _) = run(&sb, &plan).await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert!(o.wall_time_ms < 1_000, "{o:?}");
    assert!(o.cpu_time_ms < 1_000, "{o:?}");
    sb.clear_pool();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_without_artifacts_hands_over_what_the_compiler_wrote() {
    let sb = common::sandbox();
    let mut plan = common::c("#include <stdio.h>\nint main(void){puts(\"handed over\");}\n");
    plan.artifacts.clear();
    let o = sb.run_batch(&plan, b"").await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(o.stdout, "handed over\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cache_artifacts_are_still_handed_over() {
    let mut config = SandboxConfig::for_one_job();
    config.compile_cache = None;
    let sb = Sandbox::new(config).expect("sandbox");
    for artifacts in [vec!["main".to_string()], vec![]] {
        let mut plan = common::c("#include <stdio.h>\nint main(void){puts(\"uncached\");}\n");
        plan.artifacts = artifacts;
        let o = sb.run_batch(&plan, b"").await;
        assert_eq!(o.status, Status::Ok, "{o:?}");
        assert_eq!(o.stdout, "uncached\n");
    }
    assert_eq!(sb.cache_usage().1, 0, "the hand-over store keeps nothing");
}
