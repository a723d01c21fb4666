//! The registry with the good fixture plugin (and the real ones when built):
//! lookup, duplicates, cache, fresh instances, plans.
mod common;

use std::sync::Arc;

use codr_plugin_host::{ComponentSource, PluginError};
use common::{fixtures, plugin_folder, real_plugins, registry};

#[test]
fn lookup_by_name_or_alias_ignores_case() {
    let folder = plugin_folder(&["good"], &[]);
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    let report = registry.load_dir(folder.path());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for key in [
        "fixture",
        "FIXTURE",
        "fx",
        "Fx",
        "fixture-alias",
        " Fixture-Alias ",
    ] {
        let plugin = registry
            .get(key)
            .unwrap_or_else(|| panic!("{key:?} not found"));
        assert_eq!(plugin.name(), "fixture");
    }
    assert!(registry.get("python").is_none());
    let plugin = registry.get("fx").unwrap();
    let info = plugin.identity();
    assert_eq!(info.extension, "py");
    assert_eq!(info.grammar.as_deref(), Some("python"));
    assert_eq!(plugin.contract_version(), "0.1.0");
    assert_eq!(plugin.hash().len(), 64);
    assert!(plugin.path().ends_with("good.wasm"));
    let json = serde_json::to_value(info).unwrap();
    assert_eq!(json["editor_mode"], "python");
}

