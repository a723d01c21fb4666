//! Unit tests of the compile cache: round trips, refusals, bounds, eviction
//! and races between processes.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use rustix::fs::{self as rfs, FileType, FlockOperation, Mode};

use super::files::open_dir;
use super::key::is_key_name;
use super::{BuildKey, CacheError, CachedBuild, CompileCache};
use crate::config::Limits;
use crate::{LimitOverrides, Plan, SourceFile, Step};

/// The job's user in these tests (no passwd entry needed for chown).
const UID: u32 = 4242;
const GID: u32 = 4243;

fn step(program: &str, args: &[&str]) -> Step {
    Step {
        program: program.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: vec![],
        limits: LimitOverrides::default(),
    }
}

fn plan(source: &str) -> Plan {
    Plan {
        files: vec![SourceFile {
            path: "main.c".into(),
            content: source.into(),
            executable: false,
        }],
        compile: Some(step("gcc", &["-O2", "-o", "main", "main.c"])),
        run: step("./main", &[]),
        artifacts: vec!["main".into()],
    }
}

fn key(source: &str) -> BuildKey {
    BuildKey::new(&plan(source), &Limits::compile_defaults(), "c@1.0.0")
}

/// A fresh job directory owned by the job's user, as `jobdir::create` makes it.
fn job_dir(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    crate::jobdir::create(&dir, UID, GID, None).unwrap();
    dir
}

/// A file the job's user made, with its parent directories.
fn user_file(job: &Path, rel: &str, data: &[u8], executable: bool) {
    let path = job.join(rel);
    let mut cur = job.to_path_buf();
    for c in Path::new(rel).parent().unwrap().components() {
        cur.push(c);
        if !cur.exists() {
            fs::create_dir(&cur).unwrap();
            std::os::unix::fs::chown(&cur, Some(UID), Some(GID)).unwrap();
        }
    }
    fs::write(&path, data).unwrap();
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    std::os::unix::fs::chown(&path, Some(UID), Some(GID)).unwrap();
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn leftovers(store: &Path) -> Vec<String> {
    fs::read_dir(store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp") || n.starts_with(".trash"))
        .collect()
}

/// A scratch directory with a store of `max_bytes` at `<scratch>/store`.
fn scratch_store(max_bytes: u64) -> (tempfile::TempDir, PathBuf, CompileCache) {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("store");
    let cache = CompileCache::open(&store, max_bytes).unwrap();
    (t, store, cache)
}

/// Puts a build of `size` bytes (artifact `main`) under `k`.
fn put_sized(cache: &CompileCache, base: &Path, k: &BuildKey, size: usize) {
    let job = job_dir(base, "job-sized");
    user_file(&job, "main", &bytes(size, 7), true);
    cache.put(k, &job, &["main".into()], "").unwrap();
    crate::jobdir::remove(&job).unwrap();
}

#[test]
fn is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<CompileCache>();
    check::<CachedBuild>();
}

#[test]
fn round_trip_keeps_bytes_and_exec_bit() {
    let (t, store, cache) = scratch_store(1 << 30);
    let meta = fs::metadata(&store).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    assert_eq!(meta.uid(), rustix::process::geteuid().as_raw());

    let job = job_dir(t.path(), "job1");
    let binary = bytes(100_000, 1);
    user_file(&job, "main", &binary, true);
    user_file(&job, "data/table.txt", b"1 2 3\n", false);
    let k = key("int main(){}");
    assert!(cache.get(&k).is_none());
    let artifacts = vec!["main".to_string(), "data/table.txt".to_string()];
    cache
        .put(&k, &job, &artifacts, "warning: unused\n")
        .unwrap();
    assert!(leftovers(&store).is_empty());
    assert_eq!(cache.usage(), (100_000 + 6 + 16, 1));

    // Stored root-owned and read-only.
    let stored = store.join(k.as_str()).join("files/main");
    let sm = fs::metadata(&stored).unwrap();
    assert_eq!((sm.uid(), sm.permissions().mode() & 0o777), (0, 0o500));

    let hit = cache.get(&k).expect("a hit after put");
    assert_eq!(hit.compile_output, "warning: unused\n");
    assert_eq!(hit.bytes(), 100_022);
    let dest = job_dir(t.path(), "job2");
    cache.install(&hit, &dest, UID, GID).unwrap();
    assert_eq!(fs::read(dest.join("main")).unwrap(), binary);
    assert_eq!(fs::read(dest.join("data/table.txt")).unwrap(), b"1 2 3\n");
    let m = fs::metadata(dest.join("main")).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.permissions().mode() & 0o777),
        (UID, GID, 0o755)
    );
    let m = fs::metadata(dest.join("data/table.txt")).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.permissions().mode() & 0o777),
        (UID, GID, 0o644)
    );
    let m = fs::metadata(dest.join("data")).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.permissions().mode() & 0o777),
        (UID, GID, 0o755)
    );

    // Never over an existing name; a failed install leaves nothing of its own.
    fs::remove_file(dest.join("data/table.txt")).unwrap();
    fs::remove_dir(dest.join("data")).unwrap();
    assert!(cache.install(&hit, &dest, UID, GID).is_err());
    assert!(
        !dest.join("data").exists(),
        "a failed install was not undone"
    );
    assert_eq!(fs::read(dest.join("main")).unwrap(), binary);
}

