//! Shared by the plugin host's tests: the fixture plugins and temporary
//! plugin folders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use codr_plugin_host::{Registry, RegistryConfig};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the fixture plugins once per test binary (cargo makes it a no-op
/// when they are up to date) and returns their folder, target/bad-plugins.
pub fn fixtures() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = repo_root();
            let script = root.join("tests/fixtures/bad-plugins/build.sh");
            let status = std::process::Command::new("sh")
                .arg(&script)
                .status()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(
                status.success(),
                "building the fixture plugins failed ({script:?}); try `make fixtures`"
            );
            root.join("target/bad-plugins")
        })
        .clone()
}

/// The five built-in plugins, built by `make build` into target/plugins.
pub fn real_plugins() -> Vec<PathBuf> {
    let dir = repo_root().join("target/plugins");
    ["python", "javascript", "c", "cpp", "rust"]
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}.wasm"));
            assert!(
                path.is_file(),
                "{} is missing: run `make build` first (it builds the plugins into target/plugins)",
                path.display()
            );
            path
        })
        .collect()
}

/// A temporary folder holding copies of the named fixtures (`good` ->
/// `good.wasm`) plus any extra files given as (name, bytes).
pub fn plugin_folder(fixtures_named: &[&str], extra: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in fixtures_named {
        let from = fixtures().join(format!("{name}.wasm"));
        std::fs::copy(&from, dir.path().join(format!("{name}.wasm")))
            .unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
    for (name, bytes) in extra {
        std::fs::write(dir.path().join(name), bytes).expect("write extra file");
    }
    dir
}

/// A registry with the default bounds (1 s, 64 MiB) and its own cache folder.
pub fn registry(cache: &Path) -> Registry {
    Registry::new(RegistryConfig {
        cache_dir: Some(cache.to_path_buf()),
        call_timeout: Duration::from_secs(1),
        ..RegistryConfig::default()
    })
    .expect("registry")
}
