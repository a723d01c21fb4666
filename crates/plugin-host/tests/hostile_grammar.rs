//! A plugin whose shipped grammar loads but loops in every parse (the
//! fixture `grammar-lex-loop`, a careless plugin that ignores what its
//! syntax call answers): each validation fails with the grammar's error
//! within the call's budget, its grammar worker is replaced, and the host
//! keeps serving the plugins beside it, a built-in grammar's and another
//! shipped grammar's (Go's).
mod common;

use std::time::{Duration, Instant};

use codr_plugin_host::{PluginError, Registry, RegistryConfig, WorkerCommand};
use common::plugin_folder;

#[test]
fn a_grammar_that_loops_while_parsing_fails_each_validation_in_time() {
    let root = common::repo_root();
    let codr = root.join("target/release/codr");
    let go = root.join("target/plugins/go.wasm");
    for built in [&codr, &go] {
        assert!(
            built.is_file(),
            "{} is missing: run `make build`",
            built.display()
        );
    }
    let go = std::fs::read(&go).unwrap();
    let folder = plugin_folder(&["good", "grammar-lex-loop"], &[("go.wasm", &go)]);
    let cache = tempfile::tempdir().unwrap();
    let budget = Duration::from_millis(800);
    let registry = Registry::new(RegistryConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        call_timeout: budget,
        grammar_worker: Some(WorkerCommand {
            program: codr,
            args: vec!["grammar-worker".into()],
            cache_dir: Some(cache.path().join("grammars")),
        }),
        ..Default::default()
    })
    .unwrap();
    let report = registry.load_dir(folder.path());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let names: Vec<&str> = report.loaded.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["fixture", "go", "grammar-lex-loop"]);

    let looping = registry.get("grammar-lex-loop").unwrap();
    let go = registry.get("go").unwrap();
    let good = registry.get("fixture").unwrap();
    for round in 0..2 {
        let start = Instant::now();
        let err = looping.validate("anything at all\n", &[]).unwrap_err();
        let took = start.elapsed();
        assert!(matches!(err, PluginError::Runtime(_)), "{err:?}");
        let said = err.to_string();
        assert!(
            said.starts_with("plugin call failed: grammar 'lexloop': took longer than ")
                && said.ends_with(" ms and was stopped"),
            "round {round}: {said}"
        );
        // The budget, plus the epoch tick and the time to kill the worker.
        assert!(
            took < budget + Duration::from_millis(400),
            "round {round}: {took:?}"
        );

        // The others are served as before, Go's grammar by its own worker.
        let found = go
            .validate(
                "package main\n\nimport \"os/exec\"\n\nfunc main() {}\n",
                &[],
            )
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].column), (3, 8));
        assert!(go
            .validate("package main\n\nfunc main() {}\n", &[])
            .unwrap()
            .is_empty());
        let found = good.validate("x = 1\nforbidden(x)\n", &[]).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