#[test]
fn symlink_artifact_refused() {
    let (t, store, cache) = scratch_store(1 << 30);
    let job = job_dir(t.path(), "job");
    symlink("/etc/passwd", job.join("main")).unwrap();
    let k = key("a");
    let err = cache.put(&k, &job, &["main".into()], "").unwrap_err();
    assert!(matches!(err, CacheError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(cache.get(&k).is_none());
    assert!(leftovers(&store).is_empty());
}

#[test]
fn symlinked_parent_refused() {
    let (t, _, cache) = scratch_store(1 << 30);
    let job = job_dir(t.path(), "job");
    symlink("/etc", job.join("out")).unwrap();
    let k = key("b");
    let err = cache.put(&k, &job, &["out/passwd".into()], "").unwrap_err();
    assert!(
        matches!(&err, CacheError::Refused { path, .. } if path == "out"),
        "{err}"
    );
    // A symlinked directory as the artifact itself, too.
    let err = cache.put(&k, &job, &["out".into()], "").unwrap_err();
    assert!(matches!(err, CacheError::Refused { .. }), "{err}");
    assert!(cache.get(&k).is_none());
}

#[test]
fn escaping_names_refused() {
    let (t, _, cache) = scratch_store(1 << 30);
    let job = job_dir(t.path(), "job");
    user_file(&job, "main", b"x", true);
    for bad in ["../main", "/etc/passwd", "a/../../main", "", "./main", ".."] {
        let err = cache.put(&key(bad), &job, &[bad.into()], "").unwrap_err();
        assert!(matches!(err, CacheError::Refused { .. }), "{bad:?}: {err}");
    }
}

#[test]
fn directory_artifact_copied_recursively() {
    let (t, _, cache) = scratch_store(1 << 30);
    let job = job_dir(t.path(), "job");
    user_file(&job, "classes/Main.class", b"\xca\xfe\xba\xbe main", false);
    user_file(
        &job,
        "classes/pkg/Util.class",
        b"\xca\xfe\xba\xbe util",
        false,
    );
    user_file(&job, "classes/pkg/deep/run.sh", b"#!/bin/sh\n", true);
    fs::create_dir(job.join("classes/empty")).unwrap();
    std::os::unix::fs::chown(job.join("classes/empty"), Some(UID), Some(GID)).unwrap();
    let k = key("class Main {}");
    cache.put(&k, &job, &["classes".into()], "").unwrap();
    let hit = cache.get(&k).unwrap();
    let mut files: Vec<&str> = hit.files().collect();
    files.sort();
    assert_eq!(
        files,
        [
            "classes/Main.class",
            "classes/pkg/Util.class",
            "classes/pkg/deep/run.sh"
        ]
    );
    let dest = job_dir(t.path(), "dest");
    cache.install(&hit, &dest, UID, GID).unwrap();
    for f in files {
        assert_eq!(
            fs::read(dest.join(f)).unwrap(),
            fs::read(job.join(f)).unwrap(),
            "{f}"
        );
    }
    let run = fs::metadata(dest.join("classes/pkg/deep/run.sh")).unwrap();
    assert_eq!(run.permissions().mode() & 0o777, 0o755);
    for d in [
        "classes",
        "classes/pkg",
        "classes/pkg/deep",
        "classes/empty",
    ] {
        let m = fs::symlink_metadata(dest.join(d)).unwrap();
        assert!(m.is_dir(), "{d}");
        assert_eq!((m.uid(), m.gid()), (UID, GID), "{d}");
    }
}

#[test]
fn special_and_foreign_files_refused() {
    let (t, _, cache) = scratch_store(1 << 30);
    let job = job_dir(t.path(), "job");
    // A symlink deep inside a directory artifact.
    user_file(&job, "out/a.class", b"a", false);
    symlink("/etc/shadow", job.join("out/b.class")).unwrap();
    let err = cache.put(&key("1"), &job, &["out".into()], "").unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    // A fifo (must not hang either).
    rfs::mknodat(
        rfs::CWD,
        job.join("fifo"),
        FileType::Fifo,
        Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    std::os::unix::fs::chown(job.join("fifo"), Some(UID), Some(GID)).unwrap();
    let err = cache
        .put(&key("2"), &job, &["fifo".into()], "")
        .unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    // A hard link to a file that is not the user's (say /etc/shadow).
    let secret = t.path().join("secret");
    fs::write(&secret, "root:$6$...").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    fs::hard_link(&secret, job.join("main")).unwrap();
    let err = cache
        .put(&key("3"), &job, &["main".into()], "")
        .unwrap_err();
    assert!(err.to_string().contains("owned by uid 0"), "{err}");
    // A missing artifact.
    let err = cache
        .put(&key("4"), &job, &["nothing".into()], "")
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert_eq!(cache.usage(), (0, 0));
}

#[test]
fn too_large_is_not_stored() {
    let (t, store, cache) = scratch_store(4000);
    assert_eq!(cache.entry_limit(), 1000);
    let job = job_dir(t.path(), "job");
    user_file(&job, "main", &bytes(990, 3), true);
    let err = cache
        .put(&key("big"), &job, &["main".into()], "0123456789x")
        .unwrap_err();
    assert!(matches!(err, CacheError::TooLarge { limit: 1000 }), "{err}");
    cache
        .put(&key("fits"), &job, &["main".into()], "0123456789")
        .unwrap();
    assert_eq!(cache.usage(), (1000, 1));
    assert!(leftovers(&store).is_empty());
}

#[test]
fn evicts_least_recently_used() {
    let (t, _, cache) = scratch_store(4000);
    let k: Vec<BuildKey> = (0..7).map(|i| key(&format!("prog {i}"))).collect();
    for k in &k[..4] {
        put_sized(&cache, t.path(), k, 900);
    }
    assert_eq!(cache.usage(), (3600, 4));
    assert!(cache.get(&k[0]).is_some());
    put_sized(&cache, t.path(), &k[4], 900); // out: k1 (k0 was used)
    assert!(cache.get(&k[2]).is_some());
    put_sized(&cache, t.path(), &k[5], 900); // out: k3
    put_sized(&cache, t.path(), &k[6], 900); // out: k0
    assert_eq!(cache.usage(), (3600, 4));
    let present: Vec<usize> = (0..7).filter(|&i| cache.get(&k[i]).is_some()).collect();
    assert_eq!(present, [2, 4, 5, 6]);
}

#[test]
fn another_process_learns_sizes_and_recency() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("store");
    let a = CompileCache::open(&store, 10_000).unwrap();
    let k: Vec<BuildKey> = (0..3).map(|i| key(&format!("p{i}"))).collect();
    for k in &k {
        put_sized(&a, t.path(), k, 1000);
    }
    assert!(a.get(&k[0]).is_some());
    // As a restarted host would: a smaller bound, sizes and mtimes from disk.
    let b = CompileCache::open(&store, 2500).unwrap();
    assert_eq!(b.usage(), (2000, 2));
    assert!(
        b.get(&k[1]).is_none(),
        "the least recently used entry stays"
    );
    assert!(b.get(&k[0]).is_some() && b.get(&k[2]).is_some());
    // `a` sees the other process's eviction.
    assert!(a.get(&k[1]).is_none());
}

#[test]
fn evicted_entry_fails_install_cleanly() {
    let (t, _, cache) = scratch_store(4000);
    let k: Vec<BuildKey> = (0..5).map(|i| key(&format!("e{i}"))).collect();
    put_sized(&cache, t.path(), &k[0], 900);
    let hit = cache.get(&k[0]).unwrap();
    for k in &k[1..] {
        put_sized(&cache, t.path(), k, 900);
    }
    assert!(cache.get(&k[0]).is_none());
    let dest = job_dir(t.path(), "dest");
    let err = cache.install(&hit, &dest, UID, GID).unwrap_err();
    assert!(matches!(err, CacheError::Evicted(_)), "{err}");
    assert_eq!(fs::read_dir(&dest).unwrap().count(), 0);
    // Put back under the same key: a different entry, still refused for the old hit.
    put_sized(&cache, t.path(), &k[0], 900);
    let err = cache.install(&hit, &dest, UID, GID).unwrap_err();
    assert!(matches!(err, CacheError::Evicted(_)), "{err}");
}

#[test]
fn entry_in_use_is_not_evicted() {
    let (t, store, cache) = scratch_store(1 << 20);
    let k = key("in use");
    put_sized(&cache, t.path(), &k, 100);
    let reader = open_dir(rfs::CWD, store.join(k.as_str())).unwrap();
    rfs::flock(&reader, FlockOperation::LockShared).unwrap();
    assert!(!cache.remove_entry(k.as_str()));
    assert!(cache.get(&k).is_some());
    drop(reader);
    assert!(cache.remove(&k));
    assert!(!cache.remove(&k));
    assert!(cache.get(&k).is_none());
    assert!(leftovers(&store).is_empty());
}

#[test]
fn install_never_follows_planted_symlinks() {
    let (t, _, cache) = scratch_store(1 << 30);
    let job = job_dir(t.path(), "job");
    user_file(&job, "bin/main", b"binary", true);
    let k = key("planted");
    cache.put(&k, &job, &["bin/main".into()], "").unwrap();
    let hit = cache.get(&k).unwrap();
    let outside = t.path().join("outside");
    fs::create_dir(&outside).unwrap();
    // A symlinked parent directory.
    let dest = job_dir(t.path(), "dest1");
    symlink(&outside, dest.join("bin")).unwrap();
    assert!(cache.install(&hit, &dest, UID, GID).is_err());
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    // A symlink where the file goes.
    let dest = job_dir(t.path(), "dest2");
    fs::create_dir(dest.join("bin")).unwrap();
    symlink(outside.join("victim"), dest.join("bin/main")).unwrap();
    assert!(cache.install(&hit, &dest, UID, GID).is_err());
    assert!(!outside.join("victim").exists());
}

#[test]
fn refuses_an_insecure_store() {
    let t = tempfile::tempdir().unwrap();
    let real = t.path().join("real");
    fs::create_dir(&real).unwrap();
    symlink(&real, t.path().join("link")).unwrap();
    let err = CompileCache::open(&t.path().join("link"), 1 << 20).unwrap_err();
    assert!(matches!(err, CacheError::Insecure { .. }), "{err}");
    std::os::unix::fs::chown(&real, Some(UID), Some(GID)).unwrap();
    let err = CompileCache::open(&real, 1 << 20).unwrap_err();
    assert!(err.to_string().contains("owned by uid 4242"), "{err}");
}

#[test]
fn keys_differ_on_every_input() {
    let limits = Limits::compile_defaults();
    let base = plan("int main(){}");
    let k = |p: &Plan, l: &Limits, tag: &str| BuildKey::new(p, l, tag);
    let k0 = k(&base, &limits, "c@1");
    assert_eq!(k0.as_str().len(), 64);
    assert!(is_key_name(k0.as_str()));
    assert_eq!(
        k0,
        k(&base.clone(), &limits, "c@1"),
        "equal inputs, equal keys"
    );
    let mut run_changed = base.clone();
    run_changed.run.args.push("arg".into());
    assert_eq!(
        k0,
        k(&run_changed, &limits, "c@1"),
        "the run step is not part of the build"
    );

    type Change = Box<dyn Fn(&mut Plan)>;
    let variants: Vec<(&str, Change)> = vec![
        ("source", Box::new(|p| p.files[0].content.push(' '))),
        ("path", Box::new(|p| p.files[0].path = "m.c".into())),
        ("executable", Box::new(|p| p.files[0].executable = true)),
        (
            "program",
            Box::new(|p| p.compile.as_mut().unwrap().program = "clang".into()),
        ),
        (
            "args",
            Box::new(|p| p.compile.as_mut().unwrap().args.push("-g".into())),
        ),
        (
            "env",
            Box::new(|p| {
                p.compile
                    .as_mut()
                    .unwrap()
                    .env
                    .push(("CFLAGS".into(), "-g".into()))
            }),
        ),
        (
            "overrides",
            Box::new(|p| p.compile.as_mut().unwrap().limits.memory_bytes = Some(1)),
        ),
        ("artifacts", Box::new(|p| p.artifacts.push("lib.so".into()))),
        ("no compile", Box::new(|p| p.compile = None)),
    ];
    let mut seen = vec![k0.clone()];
    for (what, change) in &variants {
        let mut p = base.clone();
        change(&mut p);
        let kv = k(&p, &limits, "c@1");
        assert!(!seen.contains(&kv), "{what} did not change the key");
        seen.push(kv);
    }
    let other_limits = Limits {
        cpu_time_ms: limits.cpu_time_ms + 1,
        ..limits
    };
    assert_ne!(k0, k(&base, &other_limits, "c@1"), "limits");
    assert_ne!(k0, k(&base, &limits, "c@2"), "tag");
    // No ambiguity by concatenation.
    let mut a = base.clone();
    a.compile.as_mut().unwrap().args = vec!["ab".into(), "c".into()];
    let mut b = base.clone();
    b.compile.as_mut().unwrap().args = vec!["a".into(), "bc".into()];
    assert_ne!(k(&a, &limits, "c@1"), k(&b, &limits, "c@1"));
}

#[test]
fn concurrent_puts_of_one_key() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("store");
    // Two instances stand for two processes sharing the store.
    let caches = [
        Arc::new(CompileCache::open(&store, 1 << 30).unwrap()),
        Arc::new(CompileCache::open(&store, 1 << 30).unwrap()),
    ];
    let job = job_dir(t.path(), "job");
    let binary = bytes(2 << 20, 9);
    user_file(&job, "main", &binary, true);
    for round in 0..4 {
        let k = key(&format!("race {round}"));
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        std::thread::scope(|s| {
            for i in 0..threads {
                let cache = caches[i % 2].clone();
                let (barrier, k, job) = (barrier.clone(), k.clone(), job.clone());
                s.spawn(move || {
                    barrier.wait();
                    cache.put(&k, &job, &["main".into()], "ok").unwrap();
                });
            }
        });
        let hit = caches[round % 2].get(&k).expect("the entry is there");
        assert_eq!(hit.compile_output, "ok");
        let dest = job_dir(t.path(), "dest");
        caches[0].install(&hit, &dest, UID, GID).unwrap();
        assert_eq!(fs::read(dest.join("main")).unwrap(), binary);
    }
    assert!(leftovers(&store).is_empty(), "{:?}", leftovers(&store));
    let entries = fs::read_dir(&store)
        .unwrap()
        .flatten()
        .filter(|e| is_key_name(&e.file_name().to_string_lossy()))
        .count();
    assert_eq!(entries, 4);
}
