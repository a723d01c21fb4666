//! On-disk cache of precompiled plugins.
//!
//! Compiling a 50 KB component takes tens of milliseconds; loading its
//! precompiled form takes a fraction of one. An artifact is keyed by the
//! SHA-256 of the plugin file and by the engine's compatibility hash (Wasmtime
//! version, compiler settings, target), so a changed plugin or a different
//! engine never picks up a stale artifact.
//!
//! # Why loading an artifact is sound
//!
//! `Component::deserialize_file` is `unsafe` because the bytes are trusted to
//! be machine code Wasmtime itself produced: a forged artifact would run
//! arbitrary native code in the host. We only ever deserialize files from our
//! own cache folder, which we create with mode 0700 for the host's user, and
//! which only this code writes, always through a temporary file renamed into
//! place (so a reader never sees a half-written artifact). Anyone who can
//! write there can already replace the host's binary or its configuration.
//! Wasmtime additionally checks the artifact's header against the engine and
//! refuses a mismatched one; we then recompile and overwrite it.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Feeds `Hash` output into SHA-256, so the engine's compatibility hash is
/// stable across processes (std's hashers promise no such thing).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Unused: the digest is read with `finalize` below.
        0
    }
}

/// First 16 hex digits of the SHA-256 of the engine's compatibility hash.
fn engine_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:x}", hasher.0.finalize())[..16].to_string()
}

/// The cache folder for one engine.
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ArtifactCache {
    /// A cache in `dir/components`, created (mode 0700) if needed. Without a
    /// folder, or when it cannot be created, every load compiles; the second
    /// value then says why, for the operator.
    pub(crate) fn open(dir: Option<&Path>, engine: &Engine) -> (Self, Option<String>) {
        let engine_key = engine_key(engine);
        let Some(dir) = dir else {
            return (
                Self {
                    dir: None,
                    engine_key,
                },
                None,
            );
        };
        let dir = dir.join("components");
        match create_private_dir(&dir) {
            Ok(()) => (
                Self {
                    dir: Some(dir),
                    engine_key,
                },
                None,
            ),
            Err(e) => {
                let warning = format!(
                    "plugin cache {} unusable ({e}); plugins will be compiled at every start",
                    dir.display()
                );
                (
                    Self {
                        dir: None,
                        engine_key,
                    },
                    Some(warning),
                )
            }
        }
    }

    /// Where the artifact for a plugin file with this hash lives.
    pub(crate) fn artifact_path(&self, file_hash: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{file_hash}-{}.cwasm", self.engine_key)))
    }

    /// The cached component, if there is a usable one.
    pub(crate) fn load(&self, engine: &Engine, file_hash: &str) -> Option<Component> {
        let path = self.artifact_path(file_hash)?;
        if !path.is_file() {
            return None;
        }
        // SAFETY: see the module docs: the file is in our private cache
        // folder, written only by `store` below, atomically.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cached plugin: {e}");
                None
            }
        }
    }

    /// Writes the precompiled form atomically (temporary file + rename).
    /// Failures only cost speed, so they are logged, not returned.
    pub(crate) fn store(&self, file_hash: &str, component: &Component) {
        let Some(path) = self.artifact_path(file_hash) else {
            return;
        };
        if let Err(e) = write_atomically(&path, component) {
            tracing::warn!(path = %path.display(), "cannot cache precompiled plugin: {e:#}");
        }
    }
}

fn write_atomically(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".cwasm")
        .tempfile_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path)?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
