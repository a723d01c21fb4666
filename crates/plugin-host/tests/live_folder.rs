//! The live plugin folder and the operator's settings files, with the real
//! built-in plugins (target/plugins, from `make build`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codr_plugin_host::Registry;

fn real(name: &str) -> PathBuf {
    common::real_plugins()
        .into_iter()
        .find(|p| p.file_stem().is_some_and(|s| s == name))
        .unwrap_or_else(|| panic!("no built-in plugin {name}"))
}

/// Waits at most `limit` for `cond`; returns how long it took.
fn wait_for(limit: Duration, what: &str, cond: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// Writes `bytes` to `dir/name` by a rename, as deployment tools do.
fn put(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

#[test]
fn the_watcher_follows_additions_broken_replacements_and_removals() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(real("python"), dir.path().join("python.wasm")).unwrap();
    let registry = Arc::new(common::registry(cache.path()));
    assert_eq!(registry.load_dir(dir.path()).loaded.len(), 1);
    let _watch = registry.watch(dir.path(), Duration::from_millis(100));
    let python_hash = registry.get("python").unwrap().hash().to_string();

    // Added: shows within 2 s.
    std::fs::copy(real("javascript"), dir.path().join("javascript.wasm")).unwrap();
    let took = wait_for(Duration::from_secs(2), "javascript added", || {
        registry.get("js").is_some()
    });
    eprintln!("added after {took:?}");
    let held = registry.get("javascript").unwrap();

    // Replaced by a broken file: python keeps serving; the error is listed.
    put(dir.path(), "python.wasm", b"\0asm broken");
    wait_for(Duration::from_secs(2), "broken python reported", || {
        !registry.load_errors().is_empty()
    });
    let errors = registry.load_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].path.ends_with("python.wasm"));
    assert!(errors[0].serving_previous);
    assert!(
        errors[0]
            .message
            .contains("previously loaded version keeps serving"),
        "{}",
        errors[0].message
    );
    let python = registry.get("python").expect("python still served");
    assert_eq!(python.hash(), python_hash);
    assert_eq!(python.validate("print(1)\n", &[]).unwrap(), vec![]);

    // Fixed: the error goes.
    put(
        dir.path(),
        "python.wasm",
        &std::fs::read(real("python")).unwrap(),
    );
    wait_for(Duration::from_secs(2), "python fixed", || {
        registry.load_errors().is_empty()
    });

    // Removed: gone within 2 s; a job holding it still finishes with it.
    std::fs::remove_file(dir.path().join("javascript.wasm")).unwrap();
    wait_for(Duration::from_secs(2), "javascript removed", || {
        registry.get("javascript").is_none()
    });
    assert_eq!(held.validate("console.log(1)\n", &[]).unwrap(), vec![]);
    assert!(held.plan("console.log(1)\n", &[], &[]).is_ok());
    let names: Vec<String> = registry.list().iter().map(|p| p.name().into()).collect();
    assert_eq!(names, ["python"]);
}

#[test]
fn a_broken_new_file_is_reported_and_the_others_stay() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(real("python"), dir.path().join("python.wasm")).unwrap();
    let registry = Arc::new(common::registry(cache.path()));
    registry.load_dir(dir.path());
    let _watch = registry.watch(dir.path(), Duration::from_millis(100));
    put(dir.path(), "cobol.wasm", b"not a component");
    wait_for(Duration::from_secs(2), "cobol reported", || {
        !registry.load_errors().is_empty()
    });
    let error = &registry.load_errors()[0];
    assert!(!error.serving_previous);
    assert!(error.message.contains("cobol.wasm"), "{}", error.message);
    assert!(registry.get("python").is_some());
    std::fs::remove_file(dir.path().join("cobol.wasm")).unwrap();
    wait_for(Duration::from_secs(2), "cobol error cleared", || {
        registry.load_errors().is_empty()
    });
}

#[test]
fn settings_beside_the_plugin_loosen_its_rules_and_are_reread_on_change() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(real("python"), dir.path().join("python.wasm")).unwrap();
    let registry = common::registry(cache.path());
    registry.load_dir(dir.path());
    let rules_of = |source: &str| -> Vec<String> {
        let python = registry.get("python").unwrap();
        let found = python.validate(source, &[]).unwrap();
        found.into_iter().map(|d| d.rule).collect()
    };
    assert_eq!(rules_of("import signal\n"), ["blocked-import"]);

    // Allow `import signal` for this folder only.
    let toml = dir.path().join("python.toml");
    std::fs::write(&toml, "[settings]\nallow-modules = \"signal\"\n").unwrap();
    let report = registry.load_dir(dir.path());
    assert_eq!(report.replaced.len(), 1, "{report:?}");
    let python = registry.get("python").unwrap();
    assert_eq!(
        python.settings(),
        [("allow-modules".into(), "signal".into())]
    );
    assert!(rules_of("import signal\nprint(signal.SIGINT)\n").is_empty());
    assert_eq!(rules_of("import os\n"), ["blocked-import"]);
    // The caller's own settings come after the operator's and win.
    let strict = [("allow-modules".to_string(), String::new())];
    assert_eq!(
        python.validate("import signal\n", &strict).unwrap().len(),
        1
    );

    // A refused settings file keeps the previous settings serving.
    std::fs::write(&toml, "[settings]\nallow-modules = [\"signal\", \"os\"]\n").unwrap();
    let report = registry.load_dir(dir.path());
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let error = &registry.load_errors()[0];
    assert!(error.message.contains("python.toml"), "{}", error.message);
    assert!(
        error.message.contains("must be a string, not array"),
        "{}",
        error.message
    );
    assert!(rules_of("import signal\n").is_empty());
    assert_eq!(rules_of("import os\n"), ["blocked-import"]);

    // Tightened (no file at all): the default rules again.
    std::fs::remove_file(&toml).unwrap();
    registry.load_dir(dir.path());
    assert!(registry.load_errors().is_empty());
    assert_eq!(rules_of("import signal\n"), ["blocked-import"]);
}

#[test]
fn a_new_plugin_with_a_refused_settings_file_is_not_loaded() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(real("python"), dir.path().join("python.wasm")).unwrap();
    std::fs::write(dir.path().join("python.toml"), "allow-modules = \"sys\"\n").unwrap();
    let registry: Registry = common::registry(cache.path());
    let report = registry.load_dir(dir.path());
    assert!(report.loaded.is_empty());
    assert!(
        report.errors[0]
            .message
            .contains("unknown top-level key `allow-modules`"),
        "{}",
        report.errors[0].message
    );
}