#[test]
fn a_duplicate_name_keeps_the_first_and_reports_the_second() {
    let folder = plugin_folder(&["good"], &[]);
    std::fs::copy(
        folder.path().join("good.wasm"),
        folder.path().join("zz-copy.wasm"),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    let report = registry.load_dir(folder.path());
    assert_eq!(report.loaded.len(), 1);
    assert_eq!(report.errors.len(), 1);
    let error = &report.errors[0];
    assert!(error.path.ends_with("zz-copy.wasm"));
    assert!(matches!(error.error, PluginError::Duplicate { .. }));
    assert!(
        error
            .message
            .contains("zz-copy.wasm is named \"fixture\", already provided by"),
        "{}",
        error.message
    );
    assert!(registry
        .get("fixture")
        .unwrap()
        .path()
        .ends_with("good.wasm"));
}

#[test]
fn the_second_load_comes_from_the_precompiled_cache() {
    let folder = plugin_folder(&["good", "trap"], &[]);
    let cache = tempfile::tempdir().unwrap();

    let first = registry(cache.path()).load_dir(folder.path());
    assert_eq!((first.compiled, first.from_cache), (2, 0));
    let artifacts: Vec<_> = std::fs::read_dir(cache.path().join("components"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(artifacts.len(), 2, "{artifacts:?}");
    assert!(artifacts
        .iter()
        .all(|a| a.ends_with(".cwasm") && !a.starts_with(".tmp")));

    // A new registry (a new process, in effect) loads both without compiling.
    let registry = registry(cache.path());
    let second = registry.load_dir(folder.path());
    assert_eq!((second.compiled, second.from_cache), (0, 2));
    let good = registry.get("fixture").unwrap();
    assert_eq!(good.validate("forbidden()", &[]).unwrap().len(), 1);

    // A changed plugin file is a new key: compiled again, not a stale hit.
    let (_, source) = registry
        .load_plugin(&fixtures().join("looping.wasm"))
        .unwrap();
    assert_eq!(source, ComponentSource::Compiled);
    let (_, source) = registry
        .load_plugin(&fixtures().join("looping.wasm"))
        .unwrap();
    assert_eq!(source, ComponentSource::Cache);
}

#[test]
fn a_corrupt_cache_entry_is_recompiled() {
    let folder = plugin_folder(&["good"], &[]);
    let cache = tempfile::tempdir().unwrap();
    registry(cache.path()).load_dir(folder.path());
    let dir = cache.path().join("components");
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let registry = registry(cache.path());
    let report = registry.load_dir(folder.path());
    assert_eq!(
        (report.compiled, report.from_cache),
        (1, 0),
        "{:?}",
        report.errors
    );
    assert!(registry
        .get("fixture")
        .unwrap()
        .validate("", &[])
        .unwrap()
        .is_empty());
}

#[test]
fn every_call_gets_a_fresh_instance() {
    let folder = plugin_folder(&["good"], &[]);
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    registry.load_dir(folder.path());
    let good = registry.get("fixture").unwrap();
    // The fixture counts validate calls in a static; a reused instance would
    // answer 2, 3, ...
    for _ in 0..3 {
        let found = good.validate("count-calls", &[]).unwrap();
        assert_eq!(found[0].rule, "call-count");
        assert_eq!(found[0].message, "1");
    }
}

#[test]
fn a_plugin_held_across_a_reload_stays_usable() {
    let folder = plugin_folder(&["good"], &[]);
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    registry.load_dir(folder.path());
    let held: Arc<_> = registry.get("fixture").unwrap();
    let empty = tempfile::tempdir().unwrap();
    assert!(registry.load_dir(empty.path()).loaded.is_empty());
    assert!(registry.get("fixture").is_none());
    assert_eq!(held.validate("forbidden()", &[]).unwrap().len(), 1);
    drop(registry);
    assert_eq!(held.validate("forbidden()", &[]).unwrap().len(), 1);
}

#[test]
fn plans_are_converted_and_checked() {
    let folder = plugin_folder(&["good"], &[]);
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    registry.load_dir(folder.path());
    let good = registry.get("fixture").unwrap();

    let plan = good.plan("print(1)", &["a".to_string()], &[]).unwrap();
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "main.txt");
    assert_eq!(plan.files[0].content, "print(1)");
    assert!(plan.compile.is_none());
    assert_eq!(plan.run.program, "/bin/cat");
    assert_eq!(plan.run.args, ["main.txt", "a"]);

    let with_path = |p: &str| good.plan("x", &[], &[("file-path".to_string(), p.to_string())]);
    assert_eq!(
        with_path("sub/dir/main.txt").unwrap().files[0].path,
        "sub/dir/main.txt"
    );
    for bad in ["../escape.txt", "/etc/passwd", "a/../../b", ""] {
        let err = with_path(bad).unwrap_err();
        assert!(
            matches!(err, PluginError::InvalidPlan(_)),
            "{bad:?}: {err:?}"
        );
    }
    assert_eq!(
        with_path("/etc/passwd").unwrap_err().to_string(),
        "plugin returned an invalid plan: file path \"/etc/passwd\" is absolute"
    );
    assert_eq!(
        good.plan("refuse", &[], &[]).unwrap_err(),
        PluginError::PlanRefused("this source cannot be planned".to_string())
    );
}

#[test]
fn rules_and_samples_are_returned() {
    let folder = plugin_folder(&["good"], &[]);
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    registry.load_dir(folder.path());
    let good = registry.get("fixture").unwrap();
    let rules = good.rules().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id, "forbidden-call");
    let samples = good.samples().unwrap();
    assert_eq!(samples[0].expected_stdout, "hello\n");
    assert_eq!(registry.list().len(), 1);
}

#[test]
fn the_real_plugins_load_next_to_the_bad_ones() {
    let folder = plugin_folder(
        &["looping", "trap", "memory-hog", "incompatible"],
        &[("junk.wasm", b"\0asm junk")],
    );
    for path in real_plugins() {
        std::fs::copy(&path, folder.path().join(path.file_name().unwrap())).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    let report = registry.load_dir(folder.path());
    let names: Vec<&str> = report.loaded.iter().map(|l| l.name.as_str()).collect();
    for language in ["python", "javascript", "c", "cpp", "rust"] {
        assert!(
            names.contains(&language),
            "{language} missing from {names:?}; errors: {:?}",
            report.errors
        );
    }
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    let python = registry.get("python").unwrap();
    assert!(registry.get("looping").unwrap().validate("", &[]).is_err());
    assert!(!python.validate("import os\n", &[]).unwrap().is_empty());
    assert!(python.validate("print(input())\n", &[]).unwrap().is_empty());
    for plugin in registry.list() {
        plugin
            .rules()
            .unwrap_or_else(|e| panic!("{}: {e}", plugin.name()));
        plugin
            .plan("x", &[], &[])
            .unwrap_or_else(|e| panic!("{}: {e}", plugin.name()));
    }
}

/// Zed-style contract versions: a plugin built from the 0.1 contract
/// (`wit/since_v0.1.0`, the fixture) loads and answers beside plugins built
/// from 0.2 (the real ones), in one registry.
#[test]
fn a_contract_0_1_plugin_works_beside_0_2_plugins() {
    let folder = plugin_folder(&["good"], &[]);
    for path in real_plugins() {
        std::fs::copy(&path, folder.path().join(path.file_name().unwrap())).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    let registry = registry(cache.path());
    let report = registry.load_dir(folder.path());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let old = registry.get("fixture").unwrap();
    let new = registry.get("python").unwrap();
    assert_eq!(old.contract_version(), "0.1.0");
    assert_eq!(new.contract_version(), "0.2.0");
    assert_eq!(old.identity().runtime, None);
    assert!(!old.identity().grammar_shipped);
    // Both answer every call; the 0.1 plugin is simply not told about files.
    let files = ["helper.py".to_string()];
    let plan = old.plan_with_files("print(1)", &[], &files, &[]).unwrap();
    assert_eq!(plan.run.program, "/bin/cat");
    assert!(new.plan_with_files("print(1)", &[], &files, &[]).is_ok());
    assert!(old.validate("print(1)", &[]).unwrap().is_empty());
    assert!(!new.validate("import os\n", &[]).unwrap().is_empty());
    old.samples().unwrap();
    assert!(!new.samples().unwrap().is_empty());
}
